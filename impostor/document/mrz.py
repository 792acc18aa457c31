"""The machine-readable zone (ICAO 9303 parts 3 to 7): layouts, fields and check digits.

Five layouts, told apart by line count, line length and the first letter::

    TD3    2 × 44   passports                      composite digit
    MRV-A  2 × 44   visas ('V' first)              no composite, 16 optional characters
    TD2    2 × 36   official travel documents      composite digit
    MRV-B  2 × 36   visas ('V' first)              no composite
    TD1    3 × 30   identity cards                 composite digit over lines 1 and 2

Check digits weigh the field's characters 7, 3, 1, 7, 3, 1 … (digits as themselves, A–Z as 10–35,
``<`` as 0) and keep the sum modulo 10. A TD1 or TD2 document number longer than 9 characters
puts ``<`` where its check digit would be and continues in the optional data, whose last
character before the fillers is then the check digit. Issuers disagree on whether that ``<``
counts in the sum (BEL's cards count it, PRT's do not), so either reading is accepted and the
one that held is recorded.

:func:`parse` judges a text exactly as printed; what an OCR read is corrected first
(``impostor.document.correct``).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from impostor.errors import DocumentError

__all__ = [
    "ALPHABET_CHARS",
    "Check",
    "Correction",
    "Doubt",
    "Mrz",
    "check_digit",
    "layout_of",
    "name_start",
    "parse",
    "split_lines",
]

ALPHABET = re.compile(r"[A-Z0-9<]*")
ALPHABET_CHARS = "<0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
WEIGHTS = (7, 3, 1)


def _value(char: str) -> int:
    if char.isdigit():
        return int(char)
    if "A" <= char <= "Z":
        return ord(char) - ord("A") + 10
    if char == "<":
        return 0
    raise DocumentError(f"{char!r} cannot be in an MRZ: only A-Z, 0-9 and '<' can")


def check_digit(text: str) -> str:
    """The ICAO 9303 check digit of ``text`` (weights 7, 3, 1; ``<`` counts 0), as a character."""
    return str(sum(_value(char) * WEIGHTS[i % 3] for i, char in enumerate(text)) % 10)


@dataclass(frozen=True)
class Check:
    """One check digit: the field it guards, the digit printed and the digit computed.

    ``printed`` may be ``<`` where the field is empty (accepted) or any character an OCR read.
    ``note`` says how a long document number was summed, when it was one.
    """

    field: str
    printed: str
    computed: str
    ok: bool
    note: str = ""


@dataclass(frozen=True)
class Correction:
    """A character an OCR read that was changed: 0-based line and column, from, to, and why."""

    line: int
    column: int
    read: str
    kept: str
    why: str


@dataclass(frozen=True)
class Doubt:
    """A character the OCR was not sure of: 0-based line and column, the character kept, and
    its share of the probability of the characters its field allows (1.0: no other candidate)."""

    line: int
    column: int
    char: str
    confidence: float


@dataclass(frozen=True)
class Mrz:
    """What an MRZ says and whether its check digits hold.

    Dates stay as printed (``YYMMDD``, ``<`` for an unknown part); :attr:`birth_date` and
    :attr:`expiry_date` give them as dates where they are valid ones. Names are in the MRZ's own
    transliteration (``<`` turned into spaces). ``optional_data`` is the text of the optional
    fields (TD1 has two, joined by a space), without fillers.
    """

    layout: str
    lines: tuple[str, ...]
    document_code: str
    issuing_state: str
    surname: str
    given_names: str
    document_number: str
    nationality: str
    birth: str
    sex: str
    expiry: str
    optional_data: str
    checks: tuple[Check, ...]
    corrections: tuple[Correction, ...] = field(default=())
    doubts: tuple[Doubt, ...] = field(default=())  # in the names, which no check digit covers

    @property
    def valid(self) -> bool:
        """True when every check digit holds."""
        return all(check.ok for check in self.checks)

    @property
    def failing(self) -> tuple[str, ...]:
        """The fields whose check digit fails, in the order they are printed."""
        return tuple(check.field for check in self.checks if not check.ok)

    @property
    def text(self) -> str:
        """The zone as read, its lines joined by newlines."""
        return "\n".join(self.lines)

    @property
    def birth_date(self) -> dt.date | None:
        """The birth date, with the century that puts it in the past (None if not a date)."""
        return _date(self.birth, past=True)

    @property
    def expiry_date(self) -> dt.date | None:
        """The expiry date, in this century unless that puts it over 50 years ahead."""
        return _date(self.expiry, past=False)

    @property
    def doubted_letters(self) -> tuple[tuple[str, int], ...]:
        """Where each doubted name letter stands in the names as given here: ("surname" or
        "given_names", its index in that string)."""
        row, start = name_start(self.layout)
        names = self.lines[row][start:] if row < len(self.lines) else ""
        surname, separator, given = names.partition("<<")
        found = []
        for doubt in self.doubts:
            at = doubt.column - start
            if at < len(surname):
                which, raw, index = "surname", surname, at
            else:
                which, raw, index = "given_names", given, at - len(surname) - len(separator)
            index -= len(raw) - len(raw.lstrip("<"))  # the names are given without leading fillers
            if 0 <= index < len(getattr(self, which)):
                found.append((which, index))
        return tuple(found)

    def expired(self, today: dt.date) -> bool:
        """True when the expiry date is a date and is before ``today``."""
        expiry = self.expiry_date
        return expiry is not None and expiry < today


def name_start(layout: str) -> tuple[int, int]:
    """(line, column) where the names begin; they run to the end of that line."""
    return (2, 0) if layout == "TD1" else (0, 5)


def _date(text: str, *, past: bool, today: dt.date | None = None) -> dt.date | None:
    if not text.isdigit() or len(text) != 6:
        return None
    today = today or dt.date.today()
    year, month, day = int(text[:2]), int(text[2:4]), int(text[4:])
    century = 2000 if (2000 + year <= today.year if past else 2000 + year <= today.year + 50) else 1900
    try:
        return dt.date(century + year, month, day)
    except ValueError:
        return None


def split_lines(text: str) -> tuple[str, ...]:
    """The MRZ's lines from a text: blank lines and spaces dropped, letters upper-cased.

    Raises :class:`DocumentError` when a character cannot be in an MRZ or the line count and
    lengths are not one of the layouts.
    """
    lines = tuple(line.replace(" ", "").upper() for line in text.strip().splitlines() if line.strip())
    for line in lines:
        if not ALPHABET.fullmatch(line):
            bad = next(char for char in line if not ALPHABET.fullmatch(char))
            raise DocumentError(f"{bad!r} cannot be in an MRZ: only A-Z, 0-9 and '<' can")
    shape = (len(lines), *{len(line) for line in lines})
    if shape not in ((3, 30), (2, 36), (2, 44)):
        lengths = ", ".join(str(len(line)) for line in lines) or "none"
        raise DocumentError(
            f"an MRZ has 3 lines of 30 characters, or 2 of 36 or 44; this has {len(lines)} "
            f"line(s) of {lengths}"
        )
    return lines


def layout_of(lines: tuple[str, ...]) -> str:
    """The layout of lines already split (``TD1``, ``TD2``, ``TD3``, ``MRV-A``, ``MRV-B``)."""
    width = len(lines[0])
    visa = lines[0].startswith("V")
    if width == 30:
        return "TD1"
    if width == 36:
        return "MRV-B" if visa else "TD2"
    return "MRV-A" if visa else "TD3"


def _after_number(optional: str) -> str:
    """The optional data after a long document number's tail and check digit."""
    return optional.split("<", 1)[1] if "<" in optional else ""


def _text(field: str) -> str:
    return field.strip("<").replace("<", " ")


def _names(text: str) -> tuple[str, str]:
    surname, _, given = text.partition("<<")
    return surname.replace("<", " ").strip(), given.replace("<", " ").strip()


def _digit_check(name: str, data: str, printed: str) -> Check:
    computed = check_digit(data)
    empty = printed == "<" and set(data) <= {"<"}
    return Check(name, printed, computed, printed == computed or empty)


def _document_number(number: str, printed: str, optional: str) -> tuple[str, Check]:
    """The document number and its check: the short form, or the long form continued in the
    optional data (TD1 and TD2) when the check-digit position holds ``<``."""
    short = number.rstrip("<")
    if printed != "<" or not optional or optional[0] == "<":
        return short, _digit_check("document_number", number, printed)
    rest = optional.split("<", 1)[0]
    long_number, long_printed = short + rest[:-1], rest[-1]
    plain = check_digit(long_number)
    with_filler = check_digit(number + "<" + rest[:-1])
    if long_printed == plain:
        return long_number, Check("document_number", long_printed, plain, True, "long number")
    if long_printed == with_filler:
        note = "long number, '<' counted"
        return long_number, Check("document_number", long_printed, with_filler, True, note)
    return long_number, Check("document_number", long_printed, plain, False, "long number")


def _fields(lines: tuple[str, ...]) -> Mrz:
    layout = layout_of(lines)
    if layout == "TD1":
        one, two, three = lines
        number, check = _document_number(one[5:14], one[14], one[15:30])
        composite = one[5:30] + two[0:7] + two[8:15] + two[18:29]
        checks: tuple[Check, ...] = (
            check,
            _digit_check("date_of_birth", two[0:6], two[6]),
            _digit_check("date_of_expiry", two[8:14], two[14]),
            _digit_check("composite", composite, two[29]),
        )
        first = _after_number(one[15:30]) if check.note else one[15:30]
        optional = " ".join(_text(part) for part in (first, two[18:29]) if _text(part))
        code, state, nationality, sex = one[0:2], one[2:5], two[15:18], two[7]
        birth, expiry, names = two[0:6], two[8:14], three
    else:
        one, two = lines
        optional_end = {"TD3": 42, "MRV-A": 44, "TD2": 35, "MRV-B": 36}[layout]
        optional = two[28:optional_end]
        number, check = _document_number(two[0:9], two[9], optional if layout == "TD2" else "")
        checks = (
            check,
            _digit_check("date_of_birth", two[13:19], two[19]),
            _digit_check("date_of_expiry", two[21:27], two[27]),
        )
        if layout == "TD3":
            checks += (_digit_check("optional_data", optional, two[42]),)
        if layout in ("TD3", "TD2"):
            composite = two[0:10] + two[13:20] + two[21:-1]
            checks += (_digit_check("composite", composite, two[-1]),)
        if check.note:
            optional = _after_number(optional)
        optional = _text(optional)
        code, state, nationality, sex = one[0:2], one[2:5], two[10:13], two[20]
        birth, expiry, names = two[13:19], two[21:27], one[5:]
    surname, given = _names(names)
    return Mrz(
        layout=layout, lines=lines, document_code=code.rstrip("<"), issuing_state=state.strip("<"),
        surname=surname, given_names=given, document_number=number,
        nationality=nationality.strip("<"), birth=birth, sex=sex.strip("<"), expiry=expiry,
        optional_data=optional, checks=checks,
    )  # fmt: skip


def parse(text: str | tuple[str, ...] | list[str]) -> Mrz:
    """Judge an MRZ exactly as printed: its layout, fields and every check digit.

    ``text`` is the lines joined by newlines, or the lines. Raises :class:`DocumentError` for a
    text that is not an MRZ at all (a character outside A–Z, 0–9 and ``<``; an unknown layout).
    Failing check digits are not errors: they are in :attr:`Mrz.checks`.
    """
    return _fields(split_lines(text if isinstance(text, str) else "\n".join(text)))
