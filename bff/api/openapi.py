"""OpenAPI that follows the registry: per-key value schemas injected into Litestar's generated document.

The preference routes are one parametrized family (``/preferences/{key}``), so Litestar alone can only
say "any value". :class:`RegistryAwareJsonPlugin` serves ``/schema/openapi.json`` from Litestar's
generated document plus, for the registry live at request time:

* ``components.schemas["PreferenceValue.<key>"]``: each key's value schema (``snapshot.value_schema``);
* the ``{key}`` path parameter as an ``enum`` of the registered keys;
* ``PUT /preferences/{key}``: ``value`` is ``oneOf`` the per-key schemas;
* ``PATCH /preferences``: an object whose properties are the keys, each with its own schema;
* every 4xx/5xx response as ``application/problem+json`` (RFC 9457).

The result is cached per registry version, so a hot-swapped registry is documented on the next request.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from typing import Any

from litestar import Request
from litestar.openapi.plugins import JsonRenderPlugin

from preference_registry import RegistrySnapshot

__all__ = ["PROBLEM_SCHEMA", "RegistryAwareJsonPlugin", "inject_registry"]

PREFERENCES_PATH = "/api/v1/preferences"

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details.",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "format": "uri-reference"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {"type": "array", "items": {
            "type": "object", "required": ["path", "message"],
            "properties": {"path": {"type": "string"}, "message": {"type": "string"},
                           "expected": {"type": "string"}, "got": {"type": "string"}}}},
    },
}


_PROBLEM_DESCRIPTIONS = {
    "400": "Malformed request (RFC 9457 problem).", "401": "Invalid customer token or missing API/admin key.",
    "403": "Cross-site write refused, or administration disabled.", "404": "Unknown preference key or route.",
    "413": "Request body too large.", "422": "Invalid value or document; nothing was changed.",
    "429": "Rate limit exceeded.", "503": "Database unavailable; retry later.",
}
_COMMON_PROBLEMS = ("400", "401", "404", "422", "429", "503")
_WRITE_PROBLEMS = ("403", "413")


def _component(key: str) -> str:
    return f"PreferenceValue.{key}"


def inject_registry(document: dict[str, Any], snapshot: RegistrySnapshot) -> dict[str, Any]:
    """A copy of ``document`` documenting ``snapshot``'s preference types (see module doc)."""
    doc = copy.deepcopy(document)
    components = doc.setdefault("components", {}).setdefault("schemas", {})
    keys = [pref.key for pref in snapshot.preferences]
    for key in keys:
        schema = snapshot.value_schema(key)
        pref = snapshot.get(key)
        title = snapshot.text(pref.title, snapshot.default_locale) if pref else key
        components[_component(key)] = {**schema, "title": f"{key} ({pref.kind if pref else ''}): {title}"}
    components["Problem"] = PROBLEM_SCHEMA
    refs = [{"$ref": f"#/components/schemas/{_component(key)}"} for key in keys]
    doc.setdefault("info", {})["x-prefkit-registry-version"] = snapshot.version

    paths = doc.get("paths", {})
    single = paths.get(PREFERENCES_PATH + "/{key}", {})
    for operation in single.values():
        if not isinstance(operation, dict):
            continue
        for parameter in operation.get("parameters", []):
            if parameter.get("name") == "key" and parameter.get("in") == "path":
                parameter["schema"] = {"type": "string", "enum": keys}
                parameter["description"] = "A preference key of the active registry."
    put_op = single.get("put")
    if isinstance(put_op, dict):
        put_op["requestBody"] = {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["value"], "additionalProperties": False,
            "properties": {"value": {"oneOf": refs, "description": "Schema of the key in the path."}}}}}}
    collection = paths.get(PREFERENCES_PATH, {})
    patch_op = collection.get("patch")
    if isinstance(patch_op, dict):
        patch_op["requestBody"] = {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "minProperties": 1, "additionalProperties": False,
            "properties": {key: {"$ref": f"#/components/schemas/{_component(key)}"} for key in keys},
            "description": "Only the submitted keys change."}}}}
    for path, path_item in paths.items():
        for method, operation in path_item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            if path.startswith("/api/"):
                # Answers every API operation can give (middleware, validation, identity, limits, outages).
                for status in _COMMON_PROBLEMS + (_WRITE_PROBLEMS if method in ("put", "patch", "post", "delete")
                                                  else ()):
                    operation["responses"].setdefault(status, {"description": _PROBLEM_DESCRIPTIONS[status]})
            for status, response in operation["responses"].items():
                if status[:1] in ("4", "5") and isinstance(response, dict):
                    response["content"] = {"application/problem+json": {
                        "schema": {"$ref": "#/components/schemas/Problem"}}}
    return doc


class RegistryAwareJsonPlugin(JsonRenderPlugin):
    """Serves ``openapi.json`` with the live registry injected (see module doc)."""

    def __init__(self, snapshot_provider: Callable[[], RegistrySnapshot], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._snapshot_provider = snapshot_provider
        self._cache: tuple[str, int, dict[str, Any]] | None = None
        self._lock = threading.Lock()

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return self.render_json(request, self.document(openapi_schema))

    def document(self, openapi_schema: dict[str, Any]) -> dict[str, Any]:
        snapshot = self._snapshot_provider()
        with self._lock:
            cached = self._cache
            if cached is None or cached[0] != snapshot.version or cached[1] != id(openapi_schema):
                cached = (snapshot.version, id(openapi_schema), inject_registry(openapi_schema, snapshot))
                self._cache = cached
        return cached[2]
