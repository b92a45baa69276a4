"""Benchmark of the ``portfolio`` view's risk-unit kernel (``margin.portfolio_margin``, portfolio-format.md §6.4,
issue 11: "the portfolio view of 1,000 positions (200 options) in under 200 ms, against a plain per-scenario
loop"). Prints figures.

Book (:func:`realistic_book`, seeded): 1,000 legs, 800 futures on 10 bases (log-normal notionals, median ≈ 12k
USD; 60 % USDT-linear, 40 % coin-inverse settled in their coin; entries within a few percent of the mark) and
200 options on BTC (60 %) and ETH with strikes around the forward (log-normal, ≈ 12 % × √(days / 30)), expiries 7
to 180 days, a smile on ATM IVs of 0.52 (BTC) and 0.62 (ETH), 70 % coin-settled (Deribit-style), the rest
USDC-settled. Collateral: USDC 5,000, BTC 1.5, ETH 20, SOL 100 (haircuts ETH 2 %, other coins 5 %, BTC 0) and
USDT sized so equity = 1.6 × the maintenance margin. Marks are illustrative late-2024 levels (not data).

Baseline (:class:`LoopBook`): the plain loop a competent engineer would write: per risk unit, per scenario,
reprice every leg in Python (futures PnL; options by Black-76 from ``math.erfc``), sum, take the worst; the
contingency by a loop over the unit's futures; the scan likewise per step from the nearest, stopping at the
first step that meets the trigger, then the same bisection. In the scan only the moved unit's scenario loss and
contingency are recomputed, repricing the legs its move changes (the other units' do not change: the obvious
shortcut); the equity reprices every leg.

Checked before any ratio is printed (exit 1 on a disagreement): on the 1,000-leg book every unit's scenario
losses (all 35 pnl), contingencies, IM and MM to 1e-9 relative; the liquidation moves of BTC (both sides) on the
1,000-leg book, and of every unit both ways on a 100-leg book of the same generator (80 futures, 20 options),
to 1e-9. The loop cannot scan 2,000 steps × 20 unit sides on 1,000 legs in benchmark time (≈ 5 ms per step
for BTC alone): its scan is timed on BTC both ways only (stated in the output), and the kernel's full
evaluation with liquidation moves is set against the loop's without them plus that scan.

Noisy: 2 shared cores. Run: ``python benchmarks/bench_portfolio_margin.py [--repeat 7] [--seed 1]``.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from margin.options import YEAR_DAYS, scenario_grid  # noqa: E402
from margin.portfolio_margin import (  # noqa: E402
    BISECTION_RTOL,
    LIQUIDATION_DOWN,
    LIQUIDATION_STEPS,
    LIQUIDATION_UP,
    Assets,
    Book,
    Legs,
    LegSpec,
    PortfolioMarginParams,
    PortfolioResult,
    evaluate_portfolio,
)

BASES = ("BTC", "ETH", "SOL", "XRP", "DOGE", "BNB", "ADA", "AVAX", "LINK", "LTC")
#: illustrative late-2024 levels (not data)
MARKS = (67000.0, 2520.0, 172.0, 0.52, 0.135, 590.0, 0.345, 26.5, 11.2, 70.5)
#: share of the futures on each base
FUTURE_WEIGHTS = (0.3, 0.2, 0.1, 0.06, 0.06, 0.08, 0.05, 0.05, 0.05, 0.05)
#: USD face per inverse contract (COIN-M style: 100 for BTC, 10 for the others)
INVERSE_FACE = (100.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0)
ATM_IV = {"BTC": 0.52, "ETH": 0.62}
COIN_BALANCE = {"BTC": 1.5, "ETH": 20.0, "SOL": 100.0}
HAIRCUT = {"BTC": 0.0, "ETH": 0.02}
OTHER_HAIRCUT = 0.05
USDC_BALANCE = 5000.0
MARGIN_MULTIPLE = 1.6
TOL = 1e-9


def _leg_dicts(rng: np.random.Generator, n_futures: int, n_options: int) -> list[dict[str, Any]]:
    weights = np.array(FUTURE_WEIGHTS) / sum(FUTURE_WEIGHTS)
    legs: list[dict[str, Any]] = []
    for _ in range(n_futures):
        u = int(rng.choice(len(BASES), p=weights))
        mark = MARKS[u] * (1 + rng.normal(0, 0.001))
        entry = mark * (1 + rng.normal(0, 0.03))
        side = 1.0 if rng.random() < 0.55 else -1.0
        notional = float(np.exp(rng.normal(math.log(12000), 1.0)))
        if rng.random() < 0.4:  # coin-inverse, settled in its coin
            cs = INVERSE_FACE[u]
            legs.append(
                {"base": BASES[u], "settle": BASES[u], "side": side, "contracts": max(1.0, round(notional / cs)),
                 "contract_size": cs, "price": mark, "coin_settled": True, "entry": entry}
            )  # fmt: skip
        else:  # USDT-linear
            legs.append(
                {"base": BASES[u], "settle": "USDT", "side": side, "contracts": notional / mark,
                 "contract_size": 1.0, "price": mark, "coin_settled": False, "entry": entry}
            )  # fmt: skip
    for _ in range(n_options):
        u = 0 if rng.random() < 0.6 else 1
        base = BASES[u]
        days = float(rng.uniform(7, 180))
        t = days / YEAR_DAYS
        fwd = MARKS[u] * (1 + 0.08 * t)  # contango
        tick = 1000.0 if u == 0 else 50.0
        strike = max(tick, round(fwd * math.exp(rng.normal(0, 0.12 * math.sqrt(days / 30))) / tick) * tick)
        x = math.log(strike / fwd)
        iv = ATM_IV[base] * (1 + 0.04 * x * x / t + 0.1 * abs(x))  # a smile, steeper at short expiries
        coin = rng.random() < 0.7
        legs.append(
            {"base": base, "settle": base if coin else "USDC", "side": 1.0 if rng.random() < 0.5 else -1.0,
             "contracts": float(rng.choice([0.5, 1, 2, 5, 10, 25])), "contract_size": 1.0, "price": fwd,
             "coin_settled": coin, "is_option": True, "strike": strike, "is_call": bool(rng.random() < 0.5),
             "iv": iv, "t": t}
        )  # fmt: skip
    return [legs[i] for i in rng.permutation(len(legs))]


def realistic_book(seed: int = 1, n_futures: int = 800, n_options: int = 200) -> Book:
    """The seeded book of the module docstring (risk units in order of first appearance, then coin collateral)."""
    legs = _leg_dicts(np.random.default_rng(seed), n_futures, n_options)
    units = tuple(dict.fromkeys([leg["base"] for leg in legs] + list(COIN_BALANCE)))
    names = ("USDT", "USDC", *units)
    price = np.array([1.0, 1.0, *[MARKS[BASES.index(b)] for b in units]])
    haircut = np.array([0.0, 0.0, *[HAIRCUT.get(b, OTHER_HAIRCUT) for b in units]])
    specs = []
    for leg in legs:
        d = dict(leg)
        d["unit"] = units.index(d.pop("base"))
        d["settle"] = names.index(d["settle"])
        specs.append(LegSpec(**d))

    def book(usdt: float) -> Book:
        balance = np.array([usdt, USDC_BALANCE, *[COIN_BALANCE.get(b, 0.0) for b in units]])
        assets = Assets(names, balance, price, haircut, np.array([-1, -1, *range(len(units))]))
        return Book(units, price[2:], Legs.from_specs(specs), assets)

    probe = evaluate_portfolio(book(0.0), liquidation=False)
    return book(max(MARGIN_MULTIPLE * probe.maintenance_margin - probe.equity, 0.0))


# ---------------------------------------------------------------------------------------------------------
# the plain loop
# ---------------------------------------------------------------------------------------------------------


def _n(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def b76(f: float, k: float, t: float, s: float, call: bool) -> float:
    """Undiscounted Black-76 (§6.2) in plain Python; the intrinsic value at T ≤ 0."""
    if t <= 0.0:
        return max(f - k, 0.0) if call else max(k - f, 0.0)
    sd = s * math.sqrt(t)
    d1 = (math.log(f / k) + 0.5 * sd * sd) / sd
    d2 = d1 - sd
    value = f * _n(d1) - k * _n(d2) if call else k * _n(-d2) - f * _n(-d1)
    return max(value, max(f - k, 0.0) if call else max(k - f, 0.0))


class LoopBook:
    """The book as Python lists, and the §6.4 view by plain loops (see the module docstring)."""

    def __init__(self, book: Book, params: PortfolioMarginParams) -> None:
        legs, assets = book.legs, book.assets
        self.params = params
        self.units = book.units
        self.u = len(book.units)
        self.unit_price = book.unit_price.tolist()
        self.n = len(legs)
        self.unit = legs.unit.tolist()
        self.settle = legs.settle.tolist()
        self.option = legs.is_option.tolist()
        self.size = (legs.side * legs.contracts * legs.contract_size).tolist()
        self.cs = (legs.contracts * legs.contract_size).tolist()
        self.short = (legs.side < 0).tolist()
        self.coin = legs.coin_settled.tolist()
        self.price = legs.price.tolist()
        self.entry = legs.entry.tolist()
        self.strike = legs.strike.tolist()
        self.call = legs.is_call.tolist()
        self.iv = legs.iv.tolist()
        self.t = legs.t.tolist()
        self.a_balance = assets.balance.tolist()
        self.a_price = assets.price.tolist()
        self.a_keep = (1.0 - assets.haircut).tolist()
        self.a_unit = assets.unit.tolist()
        self.grids = []
        for name in book.units:
            g = scenario_grid(params.range_for(name), params.buckets, params.extended_moves, params.extended_weight)
            self.grids.append(list(zip(g.move.tolist(), g.vol, g.weight.tolist(), strict=True)))
        vp = params.vol_params
        self.sigma: list[dict[str, float]] = []  # per leg: iv in each vol state (§6.4)
        for i in range(self.n):
            if not self.option[i]:
                self.sigma.append({})
                continue
            dte = max(self.t[i] * YEAR_DAYS, 1.0)
            p = vp.short_term_vega_power if dte < 30 else vp.long_term_vega_power
            f = (30.0 / dte) ** p
            self.sigma.append(
                {"up": self.iv[i] * (1 + vp.vol_range_up * f), "unchanged": self.iv[i],
                 "down": self.iv[i] * max(1 - vp.vol_range_down * f, 0.01)}
            )  # fmt: skip
        self.on_unit = [[i for i in range(self.n) if self.unit[i] == c] for c in range(self.u)]

    def usd(self, fac: list[float], vol: list[str], legs: list[int] | None = None, assets: bool = True) -> float:
        """USD equity after haircuts (§6.4) at price factors ``fac`` per unit and vol states ``vol`` per unit:
        each leg's amount in its settle asset × that asset's moved USD price × (1 − haircut), plus balances."""
        total = 0.0
        for i in range(self.n) if legs is None else legs:
            f = self.price[i] * fac[self.unit[i]]
            if self.option[i]:
                v = self.size[i] * b76(f, self.strike[i], self.t[i], self.sigma[i][vol[self.unit[i]]], self.call[i])
                amount = v / f if self.coin[i] else v
            elif self.coin[i]:
                amount = self.size[i] * (1.0 / self.entry[i] - 1.0 / f)
            else:
                amount = self.size[i] * (f - self.entry[i])
            a = self.settle[i]
            au = self.a_unit[a]
            total += amount * self.a_price[a] * (fac[au] if au >= 0 else 1.0) * self.a_keep[a]
        if assets:
            for a in range(len(self.a_balance)):
                au = self.a_unit[a]
                total += self.a_balance[a] * self.a_price[a] * (fac[au] if au >= 0 else 1.0) * self.a_keep[a]
        return total

    def unit_legs(self, c: int) -> list[int]:
        """Legs whose USD value a move of unit ``c`` changes (on ``c`` or settled in ``c``'s asset)."""
        return [i for i in range(self.n) if self.unit[i] == c or self.a_unit[self.settle[i]] == c]

    def loss(self, c: int, fac: list[float], every_leg: bool = True) -> tuple[float, list[float]]:
        """Unit ``c``'s scenario loss and pnl per scenario at the factors ``fac`` (§6.4): per scenario,
        reprice every leg (``every_leg``; else only the legs the move changes) and sum."""
        legs = None if every_leg else self.unit_legs(c)
        vol = ["unchanged"] * self.u
        base = self.usd(fac, vol, legs)
        pnl, worst = [], -math.inf
        for move, state, weight in self.grids[c]:
            f = list(fac)
            f[c] *= 1.0 + move
            v = list(vol)
            v[c] = state
            p = self.usd(f, v, legs) - base
            pnl.append(p)
            worst = max(worst, -p * weight)
        return max(worst, 0.0), pnl

    def contingency(self, c: int, fac: list[float]) -> float:
        """§6.4: ``future_contingency × |Σ futures delta notional in USD| + option_contingency × S × Σ short
        option contracts × contract_size``."""
        notional, shorts = 0.0, 0.0
        for i in self.on_unit[c]:
            if self.option[i]:
                shorts += self.cs[i] if self.short[i] else 0.0
            elif self.coin[i]:
                notional += self.size[i]
            else:
                a = self.settle[i]
                au = self.a_unit[a]
                notional += self.size[i] * self.price[i] * fac[c] * self.a_price[a] * (fac[au] if au >= 0 else 1.0)
        p = self.params
        return float(p.future_contingency * abs(notional) + p.option_contingency * self.unit_price[c] * fac[c] * shorts)

    def evaluate(self) -> dict[str, Any]:
        """Scenario losses, pnl, contingencies, IM and MM at the current prices (sum aggregation)."""
        fac = [1.0] * self.u
        losses, pnls = zip(*(self.loss(c, fac) for c in range(self.u)), strict=True)
        conts = [self.contingency(c, fac) for c in range(self.u)]
        im = sum(losses) + sum(conts)
        return {"losses": list(losses), "pnl": list(pnls), "conts": conts, "im": im,
                "mm": self.params.mm_factor * im}  # fmt: skip

    def liquidation_move(self, c: int, end: float, base: dict[str, Any]) -> float | None:
        """§6.4 scan from the nearest of 2,000 steps (only ``c``'s loss and contingency recomputed), stopping
        at the first that meets the trigger, then bisection as the kernel does."""
        rest = base["im"] - base["losses"][c] - base["conts"][c]
        vol = ["unchanged"] * self.u

        def gap(m: float) -> float:
            fac = [1.0] * self.u
            fac[c] = 1.0 + m
            im = rest + self.loss(c, fac, every_leg=False)[0] + self.contingency(c, fac)
            return float(self.usd(fac, vol) - self.params.mm_factor * im)

        prev, hit = 0.0, None
        for j in range(1, LIQUIDATION_STEPS + 1):
            m = end * j / LIQUIDATION_STEPS
            if gap(m) <= 0.0:
                hit = m
                break
            prev = m
        if hit is None:
            return None
        lo, hi = prev, hit
        while True:
            mid = 0.5 * (lo + hi)
            if mid in (lo, hi) or abs(hi - lo) <= BISECTION_RTOL * abs(hi):
                return hi
            if gap(mid) <= 0.0:
                hi = mid
            else:
                lo = mid


# ---------------------------------------------------------------------------------------------------------
# checks and timing
# ---------------------------------------------------------------------------------------------------------


class Disagreement(AssertionError):
    pass


def close(a: float | None, b: float | None, scale: float = 0.0) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= TOL * max(abs(a), abs(b), scale)


def check(what: str, ok: bool, detail: str) -> None:
    if not ok:
        print(f"DISAGREEMENT in {what}: {detail}; no ratio printed", file=sys.stderr)
        raise Disagreement(what)


def check_requirements(res: PortfolioResult, loop: dict[str, Any], label: str) -> None:
    """Every unit's 35 pnl (to 1e-9 of the unit's largest |pnl|), loss and contingency, IM and MM."""
    for k, unit in enumerate(res.units):
        scale = float(np.abs(unit.pnl).max())
        for s, (a, b) in enumerate(zip(unit.pnl.tolist(), loop["pnl"][k], strict=True)):
            check(f"{label} {unit.underlying} pnl[{s}]", close(a, b, scale), f"kernel {a!r}, loop {b!r}")
        check(f"{label} {unit.underlying} loss", close(unit.scenario_loss, loop["losses"][k], scale), "")
        check(f"{label} {unit.underlying} contingency", close(unit.contingency, loop["conts"][k]), "")
    check(f"{label} IM", close(res.initial_margin, loop["im"]), f"{res.initial_margin!r} vs {loop['im']!r}")
    check(f"{label} MM", close(res.maintenance_margin, loop["mm"]), "")


def check_moves(res: PortfolioResult, lb: LoopBook, loop: dict[str, Any], units: list[int], label: str) -> None:
    for k in units:
        unit = res.units[k]
        for end, got in ((LIQUIDATION_DOWN, unit.liquidation_move_down), (LIQUIDATION_UP, unit.liquidation_move_up)):
            want = lb.liquidation_move(k, end, loop)
            check(f"{label} {unit.underlying} liquidation move to {end}", close(got, want), f"{got!r} vs {want!r}")


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    params = PortfolioMarginParams()

    small = realistic_book(args.seed, 80, 20)
    small_res = evaluate_portfolio(small, params)
    small_lb = LoopBook(small, params)
    small_loop = small_lb.evaluate()
    try:
        check_requirements(small_res, small_loop, "100-leg book")
        check_moves(small_res, small_lb, small_loop, list(range(len(small.units))), "100-leg book")
        book = realistic_book(args.seed)
        res = evaluate_portfolio(book, params)
        lb = LoopBook(book, params)
        t0 = time.perf_counter()
        loop = lb.evaluate()
        loop_base_ms = 1e3 * (time.perf_counter() - t0)
        check_requirements(res, loop, "1,000-leg book")
        btc = book.units.index("BTC")
        t0 = time.perf_counter()
        check_moves(res, lb, loop, [btc], "1,000-leg book")
        loop_scan_ms = 1e3 * (time.perf_counter() - t0)
    except Disagreement:
        return 1
    n_opt = int(book.legs.is_option.sum())
    print(f"book: {len(book.legs)} legs ({n_opt} options), {len(book.units)} risk units, seed {args.seed}")
    print(f"equity {res.equity:,.2f} USD, IM {res.initial_margin:,.2f}, MM {res.maintenance_margin:,.2f}")
    for unit in res.units:
        print(f"  {unit.underlying:5s} requirement {unit.requirement:14,.2f}  moves {unit.liquidation_move_down} / "
              f"{unit.liquidation_move_up}")  # fmt: skip
    print("agreement: kernel = loop to 1e-9 (every unit's 35 pnl, losses, contingencies, IM, MM on both books; "
          "liquidation moves of every unit on the 100-leg book and of BTC on the 1,000-leg book)")  # fmt: skip
    no_liq = median_ms(lambda: evaluate_portfolio(book, params, liquidation=False), args.repeat)
    full = median_ms(lambda: evaluate_portfolio(book, params), args.repeat)
    print(f"kernel, no liquidation moves:   {no_liq:9.1f} ms (median of {args.repeat})")
    print(f"kernel, with liquidation moves: {full:9.1f} ms (median of {args.repeat}; target 200 ms)")
    print(f"loop, no liquidation moves:     {loop_base_ms:9.1f} ms (one run)   ratio {loop_base_ms / no_liq:7.0f}x")
    print(f"loop, BTC scan both ways only:  {loop_scan_ms:9.1f} ms (one run; a subset: 2 of "
          f"{2 * len(book.units)} unit sides)")  # fmt: skip
    print(f"loop no-liq + BTC scan vs the kernel's whole view with every unit's moves: "
          f"{(loop_base_ms + loop_scan_ms) / full:.0f}x (a lower bound of the true ratio)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
