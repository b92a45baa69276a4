"""Strict JSON text reading for portfolio files: a right answer or a refusal that names where.

Python's :func:`json.loads` accepts what a portfolio file must not hold and fails badly on some inputs;
here each case is refused as a :class:`~margin.errors.Problem` naming the line and column or the field:

- ``NaN``, ``Infinity``, ``-Infinity`` tokens and numbers that overflow to infinity (``1e999``);
- integers of more than :data:`MAX_INT_DIGITS` digits (``float()`` of them overflows or loses all meaning);
- nesting deeper than :data:`MAX_DEPTH` (the C decoder recurses and raises ``RecursionError``);
- a key given twice in one object (``json`` silently keeps the last);
- strings holding a lone UTF-16 surrogate (``"\\ud800"``: not text, cannot be written back as UTF-8).

A UTF-8 byte-order mark (Excel writes one) is accepted and dropped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import numpy as np

from .errors import PortfolioError, Problem

#: deepest nesting of arrays and objects a portfolio file may have (a valid one needs 5)
MAX_DEPTH = 64
#: most digits an integer literal may have (a float64 holds about 16 significant digits)
MAX_INT_DIGITS = 30

_BOM = "\ufeff"
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NON_FINITE = re.compile(r'"(?:[^"\\]|\\.)*"|(-?Infinity|NaN|-?\d+(?:\.\d+)?[eE][+-]?\d+|-?\d{31,})', re.DOTALL)


class _Bad:
    """A value the reader refuses, kept in place so that its field can be named."""

    def __init__(self, token: str, rule: str) -> None:
        self.token = token
        self.rule = rule


class _Object(dict[str, Any]):
    """A JSON object that remembers the keys it was given more than once."""

    duplicates: tuple[str, ...] = ()


def _pairs(pairs: list[tuple[str, Any]]) -> _Object:
    out = _Object()
    seen: list[str] = []
    for key, value in pairs:
        if key in out:
            seen.append(key)
        out[key] = value
    if seen:
        out.duplicates = tuple(dict.fromkeys(seen))
    return out


def _float(token: str) -> float | _Bad:
    value = float(token)
    if value in (float("inf"), float("-inf")):
        return _Bad(token, "must be a finite number (it overflows a 64-bit float)")
    return value


def _int(token: str) -> int | _Bad:
    if len(token.lstrip("-")) > MAX_INT_DIGITS:
        return _Bad(token, f"must have at most {MAX_INT_DIGITS} digits")
    return int(token)


def _constant(token: str) -> _Bad:
    return _Bad(token, "must be a finite number (NaN and Infinity are not JSON numbers)")


def _depth(text: str) -> int:
    """Deepest nesting of ``[`` and ``{`` outside strings."""
    bare = _STRING.sub('""', text)
    codes = np.frombuffer(bare.encode("utf-8", "surrogatepass"), dtype=np.uint8)
    step = (codes == ord("[")).astype(np.int64) + (codes == ord("{"))
    step -= (codes == ord("]")).astype(np.int64) + (codes == ord("}"))
    return int(np.cumsum(step).max(initial=0))


def _path(parent: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{parent}[{key}]"
    shown = key if len(key) <= 40 else key[:37] + "..."
    return f"{parent}.{shown}" if parent else shown


class _Token:
    """A refused number token, shown as written."""

    def __init__(self, token: str) -> None:
        self.token = token if len(token) <= 40 else token[:20] + "…" + token[-8:]

    def __repr__(self) -> str:
        return self.token


def _walk(value: Any, path: str) -> Iterator[tuple[str, str, object, bool]]:
    """``(path, rule, value, is_number_token)`` of every refused value, in text order."""
    if isinstance(value, _Bad):
        yield path or "(top level)", value.rule, _Token(value.token), True
    elif isinstance(value, dict):
        for key in getattr(value, "duplicates", ()):
            yield _path(path, key), "is given more than once in one object (a key must be unique)", None, False
        for key, item in value.items():
            if _has_surrogate(key):
                yield path or "(top level)", "has a key that is not valid text (a lone UTF-16 surrogate)", None, False
            yield from _walk(item, _path(path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _walk(item, _path(path, i))
    elif isinstance(value, str) and _has_surrogate(value):
        yield path or "(top level)", "is not valid text (a lone UTF-16 surrogate)", None, False


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _where(text: str, offset: int) -> str:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f"line {line} column {column}"


def loads(text: str, source: str | None = None) -> Any:
    """Parse ``text`` strictly (module docstring); raise :class:`PortfolioError` naming every problem."""
    if text.startswith(_BOM):
        text = text[len(_BOM) :]
    depth = _depth(text)
    if depth > MAX_DEPTH:
        problem = Problem("(file)", f"nests arrays and objects {depth} deep: at most {MAX_DEPTH} allowed", None, False)
        raise PortfolioError([problem], source)
    try:
        data = json.loads(text, parse_constant=_constant, parse_float=_float, parse_int=_int, object_pairs_hook=_pairs)
    except json.JSONDecodeError as err:
        problem = Problem(f"line {err.lineno} column {err.colno}", f"is not valid JSON ({err.msg})", None, False)
        raise PortfolioError([problem], source) from None
    except RecursionError:
        problem = Problem("(file)", f"nests too deep: at most {MAX_DEPTH} levels allowed", None, False)
        raise PortfolioError([problem], source) from None
    found = list(_walk(data, ""))
    if found:
        # the refused number tokens, in text order, give the line and column of each refused number
        offsets = iter(
            m.start(1)
            for m in _NON_FINITE.finditer(text)
            if m.group(1) is not None and isinstance(_classify(m.group(1)), _Bad)
        )
        problems = []
        for path, rule, value, is_token in found:
            if is_token:
                at = next(offsets, None)
                where = f" (at {_where(text, at)})" if at is not None else ""
                problems.append(Problem(f"{path}{where}", rule, value))
            else:
                problems.append(Problem(path, rule, value, show_value=False))
        raise PortfolioError(problems, source)
    return data


def _classify(token: str) -> object:
    if token in ("NaN", "Infinity", "-Infinity"):
        return _constant(token)
    if re.fullmatch(r"-?\d+", token):
        return _int(token)
    return _float(token)
