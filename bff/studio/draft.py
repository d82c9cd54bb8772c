"""A merchant's draft registry: one document text that both the forms and the raw tab edit.

The text is the source of truth. A form edit parses it (TOML with ``tomlkit``, so every comment, blank line
and the merchant's own layout survive; YAML and JSON as plain data), changes one value at a path of the
validator's own spelling (``preferences[3].stops[0].label.en``) and writes it back. Validation is the
registry's own (:func:`preference_registry.load_registry`, what ``prefkit validate`` runs), so the paths of
its issues are the paths of the form fields they are pinned to.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import tomlkit
import yaml
from tomlkit.items import AoT, Array, InlineTable, Table

from preference_registry import KINDS, RegistryIssue, RegistryLoadError, RegistrySnapshot, load_registry
from preference_registry.loader import Format, parse_text

from .schema_forms import FieldSpec, form_of, kind_form, seed_value

__all__ = ["Draft", "DraftEditError", "Validation", "parse_path", "to_value", "validate_text"]

_TOKEN = re.compile(r"\.?([a-z_][a-z0-9_-]*)|\[(\d{1,6})\]", re.IGNORECASE)
_INT = re.compile(r"^[+-]?\d+$")
_MAX_PATH = 300


class DraftEditError(ValueError):
    """An edit that cannot be applied (bad path, value of the wrong shape, text that does not parse);
    ``path`` names where."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


def parse_path(path: str) -> list[str | int]:
    """``preferences[3].title.en`` -> ``["preferences", 3, "title", "en"]``; anything else is refused."""
    if not path or len(path) > _MAX_PATH:
        raise DraftEditError(path[:_MAX_PATH], "not a field path")
    parts: list[str | int] = []
    position = 0
    for match in _TOKEN.finditer(path):
        if match.start() != position:
            break
        name, index = match.groups()
        parts.append(int(index) if index is not None else name)
        position = match.end()
    if position != len(path) or not parts or not isinstance(parts[0], str):
        raise DraftEditError(path, "not a field path")
    return parts


def to_value(control: str, raw: Any) -> Any:
    """The form input ``raw`` (as typed) as the document value of a field edited by ``control``; ``None``
    removes the field. Numbers keep how they were written: ``1.0`` stays a float, ``1`` an integer."""
    if raw is None:
        return None
    if control == "bool":
        if isinstance(raw, bool):
            return raw
        if raw in ("", None):
            return None
        if raw in ("true", "false"):
            return raw == "true"
        raise DraftEditError("", f"expected true or false, got {str(raw)[:40]!r}")
    if not isinstance(raw, str):
        raise DraftEditError("", "expected the field's text")
    text = raw.strip() if control not in ("text", "localized") else raw
    if control in ("integer", "number"):
        text = text.strip()
        if not text:
            return None
        if _INT.match(text):
            return int(text)
        try:
            number = float(text)
        except ValueError:
            return text  # stored as typed: the validator says "expected a number" at this very field
        return number if number == number and abs(number) != float("inf") else text
    if control in ("list_text", "localized_list"):
        separator = "\n" if control == "localized_list" else ","
        items = [item.strip() for item in raw.split(separator)]
        return [item for item in items if item] or None
    if control == "json":
        if not text:
            return None
        try:
            return json.loads(text)
        except ValueError:
            return text
    return raw if raw != "" else None


@dataclass(frozen=True, slots=True)
class Validation:
    """The validator's verdict on a draft."""

    snapshot: RegistrySnapshot | None
    errors: tuple[RegistryIssue, ...]
    warnings: tuple[RegistryIssue, ...]

    @property
    def ok(self) -> bool:
        return self.snapshot is not None and not self.errors


def validate_text(text: str, fmt: Format) -> Validation:
    try:
        snapshot = load_registry(text, fmt, source="studio draft")
    except RegistryLoadError as exc:
        return Validation(None, tuple(exc.errors), tuple(i for i in exc.issues if i.severity == "warning"))
    return Validation(snapshot, (), tuple(snapshot.warnings))


@dataclass(eq=False)
class Draft:
    """One editing session's document. Thread-safe (edits arrive from request handlers, the preview reads
    from its own loop); listeners hear every new *valid* snapshot, which is what the live preview shows."""

    text: str
    format: Format
    base_version: str
    """The active version the draft started from (impact is computed against the version active now)."""
    validation: Validation = field(init=False)
    last_good: RegistrySnapshot | None = field(init=False, default=None)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock, repr=False)
    _doc: Any = field(init=False, default=None, repr=False)
    """The parsed document of ``text`` (tomlkit's or plain data), kept between form edits: parsing a
    200-type TOML file with tomlkit takes ~0.3 s, a keystroke must not."""
    _listeners: list[Callable[[RegistrySnapshot], None]] = field(init=False, default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self._revalidate()
        if self.validation.ok:
            self._doc = self._parse()  # now, with the editor's first load, rather than at the first keystroke

    # -- listeners (the preview store) ---------------------------------------------------------
    def subscribe(self, listener: Callable[[RegistrySnapshot], None]) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _revalidate(self) -> None:
        self.validation = validate_text(self.text, self.format)
        snapshot = self.validation.snapshot
        if snapshot is not None and (self.last_good is None or snapshot.version != self.last_good.version):
            self.last_good = snapshot
            for listener in list(self._listeners):
                listener(snapshot)

    # -- whole-text edits ----------------------------------------------------------------------
    def replace_text(self, text: str, fmt: Format | None = None) -> Validation:
        with self._lock:
            self.text = text
            if fmt is not None:
                self.format = fmt
            self._doc = None
            self._revalidate()
            return self.validation

    # -- structured edits ----------------------------------------------------------------------
    def data(self) -> Any:
        """The document as plain data (for the forms), or ``None`` when the text does not parse."""
        try:
            return parse_text(self.text, self.format)
        except RegistryLoadError:
            return None

    def _edit(self, change: Callable[[Any], None]) -> Validation:
        with self._lock:
            doc = self._doc if self._doc is not None else self._parse()
            try:
                change(doc)
            except BaseException:
                self._doc = None  # a refused edit may have changed part of it: parse the text again next time
                raise
            if self.format == "toml":
                self.text = tomlkit.dumps(doc)
            elif self.format == "json":
                self.text = json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
            else:
                self.text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
            self._doc = doc
            self._revalidate()
            return self.validation

    def _parse(self) -> Any:
        try:
            parse_text(self.text, self.format)  # bounded parse first: size, nesting, node count
        except RegistryLoadError as exc:
            raise DraftEditError("", "the document does not parse; fix it in the raw tab first: "
                                 + (exc.errors[0].message if exc.errors else "")) from None
        if self.format == "toml":
            return tomlkit.parse(self.text)
        if self.format == "json":
            return json.loads(self.text)
        return yaml.safe_load(self.text) or {}

    def set_field(self, path: str, value: Any) -> Validation:
        """Set (``None``: remove) the value at ``path``."""
        parts = parse_path(path)
        toml = self.format == "toml"

        def change(doc: Any) -> None:
            parent = _walk(doc, parts[:-1], path, create=value is not None, toml=toml)
            last = parts[-1]
            if parent is None:
                return
            if isinstance(last, int):
                if not isinstance(parent, list) or last >= len(parent):
                    raise DraftEditError(path, "no such item")
                if value is None:
                    del parent[last]
                else:
                    parent[last] = _new(value, toml)
                return
            if not isinstance(parent, dict):
                # A text in the default locale only (`title = "..."`) edited per locale: make it a table.
                raise DraftEditError(path, "this field holds no named parts")
            if value is None:
                if last in parent:
                    del parent[last]
            else:
                parent[last] = _new(value, toml)

        return self._edit(change)

    def add_item(self, path: str, kind: str | None = None) -> Validation:
        """Append a new entry to the list at ``path`` (``preferences`` with ``kind``, ``sections``,
        ``preferences[2].stops``...), seeded with the required fields of its Struct."""
        parts = parse_path(path)
        toml = self.format == "toml"

        def change(doc: Any) -> None:
            locales = _locales(doc)
            spec = _list_item_spec(doc, parts, kind)
            container = _walk(doc, parts[:-1], path, create=True, toml=toml)
            last = parts[-1]
            if not isinstance(container, dict) or not isinstance(last, str):
                raise DraftEditError(path, "not a list of entries")
            entry: dict[str, Any] = {}
            if parts == ["preferences"]:
                if kind not in KINDS:
                    raise DraftEditError(path, f"unknown kind {kind!r}; known: {', '.join(KINDS)}")
                existing = {p.get("key") for p in container.get("preferences", []) if isinstance(p, dict)}
                number = len(existing) + 1
                while f"new_{kind}_{number}" in existing:
                    number += 1
                entry = {"key": f"new_{kind}_{number}", "kind": kind}
            for f in spec.fields:
                if f.required and f.name not in entry:
                    entry[f.name] = seed_value(f, locales)
            if last not in container:
                container[last] = tomlkit.aot() if toml and parts == ["preferences"] or toml and \
                    parts == ["sections"] else ([] if not toml else tomlkit.array())
            target = container[last]
            if isinstance(target, AoT):
                table = tomlkit.table()
                for name, value in entry.items():
                    table[name] = _new(value, toml)
                target.append(table)
            elif isinstance(target, list):
                target.append(_new(entry, toml, inline=True))
                if isinstance(target, Array):
                    target.multiline(True)
            else:
                raise DraftEditError(path, "not a list of entries")

        return self._edit(change)

    def remove_item(self, path: str) -> Validation:
        return self.set_field(path, None)

    def move_item(self, path: str, offset: int) -> Validation:
        """Move the list entry at ``path`` (``preferences[3]``) by ``offset`` places (-1 up, +1 down)."""
        parts = parse_path(path)
        if not isinstance(parts[-1], int) or offset not in (-1, 1):
            raise DraftEditError(path, "not a list entry")
        index = parts[-1]

        def change(doc: Any) -> None:
            container = _walk(doc, parts[:-1], path, create=False, toml=False)
            if not isinstance(container, list) or index >= len(container):
                raise DraftEditError(path, "no such entry")
            other = index + offset
            if not 0 <= other < len(container):
                return
            if isinstance(container, AoT):
                # tomlkit's AoT keeps its tables' own comments; swapping the bodies keeps both in place.
                tables = list(container.body)
                tables[index], tables[other] = tables[other], tables[index]
                container.body[:] = []
                for table in tables:
                    container.append(table)
            else:
                first, second = container[index], container[other]
                container[index], container[other] = second, first

        return self._edit(change)


def _locales(doc: Any) -> list[str]:
    shop = doc.get("shop") if isinstance(doc, dict) else None
    locales = shop.get("locales") if isinstance(shop, dict) else None
    if isinstance(locales, list) and all(isinstance(x, str) for x in locales):
        return [str(x) for x in locales]
    return ["pl", "en"]


def _list_item_spec(doc: Any, parts: list[str | int], kind: str | None) -> Any:
    """The Struct form of an entry of the list at ``parts``."""
    if parts == ["preferences"]:
        return kind_form(kind) if kind in KINDS else form_of(KINDS["consent"].struct)
    if parts == ["sections"]:
        return form_of(_document_field("sections").item.__class__) if False else _sections_form()
    if len(parts) >= 3 and parts[0] == "preferences" and isinstance(parts[1], int):
        entries = doc.get("preferences") if isinstance(doc, dict) else None
        entry = entries[parts[1]] if isinstance(entries, list) and parts[1] < len(entries) else None
        entry_kind = entry.get("kind") if isinstance(entry, dict) else None
        if entry_kind in KINDS:
            spec: Any = kind_form(entry_kind)
            for part in parts[2:]:
                if isinstance(part, int):
                    continue
                fspec = spec.field(part) if spec is not None else None
                spec = fspec.item if fspec is not None else None
            if spec is not None:
                return spec
    raise DraftEditError(".".join(str(p) for p in parts), "not a list of entries")


def _document_field(name: str) -> FieldSpec:
    from .schema_forms import document_form

    found = document_form().field(name)
    assert found is not None
    return found


def _sections_form() -> Any:
    item = _document_field("sections").item
    assert item is not None
    return item


def _walk(doc: Any, parts: list[str | int], path: str, *, create: bool, toml: bool) -> Any:
    node = doc
    for position, part in enumerate(parts):
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                raise DraftEditError(path, "no such item")
            node = node[part]
            continue
        if not isinstance(node, dict):
            raise DraftEditError(path, "this field holds no named parts")
        child = node.get(part)
        if child is None:
            if not create:
                return None
            child = tomlkit.inline_table() if toml and position > 0 else (tomlkit.table() if toml else {})
            node[part] = child
            child = node[part]
        elif isinstance(child, str) and position == len(parts) - 1 and create:
            # `title = "Tekst"` (default locale only) edited per locale: keep the text under its locale.
            locale = _default_locale(doc)
            table: Any = tomlkit.inline_table() if toml else {}
            table[locale] = str(child)
            node[part] = table
            child = node[part]
        node = child
    return node


def _default_locale(doc: Any) -> str:
    shop = doc.get("shop") if isinstance(doc, dict) else None
    value = shop.get("default_locale") if isinstance(shop, dict) else None
    return str(value) if isinstance(value, str) else "pl"


def _new(value: Any, toml: bool, *, inline: bool = True) -> Any:
    """``value`` as a document value: nested tables inline in TOML (one line per type stays one line)."""
    if not toml:
        return value
    if isinstance(value, dict):
        table = tomlkit.inline_table() if inline else tomlkit.table()
        for key, item in value.items():
            table[key] = _new(item, toml)
        return table
    if isinstance(value, list):
        array = tomlkit.array()
        for item in value:
            array.append(_new(item, toml))
        return array
    return value


_ = (InlineTable, Table)  # tomlkit's container types, named for readers of _walk/_new
