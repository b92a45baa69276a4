"""Pure dashboard modules: chart builders (on the figure object), the Learn explainer, table editing,
the cross-vs-isolated comparison and the view summary."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from dashboard import charts
from dashboard.cockpit import STATE_LABELS, move_cells, moves_markdown, positions_table, search_note
from dashboard.compare import compare
from dashboard.editing import collateral_frame, portfolio_from_frames, positions_frame, prices_frame
from dashboard.explain import explain
from dashboard.results import Report
from dashboard.samples import load_sample, sample_names
from dashboard.summary import view_summary
from margin import PortfolioError, compile_book, evaluate_portfolio, parse_symbol, resolve
from margin.distance import account_distance
from margin.engine import evaluate
from margin.instruments import symbol_base
from margin.options import parse_option_symbol
from margin.states import pool_state

SAMPLES = sample_names()


@pytest.mark.parametrize("name", SAMPLES)
def test_explainer_closed_form_agrees_with_engine(name: str) -> None:
    """The venue's published closed form (margin-models.md §1.3, §2, §3.2/3.3, §6), fed with the engine's
    inputs (pool wallet, other positions' maintenance and PnL, tier at the liquidation notional), gives the
    engine's liquidation price: an independent check of both, for every position of every view."""
    r = resolve(load_sample(name))
    checked = 0
    for view in ("as_is", "cross", "isolated"):
        book = compile_book(r, view)
        for i in range(book.n_positions):
            e = explain(book, i)
            pool = int(book.pool[i])
            base = symbol_base(r.legs[i].position.symbol)
            with_option = book.options is not None and any(
                int(g) == pool and leg.option.base == base
                for g, leg in zip(book.options.pool.tolist(), book.options.arrays.legs, strict=True)
            )
            assert e.option_pool == with_option, (view, e.position)
            if with_option:
                # format §6.3: in a pool holding an option on the base no closed form applies; the price moves
                # every instrument of the base together (root finding). Independent re-check: move every column
                # of that base by x = LP / mark − 1 and evaluate the engine there: equity − maintenance ≈ 0
                assert e.closed_form is None
                if e.engine is None:
                    assert e.recheck is None
                    continue
                x = e.engine / r.legs[i].mark - 1.0
                marks = book.marks.copy()
                for c, sym in enumerate(book.symbols):
                    if symbol_base(sym) == base:
                        marks[c] *= 1.0 + x
                ev = evaluate(book, marks[None, :])
                gap = float(ev.pool_equity[0, pool] - ev.pool_maintenance[0, pool])
                assert abs(gap) <= 1e-9 * float(ev.pool_maintenance[0, pool]), (view, e.position, gap)
                assert e.recheck == pytest.approx(gap, abs=1e-12)
                checked += 1
            elif e.engine is None:
                assert e.closed_form is None, (view, e.position)
            elif e.closed_form is not None:
                assert e.closed_form == pytest.approx(e.engine, rel=1e-9), (view, e.position)
                checked += 1
    assert checked > 0


def test_explainer_hand_example() -> None:
    """btc-long, isolated: 0.8 BTC @ 94,500, 15× → isolated margin 0.8 × 94,500 / 15 = 5,040.
    Tier 1 (0.4 %, cum 0) would give (5,040 − 75,600) / (0.8 × (0.004 − 1)) = 88,554.22, but the notional
    there is 0.8 × 88,554 = 70,843 > 50,000: tier 2 (0.5 %, cum 50) applies (bracket consistency, §1.3):
    LP = (5,040 + 50 − 75,600) / (0.8 × (0.005 − 1)) = −70,510 / −0.796 = 88,580.40, notional 70,864 ✓."""
    r = resolve(load_sample("btc-long"))
    e = explain(compile_book(r, "isolated"), 0)
    assert e.closed_form == pytest.approx((5040 + 50 - 0.8 * 94500) / (0.8 * (0.005 - 1)), rel=1e-12)
    assert e.closed_form == pytest.approx(88580.40, abs=0.01)
    assert 50000 <= 0.8 * e.closed_form < 600000
    assert e.engine == pytest.approx(e.closed_form, rel=1e-12)


def test_editing_round_trip_and_row_errors() -> None:
    p = load_sample("alt-basket-cross")
    pos = positions_frame(p)
    same = portfolio_from_frames(p, p.venue, p.position_mode, pos, collateral_frame(p), prices_frame(p))
    assert same == p
    pos.loc[2, "leverage"] = 0.0
    pos.loc[4, "contracts"] = -3.0
    with pytest.raises(PortfolioError) as err:
        portfolio_from_frames(p, p.venue, p.position_mode, pos, collateral_frame(p), prices_frame(p))
    msgs = [str(x) for x in err.value.problems]
    assert "table row 3.leverage must be >= 1, got 0.0" in msgs
    assert "table row 5.contracts must be > 0, got -3.0" in msgs


def test_editing_blank_row_is_ignored_and_added_row_counts() -> None:
    p = load_sample("btc-long")
    pos = positions_frame(p)
    pos.loc[1] = [None] * len(pos.columns)  # an empty row added by the editor
    # the positions table has the option columns iv and underlying_price last (format §6.1): blank on a future
    pos.loc[2] = ["eth", "ETH/USDT:USDT", "short", 1.0, 3000.0, 5.0, "cross", None, None, None, None, None]
    prices = prices_frame(p)
    prices.loc[len(prices)] = ["ETH/USDT:USDT", 3100.0]
    edited = portfolio_from_frames(p, p.venue, p.position_mode, pos, collateral_frame(p), prices)
    assert [x.symbol for x in edited.positions] == ["BTC/USDT:USDT", "ETH/USDT:USDT"]


def test_compare_and_summary_on_mixed_book() -> None:
    doc = Report.from_doc(evaluate_portfolio(load_sample("mixed-cross-isolated")))
    c = compare(doc)
    assert len(c.table) == 4
    wif = c.table[c.table["position"] == "WIF long 20x isolated"].iloc[0]
    # isolated worst case = the WIF pool's equity: 580 + 8,000 × (mark − 1.45); never more than its margin pool
    assert wif["worst-case loss (isolated)"] < wif["worst-case loss (cross)"]
    assert any("WIF" in line for line in c.verdict)
    s = view_summary(doc.modes["as_is"])
    assert s.nearest is not None and s.nearest[0] == "WIF long 20x isolated"
    assert s.liquidated == []


def test_chart_builders() -> None:
    moves = np.linspace(-0.5, 0.5, 11)
    # one pool: equity 10·m + 5 crosses its maintenance 1 going down at m = −0.4 (the first grid point at or
    # below the crossing is −0.4, where equity = 1); a second pool never does
    fig = charts.pools_vs_move(
        moves,
        {
            "All cross": [
                charts.PoolLine("USDT cross", moves * 10 + 5, np.ones(11), "#334155"),
                charts.PoolLine("ETH long", np.full(11, 50.0), np.ones(11), "#ff7f0e"),
            ]
        },
        "USDT",
        current=0.1,
        notes={"All cross": "+3 more isolated pools not drawn"},
    )
    assert fig.layout.template.layout.paper_bgcolor == "rgba(0,0,0,0)"
    assert [t.name for t in fig.data][:2] == ["USDT cross", "USDT cross: maintenance"]
    assert list(fig.data[0].x) == pytest.approx(list(100 * moves))
    assert fig.data[0].line.color == fig.data[1].line.color == "#334155" and fig.data[1].line.dash == "dot"
    marker = fig.data[4]  # every × of a panel in one trace, after its lines
    assert list(marker.x) == pytest.approx([-40.0]) and marker.marker.color == charts.COLORS["liquidation"]
    assert list(marker.customdata) == ["USDT cross"]  # the second pool is never liquidated
    assert len(fig.data) == 5 and fig.data[2].line.color == "#ff7f0e"
    assert [a.text for a in fig.layout.annotations] == ["All cross", "+3 more isolated pools not drawn"]
    assert [s.x0 for s in fig.layout.shapes] == [pytest.approx(10.0)]  # the current move, in %
    assert charts.move_marker(None, 3) == [] and len(charts.move_marker(-0.2, 3)) == 3
    colors = charts.position_colors([f"p{k}" for k in range(14)])
    assert colors["p0"] == colors["p12"] != colors["p1"]  # one colour per position, cycling past 12
    ladder = charts.price_ladder(
        "BTC/USDT:USDT", "USDT", [("long", 90000.0)], 97000.0, {"as_is": [("long", 80000.0)], "cross": [("long", None)]}
    )
    assert list(ladder.data[0].y) == [80000.0] and len(ladder.data[1].y) == 0
    ratio = np.array([[0.5, 1.5], [np.inf, 0.2]])
    heat = charts.frontier_heatmap(
        np.array([-0.1, 0.1]), np.array([-0.1, 0.1]), ratio, "BTC", "ETH", boundaries={"cross": ratio}
    )
    # below the trigger the ratio in %; at or past it (1.5, +inf: equity ≤ 0) no number, the "liquidated" layer
    assert heat.data[0].z[0][0] == 50.0 and heat.data[0].z[1][1] == pytest.approx(20.0)
    assert np.isnan(heat.data[0].z[0][1]) and np.isnan(heat.data[0].z[1][0])
    assert heat.data[1].name == "liquidated" and heat.data[1].z[0][1] == 1.0 and np.isnan(heat.data[1].z[0][0])
    assert heat.data[0].zmax == 100 and heat.data[2].contours.start == 1
    water = charts.collateral_waterfall(
        [{"event": "liquidated", "position": "A", "account_value": 40.0}], 100.0, 25.0, "USDT", "t"
    )
    # start 100; down to 40 at the event (−60); further down to 25 by the end (−15); total 25
    assert list(water.data[0].y) == [100.0, -60.0, -15.0, 0.0]
    assert list(water.data[0].measure) == ["absolute", "relative", "relative", "total"]
    bars = charts.grouped_bars(["a", "b"], {"cross": [0.1, None]}, "t", "%", percent=True)
    assert list(bars.data[0].y) == [pytest.approx(10.0), None]


def test_gauges_keep_their_meaning_past_the_trigger() -> None:
    """Below the trigger a gauge reads the margin ratio; at or past it the bar is full (clamped at 100 %)
    and the number gives way to "liquidated" (ratio 1.31) or "bankrupt" (equity ≤ 0: no ratio)."""
    gauges = charts.margin_ratio_gauges({"a": 1.31, "b": 0.2, "c": None, "d": 1.0})
    assert [g.value for g in gauges.data] == [100.0, pytest.approx(20.0), 100.0, 100.0]
    assert [g.mode for g in gauges.data] == ["gauge", "gauge+number", "gauge", "gauge"]
    assert all(g.gauge.axis.range == (0, 100) for g in gauges.data)
    labels = [a.text for a in gauges.layout.annotations]
    assert len(labels) == 3 and labels[0].startswith("<b>liquidated</b>") and labels[1].startswith("<b>bankrupt</b>")
    assert "131" not in " ".join(labels)
    assert gauges.data[0].gauge.bar.color == charts.COLORS["liquidation"]
    assert gauges.data[1].gauge.bar.color == charts.COLORS["equity"]
    assert charts.gauge_reading(-0.1) == (0.0, None)  # negative maintenance cannot read below the dial


def test_samples_dir_has_all() -> None:
    assert len(SAMPLES) >= 6
    assert SAMPLES[0] == "mixed-cross-isolated"
    assert all(
        (Path(__file__).resolve().parents[1] / "fixtures" / "portfolios" / f"{n}.json").is_file() for n in SAMPLES
    )


def dashboard_imports() -> dict[str, set[str]]:
    """Which ``dashboard`` modules each ``dashboard`` module imports, at any depth of its code (an import
    inside a function still closes a cycle), absolute or relative."""
    pkg = Path(__file__).resolve().parents[1] / "dashboard"
    mods = {p.stem for p in pkg.glob("*.py")}
    graph: dict[str, set[str]] = {}
    for path in pkg.glob("*.py"):
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                deps |= {a.name.split(".")[1] for a in node.names if a.name.startswith("dashboard.")}
            elif isinstance(node, ast.ImportFrom):
                module = node.module or ""
                if node.level == 1:
                    module = f"dashboard.{module}" if module else "dashboard"
                if module == "dashboard":
                    deps |= {a.name for a in node.names if a.name in mods}
                elif module.startswith("dashboard."):
                    deps.add(module.split(".")[1])
        graph[path.stem] = deps & mods - {path.stem}
    return graph


def test_dashboard_package_has_no_import_cycle() -> None:
    graph = dashboard_imports()
    done: set[str] = set()

    def visit(mod: str, path: list[str]) -> None:
        if mod in path:
            raise AssertionError("import cycle: " + " -> ".join([*path[path.index(mod) :], mod]))
        if mod in done:
            return
        for dep in sorted(graph[mod]):
            visit(dep, [*path, mod])
        done.add(mod)

    for mod in sorted(graph):
        visit(mod, [])


# ----------------------------------------------------------------------------- Home: the positions table

VIEWS = ("as_is", "cross", "isolated")


def cli_evaluate(name: str) -> dict[str, Any]:
    """``python -m margin evaluate FILE --format json`` of a sample, as the command line prints it."""
    path = Path(__file__).resolve().parents[1] / "fixtures" / "portfolios" / f"{name}.json"
    out = subprocess.run(
        [sys.executable, "-m", "margin", "evaluate", str(path), "--format", "json"],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    doc: dict[str, Any] = json.loads(out.stdout)
    return doc


def _units(symbol: str) -> tuple[str, str]:
    """(quote, settle) of a futures symbol (format §1) or of an option symbol (§6.1), read by the core's parsers."""
    inst = parse_symbol(symbol)
    if inst is not None:
        return inst.quote, inst.settle
    opt = parse_option_symbol(symbol)
    return opt.quote, opt.settle


def assert_table_equals_cli(frame: pd.DataFrame, body: dict[str, Any]) -> None:
    """Every row of a Home positions table against the CLI's positions of that view, number for number
    (the JSON carries float64 exactly), the margin mode against the view's pools and the state against
    the pool's margin ratio (``margin.states``). An option row (format §6) carries its value (settle asset);
    its ``entry`` price cell is blank, since an option's ``entry_price`` is a premium in the settle asset, not
    a price in the quote asset (§6.1); its premium and greeks are on the Options page (the table fits 1440 px)."""
    expected = body["positions"]
    assert len(frame) == len(expected)
    price = {c.split(" (")[0]: c for c in frame.columns if "(" in c}
    iso = {p["position"]: p for p in body["pools"] if p["mode"] == "isolated"}
    cross = {p["settle"]: p for p in body["pools"] if p["mode"] == "cross"}
    options = any(p.get("kind") == "option" for p in expected)
    assert ("value" in price) == options and "kind" not in frame.columns
    for row, pos in zip(frame.to_dict("records"), expected, strict=True):
        assert row["symbol"] == pos["symbol"] and row["side"] == pos["side"]
        assert row["size (contracts)"] == pos["contracts"]
        is_option = pos.get("kind") == "option"
        if is_option:
            assert pd.isna(row[price["entry"]]) and row[price["value"]] == pos["value"]
        else:
            assert row[price["entry"]] == pos["entry_price"]
            if options:
                assert pd.isna(row[price["value"]])
        assert row[price["mark"]] == pos["mark_price"]
        for col, field in (("liq. price", "liquidation_price"), ("distance", "distance_to_liquidation")):
            got = row[price.get(col, col)]
            if pos[field] is None:
                assert got is None or pd.isna(got), (col, got)
            else:
                assert got == pos[field], (col, got, pos[field])
        assert row[price["IM"]] == pos["initial_margin"] and row[price["MM"]] == pos["maintenance_margin"]
        quote, settle = _units(pos["symbol"])
        # an option is margined in the cross pool of its settle asset in every view (§6.1)
        pool = iso.get(pos["id"]) or cross[settle]
        assert row["mode"] == pool["mode"]
        assert row["state"] == STATE_LABELS[pool_state(pool["margin_ratio"], pool["liquidated"])]
        # units: in the header when shared, else in a column of the row
        assert price["entry"].endswith(f"({quote})") or row["quote"] == quote
        assert price["IM"].endswith(f"({settle})") or row["settle"] == settle


@pytest.mark.parametrize("name", SAMPLES)
def test_home_positions_table_equals_the_cli_json(name: str) -> None:
    doc = cli_evaluate(name)
    report = Report.from_doc(evaluate_portfolio(load_sample(name)))
    for view in VIEWS:
        assert_table_equals_cli(positions_table(report.modes[view]).frame, doc["modes"][view])


def test_move_cells_name_the_pools_and_say_never() -> None:
    """alt-basket-cross (see tests/test_distance.py): falling, every price alike, the cross pool goes at
    −21.39 % in one step; isolated, LINK goes first at −8.00 % and the ARB short survives any fall."""
    r = resolve(load_sample("alt-basket-cross"))
    report = Report.from_doc(evaluate_portfolio(r))
    uniform = account_distance(r)
    betas = account_distance(r, {b: 1.5 for b in ("SOL", "LINK", "AVAX", "DOGE", "SUI", "ARB")})
    cross = move_cells("cross", "down", uniform, betas, report.modes["cross"])
    assert cross[:2] == ["−21.39 % · USDT cross", "−21.39 %"]
    assert cross[4] == "−78.85 % · LINK/USDT:USDT long"  # the single-price liquidation, LINK alone
    iso = move_cells("isolated", "down", uniform, betas, report.modes["isolated"])
    assert iso[0] == "−8.00 % · LINK/USDT:USDT long" and iso[1] == "never · ARB/USDT:USDT short survives"
    assert move_cells("cross", "up", uniform, betas, report.modes["cross"])[:2] == ["never", "never"]
    assert "down to −66.67 % (where SOL, β 1.50, reaches zero)" in search_note(uniform, betas)
    assert "up to +1,000 %" in search_note(uniform, betas)
    table = moves_markdown([("all cross", cross)])
    assert table.splitlines()[0].startswith("| view | first pool, every price alike |")


def test_table_edits_keep_what_the_tables_do_not_show() -> None:
    """An edit of the positions table rebuilds positions, collateral and prices; the file's orders, slippage
    and alert rules (portfolio-format.md §7, §8) are kept, and a wallet edit is applied."""
    from dashboard.editing import collateral_frame, portfolio_from_frames, positions_frame, prices_frame
    from margin import portfolio_from_dict

    doc = json.loads((Path(__file__).resolve().parent.parent / "fixtures" / "portfolios" / "btc-long.json").read_text())
    doc["orders"] = [{"id": "sl", "symbol": "BTC/USDT:USDT", "type": "stop", "trigger_price": 90000}]
    doc["slippage"] = 0.001
    doc["alerts"] = [{"id": "mr", "metric": "margin_ratio", "above": 0.7}]
    base = portfolio_from_dict(doc)
    wallet = collateral_frame(base)
    wallet.loc[0, "amount"] = 9000.0
    edited = portfolio_from_frames(
        base, base.venue, base.position_mode, positions_frame(base), wallet, prices_frame(base)
    )
    assert edited.orders == base.orders and edited.slippage == 0.001 and edited.alerts == base.alerts
    assert edited.collateral["USDT"] == 9000.0


def test_gauges_and_states_follow_the_files_alert_levels() -> None:
    """A file's ``alert_levels`` (format §8) move the gauges' bands and Home's pool states: the dial's
    ticks sit at its levels, and Home's state of every pool is ``evaluate``'s (not the default levels)."""
    from dashboard.cockpit import levels_note, pools_frame
    from dashboard.results import Report
    from margin.portfolio import portfolio_from_dict
    from margin.report import evaluate_portfolio
    from margin.states import AlertLevels
    from tests.conftest import ROOT

    levels = AlertLevels(warning=0.01, margin_call=0.02, source="file")
    gauges = charts.margin_ratio_gauges({"a": 0.2}, levels)
    assert list(gauges.data[0].gauge.axis.tickvals) == [0, pytest.approx(1.0), pytest.approx(2.0), 100]
    assert "from 1%" in levels_note(levels) and "alert_levels" in levels_note(levels)
    assert "no venue preset" in levels_note()
    data = json.loads((ROOT / "fixtures" / "portfolios" / "mixed-cross-isolated.json").read_text())
    data["alert_levels"] = {"warning": 0.01, "margin_call": 0.02}
    doc = evaluate_portfolio(portfolio_from_dict(data))
    frame = pools_frame(Report.from_doc(doc).modes["as_is"])
    by_pool = dict(zip(frame["pool"], frame["state"], strict=True))
    # as_is: the USDT cross pool's margin ratio 0.0106 lies between the file's 1 % and 2 % (default levels:
    # safe); the WIF isolated pool's 0.334 is past 2 %: margin call (default levels: safe)
    assert by_pool == {"USDT cross": "warning", "WIF long 20x isolated": "margin call"}
