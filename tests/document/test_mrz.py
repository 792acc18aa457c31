"""The MRZ's layouts, fields and check digits, judged on the shared texts and pages."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from pathlib import Path
from typing import Any

import pytest

from impostor.document import correct, findings, mrz, read_document
from impostor.errors import DocumentError

UTOPIA = ("P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<<<<10")


def test_check_digit_weights_7_3_1() -> None:
    assert mrz.check_digit("L898902C3") == "6"
    assert mrz.check_digit("740812") == "2"
    assert mrz.check_digit("<<<<") == "0"


def test_every_shared_text_is_judged_as_its_source_judges_it(mrz_samples: list[dict[str, Any]]) -> None:
    wrong = []
    for sample in mrz_samples:
        if sample["format"] == "unrecognised":
            with pytest.raises(DocumentError, match="an MRZ has 3 lines of 30"):
                mrz.parse(sample["lines"])
            continue
        found = mrz.parse(sample["lines"])
        failing = [name for name, check in sample["check_digits"].items() if not check["valid"]]
        if found.layout != sample["format"] or list(found.failing) != failing:
            wrong.append((sample["id"], found.layout, found.failing, failing))
    assert not wrong
    assert len(mrz_samples) == 58


def test_every_printed_mrz_parses_into_the_fields_read_by_eye(pages: list[dict[str, Any]]) -> None:
    names = {"format": "layout", "date_of_birth": "birth", "date_of_expiry": "expiry"}
    for page in pages:
        found = mrz.parse(page["mrz_lines"])
        expected = page["mrz_fields"]
        for key, value in expected.items():
            if key in ("optional_data_1", "optional_data_2", "optional_data"):
                continue
            assert getattr(found, names.get(key, key)) == value, (page["file"], key)
        assert found.valid == page["all_check_digits_valid"], page["file"]


def test_utopia_fields() -> None:
    found = mrz.parse(UTOPIA)
    assert (found.layout, found.document_code, found.issuing_state) == ("TD3", "P", "UTO")
    assert (found.surname, found.given_names) == ("ERIKSSON", "ANNA MARIA")
    assert (found.document_number, found.nationality, found.sex) == ("L898902C3", "UTO", "F")
    assert found.birth_date == dt.date(1974, 8, 12)
    assert found.expiry_date == dt.date(2012, 4, 15)
    assert found.optional_data == "ZE184226B"
    assert found.valid and found.expired(dt.date(2026, 11, 30))


def test_changing_any_one_character_covered_by_a_check_digit_is_caught() -> None:
    # every position of line 2 but the sex and nationality is under some check digit; a change
    # is caught unless it keeps the character's value modulo 10 (0, A, K, U and '<' all weigh
    # alike: ICAO's scheme cannot see those, and the test does not pretend it can)
    line = UTOPIA[1]
    covered = [i for i in range(len(line)) if not 10 <= i <= 12 and i != 20]
    value = {char: (0 if char == "<" else int(char, 36)) % 10 for char in mrz.ALPHABET_CHARS}
    for i, replacement in itertools.product(covered, mrz.ALPHABET_CHARS):
        if value[replacement] == value[line[i]]:
            continue
        changed = line[:i] + replacement + line[i + 1 :]
        assert not mrz.parse((UTOPIA[0], changed)).valid, (i, replacement)


def test_long_document_numbers_are_read_whichever_way_the_issuer_summed_them() -> None:
    portugal = (
        "I<PRT007777779<ZZ92<<<<<<<<<<<",
        "8303143M3405282PRT<<<<<<<<<<<2",
        "CACADOR<DE<ARAUJO<<ANDRE<ESTEV",
    )
    belgium = (
        "IDBEL000590240<6013<<<<<<<<<<<",
        "8512017F1311048BEL851201002007",
        "REINARTZ<<ULRIKE<KATIA<E<<<<<<",
    )
    assert mrz.parse(portugal).document_number == "007777779ZZ9"
    assert mrz.parse(portugal).checks[0].note == "long number"
    assert mrz.parse(belgium).document_number == "000590240601"
    assert mrz.parse(belgium).checks[0].note == "long number, '<' counted"
    td2 = ("I<UTOSTEVENSON<<PETER<JOHN<<<<<<<<<<", "D23145890<UTO3407127M95071227349<<<8")
    assert mrz.parse(td2).document_number == "D23145890734" and mrz.parse(td2).valid


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("P<UTO\nL898", "this has 2 line(s) of 5, 4"),
        ("", "this has 0 line(s) of none"),
        (UTOPIA[0] + "\n" + UTOPIA[1].replace("L", "l").replace("C", "ç"), "'Ç' cannot be in an MRZ"),
    ],
)
def test_text_that_is_no_mrz_says_why(text: str, message: str) -> None:
    with pytest.raises(DocumentError, match=re.escape(message)):
        mrz.parse(text)


def test_an_ocr_read_is_corrected_only_where_one_reading_validates() -> None:
    read = correct.parse_read(
        ("P<UT0ERIK55ON<<ANNA<MAR1A<<<<<<<<<<<<<<<<<<<", "L898902C36UTO740BIZZF12041S9ZE184226B<<<<<1O")
    )
    assert read.lines == UTOPIA and read.valid
    assert all(c.why for c in read.corrections)
    # one look-alike in the document number: the only reading whose check digit holds
    fixed = correct.parse_read((UTOPIA[0], "L8989O2C36" + UTOPIA[1][10:]))
    assert fixed.lines == UTOPIA
    assert [(c.read, c.kept) for c in fixed.corrections] == [("O", "0")]
    # a text judged as printed is never corrected
    assert not mrz.parse((UTOPIA[0], "L8989O2C36" + UTOPIA[1][10:])).valid


def test_a_read_with_several_valid_readings_is_left_as_read() -> None:
    ambiguous = (UTOPIA[0], UTOPIA[1][:28] + "ZE1B4226B<<<<<10")
    read = correct.parse_read(ambiguous)
    assert not read.valid and not [c for c in read.corrections if c.column >= 28]


def test_the_name_letters_the_reader_doubted_are_shown(documents: Path, pages: list[dict[str, Any]]) -> None:
    # names have no check digit: the Maltese card's SPITERI is read SPIIERI (I at 0.52, T at
    # 0.48) and passes every check; the reader's own doubt is what shows the officer where to look
    card = next(page for page in pages if page["file"].endswith("td1_mlt_spiteri_bad.png"))
    reading = read_document((documents / card["file"]).read_bytes(), name="malta")
    assert reading.mrz is not None and reading.mrz.surname == "SPIIERI MANDY"
    assert [(d.line, d.column, d.char) for d in reading.mrz.doubts] == [(2, 3, "I")]
    assert reading.mrz.doubted_letters == (("surname", 3),)  # where the page marks it
    doubted = [f for f in reading.findings if f.code == "mrz_name_doubted"]
    assert [(f.severity, f.values) for f in doubted] == [
        ("warning", {"count": "1", "name": "SPI[I]ERI MANDY"})
    ]
    # and a clean page's names are not doubted
    utopia = read_document((documents / "images" / "td3_uto_icao_specimen.png").read_bytes(), name="utopia")
    assert utopia.mrz is not None and utopia.mrz.doubts == ()
    # a typed MRZ has no confidences to doubt
    assert correct.parse_read(card["mrz_lines"]).doubts == ()


def test_a_composite_failing_only_by_the_readers_correction_is_flagged() -> None:
    # a TD1 card whose optional data holds the letters OK: the reader takes the O for a 0, as it
    # may anywhere letters and digits mix, and the composite digit, which alone covers those
    # characters, then fails
    printed = (
        "I<UTOD231458907<<<<<<<<<<<<<<<",
        "7408122F1204159UTOOK<<<<<<<<<4",
        "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
    )
    assert mrz.parse(printed).valid
    read = correct.parse_read(printed)
    assert read.failing == ("composite",)
    found = {f.code: f for f in findings.mrz_findings(read, dt.date(2010, 1, 1))}
    assert found["mrz_check_digit"].severity == "alert"  # still examined: the flag says where to look
    assert found["mrz_composite_corrected"].values == {"changes": "O→0"}
    # a composite that fails with the characters as read is not blamed on the reader
    forged = (printed[0], printed[1][:29] + "5", printed[2])
    assert "mrz_composite_corrected" not in {
        f.code for f in findings.mrz_findings(correct.parse_read(forged), dt.date(2010, 1, 1))
    }
