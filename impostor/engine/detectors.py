"""The face detectors, one class per backend behind one small interface, chosen once by name.

``detector_named("hog")`` or ``detector_named("cnn")`` gives a ``Detector``: its ``name`` (what a
``Side`` records), what it costs and how its scores read, the passes an ``Effort`` asks of it, and
``find`` (one look at one copy). ``impostor.stages.detect`` makes the copies and runs the passes;
``impostor.pipeline.finder`` orders the detectors into its searches. Nothing is loaded until a
detector first looks at an image (``impostor.engine.weights``).

- ``HogDetector``: dlib's HOG detector on grey pixels, about 30 ms on a 640 px copy; its scores
  are SVM margins, so weak responses (clothing, compression blocks) have low scores.
- ``CnnDetector``: dlib's CNN (MMOD) detector, in ONNX Runtime (``impostor.engine.mmod_onnx``),
  or in dlib itself when the ``engine`` setting says ``dlib`` (the reference, about 20× slower);
  it finds more turned and small faces, at about 20 times HOG's cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal, Protocol, runtime_checkable

import cv2
import numpy as np

from impostor import settings
from impostor.engine import weights
from impostor.engine.mmod_onnx import find_faces
from impostor.types import FaceBox

__all__ = [
    "BACKENDS",
    "EFFORTS",
    "Backend",
    "CnnDetector",
    "Detector",
    "Effort",
    "HogDetector",
    "Pass",
    "detector_named",
]

Backend = Literal["hog", "cnn"]
BACKENDS: tuple[Backend, ...] = ("hog", "cnn")

# Which passes to make, each only while nothing is found (a pass is a detector on one copy):
# - "glance": one pass at the search size (live guidance; the first step of a thorough search);
# - "near": then HOG on that copy upsampled (the station's camera: a face at arm's length is
#   neither small nor lost, but may be a little under the window);
# - "full": then, for HOG, a copy with twice the search size in real pixels (a small face in a
#   large photo), or the image upsampled when it has no more pixels than the search size; for
#   the CNN, the copy upsampled when the image is small (LFW's crops);
# - "colour": only HOG on the colour copy at the search size (dlib takes each pixel's strongest
#   gradient over the three channels: a face washed out in grey can still show in colour);
# - "small": only HOG's small-face pass of "full" (the last step of an exhaustive search);
# - "tiny": only HOG on the copy upsampled twice (a data page's ghost image, 30 px wide).
Effort = Literal["full", "near", "glance", "colour", "small", "tiny"]
EFFORTS: tuple[Effort, ...] = ("full", "near", "glance", "colour", "small", "tiny")

# The CNN looks again at twice the size only on small images (LFW's 250 px crops, where it found
# every face HOG missed): on a 640 px copy that second look takes ten seconds and two gigabytes.
_CNN_UPSAMPLE_SIDE = 320


@dataclass(frozen=True)
class Pass:
    """One look: at a copy whose longer side is at most ``side`` pixels, in colour or grey,
    upsampled ``upsample`` times by the detector itself (each time four times the cost)."""

    side: int
    upsample: int
    colour: bool


@runtime_checkable
class Detector(Protocol):
    """A face detector backend.

    ``name`` is what a ``Side`` records as the detector that found its face. ``fast`` says it is
    cheap enough to run on every camera frame and on a worn document's rescue copies.
    ``margin_scores`` says its scores are margins whose weak values are false alarms (the
    profile's ``min_face_score`` removes them); otherwise every face it returns is credible.
    """

    @property
    def name(self) -> Backend:
        """The backend's name, as a ``Side`` records it."""
        ...

    @property
    def fast(self) -> bool:
        """Whether it is cheap enough for every camera frame and a worn document's rescue."""
        ...

    @property
    def margin_scores(self) -> bool:
        """Whether its weak scores are false alarms that ``min_face_score`` removes."""
        ...

    def passes(self, effort: Effort, side: int, longest: int) -> list[Pass]:
        """The looks ``effort`` asks for, cheapest first, on an image whose longer side is
        ``longest`` pixels searched at ``side`` pixels."""
        ...

    def find(self, image: np.ndarray, upsample: int) -> list[FaceBox]:
        """The faces in ``image`` (grey ``(h, w)`` or RGB ``(h, w, 3)`` uint8, upsampled
        ``upsample`` times), as boxes in its pixel frame, in no particular order."""
        ...


@dataclass(frozen=True)
class HogDetector:
    """dlib's HOG detector (see the module docstring); it looks at grey pixels first."""

    name: ClassVar[Backend] = "hog"
    fast: ClassVar[bool] = True
    margin_scores: ClassVar[bool] = True

    def passes(self, effort: Effort, side: int, longest: int) -> list[Pass]:
        """The looks ``effort`` asks of HOG (see ``Effort``), cheapest first."""
        if effort == "tiny":
            return [Pass(side, 2, False)]
        looks = [Pass(side, 0, effort == "colour")]
        if effort == "near":
            looks.append(Pass(side, 1, False))
        if effort in ("full", "small"):
            if min(side, longest) < longest:
                # four times the pixels of the first pass, so as dear as upsampling it, but real
                # ones; an image under twice the search size is looked at whole
                looks.append(Pass(side * 2, 0, False))
            else:  # no finer pixels to look at: upsample
                looks.append(Pass(side, 1, False))
        return looks[1:] if effort == "small" else looks

    def find(self, image: np.ndarray, upsample: int) -> list[FaceBox]:
        """HOG's faces in ``image``, with their SVM scores (see ``Detector.find``)."""
        # HOG's first look is at grey: on colour it finds the same faces (all 83 dev photos, 600
        # sampled LFW images) in a third more time; the colour pass is a rescue step of its own
        rects, scores, _ = weights.hog_detector().run(image, upsample, 0.0)
        return [_box(rect, float(score)) for rect, score in zip(rects, scores, strict=True)]


@dataclass(frozen=True)
class CnnDetector:
    """dlib's CNN detector (see the module docstring); it looks at colour pixels."""

    name: ClassVar[Backend] = "cnn"
    fast: ClassVar[bool] = False
    margin_scores: ClassVar[bool] = False

    def passes(self, effort: Effort, side: int, longest: int) -> list[Pass]:
        """The looks ``effort`` asks of the CNN (see ``Effort``): none for HOG's own colour and
        small-face passes, upsampled only on a small image."""
        if effort == "tiny":
            return [Pass(side, 1, True)]
        if effort in ("colour", "small"):
            return []
        looks = [Pass(side, 0, True)]
        if effort == "full" and min(side, longest) <= _CNN_UPSAMPLE_SIDE:
            looks.append(Pass(side, 1, True))
        return looks

    def find(self, image: np.ndarray, upsample: int) -> list[FaceBox]:
        """The CNN's faces in ``image``, with their confidences (see ``Detector.find``)."""
        if str(settings.get("engine")).strip().lower() == "dlib":  # the reference: ~20× slower
            found = weights.cnn_detector()(image, upsample)
            return [_box(d.rect, float(d.confidence)) for d in found]
        session, network = weights.cnn_onnx()
        rgb = image if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
        return find_faces(session, rgb, upsample, network)


_NAMED: dict[str, Detector] = {"hog": HogDetector(), "cnn": CnnDetector()}


def detector_named(name: str) -> Detector:
    """The detector a backend name (``BACKENDS``) stands for. Raises ``ValueError`` for any
    other name."""
    try:
        return _NAMED[name]
    except (KeyError, TypeError):
        raise ValueError(f"detector must be one of {', '.join(BACKENDS)}, not {name!r}") from None


def _box(rect: object, score: float) -> FaceBox:
    # dlib rectangles are inclusive of their right and bottom pixels
    return FaceBox(
        float(rect.left()),  # type: ignore[attr-defined]
        float(rect.top()),  # type: ignore[attr-defined]
        float(rect.right() + 1),  # type: ignore[attr-defined]
        float(rect.bottom() + 1),  # type: ignore[attr-defined]
        score,
    )
