"""Strict JSON for untrusted input: every request body and every component websocket message.

msgspec decodes; this module refuses, with the place in the document, what msgspec would accept but
prefkit must not act on:

* invalid UTF-8 (msgspec raises ``UnicodeDecodeError``, which is no ``DecodeError``);
* nesting deeper than :data:`MAX_DEPTH` (no prefkit document is deeper than a few levels; a deep one
  only costs stack and CPU, and past ~1,000 levels msgspec raises ``RecursionError``);
* duplicate object keys (JSON leaves their meaning open; msgspec keeps the last one silently);
* numbers that would not arrive as written: ``1e-400`` underflows to ``0``, ``1e400`` overflows,
  ``4.0000000000000000001`` rounds to ``4.0``, integers past 4,300 digits are refused by Python. The
  registry promises that a choice is never rounded silently, so a number must survive the round trip:
  the value stored and echoed back (shortest ``repr`` of the float) equals the decimal sent.

Both HTTP (``bff.api.body``) and the websocket (``bff.reactpy_bridge``) call :func:`decode`, so a limit that
holds on one holds on the other.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any, Final

import msgspec

__all__ = ["MAX_DEPTH", "InvalidJson", "decode"]

MAX_DEPTH: Final[int] = 32
"""Deepest nesting of arrays/objects accepted (a ``PATCH`` body is 2 levels, a ReactPy event about 6)."""

_EXACT_DIGITS: Final[int] = 15  # DBL_DIG: any decimal with at most 15 significant digits survives a double
_GOT_CHARACTERS: Final[int] = 40


class InvalidJson(ValueError):
    """The input is not JSON prefkit accepts; ``path`` says where (``body`` = the whole document)."""

    def __init__(
        self, message: str, *, path: str = "body", expected: str | None = None, got: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.expected = expected
        self.got = got


class _Inexact:
    """Stands in for a number that would change on the way in, until its path is known."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


class _Duplicate:
    """Stands in for an object with a repeated key, until its path is known."""

    __slots__ = ("key",)

    def __init__(self, key: str) -> None:
        self.key = key


def decode(data: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """``data`` decoded, or :class:`InvalidJson` naming the first problem and where it is."""
    inexact: list[_Inexact] = []

    def exact_float(text: str) -> float | _Inexact:
        # Called with the literal of every non-integer number. The fast path covers every ordinary value.
        if len(text) <= _EXACT_DIGITS and "e" not in text and "E" not in text:
            return float(text)
        value = float(text)
        if math.isfinite(value) and Decimal(text) == Decimal(repr(value)):
            return value
        marker = _Inexact(text)
        inexact.append(marker)
        return marker

    try:
        value = msgspec.json.Decoder(float_hook=exact_float).decode(data)
    except UnicodeError as exc:
        where = f" (byte {exc.start})" if isinstance(exc, UnicodeDecodeError) else ""
        raise InvalidJson(
            f"the document is not valid UTF-8{where}", expected="UTF-8 encoded JSON", got="invalid bytes"
        ) from None
    except RecursionError:
        raise InvalidJson(_too_deep(max_depth), expected=f"at most {max_depth} levels", got="more") from None
    except msgspec.DecodeError as exc:  # ValidationError (e.g. an integer of 5,000 digits) is a DecodeError
        if "out of range" in str(exc):
            _raise_number_problem(_locate_in_text(data, _Inexact))
        raise InvalidJson(str(exc).replace(" - at `$[...]`", ""), expected="JSON") from None
    if _may_be_deeper_than(data, max_depth):
        _check_depth(value, max_depth)
    if inexact:
        _raise_number_problem(_locate(value, lambda node: isinstance(node, _Inexact)))
    if _may_repeat_keys(data):
        path, duplicate = _locate_in_text(data, _Duplicate)
        if duplicate is not None:
            raise InvalidJson(
                f"duplicate key {duplicate.key!r} in an object",
                path=path,
                expected="each key once per object",
                got=f"{duplicate.key!r} more than once",
            )
    return value


def _too_deep(max_depth: int) -> str:
    return f"the document is nested too deeply (more than {max_depth} levels of arrays/objects)"


def _raise_number_problem(found: tuple[str, Any]) -> None:
    path, marker = found
    text = marker.text if isinstance(marker, _Inexact) else "?"
    got = text if len(text) <= _GOT_CHARACTERS else f"{text[:_GOT_CHARACTERS]}… ({len(text)} characters)"
    raise InvalidJson(
        f"the number {got} cannot be kept exactly: it would be stored as a different value",
        path=path,
        expected="a number stored exactly as written (a double: shortest form, no underflow or overflow)",
        got=got,
    )


def _may_be_deeper_than(data: bytes | str, max_depth: int) -> bool:
    # Counting brackets is C speed; only documents with many of them are walked.
    if isinstance(data, bytes):
        return data.count(b"[") + data.count(b"{") > max_depth
    return data.count("[") + data.count("{") > max_depth


def _may_repeat_keys(data: bytes | str) -> bool:
    # Every object member has one colon outside strings: with fewer than two colons there is no second key.
    return (data.count(b":") if isinstance(data, bytes) else data.count(":")) >= 2


def _children(node: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, child in node.items():
            yield (key if path == "body" else f"{path}.{key}"), child
    elif isinstance(node, list):
        prefix = "" if path == "body" else path
        for index, child in enumerate(node):
            yield f"{prefix}[{index}]", child


def _check_depth(value: Any, max_depth: int) -> None:
    stack: list[tuple[Any, str, int]] = [(value, "body", 1)]
    while stack:
        node, path, depth = stack.pop()
        if not isinstance(node, (dict, list)):
            continue
        if depth > max_depth:
            raise InvalidJson(
                _too_deep(max_depth), path=path, expected=f"at most {max_depth} levels", got="more"
            )
        stack.extend((child, child_path, depth + 1) for child_path, child in _children(node, path))


def _locate(value: Any, found: Callable[[Any], bool]) -> tuple[str, Any]:
    """Path of the first node (document order) for which ``found`` is true."""
    stack: list[tuple[str, Any]] = [("body", value)]
    while stack:
        path, node = stack.pop()
        if found(node):
            return path, node
        stack.extend(reversed(list(_children(node, path))))
    return "body", None


def _locate_in_text(data: bytes | str, kind: type) -> tuple[str, Any]:
    """Parse again with the standard library, whose hooks see what msgspec hides: every member of an
    object (duplicates included) and the digits of every integer. Only the first ``kind`` marker matters."""

    def pairs(members: list[tuple[str, Any]]) -> Any:
        seen: dict[str, Any] = {}
        for key, child in members:
            if key in seen:
                return _Duplicate(key)
            seen[key] = child
        return seen

    def integer(text: str) -> Any:
        return _Inexact(text) if len(text.lstrip("-")) > 4300 else 0  # the value itself is not needed here

    text = data.decode() if isinstance(data, bytes) else data
    try:
        tree = json.loads(
            text, object_pairs_hook=pairs, parse_int=integer, parse_float=lambda _: 0.0, parse_constant=str
        )
    except (ValueError, RecursionError):  # msgspec accepted it, so this is the other parser's limit
        return "body", None
    return _locate(tree, lambda node: isinstance(node, kind))
