"""OpenAPI that follows the registry: per-key value schemas injected into Litestar's generated document.

The preference routes are one parametrized family (``/preferences/{key}``), so Litestar alone can only
say "any value", and OpenAPI cannot tie a body schema to a path parameter's value (a ``oneOf`` of every
key's schema is ambiguous: ``false`` matches every consent branch, and it would allow ``PUT /level
{"value": true}``). :class:`RegistryAwareJsonPlugin` serves ``/schema/openapi.json`` from Litestar's
generated document plus, for the registry live at request time:

* ``components.schemas["PreferenceValue.<key>"]``: each key's value schema (``snapshot.value_schema``);
* ``/preferences/{key}`` replaced by one path per registered key, ``/preferences/<key>``, whose
  ``PUT`` body is ``{"value": <that key's schema>}``; a notice-only consent has no ``DELETE`` (it cannot
  be withdrawn: the server answers 405) and its ``PUT`` takes only the fixed ``true`` (a no-op);
* ``PATCH /preferences``: an object whose properties are the keys, each with its own schema;
* bodies msgspec refuses unknown fields of (``forbid_unknown_fields``) as ``additionalProperties: false``;
* ``PUT /admin/registry``: the TOML / YAML / JSON document it reads from the raw body;
* the keys as security schemes: ``X-Admin-Key`` on every admin operation, ``X-API-Key`` (optional) on
  ``GET /profile``;
* every 4xx/5xx response as ``application/problem+json`` (RFC 9457);
* what other parts of the kit know only at request time (the catalog's categories), through the hooks
  the app's plugins contributed (``PluginSetup.add_openapi_hook``), given to :class:`RegistryAwareJsonPlugin`.

The rendered document is cached per registry version and hook fingerprint, so a hot-swapped registry
(or another plugged-in catalog) is documented on the next request, and a 1 MB document of 200 types is
not rebuilt for every request.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from litestar import Request
from litestar.openapi.plugins import JsonRenderPlugin

import msgspec

from preference_registry import RegistrySnapshot

from ..kinds import ALL_METHODS, KINDS
from . import views

__all__ = [
    "PROBLEM_SCHEMA",
    "DocumentHook",
    "RegistryAwareJsonPlugin",
    "inject_registry",
    "preference_methods",
]

PREFERENCES_PATH = "/api/v1/preferences"
_KEY_TEMPLATE = PREFERENCES_PATH + "/{key}"
ADMIN_REGISTRY_PATH = "/api/v1/admin/registry"

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


DocumentHook = Callable[[dict[str, Any], Any], None]
"""``hook(document, app_state)``: completes the document in place (e.g. an enum of live data)."""

HookFingerprint = Callable[[Any], Hashable]
"""``fingerprint(app_state)``: changes whenever the hook would write something else."""


def _component(key: str) -> str:
    return f"PreferenceValue.{key}"


def preference_methods(snapshot: RegistrySnapshot, key: str) -> frozenset[str]:
    """The methods ``/preferences/<key>`` supports, as its kind says (a notice-only consent cannot be
    withdrawn: no DELETE); every method for a key the registry does not declare (it answers 404)."""
    pref = snapshot.get(key)
    return ALL_METHODS if pref is None else KINDS.of(pref).methods(pref)


# Request bodies msgspec decodes with forbid_unknown_fields: Litestar's schema leaves them open.
_CLOSED_BODIES = frozenset(
    name for name, value in vars(views).items()
    if isinstance(value, type) and issubclass(value, msgspec.Struct)
    and value.__struct_config__.forbid_unknown_fields
)

_SECURITY_SCHEMES = {
    "adminKey": {
        "type": "apiKey", "in": "header", "name": "X-Admin-Key",
        "description": "`PREFKIT_ADMIN_KEY`; without it the admin operations answer 401 (403 if unset).",
    },
    "apiKey": {
        "type": "apiKey", "in": "header", "name": "X-API-Key",
        "description": "`PREFKIT_API_KEY`, for server-to-server reads of another subject (`?subject=`).",
    },
}
_ADMIN_PREFIX = "/api/v1/admin/"
_PROFILE_PATH = "/api/v1/profile"

_REGISTRY_UPLOAD = {
    "required": True,
    "description": "A registry document; its format from `?format=` or else the Content-Type. The "
                   "semantic rules (`requires`, defaults, duplicates) are checked too: a well-formed "
                   "document can still be refused with 422, listing every error.",
    "content": {
        "application/toml": {"schema": {"type": "string"}},
        "application/yaml": {"schema": {"type": "string"}},
        "application/json": {"schema": {"type": "object", "required": ["shop", "preferences"]}},
    },
}


def _per_key_paths(template: dict[str, Any], snapshot: RegistrySnapshot) -> dict[str, Any]:
    """``/preferences/<key>`` for every key, from the ``{key}`` path item Litestar generated."""
    paths: dict[str, Any] = {}
    for pref in snapshot.preferences:
        allowed = preference_methods(snapshot, pref.key)
        item: dict[str, Any] = {}
        for method, operation in template.items():
            if not isinstance(operation, dict):
                item[method] = copy.deepcopy(operation)
                continue
            if method.upper() not in allowed:
                continue
            operation = copy.deepcopy(operation)
            operation["parameters"] = [p for p in operation.get("parameters", [])
                                       if not (p.get("name") == "key" and p.get("in") == "path")]
            if not operation["parameters"]:
                del operation["parameters"]
            if "operationId" in operation:
                operation["operationId"] = f"{operation['operationId']}_{pref.key}"
            operation["x-prefkit-key"] = pref.key
            if method == "put":
                operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["value"], "additionalProperties": False,
                    "properties": {"value": {"$ref": f"#/components/schemas/{_component(pref.key)}"}}}}}}
            item[method] = operation
        paths[f"{PREFERENCES_PATH}/{pref.key}"] = item
    return paths


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
    doc.setdefault("info", {})["x-prefkit-registry-version"] = snapshot.version
    for name in _CLOSED_BODIES & set(components):
        components[name]["additionalProperties"] = False

    paths: dict[str, Any] = {}
    for path, path_item in doc.get("paths", {}).items():
        # Keep the document's order, with the per-key paths where the template was.
        if path == _KEY_TEMPLATE:
            paths.update(_per_key_paths(path_item, snapshot))
        else:
            paths[path] = path_item
    doc["paths"] = paths
    collection = paths.get(PREFERENCES_PATH, {})
    patch_op = collection.get("patch")
    if isinstance(patch_op, dict):
        patch_op["requestBody"] = {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "minProperties": 1, "additionalProperties": False,
            "properties": {key: {"$ref": f"#/components/schemas/{_component(key)}"} for key in keys},
            "description": "Only the submitted keys change."}}}}
    upload = paths.get(ADMIN_REGISTRY_PATH, {}).get("put")
    if isinstance(upload, dict):
        upload["requestBody"] = copy.deepcopy(_REGISTRY_UPLOAD)
    doc["components"].setdefault("securitySchemes", {}).update(copy.deepcopy(_SECURITY_SCHEMES))
    for path, path_item in paths.items():
        for operation in path_item.values():
            if isinstance(operation, dict) and path.startswith(_ADMIN_PREFIX):
                operation["security"] = [{"adminKey": []}]
    profile = paths.get(_PROFILE_PATH, {}).get("get")
    if isinstance(profile, dict):
        profile["security"] = [{}, {"apiKey": []}]  # the caller's own profile needs no key
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

    def __init__(
        self,
        snapshot_provider: Callable[[], RegistrySnapshot],
        hooks: Sequence[tuple[DocumentHook, HookFingerprint]] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._snapshot_provider = snapshot_provider
        self._hooks = tuple(hooks)  # per app: what this app's plugins contributed
        self._cache: tuple[Hashable, bytes] | None = None
        self._lock = threading.Lock()

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        snapshot = self._snapshot_provider()
        state = request.app.state
        fingerprints = tuple(fingerprint(state) for _, fingerprint in self._hooks)
        key = (snapshot.version, id(openapi_schema), fingerprints)
        with self._lock:
            cached = self._cache
            if cached is None or cached[0] != key:
                document = self.document(openapi_schema, snapshot, state)
                cached = (key, self.render_json(request, document))
                self._cache = cached
        return cached[1]

    def document(
        self, openapi_schema: dict[str, Any], snapshot: RegistrySnapshot | None = None, state: Any = None
    ) -> dict[str, Any]:
        """The document for ``snapshot`` (default: the live registry), with the hooks run for ``state``."""
        document = inject_registry(openapi_schema, snapshot or self._snapshot_provider())
        if state is not None:
            for hook, _ in self._hooks:
                hook(document, state)
        return document
