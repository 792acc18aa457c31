"""Choosing practice pairs by embedding distance: look-alike strangers, unlike photos of one person.

- ``hard``: the most similar different-person pairs and the least similar same-person pairs,
  the two errors that matter at a counter;
- ``easy``: the reverse, the most different strangers and the most alike photos of one person;
- ``mixed``: pairs spread evenly over the whole range of distances of each kind;
- ``trainees``: the pairs earlier trainees got wrong most often (``learned``: the item
  analysis), then, for the rest, ``hard``'s. Hard for dlib's embedding is not always hard for
  people; what trainees actually missed is.

No photo is used twice and no person more than a fair share, so a trainee cannot learn the set
instead of the faces; the random generator decides among pairs that are practically as hard.
Distances are Euclidean between embeddings: smaller is more alike.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from impostor.errors import DatasetError
from impostor.stages import score

__all__ = [
    "DIFFICULTIES",
    "SAME_PERSON_CEILING",
    "STRANGERS_FLOOR",
    "Difficulty",
    "Pair",
    "choose_pairs",
    "name_key",
]

Difficulty = Literal["hard", "mixed", "easy", "trainees"]
DIFFICULTIES: tuple[Difficulty, ...] = ("hard", "mixed", "easy", "trainees")
_LEARNED = -10.0  # ranks a pair trainees answered ahead of any the embedding alone calls hard

# seeded noise added to the ranking distance: the seed then chooses among pairs that are
# practically as hard as each other (a few hundredths of a distance unit) without turning a
# hard set into a middling one
_TIE_BREAK = 0.02
# copies of one photo (distance ~0) teach nothing about faces; pairs closer than this are skipped
_SAME_PHOTO = 0.02
# Pairs whose label is more likely wrong than right are never used: teaching the wrong answer
# is worse than teaching an easier one. On LFW (13,233 photos, dlib's embedding), fewer than 1
# in 100,000 stranger pairs fall below 0.4 and those inspected were filing errors (one photo or
# one person under two names, the same face taken from one group photo for two people); fewer
# than 1 in 1,000 same-person pairs lie above 0.8 and those inspected showed someone else's
# face, the subject's having been missed. A curated set (faces-dev) has none of either.
STRANGERS_FLOOR = 0.4
SAME_PERSON_CEILING = 0.8
_POOL_PER_ITEM = 60  # impostor candidates kept per wanted item when only the extremes matter
_MIXED_SAMPLE = 200_000  # random impostor pairs drawn to span the range for "mixed"
_CHUNK = 1024  # rows of the distance matrix computed at a time (1024 × images distances in memory)


@dataclass(frozen=True)
class Pair:
    """Two rows of the embedding matrix and their embedding distance (smaller: more alike)."""

    first: int
    second: int
    distance: float


def choose_pairs(
    vectors: NDArray[np.float64],
    identities: NDArray[np.int64],
    *,
    genuine: int,
    impostor: int,
    difficulty: Difficulty,
    rng: np.random.Generator,
    eligible: NDArray[np.bool_] | None = None,
    namesakes: NDArray[np.int64] | None = None,
    learned: Mapping[tuple[int, int], float] | None = None,
) -> tuple[list[Pair], list[Pair]]:
    """Choose ``genuine`` same-person and ``impostor`` different-person pairs of rows.

    ``vectors`` is shaped ``(n, 128)`` (rows with NaN, no face, are never used); ``identities``
    ``(n,)``, equal values meaning the same person. ``eligible`` ``(n,)`` marks the rows that
    may be used at all (None: every row with a face). Rows with equal ``namesakes`` values
    (``(n,)``, see ``name_key``) are never paired as different people; neither are rows closer
    than ``STRANGERS_FLOOR``, and no same-person pair farther apart than
    ``SAME_PERSON_CEILING`` is used. Each row is used at most once over both lists, and each person at
    most ``max(2, ceil(4 · pairs / people))`` times. For ``trainees``, ``learned`` maps pairs of
    rows (the lower row first) to how often trainees got them wrong (0-1); those go first, the
    most missed first. Raises ``DatasetError`` when the data set cannot supply that many pairs.
    """
    if difficulty not in DIFFICULTIES:
        raise ValueError(f"difficulty must be one of {', '.join(DIFFICULTIES)}, not {difficulty!r}")
    keep = ~np.any(np.isnan(vectors), axis=1)
    if eligible is not None:
        keep &= eligible
    usable = np.flatnonzero(keep)
    strangers = identities if namesakes is None else namesakes
    people = len(set(identities[usable].tolist()))
    cap = max(2, math.ceil(4 * (genuine + impostor) / max(people, 1)))
    chooser = _Chooser(identities, cap)
    learned = learned if difficulty == "trainees" else None
    ranking: Difficulty = "hard" if difficulty == "trainees" else difficulty
    # same-person pairs are the scarcer kind, so they are chosen first
    same = _same_person_pairs(vectors, identities, usable)
    hard_first = -np.array([p.distance for p in same])  # a hard genuine pair looks different
    chosen_genuine = chooser.take(same, _learned_first(same, hard_first, learned), genuine, ranking, rng)
    if len(chosen_genuine) < genuine:
        raise DatasetError(
            f"the data set yields only {len(chosen_genuine)} usable same-person pairs without reusing a "
            f"photo; ask for fewer items or a higher --mismatch-rate (wanted {genuine})"
        )
    different = _different_person_pairs(vectors, strangers, usable, impostor, ranking, rng)
    if learned:  # the pool keeps the embedding's hardest; the pairs trainees missed join it
        pooled = {(p.first, p.second) for p in different}
        allowed = set(usable.tolist())
        for a, b in learned:
            if a in allowed and b in allowed and strangers[a] != strangers[b] and (a, b) not in pooled:
                distance = score.distance(vectors[a], vectors[b])
                if distance >= STRANGERS_FLOOR:
                    different.append(Pair(a, b, distance))
    hard_first = np.array([p.distance for p in different])  # a hard impostor pair looks alike
    chosen_impostor = chooser.take(
        different, _learned_first(different, hard_first, learned), impostor, ranking, rng
    )
    if len(chosen_impostor) < impostor:
        raise DatasetError(
            f"the data set yields only {len(chosen_impostor)} different-person pairs without reusing a "
            f"photo; ask for fewer items or add people (wanted {impostor})"
        )
    return chosen_genuine, chosen_impostor


def _learned_first(
    pairs: Sequence[Pair], hardness: NDArray[np.float64], learned: Mapping[tuple[int, int], float] | None
) -> NDArray[np.float64]:
    """``hardness`` with the pairs trainees answered ahead of all others, the most missed first."""
    if not learned:
        return hardness
    ranked = hardness.copy()
    for index, pair in enumerate(pairs):
        fooled = learned.get((min(pair.first, pair.second), max(pair.first, pair.second)))
        if fooled is not None:
            ranked[index] = _LEARNED - fooled
    return ranked


class _Chooser:
    """Takes pairs in order of preference while no photo repeats and no person is overused."""

    def __init__(self, identities: NDArray[np.int64], cap: int) -> None:
        self._identities = identities
        self._cap = cap
        self._rows: set[int] = set()
        self._people: Counter[int] = Counter()
        self._couples: set[tuple[int, int]] = set()

    def take(
        self,
        pairs: Sequence[Pair],
        hardness: NDArray[np.float64],
        count: int,
        difficulty: Difficulty,
        rng: np.random.Generator,
    ) -> list[Pair]:
        if not pairs or count == 0:
            return []
        if difficulty == "mixed":
            order = _stratified(hardness, count, rng)
        else:
            key = hardness + rng.uniform(0.0, _TIE_BREAK, size=len(hardness))
            order = np.argsort(key if difficulty == "hard" else -key, kind="stable")
        taken: list[Pair] = []
        for position in order:
            pair = pairs[int(position)]
            if self._fits(pair):
                self._add(pair)
                taken.append(pair)
                if len(taken) == count:
                    break
        return taken

    def _fits(self, pair: Pair) -> bool:
        a, b = int(self._identities[pair.first]), int(self._identities[pair.second])
        couple = (min(a, b), max(a, b))
        return (
            pair.first not in self._rows
            and pair.second not in self._rows
            and self._people[a] < self._cap
            and self._people[b] < self._cap
            and (a == b or couple not in self._couples)
        )

    def _add(self, pair: Pair) -> None:
        a, b = int(self._identities[pair.first]), int(self._identities[pair.second])
        self._rows.update((pair.first, pair.second))
        self._people.update({a, b} if a != b else {a})
        self._couples.add((min(a, b), max(a, b)))


def _stratified(hardness: NDArray[np.float64], count: int, rng: np.random.Generator) -> NDArray[np.int64]:
    """An order visiting one random pair from each of ``count`` equal slices of the sorted range
    first, then the rest at random, so the chosen pairs spread over easy to hard."""
    ranked = np.argsort(hardness, kind="stable")
    slices = np.array_split(ranked, count)
    first = [int(rng.choice(part)) for part in slices if len(part)]
    rest = rng.permutation(np.setdiff1d(ranked, first))
    return np.concatenate([np.asarray(first, dtype=np.int64), rest.astype(np.int64)])


def _same_person_pairs(
    vectors: NDArray[np.float64], identities: NDArray[np.int64], usable: NDArray[np.int64]
) -> list[Pair]:
    pairs: list[Pair] = []
    by_person: dict[int, list[int]] = {}
    for row in usable.tolist():
        by_person.setdefault(int(identities[row]), []).append(row)
    for rows in by_person.values():
        for i, first in enumerate(rows):
            for second in rows[i + 1 :]:
                distance = score.distance(vectors[first], vectors[second])
                if _SAME_PHOTO <= distance <= SAME_PERSON_CEILING:
                    pairs.append(Pair(first, second, distance))
    return pairs


def _different_person_pairs(
    vectors: NDArray[np.float64],
    identities: NDArray[np.int64],
    usable: NDArray[np.int64],
    wanted: int,
    difficulty: Difficulty,
    rng: np.random.Generator,
) -> list[Pair]:
    """Candidate impostor pairs: every pair of a small data set; of a large one, the extremes
    the difficulty asks for (kept chunk by chunk) or, for ``mixed``, a uniform random sample."""
    n = len(usable)
    total = n * (n - 1) // 2
    if difficulty == "mixed" and total > _MIXED_SAMPLE:
        return _sampled_pairs(vectors, identities, usable, rng)
    keep = max(_POOL_PER_ITEM * wanted, 1) if total > _MIXED_SAMPLE else total
    matrix, ids = vectors[usable], identities[usable]
    squared = np.einsum("ij,ij->i", matrix, matrix)
    found: list[tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.int64]]] = []
    for start in range(0, n, _CHUNK):
        rows = np.arange(start, min(start + _CHUNK, n))
        # one matrix product per chunk (‖x‖² + ‖y‖² − 2x·y) keeps memory at _CHUNK × n distances
        products = squared[rows, None] + squared[None, :] - 2.0 * (matrix[rows] @ matrix.T)
        distances = np.sqrt(np.clip(products, 0.0, None))
        upper = (
            (np.arange(n)[None, :] > rows[:, None])
            & (ids[rows, None] != ids[None, :])
            & (distances >= STRANGERS_FLOOR)
        )
        r, c = np.nonzero(upper)
        d = distances[r, c]
        if len(d) > keep:
            part = np.argpartition(d if difficulty != "easy" else -d, keep - 1)[:keep]
            r, c, d = r[part], c[part], d[part]
        found.append((d, rows[r], c))
    d = np.concatenate([f[0] for f in found])
    first = np.concatenate([f[1] for f in found])
    second = np.concatenate([f[2] for f in found])
    if len(d) > keep:
        part = np.argpartition(d if difficulty != "easy" else -d, keep - 1)[:keep]
        d, first, second = d[part], first[part], second[part]
    return [Pair(int(usable[a]), int(usable[b]), float(x)) for a, b, x in zip(first, second, d, strict=True)]


def _sampled_pairs(
    vectors: NDArray[np.float64],
    identities: NDArray[np.int64],
    usable: NDArray[np.int64],
    rng: np.random.Generator,
) -> list[Pair]:
    first = rng.choice(usable, size=_MIXED_SAMPLE)
    second = rng.choice(usable, size=_MIXED_SAMPLE)
    keep = identities[first] != identities[second]
    first, second = first[keep], second[keep]
    distances = score.distances(vectors[first], vectors[second])
    keep = distances >= STRANGERS_FLOOR
    first, second, distances = first[keep], second[keep], distances[keep]
    return [Pair(int(a), int(b), float(d)) for a, b, d in zip(first, second, distances, strict=True)]


def name_key(person: str) -> str:
    """A person folder's name reduced to its sorted words, so spellings of one name meet.

    ``"Sung_Hong_Choi"`` and ``"Choi_Sung-hong"`` both give ``"choi hong sung"``: LFW files
    some people under two orders or spellings of their name, and such folders must never be
    offered as two different people.
    """
    return " ".join(sorted(re.findall(r"[^\W_]+", person.casefold())))
