"""Exported members, in the style of httpx's tests/test_exported_members.py: ``__all__`` is the public API.

The rules, and why:

* Every module has an ``__all__`` and every name in it exists: ``from prefkit_module import *`` and the docs
  promise those names; a stale entry is an ``AttributeError`` for the caller.
* A **package** (``__init__.py``) is a façade: every prefkit object reachable from it is in ``__all__`` or
  is one of its submodules. Otherwise a name it only uses (``from bff.demo import PrefkitPlugin``) becomes
  API by accident, and moving it breaks shops. Names from the standard library or third-party packages
  (``Path``, ``Final``) are not prefkit's and are left alone, as are plain constants whose origin cannot be
  told (a ``str`` is a ``str``).
* In a **module**, every class and function it defines under a public name is in ``__all__``: a public name
  that is not exported is ambiguous (API or internal?); internal ones start with ``_``. Names a module
  merely imports are not its API, so they are not checked there.

Modules pytest collects as tests (``test_*``, ``conftest``, ``e2e.flows``), the Alembic migration scripts
and the package-data folder are not library modules and are skipped; ``pytest_*`` hook implementations (pytest
finds them by name) are not API either.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import types
from typing import Any

import pytest

ROOTS = ("preference_registry", "components", "themes", "e2e", "bff")
"""prefkit's packages (pyproject.toml [tool.hatch.build.targets.wheel])."""

NOT_LIBRARY = ("bff.migrations", "bff.data", "e2e.flows")
"""Not imported as libraries: Alembic's environment and revision scripts (importing them runs a migration),
the package data folder (the demo registry), and the QA kit's flows (collected by pytest:
``pytest --pyargs e2e.flows``)."""


def _is_test_module(name: str) -> bool:
    leaf = name.rpartition(".")[2]
    return leaf.startswith("test_") or leaf == "conftest"


def _library_modules() -> list[str]:
    names: list[str] = []
    for root in ROOTS:
        names.append(root)
        package = importlib.import_module(root)
        for info in pkgutil.walk_packages(package.__path__, root + "."):
            if info.name.startswith(NOT_LIBRARY) or _is_test_module(info.name):
                continue
            names.append(info.name)
    return names


MODULES = _library_modules()


def _ours(value: Any) -> bool:
    """Whether ``value`` was made by prefkit: a class/function defined in one of its modules, or an
    instance of such a class."""
    origin = getattr(value, "__module__", None) if callable(value) else type(value).__module__
    return isinstance(origin, str) and origin.split(".")[0] in ROOTS


def _unexported(module: types.ModuleType) -> list[str]:
    exported = set(module.__all__)
    is_package = hasattr(module, "__path__")
    found = []
    for name, value in vars(module).items():
        if name.startswith(("_", "pytest_")) or name in exported or name == "annotations":  # __future__
            continue
        if isinstance(value, types.ModuleType):
            if value.__name__ == f"{module.__name__}.{name}":
                continue  # a submodule: reachable as an attribute once imported, and meant to be
            if is_package and value.__name__.split(".")[0] in ROOTS:
                found.append(name)  # another prefkit module under this package's name
            continue
        if is_package:
            if _ours(value):
                found.append(name)
        elif (inspect.isclass(value) or inspect.isfunction(value)) and value.__module__ == module.__name__:
            found.append(name)
    return sorted(found)


def test_every_package_of_the_wheel_is_checked() -> None:
    # A package that fails to import would silently drop out of walk_packages' listing.
    assert {"preference_registry", "components", "themes", "e2e", "bff", "bff.catalog", "bff.demo", "bff.api",
            "bff.storage", "bff.plugins"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_all_names_in_all_exist(name: str) -> None:
    module = importlib.import_module(name)
    assert isinstance(getattr(module, "__all__", None), (list, tuple)), f"{name} has no __all__"
    assert all(isinstance(entry, str) for entry in module.__all__)
    missing = [entry for entry in module.__all__ if not hasattr(module, entry)]
    assert missing == [], f"{name}.__all__ names what it does not have: {missing}"
    duplicated = sorted({entry for entry in module.__all__ if module.__all__.count(entry) > 1})
    assert duplicated == [], f"{name}.__all__ lists twice: {duplicated}"


@pytest.mark.parametrize("name", MODULES)
def test_every_public_member_is_exported(name: str) -> None:
    module = importlib.import_module(name)
    unexported = _unexported(module)
    assert unexported == [], (
        f"{name} has public names missing from __all__: {unexported} "
        "(export them, or make them private with a leading underscore)"
    )
