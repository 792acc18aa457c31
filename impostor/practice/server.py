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
Wrong codes and PINs are limited per address (``SIGN_IN_FAILURES``, ``PIN_FAILURES`` a minute),
and every check of one costs a slow hash. Errors are ``{"error": code}`` with a 4xx status; the
page turns codes into catalogue text.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import math
import secrets
import threading
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from impostor.errors import ImpostorError, PracticeError
from impostor.pipeline.portrait import portrait_jpeg
from impostor.pipeline.verifier import Verifier
from impostor.practice.classroom import Classroom, normal_trainee
from impostor.practice.i18n import LANGUAGES, catalogue, negotiate
from impostor.practice.scoring import load_norms, score_trials
from impostor.practice.sets import ImageRef, Item, PracticeSet
from impostor.practice.store import Mode, PracticeStore, Session
from impostor.stages.capture import load_image
from impostor.web.asgi import AddressLimit, BodyLimit, RateLimiter, caller_of

__all__ = ["IMAGE_SIDE", "WHY_TLS", "create_app", "serve"]

_log = logging.getLogger("impostor.practice")

IMAGE_SIDE = 1200  # longest side sent to the browser: enough for a 1366×768 counter screen
_IMAGE_QUALITY = 90
SIGN_IN_FAILURES = 10  # wrong trainee codes an address may send in a minute
PIN_FAILURES = 5  # wrong trainer PINs an address may send in a minute
TRAINER_HOURS = 8  # a trainer's sign-in lasts a training day
WHY_TLS = "trainees' codes and the trainer's PIN would cross the network readable"
_MAX_MILLISECONDS = 3_600_000  # an hour: anything longer is a clock fault, not a look at two faces


class _SignIn(BaseModel):
    trainee: str = Field(max_length=200)
    code: str | None = Field(default=None, max_length=40)
    language: str | None = Field(default=None, max_length=40)


class _TrainerSignIn(BaseModel):
    pin: str = Field(max_length=200)


class _Answer(BaseModel):
    position: int
    said_same: bool
    confidence: int
    milliseconds: int


# a sign-in or an answer is a few dozen bytes; nothing the page sends comes near this
MAX_BODY_BYTES = 16 * 1024


class _Refused(Exception):
    def __init__(self, code: str, status: int = 409, retry_after: float | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.status = status
        self.retry_after = retry_after


class _TrainerTokens:
    """Signed-in trainers' bearer tokens, in memory: a restart signs them out."""

    def __init__(self) -> None:
        self._expiry: dict[str, float] = {}
        self._lock = threading.Lock()

    def issue(self) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            now = time.monotonic()
            self._expiry = {t: e for t, e in self._expiry.items() if e > now}
            self._expiry[token] = now + TRAINER_HOURS * 3600
        return token

    def check(self, authorization: str | None) -> None:
        scheme, _, token = (authorization or "").partition(" ")
        with self._lock:
            expiry = self._expiry.get(token.strip()) if scheme.lower() == "bearer" else None
        if expiry is None or expiry <= time.monotonic():
            raise _Refused("trainer_signed_out", 401)

    def end(self, authorization: str | None) -> None:
        token = (authorization or "").partition(" ")[2].strip()
        with self._lock:
            self._expiry.pop(token, None)


@functools.cache
def _face_finder() -> Verifier:
    """Finds and aligns the faces of practice pictures; models load on first use."""
    return Verifier()


def create_app(practice_set: PracticeSet, store: PracticeStore, mode: Mode) -> FastAPI:
    """The web app serving ``practice_set`` in ``mode``, recording into ``store``.

    Every image is checked against its digest first, so a changed or missing file stops the
    start (``PracticeError``) rather than a trainee's session.
    """
    practice_set.check_images()
    static = resources.files("impostor.practice") / "static"
    classroom = Classroom(store)
    code_failures = RateLimiter(SIGN_IN_FAILURES, "wrong codes")
    pin_failures = RateLimiter(PIN_FAILURES, "wrong PINs")
    trainers = _TrainerTokens()
    app = FastAPI(title="impostor practice", docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    @functools.lru_cache(maxsize=2 * len(practice_set.items))
    def jpeg(image: ImageRef) -> bytes:
        return _browser_jpeg(str(practice_set.image_path(image)))

    @functools.lru_cache(maxsize=2 * len(practice_set.items))
    def face(image: ImageRef) -> bytes:
        """The face as an officer compares it (``impostor.pipeline.portrait``): upright, cropped around
        the eyes at the common scale, so both sides of a pair show the same distance between
        the eyes; the whole picture when no face is found."""
        located = _face_finder().locate(str(practice_set.image_path(image)), "practice")
        return portrait_jpeg(located)

    @app.exception_handler(_Refused)
    async def refused(request: Request, error: _Refused) -> JSONResponse:
        headers = {} if error.retry_after is None else {"Retry-After": str(max(1, round(error.retry_after)))}
        return JSONResponse({"error": error.code}, status_code=error.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        path = request.url.path
        if path.endswith("/answers"):
            code = "bad_answer"
        elif path == "/api/sessions":
            code = "bad_trainee"
        elif "/items/" in path:
            code = "bad_position"
        else:
            code = "bad_request"
        return JSONResponse({"error": code}, status_code=422)

    @app.exception_handler(ImpostorError)
    async def failed(request: Request, error: ImpostorError) -> JSONResponse:
        # a set image changed or the results file broke while serving: the trainee sees a
        # message from the catalogue, the trainer's console the reason, in one line
        _log.error("%s %s: %s: %s", request.method, request.url.path, type(error).__name__, error)
        return JSONResponse({"error": "server"}, status_code=500)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "bad_request", 413: "too_large"}
        code = codes.get(error.status_code, "bad_request" if error.status_code < 500 else "server")
        return JSONResponse({"error": code}, error.status_code)

    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES, reply=_refusal_body)
    app.add_middleware(AddressLimit, reply=_refusal_body)

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(str(static / "index.html"), headers={"Cache-Control": "no-cache"})

    @app.get("/api/catalogue")
    def messages(request: Request, lang: str | None = None) -> dict[str, Any]:
        language = negotiate(request.headers.get("accept-language"), lang)
        return {
            "language": language,
            "languages": list(LANGUAGES),
            "messages": dict(catalogue(language)),
        }

    @app.get("/api/set")
    def about() -> dict[str, Any]:
        return {
            "name": practice_set.name,
            "items": len(practice_set.items),
            "mode": mode,
            "difficulty": practice_set.difficulty,
            "codes": classroom.has_roster(),  # the sign-in asks for the trainee's code
        }

    @app.post("/api/sessions")
    def sign_in(body: _SignIn, request: Request) -> dict[str, Any]:
        trainee = normal_trainee(body.trainee)
        if trainee is None:
            raise _Refused("bad_trainee", 422)
        if classroom.has_roster():
            address = _address(request)
            wait = code_failures.wait(address)
            if wait is not None:
                raise _Refused("too_many_attempts", 429, wait)
            admitted = classroom.admit(trainee, body.code or "", practice_set.id)
            if admitted == "wrong_code":
                code_failures.allow(address)
                raise _Refused("wrong_code", 401)
            if admitted == "not_assigned":
                raise _Refused("not_assigned", 403)
        language = negotiate(request.headers.get("accept-language"), body.language)
        session, resumed = store.start(trainee, practice_set, mode, language)
        return {
            "session": session.id,
            "trainee": session.trainee,
            "mode": session.mode,
            "total": session.total,
            "answered": session.answered,
            "resumed": resumed,
            "finished": session.done,
        }

    @app.get("/api/sessions/{token}/item")
    def current(token: str) -> dict[str, Any]:
        session = _session(store, token)
        if session.done:
            return {"done": True, "total": session.total}
        k = session.answered
        return {
            "done": False,
            "position": k,
            "total": session.total,
            "left": f"/api/sessions/{token}/items/{k}/left",
            "right": f"/api/sessions/{token}/items/{k}/right",
            "left_full": f"/api/sessions/{token}/items/{k}/left?view=full",
            "right_full": f"/api/sessions/{token}/items/{k}/right?view=full",
            # the left picture is a document portrait only when it was rendered as one
            "document": _item(practice_set, session, k).left.source is not None,
        }

    @app.get("/api/sessions/{token}/items/{position}/{side}")
    def picture(
        token: str, position: int, side: Literal["left", "right"], view: Literal["face", "full"] = "face"
    ) -> Response:
        session = _session(store, token)
        if not 0 <= position <= min(session.answered, session.total - 1):
            raise _Refused("not_current", 403)  # an item not yet reached is not shown ahead of time
        item = _item(practice_set, session, position)
        ref = item.left if side == "left" else item.right
        data = face(ref) if view == "face" else jpeg(ref)
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})

    @app.post("/api/sessions/{token}/answers")
    def answer(token: str, body: _Answer) -> dict[str, Any]:
        session = _session(store, token)
        if body.confidence not in range(1, 6) or not 0 <= body.milliseconds <= _MAX_MILLISECONDS:
            raise _Refused("bad_answer", 422)
        if not 0 <= body.position < session.total:
            raise _Refused("not_current")
        item = _item(practice_set, session, body.position)
        outcome = store.record(
            token,
            body.position,
            item,
            said_same=body.said_same,
            confidence=body.confidence,
            seconds=body.milliseconds / 1000.0,
        )
        if outcome != "recorded":
            raise _Refused(outcome)
        answered = body.position + 1
        feedback = None
        if mode == "practice":
            feedback = {
                "correct": item.same == body.said_same,
                "same": item.same,
                "algorithm": _algorithm_view(item),
            }
        return {
            "recorded": True,
            "answered": answered,
            "total": session.total,
            "done": answered == session.total,
            "feedback": feedback,
        }

    @app.get("/api/sessions/{token}/score")
    def score(token: str) -> dict[str, Any]:
        session = _session(store, token)
        if not session.done:
            raise _Refused("not_finished")
        answers = store.answers(token)
        # a test's answer key stays with the trainer until released: the trainee sees the score
        shown = mode == "practice" or store.released(practice_set.id)
        return {
            "score": score_trials([a.trial() for a in answers]).to_dict(),
            "norms": [dataclasses.asdict(norm) for norm in load_norms()],
            "key_released": shown,
            "items": None
            if not shown
            else [
                {
                    "position": a.position,
                    "same": a.same,
                    "said_same": a.said_same,
                    "correct": a.correct,
                    "confidence": a.confidence,
                    "seconds": round(a.seconds, 3),
                    "probability": round(a.probability, 4) if math.isfinite(a.probability) else None,
                    "left": f"/api/sessions/{token}/items/{a.position}/left",
                    "right": f"/api/sessions/{token}/items/{a.position}/right",
                }
                for a in answers
            ],
        }

    @app.post("/api/trainer/sign-in")
    def trainer_sign_in(body: _TrainerSignIn, request: Request) -> dict[str, Any]:
        address = _address(request)
        wait = pin_failures.wait(address)
        if wait is not None:
            raise _Refused("too_many_attempts", 429, wait)
        if not classroom.has_pin():
            raise _Refused("no_trainer_pin", 409)
        if not classroom.check_pin(body.pin):
            pin_failures.allow(address)
            raise _Refused("wrong_pin", 401)
        return {"token": trainers.issue(), "hours": TRAINER_HOURS}

    @app.get("/api/trainer/live")
    def live(request: Request) -> dict[str, Any]:
        trainers.check(request.headers.get("authorization"))
        rows = classroom.live(practice_set.id, mode)
        counts = {
            state: sum(r.state == state for r in rows)
            for state in ("answering", "idle", "finished", "absent")
        }
        return {
            "set": practice_set.name,
            "mode": mode,
            "items": len(practice_set.items),
            "classes": classroom.classes_of(practice_set.id),
            "codes": classroom.has_roster(),
            "counts": counts,
            "trainees": [row.to_dict() for row in rows],
        }

    @app.post("/api/trainer/sign-out")
    def trainer_sign_out(request: Request) -> dict[str, Any]:
        trainers.end(request.headers.get("authorization"))
        return {"signed_out": True}

    return app


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


def _refusal_body(status: int, code: str, message: str) -> bytes:
    """A refusal of the shared ASGI layer as this server's JSON: the catalogue code alone."""
    return json.dumps({"error": code}).encode()


def _address(request: Request) -> str:
    return caller_of(request.client.host) if request.client is not None else "unknown"


def _session(store: PracticeStore, token: str) -> Session:
    session = store.session(token)
    if session is None:
        raise _Refused("unknown_session", 404)
    return session


def _item(practice_set: PracticeSet, session: Session, position: int) -> Item:
    return practice_set.items[session.order[position]]


def _algorithm_view(item: Item) -> dict[str, Any] | None:
    if not math.isfinite(item.probability):
        return None
    return {"probability": round(item.probability, 4), "said_same": item.probability >= 0.5}


def _browser_jpeg(path: str) -> bytes:
    """The image upright, at most ``IMAGE_SIDE`` pixels long, as a fresh JPEG without metadata."""
    try:
        pixels = load_image(path).pixels
    except ImpostorError as error:
        raise _Refused("server", 500) from error
    height, width = pixels.shape[:2]
    scale = IMAGE_SIDE / max(height, width)
    if scale < 1:
        pixels = cv2.resize(
            pixels, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA
        )
    ok, encoded = cv2.imencode(
        ".jpg", cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, _IMAGE_QUALITY]
    )
    if not ok:
        raise _Refused("server", 500)
    return np.asarray(encoded).tobytes()
