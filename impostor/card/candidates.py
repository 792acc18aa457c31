"""Which MRZ readings to open a chip with, best first: tolerant keys from the OCR.

BAC and PACE take their key from three fields of the MRZ (the document number, the birth date
and the expiry, with their check digits). One misread character in them and the chip refuses,
though the reader has read the rest of the page well. The OCR knows which characters it was not
sure of (:attr:`impostor.document.ocr.MrzRead.options`: per position, the glyphs it finds
plausible and their probabilities), and the MRZ's check digits say which other readings are
consistent. So :func:`access_candidates` returns:

1. the reading itself, as :func:`impostor.document.correct.parse_read` judged and corrected it;
2. then the other readings of the three fields whose check digits all hold, likeliest first.

A reading's likelihood is the product of the OCR's probabilities for every character the key
depends on: the three fields, their check digits (computed from the fields, so they must be a
plausible reading of the printed ones) and, where the layout has one, the composite check digit.
Where only digits may stand, a letter read counts for the digit it looks like; in a document
number ``O`` and ``0`` are one glyph, mostly zero (``O_SHARE``). A damaged glyph is often read
as something else with no trace of the truth among the OCR's options, so a character the OCR
did not offer shares what the position's first choice leaves (at least ``UNSEEN``), as the
field is written (its share of letters and digits): a doubtful position leaves much, a sure
one almost nothing. At most ``MAX_CHANGES`` of the offered characters (or OCR-B look-alikes:
0/O, 1/I, 8/B, 5/S, 2/Z, 6/G) change per field, or one character that was not offered; dates
must stay dates. The check digits cannot tell a digit from the letters worth as much modulo 10
(``0``, ``A``, ``K``, ``U``): the likelihood does.

Measured on the shared TD3 specimen pages (documents/images) with one document-number digit
damaged (a strip painted over its top, bottom, left, right or middle, or another digit blended
in): the reading alone gave the right key in 276 of 594 damaged reads, one of the three
candidates in 545. Weighing the characters not offered by the classifier's own scores instead
ranked the truth worse (within three in 127 of 168 reads on four of the pages, against 162).

An MRZ given as text (typed by the officer, or read without the OCR's probabilities) gives
exactly one reading: there is nothing to weigh alternatives with. Neither BAC nor PACE with the
MRZ counts failed tries against the chip, and :func:`impostor.card.access.open_chip` stops at
:data:`~impostor.card.access.MAX_TRIES`, so a few wrong readings never lock it.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from impostor.card.access import MAX_TRIES
from impostor.card.keys import mrz_information
from impostor.document import correct
from impostor.document.mrz import Mrz, check_digit, layout_of, parse
from impostor.document.ocr import MrzRead
from impostor.errors import AccessDenied, ConfigError, DocumentError

__all__ = ["KeyReading", "access_candidates", "key_readings"]

UNSEEN = 1e-3  # the least probability the characters the OCR did not offer share at a position
O_SHARE = 0.02  # of a document number's round glyph, the share that is the letter O, not zero
MAX_CHANGES = 2  # characters changed per field: a third in one field is past repair
DIGITS = "0123456789"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
KEEP_PER_FIELD = 8  # readings of each field carried into the combinations of all three

Position = tuple[int, int]  # 0-based line and column


@dataclass(frozen=True)
class _Field:
    """Where a field of the key lies: its characters and its check digit's position."""

    name: str
    values: tuple[Position, ...]
    check: Position
    date: bool


@dataclass(frozen=True)
class KeyReading:
    """One reading of the three key fields, as :func:`key_readings` ranks them.

    ``mrz_information`` is the string BAC and PACE take (:func:`impostor.card.keys.mrz_information`);
    ``log_likelihood`` the natural log of the OCR's probability of every character it depends
    on (higher is likelier; only comparable between readings of one MRZ); ``holds`` whether
    the check digits of all three fields hold for it; ``changes`` the characters changed from
    the reading judged (0-based line, column, read, taken).
    """

    mrz_information: str
    log_likelihood: float
    holds: bool
    changes: tuple[tuple[int, int, str, str], ...]


def _fields(layout: str) -> tuple[tuple[_Field, ...], Position | None]:
    """The key's fields in ``layout`` and the composite check digit's position (None: none)."""

    def span(line: int, start: int, end: int) -> tuple[Position, ...]:
        return tuple((line, column) for column in range(start, end))

    if layout == "TD1":
        return (
            _Field("document_number", span(0, 5, 14), (0, 14), False),
            _Field("date_of_birth", span(1, 0, 6), (1, 6), True),
            _Field("date_of_expiry", span(1, 8, 14), (1, 14), True),
        ), (1, 29)
    composite = {"TD3": (1, 43), "TD2": (1, 35)}.get(layout)
    return (
        _Field("document_number", span(1, 0, 9), (1, 9), False),
        _Field("date_of_birth", span(1, 13, 19), (1, 19), True),
        _Field("date_of_expiry", span(1, 21, 27), (1, 27), True),
    ), composite


def _composite_text(lines: Sequence[str], layout: str) -> str:
    """What the composite check digit is computed over (Doc 9303 parts 4 to 6)."""
    if layout == "TD1":
        one, two = lines[0], lines[1]
        return one[5:30] + two[0:7] + two[8:15] + two[18:29]
    two = lines[1]
    return two[0:10] + two[13:20] + two[21:-1]


def _is_date(text: str) -> bool:
    try:
        dt.date(2000 + int(text[:2]), int(text[2:4]), int(text[4:6]))
    except ValueError:
        return False
    return True


class _Weights:
    """The OCR's probability of each character at each position, as the field's kind reads it.

    Where only digits may stand (dates, check digits), a letter the OCR saw counts for the digit
    it stands in for (``O`` for ``0``, ``S`` for ``5`` …, as :data:`correct.TO_DIGIT`). In a
    document number OCR-B's ``O`` and ``0`` differ by a hair, so the reader's probability for
    the two is pooled and shared as document numbers are written: mostly digits (``O_SHARE``).
    """

    def __init__(self, options: correct.Options) -> None:
        self.options = options
        self._cache: dict[tuple[Position, bool], dict[str, float]] = {}

    def at(self, position: Position, digits: bool) -> dict[str, float]:
        """Each character the OCR offered at ``position`` and its probability."""
        key = (position, digits)
        if key not in self._cache:
            given = self.options[position[0]][position[1]]
            found: dict[str, float] = {}
            for char, p in given.items():
                if digits and char.isalpha():
                    char = correct.TO_DIGIT.get(char, "")
                if char:
                    found[char] = found.get(char, 0.0) + p
            if not digits:
                pooled = found.pop("0", 0.0) + found.pop("O", 0.0)
                if pooled:
                    found["0"], found["O"] = pooled * (1 - O_SHARE), pooled * O_SHARE
            self._cache[key] = found
        return self._cache[key]

    def probability(self, position: Position, char: str, digits: bool, letters: float = 0.0) -> float:
        """The probability of ``char`` at ``position``. A character the OCR did not offer shares
        the probability its first choice leaves (at least ``UNSEEN``: a damaged glyph leaves
        much, a clean one little) as the field is written: ``letters`` is the share of letters
        in it, the rest digits."""
        offered = self.at(position, digits)
        if char in offered:
            return max(offered[char], UNSEEN * 0.1)
        left = max(UNSEEN, 1.0 - max(offered.values(), default=0.0))
        share = letters / len(LETTERS) if char.isalpha() else (1.0 - letters) / len(DIGITS)
        return left * share

    def offered(self, position: Position, char: str) -> bool:
        return char in self.at(position, True)

    def others(self, position: Position, read: str, digits: bool) -> list[str]:
        """The characters other than ``read`` the OCR offered at ``position``, and in a document
        number ``read``'s OCR-B look-alike (0/O, 1/I, 8/B, 5/S, 2/Z, 6/G)."""
        found = [c for c in self.at(position, digits) if c not in (read, "<")]
        look_alike = correct.LOOK_ALIKES.get(read)
        if not digits and look_alike is not None and look_alike not in found:
            found.append(look_alike)
        return found


def _field_readings(
    lines: Sequence[str], field: _Field, weights: _Weights
) -> list[tuple[float, bool, tuple[tuple[Position, str], ...]]]:
    """The readings of one field: (log-likelihood of its characters and check digit, whether its
    check digit holds, the changes), the one read first, then up to ``KEEP_PER_FIELD`` others
    whose check digit holds, likeliest first."""
    read = [lines[line][column] for line, column in field.values]
    # a short number's trailing fillers are ink-free: the OCR does not take them for characters
    # (a '<' with characters after it, or in a date, is a damaged character)
    fillers = {i for i in range(len(read)) if not field.date and set(read[i:]) == {"<"}}
    alternatives = {
        index: weights.others(position, char, field.date)
        for index, (position, char) in enumerate(zip(field.values, read, strict=True))
        if index not in fillers
    }
    alternatives = {index: others for index, others in alternatives.items() if others}

    written = [char for char in read if char != "<"]
    letters = 0.0 if field.date else (sum(c.isalpha() for c in written) + 1) / (len(written) + 2)

    def scored(chars: list[str]) -> tuple[float, bool]:
        value = "".join(chars)
        computed = check_digit(value)
        total = sum(
            math.log(weights.probability(p, c, field.date, letters))
            for p, c in zip(field.values, chars, strict=True)
        )
        total += math.log(weights.probability(field.check, computed, True))
        printed = lines[field.check[0]][field.check[1]]
        holds = computed == printed or weights.offered(field.check, computed)
        return total, holds

    first_score, first_holds = scored(read)
    found: list[tuple[float, bool, tuple[tuple[Position, str], ...]]] = []
    for count in range(1, min(len(alternatives), MAX_CHANGES) + 1):
        for chosen in itertools.combinations(sorted(alternatives), count):
            for picks in itertools.product(*(alternatives[index] for index in chosen)):
                chars = list(read)
                for index, pick in zip(chosen, picks, strict=True):
                    chars[index] = pick
                if field.date and not _is_date("".join(chars)):
                    continue
                score, holds = scored(chars)
                if holds:
                    changes = tuple((field.values[i], p) for i, p in zip(chosen, picks, strict=True))
                    found.append((score, True, changes))
    # a character the OCR did not offer at all (a stain, a scratch through it): at one position,
    # every character the field allows; the least sure positions come first by likelihood, and
    # the check digits (the field's and the composite) leave about one in ten
    seen = {changes for _, _, changes in found}
    alphabet = DIGITS if field.date else DIGITS + LETTERS
    for index, (position, char) in enumerate(zip(field.values, read, strict=True)):
        if index in fillers:
            continue
        for pick in alphabet:
            changes = ((position, pick),)
            if pick == char or changes in seen:
                continue
            chars = read[:index] + [pick] + read[index + 1 :]
            if field.date and not _is_date("".join(chars)):
                continue
            score, holds = scored(chars)
            if holds:
                found.append((score, True, changes))
    found.sort(key=lambda item: -item[0])
    return [(first_score, first_holds, ()), *found[:KEEP_PER_FIELD]]


def _key(found: Mrz) -> str | None:
    """The MRZ information of a judged MRZ, or None when its fields cannot be a key."""
    printed = next((check.printed for check in found.checks if check.field == "document_number"), None)
    try:
        return mrz_information(found.document_number, found.birth, found.expiry, number_check=printed)
    except AccessDenied:
        return None  # a date with a letter the reader could not place: the others may still be keys


def key_readings(found: Mrz, options: correct.Options) -> list[KeyReading]:
    """Every reading of the key fields of ``found`` worth trying, ranked: the reading judged
    first (whether its check digits hold or not), then those whose check digits all hold, by
    log-likelihood under the OCR's ``options`` (per line and position, each plausible character
    and its probability, as :attr:`impostor.document.ocr.MrzRead.options`). Readings that give
    the same MRZ information are one; a reading whose dates are not digits gives none.

    A long document number (TD1 and TD2 numbers of more than 9 characters, continued in the
    optional data) is kept as read: only the dates are varied. Raises :class:`DocumentError`
    when ``options`` are not of the MRZ's shape (another read's).
    """
    if [len(line) for line in options] != [len(line) for line in found.lines]:
        raise DocumentError(
            f"the OCR's options cover lines of {[len(line) for line in options]} characters, the MRZ "
            f"has {[len(line) for line in found.lines]}: give the options of the read that gave it"
        )
    layout = layout_of(found.lines)
    fields, composite = _fields(layout)
    long_number = any(check.note for check in found.checks if check.field == "document_number")
    if long_number:
        fields = fields[1:]
    weights = _Weights(options)
    lines = found.lines
    per_field = [_field_readings(lines, field, weights) for field in fields]
    ranked: list[KeyReading] = []
    for combination in itertools.product(*per_field):
        changes = [change for _, _, field_changes in combination for change in field_changes]
        chars = [list(line) for line in lines]
        for (line, column), pick in changes:
            chars[line][column] = pick
        for field in fields:  # the check digits the key computes, as the composite sums them
            chars[field.check[0]][field.check[1]] = check_digit(
                "".join(chars[line][column] for line, column in field.values)
            )
        score = sum(field_score for field_score, _, _ in combination)
        if composite is not None:
            text = _composite_text(["".join(line) for line in chars], layout)
            score += math.log(weights.probability(composite, check_digit(text), True))
        try:
            judged = parse(tuple("".join(line) for line in chars))
        except DocumentError:
            continue
        key = _key(judged)
        if key is None:
            continue
        ranked.append(
            KeyReading(
                key,
                score,
                all(holds for _, holds, _ in combination),
                tuple((line, column, lines[line][column], pick) for (line, column), pick in changes),
            )
        )
    # the reading judged comes first, holding or not: the OCR's best guess, and the key is
    # right whenever only a check digit was misread (the key computes its own)
    first = [reading for reading in ranked if not reading.changes]
    others = sorted((r for r in ranked if r.changes and r.holds), key=lambda r: -r.log_likelihood)
    kept: dict[str, KeyReading] = {}
    for reading in [*first, *others]:
        kept.setdefault(reading.mrz_information, reading)
    return list(kept.values())


def access_candidates(
    mrz: MrzRead | Mrz | str | Sequence[str],
    options: correct.Options | None = None,
    *,
    limit: int = MAX_TRIES,
) -> list[str]:
    """The MRZ information strings to open a chip with, best first, at most ``limit`` and no two
    equal (the module's docstring says how they are ranked).

    ``mrz`` is what the OCR read (an :class:`~impostor.document.ocr.MrzRead`, whose options are
    used), an MRZ already judged (:class:`~impostor.document.mrz.Mrz`), or the MRZ's text (lines
    joined by newlines, or the lines). ``options`` gives the OCR's per-position probabilities
    for a judged MRZ or a text; without them (a typed MRZ) there is one candidate, the MRZ as
    given. The list is empty when no reading can be a key (a date that is not six digits): the
    officer types the three fields.

    Raises :class:`AccessDenied` when the text is no MRZ (or ``options`` are not of its shape),
    and :class:`ConfigError` for a ``limit`` under 1.
    """
    if limit < 1:
        raise ConfigError(f"limit {limit!r} must be at least 1: it is how many readings the chip is offered")
    text: str | Sequence[str] = ""
    if isinstance(mrz, MrzRead):
        text, options = mrz.lines, mrz.options
    elif not isinstance(mrz, Mrz):
        text = mrz
    try:
        if isinstance(mrz, Mrz):
            found = mrz
        elif options is not None:
            found = correct.parse_read(text, options)
        else:
            found = parse(text if isinstance(text, str) else tuple(text))
        readings = key_readings(found, options) if options is not None else None
    except DocumentError as error:
        raise AccessDenied(
            f"the MRZ given cannot open a chip: {error}; give both (or all three) lines, or the "
            "document number, birth date and expiry"
        ) from None
    if readings is None:
        key = _key(found)
        return [key] if key is not None else []
    return [reading.mrz_information for reading in readings[:limit]]
