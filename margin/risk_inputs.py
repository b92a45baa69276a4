"""Inputs of the probability of liquidation: their limits, their checks, and problems that name parameters.

The core takes typed values (``horizon_hours`` an int, ``vols`` a mapping of asset to annualised
volatility) and reports a bad one as a :class:`ParameterProblem` naming the PARAMETER (``horizon_hours``,
``vols['BTC']``). A front end that spells the parameter otherwise (the command line's ``--horizon``,
``--vol BTC``: :mod:`margin.cli_args`) re-renders the same problem with its own :class:`Naming`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeGuard

import numpy as np

from .errors import Problem
from .portfolio import Resolved

DEFAULT_PATHS = 10_000
MAX_PATHS = 200_000
MAX_HORIZON_HOURS = 8760
MAX_VOL = 10.0
MODELS: tuple[str, ...] = ("bootstrap", "student-t", "gbm")
#: where a rule suggests a setting of a parameter (rendered by the :class:`Naming` in force)
SETTING = "{setting}"


@dataclass(frozen=True)
class Naming:
    """How a front end spells a parameter: ``label(parameter, key)`` names it (``key``: one entry of a
    mapping parameter, e.g. the asset of ``vols``); ``setting(parameter, key, value)`` shows it set."""

    label: Callable[[str, str | None], str]
    setting: Callable[[str, str | None, str], str]


def _core_label(parameter: str, key: str | None) -> str:
    return parameter if key is None else f"{parameter}[{key!r}]"


def _core_setting(parameter: str, key: str | None, value: str) -> str:
    return f"{_core_label(parameter, key)}={value}"


#: the core's own spelling: ``horizon_hours``, ``vols['BTC']``, ``vols['SUI']=0.9``
CORE_NAMING = Naming(_core_label, _core_setting)


@dataclass(frozen=True)
class ParameterProblem(Problem):
    """A :class:`~margin.errors.Problem` about a parameter, rendered with :data:`CORE_NAMING`; :meth:`named`
    renders it for another front end. ``about`` replaces the parameter as the subject of the message
    (``asset SUI has no price history``); ``template`` is the rule with :data:`SETTING` where it suggests
    ``suggestion`` as the parameter's value."""

    parameter: str = ""
    key: str | None = None
    about: str | None = None
    template: str = ""
    suggestion: str = ""

    def named(self, naming: Naming) -> Problem:
        """The same problem with the parameter spelled by ``naming``."""
        path = self.about if self.about is not None else naming.label(self.parameter, self.key)
        rule = self.template.replace(SETTING, naming.setting(self.parameter, self.key, self.suggestion))
        return Problem(path, rule, self.value, self.show_value)


def parameter_problem(
    parameter: str,
    template: str,
    value: object = None,
    *,
    key: str | None = None,
    about: str | None = None,
    suggestion: str = "",
    show_value: bool = True,
) -> ParameterProblem:
    """A :class:`ParameterProblem` whose ``path`` and ``rule`` are already rendered for the core."""
    path = about if about is not None else CORE_NAMING.label(parameter, key)
    rule = template.replace(SETTING, CORE_NAMING.setting(parameter, key, suggestion))
    return ParameterProblem(path, rule, value, show_value, parameter, key, about, template, suggestion)


def vol_problems(vols: Mapping[str, object]) -> list[ParameterProblem]:
    """Every entry of ``vols`` that is not an annualised volatility in ``(0, MAX_VOL]``."""
    problems = []
    for name, value in vols.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (0 < float(value) <= MAX_VOL):
            problems.append(
                parameter_problem(
                    "vols",
                    f"must be an annualised volatility in (0, {MAX_VOL:g}], as a fraction (0.6 for 60 %)",
                    value,
                    key=name,
                )
            )
    return problems


def _whole(value: object) -> TypeGuard[int | np.integer[Any]]:
    return not isinstance(value, bool) and isinstance(value, (int, np.integer))


def risk_assets(resolved: Resolved) -> list[str]:
    """The assets a ``vols`` entry may name: the positions' bases (futures, then options: format §6.1), then
    the other collateral assets."""
    coll = resolved.portfolio.collateral_assets
    bases = list(
        dict.fromkeys([*(leg.instrument.base for leg in resolved.legs), *(o.option.base for o in resolved.option_legs)])
    )
    return [*bases, *[c for c in coll if c not in bases]]


def input_problems(
    horizon_hours: object,
    paths: object,
    seed: object,
    model: object,
    vols: Mapping[str, object] | None,
    assets: Sequence[str],
) -> list[ParameterProblem]:
    """Every bad input of :func:`margin.risk.risk`, in parameter order (empty when all are valid)."""
    problems: list[ParameterProblem] = []
    if not _whole(horizon_hours) or not 1 <= int(horizon_hours) <= MAX_HORIZON_HOURS:
        problems.append(
            parameter_problem(
                "horizon_hours", f"must be a whole number of hours from 1 to {MAX_HORIZON_HOURS}", horizon_hours
            )
        )
    if not _whole(paths) or not 1 <= int(paths) <= MAX_PATHS:
        problems.append(parameter_problem("paths", f"must be an integer from 1 to {MAX_PATHS:,}", paths))
    if not _whole(seed) or int(seed) < 0:
        problems.append(parameter_problem("seed", "must be an integer >= 0", seed))
    if model not in MODELS:
        problems.append(parameter_problem("model", f"must be one of {', '.join(MODELS)}", model))
    problems.extend(vol_problems(vols or {}))
    for name in vols or {}:
        if name not in assets:
            problems.append(
                parameter_problem(
                    "vols",
                    f"names no asset of the portfolio (assets: {', '.join(assets) or 'none'})",
                    key=name,
                    show_value=False,
                )
            )
    return problems
