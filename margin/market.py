"""Market data apart from the account (OpenGamma Strata's market data, kept out of the trades).

The account is what the trader holds: positions, collateral amounts, the venue and its settings
(:class:`margin.portfolio.Resolved`). A :class:`MarketSnapshot` is what the market says at one time:
each symbol's mark, each non-settle collateral asset's price (in its pool's settle asset), when that
was, and room for volatilities and forwards. Every engine prices one account on any snapshot; a shock
is a snapshot moved (``portfolio-format.md`` §4 ``--shock``: ``P × (1 + move)``, compounding moves
combined by :func:`margin.shocks.combine`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from .errors import PortfolioError, Problem

#: price bounds (the same as the file's, ``margin.portfolio``; README "Bounds")
MIN_PRICE, MAX_PRICE = 1e-12, 1e12


@dataclass(frozen=True)
class MarketSnapshot:
    """Marks, collateral prices and their time; volatilities and forwards where known."""

    #: symbol → mark price
    marks: Mapping[str, float]
    #: non-settle collateral asset → price in the settle asset of the pool it backs
    collateral_prices: Mapping[str, float] = field(default_factory=dict)
    #: ISO-8601 UTC time the prices are taken at, when known
    as_of: str | None = None
    #: base asset → annualised volatility, when known (options, issue 11)
    volatilities: Mapping[str, float] = field(default_factory=dict)
    #: base asset → forward or index price, when known
    forwards: Mapping[str, float] = field(default_factory=dict)
    #: base asset → relative move of its options' implied volatilities (format §6.5 ``--vol-shock``)
    vol_moves: Mapping[str, float] = field(default_factory=dict)
    #: days passed since ``as_of`` (format §6.5 ``--days``)
    days: float = 0.0

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(self.marks)

    def moved(self, moves: Mapping[str, float]) -> MarketSnapshot:
        """Every mark and collateral price named in ``moves`` (symbol or collateral asset → relative
        move) multiplied by ``1 + move``; the others unchanged. A moved price outside the physical bounds
        (README "Bounds": 1e-12 to 1e12) is refused naming the shock and the symbol."""
        marks = {s: p * (1.0 + moves.get(s, 0.0)) for s, p in self.marks.items()}
        coll = {a: p * (1.0 + moves[a]) if a in moves else p for a, p in self.collateral_prices.items()}
        problems = [
            Problem(
                "--shock",
                f"moves {name} to {price:g}: prices must stay within [{MIN_PRICE:g}, {MAX_PRICE:g}]",
                None,
                False,
            )
            for name, price in (*marks.items(), *coll.items())
            if name in moves and not MIN_PRICE <= price <= MAX_PRICE
        ]
        if problems:
            raise PortfolioError(problems)
        return replace(self, marks=marks, collateral_prices=coll)

    def with_marks(self, marks: Mapping[str, float]) -> MarketSnapshot:
        """The same snapshot with some marks replaced."""
        return replace(self, marks={**self.marks, **marks})
