"""Building a practice set from a folder of people: which pairs, how hard, and how they look.

Every image is embedded with the verification pipeline (through the embedding cache), then
pairs are chosen by embedding distance (``selection``: hard, mixed or easy), or first from what
trainees got wrong in earlier sessions (``trainees``, from a results file). The seed decides
among near-equal pairs, left and right, and the order. Each item keeps the shipped profile's
probability that the pair shown is the same person: the algorithm's view the trainee is
compared with. People trainees are likely to recognise are named in the provenance
(``known``), for the command to warn about.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import cv2
import numpy as np

from impostor._version import __version__
from impostor.errors import DatasetError, OutputError, PracticeError
from impostor.pipeline.profile import Profile, load_profile
from impostor.pipeline.verifier import Verifier
from impostor.practice.items import item_analysis
from impostor.practice.known import known_people
from impostor.practice.selection import (
    SAME_PERSON_CEILING,
    STRANGERS_FLOOR,
    Difficulty,
    Pair,
    choose_pairs,
    name_key,
)
from impostor.practice.sets import SCHEMA, ImageRef, Item, PracticeSet
from impostor.practice.store import PracticeStore
from impostor.printing import choose_style, render_document
from impostor.qa import Dataset, EmbeddingCache, EmbeddingSet, embed_dataset, file_digest, scan
from impostor.stages import score

__all__ = ["build_set", "mean_probability", "replacements"]

_DOCUMENT_QUALITY = 92  # the rendered portrait's own JPEG: its print look is already baked in


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
    results: PracticeStore | None = None,
    known_list: Path | None = None,
) -> PracticeSet:
    """Build a practice set of ``items`` pairs from ``root`` (one sub-folder per person) and
    write it to ``out`` (JSON); returns it.

    ``mismatch_rate`` (0-1) is the share of different-person items. With ``document_style``
    the left image of each pair is rendered as a travel-document portrait, written beside
    ``out`` in ``<out stem>-images/``, and the algorithm's probability is that of the rendered
    pair. ``trainees`` needs ``results``, the practice results whose item analysis ranks the
    pairs; ``known_list`` adds a trainer's names to the shipped list of people trainees are
    likely to know. Raises ``DatasetError`` when the data set cannot supply the pairs,
    ``OutputError`` when ``out`` cannot be written, ``ValueError`` for a bad argument.
    """
    target = _checked_arguments(items, mismatch_rate, difficulty, results, out)
    dataset = scan(root)
    known = known_people(sorted(set(dataset.identities)), known_list)
    embedded = embed_dataset(dataset, workers=workers, cache=cache, progress=progress)
    rng = np.random.default_rng(seed)
    n_impostor = round(items * mismatch_rate)
    # a group photo may hand one person's pair the face of another: only one-face photos are used
    single = embedded.found & (embedded.faces_found == 1)
    _, namesakes = np.unique([name_key(person) for person in dataset.identities], return_inverse=True)
    learned = _learned(dataset, results, single) if difficulty == "trainees" and results is not None else {}
    genuine, impostor = choose_pairs(
        embedded.vectors,
        dataset.identity_codes,
        genuine=items - n_impostor,
        impostor=n_impostor,
        difficulty=difficulty,
        rng=rng,
        eligible=single,
        namesakes=namesakes.reshape(-1).astype(np.int64),
        learned=learned,
    )
    profile = load_profile()
    chosen = [(pair, True) for pair in genuine] + [(pair, False) for pair in impostor]
    order = rng.permutation(len(chosen))
    render = _DocumentRenderer(target, dataset, embedded, profile, rng) if document_style else None
    made = []
    for number, index in enumerate(order.tolist(), start=1):
        pair, same = chosen[index]
        made.append(_item(dataset, pair, same, f"item-{number:03d}", profile, rng, render))
    practice_set = PracticeSet(
        name=name or f"{dataset.root.name} · {items}",  # the page and report give the difficulty in words
        items=tuple(made),
        provenance=_provenance(
            dataset, embedded, profile, items, mismatch_rate, difficulty, seed, document_style, command
        )
        | {"known_people": known},
        folder=target.resolve().parent,
    )
    if difficulty == "trainees":
        from_trainees = sum(
            (min(p.first, p.second), max(p.first, p.second)) in learned for p in genuine + impostor
        )
        practice_set.provenance["selection"] |= {
            "from_trainees": from_trainees,
            "answered_pairs": len(learned),
        }
    practice_set.save(target)
    return practice_set


def _checked_arguments(
    items: int, mismatch_rate: float, difficulty: Difficulty, results: PracticeStore | None, out: str | Path
) -> Path:
    """``out`` as a path, once ``build_set``'s arguments are known to be usable (raises as it says)."""
    if items < 2:
        raise ValueError(f"items must be at least 2, not {items}")
    if not 0.0 <= mismatch_rate <= 1.0:
        raise ValueError(f"mismatch_rate must be between 0 and 1, not {mismatch_rate}")
    if difficulty == "trainees" and results is None:
        raise ValueError("difficulty 'trainees' needs the results of earlier sessions")
    target = Path(out)
    if not target.parent.is_dir():
        raise OutputError(f"cannot write practice set {target}: folder {target.parent} does not exist")
    return target


def _learned(dataset: Dataset, results: PracticeStore, eligible: np.ndarray) -> dict[tuple[int, int], float]:
    """The pairs of this data set's photos that trainees answered in finished sessions, as rows
    (the lower first), with how often they were wrong (``ItemStats.fooling``)."""
    stats = [s for s in item_analysis(results) if s.pair]
    if not stats:
        raise DatasetError(
            f"no finished answers in {results.path} to learn from; sit some sessions first, or choose "
            "another --difficulty"
        )
    rows = _digests(dataset, eligible)
    learned = {}
    for s in stats:
        first, _, second = (s.pair or "").partition("+")
        if first in rows and second in rows:
            a, b = rows[first], rows[second]
            learned[(min(a, b), max(a, b))] = s.fooling
    return learned


def replacements(
    practice_set: PracticeSet,
    indices: list[int],
    out: Path,
    *,
    seed: int = 0,
    cache: EmbeddingCache | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> dict[int, Item]:
    """New items for the items of ``practice_set`` at ``indices``: each the same kind (same
    person or not) at the set's difficulty, from the data set it was built from, using no photo
    the set already shows; rendered as document portraits (beside ``out``) when the set's are.
    Raises ``PracticeError`` when that data set is not on this machine, ``DatasetError`` when
    it has no more such pairs."""
    dataset_info = practice_set.provenance.get("dataset")
    root = dataset_info.get("root") if isinstance(dataset_info, dict) else None
    if not isinstance(root, str) or not Path(root).is_dir():
        raise PracticeError(
            f"the data set that {practice_set.name!r} was built from ({root or 'not recorded'}) is not on "
            "this machine: a swap takes new pairs from it; drop pairs instead, or rebuild"
        )
    dataset = scan(root)
    embedded = embed_dataset(dataset, workers=workers, cache=cache, progress=progress)
    shown = {
        image.sha256
        for item in practice_set.items
        for image in (item.left, item.right, item.left.source)
        if image
    }
    single = embedded.found & (embedded.faces_found == 1)
    for digest, row in _digests(dataset, single).items():
        if digest in shown:
            single[row] = False
    _, namesakes = np.unique([name_key(person) for person in dataset.identities], return_inverse=True)
    rng = np.random.default_rng(seed)
    same = [index for index in indices if practice_set.items[index].same]
    difficulty = practice_set.difficulty
    genuine, impostor = choose_pairs(
        embedded.vectors,
        dataset.identity_codes,
        genuine=len(same),
        impostor=len(indices) - len(same),
        difficulty=difficulty if difficulty in ("hard", "mixed", "easy") else "hard",  # type: ignore[arg-type]
        rng=rng,
        eligible=single,
        namesakes=namesakes.reshape(-1).astype(np.int64),
    )
    profile = load_profile()
    document_style = bool(practice_set.provenance.get("selection", {}).get("document_style"))
    render = _DocumentRenderer(out, dataset, embedded, profile, rng) if document_style else None
    taken = [
        int(item.id.rsplit("-", 1)[-1]) for item in practice_set.items if item.id.rsplit("-", 1)[-1].isdigit()
    ]
    number = max(taken, default=0)
    new: dict[int, Item] = {}
    pairs = {True: iter(genuine), False: iter(impostor)}
    for index in indices:
        number += 1
        kind = practice_set.items[index].same
        new[index] = _item(dataset, next(pairs[kind]), kind, f"item-{number:03d}", profile, rng, render)
    return new


def _item(
    dataset: Dataset,
    pair: Pair,
    same: bool,
    item_id: str,
    profile: Profile,
    rng: np.random.Generator,
    render: _DocumentRenderer | None,
) -> Item:
    """The item of ``pair``, its sides in random order, the left rendered when ``render`` is given."""
    first, second = (pair.first, pair.second) if rng.random() < 0.5 else (pair.second, pair.first)
    item = Item(
        id=item_id,
        left=_reference(dataset, first),
        right=_reference(dataset, second),
        same=same,
        distance=pair.distance,
        probability=profile.probability(pair.distance),
    )
    return render(item, second) if render is not None else item


def _digests(dataset: Dataset, rows: np.ndarray) -> dict[str, int]:
    """The SHA-256 of each photo marked in ``rows`` (a mask), to its row: how a pair recorded by
    content (``Item.pair``) is found in a data set."""
    return {file_digest(dataset.root / dataset.images[row]): row for row in np.flatnonzero(rows).tolist()}


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
            distance = score.distance(side.face.embedding, self._embedded.vectors[right_row])
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
            "several_faces_left_out": int(np.sum(embedded.faces_found > 1)),
        },
        "selection": {
            "items": items,
            "mismatch_rate": mismatch_rate,
            "difficulty": difficulty,
            "seed": seed,
            "document_style": document_style,
            "strangers_closer_than_left_out": STRANGERS_FLOOR,
            "same_person_farther_than_left_out": SAME_PERSON_CEILING,
        },
        "profile": {"name": profile.name, "version": profile.version},
    }


def mean_probability(practice_set: PracticeSet, *, same: bool) -> float:
    """Mean algorithm probability of "same person" over the items of one kind (NaN if none)."""
    values = [i.probability for i in practice_set.items if i.same == same and math.isfinite(i.probability)]
    return float(np.mean(values)) if values else math.nan
