"""Tolerant chip keys: the readings of an MRZ worth trying, on typed texts, on the shared MRZ
texts with a character misread, on specimen pages with a glyph damaged, and through the
virtual reader."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from impostor.card import pcsc
from impostor.card.candidates import access_candidates, key_readings
from impostor.card.passport import mrz_keys, read_passport
from impostor.document import correct, mrz
from impostor.document.chip import read_dg1
from impostor.document.reading import read_mrz
from impostor.errors import AccessDenied, ConfigError
from impostor.stages.capture import load_image
from tests.card import virtual
from tests.card.conftest import PcscStack, insert

UTOPIA = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10"
UTOPIA_KEY = mrz_keys(UTOPIA)
UTOPIA_PAGE = "images/td3_uto_icao_specimen.png"

Options = list[list[dict[str, float]]]


@pytest.fixture(scope="module")
def documents(data_dir: Path) -> Path:
    """The shared documents (their fixtures live beside the document tests, not here)."""
    path = data_dir / "documents"
    if not (path / "images" / "ground_truth.json").is_file():
        pytest.fail(f"the shared documents are missing at {path}")
    return path


@pytest.fixture(scope="module")
def mrz_samples(documents: Path) -> list[dict[str, Any]]:
    samples: list[dict[str, Any]] = json.loads((documents / "mrz" / "mrz_text_samples.json").read_text())[
        "samples"
    ]
    return samples


@pytest.fixture(scope="module")
def pages(documents: Path) -> list[dict[str, Any]]:
    images: list[dict[str, Any]] = json.loads((documents / "images" / "ground_truth.json").read_text())[
        "images"
    ]
    return images


def _sure(lines: tuple[str, ...]) -> Options:
    """What a clean read offers: each character, all but certain."""
    return [[{char: 0.999} for char in line] for line in lines]


def _misread(text: str, line: int, column: int, offered: dict[str, float]) -> tuple[tuple[str, ...], Options]:
    """``text`` read with the character at (line, column) taken as the likeliest of ``offered``."""
    lines = mrz.split_lines(text)
    options = _sure(lines)
    options[line][column] = offered
    read = max(offered, key=lambda char: offered[char])
    changed = list(lines)
    changed[line] = changed[line][:column] + read + changed[line][column + 1 :]
    return tuple(changed), options


def _dates_are_dates(key: str) -> bool:
    for date in (key[10:16], key[17:23]):
        try:
            dt.date(2000 + int(date[:2]), int(date[2:4]), int(date[4:]))
        except ValueError:
            return False
    return True


def _well_formed(candidates: list[str], limit: int = 3) -> None:
    assert len(candidates) <= limit
    assert len(set(candidates)) == len(candidates)
    assert all(_dates_are_dates(key) for key in candidates)


# --- the check digits' logic, on texts ---------------------------------------------------------


def test_a_typed_mrz_gives_one_candidate() -> None:
    assert access_candidates(UTOPIA) == [UTOPIA_KEY]
    assert access_candidates(UTOPIA.splitlines()) == [UTOPIA_KEY]
    assert access_candidates(mrz.parse(UTOPIA)) == [UTOPIA_KEY]
    # typed with a wrong check digit: still the one key, computed from the fields as typed
    assert access_candidates(UTOPIA.replace("C36UTO", "C35UTO")) == [UTOPIA_KEY]


def test_what_is_no_mrz_or_no_limit_is_refused() -> None:
    with pytest.raises(AccessDenied, match="cannot open a chip"):
        access_candidates("P<UTOERIKSSON")
    with pytest.raises(ConfigError, match="limit 0"):
        access_candidates(UTOPIA, limit=0)
    with pytest.raises(AccessDenied, match="options cover lines of"):
        access_candidates(mrz.parse(UTOPIA), [[{"P": 1.0}] * 30] * 3)


def test_a_read_whose_check_digits_hold_comes_first_then_others_that_hold() -> None:
    lines = mrz.split_lines(UTOPIA)
    options = _sure(lines)
    options[1][4] = {"9": 0.7, "4": 0.3}  # L898(9|4)02C3
    options[1][8] = {"3": 0.6, "8": 0.4}  # the number's last character
    candidates = access_candidates(lines, options)
    _well_formed(candidates)
    assert candidates[0] == UTOPIA_KEY and len(candidates) > 1
    readings = key_readings(correct.parse_read(lines, options), options)
    assert all(reading.holds for reading in readings)
    assert [r.log_likelihood for r in readings[1:]] == sorted(
        (r.log_likelihood for r in readings[1:]), reverse=True
    )
    assert access_candidates(lines, options, limit=1) == [UTOPIA_KEY]


def test_a_misread_the_check_digits_cannot_settle_alone_is_among_the_candidates() -> None:
    # '9' read as '4' at 0.55: parse_read cannot correct it, because a second doubtful
    # character (the check digit, 6 or 1) makes the misread hold as well
    lines, options = _misread(UTOPIA, 1, 4, {"4": 0.55, "9": 0.45})
    number = lines[1][:9]
    options[1][9] = {"6": 0.6, mrz.check_digit(number): 0.4}
    found = correct.parse_read(lines, options)
    assert found.document_number == number  # not corrected: two readings hold
    candidates = access_candidates(lines, options)
    _well_formed(candidates)
    assert candidates[0] != UTOPIA_KEY and UTOPIA_KEY in candidates


def test_a_character_the_reader_did_not_offer_is_found_where_it_was_unsure() -> None:
    # the number's '0' read as 'Q' (0.7) or 'G' (0.3): the OCR offered no '0' at all
    lines, options = _misread(UTOPIA, 1, 5, {"Q": 0.7, "G": 0.3})
    assert correct.parse_read(lines, options).document_number != "L898902C3"
    candidates = access_candidates(lines, options)
    _well_formed(candidates)
    assert candidates[0] != UTOPIA_KEY and candidates[1] == UTOPIA_KEY
    # an MRZ already judged, with the options of the read that gave it: the same candidates
    assert access_candidates(correct.parse_read(lines, options), options) == candidates


def test_a_date_read_with_a_filler_is_no_key_but_its_repair_is() -> None:
    # the birth date's 4 (740812) taken for a filler: no key can be made of "7<0812"
    lines, options = _misread(UTOPIA, 1, 14, {"<": 0.9, "Z": 0.1})
    assert correct.parse_read(lines, options).birth == "7<0812"
    candidates = access_candidates(lines, options)
    _well_formed(candidates)
    assert candidates[0] == UTOPIA_KEY


def test_every_shared_text_with_a_misread_number_digit_finds_its_key(
    mrz_samples: list[dict[str, Any]],
) -> None:
    """Each digit of each valid shared MRZ's document number read as another digit (the
    reader unsure: 0.6, with a wrong runner-up): the right key is among three candidates, and
    the reading alone would have been wrong."""
    tried = missed = 0
    for sample in mrz_samples:
        if sample["format"] == "unrecognised":
            continue
        found = mrz.parse(sample["lines"])
        if not found.valid or any(check.note for check in found.checks):
            continue  # a long number is kept as read
        truth = mrz_keys("\n".join(found.lines))
        line, start = (0, 5) if found.layout == "TD1" else (1, 0)
        for column in range(start, start + 9):
            char = found.lines[line][column]
            if not char.isdigit():
                continue
            wrong, other = str((int(char) + 3) % 10), str((int(char) + 7) % 10)
            lines, options = _misread("\n".join(found.lines), line, column, {wrong: 0.6, other: 0.4})
            candidates = access_candidates(lines, options)
            _well_formed(candidates)
            assert candidates[0] != truth  # the reading alone would not open the chip
            tried += 1
            missed += truth not in candidates
    assert tried > 200 and missed == 0, (tried, missed)


# --- specimen pages with a glyph damaged -------------------------------------------------------


def _glyph_boxes(page: NDArray[np.uint8], count: int) -> list[tuple[int, int, int, int]]:
    """The (x, y, width, height) of each character of the lowest row of ``count`` dark blobs:
    on a clean specimen page, the MRZ's last line."""
    grey = cv2.cvtColor(page, cv2.COLOR_RGB2GRAY)
    ink = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)[1]
    _, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    boxes = [
        (int(x), int(y), int(w), int(h))
        for x, y, w, h, _ in stats[1:]
        if 3 < h < 0.06 * grey.shape[0] and w < 3 * h
    ]
    rows: list[tuple[float, float, list[tuple[int, int, int, int]]]] = []
    for box in sorted(boxes, key=lambda b: b[1] + b[3] / 2):
        middle = box[1] + box[3] / 2
        row = next((r for r in rows if abs(r[0] - middle) < 0.5 * max(box[3], r[1])), None)
        if row is None:
            rows.append((middle, box[3], [box]))
        else:
            row[2].append(box)
    found = [sorted(r[2]) for r in sorted(rows, key=lambda r: -r[0]) if len(r[2]) == count]
    assert found, f"no row of {count} characters on the page"
    return found[0]


def _damaged(page: NDArray[np.uint8], box: tuple[int, int, int, int], side: str) -> NDArray[np.uint8]:
    """``page`` with 40% of a glyph's width, on ``side``, painted over in the paper's colour (a
    scratch, a stain)."""
    x, y, w, h = box
    out = page.copy()
    paper = np.percentile(page[max(0, y - h) : y + 2 * h, max(0, x - w) : x + 2 * w], 90, axis=(0, 1))
    cut = int(round(0.4 * w))
    columns = slice(x, x + cut) if side == "left" else slice(x + w - cut, x + w)
    out[y : y + h, columns] = paper.astype(np.uint8)
    return out


def _page(documents: Path, name: str) -> NDArray[np.uint8]:
    return load_image(str(documents / name)).pixels


@pytest.mark.parametrize("name", [UTOPIA_PAGE, "images/td3_pol_kowalska.png"])
def test_pages_with_a_damaged_number_digit_find_their_key(
    documents: Path, pages: list[dict[str, Any]], name: str
) -> None:
    """Every digit of the document number, scratched on its left or its right: the key is
    among three candidates far more often than the reading alone is right."""
    entry = next(page for page in pages if page["file"] == name)
    truth = mrz_keys("\n".join(entry["mrz_lines"]))
    page = _page(documents, name)
    boxes = _glyph_boxes(page, 44)
    first = within = total = 0
    for column, char in enumerate(entry["mrz_lines"][1][:9]):
        if not char.isdigit():
            continue
        for side in ("left", "right"):
            search, _ = read_mrz(_damaged(page, boxes[column], side))
            assert search.read is not None
            candidates = access_candidates(search.read)
            _well_formed(candidates)
            total += 1
            first += candidates[:1] == [truth]
            within += truth in candidates
    assert within >= 0.9 * total and within >= first + 0.3 * total, (first, within, total)


# --- through the virtual reader ----------------------------------------------------------------


def test_a_page_misread_in_its_number_still_opens_the_chip_within_three_tries(
    documents: Path, pages: list[dict[str, Any]], pcsc_stack: PcscStack, face_jpeg: bytes
) -> None:
    entry = next(page for page in pages if page["file"] == UTOPIA_PAGE)
    text = "\n".join(entry["mrz_lines"])
    page = _page(documents, UTOPIA_PAGE)
    # the number's third character (a 9) scratched on its left: the reader takes it for a 7
    search, found = read_mrz(_damaged(page, _glyph_boxes(page, 44)[2], "left"))
    assert search.read is not None and found is not None
    assert found.document_number != "L898902C3" and mrz_keys(found.text) != mrz_keys(text)
    candidates = access_candidates(search.read)
    assert len(candidates) == 3 and mrz_keys(text) in candidates[1:]
    running = insert(pcsc_stack, virtual.personalise(face_jpeg, mrz=text), "utopia", extended=False)
    try:
        with pcsc.connect(running.reader, timeout=5) as channel:
            result = read_passport(channel, mrz_candidates=candidates)
    finally:
        running.stop()
    assert result.access == "BAC" and 2 <= result.tries <= 3
    assert result.password == f"MRZ reading {candidates.index(mrz_keys(text)) + 1}"
    assert read_dg1(result.files["DG1"]) == text
