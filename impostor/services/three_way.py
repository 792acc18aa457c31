"""The three portraits of an e-passport, and what its chip proved, for the comparison service.

A document read with its chip (``impostor.document.read_document(page, chip_folder=…)``, or a
chip read on a reader now) has three portraits: the page's printed one, the chip's DG2 (the
enrolment photo, signed by the issuing state) and the traveller's live photo. The comparison
service (``impostor.services.comparison``) lets the chip's decide against the live photo when
passive authentication holds (``DocumentReading.chip_trusted``); this module adds the rest:

- page ↔ chip: the substitution rule (``impostor.pipeline.substitution``): a page portrait too
  far from the chip's is an alert (``portrait_substituted``) that leads the reasons, so a MATCH
  becomes a REFER; a note when they agree;
- ghost images ↔ chip: each ghost found on the page against the chip's portrait, as the page's
  own ghost check does against its main portrait;
- active and chip authentication (only from a chip read on a reader: a folder of files cannot
  be challenged), an alert when either failed;
- :class:`ChipChecks`: passive, active and chip authentication, how the chip was opened, and the
  substitution distance, for the JSON and the audit record.

It also reads a chip on a reader for a page already read (:func:`read_on_reader`), with the
page's MRZ as the key, and takes a chip's files from uploaded parts (:func:`chip_files`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from impostor.card.authenticity import FAILED as CHECK_FAILED
from impostor.card.candidates import access_candidates
from impostor.card.passport import ChipRead, FileProgress, mrz_keys, read_passport
from impostor.document import DocumentReading, sod
from impostor.document.chip import DATA_GROUP_TAGS, FILES, MAX_FILE_BYTES, ChipFiles
from impostor.document.findings import (
    Finding,
    chip_check_finding,
    ghost_chip_finding,
    substitution_finding,
)
from impostor.document.reading import configured_cscas
from impostor.errors import AccessDenied, DocumentError
from impostor.pipeline.substitution import SubstitutionRule
from impostor.pipeline.verifier import Located, Verifier

__all__ = [
    "MAX_CHIP_FILES",
    "NOT_DONE",
    "NOT_READ",
    "ChipChecks",
    "ThreeWay",
    "chip_files",
    "passive_status",
    "read_on_reader",
    "settled",
    "three_way",
]

NOT_DONE, NOT_READ, INCOMPLETE = "not done", "not read", "incomplete"
# EF.COM, EF.SOD, EF.CardAccess and the sixteen data groups: no chip has more files
MAX_CHIP_FILES = 19
_FROM_FILES = "the chip's files were given, not the chip: it could not be challenged"
# what three_way finds, made again each time a reading is made a side
THREE_WAY_CODES = frozenset(
    {
        "portrait_substituted",
        "portrait_matches_chip",
        "portrait_chip_unchecked",
        "ghost_chip_differs",
        "ghost_chip_unconfirmed",
        "ghost_chip_matches",
        "ghost_chip_unchecked",
        "chip_active_failed",
        "chip_authentication_failed",
    }
)


@dataclass(frozen=True)
class ChipChecks:
    """What the chip proved, as an officer and the audit log read it.

    ``passive`` is passive authentication: ``"passed"`` (every step), ``"failed"`` (a step
    failed), ``"incomplete"`` (hashes and signature held, the chain was not checked),
    ``"not done"`` (no EF.SOD could be read) or ``"not read"`` (the chip could not be read).
    ``active`` and ``chip`` are active and chip authentication as they count
    (``impostor.card.authenticity``: ``passed``, ``failed``, ``not done``, ``not counted``);
    ``details`` says why, for each of the three. ``access`` is what opened the chip (``"BAC"``,
    ``"PACE …"``; "" for a folder of files) on ``reader``; ``read_error`` why it could not be
    read. ``substitution_distance`` is the page portrait's distance from the chip's (None: not
    compared), ``substitution_alert`` the rule's answer at ``alert_distance``.
    """

    passive: str
    active: str = NOT_DONE
    chip: str = NOT_DONE
    details: dict[str, str] = field(default_factory=dict)
    access: str = ""
    reader: str = ""
    read_error: str = ""
    substitution_distance: float | None = None
    substitution_alert: bool | None = None
    alert_distance: float | None = None

    def to_dict(self) -> dict[str, object]:
        """The checks as JSON-ready values (the ``chip`` part of ``compare --json``)."""
        return {
            "access": self.access or None,
            "reader": self.reader or None,
            "read_error": self.read_error or None,
            "passive_authentication": self.passive,
            "active_authentication": self.active,
            "chip_authentication": self.chip,
            "details": dict(self.details),
            "substitution": {
                "distance": None
                if self.substitution_distance is None
                else round(self.substitution_distance, 4),
                "alert_distance": self.alert_distance,
                "alert": self.substitution_alert,
            },
        }

    def record(self, portrait: str) -> dict[str, object]:
        """What the audit record keeps: which portrait decided, the three checks' statuses, how
        the chip was read, and the substitution distance and answer (no personal data)."""
        return {
            "portrait": portrait,
            "passive": self.passive,
            "active": self.active,
            "chip": self.chip,
            "access": self.access,
            "read_error": bool(self.read_error),
            "substitution_distance": self.substitution_distance,
            "substitution_alert": self.substitution_alert,
        }


@dataclass(frozen=True, eq=False)
class ThreeWay:
    """What the three-way comparison adds to a document side: the page's portrait face
    (``page``), the chip's (``chip``), the checks (None for a document read without a chip)
    and the findings, the alerts among them to lead the verdict's reasons."""

    page: Located | None
    chip: Located | None
    checks: ChipChecks | None
    findings: tuple[Finding, ...] = ()


def settled(reading: DocumentReading, read_error: str = "") -> tuple[DocumentReading, str]:
    """``reading`` without what an earlier :func:`three_way` added to it (a side's reading made a
    side again finds it all again, once), and why its chip could not be read: ``read_error``,
    else what its ``chip_unreadable`` alert says."""
    kept = tuple(finding for finding in reading.findings if finding.code not in THREE_WAY_CODES)
    if not read_error:
        said = (f.values.get("detail", "") for f in reading.findings if f.code == "chip_unreadable")
        read_error = next(said, "")
    return dataclasses.replace(reading, findings=kept), read_error


def passive_status(authentication: sod.Authentication | None) -> str:
    """Passive authentication in one word (:class:`ChipChecks` says which)."""
    if authentication is None:
        return NOT_DONE
    statuses = {step.status for step in authentication.steps}
    if sod.FAILED in statuses:
        return "failed"
    return "passed" if statuses == {sod.PASSED} else INCOMPLETE


def three_way(
    reading: DocumentReading,
    chip_face: Located | None,
    *,
    cross: Verifier,
    rule: SubstitutionRule,
    chip_read: ChipRead | None = None,
    read_error: str = "",
) -> ThreeWay:
    """The page ↔ chip and ghosts ↔ chip comparisons of ``reading`` and its chip's checks.

    ``chip_face`` is the chip portrait's face, located (None: the chip gave no portrait);
    ``cross`` the verifier whose embeddings and thresholds compare printed faces with the chip's
    (grey-matched, as the rule was fitted); ``rule`` the substitution rule; ``chip_read`` the
    reading of a chip on a reader (its active and chip authentication); ``read_error`` why a
    chip tried on a reader could not be read. A document without a chip gets no checks.
    """
    page = reading.located if reading.kind == "page" else None
    if not reading.with_chip and chip_read is None and not read_error:
        return ThreeWay(page, None, None)
    if read_error:
        details = {"passive": read_error, "active": read_error, "chip": read_error}
        return ThreeWay(page, None, ChipChecks(NOT_READ, details=details, read_error=read_error))
    findings: list[Finding] = []
    distance: float | None = None
    alert: bool | None = None
    if page is not None and reading.chip_image is not None:
        found = chip_face is not None and chip_face.landmarks is not None and page.landmarks is not None
        distance = _distance(cross, page, chip_face) if found else None
        alert = None if distance is None else bool(rule.alert(distance))
        findings.append(substitution_finding(distance, bool(alert), rule.alert_distance))
        accept, reject = cross.profile.accept_distance, cross.profile.reject_distance
        for number, ghost in enumerate(reading.ghosts, start=1):
            both = chip_face is not None and chip_face.landmarks is not None and ghost.landmarks is not None
            gap = _distance(cross, ghost, chip_face) if both else None
            findings.append(ghost_chip_finding(number, gap, accept, reject))
    checks = ChipChecks(
        passive_status(reading.authentication),
        details={"passive": _passive_detail(reading.authentication)},
        substitution_distance=distance,
        substitution_alert=alert,
        alert_distance=rule.alert_distance if distance is not None else None,
    )
    if chip_read is None:
        checks = dataclasses.replace(
            checks, details={**checks.details, "active": _FROM_FILES, "chip": _FROM_FILES}
        )
    else:
        checks = dataclasses.replace(
            checks,
            active=chip_read.active.status,
            chip=chip_read.chip.status,
            details={**checks.details, "active": chip_read.active.detail, "chip": chip_read.chip.detail},
            access=chip_read.access,
            reader=chip_read.reader,
        )
        for name, check in (("active", chip_read.active), ("chip", chip_read.chip)):
            if check.status == CHECK_FAILED:
                findings.append(chip_check_finding(name, check.detail))
    return ThreeWay(page, chip_face, checks, tuple(findings))


def _distance(cross: Verifier, printed: Located, chip_face: Located | None) -> float | None:
    """The distance between a printed face and the chip's, as ``cross`` embeds them."""
    if chip_face is None:
        return None
    found = cross.compare(printed, chip_face).distance
    return None if found is None else float(found)


def _passive_detail(authentication: sod.Authentication | None) -> str:
    if authentication is None:
        return "no EF.SOD could be read: the chip's data cannot be authenticated"
    return "; ".join(f"{step.name} {step.status}" for step in authentication.steps)


def read_on_reader(
    reading: DocumentReading,
    reader: int | str | None = None,
    *,
    csca: Path | None = None,
    timeout: float = 30.0,
    progress: FileProgress | None = None,
) -> ChipRead:
    """Read the chip of ``reading``'s document on ``reader`` (its number or part of its name;
    None: the only one), opened with the MRZ read from the page, then authenticated against
    ``csca`` (the ``csca`` setting when None). ``progress(file, done, total)`` follows each file.

    Raises :class:`~impostor.errors.AccessDenied` when the MRZ does not open the chip (or none
    was read), :class:`~impostor.errors.ChipError` when the chip cannot be read, and
    :class:`~impostor.errors.NoReader`, :class:`~impostor.errors.CardAbsent` or
    :class:`~impostor.errors.CardTimeout` for the reader and the card on it.
    """
    from impostor.card import pcsc

    if reading.mrz is None:  # told at once, not after the officer has laid the document down
        raise AccessDenied(
            "no MRZ was read from the page to open the chip with: type it, or examine the page"
        )
    trusted = configured_cscas(csca)
    # the read and, where the OCR doubted a character, its likeliest other readings whose check
    # digits hold: at most three tries, so the chip is never locked
    candidates = access_candidates(reading.mrz, reading.mrz_options) or [
        mrz_keys("\n".join(reading.mrz.lines))
    ]
    with pcsc.connect(reader, timeout=timeout) as channel:
        return read_passport(channel, mrz_candidates=candidates, progress=progress, csca=trusted)


def chip_files(parts: Sequence[tuple[str, bytes]]) -> ChipFiles:
    """A chip's files from ``(name, bytes)`` parts (uploads named as a reader names them:
    ``EF_COM.bin``, ``EF_SOD.bin``, ``DG1.bin`` …), each told by its first tag, as
    :func:`impostor.document.chip.read_folder` tells a folder's.

    Raises :class:`DocumentError` for more than :data:`MAX_CHIP_FILES` parts, a part over a
    chip file's size, one that is no chip file, or two holding the same file."""
    if len(parts) > MAX_CHIP_FILES:
        raise DocumentError(
            f"{len(parts)} chip files: a chip has at most {MAX_CHIP_FILES}; give only its files"
        )
    files: dict[str, bytes] = {}
    names: dict[str, str] = {}
    for name, data in parts:
        if len(data) > MAX_FILE_BYTES:
            raise DocumentError(f"{name}: over {MAX_FILE_BYTES >> 10} kB, which no chip file comes near")
        first = data[0] if data else -1
        if first == 0x31:
            continue  # EF.CardAccess says how to open the chip: nothing in it to check
        kind = FILES.get(first) or (f"DG{DATA_GROUP_TAGS[first]}" if first in DATA_GROUP_TAGS else None)
        if kind is None:
            raise DocumentError(
                f"{name}: not a chip file (EF.COM, EF.SOD or a data group, as a reader writes them)"
            )
        if kind in files:
            raise DocumentError(f"both {names[kind]} and {name} hold {kind}: give each file once")
        files[kind], names[kind] = data, name
    if not files:
        raise DocumentError("no chip file was given")
    return ChipFiles(files, {})
