"""The small pieces of ASGI shared by the web apps (practice, station): bodies refused before
they are read whole, and requests per address (rates per caller: ``impostor.web.limits``;
serving the apps: ``impostor.web.listen``).

FastAPI turns any error raised while it reads a body into a 400, so a size limit must act before
the app sees the request: ``BodyLimit`` refuses a declared Content-Length over the route's limit
at once, and otherwise gathers the body (small by definition) as it arrives, refusing it as soon
as it passes the limit, or when it has not all arrived within a time limit, then hands it to the
app whole. ``AddressLimit``, around everything, caps the requests one address has in flight and
ends the connection after any reply sent before its body was read, so a refused body is not
read afterwards at the client's pace. Each app words the refusals (``Reply``) in its own catalogue.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Callable
from typing import Any

__all__ = [
    "BODY_SECONDS",
    "REQUESTS_PER_ADDRESS",
    "AddressLimit",
    "BodyLimit",
    "Reply",
    "caller_of",
]

# the longest a request's body may take to arrive, from its headers on: 40 MB (two images at the
# largest upload) needs ~6 Mbit/s; a body that stalls holds its connection no longer than this
BODY_SECONDS = 60.0
# requests of one address in flight at once: a browser opens at most 6 connections to a host, and
# a station's two cores serve fewer comparisons than that at a time
REQUESTS_PER_ADDRESS = 8

# an IPv6 host is given a /64 of its own and may send from any address in it: it is one caller
IPV6_CALLER_PREFIX = 64


def caller_of(address: str) -> str:
    """Who a client address is, for every per-caller limit: an IPv4 address as it is (an
    IPv4-mapped IPv6 one too), an IPv6 address by its /64 network, anything else as given."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/{IPV6_CALLER_PREFIX}", strict=False))
    return str(parsed)


Reply = Callable[[int, str, str], bytes]
"""(HTTP status, code, message) → the JSON body an app refuses with, in its own catalogue's form;
the codes are ``too_large`` (413), ``too_slow`` (408) and ``rate_limited`` (429)."""


class BodyLimit:
    """ASGI middleware: a request body over ``limit`` bytes gets 413, one that has not all arrived
    ``seconds`` after the request began gets 408 (and its connection closed); ``reply`` words them.

    ``limit`` is a number of bytes, or a function of the request's path giving one (a camera
    frame is allowed less than a passport scan). A declared Content-Length over it is refused
    before any of the body is read; a body without one (chunked) is counted as it arrives.
    """

    def __init__(
        self, app: Any, limit: int | Callable[[str], int], reply: Reply, seconds: float = BODY_SECONDS
    ) -> None:
        self.app, self.reply, self.seconds = app, reply, seconds
        self.limit_of: Callable[[str], int] = limit if callable(limit) else (lambda path: limit)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        limit = self.limit_of(path)
        too_large = f"{path} accepts a body of at most {limit} bytes"
        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _refuse(send, self.reply, 413, "too_large", too_large)
            return
        try:
            async with asyncio.timeout(self.seconds):
                body = await _gather(receive, limit) if scope["method"] not in ("GET", "HEAD") else b""
        except TimeoutError:
            message = f"the request's body did not arrive within {self.seconds:g} s"
            await _refuse(send, self.reply, 408, "too_slow", message, close=True)
            return
        except _Gone:
            return  # nobody to answer
        if body is None:
            await _refuse(send, self.reply, 413, "too_large", too_large)
            return
        delivered = False

        async def replay() -> Any:
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


class AddressLimit:
    """ASGI middleware around a whole app: at most ``per_address`` requests of one client address
    in flight at once (429 beyond, its connection closed), and a reply sent before its request's
    body was read whole (a refusal) ends the connection. The reply goes out at once; the rest of
    the body is read and dropped for what remains of ``seconds`` after the request began, so an
    honest client reads the reply rather than a reset, and a slow one is cut off in time.
    """

    def __init__(
        self,
        app: Any,
        reply: Reply,
        per_address: int = REQUESTS_PER_ADDRESS,
        seconds: float = BODY_SECONDS,
    ) -> None:
        self.app, self.reply, self.per_address, self.seconds = app, reply, per_address, seconds
        self._in_flight: dict[str, int] = {}  # only addresses with a request open: bounded by them

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        address = caller_of(str((scope.get("client") or ("unknown", 0))[0]))
        if self._in_flight.get(address, 0) >= self.per_address:
            message = f"more than {self.per_address} requests at once from {address}: wait for one to end"
            await _refuse(send, self.reply, 429, "rate_limited", message, close=True, retry_after=1)
            return
        self._in_flight[address] = self._in_flight.get(address, 0) + 1
        deadline = asyncio.get_running_loop().time() + self.seconds
        read = not _has_body(scope)
        early = False

        async def reading() -> Any:
            nonlocal read
            message = await receive()
            read = read or message["type"] != "http.request" or not message.get("more_body", False)
            return message

        async def replying(message: Any) -> None:
            nonlocal early
            if message["type"] == "http.response.start" and not read:
                early = True
                headers = [*message.get("headers", [])]
                if (b"connection", b"close") not in headers:
                    message = {**message, "headers": [*headers, (b"connection", b"close")]}
            elif early and message["type"] == "http.response.body" and not message.get("more_body"):
                await send({**message, "more_body": True})
                await _drain(reading, deadline)
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        try:
            await self.app(scope, reading, replying)
        finally:
            self._in_flight[address] -= 1
            if not self._in_flight[address]:
                del self._in_flight[address]


class _Gone(Exception):
    """The client went away before its body had all arrived."""


async def _gather(receive: Any, limit: int) -> bytes | None:
    """The request's body as it arrives; None as soon as it passes ``limit`` bytes. Raises
    ``_Gone`` when the client disconnects first: half a body is never handed to the app, which
    could otherwise decide, and audit, on a request nobody is waiting for."""
    chunks: list[bytes] = []
    size, more = 0, True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            raise _Gone
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if size > limit:
            return None
        more = message.get("more_body", False)
    return b"".join(chunks)


async def _drain(receive: Any, deadline: float) -> None:
    """Read and drop the rest of a refused body, until it ends or ``deadline`` (loop time)."""
    try:
        async with asyncio.timeout_at(deadline):
            while True:
                message = await receive()
                if message["type"] != "http.request" or not message.get("more_body", False):
                    return
    except TimeoutError:
        return


async def _refuse(
    send: Any,
    reply: Reply,
    status: int,
    code: str,
    message: str,
    *,
    close: bool = False,
    retry_after: int | None = None,
) -> None:
    body = reply(status, code, message)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
    ]
    if close:
        headers.append((b"connection", b"close"))
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _header(scope: Any, name: bytes) -> str | None:
    value = dict(scope.get("headers", [])).get(name)
    return None if value is None else value.decode("latin-1")


def _has_body(scope: Any) -> bool:
    """Whether the request announces a body (a Content-Length above 0, or a chunked one)."""
    length = _header(scope, b"content-length")
    return _header(scope, b"transfer-encoding") is not None or (length is not None and length != "0")
