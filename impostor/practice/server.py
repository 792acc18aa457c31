"""The practice web app: a trainee signs in, judges pairs, and sees a score at the end.

The server alone holds the set's answer key. The browser gets an item as two image addresses
(by position, never by file name) and learns an item's truth only in the reply to its own
answer, and then only in practice mode; test mode reveals everything with the score, once
the last answer is recorded. Images are decoded and re-encoded, so no file name or metadata
reaches the page either.

Endpoints (JSON unless said):
    GET  /                                       the page (text comes from the catalogues)
    GET  /api/catalogue?lang=                    the page's text, language negotiated
    GET  /api/set                                the set's name, size and mode
    POST /api/sessions                           sign in (ID, and the code once there is a roster):
                                                 start or resume a session
    GET  /api/sessions/{token}/item              the current item's image addresses
    GET  /api/sessions/{token}/items/{k}/{side}  an image (JPEG) of an item shown or answered
    POST /api/sessions/{token}/answers           record an answer; feedback in practice mode
    GET  /api/sessions/{token}/score             the score, once every item is answered
    POST /api/trainer/sign-in                    the trainer's PIN for a bearer token (8 hours)
    GET  /api/trainer/live                       who has signed in, how far along, who has finished
    POST /api/trainer/sign-out                   end the trainer's token
    GET  /api/docs                               the OpenAPI page: every reply's shape
Wrong codes and PINs are limited per address (``SIGN_IN_FAILURES``, ``PIN_FAILURES`` a minute),
and every check of one costs a slow hash. Errors are ``{"error": code}`` with a 4xx status; the
page turns codes into catalogue text. The routes are ``impostor.practice.routes``, what they
share ``impostor.practice.serving``; the layers and the page are the web kit's (``impostor.web``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from impostor.errors import ImpostorError, PracticeError
from impostor.practice.routes import trainee_routes, trainer_routes
from impostor.practice.serving import IMAGE_SIDE, PIN_FAILURES, SIGN_IN_FAILURES, Practice, refused
from impostor.practice.sets import PracticeSet
from impostor.practice.store import Mode, PracticeStore
from impostor.web.asgi import AddressLimit, BodyLimit
from impostor.web.pages import OPENAPI, SecurityHeaders, add_docs, add_page
from impostor.web.refusal import Refusal, Translations, add_refusals, code_form, reply_in

__all__ = ["IMAGE_SIDE", "PIN_FAILURES", "SIGN_IN_FAILURES", "WHY_TLS", "create_app", "serve"]

_log = logging.getLogger("impostor.practice")

WHY_TLS = "trainees' codes and the trainer's PIN would cross the network readable"
# a sign-in or an answer is a few dozen bytes; nothing the page sends comes near this
MAX_BODY_BYTES = 16 * 1024
_refusal_body = reply_in(code_form)  # the ASGI layer's refusals: the catalogue code alone


def create_app(practice_set: PracticeSet, store: PracticeStore, mode: Mode) -> FastAPI:
    """The web app serving ``practice_set`` in ``mode``, recording into ``store``.

    Every image is checked against its digest first, so a changed or missing file stops the
    start (``PracticeError``) rather than a trainee's session.
    """
    app = FastAPI(title="impostor practice", version="1", docs_url=None, redoc_url=None, openapi_url=OPENAPI)
    app.state.practice = Practice(practice_set, store, mode)
    add_refusals(app, code_form, _Translations())
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES, reply=_refusal_body)
    app.add_middleware(AddressLimit, reply=_refusal_body)
    app.add_middleware(SecurityHeaders)
    app.include_router(trainee_routes)
    app.include_router(trainer_routes)
    add_docs(app, "impostor practice API")
    add_page(app, resources.files("impostor.practice") / "static")
    return app


class _Translations(Translations):
    """Practice's codes for what is not a refusal: the page words each from its catalogue."""

    def library(self, request: Request, error: ImpostorError) -> Refusal:
        # a set image changed or the results file broke while serving: the trainee sees a
        # message from the catalogue, the trainer's console the reason, in one line
        _log.error("%s %s: %s: %s", request.method, request.url.path, type(error).__name__, error)
        return refused("server", 500)

    def invalid(self, request: Request, error: RequestValidationError) -> Refusal:
        path = request.url.path
        if path.endswith("/answers"):
            return refused("bad_answer", 422)
        if path == "/api/sessions":
            return refused("bad_trainee", 422)
        return refused("bad_position" if "/items/" in path else "bad_request", 422)

    def http(self, request: Request, error: StarletteHTTPException) -> Refusal:
        codes = {404: "not_found", 405: "bad_request", 413: "too_large"}
        code = codes.get(error.status_code, "bad_request" if error.status_code < 500 else "server")
        return refused(code, error.status_code)


def serve(
    practice_set: PracticeSet,
    store: PracticeStore,
    mode: Mode,
    *,
    host: str,
    port: int,
    certfile: Path | None = None,
    keyfile: Path | None = None,
    insecure_http: bool = False,
    ready: Callable[[str], None] | None = None,
) -> None:
    """Serve the app with uvicorn until interrupted (Ctrl-C, or SIGTERM), then return.

    Beyond loopback the server needs a certificate and key (trainees' codes and the trainer's
    PIN cross the network), or ``insecure_http``; else ``ConfigError``. The address is taken
    before anything is announced, so a port in use is a one-line ``PracticeError``; ``ready``
    is then called with the page's address (port 0 picks a free port, and the address says which).
    """
    from impostor.web import listen

    listen.serve(
        create_app(practice_set, store, mode),
        host=host,
        port=port,
        fail=PracticeError,
        ready=ready,
        certfile=certfile,
        keyfile=keyfile,
        insecure_http=insecure_http,
        why_tls=WHY_TLS,
        reply=_refusal_body,
    )
