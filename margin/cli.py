"""Command line: ``python -m margin evaluate PORTFOLIO [--shock TARGET=PCT ...] [--format json|table]``.

``portfolio-format.md`` §4. Exit status 0 on success, 2 on invalid input (message on stderr, no
traceback), 1 on an internal error.
"""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from . import jsonout
from .errors import PortfolioError, Problem, number_flag, parse_number
from .files import load_portfolio, portfolio_from_csv, read_portfolio_text
from .portfolio import Portfolio, resolve
from .report import evaluate_portfolio
from .risk_inputs import MAX_PATHS
from .shocks import Shock, parse_shock

EXIT_OK, EXIT_INTERNAL, EXIT_INVALID = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # usage errors are invalid input: exit 2
        # a short message naming the flag, the rule and the value; the full usage is one ``-h`` away
        self.exit(EXIT_INVALID, f"usage: {self.prog} … (the options: {self.prog} -h)\n{self.prog}: error: {message}\n")


def _pairs(values: Sequence[str] | None, flag: str) -> dict[str, float]:
    out: dict[str, float] = {}
    problems: list[Problem] = []
    for raw in values or []:
        key, sep, num = raw.partition("=")
        key = key.strip()
        value = parse_number(num)
        if not sep or not key or value is None or "=" in num:
            problems.append(
                Problem(flag, "must be NAME=NUMBER, the number finite and in ASCII digits (USDT=25000)", raw)
            )
            continue
        out[key] = value
    if problems:
        raise PortfolioError(problems)
    return out


def _load(args: argparse.Namespace) -> Portfolio:
    path = Path(args.portfolio)
    if path.suffix.lower() == ".csv":
        if not args.venue:
            raise PortfolioError([Problem("--venue", "is required with a CSV of positions", None, show_value=False)])
        return portfolio_from_csv(
            read_portfolio_text(path),
            venue=args.venue,
            collateral=_pairs(args.collateral, "--collateral"),
            prices=_pairs(args.price, "--price"),
            position_mode=args.position_mode,
            source=path.name,
            as_of=args.as_of,
            index_prices=_pairs(args.index_price, "--index-price"),
        )
    return load_portfolio(path)


def _fmt(x: object, digits: int = 2) -> str:
    if x is None:
        return "-"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float):
        return f"{x:,.{digits}f}"
    return str(x)


def render_table(doc: dict[str, Any]) -> str:
    """A readable plain-text rendering of the ``evaluate`` document."""
    lines = [f"venue: {doc['venue']}"]
    shock = doc["shock"]
    if shock:
        moves = ", ".join(f"{s} {m:+.2%}" for s, m in shock.items())
        lines.append(f"shock: {moves}")
    for view, body in doc["modes"].items():
        lines.append("")
        lines.append(f"== {view} ==")
        head: tuple[str, ...] = ("pool", "equity", "maint.", "initial", "ratio", "available", "liquidated", "state")
        rows: list[tuple[str, ...]] = []
        for p in body["pools"]:
            name = f"{p['settle']} {p['mode']}" + (f" [{p['position']}]" if p["position"] else "")
            ratio = "-" if p["margin_ratio"] is None else f"{p['margin_ratio']:.2%}"
            rows.append(
                (
                    name,
                    _fmt(p["equity"]),
                    _fmt(p["maintenance_margin"]),
                    _fmt(p["initial_margin"]),
                    ratio,
                    _fmt(p["available"]),
                    _fmt(p["liquidated"]),
                    str(p.get("state", "-")).replace("_", " "),
                )
            )
        lines.extend(_grid(head, rows))
        lines.append("")
        head = ("position", "mark", "notional", "uPnL", "maint.", "liq. price", "distance", "bankr.", "liquidated")
        rows = []
        for q in body["positions"]:
            dist = "-" if q["distance_to_liquidation"] is None else f"{q['distance_to_liquidation']:+.2%}"
            rows.append(
                (
                    q["id"],
                    _fmt(q["mark_price"], 4),
                    _fmt(q["notional"]),
                    _fmt(q["unrealized_pnl"]),
                    _fmt(q["maintenance_margin"]),
                    _fmt(q["liquidation_price"], 4),
                    dist,
                    _fmt(q["bankruptcy_price"], 4),
                    _fmt(q["liquidated"]),
                )
            )
        lines.extend(_grid(head, rows))
        units = [u for p in body["pools"] for u in p.get("risk_units", [])]
        if units:  # the portfolio view (format §6.4)
            lines.append("")
            head = (
                "risk unit",
                "scenario loss",
                "contingency",
                "requirement",
                "worst",
                "delta",
                "liq. down",
                "liq. up",
            )
            rows = [
                (
                    u["underlying"],
                    _fmt(u["scenario_loss"]),
                    _fmt(u["contingency"]),
                    _fmt(u["requirement"]),
                    f"{u['worst']['move']:+.2%} vol {u['worst']['vol']}"
                    + (" (ext.)" if u["worst"]["extended"] else ""),
                    _fmt(u["delta"]),
                    "-" if u["liquidation_move_down"] is None else f"{u['liquidation_move_down']:+.4%}",
                    "-" if u["liquidation_move_up"] is None else f"{u['liquidation_move_up']:+.4%}",
                )
                for u in units
            ]
            lines.extend(_grid(head, rows))
            unpriced = [a for p in body["pools"] for a in p.get("unpriced_assets", [])]
            if unpriced:
                lines.append(f"unpriced (left out): {', '.join(unpriced)}")
        orders = [(q["id"], o) for q in body["positions"] for o in q.get("orders", [])]
        if orders:
            lines.append("")
            head = ("order", "position", "type", "trigger", "contracts", "fill", "realized PnL", "before liq.")
            rows = [
                (
                    o["id"],
                    pid,
                    o["type"].replace("_", " "),
                    _fmt(o["trigger_price"], 4),
                    _fmt(o["contracts"], 4),
                    _fmt(o["fill_price"], 4),
                    _fmt(o["realized_pnl"]),
                    _fmt(o["before_liquidation"]),
                )
                for pid, o in orders
            ]
            lines.extend(_grid(head, rows))
    if doc.get("alerts"):
        lines += ["", "== alerts =="]
        head = ("alert", "metric", "value", "triggered")
        rows = [(a["id"], a["metric"], _fmt(a["value"], 4), _fmt(a["triggered"])) for a in doc["alerts"]]
        lines.extend(_grid(head, rows))
    for note in doc.get("notes", []):
        lines += ["", f"note: {note}"]
    return "\n".join(lines) + "\n"


def _grid(head: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(str(c)) for c in col) for col in zip(head, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    return [line(head), line(["-" * w for w in widths])] + [line(r) for r in rows]


def _add_input(p: argparse.ArgumentParser) -> None:
    p.add_argument("portfolio", help="JSON portfolio file, or a CSV of positions with --venue/--collateral/--price")
    p.add_argument("--format", choices=("json", "table"), default="table")
    p.add_argument("--venue", help="venue preset (CSV input)")
    p.add_argument("--collateral", action="append", metavar="ASSET=AMOUNT", help="collateral (CSV input)")
    p.add_argument("--price", action="append", metavar="SYMBOL=PRICE", help="mark price (CSV input)")
    p.add_argument("--position-mode", default="one-way", choices=("one-way", "hedge"))
    p.add_argument("--as-of", help="time of the marks, ISO-8601 UTC (CSV input with options)")
    p.add_argument("--index-price", action="append", metavar="BASE=USD", help="index price (CSV input with options)")


def _add_option_flags(p: argparse.ArgumentParser) -> None:
    """``--vol-shock`` and ``--days`` (format §6.5)."""
    p.add_argument(
        "--vol-shock",
        action="append",
        default=[],
        metavar="TARGET=PCT",
        help="move the options' implied volatility: BTC=+30%%, ALL=-20%% (repeatable, compounding)",
    )
    p.add_argument(
        "--days",
        type=number_flag(0.0, 3650.0),
        default=0.0,
        help="days pass: as_of moves forward (options expiring within them take their intrinsic value)",
    )


def _vol_shocks(args: argparse.Namespace) -> list[Shock]:
    return [parse_shock(s, "--vol-shock") for s in args.vol_shock]


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m margin", description="Margin Lab: margin and liquidation of a portfolio.")
    sub = parser.add_subparsers(
        dest="command",
        required=True,
        parser_class=_Parser,
        metavar="{evaluate,stress,frontier,cascade,risk,fetch,watch}",
    )
    sub.add_parser("fetch", help="import an exchange account into a portfolio file (python -m margin fetch -h)")
    sub.add_parser("watch", help="watch a portfolio at the venue's live marks (python -m margin watch -h)")
    ev = sub.add_parser("evaluate", help="margin, equity and liquidation prices in the three views")
    _add_input(ev)
    ev.add_argument(
        "--shock",
        action="append",
        default=[],
        metavar="TARGET=PCT",
        help="move marks: BTC=-20%%, BTC/USDT:USDT=-0.2, ALL=-10%% (repeatable, compounding)",
    )
    _add_option_flags(ev)
    st = sub.add_parser("stress", help="apply a crash preset (stress --list names them)")
    st.add_argument("portfolio", nargs="?", help="JSON portfolio file (or CSV with --venue/--collateral/--price)")
    st.add_argument("--preset", help="preset name (see --list)")
    st.add_argument("--list", action="store_true", help="list the presets with their windows and sources")
    st.add_argument(
        "--measure",
        default="close",
        choices=("close", "low"),
        help="worst hourly close (default) or worst hourly low (wicks) of the window",
    )
    st.add_argument("--format", choices=("json", "table"), default="table")
    st.add_argument("--venue")
    st.add_argument("--collateral", action="append", metavar="ASSET=AMOUNT")
    st.add_argument("--price", action="append", metavar="SYMBOL=PRICE")
    st.add_argument("--position-mode", default="one-way", choices=("one-way", "hedge"))
    st.add_argument("--as-of", help="time of the marks, ISO-8601 UTC (CSV input with options)")
    st.add_argument("--index-price", action="append", metavar="BASE=USD", help="index price (CSV input with options)")
    _add_option_flags(st)
    ca = sub.add_parser("cascade", help="step-by-step liquidation cascade of a shock, cross vs isolated")
    _add_input(ca)
    ca.add_argument("--shock", action="append", default=[], metavar="TARGET=PCT", help="as in evaluate (required)")
    ca.add_argument(
        "--impact",
        default="none",
        choices=("none", "sqrt", "linear"),
        help="price impact of forced selling: none, square-root law, or linear depth",
    )
    ca.add_argument("--strength", type=number_flag(0.0, 100.0), default=1.0, help="impact coefficient Y (default 1)")
    ca.add_argument(
        "--depth",
        action="append",
        default=[],
        metavar="ASSET=USD",
        help="order-book depth of the linear law: quote notional that moves ASSET 1 %% (repeatable; "
        "default: an assumed depth anchored on Binance's BTC book, see README)",
    )
    ca.add_argument(
        "--gap",
        action="store_true",
        help="the shock happens at once (no path): crossed stop-loss and take-profit orders fill at the "
        "shocked mark, then the pools are liquidated there",
    )
    _add_option_flags(ca)
    rk = sub.add_parser("risk", help="probability of liquidation over a horizon (Monte Carlo and closed form)")
    _add_input(rk)
    rk.add_argument("--horizon", required=True, help="7d, 36h, 2w")
    rk.add_argument("--paths", type=number_flag(1, MAX_PATHS, integer=True), default=10000)
    rk.add_argument("--seed", type=number_flag(0, 2**32 - 1, integer=True), default=0)
    rk.add_argument("--model", default="bootstrap", choices=("bootstrap", "student-t", "gbm"))
    rk.add_argument(
        "--vol",
        action="append",
        default=[],
        metavar="ASSET=ANNUAL_VOL",
        help="an asset's annualised volatility (BTC=0.6) instead of the one estimated from history",
    )
    fr = sub.add_parser("frontier", help="liquidation frontier over joint moves of two assets")
    _add_input(fr)
    fr.add_argument("--x", required=True, help="base asset on the x axis (e.g. BTC)")
    fr.add_argument("--y", required=True, help="base asset on the y axis (e.g. ETH)")
    fr.add_argument(
        "--steps", type=number_flag(3, 1001, integer=True), default=201, help="grid points per axis (3 to 1001)"
    )
    fr.add_argument(
        "--range",
        dest="range_",
        type=number_flag(0.0, 0.99, lo_open=True),
        default=0.5,
        help="largest move either way (0.5 = 50%%)",
    )
    return parser


def cmd_evaluate(args: argparse.Namespace) -> str:
    shocks = [parse_shock(s) for s in args.shock]
    doc = evaluate_portfolio(_load(args), shocks, _vol_shocks(args), args.days)
    if args.format == "json":
        return jsonout.dumps(doc) + "\n"
    return render_table(doc)


def _window(window: dict[str, str] | str) -> str:
    if isinstance(window, dict):
        return f"{window.get('start', '?')[:16]} .. {window.get('end', '?')[:16]} UTC"
    return str(window)


def cmd_stress(args: argparse.Namespace) -> str:
    from .crashes import list_presets, stress

    if args.list:
        presets = list_presets()
        if args.format == "json":
            return jsonout.dumps({"presets": presets}) + "\n"
        lines = []
        for p in presets:
            lines.append(f"{p['name']}: {p['title']} — {_window(p['window'])}; BTC {p['btc_move']:+.2%}")
            lines.extend(
                f"    source: {src['title']}" + (f" <{src['url']}>" if src.get("url") else "") for src in p["sources"]
            )
        return "\n".join(lines) + "\n"
    if not args.portfolio or not args.preset:
        raise PortfolioError(
            [Problem("stress", "needs PORTFOLIO and --preset NAME (or --list)", None, show_value=False)]
        )
    doc = stress(resolve(_load(args)), args.preset, args.measure, _vol_shocks(args), args.days)
    if args.format == "json":
        return jsonout.dumps(doc) + "\n"
    head = [f"preset: {doc['preset']} — {doc['title']} ({_window(doc['window'])}, {doc['measure']} measure)"]
    head.append("moves: " + ", ".join(f"{a} {m:+.2%}" for a, m in doc["moves"].items()))
    if doc["collateral_moves"]:
        head.append("collateral: " + ", ".join(f"{a} {m:+.2%}" for a, m in doc["collateral_moves"].items()))
    body = render_table({"venue": doc["venue"], "shock": {}, "modes": doc["modes"]})
    return "\n".join(head) + "\n" + body


def cmd_frontier(args: argparse.Namespace) -> str:
    from .frontier import frontier

    result = frontier(resolve(_load(args)), args.x, args.y, steps=args.steps, range_=args.range_)
    doc = result.to_dict()
    if args.format == "json":
        return jsonout.dumps(doc) + "\n"
    lines = [
        f"liquidation frontier: {doc['x']} (x) and {doc['y']} (y), {len(doc['moves_x'])} × "
        f"{len(doc['moves_y'])} moves from {doc['moves_x'][0]:+.0%} to {doc['moves_x'][-1]:+.0%}"
    ]
    for view, body in doc["modes"].items():
        liq = body["liquidated"]
        n = sum(sum(1 for c in row if c) for row in liq)
        total = len(liq) * len(liq[0])
        lines.append(f"  {view}: {n} of {total} cells liquidated ({n / total:.1%})")
        b = body.get("boundary") or {}
        down = [v for v in (b.get("down") or []) if v is not None]
        if down:
            lines.append(f"    nearest liquidating {doc['y']} move down (any {doc['x']} move): {max(down):+.2%}")
    return "\n".join(lines) + "\n"


def cmd_cascade(args: argparse.Namespace) -> str:
    from .cascade_depth import parse_depths
    from .contagion import cascade

    if not args.shock:
        raise PortfolioError([Problem("--shock", "is required: at least one TARGET=MOVE", None, show_value=False)])
    shocks = [parse_shock(s) for s in args.shock]
    params: dict[str, object] = {"strength": args.strength}
    if args.depth:
        params["depth"] = parse_depths(args.depth)
    if args.gap:
        params["gap"] = True
    doc: dict[str, Any] = cascade(
        resolve(_load(args)),
        shocks,
        impact=args.impact,
        params=params,
        vol_shocks=_vol_shocks(args),
        days=args.days,
    ).to_dict()
    if args.format == "json":
        return jsonout.dumps(doc) + "\n"
    lines = [
        f"cascade of {', '.join(args.shock)} with impact {doc['impact']}: amplification {doc['amplification']:.3f}"
        if doc.get("amplification") is not None
        else f"cascade of {', '.join(args.shock)} with impact {doc['impact']}"
    ]
    for view, body in doc["modes"].items():
        lines.append("")
        filled = f", orders filled {body['orders_filled']}" if "orders_filled" in body else ""
        lines.append(
            f"== {view} == positions lost {body['positions_lost']}, loss {_fmt(body['loss'])}, "
            f"collateral left {_fmt(body['collateral_left'])}{filled}"
        )
        head = ("move", "event", "position", "equity before", "equity after", "collateral left", "open")
        rows = [
            (
                f"{st['move']:+.2%}" if st.get("move") is not None else "-",
                st["event"],
                st["position"] if st["position"] is not None else "(the whole account)",
                _fmt(st["equity_before"]),
                _fmt(st["equity_after"]),
                _fmt(st["collateral_left"]),
                str(st.get("positions_open", "")),
            )
            for st in body["steps"]
        ]
        lines.extend(_grid(head, rows) if rows else ["  no liquidation"])
        fills = [st for st in body["steps"] if "order" in st]
        for st in fills:  # an order row (format §7): what the fill did
            lines.append(
                f"  {st['event']} {st['order']}: {st['contracts']:g} contracts at {_fmt(st['fill_price'])}, "
                f"realised {_fmt(st['realized_pnl'])}"
            )
        for o in body.get("orders", []):  # an order that never filled, and why
            if o["outcome"] != "filled":
                lines.append(f"  order {o['id']} on {o['position']} not filled: {ORDER_WORDS[o['outcome']]}")
    return "\n".join(lines) + "\n"


#: the table's words for an order's outcome (``margin.cascade_results.ORDER_OUTCOMES``)
ORDER_WORDS = {
    "liquidated_first": "its pool reached the liquidation trigger first and the position was liquidated",
    "closed_by_order": "another order closed the position first",
    "not_reached": "the path never reached its trigger",
}


def cmd_risk(args: argparse.Namespace) -> str:
    from .cli_args import flag_error, risk_args
    from .loader import load_daily_closes
    from .risk import risk

    resolved = resolve(_load(args))
    a = risk_args(resolved, args.horizon, args.paths, args.seed, args.model, args.vol)
    try:
        doc: dict[str, Any] = risk(
            resolved, a.horizon_hours, load_daily_closes(), paths=a.paths, seed=a.seed, model=a.model, vols=a.vols
        )
    except PortfolioError as err:
        raise flag_error(err) from None
    if args.format == "json":
        return jsonout.dumps(doc) + "\n"
    lines = [
        f"probability of liquidation within {doc['horizon_hours']} h ({doc['paths']:,} paths, model "
        f"{args.model}, seed {doc['seed']}; a touch at an hourly close liquidates)"
    ]
    for view, body in doc["modes"].items():
        lo, hi = body["ci95"]
        t = body["time_to_liquidation_hours"]
        when = (
            ""
            if t is None or t.get("p50") is None
            else (f"; time to liquidation p5/p50/p95 {t['p5']:.0f}/{t['p50']:.0f}/{t['p95']:.0f} h")
        )
        lines.append(f"  {view}: {body['probability']:.2%} (95 % CI {lo:.2%} to {hi:.2%}){when}")
        if "orders" in body:  # format §7: the orders working; what they buy; how often they fill
            flo, fhi = body["ci95_order_filled"]
            each = ", ".join(f"{o['id']} {o['probability_filled']:.2%}" for o in body["orders"])
            lines.append(
                f"    orders: some order filled {body['probability_order_filled']:.2%} (95 % CI {flo:.2%} to "
                f"{fhi:.2%}; {each}); liquidation without the orders {body['probability_without_orders']:.2%}"
            )
    for note in doc.get("notes", ()):
        lines.append(f"note: {note}")
    return "\n".join(lines) + "\n"


COMMANDS = {
    "evaluate": cmd_evaluate,
    "stress": cmd_stress,
    "frontier": cmd_frontier,
    "cascade": cmd_cascade,
    "risk": cmd_risk,
}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if argv and argv[0] not in COMMANDS and not argv[0].startswith("-"):
        # a subcommand the core does not own (``fetch``: the exchange package, the only code that imports
        # ccxt) comes from an installed package's ``margin.commands`` entry point, loaded on demand
        from importlib.metadata import entry_points

        found = entry_points(group="margin.commands", name=argv[0])
        if found:
            return int(next(iter(found)).load()(argv[1:]))
        parser.parse_known_args(argv[:1])  # not a declared command either: argparse's "invalid choice", exit 2
        print(
            f"error: the {argv[0]!r} command is not installed: no package provides it in the 'margin.commands' "
            "entry point group (install the project with its exchange package: pip install -e .)",
            file=sys.stderr,
        )
        return EXIT_INVALID
    args = parser.parse_args(argv)
    # one command builds millions of small objects (the rows of a large book) and frees them at exit: the cyclic
    # garbage collector, which would walk them all again and again, has nothing to find in them (issue 13)
    gc.disable()
    try:
        out = COMMANDS[args.command](args)
    except PortfolioError as err:
        print(f"error: {err.message}", file=sys.stderr)
        return EXIT_INVALID
    except Exception as err:
        print(f"internal error: {err.__class__.__name__}: {err}", file=sys.stderr)
        return EXIT_INTERNAL
    finally:
        gc.enable()
    sys.stdout.write(out)
    return EXIT_OK
