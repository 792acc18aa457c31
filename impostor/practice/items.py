"""Item analysis: which pairs fool trainees, how sure they were when fooled, and what the
algorithm said, over every finished answer in a results file.

A trainer reads it to see which pairs train (the ones many get wrong, confidently) and which
only measure (the ones nobody misses); a set's next difficulty can be chosen from it.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from impostor.practice.store import Answer, PracticeStore

__all__ = ["ItemStats", "item_analysis"]


@dataclass(frozen=True)
class ItemStats:
    """One item over every finished answer to it: ``wrong`` of ``answers`` were wrong (of
    them ``false_accepts``: a different-people pair called the same person), with a mean
    confidence of ``confidence_when_wrong`` (1-5, NaN when none was wrong); ``probability`` is
    the algorithm's that the pair is one person (NaN when it had no view)."""

    item_id: str
    same: bool
    answers: int
    wrong: int
    false_accepts: int
    confidence_when_wrong: float
    probability: float

    @property
    def wrong_share(self) -> float:
        return self.wrong / self.answers if self.answers else math.nan


def item_analysis(store: PracticeStore, *, set_id: str | None = None) -> list[ItemStats]:
    """Every item answered in a finished session (of set ``set_id`` only, when given), the
    ones most often wrong first (then the most answered, then by id)."""
    answers_by_item: dict[str, list[Answer]] = {}
    for session in store.sessions():
        if session.finished is None or (set_id is not None and session.set_id != set_id):
            continue
        for answer in store.answers(session.id):
            answers_by_item.setdefault(answer.item_id, []).append(answer)
    found = []
    for item_id, answers in answers_by_item.items():
        wrong = [a for a in answers if not a.correct]
        found.append(
            ItemStats(
                item_id=item_id,
                same=answers[0].same,
                answers=len(answers),
                wrong=len(wrong),
                false_accepts=sum(a.said_same and not a.same for a in answers),
                confidence_when_wrong=statistics.fmean(a.confidence for a in wrong) if wrong else math.nan,
                probability=answers[0].probability,
            )
        )
    return sorted(found, key=lambda s: (-s.wrong_share, -s.answers, s.item_id))
