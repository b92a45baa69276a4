"""Readable scalar reference of the engine: one position, one pool, plain Python floats.

These functions say what the array path (:mod:`margin.engine`) computes, one number at a time, and a
property test holds the two equal to 1e-9 relative. The liquidation price here uses the method of
``margin-models.md`` §1.3 ("bracket consistency"): for every combination of tiers of the positions
of one symbol in the pool, solve equation (E) of §0.1 in closed form and keep the solutions whose
notionals fall in the tiers assumed. (The array path instead sweeps the segments between tier
boundaries; the two methods must agree.)
"""

from __future__ import annotations

import itertools
import math
import sys
from dataclasses import dataclass

from .engine import CANCELLATION_ULPS, PRICE_RTOL, Book


@dataclass(frozen=True)
class PositionValues:
    notional: float
    upnl: float
    mmr: float
    maintenance: float
    initial: float


def notional(size: float, price: float, inverse: bool) -> float:
    """``size × P`` (linear, quote) or ``size / P`` (inverse, coin): ``margin-models.md`` §0."""
    return size / price if inverse else size * price


def unrealized_pnl(side: float, size: float, entry: float, price: float, inverse: bool) -> float:
    """Linear ``s·Q·(P − EP)``; inverse ``s·Q·(1/EP − 1/P)`` in coin (§0, UPNL)."""
    return side * size * (1 / entry - 1 / price) if inverse else side * size * (price - entry)


def position_values(book: Book, i: int, price: float) -> PositionValues:
    """Notional, UPNL, maintenance rate and margin, initial margin of position ``i`` at ``price``."""
    res = book.resolved
    leg = res.legs[i]
    inv = leg.instrument.inverse
    table = res.tables[leg.position.symbol]
    n = notional(leg.size, price, inv)
    pnl = unrealized_pnl(leg.position.sign, leg.size, leg.position.entry_price, price, inv)
    size_coin = n if inv else leg.size
    tier = table.tier(n)
    if bool(book.at_entry[i]):
        mmr, mm = float(book.mmr_entry[i]), float(book.mm_entry[i])
    else:
        mmr = tier.mmr + tier.mmr_per_size * size_coin
        mm = n * mmr - tier.maint_amount
    mm += float(book.fee[i]) * n
    if bool(book.isolated[i]):
        im = leg.isolated_margin
    elif tier.imr is not None:
        im = n * (tier.imr + tier.imr_per_size * size_coin)
    else:
        im = n / (leg.leverage or 1.0)
    return PositionValues(n, pnl, mmr, mm, im)


def members(book: Book, pool: int) -> list[int]:
    return [i for i in range(book.n_positions) if int(book.pool[i]) == pool]


def pool_values(book: Book, pool: int, prices: list[float]) -> tuple[float, float, float]:
    """Equity (wallet + Σ UPNL), maintenance and initial margin of ``pool`` at symbol ``prices``."""
    equity = float(book.pool_wallet[pool])
    mm = im = 0.0
    for i in members(book, pool):
        v = position_values(book, i, prices[int(book.sym[i])])
        equity += v.upnl
        mm += v.maintenance
        im += v.initial
    return equity, mm, im


def _leg_terms(book: Book, i: int, tier_index: int | None, inverse: bool) -> tuple[float, float, float]:
    """Coefficients (a, b, c) of position ``i``'s ``UPNL − MM`` as ``a + b·x + c·x²``.

    ``x = P`` for linear contracts and ``x = 1/P`` for inverse ones; ``tier_index`` ``None`` means no
    maintenance (bankruptcy). Derivation, with N = q·x (both kinds), s = side, q = size:
    linear UPNL = s·q·x − s·q·EP; inverse UPNL = s·q/EP − s·q·x;
    MM = N·(m + k·size_coin) − cum + fee·N, size_coin = q (linear) or N (inverse).
    """
    leg = book.resolved.legs[i]
    s, q, ep = float(leg.position.sign), leg.size, leg.position.entry_price
    a, b, c = (s * q / ep, -s * q, 0.0) if inverse else (-s * q * ep, s * q, 0.0)
    if tier_index is None:
        return a, b, c
    fee = float(book.fee[i])
    if bool(book.at_entry[i]):
        return a - float(book.mm_entry[i]), b - fee * q, c
    tier = book.resolved.tables[leg.position.symbol].tiers[tier_index]
    a += tier.maint_amount
    b -= q * (tier.mmr + fee)
    if inverse:
        c -= tier.mmr_per_size * q * q
    else:
        b -= tier.mmr_per_size * q * q
    return a, b, c


def _roots(a: float, b: float, c: float) -> list[float]:
    """Real roots of ``a + b·x + c·x²``, in the form that avoids cancellation (Press et al., Numerical
    Recipes §5.6: q = −(b + sign(b)·√disc)/2, roots q/c and a/q)."""
    if c == 0:
        return [] if b == 0 else [-a / b]
    disc = b * b - 4 * a * c
    if disc < 0:
        return []
    q = -0.5 * (b + math.copysign(math.sqrt(disc), b))
    if q == 0:
        return [0.0]
    return [q / c, a / q]


def liquidation_price(book: Book, i: int, prices: list[float] | None = None, maintenance: bool = True) -> float | None:
    """Liquidation (or, with ``maintenance=False``, bankruptcy) price of position ``i``.

    Format §2: the price of its symbol at which its pool's equity meets the trigger, other prices
    held, the tier of the notional at that price; loss side of the pool's net exposure (nearest
    crossing either way when flat or already past the trigger); ``None`` when there is none.
    """
    marks = [float(p) for p in (prices if prices is not None else book.marks)]
    pool, sym = int(book.pool[i]), int(book.sym[i])
    inverse = bool(book.symbol_inverse[sym])
    group = [j for j in members(book, pool) if int(book.sym[j]) == sym]
    others = [j for j in members(book, pool) if int(book.sym[j]) != sym]
    const = float(book.pool_wallet[pool])
    const_abs = abs(const)
    for j in others:
        v = position_values(book, j, marks[int(book.sym[j])])
        const += v.upnl - (v.maintenance if maintenance else 0.0)
        const_abs += abs(v.upnl) + (abs(v.maintenance) if maintenance else 0.0)
    for j in group:  # the group's own terms at the marks enter the scale of the cancellation test too
        v = position_values(book, j, marks[sym])
        const_abs += abs(v.upnl) + (abs(v.maintenance) if maintenance else 0.0)
    table = book.resolved.tables[book.symbols[sym]]
    choices: list[list[int | None]] = []
    for j in group:
        if not maintenance or bool(book.at_entry[j]):
            choices.append([None if not maintenance else 0])
        else:
            choices.append(list(range(len(table.tiers))))
    roots: list[float] = []
    for combo in itertools.product(*choices):
        a, b, c = const, 0.0, 0.0
        a_abs = const_abs
        for j, k in zip(group, combo, strict=True):
            ta, tb, tc = _leg_terms(book, j, k, inverse)
            a, b, c = a + ta, b + tb, c + tc
            a_abs += abs(ta)
        if abs(a) <= CANCELLATION_ULPS * sys.float_info.epsilon * a_abs:
            a = 0.0  # rounding residue of cancelling terms: the crossing is at P = 0 (or ∞), no price
        for x in _roots(a, b, c):
            if not (x > 0 and math.isfinite(x)):
                continue
            consistent = True
            for j, k in zip(group, combo, strict=True):
                if k is None or bool(book.at_entry[j]):
                    continue
                n = book.resolved.legs[j].size * x
                tier = table.tiers[k]
                lo_ok = n >= tier.min_notional * (1 - 1e-12)
                hi_ok = k == len(table.tiers) - 1 or n <= table.tiers[k + 1].min_notional * (1 + 1e-12)
                consistent = consistent and lo_ok and hi_ok
            if consistent:
                roots.append(1 / x if inverse else x)
    mark = marks[sym]
    equity, mm, _ = pool_values(book, pool, marks)
    f0 = equity - (mm if maintenance else 0.0)
    delta = sum(float(book.sign[j]) * float(book.size[j]) for j in group)
    if f0 > 0 and delta > 0:
        pool_roots = [r for r in roots if r < mark * (1 + PRICE_RTOL)]
    elif f0 > 0 and delta < 0:
        pool_roots = [r for r in roots if r > mark * (1 - PRICE_RTOL)]
    else:
        pool_roots = roots
    if not pool_roots:
        return None
    return min(pool_roots, key=lambda r: abs(r - mark))
