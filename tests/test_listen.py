"""uvicorn's HTTP protocol with the limits it lacks before a request reaches the app (the
time its headers may take, the connections of one address), on a real server over raw sockets."""

from __future__ import annotations

import json
import socket
import time
from typing import Any

import httpx

from impostor.web.listen import http_protocol
from tests.servers import running


async def _hello(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})


def _code(status: int, code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}).encode()


def _closed_after(raw: socket.socket, trickle: bytes = b"") -> float:
    """Seconds until the server closes ``raw``, sending ``trickle`` a byte at a time meanwhile."""
    started = time.monotonic()
    raw.settimeout(0.2)
    for byte in [trickle[n : n + 1] for n in range(len(trickle))] + [b""] * 100:
        try:
            if byte:
                raw.sendall(byte)
            while raw.recv(65536):
                pass  # a reply: the end is what is awaited
            return time.monotonic() - started
        except TimeoutError:
            continue
        except OSError:
            return time.monotonic() - started
    raise AssertionError("the connection is still open")


def test_a_connection_is_closed_when_its_request_headers_are_late() -> None:
    with running(_hello, http=http_protocol(_code, header_seconds=1.0)) as url:
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port)) as silent:
            assert 0.9 < _closed_after(silent) < 2.0
        with socket.create_connection(("127.0.0.1", port)) as trickling:
            trickling.sendall(b"GET / HTTP/1.1\r\n")
            assert _closed_after(trickling, b"Host: station\r\nX-Padding: " + b"x" * 100) < 2.0
        with socket.create_connection(("127.0.0.1", port)) as kept:
            # a reply, then the next request's headers begun and never ended
            kept.sendall(b"GET / HTTP/1.1\r\nHost: station\r\n\r\n")
            assert kept.recv(65536).startswith(b"HTTP/1.1 200")
            kept.sendall(b"GET / HTTP/1.1\r\n")
            assert _closed_after(kept, b"Host: station\r\n" + b"X" * 100) < 2.0
        assert httpx.get(url, timeout=10).text == "ok"  # a request in time is served


def test_connections_are_capped_per_address() -> None:
    with running(_hello, http=http_protocol(_code, per_address=2, header_seconds=30.0)) as url:
        port = int(url.rsplit(":", 1)[1])
        first = socket.create_connection(("127.0.0.1", port))
        second = socket.create_connection(("127.0.0.1", port))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as third:
                received = b""
                while chunk := third.recv(65536):
                    received += chunk
            head, body = received.split(b"\r\n\r\n", 1)
            assert head.startswith(b"HTTP/1.1 429") and b"retry-after: 1" in head
            assert json.loads(body)["error"]["code"] == "rate_limited"
            first.close()
            time.sleep(0.2)  # the server sees the close
            assert httpx.get(url, timeout=10).text == "ok"
        finally:
            first.close()
            second.close()
