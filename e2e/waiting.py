"""Waiting for a condition on the server side (the API), the counterpart of Playwright's ``expect``: the one
deadline-bounded poll of the QA kit and of prefkit's own tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["eventually", "wait_until"]

T = TypeVar("T")

_POLL_INTERVAL_S = 0.05


def eventually(
    probe: Callable[[], T],
    condition: Callable[[T], bool],
    *,
    what: str,
    timeout_s: float = 10.0,
    interval_s: float = _POLL_INTERVAL_S,
) -> T:
    """Call ``probe()`` until ``condition(result)`` holds; return that result, or fail naming ``what`` and
    the last result seen. A deadline-bounded poll, never a fixed sleep."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = probe()
        if condition(result):
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"timed out after {timeout_s:.0f}s waiting for {what}; last seen: {result!r}"
            )
        time.sleep(interval_s)  # the polling interval; the condition decides


def wait_until(
    condition: Callable[[], T],
    what: str = "condition",
    *,
    timeout_s: float = 15.0,
    interval_s: float = _POLL_INTERVAL_S,
) -> T:
    """Call ``condition()`` until it returns something true; return that, or fail naming ``what``."""
    return eventually(condition, bool, what=what, timeout_s=timeout_s, interval_s=interval_s)
