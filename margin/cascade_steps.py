"""The rows of a cascade's step table: one frozen record per liquidation event, and their JSON.

A row says what one event did to one position of one pool (format §5 ``cascade`` ``steps[]``): where
the market was (``move`` of the main symbol, the symbol's ``price`` and ``symbol_move``, ``t`` and
``phase`` of the path), what was closed (``closed_fraction``, ``closed_notional``, ``realized_pnl``,
``fee``, ``mechanism``), and the pool around it (``equity_before`` / ``equity_after``, the wallet left
``collateral_left``, ``maintenance_after``, the account value of every pool ``account_value``, the
positions still open and ``drained_by``: the five largest PnLs from the start of the path, most negative
first), and ``liquidation_cost``: what the event itself took from the pool at fixed marks (the part of
``equity_after − equity_before`` that is not a market move). Consecutive partial liquidations of one
position can be merged into one row (:func:`merge_partials`). A stop-loss or take-profit fill (format §7)
is a row too (event ``stop_filled`` / ``take_profit_filled``, mechanism ``order``, fee and
``liquidation_cost`` 0) with its ``order``, ``contracts`` and ``fill_price``; these three keys are in the
JSON of order rows only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

#: the events of the step rows: the venue's (format §5) and the order fills (format §7)
LIQUIDATION_EVENTS: tuple[str, ...] = ("liquidated", "partially_liquidated", "bankrupt")
EVENTS: tuple[str, ...] = (*LIQUIDATION_EVENTS, "stop_filled", "take_profit_filled")


@dataclass(frozen=True)
class StepRecord:
    """One event of the step table; :meth:`to_dict` gives the JSON row (format §5)."""

    move: float | None
    event: str
    #: the position's id; ``None`` for the ``portfolio`` view's one event, the whole account closed
    position: str | None
    equity_before: float
    equity_after: float
    collateral_left: float
    positions_open: int
    pool: str
    settle: str
    symbol: str
    price: float
    symbol_move: float
    t: float
    phase: str
    closed_fraction: float
    closed_notional: float
    realized_pnl: float
    fee: float
    mechanism: str
    maintenance_after: float
    account_value: float
    #: (position, PnL from the start of the path) of the pool, most negative first, at most five
    drained_by: tuple[tuple[str, float], ...]
    #: the pool's equity after − before the event at the event's own marks (no market move): minus the
    #: fee, minus the collateral lost to a takeover or backstop, plus a negative equity written off to
    #: the insurance fund; merged rows add up their events' costs
    liquidation_cost: float = 0.0
    #: merged partial liquidations: where the last one of the run happened, and how many there were
    move_last: float | None = None
    price_last: float | None = None
    symbol_move_last: float | None = None
    t_last: float | None = None
    merged_events: int = 1
    #: an order fill (format §7 ``cascade``, event ``stop_filled`` / ``take_profit_filled``, mechanism
    #: ``order``): the order's id, the contracts it closed and its fill price; ``None`` on other rows
    order: str | None = None
    contracts: float | None = None
    fill_price: float | None = None

    def to_dict(self) -> dict[str, object]:
        row: dict[str, object] = {
            "move": self.move,
            "event": self.event,
            "position": self.position,
            "equity_before": self.equity_before,
            "equity_after": self.equity_after,
            "collateral_left": self.collateral_left,
            "positions_open": self.positions_open,
            "pool": self.pool,
            "settle": self.settle,
            "symbol": self.symbol,
            "price": self.price,
            "symbol_move": self.symbol_move,
            "t": self.t,
            "phase": self.phase,
            "closed_fraction": self.closed_fraction,
            "closed_notional": self.closed_notional,
            "realized_pnl": self.realized_pnl,
            "fee": self.fee,
            "mechanism": self.mechanism,
            "maintenance_after": self.maintenance_after,
            "account_value": self.account_value,
            "drained_by": dict(self.drained_by),
            "liquidation_cost": self.liquidation_cost,
        }
        if self.merged_events > 1:
            row["move_last"] = self.move_last
            row["price_last"] = self.price_last
            row["symbol_move_last"] = self.symbol_move_last
            row["t_last"] = self.t_last
            row["merged_events"] = self.merged_events
        if self.order is not None:
            row["order"] = self.order
            row["contracts"] = self.contracts
            row["fill_price"] = self.fill_price
        return row

    @property
    def is_order(self) -> bool:
        """An order fill (not a liquidation)."""
        return self.order is not None


def _merge(first: StepRecord, then: StepRecord) -> StepRecord:
    """Two partial liquidations of one position as one row: where the liquidation started (move, price,
    equity before: the first) and where it ended (the last one's move, price, equity and collateral
    after); fees, closed notional and realised PnL add up, the kept fractions multiply."""
    kept = (1.0 - first.closed_fraction) * (1.0 - then.closed_fraction)
    return replace(
        first,
        move_last=then.move,
        price_last=then.price,
        symbol_move_last=then.symbol_move,
        equity_after=then.equity_after,
        collateral_left=then.collateral_left,
        positions_open=then.positions_open,
        maintenance_after=then.maintenance_after,
        account_value=then.account_value,
        t_last=then.t,
        fee=first.fee + then.fee,
        liquidation_cost=first.liquidation_cost + then.liquidation_cost,
        closed_notional=first.closed_notional + then.closed_notional,
        realized_pnl=first.realized_pnl + then.realized_pnl,
        closed_fraction=1.0 - kept,
        merged_events=first.merged_events + 1,
    )


def merge_partials(steps: Sequence[StepRecord]) -> tuple[StepRecord, ...]:
    """Consecutive partial liquidations of one position (nothing else in between) as one row."""
    out: list[StepRecord] = []
    for row in steps:
        prev = out[-1] if out else None
        if (
            prev is not None
            and prev.event == "partially_liquidated"
            and row.event == "partially_liquidated"
            and prev.position == row.position
        ):
            out[-1] = _merge(prev, row)
        else:
            out.append(row)
    return tuple(out)
