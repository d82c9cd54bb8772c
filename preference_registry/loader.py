"""Reading a registry document (TOML, YAML or JSON) into :class:`RegistryDocument`, reporting every error.

msgspec stops at the first problem of a conversion, which would make a merchant fix a file one typo
per run. So a failed fast-path decode is followed by a field-by-field pass over each part of the
document that collects every structural problem with its path, before the semantic rules run.
"""

from __future__ import annotations

import difflib
import json
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

import msgspec
import yaml

from .errors import RegistryIssue, RegistryLoadError
from .schema import PREFERENCE_KINDS, PreferenceType, RegistryDocument, Section, ShopSettings

__all__ = ["Format", "decode_document", "detect_format", "parse_text", "read_file"]

Format = Literal["toml", "yaml", "json"]

_SUFFIXES: dict[str, Format] = {".toml": "toml", ".yaml": "yaml", ".yml": "yaml", ".json": "json"}
_MSGSPEC_PATH = re.compile(r" - at `\$(?P<path>[^`]*)`$")


def detect_format(name: str | None, text: str | None = None) -> Format:
    """Format from a file name's suffix, or sniffed from the text when the name says nothing."""
    if name:
        suffix = Path(name).suffix.lower()
        if suffix in _SUFFIXES:
            return _SUFFIXES[suffix]
    stripped = (text or "").lstrip()
    if stripped.startswith(("{", "[")) and not stripped.startswith("[shop]"):
        return "json"
    if re.search(r"^\s*\[\[?[A-Za-z_.]+\]\]?\s*$", text or "", re.MULTILINE):
        return "toml"
    return "yaml"


def read_file(path: str | Path) -> tuple[str, Format]:
    """Text and format of a registry file."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    return text, detect_format(path.name, text)


def parse_text(text: str, fmt: Format, source: str | None = None) -> Any:
    """Syntax only: the document as plain Python data, or a :class:`RegistryLoadError` with the position."""
    try:
        if fmt == "toml":
            return tomllib.loads(text)
        if fmt == "json":
            return json.loads(text)
        return yaml.safe_load(text)
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


def decode_document(
    raw: Any, source: str | None = None
) -> tuple[RegistryDocument | None, list[RegistryIssue], list[int], list[int]]:
    """Plain data -> :class:`RegistryDocument` plus every structural issue found.

    When parts of the document are broken, the returned document holds the parts that decoded (so
    semantic rules can still report on them), with the file positions of its preferences and sections.
    The document is ``None`` when not even the shop settings decode.
    """
    try:
        doc = msgspec.convert(raw, RegistryDocument, str_keys=True)
        return doc, [], list(range(len(doc.preferences))), list(range(len(doc.sections)))
    except msgspec.ValidationError as exc:
        first_error = str(exc)
    issues = _structural_issues(raw, source)
    if not issues:  # the slow pass must explain every fast-path failure
        issues = [_issue_from_msgspec(first_error, "", source)]
    if not isinstance(raw, dict):
        return None, issues, [], []
    try:
        shop = msgspec.convert(raw.get("shop"), ShopSettings, str_keys=True)
    except msgspec.ValidationError:
        return None, issues, [], []
    prefs, pref_indices = _decode_parts(raw.get("preferences"), PreferenceType)
    sections, section_indices = _decode_parts(raw.get("sections"), Section)
    partial = RegistryDocument(shop=shop, preferences=prefs, sections=sections)
    return partial, issues, pref_indices, section_indices


def _decode_parts(items: Any, tp: Any) -> tuple[list[Any], list[int]]:
    decoded: list[Any] = []
    indices: list[int] = []
    for index, item in enumerate(items if isinstance(items, list) else []):
        try:
            decoded.append(msgspec.convert(item, tp, str_keys=True))
            indices.append(index)
        except msgspec.ValidationError:
            continue
    return decoded, indices


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
    for list_name, item_check in (("sections", _check_section), ("preferences", _check_preference)):
        items = raw.get(list_name, [])
        if not isinstance(items, list):
            issues.append(RegistryIssue(path=list_name, message=f"`{list_name}` must be a list",
                                        expected="array of tables", got=_describe(items), source=source))
            continue
        for index, item in enumerate(items):
            issues += item_check(item, f"{list_name}[{index}]", source)
    if "schema_version" in raw and raw["schema_version"] != 1:
        issues.append(RegistryIssue(path="schema_version", message="unsupported format version",
                                    expected="1", got=repr(raw["schema_version"]), source=source))
    return issues


def _check_section(item: Any, path: str, source: str | None) -> list[RegistryIssue]:
    return _check_struct(item, Section, path, source)


def _check_preference(item: Any, path: str, source: str | None) -> list[RegistryIssue]:
    if not isinstance(item, dict):
        return [RegistryIssue(path=path, message="a preference type must be a table/object",
                              expected="object", got=_describe(item), source=source)]
    kind = item.get("kind")
    cls = PREFERENCE_KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        return [RegistryIssue(path=f"{path}.kind", message="unknown or missing preference kind",
                              expected=" | ".join(PREFERENCE_KINDS),
                              got="nothing" if kind is None else repr(kind), source=source)]
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
    typed = re.match(r"Expected (?P<exp>.+?)(, got `(?P<got>[^`]+)`)?$", message)
    if typed:
        expected = typed.group("exp").replace("`", "")
        got = typed.group("got") or (_describe_value(value) if not inner else None)
        message = "wrong type or value out of bounds"
    elif message.startswith("Invalid enum value"):
        expected, got = "a declared enum value", message.split("value", 1)[1].strip()
        message = "value not allowed here"
    return RegistryIssue(path=path, message=message[:1].lower() + message[1:], expected=expected, got=got,
                         source=source)


def _syntax_issue(message: str, source: str | None) -> RegistryIssue:
    return RegistryIssue(path="", message=message, source=source)


def _describe(value: Any) -> str:
    return {dict: "table/object", list: "list", str: "string", bool: "boolean", int: "integer",
            float: "number", type(None): "nothing"}.get(type(value), type(value).__name__)


def _describe_value(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _type_name(tp: Any) -> str:
    try:
        schema = msgspec.json.schema(tp)
    except Exception:  # some annotations have no JSON schema; the Python name will do
        return getattr(tp, "__name__", str(tp))
    return schema.get("type") or ("table/object" if "$ref" in schema else "value")
