"""What one practice server holds while it serves a set: the set, the results file, the mode,
the classroom, the rates of wrong codes and PINs, the trainers' tokens, and the pictures as the
browser gets them (cached). The routes (``impostor.practice.routes``) reach it through
``current_practice``; ``impostor.practice.server`` makes it and the app around it.
"""

from __future__ import annotations

import functools
import math

import cv2
import numpy as np
from fastapi import Request

from impostor.errors import ImpostorError
from impostor.pipeline.portrait import portrait_jpeg
from impostor.pipeline.verifier import Verifier
from impostor.practice.classroom import Classroom
from impostor.practice.schemas import Algorithm
from impostor.practice.sets import ImageRef, Item, PracticeSet
from impostor.practice.store import Mode, PracticeStore, Session
from impostor.stages.capture import load_image
from impostor.web.limits import RateLimiter
from impostor.web.refusal import Refusal, kind_of
from impostor.web.sessions import Sessions

__all__ = [
    "IMAGE_SIDE",
    "PIN_FAILURES",
    "SIGN_IN_FAILURES",
    "TRAINER_HOURS",
    "Practice",
    "current_practice",
    "refused",
]

IMAGE_SIDE = 1200  # longest side sent to the browser: enough for a 1366×768 counter screen
_IMAGE_QUALITY = 90
SIGN_IN_FAILURES = 10  # wrong trainee codes an address may send in a minute
PIN_FAILURES = 5  # wrong trainer PINs an address may send in a minute
TRAINER_HOURS = 8  # a trainer's sign-in lasts a training day


def refused(code: str, status: int = 409) -> Refusal:
    """The practice refusal ``code`` (the page words it from its catalogue) with ``status``."""
    return Refusal(status, kind_of(code), code.replace("_", " "), code)


class Practice:
    """One practice server's state: ``practice_set`` served in ``mode``, recorded into ``store``.

    Every image is checked against its digest first, so a changed or missing file stops the
    start (``PracticeError``) rather than a trainee's session.
    """

    def __init__(self, practice_set: PracticeSet, store: PracticeStore, mode: Mode) -> None:
        practice_set.check_images()
        self.set, self.store, self.mode = practice_set, store, mode
        self.classroom = Classroom(store)
        self.code_failures = RateLimiter(SIGN_IN_FAILURES, "wrong codes", code="too_many_attempts")
        self.pin_failures = RateLimiter(PIN_FAILURES, "wrong PINs", code="too_many_attempts")
        # a trainer's token lasts a training day from its sign-in, whatever is done with it
        # (read only with active=False); in memory, so a restart signs trainers out
        self.trainers: Sessions[str] = Sessions(TRAINER_HOURS * 3600.0)
        # each picture decoded and encoded once, as the browser sees it
        cached = functools.lru_cache(maxsize=2 * len(practice_set.items))
        self.jpeg = cached(self._jpeg)
        self.face = cached(self._face)

    def session(self, token: str) -> Session:
        """The trainee's session of ``token``; a 404 ``unknown_session`` when there is none."""
        session = self.store.session(token)
        if session is None:
            raise refused("unknown_session", 404)
        return session

    def item(self, session: Session, position: int) -> Item:
        """The item ``session`` sees at ``position`` (its own order of the set)."""
        return self.set.items[session.order[position]]

    def check_trainer(self, authorization: str | None) -> None:
        """Raise a 401 ``trainer_signed_out`` unless ``authorization`` is a live trainer's
        ``Bearer`` token."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not isinstance(self.trainers.get(token.strip(), active=False), str):
            raise refused("trainer_signed_out", 401)

    def _jpeg(self, image: ImageRef) -> bytes:
        return browser_jpeg(str(self.set.image_path(image)))

    def _face(self, image: ImageRef) -> bytes:
        """The face as an officer compares it (``impostor.pipeline.portrait``): upright, cropped
        around the eyes at the common scale, so both sides of a pair show the same distance
        between the eyes; the whole picture when no face is found."""
        located = _face_finder().locate(str(self.set.image_path(image)), "practice")
        return portrait_jpeg(located)


def current_practice(request: Request) -> Practice:
    """The practice server answering ``request``: a dependency of every route."""
    practice: Practice = request.app.state.practice
    return practice


def algorithm_view(item: Item) -> Algorithm | None:
    """The algorithm's view of ``item``, None when it had none (no usable face)."""
    if not math.isfinite(item.probability):
        return None
    return Algorithm(probability=round(item.probability, 4), said_same=item.probability >= 0.5)


@functools.cache
def _face_finder() -> Verifier:
    """Finds and aligns the faces of practice pictures; models load on first use."""
    return Verifier()


def browser_jpeg(path: str) -> bytes:
    """The image upright, at most ``IMAGE_SIDE`` pixels long, as a fresh JPEG without metadata;
    a 500 ``server`` refusal when it cannot be read or encoded."""
    try:
        pixels = load_image(path).pixels
    except ImpostorError as error:
        raise refused("server", 500) from error
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
        raise refused("server", 500)
    return np.asarray(encoded).tobytes()
