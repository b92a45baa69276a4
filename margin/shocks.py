"""Price shocks as data: ``TARGET=MOVE`` (``portfolio-format.md`` §4, ``--shock``).

``BTC=-20%`` moves every symbol whose base is BTC, ``BTC/USDT:USDT=-20%`` one symbol, ``ALL=-10%``
every symbol; ``-0.2`` means the same as ``-20%``. Moves compound multiplicatively. A target that
matches no symbol, a malformed move, or a move of −100 % or below is invalid input.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .errors import PortfolioError, Problem
from .instruments import parse_symbol
from .options import is_option_symbol

#: the largest move one shock may make (+100,000 %: a price × 1,001)
MAX_MOVE = 1000.0
_MOVE = re.compile(r"^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*(%?)\s*$")


@dataclass(frozen=True)
class Shock:
    """A relative move of one target (``ALL``, a base asset, or a symbol)."""

    target: str
    move: float


def parse_shock(text: str, path: str = "--shock") -> Shock:
    """``"BTC=-20%"`` → ``Shock("BTC", -0.2)``; raises :class:`PortfolioError` when malformed."""
    if "=" not in text:
        raise PortfolioError([Problem(path, "must be TARGET=MOVE (e.g. BTC=-20%)", text)])
    target, _, raw = text.rpartition("=")
    target = target.strip()
    match = _MOVE.match(raw)
    if not target:
        raise PortfolioError([Problem(path, "must name a target (ALL, a base asset or a symbol)", text)])
    if match is None:
        raise PortfolioError([Problem(path, "move must be a number or a percentage (-0.2 or -20%)", raw)])
    move = float(match.group(1)) / (100.0 if match.group(2) else 1.0)
    if not math.isfinite(move) or move <= -1.0:
        raise PortfolioError([Problem(path, "move must be above -100%", raw)])
    if move > MAX_MOVE:
        raise PortfolioError([Problem(path, f"move must be at most +{MAX_MOVE:.0%}", raw)])
    return Shock(target=target, move=move)


def matches(target: str, symbol: str) -> bool:
    """Whether ``target`` (ALL, base asset, or exact symbol) covers ``symbol``."""
    if target.upper() == "ALL" or target == symbol:
        return True
    inst = parse_symbol(symbol)
    if inst is None and is_option_symbol(symbol):  # an option's forward moves with its base (§6.5)
        return symbol.split("/", 1)[0].upper() == target.upper()
    return inst is not None and inst.base.upper() == target.upper()


def combine(shocks: Iterable[Shock], symbols: Sequence[str], collateral_assets: Sequence[str] = ()) -> dict[str, float]:
    """The compounded move of each symbol (and collateral asset) that moves: ``∏(1 + move) − 1``.

    ``BTC=-20%`` then ``ALL=-10%`` takes BTC to 0.8 × 0.9 = 0.72 of its mark (a move of −0.28). A
    collateral asset that backs a pool (format extension ``collateral_assets``) moves only when named
    exactly (``USDe=-35%``): ``ALL`` and base-asset targets move contract marks.
    """
    applied: dict[str, list[float]] = {}
    problems: list[Problem] = []
    for shock in shocks:
        if is_option_symbol(shock.target):
            problems.append(
                Problem("--shock", "must not name an option: shock its base (e.g. BTC=-20%) to move it", shock.target)
            )
            continue
        hit = [s for s in symbols if matches(shock.target, s)]
        hit += [a for a in collateral_assets if a.upper() == shock.target.upper()]
        if not hit:
            names = ", ".join([*symbols, *collateral_assets])
            problems.append(
                Problem(
                    "--shock", f"target matches no symbol or collateral asset of the portfolio ({names})", shock.target
                )
            )
        for s in hit:
            applied.setdefault(s, []).append(shock.move)
    out = {s: moves[0] if len(moves) == 1 else math.prod(1.0 + m for m in moves) - 1.0 for s, moves in applied.items()}
    for s, move in out.items():
        if not -1.0 < move <= 1e12:
            problems.append(Problem("--shock", f"moves compound to {move:+.6%} for {s}: must stay above -100%", move))
    if problems:
        raise PortfolioError(problems)
    return out
