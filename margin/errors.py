"""Validation problems and the error that carries them.

Every bad input is reported as a :class:`Problem` naming the path (file, row or JSON path), the rule
and the value found, e.g. ``positions[1].leverage must be >= 1, got 0``. A :class:`PortfolioError`
carries every problem found at once, so a user can fix a file in one pass.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


def _show(value: object) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return repr(value)
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
        if not self.show_value:
            return f"{self.path} {self.rule}".strip()
        return f"{self.path} {self.rule}, got {_show(self.value)}".strip()


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
