"""Validation problems and the error that carries them.

Every bad input is reported as a :class:`Problem` naming the path (file, row or JSON path), the rule
and the value found, e.g. ``positions[1].leverage must be >= 1, got 0``. A :class:`PortfolioError`
carries every problem found at once, so a user can fix a file in one pass.
"""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

#: most characters of a value or path a message echoes back
MAX_SHOWN = 80


def _show(value: object) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        # a value is echoed back bounded: a 20 MB string must not become a 20 MB message
        text = repr(value if len(value) <= MAX_SHOWN else value[: MAX_SHOWN - 3] + "...")
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


@dataclass(frozen=True)
class Problem:
    """One broken rule: ``<path> <rule>, got <value>``."""

    path: str
    rule: str
    value: object = None
    show_value: bool = True

    def __str__(self) -> str:
        path = self.path if len(self.path) <= 2 * MAX_SHOWN else self.path[: 2 * MAX_SHOWN - 3] + "..."
        path = path.encode("utf-8", "backslashreplace").decode("utf-8")  # no lone surrogate reaches a terminal
        if not self.show_value:
            return f"{path} {self.rule}".strip()
        return f"{path} {self.rule}, got {_show(self.value)}".strip()


class PortfolioError(ValueError):
    """Invalid input: one or more :class:`Problem` s, reported together."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...], source: str | None = None) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        self.source = source
        super().__init__(self.message)

    @property
    def message(self) -> str:
        prefix = f"{self.source}: " if self.source else ""
        lines = [str(p) for p in self.problems]
        if len(lines) == 1:
            return prefix + lines[0]
        return prefix + f"{len(lines)} problems:\n" + "\n".join(f"  - {line}" for line in lines)

    def __str__(self) -> str:
        return self.message


_NUMBER = re.compile(r"^\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,3})?\s*$", re.ASCII)


def parse_number(text: str) -> float | None:
    """A finite decimal number written in ASCII digits (``1e-3``, ``25000``), else ``None``.

    Python's ``float()`` also reads Arabic-Indic digits, ``nan``, ``inf`` and 400-digit integers; a value
    typed into a file or a flag must not become one of those silently.
    """
    if len(text) > 64 or not _NUMBER.match(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def number_rule(text: str) -> str:
    """Why ``text`` is not a number :func:`parse_number` reads."""
    try:
        value = float(text)
    except (ValueError, OverflowError):
        return "must be a number"
    if not math.isfinite(value):
        return "must be a finite number"
    if len(text) > 64:
        return "must be a number of at most 64 characters"
    return "must be a number written in ASCII digits (0-9)"


def number_flag(lo: float, hi: float, *, integer: bool = False, lo_open: bool = False) -> Callable[[str], float]:
    """An ``argparse`` type for a numeric flag: a finite ASCII number in ``[lo, hi]`` (``(lo, hi]`` with
    ``lo_open``), a whole number with ``integer``; anything else exits 2 naming the flag and the rule."""
    kind = "a whole number" if integer else "a number"
    bounds = f"{'>' if lo_open else '>='} {lo:g} and <= {hi:g}"

    def parse(text: str) -> float:
        value = parse_number(text)
        ok = value is not None and (value > lo if lo_open else value >= lo) and value <= hi
        if value is not None and integer and value != int(value):
            ok = False
        if not ok:
            shown = text if len(text) <= 40 else text[:37] + "..."
            raise argparse.ArgumentTypeError(f"must be {kind} {bounds}, got {shown!r}")
        assert value is not None
        return int(value) if integer else value

    parse.__name__ = kind
    return parse
