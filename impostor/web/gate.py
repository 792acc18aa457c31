"""The gate: who is calling and whether they may now, decided from a request's headers before its
body is read, and what a gate reads of a request (its headers, address, cookie, Origin, Host).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import urlsplit

from impostor.web.asgi import caller_of
from impostor.web.refusal import Form, Refusal, refusal_response

__all__ = ["Gate", "client", "cookie", "header", "host_name", "same_origin"]

_DEFAULT_PORTS = {"http": 80, "https": 443}


class Gate:
    """ASGI middleware: ``gate(scope)`` may refuse an HTTP request (return or raise a
    ``Refusal``, answered in ``form``) before the app, and the request's body, is seen; it may
    also leave what it found in ``scope["state"]`` for the routes."""

    def __init__(self, app: Any, gate: Callable[[Any], Awaitable[Refusal | None]], form: Form) -> None:
        self.app, self.gate, self.form = app, gate, form

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            try:
                refusal = await self.gate(scope)
            except Refusal as raised:
                refusal = raised
            if refusal is not None:
                await refusal_response(refusal, self.form)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def header(scope: Any, name: bytes) -> str:
    """One request header from an ASGI scope ('' when absent); ``name`` in lower case."""
    return str(dict(scope.get("headers", [])).get(name, b"").decode("latin-1"))


def client(scope: Any) -> str:
    """Who the request comes from, as every per-caller limit counts it (``caller_of``)."""
    return caller_of(str((scope.get("client") or ("unknown", 0))[0]))


def cookie(scope: Any, name: str) -> str:
    """The value of cookie ``name`` ('' when absent or the Cookie header is malformed)."""
    raw = header(scope, b"cookie")
    if not raw:
        return ""
    try:
        jar = SimpleCookie(raw)
    except CookieError:
        return ""
    morsel = jar.get(name)
    return morsel.value if morsel is not None else ""


def host_name(host: str) -> str:
    """A Host header's name: ``127.0.0.1:8080`` → ``127.0.0.1``; ``[::1]:8080`` → ``::1``."""
    if host.startswith("["):
        return host[1:].split("]", 1)[0].lower()
    return host.rsplit(":", 1)[0].lower() if host.count(":") == 1 else host.lower()


def same_origin(scope: Any) -> bool:
    """False for a browser request sent from another site's page (its Origin names that site).

    The Origin must name this server exactly: the scheme the request came by, its host and its
    port (an ``https://`` page is another site than the ``http://`` server on the same host).
    Requests without an Origin (curl, a test client) are not from a page.
    """
    origin = header(scope, b"origin")
    if not origin:
        return True
    theirs = _origin(origin)
    ours = _origin(f"{scope.get('scheme', 'http')}://{header(scope, b'host')}")
    return theirs is not None and theirs == ours


def _origin(url: str) -> tuple[str, str, int] | None:
    """``(scheme, host, port)`` of an Origin, default ports filled in; None when it is not one
    (``null``, another scheme, no host)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # a port that is not a number, a bracket left open
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return parts.scheme, parts.hostname, port or _DEFAULT_PORTS[parts.scheme]
