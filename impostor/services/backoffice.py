"""Many comparisons from a list, for back-office review: every decision audited and written down.

A reviewer gives a CSV whose header names ``document`` and ``live`` (or ``a`` and ``b``), with
paths relative to the list. Each pair is compared as two photos, the first a bare document
portrait (``Comparer.compare_photos``: the comparer's profile, logged in its audit log); each
gets one row in the decisions file, written as it is decided, so an interrupted run keeps what
it did. A pair whose image cannot be used gets a row saying why, and the run goes on.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from impostor.csvsafe import spreadsheet_cell
from impostor.errors import DatasetError, InputError, OutputError
from impostor.files import max_file_bytes, read_bounded, why_unreadable
from impostor.services.comparison import Comparer

__all__ = ["DECISION_COLUMNS", "BatchSummary", "compare_list"]

DECISION_COLUMNS = (
    "line",
    "document",
    "live",
    "decision",
    "probability",
    "distance",
    "reason_codes",
    "reasons",
    "error",
)


@dataclass(frozen=True)
class BatchSummary:
    """How many pairs got each decision, and how many could not be compared (``ERROR``)."""

    counts: dict[str, int]

    @property
    def total(self) -> int:
        """The number of pairs compared."""
        return sum(self.counts.values())


def _pairs(list_file: Path) -> Iterator[tuple[int, str, str]]:
    try:
        text = read_bounded(list_file, max_file_bytes()).decode("utf-8-sig")
    except OSError as exc:
        raise DatasetError(f"{list_file}: the pair list cannot be read ({why_unreadable(exc)})") from None
    except UnicodeDecodeError:
        raise DatasetError(f"{list_file}: the pair list cannot be read (not UTF-8 text)") from None
    rows = csv.reader(io.StringIO(text))
    header = [name.strip().lower() for name in next(rows, [])]
    for first, second in (("document", "live"), ("a", "b")):
        if {first, second} <= set(header):
            left, right = header.index(first), header.index(second)
            break
    else:
        raise DatasetError(
            f"{list_file}: a list to compare needs the header document,live (or a,b); "
            f"its header is {','.join(header)!r}"
        )
    for number, fields in enumerate(rows, start=2):
        if not any(field.strip() for field in fields):
            continue
        cells = [field.strip() for field in fields] + [""] * 2
        yield number, cells[left], cells[right]


def _safe(row: dict[str, object]) -> dict[str, object]:
    """The row with its text cells safe to open in a spreadsheet (a file name may start with =)."""
    return {name: spreadsheet_cell(value) if isinstance(value, str) else value for name, value in row.items()}


def compare_list(
    comparer: Comparer, list_file: str | Path, out: str | Path, *, operator: str = "backoffice"
) -> BatchSummary:
    """Compare every pair of ``list_file`` with ``comparer`` (each verdict logged under
    ``operator``) and write one row each to ``out``.

    Columns are ``DECISION_COLUMNS``; ``decision`` is MATCH, NO_MATCH, REFER or ERROR (an image
    that cannot be used: ``error`` says why). A text cell that a spreadsheet would take for a
    formula (a file named ``=cmd…``) is written with a leading ``'``. Raises ``DatasetError``
    for a list that cannot be read and ``OutputError`` when ``out`` cannot be written.
    """
    source = Path(list_file).expanduser()
    base = source.resolve().parent
    comparer.verifier_for("portrait")  # a bad profile stops the run before anything is written
    counts: Counter[str] = Counter()
    pairs = list(_pairs(source))  # a list that cannot be used leaves no decisions file behind
    if not pairs:
        raise DatasetError(f"{source}: the list names no pair")
    try:
        stream = open(out, "w", encoding="utf-8", newline="")
    except OSError as exc:
        raise OutputError(f"{out}: cannot be written ({exc.strerror or exc})") from None
    with stream:
        writer = csv.DictWriter(stream, fieldnames=DECISION_COLUMNS)
        writer.writeheader()
        for line, document, live in pairs:
            row: dict[str, object] = {"line": line, "document": document, "live": live}
            if not document or not live:
                row |= {"decision": "ERROR", "error": "the line names no document or no live image"}
            else:
                try:
                    verdict = comparer.compare_photos(
                        base / document,
                        base / live,
                        operator=operator,
                        document_label=document,
                        live_label=live,
                    )
                except InputError as error:  # one bad image must not stop a review
                    row |= {"decision": "ERROR", "error": f"{type(error).__name__}: {error}"}
                else:
                    row |= {
                        "decision": verdict.decision.value,
                        "probability": "" if verdict.probability is None else round(verdict.probability, 4),
                        "distance": "" if verdict.distance is None else round(verdict.distance, 4),
                        "reason_codes": ";".join(reason.code for reason in verdict.reasons),
                        "reasons": " | ".join(reason.message for reason in verdict.reasons),
                    }
            counts[str(row["decision"])] += 1
            writer.writerow(_safe(row))
            stream.flush()  # an interrupted review keeps every row decided so far
    return BatchSummary(dict(sorted(counts.items())))
