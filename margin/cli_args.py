"""Flags of ``python -m margin risk``: parsed here, so the core takes typed values.

``--horizon 7d`` → ``horizon_hours=168``, ``--vol BTC=0.6`` → ``vols={"BTC": 0.6}`` (``portfolio-format.md``
§5). A problem the core reports about one of its parameters (:class:`margin.risk_inputs.ParameterProblem`)
is re-rendered with the flag's name (:data:`FLAG_NAMING`: ``horizon_hours`` → ``--horizon``, ``vols['BTC']``
→ ``--vol BTC``), so the command line speaks of its flags.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .errors import PortfolioError, Problem
from .portfolio import Resolved
from .risk_inputs import MAX_HORIZON_HOURS, Naming, ParameterProblem, input_problems, risk_assets, vol_problems

#: the flag of each parameter of :func:`margin.risk.risk`
FLAGS: Mapping[str, str] = {
    "horizon_hours": "--horizon",
    "paths": "--paths",
    "seed": "--seed",
    "model": "--model",
    "vols": "--vol",
}


def _flag_label(parameter: str, key: str | None) -> str:
    flag = FLAGS.get(parameter, parameter)
    return flag if key is None else f"{flag} {key}"


def _flag_setting(parameter: str, key: str | None, value: str) -> str:
    flag = FLAGS.get(parameter, parameter)
    return f"{flag} {value}" if key is None else f"{flag} {key}={value}"


#: parameters spelled as flags: ``--horizon``, ``--vol BTC``, ``--vol SUI=0.9``, ``--model gbm``
FLAG_NAMING = Naming(_flag_label, _flag_setting)

_HORIZON = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([hdw])\s*$", re.IGNORECASE)
_UNIT_HOURS = {"h": 1.0, "d": 24.0, "w": 168.0}


def with_flags(problem: Problem) -> Problem:
    """``problem`` with a core parameter spelled as its flag (other problems unchanged)."""
    return problem.named(FLAG_NAMING) if isinstance(problem, ParameterProblem) else problem


def flag_error(err: PortfolioError) -> PortfolioError:
    """``err`` with every core parameter spelled as its flag."""
    return PortfolioError([with_flags(p) for p in err.problems], err.source)


def parse_horizon(text: str) -> int:
    """``"7d"`` → 168, ``"36h"`` → 36, ``"2w"`` → 336: a whole number of hours from 1 to 8,760."""
    rule = (
        f"must be a whole number of hours from 1 to {MAX_HORIZON_HOURS}, written <number>h, <number>d or "
        "<number>w (e.g. 7d, 36h, 2w)"
    )
    match = _HORIZON.match(text) if isinstance(text, str) and len(text) <= 24 else None
    if match is None:
        raise PortfolioError([Problem("--horizon", rule, text)])
    hours = float(match.group(1)) * _UNIT_HOURS[match.group(2).lower()]
    if abs(hours - round(hours)) > 1e-9 or not 1 <= round(hours) <= MAX_HORIZON_HOURS:
        raise PortfolioError([Problem("--horizon", rule, text)])
    return round(hours)


def parse_vols(items: Sequence[str]) -> dict[str, float]:
    """``["BTC=0.6", "SOL=85%"]`` → ``{"BTC": 0.6, "SOL": 0.85}`` (annualised volatility, a fraction)."""
    out: dict[str, float] = {}
    problems: list[Problem] = []
    for item in items:
        name, sep, value = str(item).partition("=")
        name, value = name.strip(), value.strip()
        number: float | None = None
        if sep and name:
            try:
                number = float(value[:-1]) / 100.0 if value.endswith("%") else float(value)
            except ValueError:
                number = None
        if number is None:
            problems.append(Problem("--vol", "must be ASSET=ANNUAL_VOL, e.g. BTC=0.6 or BTC=60%", item))
            continue
        out[name] = number
    problems.extend(with_flags(p) for p in vol_problems(out))
    if problems:
        raise PortfolioError(problems)
    return out


@dataclass(frozen=True)
class RiskArgs:
    """The typed inputs of :func:`margin.risk.risk` from the flags."""

    horizon_hours: int
    paths: int
    seed: int
    model: str
    vols: dict[str, float]


def risk_args(resolved: Resolved, horizon: str, paths: int, seed: int, model: str, vol: Sequence[str]) -> RiskArgs:
    """Parse and check the flags of ``risk`` for ``resolved``: ``--vol`` first (its own problems), then every
    other problem at once (``--horizon``, ``--paths``, ``--seed``, ``--model``, ``--vol`` naming no asset)."""
    vols = parse_vols(vol)
    problems: list[Problem] = []
    hours = 0  # not a valid horizon: the core's horizon problem is replaced by the flag's own below
    try:
        hours = parse_horizon(horizon)
    except PortfolioError as err:
        problems.extend(err.problems)
    core = input_problems(hours, paths, seed, model, vols, risk_assets(resolved))
    problems.extend(with_flags(p) for p in core if p.parameter != "horizon_hours")
    if problems:
        raise PortfolioError(problems)
    return RiskArgs(hours, paths, seed, model, vols)
