"""Pages and chips of one e-passport for the three-way comparison's tests.

The page is ICAO's "Utopia" specimen (a clean rendering whose MRZ the reader reads) made into a
current Peruvian passport: its MRZ's issuing state reprinted as PER and its expiry as 2034
(each character cut from another cell of the same MRZ row, so the glyphs are the page's own;
the check digits recomputed), and a face printed with ``impostor.printing`` in place of its
portrait. The chip is personalised to match (``tests.card.virtual``): the same MRZ in DG1, a
photo in DG2, an EF.SOD under a test CSCA of Peru's.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from cryptography.hazmat.primitives import serialization
from numpy.typing import NDArray

from impostor.card.passport import FILE_NAMES
from impostor.document.mrz import check_digit
from impostor.pipeline.verifier import Verifier
from impostor.printing import DocumentStyle, render_document
from tests.card import virtual
from tests.document.signing import Authority

UTOPIA = "td3_uto_icao_specimen.png"
LINES = ("P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<<<<10")
ROWS = ((668, 700), (722, 758))  # each MRZ row's band of pixels on the specimen
PORTRAIT = (205, 630, 120, 440)  # top, bottom, left, right: the specimen's portrait, blanked
PRINTED_AT = (220, 130, 300)  # top, left and width of the portrait printed instead


def current_mrz(number_change: str = "") -> tuple[str, str]:
    """The specimen's MRZ issued by PER (the nationality stays UTO) and expiring in 2034; with
    ``number_change`` the document number's last character becomes it (a DG1 that differs)."""
    first = LINES[0][:2] + "PER" + LINES[0][5:]
    second = list(LINES[1])
    if number_change:
        second[8] = number_change
        second[9] = str(check_digit("".join(second[0:9])))
    second[21:27] = "340415"
    second[27] = str(check_digit("340415"))
    body = "".join(second)
    second[43] = str(check_digit(body[0:10] + body[13:20] + body[21:43]))
    return first, "".join(second)


def _cells(page: NDArray[np.uint8], band: tuple[int, int]) -> tuple[float, float]:
    """The first cell's centre and the pitch of the MRZ row in ``band`` (its 44 glyphs' columns)."""
    dark = page[band[0] : band[1]].min(axis=2) < 100
    columns = np.flatnonzero(dark.any(axis=0))
    starts = columns[np.r_[True, np.diff(columns) > 1]]
    ends = columns[np.r_[np.diff(columns) > 1, True]]
    centres = ((starts + ends) / 2)[1:45]  # the first and the last run are the card's edges
    assert len(centres) == 44, f"the MRZ row shows {len(centres)} glyphs, not 44"
    pitch, first = np.polyfit(np.arange(44), centres, 1)
    return float(first), float(pitch)


def _reprinted(page: NDArray[np.uint8], band: tuple[int, int], old: str, new: str) -> None:
    """Each character of row ``old`` that ``new`` changes, pasted from a cell of the same row."""
    first, pitch = _cells(page, band)
    source = page.copy()
    for index, (was, now) in enumerate(zip(old, new, strict=True)):
        if was == now:
            continue
        donor = old.index(now)
        left, right = (round(first + pitch * i - pitch / 2) for i in (index, donor))
        width = round(pitch)
        rows = slice(band[0] - 4, band[1] + 4)
        page[rows, left : left + width] = source[rows, right : right + width]


def printed_portrait(photo: Path, seed: int = 7) -> NDArray[np.uint8]:
    """``photo``'s face printed as a data page's portrait (RGB)."""
    located = Verifier().locate(photo, "document")
    assert located.landmarks is not None, f"no face in {photo}"
    eyes = (located.landmarks.left_eye, located.landmarks.right_eye)
    return render_document(located.image.pixels, located.boxes[0], DocumentStyle(True, seed), eyes=eyes)


def page_png(documents: Path, photo: Path) -> bytes:
    """The current Peruvian page with ``photo``'s face printed as its portrait, as PNG bytes."""
    bgr = cv2.imread(str(documents / "images" / UTOPIA))
    assert bgr is not None
    page = np.ascontiguousarray(bgr[..., ::-1])
    for band, old, new in zip(ROWS, LINES, current_mrz(), strict=True):
        _reprinted(page, band, old, new)
    top, bottom, left, right = PORTRAIT
    page[top:bottom, left:right] = 255
    portrait = printed_portrait(photo)
    at_top, at_left, width = PRINTED_AT
    height = round(width * portrait.shape[0] / portrait.shape[1])
    page[at_top : at_top + height, at_left : at_left + width] = cv2.resize(
        portrait, (width, height), interpolation=cv2.INTER_AREA
    )
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(page[..., ::-1]))
    assert ok
    return encoded.tobytes()


def chip_passport(photo: Path, csca: Authority, *, mrz: tuple[str, str] | None = None) -> virtual.Passport:
    """A chip whose DG2 is ``photo`` (re-encoded as a JPEG) and DG1 ``mrz`` (the page's by
    default), signed under ``csca``."""
    bgr = cv2.imread(str(photo))
    assert bgr is not None
    # LFW's 250 px photos show 40 px between the eyes; an enrolment photo shows twice that
    bgr = cv2.resize(bgr, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    ok, jpeg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return virtual.personalise(jpeg.tobytes(), "\n".join(mrz or current_mrz()), csca)


def write_chip(passport: virtual.Passport, folder: Path) -> Path:
    """The chip's files in ``folder`` as a reader writes them (``impostor chip read``)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in passport.files.items():
        (folder / FILE_NAMES[name]).write_bytes(data)
    return folder


def enlarged(photo: Path, path: Path) -> Path:
    """``photo`` twice as large at ``path``: a counter camera's photo, not LFW's thumbnail."""
    bgr = cv2.imread(str(photo))
    assert bgr is not None
    cv2.imwrite(str(path), cv2.resize(bgr, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC))
    return path


def write_csca(csca: Authority, path: Path) -> Path:
    """The CSCA's certificate as PEM at ``path``, for ``--csca``."""
    path.write_bytes(csca.certificate.public_bytes(serialization.Encoding.PEM))
    return path
