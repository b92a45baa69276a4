"""Stop-loss and take-profit orders along a cascade's path (``portfolio-format.md`` §7 ``cascade``).

An order (§7) closes its position at market when the mark of its symbol crosses its trigger: a ``stop``
against the position (a long's mark falls to ≤ trigger, a short's rises to ≥ trigger), a ``take_profit``
in its favour (the other way). With ``d`` = the order's direction (−1: fires falling, +1: rising) it is
crossed at a point where ``d·(P − T) ≥ 0``.

Where (:func:`first_crossings`, vectorised over rows × orders): marks are linear between two rows of
the path (:mod:`margin.cascade_paths`), so an order first crossed at row ``k`` (and not at row ``k − 1``)
is crossed on segment ``k`` at ``τ = (T − m₀)/(m₁ − m₀)``, ``m₀``, ``m₁`` its symbol's marks at the two
rows: exact, no search. In ``step`` mode (``fill="step"`` or ``gap``) there is no fill between rows: the
order is crossed at row ``k`` itself and fills at that row's mark (§7 ``--gap``: "fills at the shocked
mark"). The crossings depend only on the path, not on the ledger: they are found once per walk; a
liquidation that closes the order's position cancels it (:class:`margin.cascade_state.Ledger`).

The fill itself is :func:`margin.cascade_venue.fill_order`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .cascade_paths import Path
from .engine import Book

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]

#: the step-row event of a filled order, per order type
FILLED_EVENT: dict[str, str] = {"stop": "stop_filled", "take_profit": "take_profit_filled"}


@dataclass(frozen=True, eq=False)
class OrderSet:
    """The orders of a book, in file order: what does not change along a walk (module docstring).

    ``pos``: the book position each order closes (a compiled book's positions are the resolved legs, in
    leg order: :attr:`margin.portfolio.Resolved.order_legs` indexes both); ``size``: the order's
    contracts × contract size (``inf``: the whole position, whatever is left of it).
    """

    ids: tuple[str, ...]
    types: tuple[str, ...]
    pos: IntArray
    sym: IntArray
    trigger: FloatArray
    direction: FloatArray
    size: FloatArray
    contract_size: FloatArray
    slippage: float
    #: pool → the orders of its positions (an event on a pool touches only these)
    by_pool: dict[int, IntArray]

    @property
    def n(self) -> int:
        return len(self.ids)


def order_set(book: Book) -> OrderSet | None:
    """The book's orders (``None`` when the file has none: the walk then does no order work at all)."""
    resolved = book.resolved
    orders = resolved.portfolio.orders
    if not orders:
        return None
    pos = np.array(resolved.order_legs, dtype=np.intp)
    cs = np.array([resolved.legs[k].contract_size for k in resolved.order_legs], dtype=np.float64)
    contracts = np.array([np.inf if o.contracts is None else float(o.contracts) for o in orders])
    sign = book.sign[pos]
    stop = np.array([o.type == "stop" for o in orders])
    return OrderSet(
        ids=tuple(o.label for o in orders),
        types=tuple(o.type for o in orders),
        pos=pos,
        sym=book.sym[pos].astype(np.intp),
        trigger=np.array([o.trigger_price for o in orders], dtype=np.float64),
        # a stop fires against the position (a long's mark falling), a take-profit in its favour
        direction=np.where(stop, -sign, sign),
        size=contracts * cs,
        contract_size=cs,
        slippage=resolved.slippage,
        by_pool=_by_pool(book.pool[pos]),
    )


def _by_pool(pools: IntArray) -> dict[int, IntArray]:
    """Pool → the indices of its orders (one sort, linear in the orders)."""
    order = np.argsort(pools, kind="stable")
    keys, starts = np.unique(pools[order], return_index=True)
    return {int(g): part for g, part in zip(keys.tolist(), np.split(order, starts[1:]), strict=True)}


def first_crossings(
    orders: OrderSet, path: Path, start: int, here: bool, step: bool
) -> tuple[IntArray, FloatArray, BoolArray]:
    """Every order's first crossing on ``path`` after row ``start`` (``here``: row ``start`` itself too),
    module docstring: its segment ``row``, fraction ``tau`` (``row == path.rows``: never crossed) and
    whether the mark there is the trigger itself (a crossing inside a segment, the closed form), else the
    order fills at the mark of the point (a gap: ``step``, or a path that starts beyond the trigger)."""
    rows = path.rows
    first_row = start if here else start + 1
    marks = path.marks[first_row:, orders.sym]  # (R, O)
    hit = orders.direction * (marks - orders.trigger) >= 0.0
    crossed = hit.any(axis=0)
    k = np.where(crossed, np.argmax(hit, axis=0) + first_row, rows).astype(np.intp)
    tau = np.ones(orders.n)
    at_trigger = np.zeros(orders.n, dtype=bool)
    if step:
        return k, tau, at_trigger
    inner = crossed & (k > 0) & ~(here & (k == start))  # on segment k: the closed form
    kk = k[inner]
    m0 = path.marks[kk - 1, orders.sym[inner]]
    m1 = path.marks[kk, orders.sym[inner]]
    # m0 short of the trigger (else crossed at the segment's start: τ = 0, at the mark there)
    before = orders.direction[inner] * (m0 - orders.trigger[inner]) < 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        tau[inner] = np.where(before, np.clip((orders.trigger[inner] - m0) / (m1 - m0), 0.0, 1.0), 0.0)
    at_trigger[inner] = before
    return k, tau, at_trigger
