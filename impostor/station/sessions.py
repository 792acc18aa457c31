"""Who is signed in at the officers' page, and the traveller each of them is working on.

A session is a random token in an HttpOnly cookie, kept by the web kit's store
(``impostor.web.sessions``: only its SHA-256, in memory, so nothing of a session outlives the
process). A session ends when the officer signs out, signs in again elsewhere, or leaves it
idle: only what the officer does counts as activity, not the camera frames the page sends by
itself. The traveller (document, its chip, live photo, verdict) lives
in the session and nowhere else, and is dropped at the next traveller, at sign-out and at expiry.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from impostor.document import DocumentReading
from impostor.pipeline.verifier import Located, Verifier
from impostor.types import Verdict
from impostor.web import sessions as web_sessions
from impostor.web.sessions import Lookup

if TYPE_CHECKING:
    from impostor.card.passport import ChipRead
    from impostor.services.comparison import DocumentSide
    from impostor.station.reader import ChipJob

__all__ = ["CounterSession", "Lookup", "Sessions", "Traveller"]


@dataclass
class Traveller:
    """One traveller at the counter: what the officer has given the station so far."""

    document: Located | None = None
    document_source: str = ""  # "file" or "scanner"
    document_name: str = ""  # the scan's file name
    reading: DocumentReading | None = None  # what was read from the document (its MRZ, its chip)
    side: DocumentSide | None = None  # the document ready to compare (with its chip, once read)
    page_side: DocumentSide | None = None  # the page as read, before any chip: a reading starts here
    chip: ChipJob | None = None  # the reading of its chip on the station's reader
    chip_read: ChipRead | None = None  # what that reading gave (access, files, PA/AA/CA)
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
    traveller: Traveller = field(default_factory=Traveller)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_traveller(self) -> None:
        """Forget the traveller on screen (their images, verdict, judgement): a new one is next."""
        self.traveller = Traveller(version=self.traveller.version + 1)


class Sessions:
    """The signed-in officers of one station (``impostor.web.sessions``), one session each, ended
    after ``idle_seconds`` without the officer acting; an ended session drops its traveller at once."""

    def __init__(self, idle_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._store: web_sessions.Sessions[CounterSession] = web_sessions.Sessions(
            idle_seconds, clock, ended=CounterSession.next_traveller
        )

    @property
    def idle_seconds(self) -> float:
        """How long a session lasts without the officer acting, in seconds."""
        return self._store.idle_seconds

    @idle_seconds.setter
    def idle_seconds(self, seconds: float) -> None:
        """Seconds of inactivity after which a session ends."""
        self._store.idle_seconds = seconds

    def open(self, operator: str, language: str = "es") -> tuple[str, CounterSession]:
        """A new session for ``operator`` (ending any other of theirs); returns its token and it."""
        session = CounterSession(operator, language)
        token = self._store.open(session, replacing=lambda other: other.operator == operator)
        return token, session

    def get(self, token: str, *, active: bool = True) -> CounterSession | Lookup:
        """The session of ``token``, or why there is none; ``active`` counts this as the officer's
        activity (a camera frame does not)."""
        return self._store.get(token, active=active)

    def close(self, token: str) -> None:
        """Sign out: the token is refused from now on."""
        self._store.close(token)
