"""Where a benchmark's errors come from: each wrong pair put down to the first likely cause.

An error is a pair the report's reference decision rule gets wrong (``build_report`` chooses
the rule and gives each pair its threshold; distances accept when ``distance <= threshold``).
Each error pair is put into the first cause of ``CAUSES`` it shows, in that order: no face
found (a lost pair), several faces in an image (the wrong one may have been used), a head
turned past ``MAX_YAW_DEGREES``, too few pixels between the eyes (``MIN_INTER_EYE_PX``), a face
that only the CNN fallback found, or none of these (a hard pair, or a label error in the data
set). Beside the counts stands how common each attribute is among all pairs, so that a reader
sees whether errors are over-represented where it is present.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "CAUSES",
    "MAX_YAW_DEGREES",
    "MIN_INTER_EYE_PX",
    "Cause",
    "ErrorExample",
    "ErrorSources",
    "PairAttributes",
    "error_sources",
]

# Yaw past which a face is "turned": the 5-point estimate (impostor.stages.quality.yaw_degrees) is
# rough, and dlib's frontal HOG detector itself gives up at about 30°.
MAX_YAW_DEGREES = 25.0
# Below this many pixels between the eyes the aligned chip (52.5 px between the eyes: 150 px,
# padding 0.25) is enlarged more than 1.75×, so the model sees mostly interpolation. LFW's
# faces are small throughout (median about 40 px, 5th percentile 35 px), so a limit of 40 px
# would mark half of LFW; 30 px marks its smallest 1%.
MIN_INTER_EYE_PX = 30.0
_EXAMPLES = 10  # example pairs listed per cause

# (code, label) in the order causes are tried
CAUSES: tuple[tuple[str, str], ...] = (
    ("no_face", "no face found"),
    ("several_faces", "several faces in an image (wrong face may be chosen)"),
    ("head_turned", f"head turned > {MAX_YAW_DEGREES:g}°"),
    ("low_resolution", f"low resolution (< {MIN_INTER_EYE_PX:g} px between the eyes)"),
    ("cnn_fallback", "face found only by the CNN fallback"),
    ("none", "none of these (hard pair or label error)"),
)


@dataclass(frozen=True, eq=False)
class PairAttributes:
    """What may explain an error, for each pair's two images: arrays shaped ``(n, 2)``, column
    0 for image a and 1 for image b.

    ``faces_found`` counts the faces found in the image (0 when none); ``yaw`` is the head yaw
    of the face used in degrees and ``inter_eye`` its inter-eye distance in pixels of the
    full-resolution image (both NaN without a face); ``cnn_fallback`` is True where only the
    CNN fallback found the face (never with the CNN as the only detector); ``rotated`` holds
    the degrees the image was turned for a face to be found. ``quality`` is the image's
    unified quality score, 0-100 (``impostor.stages.quality.unified_score``, NaN without a face or
    when not measured).
    """

    faces_found: NDArray[np.int64]
    yaw: NDArray[np.float64]
    inter_eye: NDArray[np.float64]
    cnn_fallback: NDArray[np.bool_]
    rotated: NDArray[np.int64]
    # not given: not measured, NaN throughout
    quality: NDArray[np.float64] = field(default_factory=lambda: np.full((0, 2), np.nan))

    def __post_init__(self) -> None:
        coerced: dict[str, NDArray[Any]] = {
            "faces_found": np.asarray(self.faces_found, dtype=np.int64),
            "yaw": np.asarray(self.yaw, dtype=np.float64),
            "inter_eye": np.asarray(self.inter_eye, dtype=np.float64),
            "cnn_fallback": np.asarray(self.cnn_fallback, dtype=bool),
            "rotated": np.asarray(self.rotated, dtype=np.int64),
            "quality": np.asarray(self.quality, dtype=np.float64),
        }
        first = coerced["faces_found"].shape
        if coerced["quality"].size == 0 and len(first) == 2 and first[0] > 0:
            coerced["quality"] = np.full(first, np.nan)
        shapes = {name: value.shape for name, value in coerced.items()}
        if len(first) != 2 or first[1] != 2 or any(shape != first for shape in shapes.values()):
            raise ValueError(f"PairAttributes: every array must be shaped (n, 2), got {shapes}")
        for name, value in coerced.items():
            object.__setattr__(self, name, value)

    @classmethod
    def from_images(
        cls,
        a: ArrayLike,
        b: ArrayLike,
        *,
        faces_found: ArrayLike,
        yaw: ArrayLike,
        inter_eye: ArrayLike,
        cnn_fallback: ArrayLike,
        rotated: ArrayLike,
        quality: ArrayLike | None = None,
    ) -> PairAttributes:
        """The attributes of pairs ``(a[k], b[k])`` (image indices) from per-image arrays
        shaped ``(n_images,)``; without ``quality`` the pairs' quality is NaN."""
        rows = np.stack([np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)], axis=1)

        def take(values: ArrayLike) -> NDArray[Any]:
            return np.asarray(values)[rows]

        return cls(
            take(faces_found),
            take(yaw),
            take(inter_eye),
            take(cnn_fallback),
            take(rotated),
            np.full((rows.shape[0], 2), np.nan) if quality is None else take(quality),
        )

    def __len__(self) -> int:
        return int(self.faces_found.shape[0])

    def present(self, lost: NDArray[np.bool_]) -> dict[str, NDArray[np.bool_]]:
        """Each cause's attribute, per pair (not exclusive), by cause code; ``lost`` marks the
        pairs with no distance. ``"none"`` is True where no other attribute is."""
        with np.errstate(invalid="ignore"):
            marks = {
                "no_face": np.asarray(lost, dtype=bool),
                "several_faces": self.faces_found.max(axis=1) > 1,
                # NaN (no face) compares False: a missing side does not count as turned or small
                "head_turned": np.fmax(np.abs(self.yaw[:, 0]), np.abs(self.yaw[:, 1])) > MAX_YAW_DEGREES,
                "low_resolution": np.fmin(self.inter_eye[:, 0], self.inter_eye[:, 1]) < MIN_INTER_EYE_PX,
                "cnn_fallback": self.cnn_fallback.any(axis=1),
            }
        marks["none"] = ~np.logical_or.reduce(list(marks.values()))
        return marks


@dataclass(frozen=True)
class ErrorExample:
    """One error pair with what was known of its two images (a first, then b)."""

    a: str
    b: str
    same: bool
    fold: int | None
    error: str  # "false match", "false non-match" or "lost impostor"
    distance: float  # NaN for a lost pair
    threshold: float  # the threshold the pair was judged at
    faces_found: tuple[int, int]
    yaw: tuple[float, float]  # degrees, NaN without a face
    inter_eye: tuple[float, float]  # pixels, NaN without a face
    cnn_fallback: tuple[bool, bool]
    rotated: tuple[int, int]


@dataclass(frozen=True)
class Cause:
    """The errors put down to one cause, and how common its attribute is.

    ``false_match`` counts impostor pairs accepted, ``false_non_match`` genuine pairs rejected
    or lost, ``lost_impostor`` impostor pairs lost (errors only under the fold rule).
    ``errors_with_attribute`` and ``pairs_with_attribute`` count the error pairs and all pairs
    showing the attribute, whatever cause came first.
    """

    code: str
    label: str
    false_match: int
    false_non_match: int
    lost_impostor: int
    errors_with_attribute: int
    pairs_with_attribute: int
    examples: tuple[ErrorExample, ...]

    @property
    def errors(self) -> int:
        """Every error put down to this cause: false matches, false non-matches and lost impostor pairs."""
        return self.false_match + self.false_non_match + self.lost_impostor


@dataclass(frozen=True)
class ErrorSources:
    """Every error pair of the reference rule, by first cause (in the order of ``CAUSES``)."""

    rule: str  # the decision rule the errors are counted at, in words
    pairs: int
    errors: int
    causes: tuple[Cause, ...]
    limits: dict[str, float]

    def share_of_errors(self, cause: Cause) -> float:
        """The share of all errors put down to ``cause``, 0-1 (NaN without errors)."""
        return cause.errors / self.errors if self.errors else float("nan")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: the rule, the error count and rate, the limits and each cause's errors."""
        return {
            "rule": self.rule,
            "pairs": self.pairs,
            "errors": self.errors,
            "error_rate": self.errors / self.pairs if self.pairs else None,
            "limits": self.limits,
            "causes": [
                {
                    "code": c.code,
                    "label": c.label,
                    "errors": c.errors,
                    "false_match": c.false_match,
                    "false_non_match": c.false_non_match,
                    "lost_impostor": c.lost_impostor,
                    "share_of_errors": self.share_of_errors(c),
                    "errors_with_attribute": c.errors_with_attribute,
                    "share_of_errors_with_attribute": (
                        c.errors_with_attribute / self.errors if self.errors else None
                    ),
                    "pairs_with_attribute": c.pairs_with_attribute,
                    "share_of_pairs_with_attribute": c.pairs_with_attribute / self.pairs
                    if self.pairs
                    else None,
                    "error_rate_with_attribute": (
                        c.errors_with_attribute / c.pairs_with_attribute if c.pairs_with_attribute else None
                    ),
                    "examples": c.examples,
                }
                for c in self.causes
            ],
        }

    def summary(self) -> str:
        """One line: the errors and their causes, largest first."""
        parts = [f"{c.label} {c.errors}" for c in sorted(self.causes, key=lambda c: -c.errors) if c.errors]
        return f"errors ({self.rule}): {self.errors:,} of {self.pairs:,} pairs" + (
            f": {'; '.join(parts)}" if parts else ""
        )


def error_sources(
    attributes: PairAttributes,
    *,
    a: Sequence[str],
    b: Sequence[str],
    same: ArrayLike,
    distance: ArrayLike,
    threshold: ArrayLike,
    fold: ArrayLike | None = None,
    lost_impostor_is_error: bool,
    rule: str,
) -> ErrorSources:
    """Put each error pair down to its first cause.

    All arrays are shaped ``(n,)``: ``distance`` is NaN for a lost pair, and a scored pair is
    accepted when ``distance <= threshold[k]``. Errors are impostor pairs accepted, genuine
    pairs rejected or lost, and, when ``lost_impostor_is_error`` (the LFW fold protocol), lost
    impostor pairs. ``rule`` names the decision rule in words for the report.
    """
    s = np.asarray(same, dtype=bool).ravel()
    d = np.asarray(distance, dtype=np.float64).ravel()
    t = np.broadcast_to(np.asarray(threshold, dtype=np.float64), d.shape)
    n = len(attributes)
    if not len(a) == len(b) == s.size == d.size == n:
        raise ValueError(
            f"error_sources: {n} pairs of attributes but {len(a)}, {len(b)}, {s.size} and {d.size} "
            "in a, b, same and distance"
        )
    folds = None if fold is None else np.asarray(fold, dtype=np.int64).ravel()
    lost = np.isnan(d)
    with np.errstate(invalid="ignore"):
        accepted = ~lost & (d <= t)
    kinds = {
        "false match": ~s & accepted,
        "false non-match": s & ~accepted,  # rejected or lost
        "lost impostor": ~s & lost & lost_impostor_is_error,
    }
    wrong = np.logical_or.reduce(list(kinds.values()))
    kind = np.select(list(kinds.values()), list(kinds), default="")

    marks = attributes.present(lost)
    unexplained = wrong.copy()
    causes = []
    for code, label in CAUSES:
        mine = unexplained & marks[code]
        unexplained &= ~mine
        # the surest errors first (furthest past the threshold), lost pairs in their order
        rows = np.flatnonzero(mine)
        rows = rows[np.argsort(-np.nan_to_num(np.abs(d[rows] - t[rows]), nan=np.inf), kind="stable")]
        causes.append(
            Cause(
                code=code,
                label=label,
                false_match=int(np.count_nonzero(mine & kinds["false match"])),
                false_non_match=int(np.count_nonzero(mine & kinds["false non-match"])),
                lost_impostor=int(np.count_nonzero(mine & kinds["lost impostor"])),
                errors_with_attribute=int(np.count_nonzero(wrong & marks[code])),
                pairs_with_attribute=int(np.count_nonzero(marks[code])),
                examples=tuple(
                    _example(attributes, k, a, b, s, d, t, folds, str(kind[k])) for k in rows[:_EXAMPLES]
                ),
            )
        )
    return ErrorSources(
        rule=rule,
        pairs=n,
        errors=int(np.count_nonzero(wrong)),
        causes=tuple(causes),
        limits={"max_yaw_degrees": MAX_YAW_DEGREES, "min_inter_eye_px": MIN_INTER_EYE_PX},
    )


def _example(
    attributes: PairAttributes,
    k: int,
    a: Sequence[str],
    b: Sequence[str],
    same: NDArray[np.bool_],
    distance: NDArray[np.float64],
    threshold: NDArray[np.float64],
    fold: NDArray[np.int64] | None,
    kind: str,
) -> ErrorExample:
    def pair(values: NDArray[Any], cast: type) -> tuple[Any, Any]:
        return cast(values[k, 0]), cast(values[k, 1])

    return ErrorExample(
        a=a[k],
        b=b[k],
        same=bool(same[k]),
        fold=None if fold is None else int(fold[k]),
        error=kind,
        distance=float(distance[k]),
        threshold=float(threshold[k]),
        faces_found=pair(attributes.faces_found, int),
        yaw=pair(attributes.yaw, float),
        inter_eye=pair(attributes.inter_eye, float),
        cnn_fallback=pair(attributes.cnn_fallback, bool),
        rotated=pair(attributes.rotated, int),
    )
