"""A websocket client on a bare TCP socket, for what no well-behaved client library sends: a frame header
that announces megabytes followed by a few bytes, to see whether the server refuses the frame from its
header or waits to buffer it."""

from __future__ import annotations

import base64
import os
import socket
import struct
import time

__all__ = ["RawWebSocket"]


class RawWebSocket:
    """One websocket connection, handshake done by hand (RFC 6455)."""

    def __init__(
        self, host: str, port: int, path: str, *, source: str | None = None, timeout: float = 10
    ) -> None:
        self.sock = socket.create_connection(
            (host, port), timeout=timeout, source_address=(source, 0) if source else None
        )
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        self.sock.sendall(request.encode())
        self._buffer = b""
        while b"\r\n\r\n" not in self._buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed during the handshake")
            self._buffer += chunk
        head, _, self._buffer = self._buffer.partition(b"\r\n\r\n")
        self.status = int(head.split(b" ", 2)[1])

    def send_frame_start(self, announced: int, payload: bytes, opcode: int = 1) -> None:
        """A masked frame header announcing ``announced`` payload bytes, then only ``payload``."""
        mask = os.urandom(4)
        header = bytes([0x80 | opcode, 0x80 | 127]) + struct.pack("!Q", announced) + mask
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + masked)

    def _read(self, n: int, deadline: float) -> bytes:
        while len(self._buffer) < n:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed without a close frame")
            self._buffer += chunk
        data, self._buffer = self._buffer[:n], self._buffer[n:]
        return data

    def close_code(self, timeout: float = 10) -> int:
        """Read the server's frames until its close frame; its status code."""
        deadline = time.monotonic() + timeout
        while True:
            first, second = self._read(2, deadline)
            length = second & 0x7F
            if length == 126:
                (length,) = struct.unpack("!H", self._read(2, deadline))
            elif length == 127:
                (length,) = struct.unpack("!Q", self._read(8, deadline))
            payload = self._read(length, deadline)
            if first & 0x0F == 8:
                return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005

    def close(self) -> None:
        self.sock.close()
