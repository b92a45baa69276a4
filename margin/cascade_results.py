"""A cascade's results: every view's step table and totals, and the ``cascade`` JSON (format §5).

``collateral_left`` of a view is its account value at the end (every pool's wallet plus the PnL of its
open positions at the final marks, the unallocated collateral included); ``loss`` = account value at
the start of the path − ``collateral_left``. Amounts are in the settle asset; a view's total adds
pools of different settle assets only when they are all USD stablecoins or all the same asset (else
``null``, see ``by_settle``: :func:`settle_totals`).

**Where the loss went** (:meth:`ViewCascade.waterfall`). The loss splits exactly into the market move and
the cost of each liquidation (every amount an account value, in the settle asset):

- each liquidation's cost: ``liquidation_cost`` of its step row, the pool's equity after − before the
  event at the event's own marks (fee, collateral lost to a takeover or backstop, negative equity
  written off to the insurance fund; :mod:`margin.cascade_steps`);
- the market move: value at the end of the shock − value at the start − the costs of the liquidations
  on the way, i.e. the change of value of the positions while they were held (before any liquidation
  it is the loss of the book as it stands; with no liquidation it is the whole loss at the shocked marks,
  ``evaluate --shock``'s equity change);
- the price impact (with an impact law): value at the end of the impact leg − value at the end of the
  shock − the costs of the liquidations on the leg: what the forced trades' own price move took;

so ``start + market + impact + Σ costs = collateral_left``, by construction. A stop-loss or take-profit
fill (format §7) is the trader's own market order, not a liquidation: it has no bar, its cost is 0 and
its slippage and realised PnL are part of the market move (the positions' change of value while held, up
to the fill); a position it closes is not a position lost.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .cascade_params import CascadeParams
from .cascade_steps import StepRecord

USD_LIKE = frozenset({"USD", "USDT", "USDC", "BUSD", "FDUSD", "DAI", "TUSD", "USDE"})


def settle_totals(by_settle: Mapping[str, Mapping[str, float]]) -> tuple[float | None, float | None]:
    """(start, left) summed over the settle assets, or ``(None, None)`` when they cannot be added."""
    settles = set(by_settle)
    if len(settles) == 1 or settles <= USD_LIKE:
        return (
            sum(d["collateral_start"] for d in by_settle.values()),
            sum(d["collateral_left"] for d in by_settle.values()),
        )
    return None, None


#: what became of an order along the path (format §7 ``cascade``, this product's per-view ``orders`` list):
#: ``filled``; ``liquidated_first``: its pool reached the trigger first and the venue closed the position
#: with the order unfilled (the cross-margin case where another position's loss takes the pool); ``closed_by_order``:
#: another order closed the position first; ``not_reached``: the path never crossed its trigger
ORDER_OUTCOMES: tuple[str, ...] = ("filled", "liquidated_first", "closed_by_order", "not_reached")


@dataclass(frozen=True)
class WaterfallBar:
    """One bar of a view's loss decomposition (module docstring): ``kind`` ``start`` (absolute), ``market``,
    ``liquidation``, ``impact`` (changes), ``end`` (the total)."""

    kind: str
    value: float
    position: str = ""
    event: str = ""
    move: float | None = None
    fee: float = 0.0


@dataclass(frozen=True)
class ViewCascade:
    """One view's cascade: the step table and the totals."""

    view: str
    steps: tuple[StepRecord, ...]
    positions_lost: int
    positions_reduced: int
    positions_open: int
    collateral_start: float | None
    collateral_left: float | None
    by_settle: dict[str, dict[str, float]]
    fees: float
    insurance_fund: float
    impact: dict[str, float]
    final_moves: dict[str, float]
    amplification: float | None
    iterations: int
    converged: bool
    positions_lost_without_impact: int
    flows: dict[str, float]
    #: account value at the end of the shock itself, before the impact leg (``collateral_left`` without it)
    collateral_left_before_impact: float | None = None
    #: stop-loss and take-profit orders filled (format §7), ``None`` when the file has no orders
    orders_filled: int | None = None
    #: every order's outcome at the end of the walk, in file order (empty without orders): ``(id,
    #: position, outcome)``, outcome one of :data:`ORDER_OUTCOMES`
    order_outcomes: tuple[tuple[str, str, str], ...] = ()

    @property
    def loss(self) -> float | None:
        if self.collateral_start is None or self.collateral_left is None:
            return None
        return self.collateral_start - self.collateral_left

    def _costs(self, impact_leg: bool) -> float:
        return sum(s.liquidation_cost for s in self.steps if (s.phase == "impact") == impact_leg and not s.is_order)

    @property
    def market_move(self) -> float | None:
        """Change of value from the price moves of the shock on the positions while held (module docstring)."""
        if self.collateral_start is None or self.collateral_left is None:
            return None
        before = self.collateral_left_before_impact
        before = self.collateral_left if before is None else before
        return before - self.collateral_start - self._costs(False)

    @property
    def price_impact(self) -> float | None:
        """Change of value from the forced trades' own price move (0 without an impact leg)."""
        if self.collateral_left is None or self.collateral_left_before_impact is None:
            return None if self.collateral_left is None else 0.0
        return self.collateral_left - self.collateral_left_before_impact - self._costs(True)

    def waterfall(self) -> tuple[WaterfallBar, ...] | None:
        """Start, market move, the liquidations of the shock, price impact, the liquidations it caused, end:
        the changes add up exactly to the end (module docstring); ``None`` when the totals cannot be added."""
        market, impact = self.market_move, self.price_impact
        if market is None or impact is None or self.collateral_start is None or self.collateral_left is None:
            return None

        def bar(s: StepRecord) -> WaterfallBar:
            return WaterfallBar("liquidation", s.liquidation_cost, s.position or "", s.event, s.move, s.fee)

        bars = [WaterfallBar("start", self.collateral_start), WaterfallBar("market", market)]
        bars += [bar(s) for s in self.steps if s.phase != "impact" and not s.is_order]
        if self.collateral_left_before_impact is not None:
            bars.append(WaterfallBar("impact", impact))
            bars += [bar(s) for s in self.steps if s.phase == "impact" and not s.is_order]
        bars.append(WaterfallBar("end", self.collateral_left))
        return tuple(bars)

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "steps": [s.to_dict() for s in self.steps],
            "positions_lost": self.positions_lost,
            "collateral_left": self.collateral_left,
            "loss": self.loss,
            "collateral_start": self.collateral_start,
            "positions_reduced": self.positions_reduced,
            "positions_open": self.positions_open,
            "fees": self.fees,
            "insurance_fund": self.insurance_fund,
            "by_settle": self.by_settle,
            "impact": self.impact,
            "forced_flow": self.flows,
            "final_moves": self.final_moves,
            "amplification": self.amplification,
            "extra_positions_lost": self.positions_lost - self.positions_lost_without_impact,
            "iterations": self.iterations,
            "converged": self.converged,
            "market_move": self.market_move,
            "price_impact": self.price_impact,
            "collateral_left_before_impact": self.collateral_left_before_impact,
        }
        if self.orders_filled is not None:
            out["orders_filled"] = self.orders_filled
            out["orders"] = [{"id": i, "position": p, "outcome": o} for i, p, o in self.order_outcomes]
        return out


@dataclass(frozen=True)
class CascadeResult:
    """Every view's cascade along one path (``to_dict``: the ``cascade`` JSON of format §5)."""

    venue: str
    kind: str
    moves: dict[str, float]
    impact: str
    main_symbol: str | None
    initial_move: float | None
    modes: dict[str, ViewCascade]
    impact_model: dict[str, object] | None
    params: CascadeParams
    #: the options' volatility shocks per base and the days forward (format §6.5), when given
    vol_moves: Mapping[str, float] | None = None
    days: float = 0.0

    @property
    def amplification(self) -> float | None:
        """Amplification of the ``as_is`` view (the portfolio as given), else of the first view run."""
        view = self.modes.get("as_is") or next(iter(self.modes.values()))
        return view.amplification

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "venue": self.venue,
            "kind": self.kind,
            "shock": self.moves,
            "impact": self.impact,
            "main_symbol": self.main_symbol,
            "initial_move": self.initial_move,
            "amplification": self.amplification,
            "modes": {v: m.to_dict() for v, m in self.modes.items()},
            "comparison": {
                v: {
                    "loss": m.loss,
                    "positions_lost": m.positions_lost,
                    "collateral_left": m.collateral_left,
                    "extra_positions_lost": m.positions_lost - m.positions_lost_without_impact,
                }
                for v, m in self.modes.items()
            },
            "impact_model": self.impact_model,
            "params": {
                "steps": self.params.steps,
                "fill": self.params.fill,
                "order": self.params.order,
                "takeover": self.params.takeover,
                "partial": self.params.partial,
            },
        }
        if self.params.gap:
            out["gap"] = True
        if self.vol_moves:
            out["vol_shock"] = dict(self.vol_moves)
        if self.days:
            out["days"] = self.days
        return out
