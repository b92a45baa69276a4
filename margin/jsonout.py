"""JSON output of the command line: the text of ``json.dumps(doc, indent=2, allow_nan=False)``, faster.

Python's encoder drops its C accelerator whenever ``indent`` is set, and at 10,000 positions the pure-Python
path spent about half of ``evaluate --format json`` (issue 13). Here each value is written by the C
functions the standard encoder uses for scalars (``encode_basestring_ascii`` for strings, ``float.__repr__``
for floats), and a row of scalars is written by the C encoder itself, with the line break and indentation as
its item separator; the result is the same text character for character
(a test holds it equal to ``json.dumps`` on every sample and on random documents).
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Iterable
from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any

_INDENT = "  "
#: the exact types of a row of scalars (a subclass, or anything else, takes the general path)
_SCALAR_TYPES = frozenset({str, float, int, bool, type(None)})


def dumps(doc: Any) -> str:
    """``json.dumps(doc, indent=2, allow_nan=False)``; raises ``ValueError`` on NaN or infinity as it does."""
    parts: list[str] = []
    _write(doc, 0, parts)
    return "".join(parts)


def _scalar(value: Any) -> str | None:
    if isinstance(value, str):
        return str(encode_basestring_ascii(value))
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"Out of range float values are not JSON compliant: {value!r}")
        return float.__repr__(value)
    return None


def _write(value: Any, level: int, parts: list[str]) -> None:
    text = _scalar(value)
    if text is not None:
        parts.append(text)
        return
    inner = "\n" + _INDENT * (level + 1)
    outer = "\n" + _INDENT * level
    if isinstance(value, dict):
        if not value:
            parts.append("{}")
            return
        if _SCALAR_TYPES.issuperset(map(type, value.values())):
            # a row of scalars: the C encoder with the indentation as its item separator writes the same text
            text = "".join(_row_encoder(level)(value, 0))
            parts.append("{" + inner + text[1:-1] + outer + "}")
            return
        keys = [_key(k) for k in value]
        scalars = [_scalar(v) for v in value.values()]
        parts.append("{")
        for i, (k, v, s) in enumerate(zip(keys, value.values(), scalars, strict=True)):
            parts.append(("," if i else "") + inner + k + ": ")
            if s is not None:
                parts.append(s)
            else:
                _write(v, level + 1, parts)
        parts.append(outer + "}")
        return
    if isinstance(value, (list, tuple)):
        if not value:
            parts.append("[]")
            return
        if _SCALAR_TYPES.issuperset(map(type, value)):
            text = "".join(_row_encoder(level)(value, 0))
            parts.append("[" + inner + text[1:-1] + outer + "]")
            return
        parts.append("[")
        for i, item in enumerate(value):
            parts.append(("," if i else "") + inner)
            _write(item, level + 1, parts)
        parts.append(outer + "]")
        return
    # anything else: as the standard encoder would (it raises TypeError for what JSON cannot hold)
    parts.append(json.dumps(value, allow_nan=False))


def _refuse(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


@functools.cache
def _row_encoder(level: int) -> Callable[[Any, int], Iterable[str]]:
    """The standard library's C encoder (the one ``json.dumps`` uses without ``indent``), built once per nesting
    level, with ``,`` plus the line break and indentation of that level as its item separator."""
    inner = "\n" + _INDENT * (level + 1)
    if c_make_encoder is None:  # a Python without the C accelerator: the standard encoder, same text
        plain = json.JSONEncoder(separators=("," + inner, ": "), allow_nan=False)
        return lambda value, _level: (plain.encode(value),)
    encoder: Callable[[Any, int], Iterable[str]] = c_make_encoder(
        None, _refuse, encode_basestring_ascii, None, ": ", "," + inner, False, False, False
    )
    return encoder


def _key(key: Any) -> str:
    if isinstance(key, str):
        return str(encode_basestring_ascii(key))
    text = _scalar(key)  # json.dumps turns int, float, bool and None keys into strings
    if text is None:
        raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")
    return str(encode_basestring_ascii(text))
