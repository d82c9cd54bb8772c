"""Waiting for a condition on the server side (the API), the counterpart of Playwright's ``expect``."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["eventually"]

T = TypeVar("T")

_POLL_INTERVAL_S = 0.05


def eventually(
    probe: Callable[[], T], condition: Callable[[T], bool], *, what: str, timeout_s: float = 10.0
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
        time.sleep(_POLL_INTERVAL_S)
