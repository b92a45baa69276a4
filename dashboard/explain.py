"""The liquidation price of one position written out with the numbers that produce it (Learn page).

Each formula is the venue's published closed form (``margin-models.md``: Binance §1.3 and §2, Bybit
§3.2, OKX §4, Hyperliquid §6), evaluated here with the engine's own inputs (pool wallet, the other
positions' maintenance and PnL, the tier at the liquidation notional), so a user can redo it by hand
and see it agree with the engine. Where no closed form exists (Deribit's size-dependent rates) the
equation (E) is shown and the engine's root is given. In a pool holding an option on the position's base
(``portfolio-format.md`` §6.3) no closed form applies: every instrument of that base in the pool moves
together and the engine finds the move by root finding; the explanation then re-checks that equity minus
maintenance is zero at that move.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from margin.engine import Book, evaluate, liquidation_prices
from margin.instruments import symbol_base
from margin.venues import binance, bybit

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Explanation:
    position: str
    view: str
    pool: str
    formula: str
    terms: list[tuple[str, str, float]]  # (symbol, meaning, value)
    substituted: str
    closed_form: float | None
    engine: float | None
    note: str
    #: in a pool holding options (§6.3): the pool's equity − maintenance at the engine's move (≈ 0), and the
    #: pool's maintenance there (its scale); ``None`` elsewhere or where no move liquidates
    recheck: float | None = None
    recheck_scale: float | None = None

    @property
    def option_pool(self) -> bool:
        """Whether the position's pool holds an option on its base (the closed form does not apply, §6.3)."""
        return self.formula.startswith(OPTION_POOL_FORMULA)


#: the equation of a pool holding options (§6.3), as the explanation shows it
OPTION_POOL_FORMULA = "equity(x) = maintenance(x)"


def moved_marks(book: Book, base: str, move: float) -> FloatArray:
    """The book's marks with every symbol of ``base`` (futures marks and option forwards) moved by ``move``
    (format §6.3: the instruments of B move together, all else held)."""
    marks = book.marks.copy()
    cols = [c for c, sym in enumerate(book.symbols) if symbol_base(sym) == base]
    marks[cols] *= 1.0 + move
    return marks


def pool_gap(book: Book, marks: FloatArray, pool: int) -> tuple[float, float, float]:
    """Equity, maintenance and equity − maintenance of ``pool`` at ``marks`` (the engine's evaluation: option
    values in equity, short options' standard margin in maintenance, §6.2, §6.3)."""
    ev = evaluate(book, marks[None, :])
    eq, mm = float(ev.pool_equity[0, pool]), float(ev.pool_maintenance[0, pool])
    return eq, mm, eq - mm


def _pool_has_option(book: Book, pool: int, base: str) -> bool:
    opt = book.options
    if opt is None:
        return False
    return any(int(g) == pool and b == base for g, b in zip(opt.pool.tolist(), opt.arrays.bases(), strict=True))


def _option_pool(book: Book, i: int, engine_lp: float | None, pool_name: str, wb: float) -> Explanation:
    """Position ``i`` in a pool that holds an option on its base: no closed form (§6.3); the engine's root and
    the re-check of the trigger at that move."""
    leg = book.resolved.legs[i]
    pool = int(book.pool[i])
    base = str(symbol_base(leg.position.symbol))
    opt = book.options
    assert opt is not None
    n_opt = sum(1 for g, b in zip(opt.pool.tolist(), opt.arrays.bases(), strict=True) if g == pool and b == base)
    terms: list[tuple[str, str, float]] = [
        ("WB", "wallet balance of the pool (collateral after premiums, without unrealised PnL)", wb),
        ("n", f"options on {base} in the pool (their values count in equity, §6.2)", float(n_opt)),
        ("P₀", "the position's mark now", leg.mark),
    ]
    recheck: float | None = None
    scale: float | None = None
    substituted = ""
    if engine_lp is not None:
        x = engine_lp / leg.mark - 1.0
        eq, mm, gap = pool_gap(book, moved_marks(book, base, x), pool)
        recheck, scale = gap, mm
        terms += [
            ("x", f"the move of every {base} instrument at the crossing: LP / P₀ − 1", x),
            ("equity(x)", "pool equity at that move (wallet + futures PnL + option values)", eq),
            ("maintenance(x)", "pool maintenance at that move (futures tiers + short options' margin)", mm),
            ("equity − maintenance", "at the crossing: zero up to rounding", gap),
        ]
        substituted = (
            f"LP = P₀·(1 + x) = {leg.mark:,.8g} × (1 {x:+.6%}) = {engine_lp:,.8g}; equity − maintenance = {gap:.3g}"
        )
    return Explanation(
        leg.position.label,
        book.view,
        pool_name,
        f"{OPTION_POOL_FORMULA}: every {base} instrument of the pool (futures marks and option forwards) moves "
        "by x, all else held   (portfolio-format.md §6.3)",
        terms,
        substituted,
        None,
        engine_lp,
        f"The pool holds options on {base}: their value and margin are not linear in the price, so no closed "
        "form gives the liquidation price. The engine scans the move x outwards from 0 on both sides (an options "
        "book can lose both ways) and refines the nearest crossing by root finding; the position's liquidation "
        "price is its own price at that move. The table re-checks the trigger there.",
        recheck,
        scale,
    )


@dataclass(frozen=True)
class _Tier:
    """The margin model's terms of one position on the tier segment of one notional."""

    rate: float  # maintenance rate of the tier (without the fee)
    amount: float  # maintenance amount (cum, deduction) of the tier
    fee: float  # fee rate reserved in the trigger
    per_size: float  # rate growth per unit of size (Deribit)


def _tier(book: Book, j: int, notional: float) -> _Tier:
    """Terms of position ``j`` at the tier of ``notional``, as the book's margin model states them."""
    idx = np.array([j])
    k = book.tiers.index(book.sym[idx], np.array([notional]))
    t = book.model.terms(book, idx, k)
    return _Tier(float(t.rate[0]), float(-t.constant[0]), float(t.fee[0]), float(t.per_size[0]))


def explain(book: Book, i: int) -> Explanation:
    """Explain position ``i``'s liquidation price in ``book``'s view."""
    ev = evaluate(book)
    lv = liquidation_prices(book, ev)
    engine = float(lv.liquidation[0, i])
    engine_lp = engine if math.isfinite(engine) else None
    res = book.resolved
    leg = res.legs[i]
    pool = int(book.pool[i])
    pool_name = f"{book.pool_settle[pool]} {book.pool_mode[pool]}"
    same = [j for j in range(book.n_positions) if int(book.pool[j]) == pool and int(book.sym[j]) == int(book.sym[i])]
    others = [j for j in range(book.n_positions) if int(book.pool[j]) == pool and j not in same]
    wb = float(book.pool_wallet[pool])
    tmm = float(sum(ev.maintenance[0, j] for j in others))
    upnl = float(sum(ev.upnl[0, j] for j in others))
    probe = engine_lp if engine_lp is not None else leg.mark
    s = leg.position.sign
    q = leg.size
    ep = leg.position.entry_price
    terms: list[tuple[str, str, float]] = [
        ("WB", "wallet balance of the pool (collateral without unrealised PnL)", wb),
        ("TMM₁", "maintenance margin of the pool's other positions, at their marks", tmm),
        ("UPNL₁", "unrealised PnL of the pool's other positions, at their marks", upnl),
    ]
    if _pool_has_option(book, pool, str(symbol_base(leg.position.symbol))):
        return _option_pool(book, i, engine_lp, pool_name, wb)
    venue = res.venue
    if book.tiers.mmr_per_size[int(book.sym[i])].any():
        return Explanation(
            leg.position.label,
            book.view,
            pool_name,
            "equity(P) = maintenance(P): WB + UPNL₁ + UPNL(P) = TMM₁ + N(P)·(mmr + k·n(P))",
            terms,
            "",
            None,
            engine_lp,
            "Deribit's maintenance rate grows with the position's size, so the equation is quadratic; "
            "the engine solves it exactly (margin-models.md §5.1).",
        )
    if bool(book.at_entry[i]):
        # the model values this position's maintenance at entry: its rate and the tier's deduction
        mm = float(book.mm_entry[i])
        rate = float(book.mmr_entry[i])
        deduction = leg.entry_notional * rate - mm
        iso = leg.isolated_margin
        terms = [
            ("IM+extra", "isolated margin of the position", iso),
            ("Q", "size", q),
            ("EP", "entry price", ep),
            ("MMR", "maintenance rate of the tier at the ENTRY notional", rate),
            ("D", "MM deduction of that tier", deduction),
            ("MM", "Q·EP·MMR − D", mm),
        ]
        if leg.instrument.inverse:
            cf = bybit.isolated_inverse_liquidation_price(int(s), q, ep, iso, rate, deduction)
            formula = "LP = Q / (Q/EP + s·(IM − MM))   (Bybit isolated inverse, MM at entry, §3.3)"
        else:
            cf = bybit.isolated_linear_liquidation_price(int(s), q, ep, iso, rate, deduction)
            formula = "LP = EP − s·(IM + extra − MM)/Q   (Bybit isolated linear, MM at entry, §3.2)"
        return Explanation(
            leg.position.label,
            book.view,
            pool_name,
            formula,
            terms,
            f"s = {s:+.0f}, Q = {q:g}, EP = {ep:g}, IM = {iso:,.6g}, MM = {mm:,.6g}",
            cf if cf > 0 else None,
            engine_lp,
            "Bybit values isolated maintenance at the entry notional, not at the liquidation price.",
        )
    t = _tier(book, i, q / probe if leg.instrument.inverse else q * probe)
    fee = t.fee
    legs = {j: res.legs[j] for j in same}
    terms += [
        ("Q", "size (contracts × contract size)", q),
        ("EP", "entry price", ep),
        ("MMR", "maintenance rate of the tier at the liquidation notional", t.rate),
        ("cum", "maintenance amount of that tier", t.amount),
    ]
    if fee:
        terms.append(("fee", "taker fee reserved to close (counted in the trigger)", fee))
    if len(legs) == 2:
        j_long = next(j for j, lg in legs.items() if lg.position.sign > 0)
        j_short = next(j for j, lg in legs.items() if lg.position.sign < 0)
        long_leg, short_leg = legs[j_long], legs[j_short]

        def tier_of(j: int) -> tuple[float, float]:
            lg = legs[j]
            tt = _tier(book, j, lg.size / probe if lg.instrument.inverse else lg.size * probe)
            return tt.rate + tt.fee, tt.amount

        (ml, cl), (ms, cs) = tier_of(j_long), tier_of(j_short)
        if leg.instrument.inverse:
            cf = binance.coinm_liquidation_price(
                wb,
                tmm,
                upnl,
                1.0,
                long=binance.Leg(1, long_leg.size, long_leg.position.entry_price, ml, cl),
                short=binance.Leg(-1, short_leg.size, short_leg.position.entry_price, ms, cs),
            )
            formula = (
                "LP = (Pos_L·MMR_L + Pos_S·MMR_S + Pos_L − Pos_S) / (WB − TMM₁ + UPNL₁ + cum_L + cum_S "
                "+ Pos_L/EP_L − Pos_S/EP_S)   (Binance COIN-M, hedge, §2; sizes in USD)"
            )
        else:
            cf = binance.usdm_liquidation_price(
                wb,
                tmm,
                upnl,
                long=binance.Leg(1, long_leg.size, long_leg.position.entry_price, ml, cl),
                short=binance.Leg(-1, short_leg.size, short_leg.position.entry_price, ms, cs),
            )
            formula = (
                "LP = (WB − TMM₁ + UPNL₁ + cum_L + cum_S − Pos_L·EP_L + Pos_S·EP_S) / "
                "(Pos_L·MMR_L + Pos_S·MMR_S − Pos_L + Pos_S)   (Binance USDⓈ-M, hedge: the long and the "
                "short share one price, §1.3)"
            )
        substituted = (
            f"long {long_leg.size:g} @ {long_leg.position.entry_price:g} (MMR {ml:.4%}, cum {cl:g}); "
            f"short {short_leg.size:g} @ {short_leg.position.entry_price:g} (MMR {ms:.4%}, cum {cs:g})"
        )
    else:
        mmr = t.rate + fee
        if leg.instrument.inverse:
            both = binance.Leg(int(s), q, ep, mmr, t.amount)
            cf = binance.coinm_liquidation_price(wb, tmm, upnl, 1.0, both=both)
            formula = "LP = Q·(MMR + s) / (WB − TMM₁ + UPNL₁ + cum + s·Q/EP)   (inverse, §2; Q in USD)"
            substituted = (
                f"= {q:g}·({mmr:.6g} {s:+.0f}) / ({wb:,.8g} − {tmm:,.8g} + {upnl:,.8g} + "
                f"{t.amount:g} {s:+.0f}·{q:g}/{ep:g})"
            )
        else:
            cf = binance.usdm_liquidation_price(wb, tmm, upnl, both=binance.Leg(int(s), q, ep, mmr, t.amount))
            formula = (
                "LP = (WB − TMM₁ + UPNL₁ + cum − s·Q·EP) / (Q·(MMR − s))   (linear, §1.3; the fee is added "
                "to MMR on OKX)"
            )
            substituted = (
                f"= ({wb:,.2f} − {tmm:,.2f} + {upnl:,.2f} + {t.amount:g} − ({s:+.0f})·{q:g}·{ep:g})"
                f" / ({q:g}·({mmr:.6g} − ({s:+.0f})))"
            )
    note = (
        "The tier is the one of the notional AT the liquidation price (bracket consistency, §1.3). "
        f"Venue preset: {venue.name}."
    )
    if venue.name == "hyperliquid":
        note += " Hyperliquid's rate is 1/(2 × max leverage) with tier deductions (§6); the same equation."
    net = sum(lg.position.sign * lg.size for lg in legs.values())
    if cf > 0 and math.isfinite(cf) and net * (cf - leg.mark) > 0:
        # a root on the profit side of the pool's net exposure in the symbol (a hedge pair whose maintenance
        # outgrows its net PnL at extreme prices): format §2 reports the loss side only, as the engine does
        note += (
            f" The closed form's root {cf:,.6g} lies on the profit side of the net position "
            f"({net:+g}); the liquidation price is the crossing on the loss side, and there is none."
        )
        cf = math.nan
    return Explanation(
        leg.position.label,
        book.view,
        pool_name,
        formula,
        terms,
        substituted,
        cf if cf > 0 and math.isfinite(cf) else None,
        engine_lp,
        note,
    )
