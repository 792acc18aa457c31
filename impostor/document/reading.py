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

import dataclasses
import datetime as dt
import functools
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
from cryptography import x509

from impostor import settings
from impostor.document import chip, correct, ocr, page, sod
from impostor.document.chip_reading import ChipReading, read_chip
from impostor.document.findings import Finding, ghost_finding, mrz_findings
from impostor.document.mrz import Mrz
from impostor.errors import DocumentError
from impostor.pipeline.verifier import Located, Verifier
from impostor.stages.align import align, find_landmarks
from impostor.stages.capture import load_image, read_file
from impostor.stages.detect import detect_faces
from impostor.stages.quality import default_limits
from impostor.types import FaceBox, LoadedImage, RGBImage

__all__ = ["DocumentReading", "Kind", "add_chip", "configured_cscas", "read_document", "read_mrz"]

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
    ``located`` is a page's main portrait with its face; ``ghosts`` the faces searched on its
    secondary (ghost) images, in order; ``chip_image`` the chip's decoded DG2 portrait (kept beside
    the page's, which is then ``portrait``); ``with_chip`` whether a chip's files were read.
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
    ghosts: tuple[Located, ...] = ()
    chip_image: LoadedImage | None = None
    with_chip: bool = False
    mrz_options: correct.Options | None = None  # the OCR's readings of each printed character

    @property
    def alerts(self) -> tuple[Finding, ...]:
        """The findings that must be examined before a MATCH can stand (severity ``alert``)."""
        return tuple(f for f in self.findings if f.severity == "alert")

    @property
    def chip_trusted(self) -> bool:
        """Whether the chip's portrait may stand for the holder: decoded (so its hash matched
        what was signed) and passive authentication ran with no step failed; a chain not checked
        is an alert of its own, which keeps a MATCH a REFER."""
        authentication = self.authentication
        return self.chip_image is not None and authentication is not None and authentication.passed

    @property
    def document_id(self) -> tuple[str, str] | None:
        """The issuing state and document number read, for the audit log's keyed reference."""
        return (self.mrz.issuing_state, self.mrz.document_number) if self.mrz is not None else None

    def to_dict(self) -> dict[str, object]:
        """The reading as ``impostor document --json`` prints it."""
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
    ghosts: tuple[Located, ...] = ()  # the faces searched on the secondary images
    options: correct.Options | None = None  # the OCR's readings of each MRZ character


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
    options = search.read.options if search.read is not None and printed is not None else None
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
        return "page", _Page(printed, portraits, None, findings, turned, options=options)
    portrait = _portrait_located(portraits, main, image)
    started = time.perf_counter()
    verifier = _ghost_verifier()
    accept, reject = verifier.profile.accept_distance, verifier.profile.reject_distance
    ghosts = []
    for number, box in enumerate(portraits.secondary, start=1):
        # compared with the face the page's search found, on a cut made fit for a pale print: a
        # second search on the pale cut often finds nothing, or the security lines
        ghost = _located(page.ghost_crop(portraits.page, box), "live", image, portraits.detector)
        findings.append(ghost_finding(number, verifier.compare(portrait, ghost).distance, accept, reject))
        ghosts.append(ghost)
    timings["ghost"] = (time.perf_counter() - started) * 1000
    turned = (turned + portraits.turned) % 360
    return "page", _Page(
        printed, portraits, portrait.image, findings, turned, portrait, tuple(ghosts), options
    )


def _portrait_located(portraits: page.PagePortraits, main: FaceBox, image: LoadedImage) -> Located:
    """The main portrait cut to ICAO proportions, with the face the page's search found: searched
    again on the crop, the Serbian specimen's face is missed upright and found upside down."""
    return _located(page.portrait_cut(portraits.page, main), "document", image, portraits.detector)


def _located(
    cut: page.Cropped, side: Literal["document", "live"], image: LoadedImage, found_by: str
) -> Located:
    """A portrait cut from the page, located by the face the page's search found in it."""
    landmarks = find_landmarks(cut.pixels, cut.face)
    detector: Literal["hog", "cnn"] = "cnn" if found_by == "cnn" else "hog"
    chip = align(cut.pixels, landmarks)
    return Located(side, LoadedImage(cut.pixels, image.info), (cut.face,), 0, detector, landmarks, chip)


# --- the whole ---------------------------------------------------------------------------------


def read_document(
    path: Path | bytes,
    *,
    name: str | None = None,
    chip_folder: Path | chip.ChipFiles | None = None,
    csca: Path | None = None,
    today: dt.date | None = None,
) -> DocumentReading:
    """Read the document at ``path`` (or in these bytes, labelled ``name`` in messages): a page
    scan, a chip folder, a single DG2 or face record, or a bare portrait (the module's
    docstring says how each is told).

    ``chip_folder`` adds a chip to a page (a folder of its files, or the files a reader just
    read): DG1's MRZ is then compared with the printed one (:func:`add_chip`).
    ``csca`` is a CSCA certificate, a folder of them or an ICAO master list, for the chain step
    of passive authentication (the ``csca`` setting, ``IMPOSTOR_CSCA``, when not given).
    ``today`` decides what has expired (the local date by default).
    Raises :class:`DocumentError` (or an image error) when ``path`` is none of these.
    """
    today = today or dt.date.today()
    started = time.perf_counter()
    trusted = configured_cscas(csca)  # a bad --csca is told before anything is read
    source = name or (str(path) if isinstance(path, Path) else "document")
    files: chip.ChipFiles | None = None
    dg2: bytes | None = None
    if isinstance(path, Path) and path.is_dir():
        files = chip.read_folder(path)
        reading = _nothing_yet(source)
    else:
        data = path if isinstance(path, bytes) else read_file(path, source, max_bytes=MAX_DOCUMENT_BYTES)
        if data[:1] in (b"\x75", b"\xa1") or data.startswith(b"FAC\x00"):  # a DG2 or a face record
            dg2, reading = data, _nothing_yet(source)
        else:
            reading = _page_reading(load_image(data, name=source), source, today)
    if chip_folder is not None:
        files = chip_folder if isinstance(chip_folder, chip.ChipFiles) else chip.read_folder(chip_folder)
    if files is not None or dg2 is not None:
        dg2 = dg2 if dg2 is not None else files.get("DG2") if files is not None else None
        reading = _with_chip(reading, files, dg2, trusted, today)
    reading.timings_ms["total"] = (time.perf_counter() - started) * 1000
    return reading


def add_chip(
    reading: DocumentReading,
    files: chip.ChipFiles,
    *,
    csca: Path | None = None,
    today: dt.date | None = None,
) -> DocumentReading:
    """``reading`` (a page read without its chip) with the chip's ``files`` read and checked
    as :func:`read_document` does with ``chip_folder``: the chip's findings added, DG1 compared
    with the printed MRZ, the chip's portrait decoded (``chip_image``). ``csca`` and ``today``
    as for :func:`read_document`. Raises :class:`DocumentError` for a bad ``csca``."""
    started = time.perf_counter()
    found = _with_chip(reading, files, files.get("DG2"), configured_cscas(csca), today or dt.date.today())
    found.timings_ms["total"] = reading.timings_ms.get("total", 0.0) + (time.perf_counter() - started) * 1000
    return found


def configured_cscas(csca: Path | None = None) -> list[x509.Certificate] | None:
    """The CSCA certificates in ``csca`` (a certificate, a folder of them or an ICAO master
    list), else in the ``csca`` setting's (``IMPOSTOR_CSCA``; parsed once per process), else
    None. Raises :class:`DocumentError` for what holds no CSCA."""
    configured = str(settings.get("csca"))
    csca = csca if csca is not None else Path(configured).expanduser() if configured else None
    return sod.trusted_cscas(csca) if csca is not None else None


def _nothing_yet(source: str) -> DocumentReading:
    """A chip document before its files are read: nothing printed, nothing found."""
    return DocumentReading(source, "chip", None, None, None, "", None, None, None, (), 0, None, (), {})


def _page_reading(image: LoadedImage, source: str, today: dt.date) -> DocumentReading:
    """An image read as a page (or found to be a bare portrait)."""
    timings: dict[str, float] = {}
    kind, read_page = _read_page(image, today, timings)
    portraits = read_page.portraits
    return DocumentReading(
        source=source,
        kind=kind,
        portrait=read_page.portrait,
        page=image,
        mrz=read_page.printed,
        mrz_from="page" if read_page.printed is not None else "",
        chip_mrz=None,
        authentication=None,
        portrait_box=portraits.main if portraits and kind == "page" else None,
        secondary_boxes=portraits.secondary if portraits and kind == "page" else (),
        page_turned=read_page.turned,
        chip_portrait=None,
        findings=tuple(read_page.findings),
        timings_ms=timings,
        located=read_page.located,
        ghosts=read_page.ghosts,
        mrz_options=read_page.options,
    )


def _with_chip(
    reading: DocumentReading,
    files: chip.ChipFiles | None,
    dg2: bytes | None,
    trusted: list[x509.Certificate] | None,
    today: dt.date,
) -> DocumentReading:
    """``reading`` with a chip's files (or a lone DG2) read, and DG1 compared with the page's MRZ."""
    started = time.perf_counter()
    found: ChipReading = read_chip(files, dg2, reading.source, trusted, today)
    findings = [*reading.findings, *found.findings]
    printed = reading.mrz if reading.mrz_from == "page" else None
    if printed is not None and found.printed is not None and found.printed.lines != printed.lines:
        message = "the chip's MRZ (DG1) differs from the printed one: examine the document"
        findings.append(Finding("chip_mrz_differs", "alert", message))
    chip_mrz = found.printed
    return dataclasses.replace(
        reading,
        portrait=reading.portrait if reading.portrait is not None else found.image,
        mrz=printed or chip_mrz,
        mrz_from="page" if printed is not None else "chip" if chip_mrz is not None else "",
        chip_mrz=chip_mrz,
        authentication=found.authentication,
        chip_portrait=found.portrait,
        findings=tuple(findings),
        timings_ms={**reading.timings_ms, "chip": (time.perf_counter() - started) * 1000},
        chip_image=found.image,
        with_chip=True,
    )
