"""The ``portfolio`` view of an account (format §6.4): one USD pool, risk units, the §6.4 JSON.

:func:`portfolio_book` turns a resolved account on a market snapshot into the arrays of
:mod:`margin.portfolio_margin` (its one model of the view); :func:`evaluate_portfolio_view` evaluates it and
:meth:`PortfolioView.to_dict` writes the view as ``evaluate`` prints it.

USD prices (§6.4): 1 for USD-like assets; else ``index_prices[A]``, which defaults to the mark of the first
symbol of ``prices``, then of the positions, whose base is A and whose quote is USD-like. On a moved market
an index price moves with its base (:func:`_index_ratio`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .instruments import parse_symbol
from .market import MarketSnapshot
from .option_legs import USD_LIKE
from .options import YEAR_DAYS, is_option_symbol
from .portfolio import Resolved
from .portfolio_margin import (
    Assets,
    Book,
    Legs,
    LegSpec,
    PortfolioMarginParams,
    PortfolioResult,
    evaluate_portfolio,
    risk_unit_order,
)
from .states import pool_row_state

FloatArray = npt.NDArray[np.float64]

VIEW = "portfolio"


def _usd_like(asset: str) -> bool:
    return asset.upper() in USD_LIKE


def _default_price(resolved: Resolved, market: MarketSnapshot, asset: str) -> float | None:
    """The mark of the first symbol of ``prices``, then of the positions, whose base is ``asset`` and whose quote
    is USD-like (§6.4): on ``market`` when a position holds it (so shocked with it), else the file's price."""
    pf = resolved.portfolio
    for symbol in dict.fromkeys([*pf.prices, *(p.symbol for p in pf.positions)]):
        inst = parse_symbol(symbol)
        if inst is None or inst.base != asset or not _usd_like(inst.quote):
            continue
        price = market.marks.get(symbol, pf.prices.get(symbol))
        if price is not None:
            return float(price)
    return None


def _index_ratio(resolved: Resolved, market: MarketSnapshot, base: str) -> float:
    """How far ``base``'s index price has moved on ``market`` (§6.5: a shock of the base moves its option forwards
    and its index price with its futures): the ratio of its options' forwards to the file's (options move only with
    their base: a shock naming an option is refused), else the one ratio all its futures share, else 1 (a shock of
    one symbol alone is not a move of the base)."""
    for o in resolved.option_legs:
        if o.option.base == base:
            return market.marks[o.symbol] / resolved.marks[o.symbol]
    ratios = {
        market.marks[leg.position.symbol] / resolved.marks[leg.position.symbol]
        for leg in resolved.legs
        if leg.instrument.base == base
    }
    if not ratios:
        return 1.0
    lo, hi = min(ratios), max(ratios)
    return lo if hi - lo <= 1e-12 * hi else 1.0


def with_live_marks(resolved: Resolved, marks: Mapping[str, float]) -> MarketSnapshot:
    """The file's market with live futures ``marks`` (symbol → price), each option's forward moved with its base
    (the ratio of the base's first future's new mark to the file's; kept where the base has no future): a venue's
    mark of an option is its premium, never its forward (format §6.1), so option columns are not read live."""
    futures = {s: float(p) for s, p in marks.items() if not is_option_symbol(s)}
    moved = dict(futures)
    for o in resolved.option_legs:
        ref = next(
            (
                leg.position.symbol
                for leg in resolved.legs
                if leg.instrument.base == o.option.base and leg.position.symbol in futures
            ),
            None,
        )
        if ref is not None:
            moved[o.symbol] = resolved.marks[o.symbol] * futures[ref] / resolved.marks[ref]
    return resolved.market.with_marks(moved)


def usd_prices(resolved: Resolved, market: MarketSnapshot, assets: list[str]) -> dict[str, float | None]:
    """The USD price of each asset on ``market`` (§6.4), ``None`` when it has none."""
    out: dict[str, float | None] = {}
    index = resolved.portfolio.index_prices
    for asset in assets:
        if _usd_like(asset):
            out[asset] = 1.0
        elif asset in index:
            out[asset] = float(index[asset]) * _index_ratio(resolved, market, asset)
        else:
            out[asset] = _default_price(resolved, market, asset)
    return out


@dataclass(frozen=True)
class PortfolioInputs:
    """The kernel's book plus what the JSON needs to name positions and assets."""

    book: Book | None
    params: PortfolioMarginParams
    #: per position (input order): index in ``book.legs`` or −1 when its asset or base is unpriced
    leg_of_position: tuple[int, ...]
    usd: dict[str, float | None]
    unpriced: tuple[str, ...]


def portfolio_book(resolved: Resolved, market: MarketSnapshot | None = None) -> PortfolioInputs:
    """The account on ``market`` (default the file's) as :mod:`margin.portfolio_margin` arrays (§6.4)."""
    mkt = resolved.market if market is None else market
    params = resolved.portfolio_params
    pf = resolved.portfolio
    backing = pf.collateral_assets
    options = resolved.option_legs
    bases = [leg.instrument.base for leg in resolved.legs] + [leg.option.base for leg in options]
    settles = [leg.settle for leg in resolved.legs] + [leg.option.settle for leg in options]
    asset_names = list(dict.fromkeys([*(a for a in pf.collateral if a not in backing), *settles]))
    usd = usd_prices(resolved, mkt, list(dict.fromkeys([*asset_names, *bases])))
    unpriced = tuple(a for a in asset_names if usd[a] is None)
    priced_assets = [a for a in asset_names if usd[a] is not None]
    coins = [a for a in priced_assets if not _usd_like(a) and float(pf.collateral.get(a, 0.0)) != 0.0]
    order = sorted(
        [(leg.index, "f", k) for k, leg in enumerate(resolved.legs)]
        + [(leg.index, "o", k) for k, leg in enumerate(options)]
    )
    ok_bases = [b for b in (bases[k] if t == "f" else bases[len(resolved.legs) + k] for _, t, k in order)]
    units = risk_unit_order([b for b in ok_bases if usd.get(b) is not None], coins)
    unit_index = {u: i for i, u in enumerate(units)}
    asset_index = {a: i for i, a in enumerate(priced_assets)}
    days = mkt.days
    specs: list[LegSpec] = []
    leg_of: list[int] = [-1] * resolved.n_positions
    for index, kind, k in order:
        if kind == "f":
            leg = resolved.legs[k]
            base, settle = leg.instrument.base, leg.settle
            if base not in unit_index or settle not in asset_index:
                continue
            leg_of[index] = len(specs)
            specs.append(
                LegSpec(
                    unit=unit_index[base],
                    settle=asset_index[settle],
                    side=float(leg.position.sign),
                    contracts=float(leg.position.contracts),
                    contract_size=leg.contract_size,
                    price=float(mkt.marks[leg.position.symbol]),
                    coin_settled=leg.instrument.inverse,
                    entry=float(leg.position.entry_price),
                )
            )
        else:
            o = options[k]
            base, settle = o.option.base, o.option.settle
            if base not in unit_index or settle not in asset_index:
                continue
            leg_of[index] = len(specs)
            t = (o.option.expiry - resolved.options.as_of).total_seconds() / 86400.0 if resolved.options else 0.0
            specs.append(
                LegSpec(
                    unit=unit_index[base],
                    settle=asset_index[settle],
                    side=1.0 if o.side == "long" else -1.0,
                    contracts=o.contracts,
                    contract_size=o.contract_size,
                    price=float(mkt.marks[o.symbol]),
                    coin_settled=o.option.coin_settled,
                    is_option=True,
                    strike=o.option.strike,
                    is_call=o.option.is_call,
                    iv=o.iv * (1.0 + float(mkt.vol_moves.get(base, 0.0))),
                    t=(t - days) / YEAR_DAYS,
                )
            )
    balance = np.array([float(pf.collateral.get(a, 0.0)) for a in priced_assets], dtype=np.float64)
    for name, ca in backing.items():  # counted as the collateral extension counts them, in their pool's asset
        if ca.pool in asset_index:
            price = float(mkt.collateral_prices.get(name, ca.price))
            balance[asset_index[ca.pool]] += float(pf.collateral[name]) * price * (1.0 - ca.haircut)
    prices = [float(usd[a] or 0.0) for a in priced_assets]
    assets = Assets(
        names=tuple(priced_assets),
        balance=balance,
        price=np.array(prices, dtype=np.float64),
        haircut=np.array([params.haircut(a) for a in priced_assets], dtype=np.float64),
        unit=np.array([unit_index.get(a, -1) for a in priced_assets], dtype=np.intp),
    )
    unit_price = np.array([float(usd[u] or 0.0) for u in units], dtype=np.float64)
    book = Book(units, unit_price, Legs.from_specs(specs), assets)
    return PortfolioInputs(book, params, tuple(leg_of), usd, unpriced)


@dataclass(frozen=True, eq=False)
class PortfolioView:
    """The ``portfolio`` view evaluated: the kernel's result and the account it came from."""

    resolved: Resolved
    market: MarketSnapshot
    inputs: PortfolioInputs
    result: PortfolioResult

    @property
    def available(self) -> float:
        return self.result.equity - self.result.initial_margin

    def pool(self) -> dict[str, object]:
        """The one pool (§6.4): the fields of §4 plus ``options_value``, ``risk_units``, ``unpriced_assets``."""
        r = self.result
        ratio = r.margin_ratio
        held = self.resolved.n_positions > 0
        liquidated = bool(held and r.liquidated)
        return {
            "settle": "USD",
            "mode": "portfolio",
            "position": None,
            "equity": r.equity,
            "wallet_balance": r.breakdown.wallet_balance,
            "unrealized_pnl": r.breakdown.unrealized_pnl,
            "options_value": r.breakdown.options_value,
            "initial_margin": r.initial_margin,
            "maintenance_margin": r.maintenance_margin,
            "margin_ratio": ratio,
            "available": self.available,
            "liquidated": liquidated,
            "state": pool_row_state(ratio, liquidated, held, self.resolved.alert_levels),
            "risk_units": [u.to_dict() for u in r.units],
            "unpriced_assets": list(self.inputs.unpriced),
        }

    def unit_move(self, base: str) -> float | None:
        """The liquidation move of ``base``'s risk unit nearer to 0 (§6.4), ``None`` when neither exists."""
        for u in self.result.units:
            if u.underlying == base:
                moves = [m for m in (u.liquidation_move_down, u.liquidation_move_up) if m is not None]
                return min(moves, key=abs) if moves else None
        return None

    def positions(self, standard: list[dict[str, object]]) -> list[dict[str, object]]:
        """Each position in this view (§6.4), from its row in a standard view (``standard``, input order):
        amounts in USD at its asset's USD price (before haircuts), own margins and bankruptcy ``null``, the
        liquidation price at its unit's nearer move."""
        out: list[dict[str, object]] = []
        liquidated = bool(self.pool()["liquidated"])
        for i, row in enumerate(standard):
            new = dict(row)
            new.pop("orders", None)
            symbol = str(row["symbol"])
            base, settle = _base_settle(symbol)
            rate = self.inputs.usd.get(settle)
            priced = self.inputs.leg_of_position[i] >= 0 and rate is not None
            for key in ("notional", "unrealized_pnl", "value"):
                if key in new and new[key] is not None:
                    new[key] = float(new[key]) * rate if priced and rate is not None else None  # type: ignore[arg-type]
            move = self.unit_move(base) if priced else None
            mark = float(row["mark_price"])  # type: ignore[arg-type]
            lp = None if move is None else mark * (1.0 + move)
            new.update(
                {
                    "initial_margin": None,
                    "maintenance_margin": None,
                    "mmr": None,
                    "liquidation_price": lp,
                    "bankruptcy_price": None,
                    "distance_to_liquidation": None if lp is None else lp / mark - 1.0,
                    "liquidated": liquidated,
                }
            )
            out.append(new)
        return out


def _base_settle(symbol: str) -> tuple[str, str]:
    inst = parse_symbol(symbol)
    if inst is not None:
        return inst.base, inst.settle
    head, _, tail = symbol.partition(":")
    return head.split("/", 1)[0], tail.split("-", 1)[0]


def evaluate_portfolio_view(
    resolved: Resolved, market: MarketSnapshot | None = None, liquidation: bool = True
) -> PortfolioView:
    """The ``portfolio`` view of ``resolved`` on ``market`` (§6.4), liquidation moves unless ``liquidation``
    is false."""
    mkt = resolved.market if market is None else market
    inputs = portfolio_book(resolved, mkt)
    assert inputs.book is not None
    result = evaluate_portfolio(inputs.book, inputs.params, liquidation=liquidation)
    return PortfolioView(resolved, mkt, inputs, result)
