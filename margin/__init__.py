"""Margin Lab core: margin, equity and liquidation prices of crypto-derivatives portfolios.

Pure library: numpy (and pandas only at the edges); no UI, no network. Public API:

- model and files: :class:`Portfolio`, :class:`Position`, :func:`load_portfolio`, :func:`save_portfolio`,
  :func:`parse_portfolio_json`, :func:`dump_portfolio_json`, :func:`parse_positions_csv`,
  :func:`dump_positions_csv`, :func:`portfolio_from_dict`, :func:`portfolio_to_dict`, :func:`resolve`
- array engine: :func:`compile_book`, :func:`evaluate`, :func:`liquidation_prices`, ``VIEWS``
- reports: :func:`evaluate_portfolio`, :func:`evaluate_view`
- shocks: :class:`Shock`, :func:`parse_shock`
- tiers and venues: :class:`TierTable`, :func:`parse_tier_table`, ``VENUES``
"""

from .engine import VIEWS, Book, Evaluation, PriceLevels, compile_book, evaluate, liquidation_prices
from .errors import PortfolioError, Problem
from .files import (
    dump_portfolio_json,
    dump_positions_csv,
    load_portfolio,
    parse_portfolio_json,
    parse_positions_csv,
    portfolio_from_csv,
    save_portfolio,
)
from .instruments import Instrument, parse_symbol
from .portfolio import Leg, Portfolio, Position, Resolved, portfolio_from_dict, portfolio_to_dict, resolve, validate
from .report import ViewResult, evaluate_portfolio, evaluate_view
from .shocks import Shock, combine, parse_shock
from .tiers import Tier, TierTable, parse_tier_table
from .venues import VENUES, Venue, get_venue

__all__ = [
    "VENUES",
    "VIEWS",
    "Book",
    "Evaluation",
    "Instrument",
    "Leg",
    "Portfolio",
    "PortfolioError",
    "Position",
    "PriceLevels",
    "Problem",
    "Resolved",
    "Shock",
    "Tier",
    "TierTable",
    "Venue",
    "ViewResult",
    "combine",
    "compile_book",
    "dump_portfolio_json",
    "dump_positions_csv",
    "evaluate",
    "evaluate_portfolio",
    "evaluate_view",
    "get_venue",
    "liquidation_prices",
    "load_portfolio",
    "parse_portfolio_json",
    "parse_positions_csv",
    "parse_shock",
    "parse_symbol",
    "parse_tier_table",
    "portfolio_from_csv",
    "portfolio_from_dict",
    "portfolio_to_dict",
    "resolve",
    "save_portfolio",
    "validate",
]
