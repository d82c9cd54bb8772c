"""Editor forms derived from the registry schema: one :class:`FormSpec` per Struct, read from the Structs
themselves (``msgspec.inspect``: field names, types, defaults, ``Meta`` bounds and patterns) and their
attribute docstrings, so a kind added to :data:`preference_registry.KINDS` gets its card without a line here.

A field's *control* says how the studio edits it; the mapping from msgspec types to controls is the table
:data:`_CONTROL_OF` plus the two localized shapes (``LocalizedText``, ``LocalizedList``) recognised by their
union. Anything the table does not know is edited as JSON (``json``), never dropped.
"""

from __future__ import annotations

import ast
import enum
import inspect
import textwrap
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import msgspec
import msgspec.inspect as mi

from preference_registry import KINDS, RegistryDocument
from preference_registry.common import PreferenceBase

__all__ = ["FieldSpec", "FormSpec", "document_form", "form_of", "kind_form", "seed_value"]


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One editable field of a Struct."""

    name: str
    control: str
    """``text``, ``number``, ``integer``, ``bool``, ``choice``, ``localized``, ``localized_list``,
    ``list_text`` (comma-separated), ``items`` (a list of Structs), ``group`` (one nested Struct), ``json``."""
    required: bool
    help: str
    """The field's docstring in the schema."""
    default: Any = None
    choices: tuple[str, ...] = ()
    optional: bool = False
    """``None`` is allowed (an empty input removes the field)."""
    item: FormSpec | None = None
    """The Struct of ``items`` / ``group``."""
    minimum: float | None = None
    maximum: float | None = None
    pattern: str | None = None


@dataclass(frozen=True, slots=True)
class FormSpec:
    """A Struct as a form."""

    name: str
    doc: str
    fields: tuple[FieldSpec, ...]

    def field(self, name: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.name == name), None)


def _attribute_docs(cls: type) -> dict[str, str]:
    """``field -> docstring`` of ``cls`` and its bases (the string literal under each annotated field)."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if klass in (object, msgspec.Struct) or klass.__module__.startswith("msgspec"):
            continue
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        except (OSError, TypeError, SyntaxError):
            continue
        body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
        for node, after in zip(body, [*body[1:], None], strict=True):
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) \
                    and isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant) \
                    and isinstance(after.value.value, str):
                # Shown as plain text: RST's ``literal`` marks are noise in a form.
                docs[node.target.id] = inspect.cleandoc(after.value.value).replace("``", "")
    return docs


def _unwrap(t: Any) -> Any:
    while isinstance(t, mi.Metadata):
        t = t.type
    return t


def _is_localized(types: list[Any]) -> str | None:
    kinds = {type(_unwrap(t)) for t in types}
    if kinds == {mi.StrType, mi.DictType}:
        return "localized"
    if kinds == {mi.ListType, mi.DictType}:
        return "localized_list"
    return None


def _bounds(t: Any) -> tuple[float | None, float | None]:
    low = getattr(t, "ge", None)
    if low is None:
        low = getattr(t, "gt", None)
    high = getattr(t, "le", None)
    if high is None:
        high = getattr(t, "lt", None)
    return low, high


def _field_spec(name: str, t: Any, required: bool, default: Any, help: str) -> FieldSpec:
    t = _unwrap(t)
    optional = False
    if isinstance(t, mi.UnionType):
        members = [m for m in t.types if not isinstance(_unwrap(m), mi.NoneType)]
        optional = len(members) < len(t.types)
        localized = _is_localized(members)
        if localized:
            return FieldSpec(name, localized, required, help, default, optional=optional)
        unwrapped = [_unwrap(m) for m in members]
        if unwrapped and all(isinstance(m, (mi.IntType, mi.FloatType)) for m in unwrapped):
            low, high = _bounds(unwrapped[0])
            control = "integer" if all(isinstance(m, mi.IntType) for m in unwrapped) else "number"
            return FieldSpec(name, control, required, help, default, optional=optional, minimum=low,
                             maximum=high)
        if len(unwrapped) == 1:
            inner = _field_spec(name, unwrapped[0], required, default, help)
            return FieldSpec(**{**_as_dict(inner), "optional": True})
        return FieldSpec(name, "json", required, help, default, optional=optional)
    if isinstance(t, (mi.StrType,)):
        return FieldSpec(name, "text", required, help, default, pattern=t.pattern)
    if isinstance(t, mi.BoolType):
        return FieldSpec(name, "bool", required, help, default)
    if isinstance(t, (mi.IntType, mi.FloatType)):
        low, high = _bounds(t)
        return FieldSpec(name, "integer" if isinstance(t, mi.IntType) else "number", required, help, default,
                         minimum=low, maximum=high)
    if isinstance(t, mi.EnumType):
        values = tuple(str(member.value) for member in t.cls)
        shown = default.value if isinstance(default, enum.Enum) else default
        return FieldSpec(name, "choice", required, help, shown, choices=values)
    if isinstance(t, mi.LiteralType):
        return FieldSpec(name, "choice", required, help, default, choices=tuple(str(v) for v in t.values))
    if isinstance(t, (mi.ListType, mi.VarTupleType, mi.SetType, mi.FrozenSetType)):
        item = _unwrap(t.item_type)
        if isinstance(item, mi.StructType):
            return FieldSpec(name, "items", required, help, default, item=form_of(item.cls))
        if isinstance(item, (mi.StrType, mi.LiteralType)):
            return FieldSpec(name, "list_text", required, help, default)
    if isinstance(t, mi.StructType):
        return FieldSpec(name, "group", required, help, default, item=form_of(t.cls))
    return FieldSpec(name, "json", required, help, default)


def _as_dict(spec: FieldSpec) -> dict[str, Any]:
    return {slot: getattr(spec, slot) for slot in FieldSpec.__slots__}


@lru_cache(maxsize=None)
def form_of(cls: type) -> FormSpec:
    """The form of a registry Struct (cached: Structs are fixed at import)."""
    info = mi.type_info(cls)
    docs = _attribute_docs(cls)
    fields = []
    for f in info.fields:  # type: ignore[attr-defined]
        if f.name == "kind":
            continue
        default = None if f.default is msgspec.NODEFAULT else f.default
        if isinstance(default, (list, tuple)) and not default:
            default = None
        fields.append(_field_spec(f.name, f.type, f.required, default, docs.get(f.name, "")))
    return FormSpec(cls.__name__, inspect.cleandoc(cls.__doc__ or ""), tuple(fields))


def kind_form(kind: str) -> FormSpec:
    """The card of a preference type of ``kind`` (a key of :data:`KINDS`)."""
    return form_of(KINDS[kind].struct)


def document_form() -> FormSpec:
    """The document's own fields (``shop``, ``sections``)."""
    return form_of(RegistryDocument)


def seed_value(spec: FieldSpec, locales: list[str]) -> Any:
    """A starting value for a required field of a new entry: enough for the validator to point at what is
    still to be filled in, never a made-up merchant text."""
    if spec.control == "localized":
        return {locale: "" for locale in locales}
    if spec.control in ("integer", "number"):
        return 0 if spec.minimum is None or spec.minimum <= 0 else spec.minimum
    if spec.control == "bool":
        return False
    if spec.control == "choice":
        return spec.choices[0] if spec.choices else ""
    if spec.control in ("items", "list_text"):
        return []
    if spec.control == "group" and spec.item is not None:
        return {f.name: seed_value(f, locales) for f in spec.item.fields if f.required}
    return ""


assert issubclass(KINDS["consent"].struct, PreferenceBase)  # the cards assume the common base
