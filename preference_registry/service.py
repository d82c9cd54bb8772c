"""The live registry: atomic snapshot swaps, file watching, and an observable record of rejections."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from .errors import RegistryIssue, RegistryLoadError
from .loader import Format, detect_format, read_file
from .snapshot import INTERNAL_ERROR, RegistrySnapshot, load_registry

__all__ = ["RegistryRejection", "RegistryService", "RegistryStatus"]

logger = logging.getLogger("prefkit.registry")

Listener = Callable[[RegistrySnapshot], None]

WATCH_RETRY_SECONDS = 2.0
"""Pause before watching again after the watch itself failed."""


class RegistryRejection(msgspec.Struct, frozen=True, kw_only=True):
    """A registry document that was refused; the previous snapshot stayed active."""

    at: datetime
    """When it was refused."""
    source: str | None
    """File name or origin of the refused document."""
    errors: list[RegistryIssue]
    """Every error found in it."""


class RegistryStatus(msgspec.Struct, frozen=True, kw_only=True):
    """What is live and what was last refused."""

    version: str
    """Active snapshot's content hash."""
    activated_at: datetime
    """When the active snapshot was activated."""
    source: str | None
    """Where the active snapshot came from."""
    preference_count: int
    """Number of preference types in the active snapshot."""
    warnings: list[RegistryIssue]
    """Warnings of the active snapshot."""
    last_rejection: RegistryRejection | None
    """The most recent refused document, if any since start."""


class RegistryService:
    """Holds the active :class:`RegistrySnapshot` and replaces it whole.

    Readers take ``service.current`` (one attribute read, atomic under the GIL) and keep using that
    snapshot for the rest of their request, so they never see a half-updated registry and are never
    blocked: parsing and validating happen before the swap, outside any lock.
    """

    def __init__(self, snapshot: RegistrySnapshot, *, path: str | Path | None = None) -> None:
        self._current = snapshot
        self._activated_at = datetime.now(UTC)
        self._path = Path(path) if path is not None else None
        self._last_rejection: RegistryRejection | None = None
        self._swap_lock = threading.Lock()
        self._listeners: list[Listener] = []
        self._rejection_listeners: list[Callable[[RegistryRejection], None]] = []

    @classmethod
    def from_file(cls, path: str | Path) -> RegistryService:
        """Service over a registry file; :class:`RegistryLoadError` when the file is invalid at start."""
        text, fmt = read_file(path)
        return cls(load_registry(text, fmt, source=str(path)), path=path)

    @property
    def current(self) -> RegistrySnapshot:
        return self._current

    @property
    def path(self) -> Path | None:
        return self._path

    @property
    def last_rejection(self) -> RegistryRejection | None:
        return self._last_rejection

    def status(self) -> RegistryStatus:
        snapshot = self._current
        return RegistryStatus(version=snapshot.version, activated_at=self._activated_at, source=snapshot.source,
                              preference_count=len(snapshot.preferences), warnings=list(snapshot.warnings),
                              last_rejection=self._last_rejection)

    # -- changing the registry ------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(snapshot)`` after every activation; returns the unsubscribe function."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def subscribe_rejections(self, listener: Callable[[RegistryRejection], None]) -> Callable[[], None]:
        """Call ``listener(rejection)`` after every refused document (metrics count reload failures)."""
        self._rejection_listeners.append(listener)
        return lambda: self._rejection_listeners.remove(listener) if listener in self._rejection_listeners else None

    def validate(self, text: str, fmt: Format | None = None, source: str | None = None) -> RegistrySnapshot:
        """A snapshot of ``text`` without activating it; a refusal is recorded and raised."""
        try:
            return load_registry(text, fmt or detect_format(source, text), source)
        except RegistryLoadError as exc:
            self._reject(exc, source)
            raise

    def _reject(self, exc: RegistryLoadError, source: str | None) -> None:
        self._last_rejection = rejection = RegistryRejection(at=datetime.now(UTC), source=source, errors=exc.errors)
        logger.warning("registry rejected, keeping version %s:\n%s", self._current.version, exc)
        for listener in list(self._rejection_listeners):
            try:
                listener(rejection)
            except Exception:  # a broken subscriber must not turn a refusal into a crash of the watcher
                logger.exception("registry rejection listener %r failed", listener)

    def activate(self, snapshot: RegistrySnapshot) -> bool:
        """Make ``snapshot`` the live registry; ``False`` when it is the version already live."""
        with self._swap_lock:
            if snapshot.version == self._current.version:
                return False
            self._current = snapshot
            self._activated_at = datetime.now(UTC)
        logger.info("registry version %s activated (%d types)", snapshot.version, len(snapshot.preferences))
        for listener in list(self._listeners):
            try:
                listener(snapshot)
            except Exception:  # a broken subscriber must not undo or block the swap for the others
                logger.exception("registry listener %r failed", listener)
        return True

    def submit(self, text: str, fmt: Format | None = None, source: str | None = None) -> RegistrySnapshot:
        """Validate and activate a document; on errors the current snapshot stays and the error is raised."""
        snapshot = self.validate(text, fmt, source)
        self.activate(snapshot)
        return snapshot

    def reload(self) -> RegistrySnapshot | None:
        """Re-read the watched file; ``None`` when it was rejected or unreadable (the old one stays)."""
        if self._path is None:
            return None
        source = str(self._path)
        try:
            text, fmt = read_file(self._path)
        except OSError as exc:
            issue = RegistryIssue(path="", message=f"cannot read the registry file: {exc}", source=source)
            self._reject(RegistryLoadError([issue], source), source)
            return None
        except RegistryLoadError as exc:  # too large, not UTF-8
            self._reject(exc, source)
            return None
        try:
            return self.submit(text, fmt, source=source)
        except RegistryLoadError:
            return None

    async def watch(self, stop: asyncio.Event | None = None) -> None:
        """Reload whenever the registry file changes, until ``stop`` is set.

        Watches the directory, not the file: editors save by writing a new file and renaming it over the
        old one (or by deleting and re-creating it), which a watch on the file itself would lose. Only
        changes to the registry's own path count (a log file beside it must not trigger reloads). Nothing
        in the file or the file system ends the loop: a failed reload is recorded as a rejection, a failed
        watch is restarted, and the last good registry stays live.
        """
        if self._path is None:
            return
        import watchfiles

        stop = stop or asyncio.Event()
        target = self._path.resolve()
        wanted = {str(target), str(target.parent)}  # the file, and its directory going away

        def is_registry(_change: watchfiles.Change, path: str) -> bool:
            return os.path.normpath(path) in wanted

        failures = 0
        while not stop.is_set():
            try:
                # After a failure (e.g. the OS's limit of file watches), poll instead of relying on notifications.
                watching = watchfiles.awatch(target.parent, watch_filter=is_registry, stop_event=stop, debounce=100,
                                             step=20, recursive=False, force_polling=True if failures else None)
                async for changes in watching:
                    failures = 0
                    logger.info("registry file %s changed; reloading", target)
                    await self._guarded_reload()
                    if any(path == str(target.parent) for _, path in changes):
                        break  # the directory was removed or replaced: a watch on it sees nothing more
            except Exception:  # noqa: BLE001 - e.g. the directory is missing: keep serving, watch again
                failures += 1
                if failures == 1:  # once per outage, not every retry
                    logger.warning("cannot watch %s; retrying every %ss", target.parent, WATCH_RETRY_SECONDS,
                                   exc_info=True)
            if not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=WATCH_RETRY_SECONDS)
                if target.parent.is_dir():
                    await self._guarded_reload()  # whatever changed while nothing was watching

    async def _guarded_reload(self) -> None:
        try:
            await asyncio.to_thread(self.reload)
        except Exception as exc:  # noqa: BLE001 - last resort: the watcher must outlive any document
            logger.exception("reloading %s failed unexpectedly; keeping version %s", self._path,
                             self._current.version)
            issue = RegistryIssue(path="", message=f"{INTERNAL_ERROR}: {type(exc).__name__}",
                                  source=str(self._path))
            self._reject(RegistryLoadError([issue], str(self._path)), str(self._path))
