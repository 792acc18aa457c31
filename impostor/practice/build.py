"""Building a practice set from a folder of people: which pairs, how hard, and how they look.

Every image is embedded with the verification pipeline (through the embedding cache), then
pairs are chosen by embedding distance:

- ``hard``: look-alikes, the most similar different-person pairs, and the least similar
  same-person pairs, the two errors that matter at a counter;
- ``easy``: the reverse, the most different strangers and the most alike photos of one person;
- ``mixed``: pairs spread evenly over the whole range of distances of each kind.

No image is used twice in a set and no person appears more than a fair share of times, so a
trainee cannot learn the set instead of the faces; the seed decides among near-equal pairs,
left and right, and the order. Each item keeps the shipped profile's probability that the
pair shown is the same person: the algorithm's view the trainee is compared with.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from numpy.typing import NDArray

from impostor import __version__
from impostor.batch import EmbeddingSet, embed_dataset
from impostor.cache import EmbeddingCache, file_digest
from impostor.dataset import Dataset, scan
from impostor.errors import DatasetError, OutputError
from impostor.pipeline import Verifier
from impostor.practice.document import choose_style, render_document
from impostor.practice.sets import SCHEMA, ImageRef, Item, PracticeSet
from impostor.profile import Profile, load_profile

__all__ = ["DIFFICULTIES", "Difficulty", "Pair", "build_set", "choose_pairs", "mean_probability"]

Difficulty = Literal["hard", "mixed", "easy"]
DIFFICULTIES: tuple[Difficulty, ...] = ("hard", "mixed", "easy")

# seeded noise added to the ranking distance: the seed then chooses among pairs that are
# practically as hard as each other (a few hundredths of a distance unit) without turning a
# hard set into a middling one
_TIE_BREAK = 0.02
# copies of one photo (distance ~0) teach nothing about faces; pairs closer than this are skipped
_SAME_PHOTO = 0.02
_POOL_PER_ITEM = 60  # impostor candidates kept per wanted item when only the extremes matter
_MIXED_SAMPLE = 200_000  # random impostor pairs drawn to span the range for "mixed"
_CHUNK = 1024
_DOCUMENT_QUALITY = 92


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
) -> tuple[list[Pair], list[Pair]]:
    """Choose ``genuine`` same-person and ``impostor`` different-person pairs of rows.

    ``vectors`` is shaped ``(n, 128)`` (rows with NaN, no face, are never used); ``identities``
    ``(n,)``, equal values meaning the same person. Each row is used at most once over both
    lists, and each person at most ``max(2, ceil(4 · pairs / people))`` times. Raises
    ``DatasetError`` when the data set cannot supply that many pairs.
    """
    if difficulty not in DIFFICULTIES:
        raise ValueError(f"difficulty must be one of {', '.join(DIFFICULTIES)}, not {difficulty!r}")
    usable = np.flatnonzero(~np.any(np.isnan(vectors), axis=1))
    people = len(set(identities[usable].tolist()))
    cap = max(2, math.ceil(4 * (genuine + impostor) / max(people, 1)))
    chooser = _Chooser(identities, cap)
    # same-person pairs are the scarcer kind, so they are chosen first
    same = _same_person_pairs(vectors, identities, usable)
    hard_first = -np.array([p.distance for p in same])  # a hard genuine pair looks different
    chosen_genuine = chooser.take(same, hard_first, genuine, difficulty, rng)
    if len(chosen_genuine) < genuine:
        raise DatasetError(
            f"the data set yields only {len(chosen_genuine)} usable same-person pairs without reusing a "
            f"photo; ask for fewer items or a higher --mismatch-rate (wanted {genuine})"
        )
    different = _different_person_pairs(vectors, identities, usable, impostor, difficulty, rng)
    hard_first = np.array([p.distance for p in different])  # a hard impostor pair looks alike
    chosen_impostor = chooser.take(different, hard_first, impostor, difficulty, rng)
    if len(chosen_impostor) < impostor:
        raise DatasetError(
            f"the data set yields only {len(chosen_impostor)} different-person pairs without reusing a "
            f"photo; ask for fewer items or add people (wanted {impostor})"
        )
    return chosen_genuine, chosen_impostor


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
                distance = float(np.linalg.norm(vectors[first] - vectors[second]))
                if distance >= _SAME_PHOTO:
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
    found: list[tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.int64]]] = []
    for start in range(0, n, _CHUNK):
        rows = np.arange(start, min(start + _CHUNK, n))
        distances = np.linalg.norm(matrix[rows, None, :] - matrix[None, :, :], axis=2)
        upper = (np.arange(n)[None, :] > rows[:, None]) & (ids[rows, None] != ids[None, :])
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
    distances = np.linalg.norm(vectors[first] - vectors[second], axis=1)
    return [Pair(int(a), int(b), float(d)) for a, b, d in zip(first, second, distances, strict=True)]


# -- the set ------------------------------------------------------------------------------------


def build_set(
    root: str | Path,
    out: str | Path,
    *,
    items: int = 40,
    mismatch_rate: float = 0.5,
    difficulty: Difficulty = "hard",
    seed: int = 0,
    document_style: bool = False,
    cache: EmbeddingCache | None = None,
    workers: int | None = None,
    name: str | None = None,
    progress: bool = True,
    command: str = "",
) -> PracticeSet:
    """Build a practice set of ``items`` pairs from ``root`` (one sub-folder per person) and
    write it to ``out`` (JSON); returns it.

    ``mismatch_rate`` (0-1) is the share of different-person items. With ``document_style``
    the left image of each pair is rendered as a travel-document portrait, written beside
    ``out`` in ``<out stem>-images/``, and the algorithm's probability is that of the rendered
    pair. Raises ``DatasetError`` when the data set cannot supply the pairs, ``OutputError``
    when ``out`` cannot be written, ``ValueError`` for a bad argument.
    """
    if items < 2:
        raise ValueError(f"items must be at least 2, not {items}")
    if not 0.0 <= mismatch_rate <= 1.0:
        raise ValueError(f"mismatch_rate must be between 0 and 1, not {mismatch_rate}")
    target = Path(out)
    if not target.parent.is_dir():
        raise OutputError(f"cannot write practice set {target}: folder {target.parent} does not exist")
    dataset = scan(root)
    embedded = embed_dataset(dataset, workers=workers, cache=cache, progress=progress)
    rng = np.random.default_rng(seed)
    n_impostor = round(items * mismatch_rate)
    genuine, impostor = choose_pairs(
        embedded.vectors,
        dataset.identity_codes,
        genuine=items - n_impostor,
        impostor=n_impostor,
        difficulty=difficulty,
        rng=rng,
    )
    profile = load_profile()
    chosen = [(pair, True) for pair in genuine] + [(pair, False) for pair in impostor]
    order = rng.permutation(len(chosen))
    render = _DocumentRenderer(target, dataset, embedded, profile, rng) if document_style else None
    made: list[Item] = []
    for number, index in enumerate(order.tolist(), start=1):
        pair, same = chosen[index]
        first, second = (pair.first, pair.second) if rng.random() < 0.5 else (pair.second, pair.first)
        item = Item(
            id=f"item-{number:03d}",
            left=_reference(dataset, first),
            right=_reference(dataset, second),
            same=same,
            distance=pair.distance,
            probability=profile.probability(pair.distance),
        )
        made.append(render(item, second) if render is not None else item)
    practice_set = PracticeSet(
        name=name or f"{dataset.root.name} · {difficulty} · {items}",
        items=tuple(made),
        provenance=_provenance(
            dataset, embedded, profile, items, mismatch_rate, difficulty, seed, document_style, command
        ),
        folder=target.resolve().parent,
    )
    practice_set.save(target)
    return practice_set


def _reference(dataset: Dataset, row: int) -> ImageRef:
    path = dataset.images[row]
    return ImageRef(path=path, sha256=file_digest(dataset.root / path), person=dataset.identities[row])


class _DocumentRenderer:
    """Renders an item's left photo as a document portrait and rescores the pair as shown."""

    def __init__(
        self, out: Path, dataset: Dataset, embedded: EmbeddingSet, profile: Profile, rng: np.random.Generator
    ) -> None:
        self._root = dataset.root
        self._folder = out.parent / f"{out.stem}-images"
        self._base = out.resolve().parent
        self._embedded = embedded
        self._profile = profile
        self._rng = rng
        self._verifier = Verifier(detector="auto")
        try:
            self._folder.mkdir(exist_ok=True)
        except OSError as error:
            raise OutputError(f"cannot make {self._folder}: {error.strerror or error}") from None

    def __call__(self, item: Item, right_row: int) -> Item:
        located = self._verifier.locate(self._root / item.left.path, "document")
        if located.landmarks is None or not located.boxes:
            return item  # the pipeline found the face when embedding; a miss here keeps the photo
        eyes = (located.landmarks.left_eye, located.landmarks.right_eye)
        portrait = render_document(located.image.pixels, located.boxes[0], choose_style(self._rng), eyes=eyes)
        file = self._folder / f"{item.id}-document.jpg"
        ok, encoded = cv2.imencode(
            ".jpg", cv2.cvtColor(portrait, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, _DOCUMENT_QUALITY]
        )
        try:
            file.write_bytes(encoded.tobytes())
        except OSError as error:
            raise OutputError(f"cannot write {file}: {error.strerror or error}") from None
        side = self._verifier.analyse(portrait, "document")
        distance = math.nan
        if side.face is not None:
            distance = float(np.linalg.norm(side.face.embedding - self._embedded.vectors[right_row]))
        left = ImageRef(
            path=file.resolve().relative_to(self._base).as_posix(),
            sha256=file_digest(file),
            person=item.left.person,
            source=item.left,
        )
        probability = self._profile.probability(distance) if math.isfinite(distance) else math.nan
        return Item(item.id, left, item.right, item.same, distance, probability)


def _provenance(
    dataset: Dataset,
    embedded: EmbeddingSet,
    profile: Profile,
    items: int,
    mismatch_rate: float,
    difficulty: Difficulty,
    seed: int,
    document_style: bool,
    command: str,
) -> dict[str, object]:
    return {
        "schema": SCHEMA,
        "created": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "tool": f"impostor {__version__}",
        "command": command,
        "dataset": {
            "root": str(dataset.root),
            "people": dataset.people,
            "images": len(dataset.images),
            "no_face": int(np.sum(~embedded.found)),
        },
        "selection": {
            "items": items,
            "mismatch_rate": mismatch_rate,
            "difficulty": difficulty,
            "seed": seed,
            "document_style": document_style,
        },
        "profile": {"name": profile.name, "version": profile.version},
    }


def mean_probability(practice_set: PracticeSet, *, same: bool) -> float:
    """Mean algorithm probability of "same person" over the items of one kind (NaN if none)."""
    values = [i.probability for i in practice_set.items if i.same == same and math.isfinite(i.probability)]
    return float(np.mean(values)) if values else math.nan
