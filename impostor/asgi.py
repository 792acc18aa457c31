"""A small piece of ASGI shared by the web apps (practice, station): bodies refused before they
are read whole.

FastAPI turns any error raised while it reads a body into a 400, so a size limit must act before
the app sees the request: ``BodyLimit`` refuses a declared Content-Length over the limit at
once, and otherwise gathers the body (small by definition) as it arrives, refusing it as soon as
it passes the limit, then hands it to the app whole.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["BodyLimit"]


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
