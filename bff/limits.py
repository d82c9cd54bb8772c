"""Per-client limits shared by every path into the BFF: the write budget and open component sockets.

**Write budget.** ``PREFKIT_WRITE_RATE_LIMIT`` state-changing actions per client address per minute,
whatever carries them: HTTP writes (and admin calls) through :class:`WriteLimitMiddleware`, widget writes
over a component websocket through :class:`BudgetedStore`, and the anonymous-to-customer merge that a
request with a customer token triggers, through :func:`charge_write`. An action is one unit however many
ledger events it writes: a ``PATCH`` of five keys, *Accept all*, *Reject all*, a merge, an erasure each
count once, exactly as one HTTP request counts once. Refused over HTTP: a 429 problem with
``Retry-After`` and ``RateLimit-*`` headers; refused over a websocket: the widget shows the change as not
saved (:class:`~components.store.PreferenceStoreError`) and the socket stays open.

**Sockets.** :class:`ClientSlots` counts the websockets each client address holds open
(``PREFKIT_MAX_SOCKETS_PER_CLIENT``): one count per app (``PluginSetup.sockets``) for the widget sockets and
the page API's change stream together; the ones beyond are closed with 1013 (try again later, bff/sockets.py).

Keys are the client address the ASGI server reports (like Litestar's limiter): behind a proxy, every
shopper shares the proxy's address (see SECURITY.md). Counters live in memory, per process, for one
window; no address is stored anywhere else.

**Several processes** (``prefkit serve --workers N``, or N ``prefkit serve`` behind a load balancer): each
process counts on its own, so a client may make up to N x ``PREFKIT_WRITE_RATE_LIMIT`` actions per window
across the deployment, and exactly the limit through any one process (tests/test_cluster.py proves both).
Set it to the deployment's limit divided by N; a load balancer with client affinity makes each client meet
one process, and so exactly the limit.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Final

from litestar.exceptions import TooManyRequestsException

from components import PreferenceStore, PreferenceStoreError

__all__ = [
    "BUDGET_STATE_KEY",
    "MAX_TRACKED_CLIENTS",
    "BudgetedStore",
    "ClientSlots",
    "WriteBudget",
    "WriteLimitExceeded",
    "WriteLimitMiddleware",
    "budgeted_store",
    "charge_write",
    "client_address",
]

BUDGET_STATE_KEY: Final[str] = "prefkit_write_budget"
"""Where :func:`bff.app.create_app` puts the app's :class:`WriteBudget` (``app.state``); None: unlimited."""

MAX_TRACKED_CLIENTS: Final[int] = 100_000
"""Most clients whose window :class:`WriteBudget` remembers (~10 MB); beyond, the oldest are forgotten. An
address-hopping client gains nothing from that: each new address has a fresh budget anyway."""


def client_address(scope: Mapping[str, Any]) -> str:
    """The key of a connection's client: its address as the ASGI server reports it (HTTP and websocket)."""
    client = scope.get("client")
    return str(client[0]) if client else "127.0.0.1"  # no client (in-process test transports): one key


class WriteLimitExceeded(TooManyRequestsException):
    """The client used its write budget for this window; answered as a 429 problem over HTTP."""

    def __init__(self, limit: int, window: int, retry_after: int) -> None:
        super().__init__(
            detail=f"more than {limit} changes in {window} s from this client; retry in {retry_after} s",
            headers={
                "RateLimit-Policy": f"{limit}; w={window}",
                "RateLimit-Limit": str(limit),
                "RateLimit-Remaining": "0",
                "RateLimit-Reset": str(retry_after),
                "Retry-After": str(retry_after),
            },
        )
        self.limit = limit
        self.retry_after = retry_after


class WriteBudget:
    """``limit`` actions per client per fixed window of ``window`` seconds (the window starts at a client's
    first action, as in Litestar's limiter). Thread-safe; every call is amortized O(1)."""

    def __init__(
        self,
        limit: int,
        *,
        window: int = 60,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = MAX_TRACKED_CLIENTS,
    ) -> None:
        if limit <= 0 or window <= 0:
            raise ValueError(f"limit and window must be positive, got {limit} per {window} s")
        self.limit = limit
        self.window = window
        self.max_clients = max_clients
        self._clock = clock
        self._lock = threading.Lock()
        # client -> (window end, units used in it), oldest window first: every window is as long, so the
        # insertion order is the order of expiry and forgetting expired ones stops at the first live one.
        self._used: dict[str, tuple[float, int]] = {}

    def take(self, client: str, units: int = 1) -> int:
        """Spend ``units`` of ``client``'s budget and return what is left, or raise
        :class:`WriteLimitExceeded` (nothing is spent then)."""
        now = self._clock()
        with self._lock:
            end, used = self._used.get(client, (0.0, 0))
            if end <= now:
                self._used.pop(client, None)
                self._forget_expired(now)
                end, used = now + self.window, 0
            if used + units > self.limit:
                raise WriteLimitExceeded(self.limit, self.window, max(1, math.ceil(end - now)))
            self._used[client] = (end, used + units)
            while len(self._used) > self.max_clients:
                del self._used[next(iter(self._used))]
            return self.limit - used - units

    def headers(self, client: str, remaining: int) -> dict[str, str]:
        """``RateLimit-*`` headers for a successful write that left ``remaining``."""
        end, _used = self._used.get(client, (self._clock() + self.window, 0))
        return {
            "RateLimit-Policy": f"{self.limit}; w={self.window}",
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(remaining),
            "RateLimit-Reset": str(max(1, math.ceil(end - self._clock()))),
        }

    def _forget_expired(self, now: float) -> None:
        while self._used:
            client, (end, _used) = next(iter(self._used.items()))
            if end > now:
                return
            del self._used[client]


def charge_write(scope: Mapping[str, Any], units: int = 1) -> None:
    """Count one state-changing action of ``scope``'s client (HTTP or websocket) against the app's write
    budget; raises :class:`WriteLimitExceeded` when it is used up, does nothing when writes are unlimited.

    For writes that no HTTP write route carries, e.g. the anonymous-to-customer merge a ``GET`` with a
    customer token triggers (``bff.identity.IdentityMiddleware``)."""
    budget = _budget_of(scope)
    if budget is not None:
        budget.take(client_address(scope), units)


def _budget_of(scope: Mapping[str, Any]) -> WriteBudget | None:
    app = scope.get("litestar_app") or scope.get("app")
    state = getattr(app, "state", None)
    return None if state is None else state.get(BUDGET_STATE_KEY)


class WriteLimitMiddleware:
    """ASGI middleware charging every HTTP request that ``counts(scope)`` (writes, admin calls) to the
    write budget; over budget it raises :class:`WriteLimitExceeded` (a 429 problem) before the handler."""

    def __init__(self, app: Any, budget: WriteBudget, counts: Callable[[Mapping[str, Any]], bool]) -> None:
        self.app = app
        self.budget = budget
        self.counts = counts

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not self.counts(scope):
            await self.app(scope, receive, send)
            return
        client = client_address(scope)
        headers = [
            (name.encode(), value.encode())
            for name, value in self.budget.headers(client, self.budget.take(client)).items()
        ]

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *headers]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BudgetedStore:
    """A :class:`~components.store.PreferenceStore` whose writes are charged to a client's write budget.

    A refused write raises :class:`~components.store.PreferenceStoreError`, which the components show as a
    change that was not saved; reads, subscriptions and everything else pass straight through."""

    def __init__(self, store: PreferenceStore, charge: Callable[[], None]) -> None:
        self._store = store
        self._charge = charge

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def _spend(self, key: str | None = None) -> None:
        try:
            self._charge()
        except WriteLimitExceeded as exc:
            raise PreferenceStoreError(
                f"too many changes in a short time; try again in {exc.retry_after} s", key=key
            ) from None

    async def set(self, changes: Mapping[str, Any]) -> Mapping[str, Any]:
        self._spend(next(iter(changes)) if len(changes) == 1 else None)
        return await self._store.set(changes)

    async def reset(self, key: str) -> Mapping[str, Any]:
        self._spend(key)
        return await self._store.reset(key)

    async def accept_all(self) -> Mapping[str, Any]:
        self._spend()
        return await self._store.accept_all()

    async def reject_all(self) -> Mapping[str, Any]:
        self._spend()
        return await self._store.reject_all()

    async def erase(self) -> None:
        self._spend()
        await self._store.erase()  # type: ignore[attr-defined]


def budgeted_store(store: PreferenceStore, scope: Mapping[str, Any]) -> PreferenceStore:
    """``store`` with its writes charged to the write budget of ``scope``'s client (the websocket
    handshake's); ``store`` itself when writes are unlimited."""
    budget = _budget_of(scope)
    if budget is None:
        return store
    client = client_address(scope)
    return BudgetedStore(store, lambda: budget.take(client))  # type: ignore[return-value]


class ClientSlots:
    """At most ``limit`` concurrent holders per client (0: unlimited). Used on the event loop only."""

    def __init__(self, limit: int) -> None:
        if limit < 0:
            raise ValueError(f"limit must be 0 (unlimited) or positive, got {limit}")
        self.limit = limit
        self._held: dict[str, int] = {}

    def acquire(self, client: str) -> bool:
        """Take a slot for ``client``; False when it already holds ``limit``."""
        held = self._held.get(client, 0)
        if self.limit and held >= self.limit:
            return False
        self._held[client] = held + 1
        return True

    def release(self, client: str) -> None:
        held = self._held.get(client, 0) - 1
        if held > 0:
            self._held[client] = held
        else:
            self._held.pop(client, None)

    def held(self, client: str) -> int:
        return self._held.get(client, 0)

