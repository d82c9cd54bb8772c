"""A real webhook receiver for tests: an HTTP server on 127.0.0.1 (a thread) that verifies every request
with the ``standardwebhooks`` library, as a subscriber would, and records what it accepted.

``mode`` says how it answers: ``ok`` (204), ``fail`` (500), ``hang`` (never answers until released or the
client gives up), ``redirect`` (a verified request gets ``307`` to ``redirect_to``). ``stop()`` / ``start()`` take it down and back up on the same port (a receiver outage).
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError

__all__ = ["Receiver", "make_secret"]


def make_secret(seed: int = 1) -> str:
    """A valid Standard Webhooks secret (32 bytes)."""
    return "whsec_" + base64.b64encode(bytes((seed + i) % 256 for i in range(32))).decode()


class Receiver:
    def __init__(self, secret: str, *, port: int = 0) -> None:
        self.secret = secret
        self.port = port
        self.mode = "ok"
        self.redirect_to = ""
        """Where ``redirect`` mode sends the client (``Location``)."""
        self.delay = 0.0
        """Seconds to take before answering (a slow receiver: deliveries stay in flight)."""
        self.received: list[dict[str, Any]] = []
        """Verified bodies, in arrival order (duplicates included), with ``_id`` = webhook-id."""
        self.rejected: list[str] = []
        """Why requests failed verification (must stay empty)."""
        self.attempts = 0
        self.incomplete = 0
        """Requests cut off before their body was complete (the sender was killed)."""
        self.release = threading.Event()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                if len(body) < length:  # the sender died mid-request (a fault test): nothing to verify
                    with receiver._lock:
                        receiver.incomplete += 1
                    return
                with receiver._lock:
                    receiver.attempts += 1
                mode = receiver.mode
                if receiver.delay:
                    time.sleep(receiver.delay)  # the receiver's own slowness, not synchronization
                if mode == "hang":
                    receiver.release.wait(30)
                    return
                try:
                    payload = Webhook(receiver.secret).verify(body, dict(self.headers.items()))
                except WebhookVerificationError as exc:
                    with receiver._lock:
                        receiver.rejected.append(str(exc))
                    self.send_response(400)
                    self.end_headers()
                    return
                if mode == "redirect":
                    self.send_response(307)
                    self.send_header("location", receiver.redirect_to)
                    self.send_header("content-length", "0")
                    self.end_headers()
                    return
                if mode == "fail":
                    self.send_response(500)
                    self.send_header("content-length", "0")
                    self.end_headers()
                    return
                payload["_id"] = self.headers["webhook-id"]
                with receiver._lock:
                    receiver.received.append(payload)
                self.send_response(204)
                self.end_headers()

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.stop()

    # -- reading --------------------------------------------------------------------------------
    def events(self, type_prefix: str = "") -> list[dict[str, Any]]:
        with self._lock:
            return [event for event in self.received if event["type"].startswith(type_prefix)]

    def unique(self) -> dict[str, dict[str, Any]]:
        """Verified events by webhook-id (what a deduplicating receiver keeps)."""
        with self._lock:
            return {event["_id"]: event for event in self.received}

    def wait_for(self, condition: Callable[[Receiver], Any], *, timeout: float = 20.0, message: str = "") -> Any:
        """Poll ``condition(self)`` until truthy or fail after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            result = condition(self)
            if result:
                return result
            if time.monotonic() > deadline:
                summary = json.dumps([e["type"] for e in self.received])[:2000]
                raise AssertionError(f"timed out waiting for {message or 'events'}; received {summary}")
            time.sleep(0.02)
