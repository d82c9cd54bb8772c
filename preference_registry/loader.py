"""Reading a registry document (TOML, YAML or JSON) into :class:`RegistryDocument`, reporting every error.

msgspec stops at the first problem of a conversion, which would make a merchant fix a file one typo
per run. So a failed fast-path decode is followed by a field-by-field pass over each part of the
document that collects every structural problem with its path, before the semantic rules run.
"""

from __future__ import annotations

import difflib
import json
import re
import reprlib
import tomllib
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, NamedTuple, Union, get_args, get_origin

import msgspec
import yaml

from .errors import RegistryIssue, RegistryLoadError
from .schema import (MAX_EXACT_INTEGER, PREFERENCE_KINDS, Experiment, InsightsSettings, RegistryDocument,
                     Section, ShopSettings, Variant)

__all__ = [
    "MAX_DOCUMENT_BYTES",
    "MAX_NESTING",
    "MAX_NODES",
    "Decoded",
    "Format",
    "decode_document",
    "detect_format",
    "parse_text",
    "read_file",
]

Format = Literal["toml", "yaml", "json"]

_SUFFIXES: dict[str, Format] = {".toml": "toml", ".yaml": "yaml", ".yml": "yaml", ".json": "json"}
_MSGSPEC_PATH = re.compile(r" - at `\$(?P<path>[^`]*)`$")
_TOO_MANY_DIGITS = re.compile(r"value has (\d+) digits")
_EXACT_BOUND = re.compile(rf"^Expected `(int|float)` [<>]=? -?{MAX_EXACT_INTEGER}(\.0)?$")
_MAX_TREE_ISSUES = 20
# LibYAML's safe loader when PyYAML was built with it: several times faster on large documents, and it
# refuses nesting beyond 1,000 levels itself; the pure-Python one is the same format, only slower.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_REPR = reprlib.Repr()  # a bounded repr: a 100,000-item list is described, not printed
_REPR.maxstring = _REPR.maxother = _REPR.maxlong = 58

MAX_DOCUMENT_BYTES = 2 * 1024 * 1024
"""Largest registry document (UTF-8 bytes): a shop with thousands of types fits many times over."""
MAX_NESTING = 32
"""Deepest nesting of tables/lists; the format itself needs 7."""
MAX_NODES = 200_000
"""Most values (tables, lists, scalars) a document may hold once YAML aliases are expanded."""


def detect_format(name: str | None, text: str | None = None) -> Format:
    """Format from a file name's suffix, or sniffed from the text when the name says nothing."""
    if name:
        suffix = Path(name).suffix.lower()
        if suffix in _SUFFIXES:
            return _SUFFIXES[suffix]
    stripped = (text or "").lstrip()
    if stripped.startswith(("{", "[")) and not stripped.startswith("[shop]"):
        return "json"
    if re.search(r"^[ \t]*\[\[?[A-Za-z_.]+\]\]?[ \t]*$", text or "", re.MULTILINE):
        return "toml"
    return "yaml"


def read_file(path: str | Path) -> tuple[str, Format]:
    """Text and format of a registry file; :class:`RegistryLoadError` when it is too large or not UTF-8 (never
    more than :data:`MAX_DOCUMENT_BYTES` is read), ``OSError`` when it cannot be read."""
    path = Path(path)
    with path.open("rb") as handle:
        data = handle.read(MAX_DOCUMENT_BYTES + 1)
    if len(data) > MAX_DOCUMENT_BYTES:
        raise RegistryLoadError([_too_large("a larger file", str(path))], str(path))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        issue = RegistryIssue(path="", source=str(path),
                              message=f"cannot read the registry file: not UTF-8 text (line {line}, byte {exc.start})",
                              expected="UTF-8", got=f"byte 0x{data[exc.start]:02x}")
        raise RegistryLoadError([issue], str(path)) from None
    # Universal newlines, as Path.read_text gave them (the stored source text stays the same).
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text, detect_format(path.name, text)


def parse_text(text: str, fmt: Format, source: str | None = None) -> Any:
    """Syntax only: the document as plain Python data, or a :class:`RegistryLoadError` with the position.

    Bounded: the text is at most :data:`MAX_DOCUMENT_BYTES`, nesting at most :data:`MAX_NESTING` levels and
    the parsed data (YAML aliases expanded) at most :data:`MAX_NODES` values, so whatever the document holds,
    the only exception that leaves is :class:`RegistryLoadError`.
    """
    _check_text(text, source)
    name = fmt.upper()
    try:
        if fmt == "toml":
            raw = tomllib.loads(text)
        elif fmt == "json":
            raw = json.loads(text)
        else:
            raw = yaml.load(text, Loader=_YAML_LOADER)  # noqa: S506 - a safe loader
    except tomllib.TOMLDecodeError as exc:
        raise RegistryLoadError([_syntax_issue(f"invalid TOML: {exc}", source)], source) from None
    except json.JSONDecodeError as exc:
        message = f"invalid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        raise RegistryLoadError([_syntax_issue(message, source)], source) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise RegistryLoadError([_syntax_issue(f"invalid YAML: {problem}{where}", source)], source) from None
    except RecursionError:
        # The parsers recurse per nesting level; a document this deep is far past MAX_NESTING anyway.
        issue = RegistryIssue(path="", message=f"invalid {name}: nested too deep to read",
                              expected=f"at most {MAX_NESTING} levels of nesting", got="hundreds or more",
                              source=source)
        raise RegistryLoadError([issue], source) from None
    except ValueError as exc:
        digits = _TOO_MANY_DIGITS.search(str(exc))
        if digits is None:  # e.g. a YAML scalar its own constructor rejects (`!!float x`)
            raise RegistryLoadError([_syntax_issue(f"invalid {name}: {_printable(str(exc), 200)}", source)],
                                    source) from None
        issue = RegistryIssue(path="", message=f"invalid {name}: a number has {digits.group(1)} digits",
                              expected=f"numbers within ±{MAX_EXACT_INTEGER}", got=f"{digits.group(1)} digits",
                              source=source)
        raise RegistryLoadError([issue], source) from None
    issues = _check_tree(raw, source)
    if issues:
        raise RegistryLoadError(issues, source)
    return raw


class Decoded(NamedTuple):
    """What :func:`decode_document` could read of a document."""

    document: RegistryDocument | None
    """The document, or as much of it as could be read (``None`` when not even ``shop`` is a table)."""
    issues: list[RegistryIssue]
    """Every structural issue."""
    preference_indices: list[int]
    """File position of each entry of ``document.preferences``."""
    section_indices: list[int]
    """File position of each entry of ``document.sections``."""
    unreadable: dict[str, frozenset[str]]
    """Per part (``shop``, ``preferences[3]``...), the fields (``max``, ``options[1].key``...) that could not be
    read; they hold ``None`` in ``document``, and the semantic rules that need them are skipped."""
    experiment_indices: list[int] | None = None
    """File position of each entry of ``document.experiments`` (``None``: every entry, in order)."""


def decode_document(raw: Any, source: str | None = None) -> Decoded:
    """Plain data -> :class:`RegistryDocument` plus every structural issue found.

    When parts of the document are broken, the returned document still holds every entry whose kind is
    known, with the fields that did not convert set to ``None`` and listed in ``unreadable``: the semantic
    rules then run on everything that could be read (one run reports every mistake).
    """
    try:
        doc = msgspec.convert(raw, RegistryDocument, str_keys=True)
        return Decoded(doc, [], list(range(len(doc.preferences))), list(range(len(doc.sections))), {})
    except msgspec.ValidationError as exc:
        first_error = str(exc)
    issues = _structural_issues(raw, source)
    if not issues:  # the slow pass must explain every fast-path failure
        issues = [_issue_from_msgspec(first_error, "", source)]
    if not isinstance(raw, dict) or not isinstance(raw.get("shop"), dict):
        return Decoded(None, issues, [], [], {})
    unreadable: dict[str, frozenset[str]] = {}
    shop, broken = _salvage(raw["shop"], ShopSettings)
    if broken:
        unreadable["shop"] = broken
    parts: dict[str, tuple[list[Any], list[int]]] = {}
    for list_name in ("preferences", "sections", "experiments"):
        items: list[Any] = []
        indices: list[int] = []
        for index, item in enumerate(raw.get(list_name) if isinstance(raw.get(list_name), list) else []):
            cls = _entry_class(item) if list_name == "preferences" else _LIST_CLASSES[list_name]
            if cls is None or not isinstance(item, dict):
                continue  # no kind, no rules: the structural issue says why
            fields = {k: v for k, v in item.items() if k != "kind"}
            entry, broken = _salvage(fields, cls)
            if broken:
                unreadable[f"{list_name}[{index}]"] = broken
            items.append(entry)
            indices.append(index)
        parts[list_name] = (items, indices)
    insights = None
    if isinstance(raw.get("insights"), dict):
        insights, broken = _salvage(raw["insights"], InsightsSettings)
        if broken:
            unreadable["insights"] = broken
    partial = RegistryDocument(shop=shop, preferences=parts["preferences"][0], sections=parts["sections"][0],
                               experiments=parts["experiments"][0], insights=insights)
    return Decoded(partial, issues, parts["preferences"][1], parts["sections"][1], unreadable,
                   parts["experiments"][1])


_LIST_CLASSES: dict[str, type[msgspec.Struct]] = {"sections": Section, "experiments": Experiment}


def _entry_class(item: Any) -> type[msgspec.Struct] | None:
    kind = item.get("kind") if isinstance(item, dict) else None
    return PREFERENCE_KINDS.get(kind) if isinstance(kind, str) else None


def _salvage(raw: dict[str, Any], cls: type[msgspec.Struct]) -> tuple[Any, frozenset[str]]:
    """A ``cls`` built from the fields of ``raw`` that convert, and the (relative) paths of those that do not.

    Unreadable fields hold ``None``, never a guess such as their default (a mistyped ``mechanism`` must not
    turn into ``opt_in`` and trigger rules about ``opt_in``). Lists are kept element by element, so one bad
    option does not hide the others. The result only feeds the semantic rules: a document with any
    unreadable field has structural errors and is never activated.
    """
    values: dict[str, Any] = {}
    broken: set[str] = set()
    for info in msgspec.structs.fields(cls):
        name = info.encode_name
        if name not in raw:
            if info.required:
                broken.add(name)
                values[info.name] = None
            continue
        value = raw[name]
        try:
            values[info.name] = msgspec.convert(value, info.type, str_keys=True)
            continue
        except msgspec.ValidationError:
            pass
        nested = _struct_in(info.type)
        item_type = _list_item_in(info.type)
        if nested is not None and isinstance(value, dict):
            values[info.name], inner = _salvage(value, nested)
            broken |= {f"{name}.{path}" for path in inner}
        elif item_type is not None and isinstance(value, list):
            values[info.name] = [_salvage_item(item, item_type, f"{name}[{i}]", broken)
                                 for i, item in enumerate(value)]
        else:
            broken.add(name)
            values[info.name] = None
    return cls(**values), frozenset(broken)


def _salvage_item(item: Any, tp: Any, path: str, broken: set[str]) -> Any:
    nested = _struct_in(tp)
    if nested is not None and isinstance(item, dict):
        value, inner = _salvage(item, nested)
        broken |= {f"{path}.{p}" for p in inner}
        return value
    try:
        return msgspec.convert(item, tp, str_keys=True)
    except msgspec.ValidationError:
        broken.add(path)
        return None


def _struct_in(tp: Any) -> type[msgspec.Struct] | None:
    """``X`` for a field typed ``X`` or ``X | None`` where ``X`` is a Struct."""
    is_union = get_origin(tp) in (Union, UnionType)
    candidates = [t for t in get_args(tp) if t is not type(None)] if is_union else [tp]
    if len(candidates) == 1 and isinstance(candidates[0], type) and issubclass(candidates[0], msgspec.Struct):
        return candidates[0]
    return None


def _list_item_in(tp: Any) -> Any:
    """``X`` for a field typed ``list[X]`` (possibly annotated, or ``| None``)."""
    if get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    if get_origin(tp) in (Union, UnionType):
        lists = [t for t in get_args(tp) if get_origin(t) is list]
        if len(lists) != 1:
            return None
        tp = lists[0]
    return get_args(tp)[0] if get_origin(tp) is list else None


# -- bounds ---------------------------------------------------------------------------------------------
def _check_text(text: str, source: str | None) -> None:
    if len(text) > MAX_DOCUMENT_BYTES:  # every character is at least one byte: no need to encode it all
        raise RegistryLoadError([_too_large(f"{len(text)} characters", source)], source)
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError as exc:
        line = text.count("\n", 0, exc.start) + 1
        issue = RegistryIssue(path="", message=f"the document is not valid Unicode: a lone surrogate at line "
                              f"{line}", expected="UTF-8 text", got=f"\\u{ord(text[exc.start]):04x}",
                              source=source)
        raise RegistryLoadError([issue], source) from None
    if size > MAX_DOCUMENT_BYTES:
        raise RegistryLoadError([_too_large(f"{size} bytes", source)], source)


def _too_large(got: str, source: str | None) -> RegistryIssue:
    return RegistryIssue(path="", message="the registry document is too large",
                         expected=f"at most {MAX_DOCUMENT_BYTES // (1024 * 1024)} MiB", got=got, source=source)


def _check_tree(raw: Any, source: str | None) -> list[RegistryIssue]:
    """Depth, size (aliases expanded) and text of parsed data, without recursion: nothing after this step
    has to fear a cycle, a bomb or a string that cannot be encoded."""
    issues: list[RegistryIssue] = []
    stack: list[tuple[Any, str, int]] = [(raw, "", 0)]
    nodes = 0
    while stack and len(issues) < _MAX_TREE_ISSUES:
        value, path, depth = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            issues.append(RegistryIssue(
                path="", message=f"the document expands to more than {MAX_NODES} values (YAML aliases count each "
                "time they are used)", expected=f"at most {MAX_NODES} values", got="more", source=source))
            break
        if isinstance(value, str):
            if _has_surrogate(value):
                issues.append(_surrogate_issue(path, value, source))
            continue
        if not isinstance(value, (dict, list)):
            continue
        if depth >= MAX_NESTING:
            issues.append(RegistryIssue(path=path, message="nested too deep",
                                        expected=f"at most {MAX_NESTING} levels of nesting",
                                        got=f"more than {MAX_NESTING}", source=source))
            break  # one is enough: a cyclic alias would repeat it forever
        if isinstance(value, dict):
            children = []
            for key, item in value.items():
                if isinstance(key, str) and _has_surrogate(key):
                    issues.append(_surrogate_issue(path, key, source))
                    continue
                name = _printable(str(key), 60)
                children.append((item, f"{path}.{name}" if path else name))
        else:
            children = [(item, f"{path}[{index}]") for index, item in enumerate(value)]
        stack.extend((item, child, depth + 1) for item, child in reversed(children))
    return issues


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _surrogate_issue(path: str, text: str, source: str | None) -> RegistryIssue:
    return RegistryIssue(path=path, message="text with a lone surrogate (not valid Unicode, cannot be stored)",
                         expected="valid Unicode text", got=_printable(text, 60), source=source)


def _printable(text: str, limit: int) -> str:
    """``text`` safe to print and encode: surrogates escaped, cut to ``limit`` characters."""
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _structural_issues(raw: Any, source: str | None) -> list[RegistryIssue]:
    if not isinstance(raw, dict):
        return [RegistryIssue(path="", message="a registry document must be a table/object",
                              expected="object with `shop` and `preferences`", got=_describe(raw),
                              source=source)]
    issues: list[RegistryIssue] = []
    known = {f.encode_name for f in msgspec.structs.fields(RegistryDocument)}
    for name in raw:
        if name not in known:
            issues.append(_unknown_field(str(name), "", known, source))
    if "shop" not in raw:
        issues.append(RegistryIssue(path="shop", message="missing required section `shop`",
                                    expected="a [shop] table with at least `name`", got="nothing", source=source))
    else:
        issues += _check_struct(raw["shop"], ShopSettings, "shop", source)
    if "insights" in raw:
        issues += _check_struct(raw["insights"], InsightsSettings, "insights", source)
    for list_name, item_check in (("sections", _check_section), ("preferences", _check_preference),
                                  ("experiments", _check_experiment)):
        items = raw.get(list_name, [])
        if not isinstance(items, list):
            issues.append(RegistryIssue(path=list_name, message=f"`{list_name}` must be a list",
                                        expected="array of tables", got=_describe(items), source=source))
            continue
        for index, item in enumerate(items):
            issues += item_check(item, f"{list_name}[{index}]", source)
    if "schema_version" in raw and raw["schema_version"] != 1:
        issues.append(RegistryIssue(path="schema_version", message="unsupported format version",
                                    expected="1", got=_describe_value(raw["schema_version"]), source=source))
    return issues


def _check_section(item: Any, path: str, source: str | None) -> list[RegistryIssue]:
    return _check_struct(item, Section, path, source)


def _check_experiment(item: Any, path: str, source: str | None) -> list[RegistryIssue]:
    issues = _check_struct(item, Experiment, path, source)
    variants = item.get("variants") if isinstance(item, dict) else None
    if isinstance(variants, list) and all(isinstance(v, dict) for v in variants):
        # msgspec names only the first bad field of the list: report every field of every variant instead
        # (the list's own length rule stays, as it is about the list).
        inner = [issue for v_index, variant in enumerate(variants)
                 for issue in _check_struct(variant, Variant, f"{path}.variants[{v_index}]", source)]
        if inner:
            issues = [issue for issue in issues if not issue.path.startswith(f"{path}.variants")] + inner
    return issues


def _check_preference(item: Any, path: str, source: str | None) -> list[RegistryIssue]:
    if not isinstance(item, dict):
        return [RegistryIssue(path=path, message="a preference type must be a table/object",
                              expected="object", got=_describe(item), source=source)]
    kind = item.get("kind")
    cls = PREFERENCE_KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        return [RegistryIssue(path=f"{path}.kind", message="unknown or missing preference kind",
                              expected=" | ".join(PREFERENCE_KINDS),
                              got="nothing" if kind is None else _describe_value(kind), source=source)]
    return _check_struct({k: v for k, v in item.items() if k != "kind"}, cls, path, source)


def _check_struct(raw: Any, cls: type[msgspec.Struct], path: str, source: str | None) -> list[RegistryIssue]:
    """Every unknown, missing and ill-typed field of one Struct-shaped table, not only the first."""
    if not isinstance(raw, dict):
        return [RegistryIssue(path=path, message="expected a table/object", expected="object",
                              got=_describe(raw), source=source)]
    fields = {f.encode_name: f for f in msgspec.structs.fields(cls)}
    issues = [_unknown_field(str(name), path, fields, source) for name in raw if name not in fields]
    for name, info in fields.items():
        field_path = f"{path}.{name}" if path else name
        if name not in raw:
            if info.required:
                issues.append(RegistryIssue(path=field_path, message=f"missing required field `{name}`",
                                            expected=_type_name(info.type), got="nothing", source=source))
            continue
        try:
            msgspec.convert(raw[name], info.type, str_keys=True)
        except msgspec.ValidationError as exc:
            issues.append(_issue_from_msgspec(str(exc), field_path, source, raw[name]))
    return issues


def _unknown_field(name: str, path: str, known: Any, source: str | None) -> RegistryIssue:
    name = _printable(name, 60)
    close = difflib.get_close_matches(name, list(known), n=1)
    hint = f"; did you mean `{close[0]}`?" if close else ""
    return RegistryIssue(path=f"{path}.{name}" if path else name, message=f"unknown field `{name}`{hint}",
                         expected="one of " + ", ".join(sorted(known)), got=f"`{name}`", source=source)


def _issue_from_msgspec(message: str, base_path: str, source: str | None, value: Any = None) -> RegistryIssue:
    """Turn ``Expected `int` >= 1 - at `$.step``` into a path and an expected/got pair."""
    inner = ""
    match = _MSGSPEC_PATH.search(message)
    if match:
        inner = match.group("path")
        message = message[: match.start()]
    path = f"{base_path}{inner}" if base_path or not inner else inner.lstrip(".")
    expected = None
    got = None
    offending = _at(value, inner) if inner else value
    typed = re.match(r"Expected (?P<exp>.+?)(, got `(?P<got>[^`]+)`)?$", message)
    if _EXACT_BOUND.match(message) and isinstance(offending, (int, float)):
        # Say why: beyond this bound a stored or displayed choice silently becomes a different number.
        message = "number outside what prefkit stores and compares exactly"
        expected = (f"a finite number from -{MAX_EXACT_INTEGER} to {MAX_EXACT_INTEGER} (2^53 - 1, the largest "
                    "integer JavaScript and JSON clients keep exactly)")
        got = _describe_value(offending)
    elif typed:
        expected = typed.group("exp").replace("`", "")
        got = typed.group("got") or (_describe_value(offending) if offending is not _MISSING else None)
        message = "wrong type or value out of bounds"
    elif message.startswith("Invalid enum value"):
        expected, got = "a declared enum value", message.split("value", 1)[1].strip()
        message = "value not allowed here"
    return RegistryIssue(path=path, message=message[:1].lower() + message[1:], expected=expected, got=got,
                         source=source)


_MISSING = object()


def _at(value: Any, inner: str) -> Any:
    """The part of ``value`` at a msgspec path suffix such as ``.stops[0].value`` (``_MISSING`` if none)."""
    for name, index in re.findall(r"\.([^.\[]+)|\[(\d+)\]", inner):
        try:
            value = value[name] if name else value[int(index)]
        except (KeyError, IndexError, TypeError):
            return _MISSING
    return value


def _syntax_issue(message: str, source: str | None) -> RegistryIssue:
    return RegistryIssue(path="", message=message, source=source)


def _describe(value: Any) -> str:
    return {dict: "table/object", list: "list", str: "string", bool: "boolean", int: "integer",
            float: "number", type(None): "nothing"}.get(type(value), type(value).__name__)


def _describe_value(value: Any) -> str:
    if isinstance(value, int) and value.bit_length() > 64:
        digits = len(str(abs(value))) if value.bit_length() < 14_000 else "thousands of"  # str() has a limit
        return f"an integer of {digits} digits"
    return _printable(_REPR.repr(value), 60)


def _type_name(tp: Any) -> str:
    try:
        schema = msgspec.json.schema(tp)
    except Exception:  # some annotations have no JSON schema; the Python name will do
        return getattr(tp, "__name__", str(tp))
    return schema.get("type") or ("table/object" if "$ref" in schema else "value")
