"""Editing the registry file of a self-started server and waiting until the server serves the result."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .api import PrefkitApi
from .server import PrefkitServer

__all__ = ["RegistryEditTimeout", "RegistryEditor", "toml_table", "toml_value"]

_POLL_INTERVAL_S = 0.1


class RegistryEditTimeout(AssertionError):
    """The server did not pick up a registry edit before the deadline."""


def toml_value(value: Any) -> str:
    """``value`` as an inline TOML value (strings, numbers, booleans, lists, tables)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{key} = {toml_value(item)}" for key, item in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def toml_table(array_name: str, fields: Mapping[str, Any]) -> str:
    """``[[array_name]]`` followed by one ``key = value`` line per field (nested values inline)."""
    lines = [f"[[{array_name}]]"] + [f"{key} = {toml_value(value)}" for key, value in fields.items()]
    return "\n" + "\n".join(lines) + "\n"


def _find(document: Any, name: str) -> Any:
    """The first value stored under ``name`` anywhere in a JSON document."""
    if isinstance(document, Mapping):
        if name in document:
            return document[name]
        for value in document.values():
            found = _find(value, name)
            if found is not None:
                return found
    elif isinstance(document, list):
        for value in document:
            found = _find(value, name)
            if found is not None:
                return found
    return None


class RegistryEditor:
    """The registry file of a server the plugin started; every edit is undone by :meth:`restore`."""

    def __init__(self, server: PrefkitServer, *, timeout_s: float = 30.0) -> None:
        if server.registry_path is None:
            raise ValueError("server has no registry file")
        self.server = server
        self.path: Path = server.registry_path
        self.original = self.path.read_text(encoding="utf-8")
        self.timeout_s = timeout_s
        self.api = PrefkitApi(server.base_url, admin_key=server.admin_key)
        self.original_version = self.version()

    @property
    def format(self) -> str:
        return {".toml": "toml", ".json": "json", ".yaml": "yaml", ".yml": "yaml"}[self.path.suffix.lower()]

    def version(self) -> str:
        """Version of the registry the server serves right now."""
        return str(self.api.registry()["version"])

    def write(self, text: str) -> None:
        """Replace the file's content atomically (write a sibling, rename over), as editors do."""
        temporary = self.path.with_name(f".{self.path.name}.e2e-tmp")
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, self.path)

    def apply(self, text: str) -> str:
        """Write ``text`` and wait until the server serves a new version; returns that version."""
        before = self.version()
        self.write(text)
        return self.wait_for(lambda version: version != before, f"a version other than {before}")

    def with_preference(self, fields: Mapping[str, Any]) -> str:
        """The file's current text with one more preference type appended (TOML, JSON or YAML)."""
        current = self.path.read_text(encoding="utf-8")
        if self.format == "toml":
            return current.rstrip("\n") + "\n" + toml_table("preferences", fields)
        if self.format == "json":
            document = json.loads(current)
            document.setdefault("preferences", []).append(dict(fields))
            return json.dumps(document, ensure_ascii=False, indent=2)
        import yaml

        document = yaml.safe_load(current)
        document.setdefault("preferences", []).append(dict(fields))
        return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)

    def with_theme(self, theme: str) -> str:
        """The file's current text with ``shop.theme`` set to ``theme``."""
        current = self.path.read_text(encoding="utf-8")
        if self.format == "toml":
            shop = re.search(r"^\[shop\][ \t]*\n(?:(?!\[).*(?:\n|$))*", current, flags=re.MULTILINE)
            if shop is None:
                raise ValueError(f"{self.path} has no [shop] table")
            block = shop.group(0)
            line = f"theme = {toml_value(theme)}"
            if re.search(r"^theme\s*=.*$", block, flags=re.MULTILINE):
                block = re.sub(r"^theme\s*=.*$", line, block, count=1, flags=re.MULTILINE)
            else:
                block = block.replace("[shop]", "[shop]\n" + line, 1)
            return current[: shop.start()] + block + current[shop.end() :]
        if self.format == "json":
            document = json.loads(current)
            document["shop"]["theme"] = theme
            return json.dumps(document, ensure_ascii=False, indent=2)
        import yaml

        document = yaml.safe_load(current)
        document["shop"]["theme"] = theme
        return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)

    def set_theme(self, theme: str) -> str:
        """Make ``theme`` the shop's theme; returns the live version (unchanged if it already was)."""
        text = self.with_theme(theme)
        if text == self.path.read_text(encoding="utf-8"):
            return self.version()
        return self.apply(text)

    def add_preference(self, fields: Mapping[str, Any]) -> str:
        """Append one preference type to the file; returns the new live version."""
        return self.apply(self.with_preference(fields))

    def add_broken_preference(self) -> Any:
        """Append a type of a kind that does not exist; returns the rejection the server reports."""
        return self.apply_broken(
            self.with_preference({"key": "e2e_broken", "kind": "no_such_kind", "title": "broken"})
        )

    def apply_broken(self, text: str) -> Any:
        """Write an invalid registry and wait until the server reports it rejected (admin status).

        Returns the rejection the server reports; the previously live version must still be served.
        """
        before = _find(self.api.admin_registry(), "last_rejection")
        self.write(text)
        deadline = time.monotonic() + self.timeout_s
        while True:
            status = self.api.admin_registry()
            rejection = _find(status, "last_rejection")
            if rejection is not None and rejection != before:
                return rejection
            if time.monotonic() >= deadline:
                raise RegistryEditTimeout(
                    f"the server did not report the broken registry as rejected within "
                    f"{self.timeout_s:.0f}s; admin status: {status}"
                )
            time.sleep(_POLL_INTERVAL_S)  # polling the server's status, not a synchronization sleep

    def wait_for(self, condition: Callable[[str], bool], description: str) -> str:
        """Poll ``GET /api/v1/registry`` until its version satisfies ``condition``."""
        deadline = time.monotonic() + self.timeout_s
        while True:
            version = self.version()
            if condition(version):
                return version
            if time.monotonic() >= deadline:
                raise RegistryEditTimeout(
                    f"registry file edited, but within {self.timeout_s:.0f}s the server "
                    f"still serves version {version} (waited for {description})"
                )
            time.sleep(_POLL_INTERVAL_S)

    def restore(self) -> None:
        """Put the original file back and wait until its version is live again."""
        try:
            if self.path.read_text(encoding="utf-8") != self.original:
                self.write(self.original)
            self.wait_for(
                lambda version: version == self.original_version,
                f"the original version {self.original_version}",
            )
        finally:
            self.api.close()
