"""What both apps serve around their routes: the page and its files, the kit's shared script and
style (``/kit/``), the OpenAPI page, and the security headers on every reply.

The page's policy allows no inline script or style and nothing from another site: every script
is a file (``/kit/kit.js`` then the app's ``/static/app.js``), every style a stylesheet. The
OpenAPI page (``/api/docs``) starts Swagger UI with an inline script, so it alone goes without the
policy; its files come from the ``swagger-ui-bundle`` package, as a closed LAN has no CDN.
"""

from __future__ import annotations

from importlib import resources
from importlib.abc import Traversable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "DOCS",
    "OPENAPI",
    "SecurityHeaders",
    "add_docs",
    "add_page",
]

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "media-src 'self' blob: mediastream:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
DOCS = "/api/docs"  # the OpenAPI page: Swagger UI starts with an inline script, so not the policy
OPENAPI = "/api/openapi.json"
_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"permissions-policy", b"camera=(self), microphone=(), geolocation=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class SecurityHeaders:
    """ASGI middleware adding the security headers (the policy above, no framing, no referrer,
    no sniffing) to every reply but the OpenAPI page's."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] == DOCS:
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *_HEADERS]}
            await send(message)

        await self.app(scope, receive, with_headers)


def add_page(app: FastAPI, static: Traversable) -> None:
    """Serve the app's page: ``/`` is ``static``'s index.html (checked again on every load),
    ``/static/`` its other files, and ``/kit/`` the script and style both pages share."""
    kit = resources.files("impostor.web") / "static"
    app.mount("/kit", StaticFiles(directory=str(kit)), name="kit")
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    index = str(static / "index.html")

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(index, headers={"Cache-Control": "no-cache"})


def add_docs(app: FastAPI, title: str) -> None:
    """Serve the OpenAPI page of ``app`` (made with ``openapi_url=OPENAPI``, ``docs_url=None``) at
    ``/api/docs``, from the swagger-ui-bundle package's files."""
    from swagger_ui_bundle import swagger_ui_path

    app.mount(f"{DOCS}/static", StaticFiles(directory=str(swagger_ui_path)), name="docs-static")

    @app.get(DOCS, include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=OPENAPI,
            title=title,
            swagger_js_url=f"{DOCS}/static/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS}/static/swagger-ui.css",
            swagger_favicon_url=f"{DOCS}/static/favicon-32x32.png",
        )
