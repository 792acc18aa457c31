"""Scoring a data set's pairs: the data set and its pair lists in, every image embedded once
(through the embedding cache) and every pair's distance out.

``EvaluationConfig`` says how images are embedded and pairs formed, the same for benchmark and
calibrate; ``score_pairs`` does it and returns a ``Scored``, which also scores further pairs of
the same images (held-out pairs, or every document against every live photo). Distances are
Euclidean between embeddings, smaller is more alike, NaN where an image had no face.
``impostor.qa.evaluate`` composes these into a benchmark or a fitted profile.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from impostor import settings
from impostor._version import __version__
from impostor.errors import ConfigError, DatasetError
from impostor.qa.batch import EmbeddingSet, embed_dataset
from impostor.qa.cache import open_cache
from impostor.qa.dataset import Dataset, scan
from impostor.qa.pair_list import read_pair_list
from impostor.qa.pairs import Pairs, generate_pairs, read_pairs
from impostor.stages.embed import EMBEDDING_MODEL
from impostor.stages.score import pair_distances

__all__ = ["EvaluationConfig", "Scored", "score_pairs"]


@dataclass(frozen=True)
class EvaluationConfig:
    """How images are embedded and pairs are formed; the same for benchmark and calibrate."""

    detector: str = "auto"
    pick: Literal["largest", "central"] = "largest"
    jitters: int = 0
    flip: bool = False
    grey_match: bool = False  # a pair with a grey side is compared in grey (two passes)
    comparison: str = "photo"  # what the pairs compare: "photo" or "document" (a portrait's side)
    workers: int | None = None
    scheduler: str | None = None
    cache: str | Path | None = None  # SQLite file; None for the cache_dir setting; "" for none
    impostors: int | Literal["all"] = 10_000  # generated impostor pairs when no pair list is given
    seed: int = 0
    progress: bool = True

    def __post_init__(self) -> None:
        if self.workers is not None and self.scheduler is not None:
            raise ConfigError("give --workers or --scheduler, not both (the cluster decides its own workers)")
        impostors: object = self.impostors
        if isinstance(impostors, str) and impostors != "all":
            try:
                impostors = int(impostors)
            except ValueError:
                raise ConfigError(
                    f"--impostors: {impostors!r} is neither a number of pairs nor 'all'"
                ) from None
            object.__setattr__(self, "impostors", impostors)
        if impostors != "all" and (
            isinstance(impostors, bool) or not isinstance(impostors, int) or impostors < 0
        ):
            raise ConfigError(
                f"--impostors: {impostors!r} is neither a number of pairs (0 or more) nor 'all'"
            )

    def pipeline(self) -> dict[str, Any]:
        """What decides the embeddings, for a report's or a profile's provenance (JSON-ready)."""
        return {
            "impostor": __version__,
            "detector": self.detector,
            "landmarks": "dlib 5-point",
            "chip": "150 px, padding 0.25",
            "embedding": EMBEDDING_MODEL,
            # the engine that ran it: either gives the same embeddings (to 1e-6), so a profile
            # fitted with one decides the same with the other
            "engine": str(settings.get("engine")),
            "jitters": self.jitters,
            "flip": self.flip,
            "grey_match": self.grey_match,
            "face_choice": self.pick,
            "comparison": self.comparison,
        }


_CROSS_BLOCK = 256  # documents a block when every document is compared with every live photo


@dataclass(frozen=True, eq=False)
class Scored:
    """A data set's pairs scored: the images embedded (``embeddings``, rows as ``dataset``'s
    images), the pair lists re-indexed to them and each listed pair's ``distance`` (NaN where
    an image had no face)."""

    full: Dataset  # everything scanned
    dataset: Dataset  # the images some pair uses: the ones embedded
    pairs: Pairs
    heldout: Pairs | None
    embeddings: EmbeddingSet
    distance: NDArray[np.float64]
    # with grey matching: every image's embedding in grey, and which images are grey pictures
    in_grey: NDArray[np.float64] | None = None
    grey: NDArray[np.bool_] | None = None

    def distances(self, a: NDArray[np.int64], b: NDArray[np.int64]) -> NDArray[np.float64]:
        """The distances of pairs of image indices, a pair with a grey side scored in grey."""
        distance = pair_distances(self.embeddings.vectors, a, b)
        if self.in_grey is None or self.grey is None:
            return distance
        return np.where(self.grey[a] | self.grey[b], pair_distances(self.in_grey, a, b), distance)

    def cross(
        self, documents: NDArray[np.int64], lives: NDArray[np.int64], codes: NDArray[np.int64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Every document image against every live image: the genuine distances (same person)
        and the impostor ones, computed a block of documents at a time so that no temporary
        grows beyond a block (the results are what they are)."""
        vectors, genuine, impostor = self.embeddings.vectors, [], []

        def between(table: NDArray[np.float64], rows: NDArray[np.int64]) -> NDArray[np.float64]:
            left, right = table[rows], table[lives]
            squared = (left**2).sum(1)[:, None] + (right**2).sum(1)[None, :] - 2 * left @ right.T
            return np.sqrt(np.maximum(squared, 0.0))

        for start in range(0, len(documents), _CROSS_BLOCK):
            rows = documents[start : start + _CROSS_BLOCK]
            distance = between(vectors, rows)
            if self.in_grey is not None and self.grey is not None:
                either = self.grey[rows][:, None] | self.grey[lives][None, :]
                distance = np.where(either, between(self.in_grey, rows), distance)
            same = codes[rows][:, None] == codes[lives][None, :]
            genuine.append(distance[same])
            impostor.append(distance[~same])
        if not genuine:
            return np.empty(0), np.empty(0)
        return np.concatenate(genuine), np.concatenate(impostor)


def score_pairs(
    dataset_dir: str | Path | None,
    pairs_file: str | Path | None,
    config: EvaluationConfig,
    heldout_file: str | Path | None = None,
) -> Scored:
    """Embed the images the pair lists use and score the pairs of ``pairs_file`` (or, without
    it, pairs generated from ``dataset_dir`` as ``config`` says); with ``heldout_file``, those
    pairs too, kept apart (scored with ``Scored.distances``).

    Without ``dataset_dir`` the pair list is its own data set. Raises ``ConfigError`` when
    neither is given, ``DatasetError`` for no usable pairs or held-out pairs that leave no
    training image.
    """
    if dataset_dir is None:
        # the pair list is its own data set: paths relative to it, people from its columns
        if pairs_file is None:
            raise ConfigError("give a DATASET folder, a --pairs list, or both")
        full, pairs = read_pair_list(pairs_file)
    else:
        full = scan(dataset_dir)
        if pairs_file is not None:
            pairs = read_pairs(pairs_file, full)
        else:
            pairs = generate_pairs(full, impostors=config.impostors, seed=config.seed)
    if len(pairs) == 0:
        raise DatasetError(f"{dataset_dir or pairs_file}: no usable pairs")
    heldout = read_pairs(heldout_file, full) if heldout_file is not None else None
    if heldout is not None:
        _check_apart(pairs, heldout, heldout_file)
    dataset, remapped = _used_images(full, [pairs] if heldout is None else [pairs, heldout])
    pairs, heldout = remapped[0], (remapped[1] if heldout is not None else None)
    cache = open_cache(config.cache)
    try:

        def embedded(grey: bool) -> EmbeddingSet:
            return embed_dataset(
                dataset,
                workers=config.workers,
                scheduler=config.scheduler,
                cache=cache,
                detector=config.detector,
                pick=config.pick,
                jitters=config.jitters,
                flip=config.flip,
                grey=grey,
                progress=config.progress,
            )

        embeddings = embedded(False)
        in_grey = grey = None
        if config.grey_match:
            # a grey face's chip is the same in grey, so its two embeddings are equal: a pair
            # with such a side is scored on both sides' grey embeddings
            in_grey = embedded(True).vectors
            grey = np.all(embeddings.vectors == in_grey, axis=1) & embeddings.found
    finally:
        if cache is not None:
            cache.close()
    scored = Scored(full, dataset, pairs, heldout, embeddings, np.empty(0), in_grey, grey)
    return dataclasses.replace(scored, distance=scored.distances(pairs.a, pairs.b))


def _check_apart(pairs: Pairs, heldout: Pairs, heldout_file: str | Path | None) -> None:
    """Refuse, before any embedding, held-out pairs that leave no training image of their own
    (the training list given twice, say): thresholds are never chosen on held-out images."""
    training = np.union1d(pairs.a, pairs.b)
    if np.setdiff1d(training, np.union1d(heldout.a, heldout.b)).size == 0:
        raise DatasetError(
            f"{heldout_file}: holds every image of the training pairs ({pairs.source}), so none is "
            "left to fit on; hold out other people's pairs (LFW's pairsDevTest beside pairsDevTrain), "
            "or leave out --heldout-pairs to hold out a share of the people"
        )


def _used_images(dataset: Dataset, lists: list[Pairs]) -> tuple[Dataset, list[Pairs]]:
    """Only the images the pair lists use (LFW View 2 uses 7,701 of 13,233), re-indexed."""
    used = np.unique(np.concatenate([np.concatenate([p.a, p.b]) for p in lists]))
    if used.size == len(dataset.images):
        return dataset, lists
    subset = Dataset(
        root=dataset.root,
        images=tuple(dataset.images[i] for i in used),
        identities=tuple(dataset.identities[i] for i in used),
        skipped=dataset.skipped,
    )
    moved = [
        replace(
            p, a=np.searchsorted(used, p.a).astype(np.int64), b=np.searchsorted(used, p.b).astype(np.int64)
        )
        for p in lists
    ]
    return subset, moved
