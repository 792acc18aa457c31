"""The station's HTTP API, for the systems around the counter (e-gates, document readers, review
tools): the same comparison as ``impostor compare``, over HTTP, warm.

    POST /api/v1/verify     multipart ``document`` and ``live``: the JSON of ``compare --json``
    POST /api/v1/quality    multipart ``image`` and a ``side`` field: the JSON of ``quality --json``
    GET  /api/v1/health     models loaded, the profile, whether the audit log takes writes
    GET  /api/docs          the OpenAPI page

Each system sends its own key in the ``X-API-Key`` header (``impostor station add-key``); every
comparison is appended to the audit log under the station's name and the key's name. Limits act
before a body is read whole: the upload size (413), then the requests per minute of each key
(429). Every refusal is the error catalogue as JSON, ``{"error": {"type", "message", "code"}}``,
with a 4xx status: never a traceback, never a 500 for a bad request. No image and no key is
ever logged.
"""

# no ``from __future__ import annotations``: FastAPI reads the endpoints' annotations at run time,
# and those name dependencies defined inside ``create_app``
import json
import threading
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, File, Form, Header, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from impostor import errors
from impostor.asgi import BodyLimit
from impostor.audit import AuditLog
from impostor.embed import PooledEmbedder
from impostor.pipeline import Verifier
from impostor.station.accounts import Accounts
from impostor.types import Verdict

__all__ = ["ApiConfig", "create_app"]

_GUARDED = ("/api/v1/verify", "/api/v1/quality")  # what needs a key: every route but health and docs

# (HTTP status, catalogue code) of each error; a subclass takes its nearest listed ancestor's
_STATUS: dict[type[errors.ImpostorError], tuple[int, str]] = {
    errors.InputError: (422, "unusable_image"),
    errors.NotAnImage: (422, "not_an_image"),
    errors.UnsupportedImage: (422, "unsupported_image"),
    errors.ImageTooLarge: (413, "too_large"),
    errors.NoFaceFound: (422, "no_face"),
    errors.ConfigError: (400, "bad_request"),
}


@dataclass(frozen=True)
class ApiConfig:
    """What the API needs: where its accounts, profile and audit log are, and its limits."""

    accounts: Path | None = None  # the station database (IMPOSTOR_STATION_DB when None)
    audit_db: Path | None = None  # the audit log (IMPOSTOR_AUDIT_DB when None)
    profile: Path | None = None  # the calibration profile (the shipped one when None)
    station: str = "station"  # the name this station logs under
    max_upload_bytes: int = 20 * 2**20  # each image
    requests_per_minute: int = 120  # each key
    warm: bool = True  # load the models before the first request


class _Refusal(Exception):
    def __init__(self, status: int, kind: str, message: str, code: str) -> None:
        super().__init__(message)
        self.status, self.kind, self.code = status, kind, code


def _catalogue(status: int, kind: str, message: str, code: str) -> JSONResponse:
    return JSONResponse({"error": {"type": kind, "message": message, "code": code}}, status_code=status)


@dataclass
class _RateLimiter:
    """At most ``per_minute`` requests of each key in any sixty seconds (a sliding window)."""

    per_minute: int
    _seen: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def allow(self, key: str) -> float | None:
        """None when ``key`` may go on; else the seconds until it may."""
        now = time.monotonic()
        with self._lock:
            seen = self._seen[key]
            while seen and now - seen[0] >= 60.0:
                seen.popleft()
            if len(seen) >= self.per_minute:
                return 60.0 - (now - seen[0])
            seen.append(now)
            return None


def create_app(config: ApiConfig) -> FastAPI:
    """The API as an ASGI app; models load at start-up (``config.warm``) and stay loaded."""
    accounts = Accounts(config.accounts)
    logs = _Logs(config.audit_db)
    logs.log()  # a log that cannot be opened stops the start
    verifier = Verifier(config.profile, embedder=PooledEmbedder())
    _ = verifier.profile  # a bad profile stops the start, not a traveller's comparison
    limiter = _RateLimiter(config.requests_per_minute)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if config.warm:
            _warm(verifier)
        yield
        verifier.close()

    app = FastAPI(
        title="impostor station API",
        version="1",
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
        redoc_url=None,
        lifespan=lifespan,
    )
    # two images and the form around them; each image is checked against its own limit below
    refusal = {
        "type": "TooLarge",
        "message": "the request is larger than the station accepts",
        "code": "too_large",
    }
    app.add_middleware(
        BodyLimit, limit=2 * config.max_upload_bytes + 2**16, refusal=json.dumps({"error": refusal}).encode()
    )

    @app.exception_handler(_Refusal)
    async def refused(request: Request, error: _Refusal) -> JSONResponse:
        return _catalogue(error.status, error.kind, str(error), error.code)

    @app.exception_handler(errors.ImpostorError)
    async def failed(request: Request, error: errors.ImpostorError) -> JSONResponse:
        status, code = next(
            (_STATUS[kind] for kind in type(error).__mro__ if kind in _STATUS), (503, "station_unavailable")
        )
        return _catalogue(status, type(error).__name__, str(error), code)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        missing = sorted({str(problem.get("loc", ("", "?"))[-1]) for problem in error.errors()})
        return _catalogue(422, "BadRequest", f"missing or malformed: {', '.join(missing)}", "bad_request")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "bad_request")
        return _catalogue(error.status_code, "BadRequest", str(error.detail), code)

    async def gate(scope: Any, receive: Any, send: Any, call_next: Any) -> None:
        """Who is calling, and whether they may now: decided before any body is read."""
        if scope["type"] != "http" or not scope["path"].startswith(_GUARDED):
            await call_next(scope, receive, send)
            return
        key = dict(scope.get("headers", [])).get(b"x-api-key", b"").decode("latin-1")
        name = await _in_thread(lambda: accounts.check_key(key)) if key else None  # scrypt: off the loop
        if name is None:
            message = "no X-API-Key header" if not key else "the X-API-Key is not one this station issued"
            refusal = _Refusal(
                401, "Unauthorized", message + "; ask the station's administrator for a key", "unauthorized"
            )
        elif (wait := limiter.allow(name)) is not None:
            refusal = _Refusal(
                429,
                "RateLimited",
                f"more than {limiter.per_minute} requests a minute; wait {wait:.0f} s",
                "rate_limited",
            )
        else:
            scope.setdefault("state", {})["caller"] = name
            await call_next(scope, receive, send)
            return
        reply = _catalogue(refusal.status, refusal.kind, str(refusal), refusal.code)
        await reply(scope, receive, send)

    # the outermost first: the key and the rate before the body limit reads anything
    app.add_middleware(_Gate, gate=gate)

    def caller(request: Request, x_api_key: Annotated[str | None, Header()] = None) -> str:
        """The calling system's name, as the gate found it (the header is named for the docs)."""
        return str(request.state.caller)

    async def read(upload: UploadFile, part: str) -> bytes:
        data = await upload.read(config.max_upload_bytes + 1)
        if len(data) > config.max_upload_bytes:
            raise _Refusal(
                413,
                "TooLarge",
                f"{part}: over {config.max_upload_bytes / 2**20:g} MB, the upload limit",
                "too_large",
            )
        return data

    @app.post("/api/v1/verify")
    async def verify(
        document: Annotated[
            UploadFile, File(description="The document portrait: a data-page scan or the chip photo.")
        ],
        live: Annotated[UploadFile, File(description="The live photo of the traveller.")],
        system: Annotated[str, Depends(caller)],
    ) -> dict[str, Any]:
        """Compare a document portrait with a live photo; the same JSON as ``impostor compare --json``."""
        document_bytes, live_bytes = await read(document, "document"), await read(live, "live")

        def compare() -> Verdict:
            verdict = verifier.verify(
                document_bytes, live_bytes, document_label="document", live_label="live"
            )
            logs.append(verdict, station=config.station, operator=f"api:{system}")
            return verdict

        return (await _in_thread(compare)).to_dict()

    @app.post("/api/v1/quality")
    async def quality(
        image: Annotated[UploadFile, File(description="A face photo.")],
        system: Annotated[str, Depends(caller)],
        side: Annotated[str, Form(pattern="^(document|live)$")] = "live",
    ) -> dict[str, Any]:
        """The quality gates of the face in one photo; the same JSON as ``impostor quality --json``."""
        data = await read(image, "image")
        analysed, report = await _in_thread(lambda: verifier.quality(data, side, label="image"))  # type: ignore[arg-type]
        return {"image": analysed.info.to_dict(), **report.to_dict()}

    @app.get("/api/v1/health")
    def health() -> dict[str, Any]:
        """Whether the station can answer: models, profile, audit log."""
        profile = verifier.profile
        try:
            logs.log().verify_writable()
            writable = True
        except errors.AuditError:
            writable = False
        return {
            "status": "ok" if writable else "degraded",
            "models_loaded": _models_loaded(),
            "profile": {"name": profile.name, "version": profile.version, "weak": bool(profile.weak)},
            "audit_log_writable": writable,
        }

    return app


async def _in_thread(work: Any) -> Any:
    """Run blocking work (decoding, dlib) off the event loop, so other requests go on."""
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(work)


class _Logs:
    """The audit log, one connection per worker thread (SQLite's belong to the thread that made
    them), opened once each and kept: no file is opened on a request's path."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._local = threading.local()

    def log(self) -> AuditLog:
        if getattr(self._local, "log", None) is None:
            self._local.log = AuditLog(self.path)
        return self._local.log

    def append(self, verdict: Verdict, *, station: str, operator: str) -> None:
        quality = {
            side.name: side.quality.to_dict() if side.quality else None
            for side in (verdict.document, verdict.live)
        }
        self.log().append(verdict, station=station, operator=operator, quality=quality)


class _Gate:
    """ASGI middleware running ``gate(scope, receive, send, call_next)`` before the app."""

    def __init__(self, app: Any, gate: Any) -> None:
        self.app, self.gate = app, gate

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.gate(scope, receive, send, self.app)


def _warm(verifier: Verifier) -> None:
    """Load every model now, so the first traveller does not wait for them."""
    import numpy as np

    from impostor import weights

    weights.hog_detector()
    weights.shape_predictor()
    verifier.embedder.embed([np.zeros((150, 150, 3), np.uint8)])


def _models_loaded() -> bool:
    from impostor import weights

    return weights.encoder_loaded()
