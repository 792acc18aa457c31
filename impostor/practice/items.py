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
    """One pair over every finished answer to it, in whatever set it was served: ``wrong`` of
    ``answers`` were wrong (of them ``false_accepts``: a different-people pair called the same
    person), with a mean confidence of ``confidence_when_wrong`` (1-5, NaN when none was
    wrong); ``probability`` is the algorithm's that the pair is one person (NaN when it had no
    view). ``pair`` is ``Item.pair`` (None for answers recorded before pairs were), and
    ``item_id`` the item's id where it was last answered."""

    pair: str | None
    item_id: str
    same: bool
    answers: int
    wrong: int
    false_accepts: int
    confidence_when_wrong: float
    probability: float

    @property
    def wrong_share(self) -> float:
        """The share of answers that were wrong, 0-1 (NaN when nobody answered)."""
        return self.wrong / self.answers if self.answers else math.nan

    @property
    def fooling(self) -> float:
        """The share wrong with one right and one wrong answer added (Laplace): one wrong answer
        of one is not more telling than nine of ten, when choosing pairs that fool people."""
        return (self.wrong + 1) / (self.answers + 2)


def item_analysis(store: PracticeStore, *, set_id: str | None = None) -> list[ItemStats]:
    """Every pair answered in a finished session (of set ``set_id`` only, when given), the
    ones most often wrong first (then the most answered, then by id). A pair served in several
    sets is one entry; an answer from before pairs were recorded counts under its set's item."""
    answers_by_item: dict[str, list[Answer]] = {}
    for session in store.sessions(set_id=set_id):
        if session.finished is None:
            continue
        for answer in store.answers(session.id):
            key = answer.pair or f"{session.set_id}/{answer.item_id}"
            answers_by_item.setdefault(key, []).append(answer)
    found = []
    for answers in answers_by_item.values():
        wrong = [a for a in answers if not a.correct]
        found.append(
            ItemStats(
                pair=answers[-1].pair,
                item_id=answers[-1].item_id,
                same=answers[0].same,
                answers=len(answers),
                wrong=len(wrong),
                false_accepts=sum(a.said_same and not a.same for a in answers),
                confidence_when_wrong=statistics.fmean(a.confidence for a in wrong) if wrong else math.nan,
                probability=answers[0].probability,
            )
        )
    return sorted(found, key=lambda s: (-s.wrong_share, -s.answers, s.item_id))
