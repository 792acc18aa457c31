"""The named results that cross module boundaries.

Coordinates are pixels of the decoded, upright image (after EXIF orientation), x to the right
and y down, with the origin at the centre of the top-left pixel. Arrays of pixels are RGB,
``uint8``, shaped ``(height, width, 3)``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "Decision",
    "Face",
    "FaceBox",
    "ImageInfo",
    "Landmarks",
    "LoadedImage",
    "Measure",
    "QualityReport",
    "ProfileRef",
    "Reason",
    "Side",
    "Thresholds",
    "Verdict",
]

RGBImage = NDArray[np.uint8]
Embedding = NDArray[np.float64]


@dataclass(frozen=True)
class ImageInfo:
    """What we learnt about an image while reading it."""

    source: str
    width: int  # full-resolution size, upright (after EXIF orientation)
    height: int
    format: str
    mode: str  # channels and depth as stored: "grey", "rgb", "rgba", "palette", "grey+alpha"
    bit_depth: int
    exif_orientation: int  # 1 = upright; 2-8 as in EXIF; applied before anything else
    decode_scale: int  # 1, 2, 4 or 8: the JPEG was decoded at 1/decode_scale for speed
    sha256: str
    damage: str = ""  # what the decoder reported losing (corrupt JPEG data); "" when whole

    @property
    def is_grey(self) -> bool:
        """Whether the file stores grey pixels (its ``mode`` starts with ``grey``)."""
        return self.mode.startswith("grey")

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict of what is known of the file."""
        return {
            "source": self.source,
            "width": self.width,
            "height": self.height,
            "format": self.format,
            "mode": self.mode,
            "bit_depth": self.bit_depth,
            "exif_orientation": self.exif_orientation,
            "sha256": self.sha256,
            "damage": self.damage or None,
        }


@dataclass(frozen=True, eq=False)
class LoadedImage:
    """An upright RGB image ready for detection, with what we learnt reading it.

    ``pixels`` may be smaller than ``info.width`` × ``info.height`` when a large JPEG was decoded
    at reduced scale; every coordinate we report is in ``pixels``' frame.
    """

    pixels: RGBImage
    info: ImageInfo

    @property
    def shape(self) -> tuple[int, int]:
        """Height and width of the pixels, as analysed."""
        return int(self.pixels.shape[0]), int(self.pixels.shape[1])


@dataclass(frozen=True)
class FaceBox:
    """A detected face: edges in pixels, and the detector's confidence (higher is surer)."""

    left: float
    top: float
    right: float
    bottom: float
    score: float = 0.0

    @property
    def width(self) -> float:
        """Right less left, in pixels."""
        return self.right - self.left

    @property
    def height(self) -> float:
        """Bottom less top, in pixels."""
        return self.bottom - self.top

    @property
    def area(self) -> float:
        """Width times height in square pixels (0 for an inverted box)."""
        return max(self.width, 0.0) * max(self.height, 0.0)

    @property
    def center(self) -> tuple[float, float]:
        """The box's centre ``(x, y)``, in pixels."""
        return (self.left + self.right) / 2, (self.top + self.bottom) / 2

    def scaled(self, factor: float) -> FaceBox:
        """The box with its edges multiplied by ``factor`` (to another scale of the image)."""
        return FaceBox(
            self.left * factor, self.top * factor, self.right * factor, self.bottom * factor, self.score
        )

    def to_dict(self) -> dict[str, float]:
        """A JSON-ready dict: edges, width and height to 0.1 px, and the score."""
        return {
            "left": round(self.left, 1),
            "top": round(self.top, 1),
            "right": round(self.right, 1),
            "bottom": round(self.bottom, 1),
            "width": round(self.width, 1),
            "height": round(self.height, 1),
            "score": round(self.score, 3),
        }


LANDMARK_NAMES = (
    "left_eye_outer",
    "left_eye_inner",
    "right_eye_outer",
    "right_eye_inner",
    "nose_base",
)


@dataclass(frozen=True)
class Landmarks:
    """The five points of dlib's 5-point model, in its order.

    "Left" and "right" are the subject's (ISO/IEC 39794-5 convention): the subject's left eye
    appears on the right of the image.
    """

    points: tuple[tuple[float, float], ...]

    def array(self) -> NDArray[np.float64]:
        """The points as a ``(5, 2)`` float64 array of ``(x, y)`` pixels."""
        return np.asarray(self.points, dtype=np.float64)

    @property
    def left_eye(self) -> tuple[float, float]:
        """The subject's left eye, midway between its two corners ``(x, y)``; image right."""
        (ax, ay), (bx, by) = self.points[0], self.points[1]
        return (ax + bx) / 2, (ay + by) / 2

    @property
    def right_eye(self) -> tuple[float, float]:
        """The subject's right eye, midway between its two corners ``(x, y)``; image left."""
        (ax, ay), (bx, by) = self.points[2], self.points[3]
        return (ax + bx) / 2, (ay + by) / 2

    @property
    def inter_eye_distance(self) -> float:
        """Distance between the eye centres, in pixels."""
        (lx, ly), (rx, ry) = self.left_eye, self.right_eye
        return float(np.hypot(lx - rx, ly - ry))

    def to_dict(self) -> dict[str, list[float]]:
        """A JSON-ready dict: each named point's ``[x, y]`` to 0.1 px."""
        return {
            name: [round(x, 1), round(y, 1)] for name, (x, y) in zip(LANDMARK_NAMES, self.points, strict=True)
        }


@dataclass(frozen=True, eq=False)
class Face:
    """One located, aligned and embedded face."""

    box: FaceBox
    landmarks: Landmarks
    chip: RGBImage  # the canonical aligned chip the embedding was computed from
    embedding: Embedding  # 128 floats, unit-free; compare with Euclidean distance


@dataclass(frozen=True)
class Measure:
    """One quality measure: native ``value`` in ``unit``, ``score`` 0-100 (higher is better).

    ``limit`` is the profile's limit it was checked against (None: reported, never fails);
    ``advice`` says what the officer should do, and is empty when the measure passed.
    """

    name: str
    value: float
    unit: str
    score: float
    limit: float | None
    passed: bool
    advice: str = ""

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict of the measure: value, unit, 0-100 score, limit, passed, advice."""
        return {
            "name": self.name,
            "value": round(self.value, 3),
            "unit": self.unit,
            "score": round(self.score, 1),
            "limit": self.limit,
            "passed": self.passed,
            "advice": self.advice,
        }


@dataclass(frozen=True)
class QualityReport:
    """Every measure of one face; ``passed`` when none failed, ``failures`` the ones that did."""

    side: str
    measures: tuple[Measure, ...]
    passed: bool
    failures: tuple[Measure, ...]

    def measure(self, name: str) -> Measure:
        """The measure named ``name``; raises ``KeyError`` naming those the report has."""
        for measure in self.measures:
            if measure.name == name:
                return measure
        raise KeyError(f"no quality measure named {name!r}; have {[m.name for m in self.measures]}")

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict: side, passed, the failures with their advice, and every measure."""
        return {
            "side": self.side,
            "passed": self.passed,
            "failures": [measure.name for measure in self.failures],
            "advice": [measure.advice for measure in self.failures],
            "measures": [measure.to_dict() for measure in self.measures],
        }


class Decision(enum.Enum):
    """The three outcomes: MATCH (same person), NO_MATCH (different) and REFER (an officer decides)."""

    MATCH = "MATCH"
    NO_MATCH = "NO_MATCH"
    REFER = "REFER"


@dataclass(frozen=True)
class Reason:
    """Why a decision is what it is, for the officer: ``message`` says what to do."""

    code: str
    message: str
    side: str | None = None  # "document", "live" or None for the comparison itself


@dataclass(frozen=True, eq=False)
class Side:
    """One side of a comparison: the image, and the face we used (None if none was found)."""

    name: str  # "document" or "live"
    image: LoadedImage
    face: Face | None
    faces_found: int
    rotated_degrees: int = 0  # the image had to be turned this much for a face to be found
    face_widths: tuple[float, ...] = ()  # every face found, widest first, in pixels
    detector: str | None = None  # "hog" or "cnn": the detector that found the faces; None if none
    quality: QualityReport | None = None  # the face's quality gates; None when there is no face

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict of one side: its image, faces found, the face's box, landmarks and quality."""
        face = self.face
        return {
            "image": self.image.info.to_dict(),
            "analysed_size": {"width": self.image.shape[1], "height": self.image.shape[0]},
            "faces_found": self.faces_found,
            "rotated_degrees": self.rotated_degrees,
            "box": face.box.to_dict() if face else None,
            "landmarks": face.landmarks.to_dict() if face else None,
            "face_size_px": (
                {
                    "width": round(face.box.width, 1),
                    "height": round(face.box.height, 1),
                    "inter_eye_distance": round(face.landmarks.inter_eye_distance, 1),
                }
                if face
                else None
            ),
            "quality": self.quality.to_dict() if self.quality else None,
        }


@dataclass(frozen=True)
class Thresholds:
    """A profile's operating thresholds on distance (smaller is more alike).

    MATCH at or below ``accept_distance``, NO_MATCH above ``reject_distance``, REFER between.
    """

    accept_distance: float
    reject_distance: float


@dataclass(frozen=True)
class ProfileRef:
    """Which profile decided a verdict: name, version, file and what it was fitted to compare."""

    name: str
    version: str
    path: str
    comparison: str = "photo"  # what it was fitted to compare: "photo", or "document" (a portrait)


@dataclass(frozen=True, eq=False)
class Verdict:
    """The answer to "is the live person the document's holder?".

    ``distance`` is the Euclidean distance between the two 128-d embeddings (smaller is more
    alike); ``probability`` is the profile's calibrated probability that both are the same
    person. Both are None when either side has no usable face.
    """

    decision: Decision
    probability: float | None
    distance: float | None
    reasons: tuple[Reason, ...]
    document: Side
    live: Side
    profile: ProfileRef
    accept_distance: float
    reject_distance: float
    timings_ms: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict of the verdict: decision, probability, distance, reasons, thresholds, sides."""
        return {
            "decision": self.decision.value,
            "probability": None if self.probability is None else round(self.probability, 4),
            "distance": None if self.distance is None else round(self.distance, 4),
            "reasons": [reason.message for reason in self.reasons],
            "reason_codes": [reason.code for reason in self.reasons],
            "thresholds": {
                "accept_distance": self.accept_distance,
                "reject_distance": self.reject_distance,
            },
            "document": self.document.to_dict(),
            "live": self.live.to_dict(),
            "profile": {
                "name": self.profile.name,
                "version": self.profile.version,
                "path": self.profile.path,
                "comparison": self.profile.comparison,
            },
            "timings_ms": {name: round(ms, 1) for name, ms in self.timings_ms.items()},
        }
