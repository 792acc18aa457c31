"""Compare a document with a traveller: the one service ``impostor compare``, the station's HTTP
API and its officers' page call, so that none of them puts the steps together itself.

    comparer = Comparer(profile, audit=LogSink(log), station="lima-t1-07")
    side = comparer.read(document)                        # the reading, its portrait found once
    result = comparer.compare(side, live, operator="ana")  # the verdict, audited
    result = comparer.compare_document(document, live, operator="ana")  # the two at once

Which portrait decides (:data:`Portrait`) is told from the reading: a bare ``portrait``, the
``chip``'s DG2 wherever passive authentication holds (``DocumentReading.chip_trusted``), else a
data ``page``'s (or, where none was found on it, the whole page, so that the verdict says there
is no face), or an untrusted chip's alone. One rule (:func:`impostor.pipeline.profile.profile_for`)
then picks the profile from it and the profile a site named, if any: the shipped document
profile for a printed page's portrait, the chip profile for a chip's, the default for a photo.
The comparer keeps one verifier per profile, made on first use.

A page read with its chip is compared three ways (``impostor.services.three_way``): the chip's
portrait decides, the page's and its ghosts are compared with the chip's (a substitution alert
leads the reasons); a chip that cannot be read leaves the page deciding, with an alert.

    side = comparer.read(page, chip=Path("chip-folder"))      # a chip's files
    side = comparer.read_chip(comparer.read(page), reader=0)  # the chip on reader 0, now
    side = comparer.with_chip(side, chip_read)                # a chip just read (read_passport)
    side.portrait, side.page, side.chip, side.checks          # "chip", both faces, PA/AA/CA

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
from typing import Literal

from impostor.card.passport import ChipRead, FileProgress
from impostor.document import DocumentReading, read_document
from impostor.document.chip import ChipFiles
from impostor.document.findings import chip_unreadable_finding
from impostor.document.reading import add_chip
from impostor.errors import CardAbsent, CardTimeout, ChipError, DocumentError, NoReader
from impostor.pipeline import frames
from impostor.pipeline.profile import profile_for
from impostor.pipeline.substitution import SubstitutionRule, load_substitution
from impostor.pipeline.verifier import Located, Search, Verifier
from impostor.records.audit import AuditLog, AuditRecord
from impostor.services.audit_sink import AuditSink, LogSink, side_quality
from impostor.services.three_way import ChipChecks, ThreeWay, read_on_reader, settled, three_way
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


def deciding_portrait(reading: DocumentReading) -> Portrait:
    """Which portrait of ``reading`` a comparison uses: ``"portrait"`` for a bare photo,
    ``"chip"`` for the chip's DG2 where passive authentication holds (a page's chip too: it is
    the enrolment photo the issuer signed), else ``"page"`` for a data page's (or the whole page
    where none was found on it), and ``"chip"`` for a chip that is all there is."""
    if reading.kind == "portrait":
        return "portrait"
    if reading.chip_trusted:
        return "chip"
    if reading.located is not None or (reading.portrait is None and reading.page is not None):
        return "page"
    return "chip"


@dataclass(frozen=True, eq=False)
class DocumentSide:
    """A document ready to be compared: what was read, and its portrait found.

    ``portrait`` says which portrait decides (:data:`Portrait`); ``located`` is that portrait's
    face, held to the gates of the profile it is compared under (no face: ``landmarks`` None);
    ``reasons`` are the reading's alerts as the verdict's reasons, the three-way comparison's
    first; ``timings_ms`` has ``read`` and ``locate``, in milliseconds. For a page read with its
    chip, ``page`` and ``chip`` are the two portraits' faces (either is ``located``) and
    ``checks`` what the chip proved (``ChipChecks``; None for a document without a chip).
    """

    reading: DocumentReading
    portrait: Portrait
    located: Located
    reasons: tuple[Reason, ...]
    timings_ms: dict[str, float]
    page: Located | None = None
    chip: Located | None = None
    checks: ChipChecks | None = None

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
    ``page`` and ``chip`` are the printed and the chip's portraits' faces where there were both
    (the live one is ``verdict.live``), ``checks`` what the chip proved (None without a chip).
    """

    verdict: Verdict
    reading: DocumentReading
    portrait: Portrait
    record: AuditRecord | None
    timings_ms: dict[str, float]
    page: Located | None = None
    chip: Located | None = None
    checks: ChipChecks | None = None

    def to_dict(self) -> dict[str, object]:
        """The JSON of ``impostor compare --json`` and of the API's ``/api/v1/verify``: the
        verdict's, with ``document_reading`` when the document is more than a bare portrait,
        ``decided_by`` (which portrait decided) and ``chip`` (its checks) with a chip."""
        shown = self.verdict.to_dict()
        if self.reading.kind != "portrait":
            shown["document_reading"] = self.reading.to_dict()
            shown["decided_by"] = self.portrait
        if self.checks is not None:
            shown["chip"] = self.checks.to_dict()
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
        self._rule: SubstitutionRule | None = None

    def verifier_for(self, portrait: Portrait) -> Verifier:
        """The verifier whose profile suits ``portrait`` (``profile_for``), made on first use;
        ``ProfileError`` when that profile cannot be read."""
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

    def read(
        self,
        document: Path | bytes,
        *,
        name: str | None = None,
        chip: Path | ChipFiles | None = None,
        csca: Path | None = None,
    ) -> DocumentSide:
        """Read ``document`` (a portrait, a data-page scan, a chip folder or a DG2 file, or its
        bytes labelled ``name``), with ``chip`` (a folder of the chip's files, or the files) for
        a page, and find the face of the portrait that decides; ``csca`` as ``read_document``.

        Raises ``DocumentError`` for what is no document and for a chip that gives no portrait,
        and an ``InputError`` subclass for an image that cannot be used."""
        started = time.perf_counter()
        reading = read_document(document, name=name, chip_folder=chip, csca=csca)
        return self.side(reading, read_ms=(time.perf_counter() - started) * 1000)

    def read_chip(
        self,
        side: DocumentSide,
        reader: int | str | None = None,
        *,
        csca: Path | None = None,
        timeout: float = 30.0,
        progress: FileProgress | None = None,
    ) -> DocumentSide:
        """``side`` (a page already read) with its chip read now on ``reader``, opened with the
        page's MRZ (``impostor.services.three_way.read_on_reader``): :meth:`with_chip`, or, when
        the chip cannot be opened or read, :meth:`without_chip` saying why.

        Raises ``NoReader``, ``CardAbsent`` or ``CardTimeout`` when there is no reader or no card
        to read (the officer acts: nothing about the document is learnt)."""
        try:
            chip_read = read_on_reader(side.reading, reader, csca=csca, timeout=timeout, progress=progress)
        except (NoReader, CardAbsent, CardTimeout):
            raise
        except ChipError as error:  # AccessDenied too: the MRZ read does not open this chip
            return self.without_chip(side, str(error))
        return self.with_chip(side, chip_read, csca=csca)

    def with_chip(self, side: DocumentSide, chip_read: ChipRead, *, csca: Path | None = None) -> DocumentSide:
        """``side`` with the chip ``chip_read`` read from a reader (``read_passport``): its files
        read and checked against ``csca`` (the setting's when None), its portrait deciding where
        passive authentication holds, compared with the page's, and its active and chip
        authentication in ``checks``."""
        started = time.perf_counter()
        reading = add_chip(side.reading, ChipFiles(dict(chip_read.files), {}), csca=csca)
        read_ms = side.timings_ms["read"] + (time.perf_counter() - started) * 1000
        return self.side(reading, read_ms=read_ms, chip_read=chip_read)

    def without_chip(self, side: DocumentSide, why: str) -> DocumentSide:
        """``side`` with an alert that its chip could not be read (``why``): its printed portrait
        still decides, and the verdict's reasons say why the chip did not."""
        reading = dataclasses.replace(
            side.reading, findings=(*side.reading.findings, chip_unreadable_finding(why))
        )
        kept = side.located if deciding_portrait(reading) == side.portrait else None
        return self.side(reading, located=kept, read_ms=side.timings_ms["read"], read_error=why)

    def side(
        self,
        reading: DocumentReading,
        *,
        located: Located | None = None,
        read_ms: float = 0.0,
        chip_read: ChipRead | None = None,
        read_error: str = "",
    ) -> DocumentSide:
        """``reading`` ready to be compared: its deciding portrait's face found (a page's taken
        from the reading; ``located`` when a caller kept it, gated, from an earlier ``side``) and
        held to the gates of its profile; with a chip, compared three ways (``three_way``, with
        ``chip_read``'s active and chip authentication, or ``read_error``: why a chip tried could
        not be read). Raises ``DocumentError`` for a chip with no portrait, and ``ProfileError``
        when the substitution rule cannot be read."""
        started = time.perf_counter()
        reading, read_error = settled(reading, read_error)
        portrait = deciding_portrait(reading)
        verifier = self.verifier_for(portrait)
        if located is None:
            found = reading.located if portrait == "page" else None
            found = found or verifier.locate(_document_image(reading, portrait), "document")
            located = verifier.gates(found, "document")
        compared = self._three_way(reading, portrait, located, chip_read, read_error)
        if compared.findings:
            reading = dataclasses.replace(reading, findings=(*reading.findings, *compared.findings))
        leading = [f for f in compared.findings if f.severity == "alert"]
        rest = [f for f in reading.alerts if f not in leading]
        reasons = tuple(Reason(f.code, f.message, "document") for f in (*leading, *rest))
        timings = {"read": read_ms, "locate": (time.perf_counter() - started) * 1000}
        return DocumentSide(
            reading, portrait, located, reasons, timings, compared.page, compared.chip, compared.checks
        )

    def _three_way(
        self,
        reading: DocumentReading,
        portrait: Portrait,
        located: Located,
        chip_read: ChipRead | None,
        read_error: str,
    ) -> ThreeWay:
        """The page ↔ chip and ghosts ↔ chip comparisons, and the chip's checks (``three_way``)."""
        if not reading.with_chip and chip_read is None and not read_error:
            return ThreeWay(reading.located if reading.kind == "page" else None, None, None)
        chip_face = located if portrait == "chip" else None
        if chip_face is None and reading.chip_image is not None:
            chip_face = self.verifier_for("chip").locate(reading.chip_image, "document")
        return three_way(
            reading,
            chip_face,
            cross=self._cross(),
            rule=self._substitution(),
            chip_read=chip_read,
            read_error=read_error,
        )

    def _cross(self) -> Verifier:
        """What compares printed faces with the chip's: grey-matched, as the rule was fitted."""
        with self._lock:
            verifier = self._made.get("\0cross")
            if verifier is None:
                verifier = Verifier(
                    "document", detector=self.detector, grey_match=True, embedder=self._embedder
                )
                self._made["\0cross"] = verifier
        return verifier

    def _substitution(self) -> SubstitutionRule:
        if self._rule is None:
            self._rule = load_substitution()
        return self._rule

    def locate_live(
        self, side: DocumentSide, live: ImageSource | LoadedImage, *, label: str | None = None
    ) -> Located:
        """The traveller's face in ``live`` (a path, encoded bytes, an RGB array or a decoded
        image, named ``label`` in messages), searched and gated as the profile of ``side`` says.
        Raises an ``InputError`` subclass for an image that cannot be used."""
        verifier = self.verifier_for(side.portrait)
        found = verifier.locate(live, "live", label=label, search=verifier.live_search)
        return verifier.gates(found, "live")

    def find_live(self, live: ImageSource | LoadedImage, *, label: str | None = None) -> Located:
        """The traveller's face, searched and gated beside the document's reading."""
        early = self.verifier_for("portrait")
        return early.gates(early.locate(live, "live", label=label, search=early.live_search), "live")

    def compare_found(self, side: DocumentSide, found: Located, *, operator: str) -> Comparison:
        """:meth:`compare` with a face from :meth:`find_live`, under ``side``'s profile."""
        verifier, early = self.verifier_for(side.portrait), self.verifier_for("portrait")
        same = (verifier.finder, verifier.live_search, verifier.profile.limits)
        if same != (early.finder, early.live_search, early.profile.limits):  # search or gates differ
            found = verifier.gates(verifier.locate(found.image, "live", search=verifier.live_search), "live")
        return self.compare(side, found, operator=operator)

    def compare(
        self,
        side: DocumentSide,
        live: ImageSource | LoadedImage | Located,
        *,
        operator: str,
        label: str | None = None,
    ) -> Comparison:
        """Compare ``side`` with the traveller's ``live`` photo (or a face from :meth:`locate_live`)
        and log the verdict under ``operator``. Raises an ``InputError`` subclass for a bad live
        image, ``AuditError`` when the log cannot take the verdict (then not given)."""
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
        checks = side.checks.record(side.portrait) if side.checks is not None else None
        record = self._log(verdict, operator, side.document_id, checks)
        timings = {
            "read": side.timings_ms["read"],
            "document": side.timings_ms["locate"],
            "live": live_ms,
            "compare": (compared - started) * 1000 - live_ms,
            "audit": (time.perf_counter() - compared) * 1000,
        }
        timings["total"] = sum(timings.values())
        return Comparison(
            verdict, side.reading, side.portrait, record, timings, side.page, side.chip, side.checks
        )

    def _log(
        self,
        verdict: Verdict,
        operator: str,
        document: tuple[str, str] | None,
        checks: Mapping[str, object] | None = None,
    ) -> AuditRecord | None:
        if self.audit is None:
            return None
        return self.audit.append(
            verdict, station=self.station, operator=operator, document=document, checks=checks
        )


def _document_image(reading: DocumentReading, portrait: Portrait) -> LoadedImage:
    """The image a comparison searches for the document's face: the chip's portrait when it
    decides, else the portrait, or on a page where none was found the whole page. Raises
    ``DocumentError`` for a chip with no portrait."""
    if portrait == "chip" and reading.chip_image is not None:
        return reading.chip_image
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
