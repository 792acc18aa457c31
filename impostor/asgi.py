"""The small pieces of ASGI shared by the web apps (practice, station): bodies refused before
they are read whole, rates per caller, the rule for listening beyond loopback (TLS or a loud
opt-out), and serving an app on an address taken before it is announced.

FastAPI turns any error raised while it reads a body into a 400, so a size limit must act before
the app sees the request: ``BodyLimit`` refuses a declared Content-Length over the limit at
once, and otherwise gathers the body (small by definition) as it arrives, refusing it as soon as
it passes the limit, then hands it to the app whole.
"""

from __future__ import annotations

import ipaddress
import signal
import socket
import ssl
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from impostor.errors import ConfigError

__all__ = ["LOOPBACK_NAMES", "BodyLimit", "RateLimiter", "is_loopback", "serve", "tls_problem"]

_BACKLOG = 2048  # uvicorn's own default

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")  # the Host names a loopback server answers to


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach: 127.0.0.0/8, ::1, ``localhost``."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name: it may resolve to anything


def tls_problem(
    host: str, certfile: Path | None, keyfile: Path | None, insecure_http: bool, *, why: str
) -> str | None:
    """Why a server may not listen on ``host`` as asked (None when it may); ``why`` says what
    plain HTTP beyond loopback would cost (in the message)."""
    if (certfile is None) != (keyfile is None):
        return "--certfile and --keyfile go together: give both, or neither"
    if certfile is not None and keyfile is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            context.load_cert_chain(certfile, keyfile)
        except (OSError, ssl.SSLError) as error:
            reason = getattr(error, "strerror", None) or getattr(error, "reason", None) or error
            return (
                f"cannot use {certfile} and {keyfile} for TLS ({reason}): give a PEM certificate and its key"
            )
        return None
    if not is_loopback(host) and not insecure_http:
        return (
            f"listening on {host} reaches beyond this machine: give --certfile and --keyfile "
            f"({why}), or --insecure-http to accept plain HTTP"
        )
    return None


@dataclass
class RateLimiter:
    """At most ``per_minute`` requests of each caller in any sixty seconds (a sliding window)."""

    per_minute: int
    what: str = "requests"
    _seen: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def allow(self, caller: str) -> float | None:
        """None when ``caller`` may go on (and this one is counted); else the seconds until it may."""
        return self._pass(caller, count=True)

    def wait(self, caller: str) -> float | None:
        """As ``allow``, without counting: for limits that count only failures (wrong codes)."""
        return self._pass(caller, count=False)

    def _pass(self, caller: str, *, count: bool) -> float | None:
        now = time.monotonic()
        with self._lock:
            seen = self._seen[caller]
            while seen and now - seen[0] >= 60.0:
                seen.popleft()
            if len(seen) >= self.per_minute:
                return 60.0 - (now - seen[0])
            if count:
                seen.append(now)
            return None


class BodyLimit:
    """ASGI middleware: a request body over ``limit`` bytes gets 413 and ``refusal`` (JSON bytes).

    ``limit`` is a number of bytes, or a function of the request's path giving one (a camera
    frame is allowed less than a passport scan).
    """

    def __init__(self, app: Any, limit: int | Callable[[str], int], refusal: bytes) -> None:
        self.app, self.refusal = app, refusal
        self.limit_of: Callable[[str], int] = limit if callable(limit) else (lambda path: limit)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_of(scope["path"])
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._refuse(send)
            return
        chunks: list[bytes] = []
        size, more = 0, scope["method"] not in ("GET", "HEAD")
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break  # the client went away: let the app see an empty body
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > limit:
                await self._refuse(send)
                return
            more = message.get("more_body", False)
        body, delivered = b"".join(chunks), False

        async def replay() -> Any:
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, send: Any) -> None:
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(self.refusal)).encode()),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": self.refusal})


def serve(
    app: Any,
    *,
    host: str,
    port: int,
    fail: Callable[[str], Exception],
    ready: Callable[[str], None] | None = None,
    certfile: Path | None = None,
    keyfile: Path | None = None,
    insecure_http: bool = False,
    why_tls: str = "secrets would cross the network readable",
) -> None:
    """Serve ``app`` with uvicorn until interrupted (Ctrl-C, or SIGTERM), then return.

    Beyond loopback it needs ``certfile`` and ``keyfile`` (TLS) or ``insecure_http``, else
    ``ConfigError`` says why (``why_tls``: what plain HTTP would cost). The address is taken
    before anything is announced, so a port in use raises ``fail(message)`` (the caller's error
    class, a one-line message); ``ready`` is then called with the page's address (port 0 picks
    a free port, and the address says which).
    """
    import uvicorn

    problem = tls_problem(host, certfile, keyfile, insecure_http, why=why_tls)
    if problem:
        raise ConfigError(problem)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # no Nagle delay on the connections it accepts (they inherit it): a reply's headers and body
    # go out as two writes, and the body must not wait for the client's delayed ACK (40 ms)
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        listener.bind((host, port))
    except OSError as error:
        listener.close()
        raise fail(
            f"cannot listen on {host}:{port}: {error.strerror or error}; choose another --port or --host"
        ) from None
    # listening before the address is announced: a browser that is quicker than uvicorn's start
    # waits in the queue instead of being refused
    listener.listen(_BACKLOG)
    bound = listener.getsockname()[1]
    # uvicorn shuts down gracefully on SIGINT and SIGTERM, then raises the signal again with the
    # handler it found: make that a KeyboardInterrupt for SIGTERM too, so that a service manager
    # stopping the server ends it like Ctrl-C does (exit 0, "stopped") instead of by the signal
    previous = signal.signal(signal.SIGTERM, _interrupt)
    scheme = "https" if certfile else "http"
    config = uvicorn.Config(
        app,
        log_level="warning",
        ssl_certfile=None if certfile is None else str(certfile),
        ssl_keyfile=None if keyfile is None else str(keyfile),
        server_header=False,
        access_log=False,  # paths only, but a counter's log is no place for who came when
    )
    server = uvicorn.Server(config)
    address = f"{scheme}://{f'[{host}]' if family == socket.AF_INET6 else host}:{bound}/"

    def announce() -> None:
        # once uvicorn has started (its signal handlers in place, the app's start-up done), so
        # that whoever reads the address and stops the server at once gets a clean stop
        while not server.started:
            if server.should_exit:
                return
            time.sleep(0.02)
        if ready is not None:
            ready(address)

    try:
        threading.Thread(target=announce, name="announce", daemon=True).start()
        server.run(sockets=[listener])
    except KeyboardInterrupt:
        pass  # stopping is the normal end
    finally:
        signal.signal(signal.SIGTERM, previous)
        listener.close()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
