"""Compare a document with a traveller: the one service ``impostor compare``, the station's HTTP
API and its officers' page call, so that none of them puts the steps together itself.

    comparer = Comparer(profile, audit=LogSink(log), station="lima-t1-07")
    side = comparer.read(document)                        # the reading, its portrait found once
    result = comparer.compare(side, live, operator="ana")  # the verdict, audited
    result = comparer.compare_document(document, live, operator="ana")  # the two at once

Which portrait decides (:data:`Portrait`) is told from the reading: a bare ``portrait``, a data
``page``'s (or, where none was found on it, the whole page, so that the verdict says there is no
face), or the ``chip``'s DG2. One rule (:func:`impostor.pipeline.profile.profile_for`) then picks
the profile from it and the profile a site named, if any: the shipped document profile for a
printed page's portrait, the shipped default for a photo or a chip's. The comparer keeps one
verifier per profile, made on first use.

A data page's portrait is located once, by the page's own search (``DocumentReading.located``),
and then only held to the profile's gates; a chip's or a bare portrait is searched as it is. The
document's alerts become the verdict's leading reasons, so that a MATCH becomes a REFER.

Every comparison goes to the one audit sink given (an :class:`AuditSink`: the station's logs, or
an ``AuditLog``, which :class:`LogSink` wraps), under the comparer's station and the caller's
operator, with the document's issuing state and number as a keyed hash.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from impostor.document import DocumentReading, read_document
from impostor.errors import DocumentError
from impostor.pipeline import frames
from impostor.pipeline.profile import profile_for
from impostor.pipeline.verifier import Located, Search, Verifier
from impostor.records.audit import AuditLog, AuditRecord
from impostor.stages.capture import ImageSource
from impostor.stages.embed import Embedder
from impostor.types import LoadedImage, Reason, Verdict

__all__ = [
    "PORTRAITS",
    "AuditSink",
    "Comparer",
    "Comparison",
    "DocumentSide",
    "LogSink",
    "Portrait",
    "deciding_portrait",
    "side_quality",
]

Portrait = Literal["portrait", "page", "chip"]
PORTRAITS: tuple[Portrait, ...] = ("portrait", "page", "chip")
# what a chip that gives no portrait says about it, in the order a reader would look
_NO_CHIP_PORTRAIT = ("chip_portrait_not_signed", "chip_portrait_unreadable", "chip_no_dg2")


class AuditSink(Protocol):
    """Where comparisons are logged: ``append`` stores one verdict and returns its record.

    The station's ``ThreadLogs`` is one (a connection per worker thread); an ``AuditLog`` is one
    through :class:`LogSink`."""

    def append(
        self, verdict: Verdict, *, station: str, operator: str, document: tuple[str, str] | None = None
    ) -> AuditRecord:
        """Log ``verdict`` under ``station`` and ``operator``, with the document's (issuing
        state, number) kept only as a keyed hash; returns the stored record."""
        ...


def side_quality(verdict: Verdict) -> dict[str, object]:
    """Each side's quality report as the audit log keeps it (``{"document": …, "live": …}``;
    None for a side without a face)."""
    return {
        side.name: side.quality.to_dict() if side.quality else None
        for side in (verdict.document, verdict.live)
    }


class LogSink:
    """An :class:`AuditLog` as an :class:`AuditSink`: each verdict with its sides' quality."""

    def __init__(self, log: AuditLog) -> None:
        self.log = log

    def append(
        self, verdict: Verdict, *, station: str, operator: str, document: tuple[str, str] | None = None
    ) -> AuditRecord:
        """Append ``verdict`` to the log; returns the stored record (``AuditLog.append``)."""
        return self.log.append(
            verdict, station=station, operator=operator, quality=side_quality(verdict), document=document
        )


def deciding_portrait(reading: DocumentReading) -> Portrait:
    """Which portrait of ``reading`` a comparison uses: ``"portrait"`` for a bare photo,
    ``"page"`` for a data page's (or the whole page where none was found on it), ``"chip"`` for
    the chip's DG2 (a chip alone, or a page read with its chip whose page gave no portrait)."""
    if reading.kind == "portrait":
        return "portrait"
    if reading.located is not None or (reading.portrait is None and reading.page is not None):
        return "page"
    return "chip"


@dataclass(frozen=True, eq=False)
class DocumentSide:
    """A document ready to be compared: what was read, and its portrait found.

    ``portrait`` says which portrait decides (:data:`Portrait`); ``located`` is that portrait's
    face, held to the gates of the profile it is compared under (no face: ``landmarks`` None);
    ``reasons`` are the reading's alerts as the verdict's reasons; ``timings_ms`` has ``read``
    and ``locate``, in milliseconds.
    """

    reading: DocumentReading
    portrait: Portrait
    located: Located
    reasons: tuple[Reason, ...]
    timings_ms: dict[str, float]

    @property
    def document_id(self) -> tuple[str, str] | None:
        """The issuing state and document number read (None without an MRZ), for the audit log."""
        return self.reading.document_id


@dataclass(frozen=True, eq=False)
class Comparison:
    """One comparison of a document with a traveller.

    ``verdict`` is the decision and its evidence; ``reading`` what was read from the document;
    ``portrait`` which of its portraits decided; ``record`` the audit record (None when the
    comparer logs nowhere); ``timings_ms`` the service's steps in milliseconds (``read``,
    ``document``, ``live``, ``compare``, ``audit``, ``total``; a stream's capture is in ``live``).
    """

    verdict: Verdict
    reading: DocumentReading
    portrait: Portrait
    record: AuditRecord | None
    timings_ms: dict[str, float]

    def to_dict(self) -> dict[str, object]:
        """The JSON of ``impostor compare --json`` and of the API's ``/api/v1/verify``: the
        verdict's, with ``document_reading`` when the document is more than a bare portrait."""
        shown = self.verdict.to_dict()
        if self.reading.kind != "portrait":
            shown["document_reading"] = self.reading.to_dict()
        return shown


class Comparer:
    """Compares documents with travellers under one profile rule, and logs every verdict.

    ``profile`` is the profile a site named (a path or a shipped profile's name), which then
    holds for every document; None lets the rule pick per portrait. ``audit`` is where verdicts
    go (an :class:`AuditSink` or an ``AuditLog``; None: nowhere) under ``station``.
    ``detector``, ``jitters``, ``live_search`` and ``embedder`` configure the verifiers it makes
    (``impostor.pipeline.verifier.Verifier``); ``verifiers`` are ones already made, by the
    portrait each compares (a station's warm ones), used instead of making them. Raises
    ``ValueError`` for an audit sink without a station name.
    """

    def __init__(
        self,
        profile: str | Path | None = None,
        *,
        audit: AuditSink | AuditLog | None = None,
        station: str = "",
        detector: str = "auto",
        jitters: int = 0,
        live_search: Search = "thorough",
        embedder: Embedder | None = None,
        verifiers: Mapping[Portrait, Verifier] | None = None,
    ) -> None:
        if audit is not None and not station:
            raise ValueError("an audited comparer needs the name of its station")
        self.profile = profile
        self.audit: AuditSink | None = LogSink(audit) if isinstance(audit, AuditLog) else audit
        self.station = station
        self.detector, self.jitters, self.live_search = detector, jitters, live_search
        self._given: dict[Portrait, Verifier] = dict(verifiers or {})
        # one engine for every profile: the one given, else a given verifier's, else the first made
        self._embedder = embedder or next((v.embedder for v in self._given.values()), None)
        self._made: dict[str, Verifier] = {}
        self._lock = threading.Lock()

    def verifier_for(self, portrait: Portrait) -> Verifier:
        """The verifier whose profile suits ``portrait`` (``profile_for``), made on first use.

        Raises ``ProfileError`` when that profile cannot be read."""
        if portrait in self._given:
            return self._given[portrait]
        chosen = profile_for(portrait, self.profile)
        key = "" if chosen is None else str(chosen)
        with self._lock:  # a station's threads share the comparer: one verifier per profile
            verifier = self._made.get(key)
            if verifier is None:
                verifier = Verifier(
                    chosen,
                    detector=self.detector,
                    jitters=self.jitters,
                    live_search=self.live_search,
                    embedder=self._embedder,
                )
                _ = verifier.profile  # a bad profile is told before any image work
                self._embedder = self._embedder or verifier.embedder
                self._made[key] = verifier
        return verifier

    def read(self, document: Path | bytes, *, name: str | None = None) -> DocumentSide:
        """Read ``document`` (a portrait, a data-page scan, a chip folder or a DG2 file, or its
        bytes labelled ``name``) and find the face of the portrait that decides.

        Raises ``DocumentError`` for what is no document and for a chip that gives no portrait,
        and an ``InputError`` subclass for an image that cannot be used."""
        started = time.perf_counter()
        reading = read_document(document, name=name)
        return self.side(reading, read_ms=(time.perf_counter() - started) * 1000)

    def side(
        self, reading: DocumentReading, *, located: Located | None = None, read_ms: float = 0.0
    ) -> DocumentSide:
        """``reading`` ready to be compared: its deciding portrait's face found (a page's taken
        from the reading; ``located`` when a caller kept it, gated, from an earlier ``side``) and
        held to the gates of its profile. Raises ``DocumentError`` for a chip with no portrait."""
        started = time.perf_counter()
        portrait = deciding_portrait(reading)
        verifier = self.verifier_for(portrait)
        if located is None:
            found = reading.located or verifier.locate(_document_image(reading), "document")
            located = verifier.gates(found, "document")
        reasons = tuple(Reason(f.code, f.message, "document") for f in reading.alerts)
        timings = {"read": read_ms, "locate": (time.perf_counter() - started) * 1000}
        return DocumentSide(reading, portrait, located, reasons, timings)

    def locate_live(
        self, side: DocumentSide, live: ImageSource | LoadedImage, *, label: str | None = None
    ) -> Located:
        """The traveller's face in ``live`` (a path, encoded bytes, an RGB array or a decoded
        image, named ``label`` in messages), searched and gated as the profile of ``side`` says.
        Raises an ``InputError`` subclass for an image that cannot be used."""
        verifier = self.verifier_for(side.portrait)
        found = verifier.locate(live, "live", label=label, search=verifier.live_search)
        return verifier.gates(found, "live")

    def compare(
        self,
        side: DocumentSide,
        live: ImageSource | LoadedImage | Located,
        *,
        operator: str,
        label: str | None = None,
    ) -> Comparison:
        """Compare ``side`` with the traveller's ``live`` photo (or a face already located with
        :meth:`locate_live`), log the verdict under ``operator``, and return the comparison.

        Raises an ``InputError`` subclass for a live image that cannot be used, and
        ``AuditError`` when the audit log cannot take the verdict (the verdict is then not given).
        """
        started = time.perf_counter()
        verifier = self.verifier_for(side.portrait)
        found = live if isinstance(live, Located) else self.locate_live(side, live, label=label)
        live_ms = (time.perf_counter() - started) * 1000
        verdict = verifier.compare(side.located, found, document_reasons=side.reasons)
        # the verdict's timings as ``Verifier.verify`` gives them: each side's search first
        verdict = _timed(verdict, {"document": side.timings_ms["locate"], "live": live_ms}, started)
        return self._concluded(side, verdict, operator, started, live_ms)

    def compare_stream(
        self, side: DocumentSide, stream: int | str | Path, *, operator: str, seconds: float | None = None
    ) -> Comparison:
        """Compare ``side`` with the best frame of a camera (its index) or a video file, watched
        for at most ``seconds`` (``impostor.pipeline.frames.best_frame``); logged under ``operator``.

        Raises ``CaptureError`` for a stream that cannot be opened or gives no frame."""
        started = time.perf_counter()
        verifier = self.verifier_for(side.portrait)
        found = frames.best_frame(verifier.finder, stream, seconds, verifier.profile.limits)
        live_ms = (time.perf_counter() - started) * 1000
        verdict = verifier.compare(side.located, found, document_reasons=side.reasons)
        # the verdict's timings as ``Verifier.verify_stream`` gives them
        steps = {"document_locate": side.timings_ms["locate"], "live_capture": live_ms}
        verdict = _timed(verdict, steps, started)
        return self._concluded(side, verdict, operator, started, live_ms)

    def compare_document(
        self,
        document: Path | bytes,
        live: ImageSource | LoadedImage,
        *,
        operator: str,
        name: str | None = None,
        live_label: str | None = None,
    ) -> Comparison:
        """:meth:`read` then :meth:`compare`: one document with one live photo, logged under
        ``operator``; raises what they raise."""
        return self.compare(self.read(document, name=name), live, operator=operator, label=live_label)

    def compare_photos(
        self,
        document: ImageSource,
        live: ImageSource,
        *,
        operator: str,
        document_label: str | None = None,
        live_label: str | None = None,
    ) -> Verdict:
        """Compare a document portrait given as a photo, not read as a document (a back-office
        list's pairs), with a live photo, under the profile of a bare portrait; the verdict is
        logged under ``operator``. Raises an ``InputError`` subclass for an unusable image."""
        verifier = self.verifier_for("portrait")
        verdict = verifier.verify(document, live, document_label=document_label, live_label=live_label)
        self._log(verdict, operator, None)
        return verdict

    def close(self) -> None:
        """Release the worker threads of the verifiers this comparer made (not of those given)."""
        for verifier in self._made.values():
            verifier.close()

    def __enter__(self) -> Comparer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _concluded(
        self, side: DocumentSide, verdict: Verdict, operator: str, started: float, live_ms: float
    ) -> Comparison:
        """The comparison of ``verdict``, logged first: a verdict is given only once it is kept."""
        compared = time.perf_counter()
        record = self._log(verdict, operator, side.document_id)
        timings = {
            "read": side.timings_ms["read"],
            "document": side.timings_ms["locate"],
            "live": live_ms,
            "compare": (compared - started) * 1000 - live_ms,
            "audit": (time.perf_counter() - compared) * 1000,
        }
        timings["total"] = sum(timings.values())
        return Comparison(verdict, side.reading, side.portrait, record, timings)

    def _log(self, verdict: Verdict, operator: str, document: tuple[str, str] | None) -> AuditRecord | None:
        if self.audit is None:
            return None
        return self.audit.append(verdict, station=self.station, operator=operator, document=document)


def _document_image(reading: DocumentReading) -> LoadedImage:
    """The image a comparison searches for the document's face: the portrait, or on a page
    where none was found the whole page. Raises ``DocumentError`` for a chip with no portrait."""
    if reading.portrait is not None:
        return reading.portrait
    if reading.page is not None:
        return reading.page
    why = next((f.message for f in reading.findings if f.code in _NO_CHIP_PORTRAIT), "it holds no portrait")
    raise DocumentError(f"{reading.source}: the chip gives no portrait to compare ({why})")


def _timed(verdict: Verdict, steps: dict[str, float], started: float) -> Verdict:
    """``verdict`` with the steps before it (the document's search, then the live side's, in
    ms) ahead of its own timings, and a total from the document's search to now."""
    first = next(iter(steps.values()))  # the document's search, done before ``started``
    total = first + (time.perf_counter() - started) * 1000
    return dataclasses.replace(verdict, timings_ms={**steps, **verdict.timings_ms, "total": total})
