"""The reference: the plain ``face_recognition`` pipeline, as a naive user would run it.

Every claim the project makes ("faster than", "no more errors than") is measured against this,
so it is written once and shared by the benchmarks and the tests:

    face_recognition.load_image_file(path)       full-resolution decode (Pillow, no EXIF turn)
    face_recognition.face_locations(image)       HOG on the full image, upsampled once
    face_recognition.face_encodings(image, locs) 5-point landmarks, dlib chip, ResNet
    first face found                             whatever the detector listed first
    face_recognition.face_distance(a, b) <= 0.6  face_recognition's documented tolerance

Scores are Euclidean distances between 128-d embeddings: **smaller is more alike**, and a pair
is accepted when ``distance <= PLAIN_ACCEPT_DISTANCE``.

``face_recognition`` loads all four of dlib's models when it is imported (about 2 s), so it is
imported inside the functions here, never when ``impostor`` is.

``count_errors`` scores pairs the way the project reports them: a pair whose image yields no
face is an error for the pipeline that lost it, whatever the pair's truth.
"""

from __future__ import annotations

import csv
import importlib
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np
from numpy.typing import NDArray

from impostor.errors import ConfigError

__all__ = [
    "PLAIN_ACCEPT_DISTANCE",
    "PairErrors",
    "count_errors",
    "face_recognition_module",
    "plain_compare",
    "plain_decisions",
    "plain_distance",
    "plain_embedding",
    "read_pairs",
]

# face_recognition's default tolerance (compare_faces, the CLI's --tolerance): the reference's
# own threshold, part of its definition rather than a value we tuned.
PLAIN_ACCEPT_DISTANCE = 0.6

Embedding = NDArray[np.float64]


def face_recognition_module() -> ModuleType:
    """``face_recognition``, imported on first use (it loads four dlib models as it imports)."""
    with warnings.catch_warnings():
        # its models package imports pkg_resources, which warns on every recent setuptools
        warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
        try:
            module = importlib.import_module("face_recognition")
        except ImportError as error:
            raise ConfigError(
                f"the plain face_recognition pipeline (the benchmarks' baseline) cannot be imported "
                f"({error}): in a checkout `uv sync` installs it with the development tools; elsewhere "
                "`pip install face_recognition 'setuptools<81'` (it builds dlib from source)"
            ) from None
    return module


def plain_embedding(path: str | Path) -> Embedding | None:
    """The 128-d embedding ``face_recognition`` gives the first face in an image file.

    Full-resolution decode, HOG with one upsampling, then ``face_encodings`` on the first
    location. Returns None when no face is found (a failure to acquire).
    """
    fr = face_recognition_module()
    image = fr.load_image_file(str(path))
    locations = fr.face_locations(image)
    if not locations:
        return None
    return np.asarray(fr.face_encodings(image, locations[:1])[0], dtype=np.float64)


def plain_distance(document: Embedding, live: Embedding) -> float:
    """``face_distance`` between two embeddings: Euclidean, smaller is more alike."""
    fr = face_recognition_module()
    return float(fr.face_distance(np.asarray([document]), np.asarray(live))[0])


def plain_compare(document: str | Path, live: str | Path) -> float | None:
    """The plain pipeline's distance between two image files (smaller is more alike).

    Accepted as the same person when ``<= PLAIN_ACCEPT_DISTANCE``; None when either image
    has no face.
    """
    first, second = plain_embedding(document), plain_embedding(live)
    if first is None or second is None:
        return None
    return plain_distance(first, second)


def plain_decisions(
    distances: Iterable[float | None], accept_distance: float = PLAIN_ACCEPT_DISTANCE
) -> NDArray[np.bool_]:
    """True where a pair is accepted as the same person: ``distance <= accept_distance``.

    A None distance (either image had no face) is never accepted.
    """
    values = np.array([np.nan if d is None else d for d in distances], dtype=np.float64)
    return np.nan_to_num(values, nan=np.inf) <= accept_distance


def read_pairs(path: str | Path) -> list[tuple[str, str, bool]]:
    """Pairs from a CSV with columns ``a``, ``b``, ``same`` (1 genuine, 0 impostor).

    The image paths are returned as written, relative to the CSV's folder (the layout of the
    shared face data). Raises ``ValueError`` naming the file when a column is missing.
    """
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if not {"a", "b", "same"} <= set(reader.fieldnames or ()):
            raise ValueError(f"{path}: expected columns a, b, same; found {reader.fieldnames}")
        return [(row["a"], row["b"], row["same"].strip() == "1") for row in reader]


@dataclass(frozen=True)
class PairErrors:
    """Errors of one pipeline on a pair list at one accept distance.

    ``false_matches`` are impostor pairs accepted, ``false_non_matches`` genuine pairs rejected
    (both among pairs where each image gave a face); ``lost`` are pairs where either image gave
    no face, counted as errors whatever their truth.
    """

    accept_distance: float
    pairs: int
    genuine: int
    impostor: int
    false_matches: int
    false_non_matches: int
    lost: int

    @property
    def errors(self) -> int:
        """False matches, false non-matches and lost pairs together."""
        return self.false_matches + self.false_non_matches + self.lost

    @property
    def error_rate(self) -> float:
        """Errors over pairs (0-1; 0 without pairs)."""
        return self.errors / self.pairs if self.pairs else 0.0


def count_errors(
    embeddings: Mapping[str, Embedding | None],
    pairs: Iterable[tuple[str, str, bool]],
    accept_distance: float,
) -> PairErrors:
    """Count the errors on ``pairs`` (image key, image key, same person?) at ``accept_distance``.

    ``embeddings`` maps every image key to its 128-d embedding, or None when no face was found.
    Distances are Euclidean (smaller is more alike); a pair is accepted when
    ``distance <= accept_distance``. Raises ``KeyError`` naming an image key with no entry.
    """
    rows = list(pairs)
    keys = sorted({key for a, b, _ in rows for key in (a, b)})
    missing = [key for key in keys if key not in embeddings]
    if missing:
        raise KeyError(f"no embedding entry for {missing[0]!r} ({len(missing)} image(s) missing)")
    index = {key: i for i, key in enumerate(keys)}
    found = np.array([embeddings[key] is not None for key in keys])
    vectors = np.zeros((len(keys), 128))
    for key, i in index.items():
        vector = embeddings[key]
        if vector is not None:
            vectors[i] = vector
    a = np.array([index[r[0]] for r in rows], dtype=np.intp)
    b = np.array([index[r[1]] for r in rows], dtype=np.intp)
    same = np.array([bool(r[2]) for r in rows], dtype=bool)
    usable = found[a] & found[b]
    accepted = np.linalg.norm(vectors[a] - vectors[b], axis=1) <= accept_distance
    return PairErrors(
        accept_distance=accept_distance,
        pairs=len(rows),
        genuine=int(same.sum()),
        impostor=int((~same).sum()),
        false_matches=int((usable & ~same & accepted).sum()),
        false_non_matches=int((usable & same & ~accepted).sum()),
        lost=int((~usable).sum()),
    )
