"""Uploaded forms parsed in memory, per route: a traveller's photo never goes to a temporary file.

Starlette's form parser writes an uploaded file over 1 MB to a temporary file on disk while it
parses (a ``SpooledTemporaryFile``): a traveller's photo on disk, unencrypted. The body limit
(``impostor.web.asgi.BodyLimit``) has already read the whole body into memory and bounded it, so
the routes of a ``MemoryRoute`` (``router()``) keep the parsed parts in memory too. It is a
route class, not a change to Starlette's parser: other apps in the same process are untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from contextlib import aclosing
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute
from python_multipart.multipart import parse_options_header
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException, MultiPartParser

__all__ = ["MemoryRoute", "router"]


class _InMemoryParser(MultiPartParser):
    # a SpooledTemporaryFile with max_size 0 never rolls over to disk; the body limit bounds it
    spool_max_size = 0


class _InMemoryRequest(Request):
    async def _get_form(
        self,
        *,
        max_files: int | float = 1000,
        max_fields: int | float = 1000,
        max_part_size: int = 1024 * 1024,
    ) -> FormData:
        if self._form is None:
            content_type, _ = parse_options_header(self.headers.get("Content-Type"))
            if content_type == b"multipart/form-data":
                try:
                    async with aclosing(self.stream()) as stream:
                        parser = _InMemoryParser(
                            self.headers,
                            stream,
                            max_files=max_files,
                            max_fields=max_fields,
                            max_part_size=max_part_size,
                        )
                        self._form = await parser.parse()
                except MultiPartException as error:
                    raise HTTPException(status_code=400, detail=error.message) from None
        return await super()._get_form(
            max_files=max_files, max_fields=max_fields, max_part_size=max_part_size
        )


class MemoryRoute(APIRoute):
    """A FastAPI route whose uploaded files stay in memory while the form is parsed."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """FastAPI's handler, given a request that parses multipart forms in memory."""
        handler = super().get_route_handler()

        async def in_memory(request: Request) -> Response:
            return await handler(_InMemoryRequest(request.scope, request.receive))

        return in_memory


def router(**options: Any) -> APIRouter:
    """An ``APIRouter`` (``options`` as its own) whose routes parse uploads in memory."""
    return APIRouter(route_class=MemoryRoute, **options)
