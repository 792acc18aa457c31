"""Who is signed in at the officers' page, and the traveller each of them is working on.

A session is a random token in an HttpOnly cookie; the station keeps only its SHA-256, in
memory, so nothing of a session outlives the process. A session ends when the officer signs out,
signs in again elsewhere, or leaves it idle: only what the officer does counts as activity, not
the camera frames the page sends by itself. The traveller (document, live photo, verdict) lives
in the session and nowhere else, and is dropped at the next traveller, at sign-out and at expiry.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from impostor.document import DocumentReading
from impostor.pipeline.verifier import Located, Verifier
from impostor.types import Verdict

__all__ = ["CounterSession", "Lookup", "Sessions", "Traveller"]

_REMEMBERED_ENDINGS = 1024  # expired tokens remembered, so a page can say "expired", not "signed out"


@dataclass
class Traveller:
    """One traveller at the counter: what the officer has given the station so far."""

    document: Located | None = None
    document_source: str = ""  # "file" or "scanner"
    reading: DocumentReading | None = None  # what was read from the document (its MRZ, its chip)
    verifier: Verifier | None = None  # the verifier whose profile suits the document
    document_bytes: bytes = b""  # kept only until the comparison, for --keep-images
    live: Located | None = None
    live_bytes: bytes = b""
    verdict: Verdict | None = None
    record: int | None = None  # the verdict's audit record
    judgement: str | None = None
    decided: datetime | None = None  # when the verdict was given, in the station's local time
    faces: dict[str, bytes] = field(default_factory=dict)  # side → the JPEG the page shows
    version: int = 0  # bumped with every new image, so the page never shows a stale one


@dataclass
class CounterSession:
    """A signed-in officer's session. ``lock`` serialises the officer's requests on it."""

    operator: str
    language: str
    last_active: float
    traveller: Traveller = field(default_factory=Traveller)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_traveller(self) -> None:
        self.traveller = Traveller(version=self.traveller.version + 1)


class Lookup(enum.Enum):
    """Why a token has no session."""

    SIGNED_OUT = "signed_out"  # never issued, or signed out
    EXPIRED = "session_expired"  # left idle too long


class Sessions:
    """The signed-in sessions of one station, ended after ``idle_seconds`` without activity."""

    def __init__(self, idle_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.idle_seconds = idle_seconds
        self._clock = clock
        self._open: dict[str, CounterSession] = {}
        self._ended: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()
        self._swept = clock()

    def open(self, operator: str, language: str = "es") -> tuple[str, CounterSession]:
        """A new session for ``operator`` (ending any other of theirs); returns its token."""
        token = secrets.token_urlsafe(32)
        session = CounterSession(operator, language, self._clock())
        with self._lock:
            for key in [key for key, other in self._open.items() if other.operator == operator]:
                self._end(key, Lookup.SIGNED_OUT)
            self._open[_key(token)] = session
        return token, session

    def get(self, token: str, *, active: bool = True) -> CounterSession | Lookup:
        """The session of ``token``, or why there is none; ``active`` counts this as the officer's
        activity (a camera frame does not)."""
        key = _key(token)
        now = self._clock()
        with self._lock:
            self._sweep(now)
            session = self._open.get(key)
            if session is None:
                return Lookup.EXPIRED if key in self._ended else Lookup.SIGNED_OUT
            if now - session.last_active > self.idle_seconds:
                self._end(key, Lookup.EXPIRED)
                return Lookup.EXPIRED
            if active:
                session.last_active = now
            return session

    def _sweep(self, now: float) -> None:
        """End every session left idle too long, so a browser closed mid-traveller does not leave
        that traveller's images in memory until its officer comes back (at most once a minute)."""
        if now - self._swept < 60:
            return
        self._swept = now
        for key in [
            key for key, session in self._open.items() if now - session.last_active > self.idle_seconds
        ]:
            self._end(key, Lookup.EXPIRED)

    def close(self, token: str) -> None:
        """Sign out: the token is refused from now on."""
        with self._lock:
            self._end(_key(token), Lookup.SIGNED_OUT)

    def _end(self, key: str, why: Lookup) -> None:
        session = self._open.pop(key, None)
        if session is not None:
            session.next_traveller()  # drop the traveller's images now, not at collection
        if why is Lookup.EXPIRED:
            self._ended[key] = None
            while len(self._ended) > _REMEMBERED_ENDINGS:
                self._ended.popitem(last=False)


def _key(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()
