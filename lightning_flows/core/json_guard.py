"""Strict JSON: what every route accepts (finite numbers, no NUL, no lone surrogates,
bounded nesting), checked without recursion and reported with the field's path.

`loads_strict(raw, max_depth)` parses a JSON body or raises `JsonRefused`;
`check_value(value, max_depth)` checks an already-parsed value (forms, YAML).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import orjson

from lightning_flows.core.errors import InvalidInput

_SURROGATE = re.compile("[\ud800-\udfff]")


class JsonRefused(InvalidInput):
    """The value is not acceptable (422). `loc` names the field (`["body", "a", 0]`)."""

    def __init__(self, loc: list[str | int], message: str) -> None:
        super().__init__(
            f"{describe(loc)}: {message}",
            details=[{"loc": loc, "msg": message, "type": "value_error"}],
        )
        self.loc = loc


def describe(loc: list[str | int]) -> str:
    """`["body", "a", 0]` -> `body.a[0]` (deep paths are shortened in the middle)."""
    parts = loc if len(loc) <= 12 else [*loc[:6], "…", *loc[-4:]]
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "body"


def _string_problem(text: str) -> str | None:
    if "\x00" in text:
        return "contains a NUL character (\\u0000), which cannot be stored"
    if _SURROGATE.search(text):
        return "contains an unpaired UTF-16 surrogate, which is not valid Unicode"
    return None


def check_value(value: Any, max_depth: int, root: list[str | int] | None = None) -> None:
    """Raise JsonRefused for the first non-finite number, bad string or too-deep level."""
    stack: list[tuple[Any, list[str | int], int]] = [(value, root or ["body"], 0)]
    while stack:
        item, loc, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth >= max_depth:
                raise JsonRefused(loc, f"nested deeper than the {max_depth}-level limit")
            if isinstance(item, dict):
                for key, child in item.items():
                    if isinstance(key, str) and (problem := _string_problem(key)):
                        raise JsonRefused(loc, f"a key {problem}")
                    stack.append((child, [*loc, str(key)], depth + 1))
            else:
                stack.extend((child, [*loc, i], depth + 1) for i, child in enumerate(item))
        elif isinstance(item, float) and not math.isfinite(item):
            raise JsonRefused(
                loc, f"{item} is not a JSON number (finite numbers only; send null or a string)"
            )
        elif isinstance(item, str) and (problem := _string_problem(item)):
            raise JsonRefused(loc, problem)


def needs_check(raw: bytes, max_depth: int) -> bool:
    """Cheap test of orjson-accepted bytes: NUL escapes or enough brackets to be deep."""
    if b"\\u0000" in raw:
        return True
    return len(raw) > 2 * max_depth and raw.count(b"[") + raw.count(b"{") > max_depth


def loads_strict(raw: bytes, max_depth: int, root: list[str | int] | None = None) -> Any:
    """Parse and check a JSON document; raise JsonRefused naming the field."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        # the standard parser names the field, or says why the bytes are not JSON
        value = _loads_lenient(raw, max_depth, root)
        check_value(value, max_depth, root)
        return value
    if needs_check(raw, max_depth):
        check_value(value, max_depth, root)
    return value


def _loads_lenient(raw: bytes, max_depth: int, root: list[str | int] | None) -> Any:
    """The standard parser: it accepts NaN, Infinity, lone surrogates, UTF-16 and a
    byte order mark, so the strict check can then point at the offending field."""
    loc = root or ["body"]
    try:
        return json.loads(raw)
    except RecursionError as exc:
        raise JsonRefused(loc, f"nested deeper than the {max_depth}-level limit") from exc
    except UnicodeDecodeError as exc:
        raise JsonRefused(loc, "is not valid UTF-8 (or UTF-16/32) JSON") from exc
    except json.JSONDecodeError as exc:
        raise JsonRefused(
            loc, f"is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from exc
    except ValueError as exc:  # an integer of more than 4,300 digits
        raise JsonRefused(loc, f"has a number Python cannot read: {exc}") from exc
