"""Listening: the rule for serving beyond loopback (TLS or a loud opt-out), uvicorn's HTTP
protocol with the limits it lacks before a request reaches the app (a time limit on a request's
headers, a cap on one address's connections), and serving an app on an address taken before it
is announced. What the apps do with the requests themselves is ``impostor.web.asgi``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import signal
import socket
import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from impostor.errors import ConfigError
from impostor.files import open_regular, why_unreadable
from impostor.web.asgi import Reply, caller_of

__all__ = [
    "CONNECTIONS_PER_ADDRESS",
    "HEADER_SECONDS",
    "LOOPBACK_NAMES",
    "http_protocol",
    "is_loopback",
    "serve",
    "tls_problem",
]

_BACKLOG = 2048  # uvicorn's own default
# before a request reaches the app (uvicorn has no such limits): a request's headers arrive
# within this of the connection's start or of the last reply, and one address holds at most this
# many connections at once (a browser's 6, and keep-alive ones on their way out)
HEADER_SECONDS = 10.0
CONNECTIONS_PER_ADDRESS = 16

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
        for path in (certfile, keyfile):
            try:  # OpenSSL would wait for ever on a FIFO
                open_regular(path).close()
            except OSError as error:
                return (
                    f"cannot use {path} for TLS ({why_unreadable(error)}): give a PEM certificate and its key"
                )
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


def http_protocol(
    reply: Reply,
    *,
    per_address: int = CONNECTIONS_PER_ADDRESS,
    header_seconds: float = HEADER_SECONDS,
) -> type[asyncio.Protocol]:
    """uvicorn's HTTP/1.1 protocol (h11) with what it lacks before a request reaches the app: a
    connection beyond ``per_address`` open from one address gets 429 and is closed at once, and
    one whose request headers have not all come ``header_seconds`` after it opened (or after its
    last reply) is closed. Give it to ``uvicorn.Config(http=...)``.
    """
    from uvicorn.protocols.http.h11_impl import H11Protocol

    open_from: dict[str, int] = {}  # only addresses with a connection open: bounded by them

    class Guarded(H11Protocol):
        _address: str | None = None  # set while this connection is counted
        _headers_due: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            address = caller_of(str(self.client[0])) if self.client else "unknown"
            if open_from.get(address, 0) >= per_address:
                message = f"more than {per_address} connections at once from {address}: close one"
                body = reply(429, "rate_limited", message)
                transport.write(
                    b"HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\n"
                    + b"content-length: %d\r\nretry-after: 1\r\ncache-control: no-store\r\n" % len(body)
                    + b"connection: close\r\n\r\n"
                    + body
                )
                transport.close()
                return
            open_from[address] = open_from.get(address, 0) + 1
            self._address = address
            self._await_headers()

        def connection_lost(self, exc: Exception | None) -> None:
            self._headers_came()
            if self._address is not None:
                open_from[self._address] -= 1
                if not open_from[self._address]:
                    del open_from[self._address]
                self._address = None
            super().connection_lost(exc)

        def handle_events(self) -> None:
            super().handle_events()
            if self.cycle is not None and not self.cycle.response_complete:
                self._headers_came()

        def on_response_complete(self) -> None:
            # armed before uvicorn goes on to a pipelined request, which then disarms it
            self._await_headers()
            super().on_response_complete()

        def _await_headers(self) -> None:
            self._headers_came()
            self._headers_due = self.loop.call_later(header_seconds, self._headers_late)

        def _headers_came(self) -> None:
            if self._headers_due is not None:
                self._headers_due.cancel()
                self._headers_due = None

        def _headers_late(self) -> None:
            self._headers_due = None
            waiting = self.cycle is None or self.cycle.response_complete
            if waiting and not self.transport.is_closing():
                self.transport.close()

    return Guarded


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
    reply: Reply | None = None,
) -> None:
    """Serve ``app`` with uvicorn until interrupted (Ctrl-C, or SIGTERM), then return.

    Beyond loopback it needs ``certfile`` and ``keyfile`` (TLS) or ``insecure_http``, else
    ``ConfigError`` says why (``why_tls``: what plain HTTP would cost). The address is taken
    before anything is announced, so a port in use raises ``fail(message)`` (the caller's error
    class, a one-line message); ``ready`` is then called with the page's address (port 0 picks
    a free port, and the address says which). Connections are held to ``http_protocol``'s limits,
    refused in the words of ``reply`` (the app's catalogue; a bare code when None).
    """
    import uvicorn

    problem = tls_problem(host, certfile, keyfile, insecure_http, why=why_tls)
    if problem:
        raise ConfigError(problem)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = _listen(host, port, family, fail)
    bound = listener.getsockname()[1]
    # uvicorn shuts down gracefully on SIGINT and SIGTERM, then raises the signal again with the
    # handler it found: make that a KeyboardInterrupt for SIGTERM too, so that a service manager
    # stopping the server ends it like Ctrl-C does (exit 0, "stopped") instead of by the signal
    previous = signal.signal(signal.SIGTERM, _interrupt)
    # python-multipart logs each malformed body it meets, and the refusal already says it: quiet
    # while serving (like the signal, set by the server and put back, not by creating an app)
    multipart_log = logging.getLogger("python_multipart")
    multipart_level = multipart_log.level
    multipart_log.setLevel(logging.ERROR)
    scheme = "https" if certfile else "http"
    config = uvicorn.Config(
        app,
        log_level="warning",
        ssl_certfile=None if certfile is None else str(certfile),
        ssl_keyfile=None if keyfile is None else str(keyfile),
        server_header=False,
        access_log=False,  # paths only, but a counter's log is no place for who came when
        http=http_protocol(reply or _bare_code),
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
        multipart_log.setLevel(multipart_level)
        listener.close()


def _listen(
    host: str, port: int, family: socket.AddressFamily, fail: Callable[[str], Exception]
) -> socket.socket:
    """A socket listening on ``host``:``port``; ``fail(message)`` raised when it cannot be taken."""
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
    return listener


def _bare_code(status: int, code: str, message: str) -> bytes:
    return json.dumps({"error": code}).encode()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
