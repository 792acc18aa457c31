"""Correcting what an OCR read in an MRZ, only where the MRZ itself makes the reading certain.

An OCR gives, per position, the characters it finds plausible and how likely each is. Three
kinds of knowledge about the MRZ then pin characters down, each recorded as a
:class:`~impostor.document.mrz.Correction` with its reason:

1. **The field's kind.** Dates and check digits hold digits; codes and names hold letters; where
   both may stand (document numbers, optional data) an ``O`` is taken as ``0``, because OCR-B's
   two differ by a hair and document numbers are mostly digits (the check digit then judges).
2. **State codes.** The issuing state and the nationality are codes from a known list
   (``impostor.document.codes``): an unknown code whose letters have one and only one
   plausible reading that is a known code takes that reading.
3. **Check digits.** Where a check digit fails, every reading that takes another plausible
   character (at least ``STRONG`` likely) at up to two positions inside the failing fields is
   tried, if no more than three positions there are in doubt; one is kept only when it is the
   one and only reading for which every check digit holds. More changes, more doubts, or
   counting only the fewest changes were measured to turn MRZs that are invalid as printed, or
   misread past repair (an overlay over the number), into valid ones.

Without the OCR's probabilities (a typed MRZ), each character's look-alikes (0/O, 1/I, 8/B, 5/S,
2/Z, 6/G) are its other options.

Names have no check digit: nothing above can catch a misread letter in them. So each name
letter the OCR was not sure of (the kept letter's share of the probability of the letters
that may stand there under ``min_name_confidence``, from ``impostor/data/mrz_reading.json``) is
recorded as a :class:`~impostor.document.mrz.Doubt`, for the officer to compare with the page.
"""

from __future__ import annotations

import functools
import itertools
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace

from impostor import resources
from impostor.document import codes
from impostor.document.mrz import Correction, Doubt, Mrz, layout_of, name_start, parse, split_lines

__all__ = ["Options", "grammar_fit", "min_name_confidence", "parse_read"]

# per line, per position: each plausible character and its probability
Options = Sequence[Sequence[Mapping[str, float]]]

LOOK_ALIKES = {
    "0": "O",
    "O": "0",
    "1": "I",
    "I": "1",
    "8": "B",
    "B": "8",
    "5": "S",
    "S": "5",
    "2": "Z",
    "Z": "2",
    "6": "G",
    "G": "6",
}
TO_DIGIT = {"O": "0", "Q": "0", "D": "0", "I": "1", "L": "1", "B": "8", "S": "5", "Z": "2", "G": "6"}
TO_LETTER = {"0": "O", "1": "I", "8": "B", "5": "S", "2": "Z", "6": "G"}
MAX_CHANGES = 2  # positions a check-digit correction may change
MAX_DOUBTS = 3  # positions in doubt in the failing fields beyond which nothing is corrected
STRONG = 0.15  # an alternative this likely may be tried against the check digits
PLAUSIBLE = 0.005  # a letter this likely may be tried against the list of state codes


def _classes(layout: str, width: int) -> list[str]:
    """Per line, each position's kind: 'c' a document code's first letter, 'd' digit (or '<'),
    'a' letter (or '<'), 'x' either."""
    if layout == "TD1":
        # the document code's second letter is the issuer's to choose, digits included (C1)
        return ["cx" + "aaa" + "x" * 25, "dddddddadddddddaaa" + "x" * 11 + "d", "a" * 30]
    two = "x" * 9 + "d" + "aaa" + "dddddd" + "d" + "a" + "dddddd" + "d"
    rest = width - len(two)
    if layout == "TD3":
        two += "x" * (rest - 2) + "dd"
    elif layout == "TD2":
        two += "x" * (rest - 1) + "d"
    else:
        two += "x" * rest
    return ["cx" + "a" * (width - 2), two]


DOCUMENT_LETTERS = "ACIPV"  # a document code's first letter (ICAO 9303 parts 4 to 7)


def _fits(char: str, kind: str) -> bool:
    if kind == "c":
        return char in DOCUMENT_LETTERS
    return char == "<" or kind == "x" or (char.isdigit() if kind == "d" else char.isalpha())


def grammar_fit(lines: tuple[str, ...]) -> float:
    """The share of positions whose character is of the kind its field takes (digits in dates,
    letters in names): near 1 for an MRZ read the right way up, far lower for one upside down."""
    classes = _classes(layout_of(lines), len(lines[0]))
    fits = [
        _fits(c, kind)
        for line, kinds in zip(lines, classes, strict=True)
        for c, kind in zip(line, kinds, strict=True)
    ]
    return sum(fits) / len(fits)


def _default_options(lines: tuple[str, ...]) -> list[list[dict[str, float]]]:
    return [
        [{char: 0.5, LOOK_ALIKES[char]: 0.5} if char in LOOK_ALIKES else {char: 1.0} for char in line]
        for line in lines
    ]


def _by_kind(
    lines: tuple[str, ...], layout: str, options: list[list[dict[str, float]]]
) -> tuple[list[list[list[str]]], list[Correction]]:
    """Each position's characters, likeliest first, narrowed to those its field allows; the
    first of each is the reading (step 1 of the module's docstring)."""
    ranked: list[list[str]] = []
    corrections: list[Correction] = []
    for row, (line, kinds) in enumerate(zip(lines, _classes(layout, len(lines[0])), strict=True)):
        for column, (char, kind) in enumerate(zip(line, kinds, strict=True)):
            likely = sorted(options[row][column].items(), key=lambda item: -item[1])
            allowed = [c for c, _ in likely if _fits(c, kind)]
            if not allowed:
                table = TO_DIGIT if kind == "d" else TO_LETTER if kind == "a" else {}
                allowed = [table[char]] if char in table else [char]
            if kind == "x" and allowed[0] == "O":
                allowed = ["0", *[c for c in allowed if c != "0"]]
            ranked.append(allowed)
            if allowed[0] != char:
                why = {
                    "c": "a document code starts with A, C, I, P or V",
                    "d": "a digit belongs here",
                    "a": "a letter belongs here",
                    "x": "O and 0 look alike in OCR-B",
                }[kind]
                corrections.append(Correction(row, column, char, allowed[0], why))
    width = len(lines[0])
    return [ranked[i * width : (i + 1) * width] for i in range(len(lines))], corrections


def _code_spans(layout: str) -> list[tuple[int, int]]:
    """(line, start) of each three-letter state code: the issuing state and the nationality."""
    return [(0, 2), (1, 15)] if layout == "TD1" else [(0, 2), (1, 10)]


def _codes(
    lines: list[list[list[str]]], layout: str, options: list[list[dict[str, float]]]
) -> list[Correction]:
    """Step 2: an unknown state code with exactly one plausible reading that is a known code."""
    corrections = []
    for row, start in _code_spans(layout):
        code = "".join(lines[row][start + i][0] for i in range(3))
        if codes.known(code.rstrip("<")):
            continue
        letters = [
            [c for c, p in options[row][start + i].items() if p >= PLAUSIBLE and (c.isalpha() or c == "<")]
            or [code[i]]
            for i in range(3)
        ]
        readings = {"".join(r) for r in itertools.product(*letters)}
        known = [reading for reading in readings if codes.known(reading.rstrip("<"))]
        if len(known) != 1:
            continue
        for i, (read, kept) in enumerate(zip(code, known[0], strict=True)):
            if read != kept:
                lines[row][start + i] = [kept, *[c for c in lines[row][start + i] if c != kept]]
                corrections.append(
                    Correction(row, start + i, read, kept, "the only reading that is a known state code")
                )
    return corrections


def _spans(layout: str) -> dict[str, tuple[int, int, int]]:
    """Where each checked field lies, its check digit included: (line, start, end)."""
    if layout == "TD1":
        return {
            "document_number": (0, 5, 30),
            "date_of_birth": (1, 0, 7),
            "date_of_expiry": (1, 8, 15),
            "composite": (1, 29, 30),
        }
    spans = {"document_number": (1, 0, 10), "date_of_birth": (1, 13, 20), "date_of_expiry": (1, 21, 28)}
    if layout == "TD3":
        spans |= {"optional_data": (1, 28, 43), "composite": (1, 43, 44)}
    if layout == "TD2":
        spans |= {"document_number": (1, 0, 35), "composite": (1, 35, 36)}
    return spans


def _readings(
    reading: tuple[str, ...], alternatives: dict[tuple[int, int], list[str]]
) -> Iterator[tuple[str, ...]]:
    """``reading`` with other characters taken at up to ``MAX_CHANGES`` positions."""
    for count in range(1, min(len(alternatives), MAX_CHANGES) + 1):
        for chosen in itertools.combinations(sorted(alternatives), count):
            for picks in itertools.product(*(alternatives[position] for position in chosen)):
                chars = [list(line) for line in reading]
                for (row, column), pick in zip(chosen, picks, strict=True):
                    chars[row][column] = pick
                yield tuple("".join(line) for line in chars)


@functools.cache
def min_name_confidence() -> float:
    """The share under which a name letter counts as doubted (``impostor/data/mrz_reading.json``)."""
    limits = json.loads(resources.read_text("mrz_reading.json"))["limits"]
    return float(limits["min_name_confidence"]["value"])


def _name_doubts(reading: tuple[str, ...], layout: str, given: list[list[dict[str, float]]]) -> list[Doubt]:
    """The name characters whose share of the letters' probability is under the limit."""
    row, start = name_start(layout)
    doubts = []
    for column in range(start, len(reading[row])):
        kept = reading[row][column]
        letters = {c: p for c, p in given[row][column].items() if c.isalpha() or c == "<"}
        if kept not in letters:
            continue  # a digit read where a letter stands, turned into its letter: no other candidate
        share = letters[kept] / sum(letters.values())
        if share < min_name_confidence():
            doubts.append(Doubt(row, column, kept, round(share, 3)))
    return doubts


def parse_read(text: str | Sequence[str], options: Options | None = None) -> Mrz:
    """Judge an MRZ an OCR read, correcting characters only where the MRZ makes that certain
    (the module's docstring says how). ``options`` gives, per line and position, the plausible
    characters and their probabilities; without it, look-alikes are the options.

    Raises :class:`DocumentError` for a text that is not an MRZ's shape.
    """
    original = split_lines(text if isinstance(text, str) else "\n".join(text))
    layout = layout_of(original)
    given = (
        [[dict(position) for position in line] for line in options] if options else _default_options(original)
    )
    ranked, corrections = _by_kind(original, layout, given)
    corrections += _codes(ranked, layout, given)
    reading = tuple("".join(position[0] for position in line) for line in ranked)
    found = parse(reading)
    if not found.valid:
        spans = _spans(layout)
        alternatives = {
            (row, column): [c for c in ranked[row][column][1:] if given[row][column].get(c, 0.0) >= STRONG]
            for name in found.failing
            for row, start, end in [spans[name]]
            for column in range(start, end)
        }
        alternatives = {position: picks for position, picks in alternatives.items() if picks}
        valid = []
        if len(alternatives) <= MAX_DOUBTS:
            valid = [candidate for candidate in _readings(reading, alternatives) if parse(candidate).valid]
        if len(valid) == 1:
            changed = {
                (row, column)
                for row, (a, b) in enumerate(zip(reading, valid[0], strict=True))
                for column in range(len(a))
                if a[column] != b[column]
            }
            corrections = [c for c in corrections if (c.line, c.column) not in changed]
            corrections += [
                Correction(
                    row,
                    column,
                    original[row][column],
                    valid[0][row][column],
                    "the only reading for which every check digit holds",
                )
                for row, column in sorted(changed)
            ]
            found = parse(valid[0])
    # without the OCR's own probabilities (a typed MRZ) nothing was doubted
    doubts = _name_doubts(found.lines, layout, given) if options else []
    return replace(
        found,
        corrections=tuple(sorted(corrections, key=lambda c: (c.line, c.column))),
        doubts=tuple(doubts),
    )
