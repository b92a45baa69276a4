"""What stop-loss and take-profit orders (``portfolio-format.md`` §7, issue 12) cost the engines. Prints figures.

Book: the shipped 200-position sample (``fixtures/portfolios/book-200.json``: real Binance USDⓈ-M tier tables,
mixed modes, hedge pairs). Orders: a stop on every ``k``-th position, ``STOP_DISTANCE`` of the mark on its loss
side (inside its liquidation distance for most), whole position, slippage 0.1 %. Measured, each the median of
``--repeat`` runs:

- ``cascade ALL=-30%`` (every view, no impact): the book without orders, with 20 and with 200 stops; and the
  same with ``--gap``. Before timing, the run with orders is checked against the §7 rule it implements: every
  ``stop_filled`` row's fill price is its trigger × (1 − slippage) for a long (× (1 + slippage) for a short).
- ``risk`` over 7 days (168 hours), 10,000 paths, GBM at the shipped volatilities: without orders, with 20 and
  with 200 stops; checked: the run with orders reports a probability with orders ignored equal to the run
  without orders (same seed: the same paths), so the extra time is the orders' alone.

No baseline loop ratio: nothing here claims a speed-up; the figures say what working orders add.
Noisy: 2 shared cores. Run: ``python benchmarks/bench_orders.py [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from margin.contagion import cascade  # noqa: E402
from margin.loader import load_daily_closes  # noqa: E402
from margin.portfolio import Resolved, portfolio_from_dict, resolve  # noqa: E402
from margin.risk import risk  # noqa: E402

STOP_DISTANCE = 0.05
SLIPPAGE = 0.001
#: annual volatilities of the bases without shipped history (an assumption, as `risk --vol` takes)
VOLS = {"1000PEPE": 1.2, "SUI": 1.0, "WIF": 1.3, "TON": 0.8, "ARB": 0.9, "OP": 0.9, "TRX": 0.5}


def book_with_stops(every: int | None) -> Resolved:
    """book-200 with a stop on every ``every``-th position (``None``: no orders)."""
    doc: dict[str, Any] = json.loads((ROOT / "fixtures" / "portfolios" / "book-200.json").read_text())
    if every is not None:
        marks = doc["prices"]
        orders = []
        for k, p in enumerate(doc["positions"]):
            if k % every:
                continue
            mark = float(p.get("mark_price") or marks[p["symbol"]])
            trigger = mark * (1 - STOP_DISTANCE) if p["side"] == "long" else mark * (1 + STOP_DISTANCE)
            order: dict[str, Any] = {"id": f"sl-{k}", "symbol": p["symbol"], "type": "stop", "trigger_price": trigger}
            if doc.get("position_mode") == "hedge":
                order["position_side"] = p["side"]
            orders.append(order)
        doc["orders"] = orders
        doc["slippage"] = SLIPPAGE
    return resolve(portfolio_from_dict(doc, "book-200"))


def median_time(fn: Any, repeat: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def check_fills(doc: dict[str, Any], resolved: Resolved) -> int:
    """Every fill row at trigger × (1 ∓ slippage) (§7); the number of fills."""
    triggers = {o.label: o.trigger_price for o in resolved.portfolio.orders}
    sides = {leg.position.id: leg.position.side for leg in resolved.legs}
    n = 0
    for body in doc["modes"].values():
        for row in body["steps"]:
            if row["event"] != "stop_filled":
                continue
            factor = 1 - SLIPPAGE if sides.get(row["position"], "long") == "long" else 1 + SLIPPAGE
            # with the gap at the shocked mark, on the path at the trigger
            want = (row["price"] if doc.get("gap") else triggers[row["order"]]) * factor
            if abs(row["fill_price"] - want) > 1e-9 * want:
                raise SystemExit(f"fill of {row['order']}: {row['fill_price']} != {want}")
            n += 1
    return n


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--paths", type=int, default=10_000)
    args = parser.parse_args()
    closes = load_daily_closes()
    books = {"no orders": book_with_stops(None), "20 stops": book_with_stops(10), "200 stops": book_with_stops(1)}
    print("book-200, cascade ALL=-30 % (every view, no impact), median of", args.repeat)
    base = None
    for name, resolved in books.items():
        for gap in (False, True):
            took, result = median_time(
                lambda r=resolved, g=gap: cascade(r, {"ALL": -0.3}, params={"gap": g}), args.repeat
            )
            doc = result.to_dict()
            fills = check_fills(doc, resolved)
            base = took if name == "no orders" and not gap else base
            print(f"  {name:9s} {'gap ' if gap else 'path'}: {1000 * took:7.1f} ms, fills {fills:4d}")
    print(f"book-200, risk 168 h × {args.paths:,} paths (gbm), median of", args.repeat)
    plain = None
    for name, resolved in books.items():
        took, doc = median_time(
            lambda r=resolved: risk(r, 168, closes, paths=args.paths, seed=7, model="gbm", vols=VOLS), args.repeat
        )
        if plain is None:
            plain = {v: b["probability"] for v, b in doc["modes"].items()}
        else:
            without = {v: b["probability_without_orders"] for v, b in doc["modes"].items()}
            if without != plain:
                raise SystemExit(f"{name}: orders ignored {without} != no orders {plain}")
        filled = {v: b.get("probability_order_filled") for v, b in doc["modes"].items()}
        print(
            f"  {name:9s}: {took:6.2f} s; P(liquidation) {doc['modes']['as_is']['probability']:.4f}, "
            f"P(an order fills) {filled['as_is']}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
