"""What ``GET /api/v1/admin/registry`` says about the deployment's processes (filled by :mod:`bff.cluster`)."""

from __future__ import annotations

import msgspec

__all__ = ["DeploymentStatus", "ProcessStatus"]


class ProcessStatus(msgspec.Struct, frozen=True, kw_only=True):
    """One BFF process sharing the database, as it last announced itself."""

    process: str
    """A random id the process chose at start (not its address)."""
    registry_version: str
    """The registry version it serves."""
    seen_seconds_ago: float
    """How long ago it announced itself (processes announce every few seconds; silent ones drop out)."""
    this: bool = False
    """The process answering this request."""


class DeploymentStatus(msgspec.Struct, frozen=True, kw_only=True):
    """Whether every live process serves the same registry version."""

    mechanism: str
    """How processes tell each other: ``postgres-listen-notify`` or ``sqlite-change-poll``."""
    active_version: str
    """The version this process serves."""
    converged: bool
    """Every process listed serves ``active_version``."""
    processes: list[ProcessStatus]
    """Every process heard from recently, this one first."""
