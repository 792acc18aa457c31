"""What a QA report is computed from: every listed pair with its distance and calibrated
probability (``PairScores``), and where the figures come from (``Context``: the data set, the
pair list, the profile, the pipeline, the command).

Distances are Euclidean between embeddings (smaller is more alike); a pair whose image had no face
is *lost* and has a NaN distance. ``impostor.qa.report`` re-exports both names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from impostor.pipeline.profile import Profile
from impostor.qa.error_sources import PairAttributes

__all__ = ["Context", "PairScores"]


@dataclass(frozen=True, eq=False)
class PairScores:
    """Every listed pair and its score; all arrays shaped ``(n,)``.

    ``distance`` is NaN where either image had no face (a lost pair); ``probability`` is the
    profile's calibrated P(same person), NaN exactly where ``distance`` is. ``fold`` holds
    the cross-validation fold of each pair, or is None. ``attributes``, when given, says what
    was found in each pair's images, for the report's section on where the errors come from.
    """

    a: tuple[str, ...]
    b: tuple[str, ...]
    a_identity: NDArray[np.int64]
    b_identity: NDArray[np.int64]
    same: NDArray[np.bool_]
    fold: NDArray[np.int64] | None
    distance: NDArray[np.float64]
    probability: NDArray[np.float64]
    attributes: PairAttributes | None = None

    def __post_init__(self) -> None:
        n = len(self.a)
        coerced: dict[str, Any] = {
            "a_identity": np.asarray(self.a_identity, dtype=np.int64).ravel(),
            "b_identity": np.asarray(self.b_identity, dtype=np.int64).ravel(),
            "same": np.asarray(self.same, dtype=bool).ravel(),
            "distance": np.asarray(self.distance, dtype=np.float64).ravel(),
            "probability": np.asarray(self.probability, dtype=np.float64).ravel(),
        }
        if self.fold is not None:
            coerced["fold"] = np.asarray(self.fold, dtype=np.int64).ravel()
        sizes = {"b": len(self.b)} | {name: value.size for name, value in coerced.items()}
        if self.attributes is not None:
            sizes["attributes"] = len(self.attributes)
        wrong = {name: size for name, size in sizes.items() if size != n}
        if wrong:
            raise ValueError(f"PairScores: {n} pairs in a but {wrong}")
        for name, value in coerced.items():
            object.__setattr__(self, name, value)
        lost = np.isnan(self.distance)
        if np.any(np.isinf(self.distance)) or np.any(self.distance[~lost] < 0):
            raise ValueError("PairScores: distances must be finite and >= 0, or NaN for a lost pair")
        p = self.probability
        if np.any(np.isnan(p) != lost) or np.any((p[~lost] < 0) | (p[~lost] > 1)):
            raise ValueError(
                "PairScores: probability must lie in [0, 1] where distance is known, NaN elsewhere"
            )

    def __len__(self) -> int:
        return len(self.a)

    @property
    def scored(self) -> NDArray[np.bool_]:
        """True where the pair has a distance (both images had a face)."""
        return ~np.isnan(self.distance)


@dataclass(frozen=True)
class Context:
    """What the report was made with, shown verbatim (``dataset`` and ``pipeline`` must be JSON-like)."""

    title: str
    dataset: dict[str, object]  # root, images, people, skipped (count and up to 50 examples with reasons)
    pairs_source: str
    pairs_skipped: int
    images: int
    people: int
    fta_images: int  # images in which no face was found
    profile: Profile
    pipeline: dict[str, object]
    command: str
    created: str  # ISO 8601, UTC

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the context, the profile reduced to its name, thresholds and provenance."""
        p = self.profile
        return {
            "title": self.title,
            "dataset": self.dataset,
            "pairs_source": self.pairs_source,
            "pairs_skipped": self.pairs_skipped,
            "images": self.images,
            "people": self.people,
            "fta_images": self.fta_images,
            "profile": {
                "name": p.name,
                "version": p.version,
                "path": p.path,
                "accept_distance": p.accept_distance,
                "reject_distance": p.reject_distance,
                "calibration": p.calibration.method,
                "operating_points": p.operating_points,
                "provenance": p.provenance,
            },
            "pipeline": self.pipeline,
            "command": self.command,
            "created": self.created,
        }
