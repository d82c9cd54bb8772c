"""``prefkit serve``'s webhook dispatcher: a ``prefkit dispatch`` child process beside the workers.

Delivering costs CPU (rendering, signing, the POST, the bookkeeping transactions). Inside a worker that CPU
is taken from the shoppers' requests under the same interpreter lock; in a process of its own it comes
from another core (bench/webhooks.py measures both). One dispatcher serves all the workers of a ``serve``.

The child runs in a session of its own, so a Ctrl-C meant for ``serve`` does not stop it before ``serve``
has finished its in-flight requests (whose events it must still deliver); ``serve`` stops it last. It is
restarted when it dies (with a growing pause if it keeps dying), and it stops by itself when ``serve``
is gone, even after a SIGKILL (it watches its parent, see :func:`bff.webhooks.commands.run_dispatcher`).
"""

from __future__ import annotations

import logging
import os
import subprocess
import threading
import time

__all__ = ["DispatcherProcess"]

logger = logging.getLogger("prefkit.webhooks")

STOP_SECONDS = 30.0
"""How long a stopping dispatcher may take to finish its sends (each bounded by the attempt timeout)."""


class DispatcherProcess:
    """Runs, restarts and stops one ``prefkit dispatch`` child (see the module doc)."""

    def __init__(self, command: list[str], *, env: dict[str, str] | None = None) -> None:
        self.command = [*command, "--parent-pid", str(os.getpid())]
        """The ``prefkit dispatch`` command line (the CLI builds it), told to stop when this process is gone."""
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None
        self.restarts = 0
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._monitor: threading.Thread | None = None

    def start(self) -> DispatcherProcess:
        self._spawn()
        self._monitor = threading.Thread(target=self._watch, name="prefkit-dispatcher-watch", daemon=True)
        self._monitor.start()
        return self

    def _spawn(self) -> None:
        with self._lock:
            if self._stopping.is_set():
                return
            self.process = subprocess.Popen(self.command, env=self.env, start_new_session=True)

    def _watch(self) -> None:
        pause = 1.0
        while not self._stopping.is_set():
            process = self.process
            assert process is not None
            started = time.monotonic()
            returncode = process.wait()
            if self._stopping.is_set():
                return
            # A dispatcher that ran for a while and died gets restarted at once-ish; one that dies at start
            # (a database that is away, a secret gone from the environment) is retried ever more slowly.
            pause = 1.0 if time.monotonic() - started > 60 else min(pause * 2, 60.0)
            logger.warning("webhook dispatcher process exited with %s; restarting in %.0f s", returncode, pause)
            if self._stopping.wait(pause):  # a restart delay, cut short by stop()
                return
            self.restarts += 1
            self._spawn()

    def stop(self, timeout: float = STOP_SECONDS) -> None:
        """SIGTERM (sends in flight finish and are recorded), SIGKILL after ``timeout``."""
        with self._lock:
            self._stopping.set()
            process = self.process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
