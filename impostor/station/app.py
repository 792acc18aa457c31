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
Every refusal and every error is the catalogue reply (``impostor.web.refusal.catalogue_form``):
never a traceback, never a 500 for a bad request. No image, PIN, key or cookie is logged. The
layers and the page are the web kit's (``impostor.web``); what is the station's own is the gate's
rule and the body sizes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from importlib import resources
from typing import Any

from fastapi import FastAPI, Request

from impostor import errors
from impostor.station.api import GUARDED, HEALTH, add_api
from impostor.station.counter import COOKIE, OPEN, add_counter
from impostor.station.service import Station, StationConfig, in_thread, refusal_of
from impostor.station.sessions import Lookup
from impostor.web.asgi import AddressLimit, BodyLimit
from impostor.web.forms import MemoryRoute
from impostor.web.gate import Gate, client, cookie, header, host_name, same_origin
from impostor.web.pages import CONTENT_SECURITY_POLICY, OPENAPI, SecurityHeaders, add_docs, add_page
from impostor.web.refusal import Refusal, Translations, add_refusals, catalogue_form, reply_in

__all__ = ["CONTENT_SECURITY_POLICY", "body_limit_of", "catalogue_body", "create_app"]

catalogue_body: Callable[[int, str, str], bytes] = reply_in(catalogue_form)
"""A refusal of the shared ASGI layer (``too_large``, ``too_slow``, ``rate_limited``) as the
catalogue's JSON, typed ``TooLarge``, ``TooSlow``, ``RateLimited``."""
_host_name = host_name  # the tests read Host names as the gate does


def create_app(config: StationConfig) -> FastAPI:
    """The station's app; models load at start-up (``config.warm``) and stay loaded.

    Raises ``StationError``, ``AuditError`` or ``ProfileError`` when a file it needs is unusable.
    """
    station = Station(config)
    app = FastAPI(
        title="impostor station",
        version="1",
        docs_url=None,  # served by add_docs from the swagger-ui-bundle package: a closed LAN has no CDN
        openapi_url=OPENAPI,
        redoc_url=None,
        lifespan=partial(_lifespan, station),
    )
    # a traveller's photo is parsed in memory, never spooled to a temporary file
    app.router.route_class = MemoryRoute
    app.state.station = station
    add_refusals(app, catalogue_form, _Translations())
    app.add_middleware(
        BodyLimit, limit=partial(body_limit_of, config), reply=catalogue_body, seconds=config.body_seconds
    )
    app.add_middleware(Gate, gate=partial(_gate, station), form=catalogue_form)
    app.add_middleware(
        AddressLimit,
        reply=catalogue_body,
        per_address=config.requests_per_address,
        seconds=config.body_seconds,
    )
    app.add_middleware(SecurityHeaders)
    add_api(app, station)
    add_counter(app, station)
    add_docs(app, "impostor station API")
    add_page(app, resources.files("impostor.station") / "static")
    return app


@asynccontextmanager
async def _lifespan(station: Station, app: FastAPI) -> AsyncIterator[None]:
    if station.config.warm:
        station.warm()
    yield
    station.close()


class _Translations(Translations):
    def library(self, request: Request, error: errors.ImpostorError) -> Refusal:
        return refusal_of(error)


# the images each upload route carries; every other route takes a small form or JSON
_IMAGES = {"/api/v1/verify": 2, "/api/v1/quality": 1, "/counter/document": 1, "/counter/live": 1}
# what a page's chip may add to a comparison: its files together (a chip holds about 100 kB;
# each file is held to a chip file's size on its own as it is read)
_CHIP_BYTES = {"/api/v1/verify": 2 * 2**20}


def body_limit_of(config: StationConfig, path: str) -> int:
    """The largest body a request to ``path`` may send, in bytes: its images (or camera frame) at
    their largest, a chip's files where the route takes them, and the form around them."""
    path = path.rstrip("/")
    if path == "/counter/frame":
        return config.max_frame_bytes + config.max_form_bytes
    images = _IMAGES.get(path, 0) * config.max_upload_bytes
    return images + _CHIP_BYTES.get(path, 0) + config.max_form_bytes


async def _gate(station: Station, scope: Any) -> Refusal | None:
    """Who is calling, and whether they may now: decided before any body is read."""
    path: str = scope["path"]
    if station.config.hosts is not None and host_name(header(scope, b"host")) not in station.config.hosts:
        return Refusal(400, "BadRequest", "this station does not answer to that host name", "bad_host")
    if path.startswith(GUARDED) or (path == HEALTH and header(scope, b"x-api-key")):
        return await _system_gate(station, scope)
    if path.startswith("/counter/"):
        return _officer_gate(station, scope)
    return None


async def _system_gate(station: Station, scope: Any) -> Refusal | None:
    """A system's API key (``X-API-Key``), and its rate."""
    key = header(scope, b"x-api-key")
    name = await in_thread(lambda: station.accounts.remembered_key(key)) if key else None
    if name is None and key:
        # a key not seen yet costs scrypt: counted per address first, one check at a time
        station.key_check_rate.check(client(scope))
        name = await in_thread(lambda: station.slowly(lambda: station.accounts.check_key(key)))
    if name is None:
        message = "no X-API-Key header" if not key else "the X-API-Key is not one this station issued"
        return Refusal(
            401, "Unauthorized", message + "; ask the station's administrator for a key", "unauthorized"
        )
    station.key_rate.check(name)
    scope.setdefault("state", {})["caller"] = name
    return None


def _officer_gate(station: Station, scope: Any) -> Refusal | None:
    """A page request: from this station's own page, by a signed-in officer within their rate
    (the sign-in itself: within its address's rate)."""
    path: str = scope["path"]
    if scope["method"] == "POST" and not same_origin(scope):
        # SameSite=Strict already keeps the cookie off such requests; this refuses them outright
        return Refusal(403, "CrossOrigin", "a request from another site", "cross_origin")
    if path == "/counter/signin":
        station.signin_rate.check(client(scope))
        return None
    if path in OPEN:
        return None
    token = cookie(scope, COOKIE)
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
