"""The MRZ's layouts, fields and check digits, judged on the shared texts and pages."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from typing import Any

import pytest

from impostor.document import correct, mrz
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
