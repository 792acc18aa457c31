"""Refusals: the one exception for a request an app will not serve, and the one way it is answered.

A route, a dependency or a gate raises ``Refusal(status, kind, message, code, **extra)``; the
handler ``add_refusals`` installs turns it into JSON in the app's own *form*:

- ``catalogue_form`` (the station): ``{"error": {"type", "message", "code", **extra}}``;
- ``code_form`` (practice): ``{"error": code}``, which the page turns into catalogue text.

Every refusal reply is never cached, and one with ``retry_after_seconds`` says when to try again
(``Retry-After``). The same form words the refusals of the ASGI layer (``reply_in``), which answer
before the app sees a request, so a client reads one shape whoever refused it. Library errors,
malformed requests and Starlette's own 404/405 are each turned into a ``Refusal`` by a function
the app gives, so nothing reaches the client as a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from impostor.errors import ImpostorError

__all__ = [
    "Form",
    "Refusal",
    "Translations",
    "add_refusals",
    "catalogue_form",
    "code_form",
    "kind_of",
    "refusal_response",
    "reply_in",
]


class Refusal(Exception):
    """A request an app will not serve. ``status`` is the HTTP status (4xx, or 5xx for the app's
    own faults), ``kind`` a CamelCase type name, ``message`` English for a person reading a log
    or a system, ``code`` the catalogue code a page words; ``extra`` goes into a catalogue-form
    body as it is (``retry_after_seconds`` also becomes the ``Retry-After`` header)."""

    def __init__(self, status: int, kind: str, message: str, code: str, **extra: object) -> None:
        super().__init__(message)
        self.status, self.kind, self.code, self.extra = status, kind, code, extra


Form = Callable[[Refusal], dict[str, Any]]
"""A refusal → the JSON object an app answers it with."""


def catalogue_form(refusal: Refusal) -> dict[str, Any]:
    """``{"error": {"type", "message", "code", **extra}}``: a system reads the code, a person the message."""
    return {"error": {"type": refusal.kind, "message": str(refusal), "code": refusal.code, **refusal.extra}}


def code_form(refusal: Refusal) -> dict[str, Any]:
    """``{"error": code}``: only the catalogue code, for a page that words it itself."""
    return {"error": refusal.code}


def kind_of(code: str) -> str:
    """The CamelCase kind of a snake_case code: ``too_large`` → ``TooLarge``."""
    return "".join(word.title() for word in code.split("_"))


def refusal_response(refusal: Refusal, form: Form) -> JSONResponse:
    """``refusal`` as a JSON reply in ``form``, never cached; ``Retry-After`` when it says when."""
    headers = {"Cache-Control": "no-store"}
    if "retry_after_seconds" in refusal.extra:
        headers["Retry-After"] = str(refusal.extra["retry_after_seconds"])
    return JSONResponse(form(refusal), status_code=refusal.status, headers=headers)


def reply_in(form: Form) -> Callable[[int, str, str], bytes]:
    """The ASGI layer's ``Reply`` (status, code, message → body bytes) in ``form``: the body and
    address limits and the connection guard refuse in the same shape as the routes."""

    def reply(status: int, code: str, message: str) -> bytes:
        return json.dumps(form(Refusal(status, kind_of(code), message, code))).encode()

    return reply


class Translations:
    """How an app turns what is not a ``Refusal`` into one; each method may be overridden.

    The defaults: a library error is a 422 ``bad_request`` in its own words; a malformed request
    a 422 naming the fields; Starlette's 404 ``not_found``, 405 ``method_not_allowed``, any other
    ``bad_request``.
    """

    def library(self, request: Request, error: ImpostorError) -> Refusal:
        """The refusal for a library error raised while serving ``request``."""
        return Refusal(422, type(error).__name__, str(error), "bad_request")

    def invalid(self, request: Request, error: RequestValidationError) -> Refusal:
        """The refusal for a body or parameters that do not fit the route."""
        problems = error.errors()
        if any(problem.get("type") == "json_invalid" for problem in problems):
            message = "the body is not valid JSON"
        else:
            missing = sorted({str(problem.get("loc", ("", "?"))[-1]) for problem in problems})
            message = f"missing or malformed: {', '.join(missing)}"
        return Refusal(422, "BadRequest", message, "bad_request")

    def http(self, request: Request, error: StarletteHTTPException) -> Refusal:
        """The refusal for Starlette's own errors (no such route, a method it does not take)."""
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "bad_request")
        return Refusal(error.status_code, "BadRequest", str(error.detail), code)


def add_refusals(app: FastAPI, form: Form, translations: Translations | None = None) -> None:
    """Answer every ``Refusal`` raised in ``app`` in ``form``, and every library error, malformed
    request and Starlette error through ``translations`` (the defaults when None) first."""
    translate = translations or Translations()

    async def refused(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, Refusal)
        return refusal_response(error, form)

    async def failed(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, ImpostorError)
        return refusal_response(translate.library(request, error), form)

    async def invalid(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        return refusal_response(translate.invalid(request, error), form)

    async def http_error(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, StarletteHTTPException)
        return refusal_response(translate.http(request, error), form)

    app.add_exception_handler(Refusal, refused)
    app.add_exception_handler(ImpostorError, failed)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(StarletteHTTPException, http_error)
