"""The liquidation trigger of every margin pool of every view: per position terms, per pool members.

Per position, ``net = UPNL − maintenance`` at mark ``P`` on one tier segment is ``α·P + β + γ/P + δ/P²``:
the margin model's segment terms (:meth:`margin.models.MarginModel.terms`, :func:`margin.models.net_terms`;
``margin-models.md`` §0.1 equation (E), §1.1 [bracket_lookup], OKX fee to close §4, Deribit size-dependent
rate §5.1, Bybit entry-valued isolated maintenance §3.2, which gives one constant segment). The tier of a
position changes where its notional crosses a floor ``F``: ``P ≥ F/q`` (linear) or ``P ≤ q/F`` (inverse).
A pool (``portfolio-format.md`` §2) is liquidated when ``wallet + Σ net ≤ 0``. No maintenance arithmetic
is written here: it all comes from the model. Pools that are the same in several views (an isolated
position, a cross pool with the same members, wallet and collateral) are listed once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .engine import Book
from .models import MaintenanceTerms, net_terms

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]


def _pick(where: BoolArray, new: MaintenanceTerms, old: MaintenanceTerms) -> MaintenanceTerms:
    """Rows ``where`` from ``new``, the rest from ``old``."""
    w = where[:, None]
    return MaintenanceTerms(
        np.where(w, new.constant, old.constant),
        np.where(w, new.rate, old.rate),
        np.where(w, new.per_size, old.per_size),
        np.where(w, new.fee, old.fee),
    )


@dataclass(frozen=True, eq=False)
class Segments:
    """``net = α·P + β + γ/P + δ/P²`` of some positions on each tier segment, in mark space.

    Rows are positions; column ``k`` of ``alpha`` … ``delta`` is tier ``k``; ``thr`` (rows, K−1) are the
    marks where tier ``j`` gives way to ``j + 1``: a linear position is on tier ``#{j: thr_j ≤ P}``, an
    inverse one on tier ``#{j: thr_j ≥ P}`` (``inf`` for a linear and ``0`` for an inverse position: never).
    """

    alpha: FloatArray
    beta: FloatArray
    gamma: FloatArray
    delta: FloatArray
    thr: FloatArray
    linear: BoolArray

    def rows(self, idx: IntArray) -> Segments:
        return Segments(
            self.alpha[idx], self.beta[idx], self.gamma[idx], self.delta[idx], self.thr[idx], self.linear[idx]
        )

    def tier(self, mark: FloatArray) -> IntArray:
        """Tier of each row at its own mark ``mark`` (rows,)."""
        m = mark[:, None]
        lin = np.sum(self.thr <= m, axis=1)
        inv = np.sum(self.thr >= m, axis=1)
        return np.asarray(np.where(self.linear, lin, inv), dtype=np.intp)

    def net(self, mark: FloatArray) -> FloatArray:
        """``net`` of each row at its own mark (rows,), on the tier of that mark."""
        k = self.tier(mark)[:, None]
        a, b, c, d = (np.take_along_axis(x, k, axis=1)[:, 0] for x in (self.alpha, self.beta, self.gamma, self.delta))
        return np.asarray(a * mark + b + c / mark + d / (mark * mark), dtype=np.float64)


class Triggers:
    """The terms and the pools behind every pool trigger of every view (module docstring).

    ``mark`` holds each position's segments with maintenance at the mark; ``entry`` its one segment with
    maintenance at entry (used by an isolated pool of a view whose model values it so: Bybit, §3.2). Unique
    pools: cross pools first (``cross_rows``: member positions, ``None`` for all; ``cross_wallet``;
    ``cross_coll``: collateral weights (n_collateral, n_cross) or ``None``), then isolated ones
    (``iso_pos``, ``iso_wallet``, ``iso_at_entry``, ``iso_view``: a view holding the pool, and
    ``iso_pool``: its pool index there). ``view_pools[view][g]`` is the unique pool of pool ``g`` (−1: no
    positions, never liquidated).
    """

    def __init__(self, books: Mapping[str, Book]) -> None:
        first = next(iter(books.values()))
        self.book = b = first
        self.books = dict(books)
        tiers = b.tiers
        self.width = tiers.width
        n, k_w = b.n_positions, tiers.width
        everyone = np.arange(n)
        all_tiers = np.broadcast_to(np.arange(k_w), (n, k_w))
        # the margin model's segment terms (margin.models.base): for each position those of a view in which
        # its maintenance follows the mark, and, where some view values it at entry, those (one segment)
        mark_terms: MaintenanceTerms | None = None
        floors = np.full((n, max(k_w - 1, 0)), np.inf)
        chosen = np.zeros(n, dtype=bool)
        entry_terms: MaintenanceTerms | None = None
        chosen_e = np.zeros(n, dtype=bool)
        for bk in books.values():
            t = bk.model.terms(bk, everyone, all_tiers)
            take = ~bk.at_entry & ~chosen
            if take.any():
                mark_terms = t if mark_terms is None else _pick(take, t, mark_terms)
                floors = np.where(take[:, None], bk.model.floors(bk, everyone), floors)
                chosen |= take
            take_e = bk.at_entry & ~chosen_e
            if take_e.any():
                first_seg = MaintenanceTerms(t.constant[:, :1], t.rate[:, :1], t.per_size[:, :1], t.fee[:, :1])
                entry_terms = first_seg if entry_terms is None else _pick(take_e, first_seg, entry_terms)
                chosen_e |= take_e
        if mark_terms is None:
            zero = np.zeros((n, k_w))
            mark_terms = MaintenanceTerms(zero, zero, zero, zero)
        q = b.size[:, None]
        lin = ~b.inverse
        net = net_terms(b.sign[:, None], q, b.entry[:, None], b.inverse[:, None], mark_terms)
        with np.errstate(divide="ignore", invalid="ignore"):
            thr = np.where(lin[:, None], floors / q, q / floors)
        self.mark = Segments(net.alpha, net.beta, net.gamma, net.delta, thr, lin)
        if entry_terms is None:
            zero1 = np.zeros((n, 1))
            entry_terms = MaintenanceTerms(zero1, zero1, zero1, zero1)
        net_e = net_terms(b.sign[:, None], q, b.entry[:, None], b.inverse[:, None], entry_terms)
        never = np.where(lin, np.inf, 0.0)[:, None] * np.ones((1, max(k_w - 1, 0)))
        widen = np.ones((1, k_w))
        self.entry = Segments(
            net_e.alpha[:, :1] * widen,
            net_e.beta[:, :1] * widen,
            net_e.gamma[:, :1] * widen,
            net_e.delta[:, :1] * widen,
            never,
            lin,
        )
        # unique pools over the views: cross pools first, then isolated ones
        self.views = tuple(books)
        cross_keys: dict[tuple[object, ...], int] = {}
        iso_keys: dict[tuple[object, ...], int] = {}
        cross_members: list[BoolArray] = []
        cross_wallet: list[float] = []
        cross_coll: list[FloatArray] = []
        iso: list[tuple[int, bool, float, str, int]] = []
        refs: dict[str, list[tuple[str, int]]] = {}
        for view, bk in books.items():
            refs[view] = []
            occupied = np.bincount(bk.pool, minlength=bk.n_pools) > 0
            for g in range(bk.n_pools):
                wallet = float(bk.pool_wallet[g])
                position = bk.pool_position[g]
                if not occupied[g]:
                    refs[view].append(("none", -1))
                elif bk.pool_mode[g] == "isolated" and position is not None:
                    key: tuple[object, ...] = (position, bool(bk.at_entry[position]), wallet)
                    if key not in iso_keys:
                        iso_keys[key] = len(iso)
                        iso.append((position, bool(bk.at_entry[position]), wallet, view, g))
                    refs[view].append(("iso", iso_keys[key]))
                else:
                    members = bk.pool == g
                    weight = bk.collateral_weight[:, g] if bk.collateral_assets else np.zeros(0)
                    key = (members.tobytes(), wallet, weight.tobytes())
                    if key not in cross_keys:
                        cross_keys[key] = len(cross_members)
                        cross_members.append(members)
                        cross_wallet.append(wallet)
                        cross_coll.append(weight)
                    refs[view].append(("cross", cross_keys[key]))
        self.n_cross = len(cross_members)
        self.n_unique = self.n_cross + len(iso)
        self.view_pools = {
            v: np.array(
                [-1 if kind == "none" else (k if kind == "cross" else self.n_cross + k) for kind, k in r], dtype=np.intp
            )
            for v, r in refs.items()
        }
        self.cross_rows = [None if bool(mm.all()) else np.flatnonzero(mm) for mm in cross_members]
        self.cross_wallet = np.array(cross_wallet, dtype=np.float64)
        self.cross_coll = np.column_stack(cross_coll) if cross_coll and cross_coll[0].size else None
        self.iso_pos = np.array([i for i, *_ in iso], dtype=np.intp)
        self.iso_at_entry = np.array([e for _, e, *_ in iso], dtype=bool)
        self.iso_wallet = np.array([w for _, _, w, *_ in iso], dtype=np.float64)
        self.iso_view = tuple(v for *_, v, _ in iso)
        self.iso_pool = np.array([g for *_, g in iso], dtype=np.intp)

    def members(self, u: int) -> tuple[IntArray, Segments]:
        """Positions of unique pool ``u`` and their segments (at entry where the pool values them so)."""
        if u < self.n_cross:
            rows = self.cross_rows[u]
            idx = np.arange(self.book.n_positions) if rows is None else rows
            return idx, self.mark.rows(idx)
        k = u - self.n_cross
        idx = self.iso_pos[k : k + 1]
        return idx, (self.entry if bool(self.iso_at_entry[k]) else self.mark).rows(idx)

    def iso_segments(self) -> Segments:
        """Segments of the isolated pools' positions, in unique-pool order (at entry where valued so)."""
        idx = self.iso_pos
        m, e = self.mark.rows(idx), self.entry.rows(idx)
        at = self.iso_at_entry[:, None]
        return Segments(
            np.where(at, e.alpha, m.alpha),
            np.where(at, e.beta, m.beta),
            np.where(at, e.gamma, m.gamma),
            np.where(at, e.delta, m.delta),
            np.where(at, e.thr, m.thr),
            m.linear,
        )

    def wallet(self, u: int) -> float:
        """Wallet of unique pool ``u`` (collateral at its current price)."""
        return float(self.cross_wallet[u] if u < self.n_cross else self.iso_wallet[u - self.n_cross])
