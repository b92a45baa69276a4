"""Stop-loss and take-profit orders in ``evaluate`` (``portfolio-format.md`` §7).

An order is reduce-only and fills at market when the mark of its symbol crosses its trigger: a ``stop``
against the position (below the mark for a long, above for a short), a ``take_profit`` in its favour.
``evaluate`` does not fill orders (pools and every other figure are those of the portfolio with its orders
unfilled: orders fire only along a path); it reports, per position and view, what each order would do:

- ``fill_price``: closing a long is a sell at ``trigger × (1 − slippage)``, closing a short a buy at
  ``trigger × (1 + slippage)``;
- ``realized_pnl`` of the closed contracts at the fill, in the settle asset (``margin-models.md`` §0):
  linear ``s·Q·CS·(fill − entry)``, inverse ``s·Q·CS·(1/entry − 1/fill)`` (coin), ``s`` = +1 long / −1
  short, ``Q`` the order's contracts, ``CS`` the contract size;
- ``before_liquidation``: the mark of that symbol moving alone from the (evaluated) mark reaches the
  trigger before the position's liquidation price in that view, i.e. the liquidation price does not lie
  strictly between the mark and the trigger. A trigger equal to the liquidation price counts as reached
  first (a path fills orders before checking the pools at a point, §7 ``cascade``); a position already
  liquidated at the mark gives ``false``; no liquidation price gives ``true``. After a ``--shock`` that
  carries the mark past a trigger the order would fire at once: ``true`` unless the position is liquidated.
"""

from __future__ import annotations

from collections.abc import Sequence

from .portfolio import Order, Resolved


def fill_price(order_side: str, trigger: float, slippage: float) -> float:
    """The fill of an order closing a ``order_side`` position: a sell (long) at ``trigger × (1 − slippage)``,
    a buy (short) at ``trigger × (1 + slippage)``."""
    return trigger * (1.0 - slippage) if order_side == "long" else trigger * (1.0 + slippage)


def realized_pnl(sign: float, size: float, entry: float, fill: float, inverse: bool) -> float:
    """PnL of closing ``size`` (contracts × contract size) at ``fill``: ``s·size·(fill − entry)`` (linear)
    or ``s·size·(1/entry − 1/fill)`` (inverse, in coin)."""
    return sign * size * (1.0 / entry - 1.0 / fill) if inverse else sign * size * (fill - entry)


def before_liquidation(mark: float, trigger: float, liquidation: float | None, liquidated: bool) -> bool:
    """Whether the mark moving alone from ``mark`` reaches ``trigger`` before ``liquidation`` (module doc)."""
    if liquidated:
        return False
    if liquidation is None:
        return True
    away = trigger - mark
    return not ((liquidation - mark) * away > 0 and abs(liquidation - mark) < abs(away))


def order_rows(
    resolved: Resolved,
    marks: Sequence[float],
    liquidation: Sequence[float | None],
    liquidated: Sequence[bool],
) -> list[list[dict[str, object]]]:
    """Per leg (in leg order) the rows of its orders (format §7), in the order of the file, for one view
    evaluated at ``marks`` with liquidation prices ``liquidation`` (``None``: none)."""
    rows: list[list[dict[str, object]]] = [[] for _ in resolved.legs]
    slippage = resolved.slippage
    orders: tuple[Order, ...] = resolved.portfolio.orders
    for order, k in zip(orders, resolved.order_legs, strict=True):
        leg = resolved.legs[k]
        pos = leg.position
        contracts = pos.contracts if order.contracts is None else order.contracts
        fill = fill_price(pos.side, order.trigger_price, slippage)
        rows[k].append(
            {
                "id": order.label,
                "type": order.type,
                "trigger_price": order.trigger_price,
                "contracts": contracts,
                "fill_price": fill,
                "realized_pnl": realized_pnl(
                    pos.sign, contracts * leg.contract_size, pos.entry_price, fill, leg.instrument.inverse
                ),
                "before_liquidation": before_liquidation(marks[k], order.trigger_price, liquidation[k], liquidated[k]),
            }
        )
    return rows
