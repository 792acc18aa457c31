"""Looking at a set before trainees do: a preview page of every pair, and edits (drop or swap).

The preview is one self-contained HTML page for the trainer (it shows the answer key, so it is
not for trainees): each pair numbered as ``edit`` takes it, both pictures, the truth, who the
people are (those trainees are likely to know marked), the algorithm's probability and, given
the results file, how often trainees got it wrong.

``edit_set`` writes a new set beside the old one: dropped pairs go, swapped pairs are replaced by
fresh pairs of the same kind (same person or not) and difficulty from the set's data set, using
no photo already in the set. The new set has a new id, so results stay with the version sat.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from impostor.errors import OutputError, PracticeError
from impostor.markup import escape, table
from impostor.practice.items import item_analysis
from impostor.practice.known import known_people
from impostor.practice.report import CSS, NONE, thumbnail, words
from impostor.practice.sets import Item, PracticeSet
from impostor.practice.store import PracticeStore

__all__ = ["check_numbers", "edited", "render_preview", "write_preview"]

_CSS = " .pair { white-space: nowrap; }"  # both pictures of a pair on one line


def render_preview(
    practice_set: PracticeSet, *, language: str = "en", results: PracticeStore | None = None
) -> str:
    """The preview page of ``practice_set`` (see the module's text)."""
    w = words(language)
    known = set(
        known_people({image.person for item in practice_set.items for image in (item.left, item.right)})
    )
    missed = {s.pair: s for s in item_analysis(results)} if results is not None else {}
    rows = []
    for number, item in enumerate(practice_set.items, start=1):
        people = [
            escape(image.person) + (' <span class="warn">★</span>' if image.person in known else "")
            for image in (item.left, item.right)
        ]
        stats = missed.get(item.pair)
        pictures = thumbnail(practice_set, item.left) + thumbnail(practice_set, item.right)
        row = [
            str(number),
            f'<span class="pair">{pictures}</span>',
            " / ".join(people),
            w("report.truth_same") if item.same else w("report.truth_different"),
            w.pct(item.probability),
        ]
        if results is not None:
            row.append(
                w("report.count_share", count=stats.wrong, share=w.pct(stats.wrong_share)) if stats else ""
            )
        rows.append(row)
    keys: tuple[str, ...] = ("number", "item_pictures", "people", "truth", "algorithm_probability")
    keys += ("wrong",) if results is not None else ()
    header = [w(f"report.{key}") for key in keys]
    about = w(
        "preview.about",
        name=practice_set.name,
        items=len(practice_set.items),
        same=sum(item.same for item in practice_set.items),
        difficulty=w.difficulty(practice_set.difficulty) or NONE,
    )
    parts = [
        f'<!DOCTYPE html><html lang="{escape(language)}"><head><meta charset="utf-8">',
        f"<title>{w('preview.title')}</title><style>{CSS}{_CSS}</style></head><body>",
        f"<h1>{w('preview.title')}</h1>",
        f"<p>{about}</p>",
        f'<p class="warn">{w("preview.key_inside")}</p>',
        f"<p>{w('preview.known', count=len(known))}</p>" if known else "",
        f"<p>{w('preview.how_to_edit')}</p>",
        table(header, rows, text=(1, 2, 3)),
        "</body></html>",
    ]
    return "\n".join(part for part in parts if part) + "\n"


def write_preview(
    practice_set: PracticeSet, out: str | Path, *, language: str = "en", results: PracticeStore | None = None
) -> None:
    """Write the preview page to ``out``; ``OutputError`` when it cannot be written."""
    target = Path(out)
    try:
        target.write_text(render_preview(practice_set, language=language, results=results), encoding="utf-8")
    except OSError as error:
        raise OutputError(f"cannot write preview {target}: {error.strerror or error}") from None


def check_numbers(practice_set: PracticeSet, numbers: Sequence[int], what: str) -> list[int]:
    """``numbers`` (1-based, as the preview shows them) as indices; ``PracticeError`` for one
    outside the set or given twice."""
    total = len(practice_set.items)
    wrong = [n for n in numbers if not 1 <= n <= total]
    if wrong:
        raise PracticeError(
            f"--{what} {wrong[0]}: the set has pairs 1 to {total} (numbered as `practice preview` shows)"
        )
    if len(set(numbers)) != len(numbers):
        raise PracticeError(f"--{what} names a pair twice")
    return [n - 1 for n in numbers]


def edited(
    practice_set: PracticeSet, *, drop: Sequence[int], swapped: dict[int, Item], command: str
) -> PracticeSet:
    """``practice_set`` without the items at indices ``drop`` and with ``swapped`` (index →
    new item) in place; the provenance says what changed."""
    if set(drop) & set(swapped):
        raise PracticeError("a pair cannot be both dropped and swapped")
    items = tuple(
        swapped.get(index, item) for index, item in enumerate(practice_set.items) if index not in drop
    )
    if len(items) < 2:
        raise PracticeError(f"an edited set needs at least 2 pairs; this would leave {len(items)}")
    edits = list(practice_set.provenance.get("edits", []))
    edits.append(
        {
            "when": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
            "command": command,
            "from_set": practice_set.id,
            "dropped": [practice_set.items[i].id for i in sorted(drop)],
            "swapped": {practice_set.items[i].id: item.id for i, item in sorted(swapped.items())},
        }
    )
    return replace(
        practice_set, items=items, provenance={**practice_set.provenance, "edits": edits}, _resolved={}
    )
