"""The ``portfolio`` view along a cascade's path: the account as one USD pool (format §6.4).

The portfolio view margins the whole account as one pool in USD (:func:`margin.portfolio_view.evaluate_portfolio_view`:
equity after haircuts, maintenance = ``mm_factor`` × the risk units' requirements). Along the path the view is
valued at each row's marks (option forwards and index prices move with their base, §6.5) with the options'
volatility and days of the cascade (§6.5 ``--vol-shock``, ``--days``); its trigger is equity ≤ maintenance
(§6.4 "liquidated when equity ≤ maintenance margin"). The first row at the trigger is refined by bisection on
the fraction τ of its segment (the marks linear between two rows, as the standard views' ``crossing`` fill) to
:data:`margin.cascade_crossing.TAU_TOL`; with ``fill="step"`` or a gap the row itself.

**The rule at the trigger** (a model choice: §6.4 states the trigger, not what the venue does next). The whole
account is closed at that point in one event (a step row ``liquidated``, ``position`` ``null``, pool
``portfolio USD``): every position is lost, at its mark (futures) or its Black-76 value (options), no fee; the
account keeps its equity there, in USD, to the end of the path (``collateral_left``); a negative equity (a gap
beyond bankruptcy) is the insurance fund's (event ``bankrupt``, ``collateral_left`` 0). Row fields:
``equity_before`` = ``equity_after`` = the USD equity at the point (the close moves no value),
``realized_pnl`` the futures PnL plus the options' value it turns into cash, ``closed_notional`` the USD
notional of every position closed (futures: ``q·P`` × the settle asset's USD price, an inverse future its USD
face ``q``; options: ``|units|·F``, × the settle asset's USD price when USDC-settled), ``maintenance_after``
0, ``liquidation_cost`` 0 (or the write-off). When the view never triggers there is no step and
``collateral_left`` is the USD equity at the end of the path. Orders (format §7) are not filled in this view.
The impact loop belongs to the standard views: once closed the account holds nothing a later price move could
change, and before the trigger it has sold nothing, so the impact leg cannot change this view (``impact``,
``forced_flow`` empty, ``amplification`` ``null``).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import numpy.typing as npt

from .cascade_crossing import TAU_TOL
from .cascade_params import CascadeParams
from .cascade_paths import Path
from .cascade_results import ViewCascade
from .cascade_steps import StepRecord
from .market import MarketSnapshot
from .portfolio import Resolved
from .portfolio_view import PortfolioView, evaluate_portfolio_view

FloatArray = npt.NDArray[np.float64]

#: the name of the view (format §6.4)
PORTFOLIO_VIEW = "portfolio"


def _market_at(
    resolved: Resolved, market: MarketSnapshot, marks: FloatArray, coll: FloatArray | None
) -> MarketSnapshot:
    symbols = list(resolved.marks)
    prices = dict(market.collateral_prices)
    if coll is not None:
        for a, name in enumerate(resolved.portfolio.collateral_assets):
            if name in prices:
                prices[name] = float(coll[a])
    return replace(market, marks={s: float(marks[j]) for j, s in enumerate(symbols)}, collateral_prices=prices)


def _view_at(resolved: Resolved, market: MarketSnapshot, marks: FloatArray, coll: FloatArray | None) -> PortfolioView:
    return evaluate_portfolio_view(resolved, _market_at(resolved, market, marks, coll), liquidation=False)


def _surplus(view: PortfolioView) -> float:
    return float(view.result.equity - view.result.maintenance_margin)


def _closed_notional(view: PortfolioView) -> float:
    """USD notional of every position (module docstring)."""
    resolved, mkt = view.resolved, view.market
    usd = view.inputs.usd
    total = 0.0
    for leg in resolved.legs:
        mark = float(mkt.marks[leg.position.symbol])
        if leg.instrument.inverse:
            total += leg.size
        else:
            total += leg.size * mark * float(usd.get(leg.settle) or 0.0)
    for o in resolved.option_legs:
        f = float(mkt.marks[o.symbol])
        per = 1.0 if o.option.coin_settled else float(usd.get(o.option.settle) or 0.0)
        total += abs(o.units) * f * per
    return total


def portfolio_cascade(
    resolved: Resolved,
    market: MarketSnapshot,
    path: Path,
    params: CascadeParams,
    main: int | None,
    path_move: FloatArray,
    gap: bool,
) -> ViewCascade:
    """The ``portfolio`` view along ``path`` (module docstring)."""
    symbols = list(resolved.marks)
    held = resolved.n_positions > 0
    n = len(resolved.legs) + len(resolved.option_legs)
    start = _view_at(resolved, market, path.marks[0], path.coll_at(0))
    step = gap or params.fill == "step"
    hit: tuple[int, float, PortfolioView] | None = None
    last = start
    if held:
        for k in range(path.rows):
            view = start if k == 0 else _view_at(resolved, market, path.marks[k], path.coll_at(k))
            last = view
            if _surplus(view) > 0.0:
                continue
            tau = 1.0
            if k > 0 and not step:  # bisection on τ of the segment (rows k − 1 → k)
                a, b = path.marks[k - 1], path.marks[k]
                ca, cb = path.coll_at(k - 1), path.coll_at(k)
                lo, hi = 0.0, 1.0
                while hi - lo > TAU_TOL:
                    m = 0.5 * (lo + hi)
                    if m <= lo or m >= hi:
                        break
                    coll = None if ca is None or cb is None else ca + m * (cb - ca)
                    v = _view_at(resolved, market, a + m * (b - a), coll)
                    if _surplus(v) <= 0.0:
                        hi, view = m, v
                    else:
                        lo = m
                tau = hi
            hit = (k, tau, view)
            break
    eq0 = float(start.result.equity)
    steps: tuple[StepRecord, ...] = ()
    insurance = 0.0
    if hit is None:
        left = float(last.result.equity)
    else:
        k, tau, view = hit
        eq = float(view.result.equity)
        marks = np.array([view.market.marks[s] for s in symbols], dtype=np.float64)
        j = 0 if main is None else main
        t = float(path.t[k]) if tau >= 1.0 or k == 0 else float(path.t[k - 1] + tau * (path.t[k] - path.t[k - 1]))
        left = max(eq, 0.0)
        insurance = max(-eq, 0.0)
        breakdown = view.result.breakdown
        steps = (
            StepRecord(
                move=None if main is None else float(marks[main] / path.marks[0, main] - 1.0),
                event="liquidated" if eq > 0.0 else "bankrupt",
                position=None,
                equity_before=eq,
                equity_after=left,
                collateral_left=left,
                positions_open=0,
                pool="portfolio USD",
                settle="USD",
                symbol=symbols[j],
                price=float(marks[j]),
                symbol_move=float(marks[j] / path.marks[0, j] - 1.0),
                t=t,
                phase=path.phase[k],
                closed_fraction=1.0,
                closed_notional=_closed_notional(view),
                realized_pnl=float(breakdown.unrealized_pnl + breakdown.options_value),
                fee=0.0,
                mechanism="market" if eq > 0.0 else "bankrupt",
                maintenance_after=0.0,
                account_value=left,
                drained_by=(),
                liquidation_cost=left - eq,
            ),
        )
    lost = n if hit is not None else 0
    return ViewCascade(
        view=PORTFOLIO_VIEW,
        steps=steps,
        positions_lost=lost,
        positions_reduced=0,
        positions_open=n - lost,
        collateral_start=eq0,
        collateral_left=left,
        by_settle={"USD": {"collateral_start": eq0, "collateral_left": left}},
        fees=0.0,
        insurance_fund=insurance,
        impact={},
        final_moves={s: float(path_move[j]) for j, s in enumerate(symbols) if path_move[j] != 0.0},
        amplification=None,
        iterations=1,
        converged=True,
        positions_lost_without_impact=lost,
        flows={},
        collateral_left_before_impact=None,
        orders_filled=None,
        order_outcomes=(),
    )
