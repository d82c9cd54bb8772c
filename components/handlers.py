"""Event handlers without ReactPy's per-render bytecode inspection.

``reactpy.event`` / plain callables become ``EventHandler`` objects, whose constructor disassembles the
function on every render to look for ``preventDefault()`` calls. The components never call those (the
browser helper decides per key instead), and a preference center creates dozens of handlers per render,
so they use this lean :class:`~reactpy.types.BaseEventHandler` instead.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

from reactpy.types import BaseEventHandler

__all__ = ["handler"]


class _Handler(BaseEventHandler):
    __slots__ = ()

    def __init__(self, function: Callable[..., Any], throttle: int | None) -> None:
        async def call(data: Sequence[Any]) -> None:
            result = function(*data)
            if inspect.isawaitable(result):
                await result

        self.function = call
        self.prevent_default = False
        self.stop_propagation = False
        self.debounce = None
        self.throttle = throttle
        self.target = None


def handler(function: Callable[..., Any], *, throttle: int | None = None) -> BaseEventHandler:
    """``function(event)`` (sync or async) as an event handler; ``throttle`` in ms limits client sends."""
    return _Handler(function, throttle)
