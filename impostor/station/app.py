"""The station as one ASGI app: the officers' page and the HTTP API, behind one gate.

Order of the layers a request meets, outermost first:
1. security headers on every reply (a Content-Security-Policy with no inline script, no framing,
   no referrer, no caching of anything personal);
2. the address limit (``impostor.web.asgi.AddressLimit``): at most ``requests_per_address`` requests
   of one address in flight (429), and any reply sent before its body was read ends the connection
   once the rest of the body is dropped, within ``body_seconds``;
3. the gate, which decides who is calling and whether they may now, before any body is read:
   an API key (``X-API-Key``) for ``/api/v1/verify`` and ``/quality``, the session cookie for the
   page's ``/counter/…`` routes, a per-address rate for sign-ins; refusals are 401, 403 and 429;
4. the body limit (413 as soon as a body passes the size its route allows, 408 when it has not
   all arrived within ``body_seconds``);
5. the routes (``impostor.station.api``, ``impostor.station.counter``) and the static page.
Every refusal and every error is the catalogue reply (``impostor.station.service``): never a
traceback, never a 500 for a bad request. No image, PIN, key or cookie is logged.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http.cookies import CookieError, SimpleCookie
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartParser
from swagger_ui_bundle import swagger_ui_path

from impostor import errors
from impostor.station.api import GUARDED, HEALTH, add_api
from impostor.station.counter import COOKIE, OPEN, add_counter
from impostor.station.service import (
    Refusal,
    Station,
    StationConfig,
    catalogue_reply,
    header,
    in_thread,
    refusal_of,
)
from impostor.station.sessions import Lookup
from impostor.web.asgi import AddressLimit, BodyLimit, caller_of

__all__ = ["CONTENT_SECURITY_POLICY", "body_limit_of", "catalogue_body", "create_app"]

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "media-src 'self' blob: mediastream:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"permissions-policy", b"camera=(self), microphone=(), geolocation=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
_DOCS = ("/api/docs",)  # the docs page starts Swagger UI with an inline script: not the page's policy


def create_app(config: StationConfig) -> FastAPI:
    """The station's app; models load at start-up (``config.warm``) and stay loaded.

    Raises ``StationError``, ``AuditError`` or ``ProfileError`` when a file it needs is unusable.
    """
    station = Station(config)
    # python-multipart logs each malformed body it meets: the catalogue reply already says it
    logging.getLogger("python_multipart").setLevel(logging.ERROR)
    # Starlette writes an uploaded file over 1 MB to a temporary file while it parses the form: a
    # traveller's photo on disk, unencrypted. The body limit has already read the whole body into
    # memory, so the parser keeps it there too.
    MultiPartParser.spool_max_size = max(
        MultiPartParser.spool_max_size, body_limit_of(config, "/api/v1/verify")
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if config.warm:
            station.warm()
        yield
        station.close()

    app = FastAPI(
        title="impostor station",
        version="1",
        docs_url=None,  # served below from the swagger-ui-bundle package: a closed LAN has no CDN
        openapi_url="/api/openapi.json",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.station = station

    @app.exception_handler(Refusal)
    async def refused(request: Request, error: Refusal) -> JSONResponse:
        return catalogue_reply(error)

    @app.exception_handler(errors.ImpostorError)
    async def failed(request: Request, error: errors.ImpostorError) -> JSONResponse:
        return catalogue_reply(refusal_of(error))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        problems = error.errors()
        if any(problem.get("type") == "json_invalid" for problem in problems):
            message = "the body is not valid JSON"
        else:
            missing = sorted({str(problem.get("loc", ("", "?"))[-1]) for problem in problems})
            message = f"missing or malformed: {', '.join(missing)}"
        return catalogue_reply(Refusal(422, "BadRequest", message, "bad_request"))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "bad_request")
        return catalogue_reply(Refusal(error.status_code, "BadRequest", str(error.detail), code))

    def body_limit(path: str) -> int:
        return body_limit_of(config, path)

    app.add_middleware(BodyLimit, limit=body_limit, reply=catalogue_body, seconds=config.body_seconds)

    async def gate(scope: Any) -> Refusal | None:
        """Who is calling, and whether they may now: decided before any body is read."""
        path: str = scope["path"]
        if config.hosts is not None and _host_name(header(scope, b"host")) not in config.hosts:
            return Refusal(400, "BadRequest", "this station does not answer to that host name", "bad_host")
        if path.startswith(GUARDED) or (path == HEALTH and header(scope, b"x-api-key")):
            key = header(scope, b"x-api-key")
            name = await in_thread(lambda: station.accounts.remembered_key(key)) if key else None
            if name is None and key:
                # a key not seen yet costs scrypt: counted per address first, one check at a time
                station.key_check_rate.check(_client(scope))
                name = await in_thread(lambda: station.slowly(lambda: station.accounts.check_key(key)))
            if name is None:
                message = "no X-API-Key header" if not key else "the X-API-Key is not one this station issued"
                return Refusal(
                    401,
                    "Unauthorized",
                    message + "; ask the station's administrator for a key",
                    "unauthorized",
                )
            station.key_rate.check(name)
            scope.setdefault("state", {})["caller"] = name
            return None
        if not path.startswith("/counter/"):
            return None
        if scope["method"] == "POST" and not _same_origin(scope):
            return Refusal(403, "CrossOrigin", "a request from another site", "cross_origin")
        if path == "/counter/signin":
            station.signin_rate.check(_client(scope))
            return None
        if path in OPEN:
            return None
        token = _cookie(scope)
        found = station.sessions.get(token, active=path != "/counter/frame") if token else Lookup.SIGNED_OUT
        if isinstance(found, Lookup):
            message = "signed out" if found is Lookup.SIGNED_OUT else "the session ended after idle time"
            return Refusal(401, "Unauthorized", message + ": sign in again", found.value)
        if path == "/counter/frame":
            station.frame_rate.check(found.operator)
        elif scope["method"] == "POST" and path != "/counter/signout":
            station.operator_rate.check(found.operator)
        scope.setdefault("state", {}).update(session=found, token=token)
        return None

    app.add_middleware(_Gate, gate=gate)
    app.add_middleware(
        AddressLimit,
        reply=catalogue_body,
        per_address=config.requests_per_address,
        seconds=config.body_seconds,
    )
    app.add_middleware(_SecurityHeaders)

    add_api(app, station)
    add_counter(app, station)

    app.mount("/api/docs/static", StaticFiles(directory=str(swagger_ui_path)), name="docs-static")

    @app.get("/api/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/api/openapi.json",
            title="impostor station API",
            swagger_js_url="/api/docs/static/swagger-ui-bundle.js",
            swagger_css_url="/api/docs/static/swagger-ui.css",
            swagger_favicon_url="/api/docs/static/favicon-32x32.png",
        )

    static = resources.files("impostor.station") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(str(static / "index.html"), headers={"Cache-Control": "no-cache"})

    return app


# the images each upload route carries; every other route takes a small form or JSON
_IMAGES = {"/api/v1/verify": 2, "/api/v1/quality": 1, "/counter/document": 1, "/counter/live": 1}


def body_limit_of(config: StationConfig, path: str) -> int:
    """The largest body a request to ``path`` may send, in bytes: its images (or camera frame) at
    their largest, and the form around them."""
    path = path.rstrip("/")
    if path == "/counter/frame":
        return config.max_frame_bytes + config.max_form_bytes
    return _IMAGES.get(path, 0) * config.max_upload_bytes + config.max_form_bytes


def catalogue_body(status: int, code: str, message: str) -> bytes:
    """A refusal of the shared ASGI layer (``too_large``, ``too_slow``, ``rate_limited``) as the
    catalogue's JSON, typed ``TooLarge``, ``TooSlow``, ``RateLimited``."""
    kind = "".join(word.title() for word in code.split("_"))
    return json.dumps({"error": {"type": kind, "message": message, "code": code}}).encode()


def _host_name(host: str) -> str:
    """``127.0.0.1:8080`` → ``127.0.0.1``; ``[::1]:8080`` → ``::1``."""
    if host.startswith("["):
        return host[1:].split("]", 1)[0].lower()
    return host.rsplit(":", 1)[0].lower() if host.count(":") == 1 else host.lower()


def _client(scope: Any) -> str:
    return caller_of(str((scope.get("client") or ("unknown", 0))[0]))


def _cookie(scope: Any) -> str:
    raw = header(scope, b"cookie")
    if not raw:
        return ""
    try:
        jar = SimpleCookie(raw)
    except CookieError:
        return ""
    morsel = jar.get(COOKIE)
    return morsel.value if morsel is not None else ""


def _same_origin(scope: Any) -> bool:
    """False for a browser request sent from another site's page (its Origin names that site).

    The Origin must name this station exactly: the scheme the request came by, its host and its
    port (an ``https://`` page is another site than the ``http://`` station on the same host).
    SameSite=Strict already keeps the cookie off such requests; this refuses them outright,
    sign-ins included. Requests without an Origin (curl, a test client) are not from a page.
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


class _Gate:
    """ASGI middleware: ``gate(scope)`` may refuse a request before the app (and its body) is seen."""

    def __init__(self, app: Any, gate: Any) -> None:
        self.app, self.gate = app, gate

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            try:
                refusal = await self.gate(scope)
            except Refusal as raised:
                refusal = raised
            if refusal is not None:
                await catalogue_reply(refusal)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class _SecurityHeaders:
    """ASGI middleware adding the security headers to every reply."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] in _DOCS:
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *_HEADERS]}
            await send(message)

        await self.app(scope, receive, with_headers)
