"""The training office's own record: every session and answer of a results file, as CSV.

One row per answer, with its session's details beside it (a session with no answer yet gets one
row of its own, so a trainee who signed in and left is on record too). Times are in this
machine's local time zone, ISO 8601 with the offset, so a spreadsheet in Lima reads them as they
happened; the results file keeps UTC. Answers given in under ``FAST_SECONDS`` are marked.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from pathlib import Path
from typing import TextIO

from impostor.practice.classroom import Classroom
from impostor.practice.scoring import FAST_SECONDS
from impostor.practice.store import PracticeStore

__all__ = ["COLUMNS", "export_answers", "export_file", "local_time"]

COLUMNS = (
    "session",
    "trainee",
    "set",
    "mode",
    "started",
    "finished",
    "position",
    "item",
    "same_person",
    "answer_same_person",
    "correct",
    "confidence",
    "seconds",
    "fast",
    "algorithm_probability",
    "answered_at",
    "class",
    "difficulty",
)


def local_time(utc_text: str | None) -> str:
    """A stored UTC time in this machine's time zone, with its offset ("" for none)."""
    if not utc_text:
        return ""
    moment = dt.datetime.fromisoformat(utc_text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone().isoformat(timespec="seconds")


def _flag(value: bool) -> str:
    return "yes" if value else "no"


def export_answers(store: PracticeStore, out: TextIO, *, trainee: str | None = None) -> int:
    """Write every answer of ``store`` (of ``trainee`` only, when given) to ``out`` as CSV with
    the header ``COLUMNS``; returns the rows written (the header not counted)."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    classes = {entry.trainee: entry.klass for entry in Classroom(store).roster()}
    rows = 0
    for session in store.sessions(trainee):
        tail = [classes.get(session.trainee, ""), session.difficulty or ""]
        head = [
            session.id,
            session.trainee,
            session.set_name,
            session.mode,
            local_time(session.started),
            local_time(session.finished),
        ]
        answers = store.answers(session.id)
        if not answers:
            writer.writerow([*head, *[""] * (len(COLUMNS) - len(head) - len(tail)), *tail])
            rows += 1
        for answer in answers:
            probability = "" if math.isnan(answer.probability) else f"{answer.probability:.4f}"
            writer.writerow(
                [
                    *head,
                    answer.position + 1,
                    answer.item_id,
                    _flag(answer.same),
                    _flag(answer.said_same),
                    _flag(answer.correct),
                    answer.confidence,
                    f"{answer.seconds:.3f}",
                    _flag(answer.seconds < FAST_SECONDS),
                    probability,
                    local_time(answer.answered_at),
                    *tail,
                ]
            )
            rows += 1
    return rows


def export_file(store: PracticeStore, path: Path, *, trainee: str | None = None) -> int:
    """:func:`export_answers` into the file ``path`` (UTF-8 with a byte-order mark, which
    spreadsheet programs need to read the accents of Spanish names)."""
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        return export_answers(store, out, trainee=trainee)
