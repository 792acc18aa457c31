"""What the station's two faces (the officers' page and the HTTP API) share: its settings, the
warm verifier, the audit log per thread, rate limits, and the error catalogue. The refusal, the
rate limiter and the header reader are the web kit's (``impostor.web``), named here for the routes.

Every refusal is ``{"error": {"type", "message", "code"}}`` with a 4xx status; the page shows the
catalogue text of ``code``, a system reads ``code``, and ``message`` says in English what was wrong.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from fastapi import Request

from impostor import errors
from impostor.records.audit import AuditLog, AuditRecord
from impostor.services.audit_sink import LogSink
from impostor.services.comparison import Comparer
from impostor.stages.embed import service_embedder
from impostor.station.accounts import Accounts
from impostor.station.keep import Keeper, kept_folder
from impostor.station.sessions import CounterSession, Sessions
from impostor.types import Verdict
from impostor.web import asgi
from impostor.web.gate import header
from impostor.web.limits import RateLimiter
from impostor.web.refusal import Refusal

__all__ = [
    "STATUS",
    "RateLimiter",
    "Refusal",
    "Station",
    "StationConfig",
    "ThreadLogs",
    "current_session",
    "current_station",
    "header",
    "in_thread",
    "refusal_of",
]

_T = TypeVar("_T")
_log = logging.getLogger("impostor.station")
SLOW_CHECKS_PER_MINUTE = 30  # PIN and uncached key checks from one address: a person types fewer

# (HTTP status, catalogue code) of each library error; a subclass takes its nearest listed ancestor's
STATUS: dict[type[errors.ImpostorError], tuple[int, str]] = {
    errors.InputError: (422, "unusable_image"),
    errors.NotAnImage: (422, "not_an_image"),
    errors.UnsupportedImage: (422, "unsupported_image"),
    errors.ImageTooLarge: (413, "too_large"),
    errors.NoFaceFound: (422, "no_face"),
    errors.ConfigError: (400, "bad_request"),
    errors.DocumentError: (422, "unreadable_document"),
}


@dataclass(frozen=True)
class StationConfig:
    """How a station runs: where its files are, its limits, and how its page behaves."""

    accounts: Path | None = None  # the station database (IMPOSTOR_STATION_DB when None)
    audit_db: Path | None = None  # the audit log (IMPOSTOR_AUDIT_DB when None)
    profile: Path | None = None  # the calibration profile (the shipped one when None)
    station: str = "station"  # the name this station logs under
    max_upload_bytes: int = 20 * 2**20  # each image
    max_frame_bytes: int = 2**20  # each guidance frame (a 640 px JPEG is ~50 kB)
    # any other body (a sign-in, a judgement, an outcome: a few hundred bytes), and the form
    # around the images of an upload (its part headers and small fields)
    max_form_bytes: int = 2**14
    body_seconds: float = asgi.BODY_SECONDS  # a request's whole body arrives within this, or 408
    requests_per_address: int = asgi.REQUESTS_PER_ADDRESS  # in flight at once, or 429
    requests_per_minute: int = 120  # each API key
    operator_requests_per_minute: int = 60  # each operator's documents, photos and records
    frames_per_minute: int = 900  # each operator's guidance frames (up to 15 a second)
    idle_minutes: float = 15.0  # a page session ends after this long without the officer acting
    scanner_dir: Path | None = None  # where the passport scanner drops its images
    scanner_max_age_minutes: float = 10.0  # an older scan is not this traveller's
    keep_images_days: int | None = None  # keep both images (encrypted) this long for review
    judgement_first: bool = False  # the officer judges before the tool's answer is shown
    secure_cookies: bool = False  # served over TLS: cookies go over HTTPS only
    time_zone: str | None = None  # IANA name for the page's times (None: the browser's)
    # the Host names requests may carry (None: any); a loopback station takes only loopback's, so
    # a web page that points its own name at 127.0.0.1 (DNS rebinding) cannot reach it
    hosts: tuple[str, ...] | None = None
    warm: bool = True  # load the models before the first request
    # the chip reader: its number from 0 (``impostor chip readers``) or part of its name; None:
    # the station reads no chips and the page offers no key C
    chip_reader: str | None = None
    chip_auto: bool = True  # with a reader, the chip is read as soon as the page is taken
    chip_wait_seconds: float = 20.0  # the card must be on the reader within this, or "no card"

    def __post_init__(self) -> None:
        if self.keep_images_days is not None and not 1 <= self.keep_images_days <= 3650:
            raise errors.ConfigError(f"--keep-images must be 1 to 3650 days, not {self.keep_images_days}")
        if not 1 <= self.idle_minutes <= 24 * 60:
            raise errors.ConfigError(f"the idle time must be 1 to 1440 minutes, not {self.idle_minutes:g}")
        if not self.body_seconds > 0:
            raise errors.ConfigError(f"the body time limit must be above 0 s, not {self.body_seconds:g}")
        if not 1 <= self.chip_wait_seconds <= 600:
            raise errors.ConfigError(
                f"the wait for a card must be 1 to 600 seconds, not {self.chip_wait_seconds:g}"
            )
        if self.requests_per_address < 1:
            raise errors.ConfigError(
                f"the requests in flight per address must be at least 1, not {self.requests_per_address}"
            )


def refusal_of(error: errors.ImpostorError) -> Refusal:
    """The catalogue refusal for a library error (a 503 for the station's own faults)."""
    status, code = next(
        (STATUS[kind] for kind in type(error).__mro__ if kind in STATUS), (503, "station_unavailable")
    )
    return Refusal(status, type(error).__name__, str(error), code)


class ThreadLogs:
    """The audit log, one connection per worker thread (SQLite's belong to the thread that made
    them), opened once each and kept: no file is opened on a request's path."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._local = threading.local()

    def log(self) -> AuditLog:
        """This thread's connection to the audit log, opened on its first use."""
        if getattr(self._local, "log", None) is None:
            self._local.log = AuditLog(self.path)
        return self._local.log

    def append(
        self,
        verdict: Verdict,
        *,
        station: str,
        operator: str,
        document: tuple[str, str] | None = None,
        checks: Mapping[str, object] | None = None,
    ) -> AuditRecord:
        """Log ``verdict``, with the document's state and number as a keyed hash and, for a
        document read with its chip, which portrait decided and what the chip proved
        (``checks``); returns its record (what ``LogSink`` stores, on this thread's log)."""
        return LogSink(self.log()).append(
            verdict, station=station, operator=operator, document=document, checks=checks
        )


async def in_thread(work: Callable[[], _T]) -> _T:
    """Run blocking work (decoding, dlib, scrypt, SQLite) off the event loop, so others go on."""
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(work)


def current_station(request: Request) -> Station:
    """The station serving ``request``: a dependency for the routes (``Depends(current_station)``)."""
    station: Station = request.app.state.station
    return station


def current_session(request: Request) -> CounterSession:
    """The officer's session the gate found for ``request`` (a ``/counter/`` route past the gate)."""
    session: CounterSession = request.state.session
    return session


class Station:
    """One running station: its settings and everything it keeps warm between requests.

    Opening it reads the accounts, the audit log and the profile, so a bad file stops the start
    rather than a traveller's comparison; the models load in ``warm``.
    """

    def __init__(self, config: StationConfig) -> None:
        self.config = config
        self.accounts = Accounts(config.accounts)
        self.logs = ThreadLogs(config.audit_db)
        # a log that cannot be opened, or whose head does not verify, stops the start: the
        # station would otherwise open its doors and refuse every decision
        self.logs.log().check_head()
        # one comparer for the API and the page: the profile chosen by the one rule (a data page
        # under the shipped document profile unless the station was given a profile of its own),
        # every decision logged through the station's per-thread logs; the station's own camera
        # is upright, so an empty frame is answered without turning it
        self.comparer = Comparer(
            config.profile,
            audit=self.logs,
            station=config.station,
            live_search="upright",
            embedder=service_embedder(),
        )
        # a profile that cannot be read stops the start rather than the first traveller
        self.verifier = self.comparer.verifier_for("portrait")
        self.comparer.verifier_for("page")
        self.key_rate = RateLimiter(config.requests_per_minute)
        self.operator_rate = RateLimiter(config.operator_requests_per_minute)
        self.frame_rate = RateLimiter(config.frames_per_minute, "camera frames")
        self.signin_rate = RateLimiter(SLOW_CHECKS_PER_MINUTE, "sign-in attempts")  # per address
        self.key_check_rate = RateLimiter(SLOW_CHECKS_PER_MINUTE, "key checks")  # per address
        # scrypt takes 16 MB and ~50 ms a check: one at a time, so a flood of wrong PINs or keys
        # costs the station one core at most and the officers' comparisons keep the other
        self._slow = threading.BoundedSemaphore(1)
        self.sessions = Sessions(config.idle_minutes * 60)
        # one reader, one card on it: one chip read at a time, whoever asks
        self.reader_lock = threading.Lock()
        self.keeper: Keeper | None = None
        if config.keep_images_days is not None:
            self.keeper = Keeper(kept_folder(self.logs.log().path), config.keep_images_days)
            self.keeper.purge()

    def keep(self, record: AuditRecord, document: bytes, live: bytes) -> bool:
        """Keep both images of ``record`` when the station keeps images; whether they were kept.

        A failure to keep them (a full disk) does not undo the decision already logged and owed
        to the officer: it is reported on the station's console, without the images.
        """
        if self.keeper is None:
            return False
        try:
            self.keeper.keep(record.seq, record.hash, document, live)
        except errors.AuditError as error:
            _log.error("record %d: images not kept: %s", record.seq, error)
            return False
        return True

    def slowly(self, check: Callable[[], _T]) -> _T:
        """Run a scrypt ``check`` (a PIN, an API key) when no other is running."""
        with self._slow:
            return check()

    def warm(self) -> None:
        """Load every model now, so the first traveller does not wait for them."""
        import numpy as np

        from impostor.engine import weights

        weights.hog_detector()
        weights.shape_predictor()
        self.verifier.embedder.embed([np.zeros((150, 150, 3), np.uint8)])

    def close(self) -> None:
        """Stop the verifiers' workers (at the app's shutdown)."""
        self.comparer.close()
