"""People trainees are likely to recognise: a pair of them tests recognition, not face matching.

Officers at a counter match strangers' faces. A practice pair of a famous face is answered by
knowing who it is, so it trains nothing and flatters the score. ``known_people`` finds the
person folders of a data set whose names are on the shipped list (``known_people.txt``: the
public figures of faces-dev, figures of Peru and the region, and LFW's most photographed), or
on a trainer's own list; names meet in any word order, case, and with spaces or underscores.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources
from pathlib import Path

from impostor.errors import PracticeError
from impostor.files import max_file_bytes, read_bounded, why_unreadable
from impostor.practice.selection import name_key

__all__ = ["SHIPPED", "known_people", "read_list"]

SHIPPED = "known_people.txt"


def read_list(text: str) -> set[str]:
    """The names of a list (one a line, ``#`` comments) as ``name_key``s."""
    names = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return {name_key(name) for name in names if name}


def known_people(people: Iterable[str], extra: Path | None = None) -> list[str]:
    """The person folder names among ``people`` on the shipped list or on ``extra`` (a file).

    Raises ``PracticeError`` when ``extra`` cannot be read as UTF-8 text.
    """
    known = read_list((resources.files("impostor.practice") / SHIPPED).read_text(encoding="utf-8"))
    if extra is not None:
        try:
            known |= read_list(read_bounded(extra, max_file_bytes()).decode("utf-8"))
        except OSError as error:
            raise PracticeError(
                f"cannot read the list of known people {extra}: {why_unreadable(error)}"
            ) from None
        except UnicodeDecodeError as error:
            raise PracticeError(f"cannot read the list of known people {extra}: {error}") from None
    return sorted(person for person in people if name_key(person) in known)
