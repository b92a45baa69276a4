"""Exchange figures against ours, per imported position (pure: no ccxt, no I/O).

:func:`reconcile` lines up, for each position of an imported portfolio, the exchange's reported liquidation
price, maintenance margin and margin ratio (kept in ``origin.exchange_figures`` at import), and its initial
margin where the venue's spec names the raw field (``ExchangeSpec.raw_initial_margin``: Deribit, which has no
leverage setting), with the engine's ``as_is`` view (the account as it is, ``portfolio-format.md`` §4), with
the absolute and relative difference and the likely cause. A figure the exchange did not report (null, 0 or
"") is shown as missing, never replaced by a number.

Causes are heuristics, checked in this order: the exchange reported nothing; the figures agree (within
0.0001 %, relative); the venue margins the account by portfolio (imported as cross); the tier differs (the
exchange's maintenance or initial margin / notional against our rate); the mark differs (the exchange's mark
price against ours: mark vs last); the venue reserves a closing fee in the trigger (``ExchangeSpec.fee_in_trigger``:
OKX, ``margin-models.md`` §4); for a liquidation price of a position alone in its pool, the wallet its
liquidation price implies differs from the pool's by more than 1 % (``wallet``); otherwise the wallet balance,
unsettled funding or collateral valuation differs (with the implied wallet where it can be worked out).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .specs import ExchangeSpec, get_spec

AGREE = 1e-6
#: the wallet a liquidation price implies "differs" from the pool's beyond this relative gap
WALLET_GAP = 0.01
METRICS = (
    ("liquidation_price", "liquidationPrice"),
    ("maintenance_margin", "maintenanceMargin"),
    ("margin_ratio", "marginRatio"),
)
INITIAL = ("initial_margin", "initialMargin")


def _rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


def _implied_wallet(lp: float, pos: Mapping[str, Any], held: Mapping[str, Any]) -> float:
    """The wallet at which a position alone in its pool meets the trigger at ``lp`` with our rate (equation E of
    ``margin-models.md`` §0.1, the maintenance rate held at ours): ``mmr × notional(lp) − upnl(lp)``."""
    s = 1.0 if pos["side"] == "long" else -1.0
    q = float(held["contracts"]) * float(held.get("contract_size") or 1.0)
    if _settle(str(pos["symbol"])) == str(pos["symbol"]).split("/")[0]:  # inverse: amounts in coin
        return float(pos["mmr"]) * q / lp - s * q * (1.0 / float(pos["entry_price"]) - 1.0 / lp)
    return float(pos["mmr"]) * q * lp - s * q * (lp - float(pos["entry_price"]))


def _cause(
    metric: str,
    exch: float | None,
    ours: float | None,
    fig: Mapping[str, Any],
    pos: Mapping[str, Any],
    spec: ExchangeSpec,
    reported: Mapping[str, Any],
    alone: Mapping[str, Any] | None = None,
) -> str:
    """``alone``: the pool (``wallet_balance``) and the imported position (``contracts``, ``contract_size``) when
    the position is the only one of its pool, else ``None``."""
    if exch is None:
        raw = reported.get(
            {
                "liquidation_price": "liquidationPrice",
                "maintenance_margin": "maintenanceMargin",
                "initial_margin": "initialMargin",
            }.get(metric, ""),
            None,
        )
        shown = "" if raw is None else f" (sent {raw!r})"
        return f"missing: the exchange reported nothing (null, 0 or ''){shown}"
    if ours is None:
        if metric == "liquidation_price":
            return "ours: no liquidation price on the loss side (the collateral covers the position)"
        return "ours: not defined (equity at or below zero)"
    if _rel(exch, ours) <= AGREE:
        return "agrees"
    causes: list[str] = []
    if fig.get("account_margin_mode") == "portfolio" and metric != "initial_margin":
        causes.append(
            f"portfolio margin: {spec.brand} margins this account by portfolio; ours is the cross view it was "
            "imported as"
        )
    notional = fig.get("notional")
    if metric == "initial_margin":
        im, our_n = fig.get("initialMargin"), pos.get("notional")
        if im and notional and our_n:
            implied, rate = im / abs(notional), ours / abs(our_n)
            if _rel(implied, rate) > 0.02:
                causes.append(f"tier: the exchange's initial rate {implied:.4%} vs ours {rate:.4%}")
    else:
        mm = fig.get("maintenanceMargin")
        if mm and notional:
            implied = mm / abs(notional)
            if _rel(implied, pos["mmr"]) > 0.02:
                causes.append(f"tier: the exchange's maintenance rate {implied:.4%} vs ours {pos['mmr']:.4%}")
    mark = fig.get("markPrice")
    if mark and _rel(mark, pos["mark_price"]) > 1e-4:
        causes.append(f"mark vs last: the exchange's mark {mark:g} vs ours {pos['mark_price']:g}")
    if spec.fee_in_trigger and metric not in ("margin_ratio", "initial_margin"):
        causes.append(f"fees: our maintenance includes the taker fee to close ({spec.brand} trigger)")
    if metric == "margin_ratio":
        causes.append("definition: ccxt's per-position marginRatio vs our pool's maintenance / equity")
    implied_wallet = ""
    if metric == "liquidation_price" and alone is not None and exch > 0:
        wallet, ours_wallet = _implied_wallet(exch, pos, alone["position"]), float(alone["pool"]["wallet_balance"])
        settle = _settle(str(pos["symbol"]))
        implied_wallet = (
            f"the exchange's liquidation price implies a wallet of {wallet:.6g} {settle}, ours {ours_wallet:.6g}"
        )
        if abs(wallet - ours_wallet) > WALLET_GAP * max(abs(wallet), abs(ours_wallet)):
            causes.append(f"wallet: {implied_wallet} (the imported collateral of the pool)")
            implied_wallet = ""
    if not causes and metric == "initial_margin":
        causes.append("initial rate: the exchange's initial margin rests on another basis (open-order margin?)")
    elif not causes:
        causes.append(
            "funding / wallet: the exchange's wallet, unsettled funding or collateral valuation differs "
            "from the imported collateral" + (f" ({implied_wallet})" if implied_wallet else "")
        )
    return "; ".join(causes)


def reconcile(portfolio: Mapping[str, Any], evaluation: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per position and metric: ``{"id", "symbol", "metric", "exchange", "ours", "difference",
    "relative", "cause"}`` (``difference`` = ours − exchange; ``None`` where either side is missing).

    ``portfolio`` is the imported portfolio dict (its ``origin.exchange_figures``), ``evaluation`` the
    ``evaluate`` document (format §4) of it; the ``as_is`` view is used.
    """
    origin = portfolio.get("origin") or {}
    figures = origin.get("exchange_figures") or {}
    if not figures:
        return []
    spec = get_spec(str(origin.get("exchange") or ""))  # the figures come from an import: a known venue
    metrics = (*METRICS, INITIAL) if spec.raw_initial_margin else METRICS
    view = evaluation["modes"]["as_is"]
    pools = view["pools"]
    held = {str(p.get("id") or f"{p['symbol']} {p['side']}"): p for p in portfolio.get("positions") or []}
    rows: list[dict[str, Any]] = []
    for pos in view["positions"]:
        fig = figures.get(pos["id"])
        if fig is None:
            continue
        pool = next((p for p in pools if p["position"] == pos["id"]), None) or next(
            (p for p in pools if p["mode"] == "cross" and p["settle"] == _settle(pos["symbol"])), None
        )
        alone = None
        if pool is not None and pos["id"] in held:
            mates = [
                q
                for q in view["positions"]
                if pool["position"] == q["id"]
                or (
                    pool["position"] is None
                    and _settle(q["symbol"]) == pool["settle"]
                    and (held.get(q["id"]) or {}).get("margin_mode", "cross") != "isolated"
                )
            ]
            if [q["id"] for q in mates] == [pos["id"]]:
                alone = {"pool": pool, "position": held[pos["id"]]}
        for metric, key in metrics:
            exch = fig.get(key)
            ours = pool.get("margin_ratio") if metric == "margin_ratio" and pool else pos.get(metric)
            diff = None if exch is None or ours is None else ours - exch
            rows.append(
                {
                    "id": pos["id"],
                    "symbol": pos["symbol"],
                    "metric": metric,
                    "exchange": exch,
                    "ours": ours,
                    "difference": diff,
                    "relative": None if diff is None or not exch else diff / abs(exch),
                    "cause": _cause(metric, exch, ours, fig, pos, spec, fig.get("reported_raw") or {}, alone),
                }
            )
    return rows


def _settle(symbol: str) -> str:
    return symbol.split(":")[-1].split("-")[0]


def render_rows(rows: list[dict[str, Any]]) -> str:
    """A plain-text table of :func:`reconcile` rows."""

    def fmt(x: Any) -> str:
        return "missing" if x is None else f"{x:.6g}"

    head = ("position", "metric", "exchange", "ours", "diff", "rel.", "likely cause")
    body = [
        (
            r["id"],
            r["metric"],
            fmt(r["exchange"]),
            fmt(r["ours"]),
            fmt(r["difference"]),
            "-" if r["relative"] is None else f"{r['relative']:+.2%}",
            r["cause"],
        )
        for r in rows
    ]
    widths = [max(len(str(c)) for c in col) for col in zip(head, *body, strict=True)]
    widths[-1] = 0
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in (head, *body)]
    return "\n".join(lines) + "\n"
