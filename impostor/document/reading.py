"""Reading a whole document: a page scan, a chip folder or a single chip file, as one result.

:func:`read_document` decides what the path is, reads every part it can (the MRZ and the
portraits of a page; EF.COM, DG1, DG2 and EF.SOD of a chip) and turns what it found into
findings (``impostor.document.findings``). Broken parts are findings too ("the MRZ could not be
read: type it or read the chip"), so that one damaged file does not hide what the others say;
only a path that is no document at all raises a :class:`DocumentError` or an image error.

What the path is:

- a folder: a chip's files (``chip``);
- a file starting like a DG2 or a face record: a chip portrait (``chip``);
- an image whose MRZ is read: a data page (``page``);
- an image whose largest face fills it as a portrait does (wide, or in the middle and not
  small): a bare ``portrait``, compared as it is;
- any other image: a data page whose MRZ could not be read. This is an alert, so a face MATCH
  becomes a REFER: painting out an expired passport's MRZ must not turn it into a portrait.
  Whether an image is a page is told by where its face is, never by whether an MRZ was found.
"""

from __future__ import annotations

import datetime as dt
import functools
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
from cryptography import x509

from impostor import settings
from impostor.document import chip, correct, mrz, ocr, page, sod
from impostor.document.findings import (
    Finding,
    authentication_findings,
    chip_completeness_findings,
    ghost_finding,
    mrz_findings,
)
from impostor.document.mrz import Mrz
from impostor.errors import DocumentError, ImpostorError
from impostor.pipeline.verifier import Located, Verifier
from impostor.stages.align import align, find_landmarks
from impostor.stages.capture import load_image, read_file
from impostor.stages.detect import detect_faces
from impostor.stages.quality import default_limits
from impostor.types import FaceBox, LoadedImage, RGBImage

__all__ = ["DocumentReading", "Kind", "read_document", "read_mrz"]

Kind = Literal["page", "chip", "portrait"]
MAX_DOCUMENT_BYTES = 50 << 20  # a 600 dpi data-page scan is under 30 MB
# A bare portrait shows its face wide or in the middle; a data page shows it small and to one
# side. On the 34 shared specimen pages the largest face is at most 0.28 of the width and its
# centre at most 0.23 from the left or 0.8 and more (a phone photo of a page: 0.33); on 1,000
# LFW photos it is 0.35 or wider. A page padded with blank margins until its face is in the
# middle shows that face at most 0.28 / (2 - 2 × 0.22) = 0.18 of the width, so a face in the
# middle counts only from 0.2 of the width, and only where no MRZ-like row is in view; 69 of
# 83 faces-dev photos, taken anyhow, are read as portraits (bench_document_reading.py --kinds).
PORTRAIT_SHARE = 0.3  # a face this much of an image's width makes it a portrait, not a page
PORTRAIT_MIDDLE = 0.15  # or a face whose centre is this near the middle (share of the width)
PORTRAIT_MIDDLE_SHARE = 0.2  # and at least this wide
# a first look for a face, on a copy this long (~10 ms: a portrait's face is found at once),
# then on one twice as long (a face of a tenth of the width, as small as a data page's)
PORTRAIT_GLANCE_SIDES = (400, 800)
_NOTHING_READ = Finding(
    "nothing_read",
    "alert",
    "neither an MRZ nor a portrait's face was found: if this is a data page, examine it or read"
    " the chip; else give a data page, the chip's files or a portrait",
)
_TURNS = {90: cv2.ROTATE_90_CLOCKWISE, 270: cv2.ROTATE_90_COUNTERCLOCKWISE, 180: cv2.ROTATE_180}


@dataclass(frozen=True, eq=False)
class DocumentReading:
    """What was read from a document.

    ``kind`` is what the document side is (the module's docstring says how it is told).
    ``portrait`` is the image the face comparison should use: the page's main portrait cut to
    ICAO proportions, the chip's decoded DG2 image, or the bare portrait; None when there is
    none. ``page`` is the image as read, for an image document. ``mrz`` is the printed MRZ, or
    the chip's when only a chip was read (``mrz_from`` says which); ``chip_mrz`` is DG1's.
    """

    source: str
    kind: Kind
    portrait: LoadedImage | None
    page: LoadedImage | None
    mrz: Mrz | None
    mrz_from: str
    chip_mrz: Mrz | None
    authentication: sod.Authentication | None
    portrait_box: FaceBox | None
    secondary_boxes: tuple[FaceBox, ...]
    page_turned: int
    chip_portrait: chip.ChipPortrait | None
    findings: tuple[Finding, ...]
    timings_ms: dict[str, float]
    located: Located | None = None

    @property
    def alerts(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "alert")

    @property
    def document_id(self) -> tuple[str, str] | None:
        """The issuing state and document number read, for the audit log's keyed reference."""
        return (self.mrz.issuing_state, self.mrz.document_number) if self.mrz is not None else None

    def to_dict(self) -> dict[str, object]:
        authentication = self.authentication
        return {
            "source": self.source,
            "kind": self.kind,
            "mrz": _mrz_dict(self.mrz),
            "mrz_from": self.mrz_from or None,
            "chip_mrz": _mrz_dict(self.chip_mrz) if self.mrz_from == "page" else None,
            "portrait": None if self.portrait is None else _portrait_dict(self),
            "passive_authentication": None
            if authentication is None
            else {
                "hash_algorithm": authentication.hash_algorithm,
                "signer": authentication.signer,
                "signer_valid": authentication.signer_valid,
                "steps": [
                    {"step": s.name, "status": s.status, "detail": s.detail} for s in authentication.steps
                ],
                "passed": authentication.passed,
            },
            "findings": [finding.to_dict() for finding in self.findings],
            "timings_ms": {key: round(value, 1) for key, value in self.timings_ms.items()},
        }


def _portrait_dict(reading: DocumentReading) -> dict[str, object]:
    assert reading.portrait is not None
    found = reading.chip_portrait
    return {
        "width": reading.portrait.shape[1],
        "height": reading.portrait.shape[0],
        "box_on_page": None if reading.portrait_box is None else reading.portrait_box.to_dict(),
        "secondary_images": [box.to_dict() for box in reading.secondary_boxes],
        "page_turned_degrees": reading.page_turned,
        "chip": None
        if found is None
        else {
            "codec": found.codec,
            "record_format": found.record_format,
            "declared_size": found.declared_size,
            "face_image_type": found.face_image_type,
        },
    }


def _mrz_dict(found: Mrz | None) -> dict[str, object] | None:
    if found is None:
        return None
    return {
        "layout": found.layout,
        "lines": list(found.lines),
        "document_code": found.document_code,
        "issuing_state": found.issuing_state,
        "surname": found.surname,
        "given_names": found.given_names,
        "document_number": found.document_number,
        "nationality": found.nationality,
        "birth_date": found.birth,
        "sex": found.sex,
        "expiry_date": found.expiry,
        "optional_data": found.optional_data,
        "check_digits": [
            {"field": c.field, "printed": c.printed, "computed": c.computed, "valid": c.ok}
            | ({"note": c.note} if c.note else {})
            for c in found.checks
        ],
        "valid": found.valid,
        "corrections": [
            {"line": c.line + 1, "column": c.column + 1, "read": c.read, "kept": c.kept, "why": c.why}
            for c in found.corrections
        ],
    }


# --- a page --------------------------------------------------------------------------------------


def _rank(read: ocr.MrzRead) -> tuple[float, ...]:
    """Which of several reads is the MRZ: the most check digits holding, then the best fit to
    the MRZ's grammar, then the classifier's confidence."""
    try:
        found = correct.parse_read(read.lines, read.options)
    except DocumentError:
        return (-1.0, 0.0, read.mean_confidence)
    return (
        float(sum(check.ok for check in found.checks)),
        correct.grammar_fit(read.lines),
        read.mean_confidence,
    )


def _accept(read: ocr.MrzRead) -> bool:
    try:
        return correct.parse_read(read.lines, read.options).valid
    except DocumentError:
        return False


@functools.cache
def _ghost_verifier() -> Verifier:
    # printed faces on both sides: the document profile, and every search on both
    return Verifier("document", live_search="exhaustive")


@dataclass(frozen=True)
class _Page:
    printed: Mrz | None
    portraits: page.PagePortraits | None
    portrait: LoadedImage | None
    findings: list[Finding]
    turned: int = 0  # degrees clockwise, the page's and then the portrait search's
    located: Located | None = None  # the page's portrait with its face (a bare portrait: None)


def read_mrz(pixels: RGBImage) -> tuple[ocr.MrzSearch, Mrz | None]:
    """The MRZ on a page image: what the search found, and the MRZ it read, judged and
    corrected (``impostor.document.correct``); None when no MRZ was read."""
    search = ocr.find_mrz(pixels, accept=_accept, rank=_rank)
    if search.read is None:
        return search, None
    try:
        return search, correct.parse_read(search.read.lines, search.read.options)
    except DocumentError:
        return search, None


def _portrait_like(face: FaceBox, width: int, text_rows: int) -> bool:
    """Whether a face sits in an image of ``width`` px as a portrait's does: wide, or in the
    middle and not small where no MRZ-like row is in view (a data page shows its portrait small
    and to one side, and a page padded until its face is in the middle shows it smaller still)."""
    share = face.width / width
    middle = abs(face.center[0] / width - 0.5) <= PORTRAIT_MIDDLE
    return share >= PORTRAIT_SHARE or (middle and share >= PORTRAIT_MIDDLE_SHARE and not text_rows)


def _glance_face(pixels: RGBImage) -> FaceBox | None:
    """The largest face a quick look finds on small copies: a photo costs a few milliseconds,
    and a photo with no face tens, not a page's search in four orientations (seconds)."""
    floor = default_limits()["min_face_score"]  # weaker HOG responses are patterns, not faces

    def strong(found: list[FaceBox]) -> FaceBox | None:
        return next((face for face in found if face.score >= floor), None)

    for side in PORTRAIT_GLANCE_SIDES:
        face = strong(detect_faces(pixels, detect_side=side, effort="glance"))
        if face is not None:
            return face
    if max(pixels.shape[:2]) <= page.SMALL_PAGE:
        # a web copy of a card shows a 60 px portrait, under HOG's window: look at it enlarged
        larger = cv2.resize(pixels, None, fx=2, fy=2, interpolation=cv2.INTER_LINEAR)
        face = strong(detect_faces(larger, detect_side=max(larger.shape[:2]), effort="glance"))
        return None if face is None else face.scaled(0.5)
    return None


def _read_page(image: LoadedImage, today: dt.date, timings: dict[str, float]) -> tuple[Kind, _Page]:
    started = time.perf_counter()
    search, printed = read_mrz(image.pixels)
    timings["mrz"] = (time.perf_counter() - started) * 1000
    if printed is None:
        face = _glance_face(image.pixels)
        if face is not None and _portrait_like(face, image.pixels.shape[1], search.text_rows):
            return "portrait", _Page(None, None, image, [])
        if face is None and not search.text_rows and max(image.pixels.shape[:2]) > PORTRAIT_GLANCE_SIDES[0]:
            # no MRZ, no row like one and no face in view: nothing a comparison could trust (a
            # page on its side or with a tiny portrait is read as nothing too: never a MATCH).
            # An image no larger than a glance's copy is searched in full below: on so few
            # pixels the page's search (HOG enlarged, the CNN, four orientations) costs ~0.5 s
            # and finds the faces in the wild a glance misses (14 of 1,000 LFW photos)
            return "portrait", _Page(None, None, image, [_NOTHING_READ])
    started = time.perf_counter()
    pixels = image.pixels
    turned = search.read.turned if search.read is not None else 0
    if turned:
        pixels = cv2.rotate(pixels, _TURNS[turned])
    portraits = page.find_portraits(pixels, upright=printed is not None)
    timings["portrait"] = (time.perf_counter() - started) * 1000
    main = portraits.main
    findings: list[Finding] = []
    if printed is None:
        if main is not None and _portrait_like(main, portraits.page.shape[1], search.text_rows):
            return "portrait", _Page(None, None, image, [])
        if main is None and not search.text_rows:
            return "portrait", _Page(None, None, image, [_NOTHING_READ])
        message = (
            "this looks like a data page but its MRZ could not be read: examine the page, or read the chip"
        )
        findings.append(Finding("mrz_unreadable", "alert", message))
    else:
        findings += mrz_findings(printed, today)
    if main is None:
        findings.append(Finding("no_portrait", "warning", "no usable portrait was found on the page"))
        return "page", _Page(printed, portraits, None, findings, turned)
    portrait = _portrait_located(portraits, main, image)
    started = time.perf_counter()
    verifier = _ghost_verifier()
    accept, reject = verifier.profile.accept_distance, verifier.profile.reject_distance
    for number, box in enumerate(portraits.secondary, start=1):
        ghost = LoadedImage(page.portrait_crop(portraits.page, box), image.info)
        distance = verifier.compare(portrait, verifier.locate(ghost, "live")).distance
        findings.append(ghost_finding(number, distance, accept, reject))
    timings["ghost"] = (time.perf_counter() - started) * 1000
    turned = (turned + portraits.turned) % 360
    return "page", _Page(printed, portraits, portrait.image, findings, turned, located=portrait)


def _portrait_located(portraits: page.PagePortraits, main: FaceBox, image: LoadedImage) -> Located:
    """The main portrait cut to ICAO proportions, with the face the page's search found: searched
    again on the crop, the Serbian specimen's face is missed upright and found upside down."""
    crop = portraits.crop
    assert crop is not None
    height = main.height * page.CROP_HEIGHT  # where page.portrait_crop cut it: its clipped corner
    x0 = max(0, round(main.center[0] - height * page.CROP_ASPECT / 2))
    y0 = max(0, round(main.top - (height - main.height) * page.CROP_ABOVE))
    face = FaceBox(main.left - x0, main.top - y0, main.right - x0, main.bottom - y0, main.score)
    landmarks = find_landmarks(crop, face)
    detector: Literal["hog", "cnn"] = "cnn" if portraits.detector == "cnn" else "hog"
    chip = align(crop, landmarks)
    return Located("document", LoadedImage(crop, image.info), (face,), 0, detector, landmarks, chip)


# --- a chip ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Chip:
    printed: Mrz | None
    authentication: sod.Authentication | None
    portrait: chip.ChipPortrait | None
    image: LoadedImage | None
    findings: list[Finding]


def _read_chip(
    files: chip.ChipFiles | None,
    dg2: bytes | None,
    source: str,
    trusted: list[x509.Certificate] | None,
    today: dt.date,
) -> _Chip:
    """A chip read whole: what it holds, whether the issuer signed it, and its portrait.

    A chip that cannot be authenticated is an alert, never a note: a forger's easiest move is
    to leave out what would give him away (EF.SOD, a DG1 that says the passport expired, a
    file EF.COM does not list). The portrait is decoded only after its hash is checked, and
    never when it differs from what was signed.
    """
    findings: list[Finding] = []
    if files is None:
        message = "a DG2 alone cannot be authenticated: read the chip's files with EF.SOD"
        findings.append(Finding("chip_not_authenticated", "alert", message))
        found, image = _chip_portrait(dg2, source, findings)
        return _Chip(None, None, found, image, findings)
    findings += chip_completeness_findings(files)
    printed = None
    dg1 = files.get("DG1")
    if dg1 is not None:
        try:
            printed = mrz.parse(chip.read_dg1(dg1))
        except DocumentError as error:
            findings.append(
                Finding("chip_dg1_unreadable", "alert", f"the chip's MRZ cannot be read: {error}")
            )
        else:
            findings += mrz_findings(printed, today, chip=True)
    authentication = None
    security = files.get("EF.SOD")
    if security is not None:
        groups = {int(name[2:]): data for name, data in files.files.items() if name.startswith("DG")}
        try:
            authentication = sod.authenticate(security, groups, csca=trusted)
        except DocumentError as error:
            findings.append(Finding("chip_sod_unreadable", "alert", f"EF.SOD cannot be read: {error}"))
        else:
            findings += authentication_findings(authentication)
    found = image = None
    if dg2 is None:
        pass  # chip_completeness_findings has said so
    elif authentication is not None and not authentication.verified(2):
        message = "the chip's portrait (DG2) is not the one the issuer signed: it was not decoded"
        findings.append(Finding("chip_portrait_not_signed", "alert", message))
    else:
        found, image = _chip_portrait(dg2, source, findings)
    return _Chip(printed, authentication, found, image, findings)


def _chip_portrait(
    dg2: bytes | None, source: str, findings: list[Finding]
) -> tuple[chip.ChipPortrait | None, LoadedImage | None]:
    """DG2's portrait decoded, within a chip's size; a finding when it cannot be used."""
    if dg2 is None:
        return None, None
    try:
        found = chip.read_dg2(dg2)[0]
        # a chip holds a portrait of at most a few hundred thousand pixels: a header claiming
        # more is a decompression bomb, refused before the decoder allocates it
        image = load_image(found.image, name=f"{source} (DG2 portrait)", max_pixels=chip.MAX_PORTRAIT_PIXELS)
    except ImpostorError as error:
        message = f"the chip's portrait cannot be used: {error}"
        findings.append(Finding("chip_portrait_unreadable", "alert", message))
        return None, None
    return found, image


# --- the whole ---------------------------------------------------------------------------------


def read_document(
    path: Path | bytes,
    *,
    name: str | None = None,
    chip_folder: Path | None = None,
    csca: Path | None = None,
    today: dt.date | None = None,
) -> DocumentReading:
    """Read the document at ``path`` (or in these bytes, labelled ``name`` in messages): a page
    scan, a chip folder, a single DG2 or face record, or a bare portrait (the module's
    docstring says how each is told).

    ``chip_folder`` adds a chip to a page: DG1's MRZ is then compared with the printed one.
    ``csca`` is a CSCA certificate, a folder of them or an ICAO master list, for the chain step
    of passive authentication (the ``csca`` setting, ``IMPOSTOR_CSCA``, when not given).
    ``today`` decides what has expired (the local date by default).
    Raises :class:`DocumentError` (or an image error) when ``path`` is none of these.
    """
    today = today or dt.date.today()
    started = time.perf_counter()
    timings: dict[str, float] = {}
    configured = str(settings.get("csca"))
    csca = csca if csca is not None else Path(configured).expanduser() if configured else None
    # a bad --csca is told before anything is read, and a good one is parsed once per process
    trusted = sod.trusted_cscas(csca) if csca is not None else None
    source = name or (str(path) if isinstance(path, Path) else "document")
    image: LoadedImage | None = None
    read_page: _Page | None = None
    files: chip.ChipFiles | None = None
    dg2: bytes | None = None
    kind: Kind
    if isinstance(path, Path) and path.is_dir():
        kind, files = "chip", chip.read_folder(path)
        dg2 = files.get("DG2")
    else:
        data = path if isinstance(path, bytes) else read_file(path, source, max_bytes=MAX_DOCUMENT_BYTES)
        if data[:1] in (b"\x75", b"\xa1") or data.startswith(b"FAC\x00"):  # a DG2 or a face record
            kind, dg2 = "chip", data
        else:
            image = load_image(data, name=source)
            kind, read_page = _read_page(image, today, timings)
    if chip_folder is not None:
        files = chip.read_folder(chip_folder)
        dg2 = dg2 if dg2 is not None else files.get("DG2")
    read_chip: _Chip | None = None
    if files is not None or dg2 is not None:
        chip_started = time.perf_counter()
        read_chip = _read_chip(files, dg2, source, trusted, today)
        timings["chip"] = (time.perf_counter() - chip_started) * 1000
    findings = list(read_page.findings) if read_page else []
    printed = read_page.printed if read_page else None
    chip_mrz = read_chip.printed if read_chip else None
    if read_chip is not None:
        findings += read_chip.findings
        if printed is not None and chip_mrz is not None and chip_mrz.lines != printed.lines:
            message = "the chip's MRZ (DG1) differs from the printed one: examine the document"
            findings.append(Finding("chip_mrz_differs", "alert", message))
    portrait = read_page.portrait if read_page else None
    if portrait is None and read_chip is not None:
        portrait = read_chip.image
    portraits = read_page.portraits if read_page else None
    timings["total"] = (time.perf_counter() - started) * 1000
    return DocumentReading(
        source=source,
        kind=kind,
        portrait=portrait,
        page=image,
        mrz=printed or chip_mrz,
        mrz_from="page" if printed is not None else "chip" if chip_mrz is not None else "",
        chip_mrz=chip_mrz,
        authentication=read_chip.authentication if read_chip else None,
        portrait_box=portraits.main if portraits and kind == "page" else None,
        secondary_boxes=portraits.secondary if portraits and kind == "page" else (),
        page_turned=read_page.turned if read_page else 0,
        chip_portrait=read_chip.portrait if read_chip else None,
        findings=tuple(findings),
        timings_ms=timings,
        located=read_page.located if read_page else None,
    )
