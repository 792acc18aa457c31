"""Detect: find faces with dlib's HOG detector (or its CNN detector) on a downscaled copy.

HOG time grows with the pixel count, so the search runs on a copy whose longer side is at most
``detect_side`` pixels and the boxes are mapped back. A pass is one detector on one copy; the
``Effort`` says which passes to make, each only while nothing is found (the HOG detector needs a
face of about 80 px: upsampling, or a copy twice the size, finds smaller ones at four times the
cost). ``impostor.pipeline.verifier`` orders the passes into its searches. The CNN runs in ONNX Runtime
(``impostor.engine.mmod_onnx``), or in dlib itself when the ``engine`` setting says ``dlib``.
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np

from impostor import settings
from impostor.engine import weights
from impostor.engine.mmod_onnx import find_faces
from impostor.types import FaceBox, RGBImage

__all__ = ["DETECTORS", "EFFORTS", "MIN_DETECT_SIDE", "Detector", "Effort", "detect_faces", "resize_longest"]

Detector = Literal["hog", "cnn", "auto"]  # auto: HOG, and the CNN only where HOG finds nothing
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
DETECTORS: tuple[Detector, ...] = ("auto", "hog", "cnn")

# No copy narrower than this on either side is handed to a detector: dlib's CNN crashes the
# process on very thin images (a 32×3000 strip shrunk to 7×640 segfaulted or aborted), and
# neither detector finds a face in under 32 pixels anyway.
MIN_DETECT_SIDE = 32
# The CNN looks again at twice the size only on small images (LFW's 250 px crops, where it found
# every face HOG missed): on a 640 px copy that second look takes ten seconds and two gigabytes.
_CNN_UPSAMPLE_SIDE = 320


def resize_longest(rgb: RGBImage, side: int) -> tuple[RGBImage, float]:
    """A copy whose longer side is at most ``side`` (never enlarged), and the scale used."""
    height, width = rgb.shape[:2]
    scale = min(1.0, side / max(height, width))
    if scale >= 1.0:
        return rgb, 1.0
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), scale


def detect_faces(
    rgb: RGBImage,
    *,
    detector: Literal["hog", "cnn"] = "hog",
    detect_side: int | None = None,
    effort: Effort = "full",
) -> list[FaceBox]:
    """Every face in ``rgb``, largest first, as boxes in ``rgb``'s pixel frame.

    ``detect_side`` bounds the longer side of the copy searched first (the ``detect_side``
    setting by default); ``effort`` says how many dearer passes follow an empty first one.
    Returns an empty list when there is no face.
    """
    side = int(detect_side if detect_side is not None else settings.get("detect_side"))
    copies = _Copies(rgb)
    # (longer side of the copy, upsampling, colour): cheap first, dearer only while nothing is found
    if effort == "colour":
        attempts: list[tuple[int, int, bool]] = [(side, 0, True)] if detector == "hog" else []
    else:
        attempts = [(side, 0, detector == "cnn")]
    if effort == "near" and detector == "hog":
        attempts.append((side, 1, False))
    if effort in ("full", "small") and detector == "hog":
        if copies.longest(side) < max(rgb.shape[:2]):
            # four times the pixels of the first pass, so as dear as upsampling it, but real
            # ones; an image under twice the search size is looked at whole
            attempts.append((side * 2, 0, False))
        else:  # no finer pixels to look at: upsample
            attempts.append((side, 1, False))
    if effort == "full" and detector == "cnn" and copies.longest(side) <= _CNN_UPSAMPLE_SIDE:
        attempts.append((side, 1, True))
    if effort == "small":
        attempts = attempts[1:]
    if effort == "tiny":
        attempts = [(side, 2, False)] if detector == "hog" else [(side, 1, True)]
    for copy_side, upsample, colour in attempts:
        image, image_scale = copies.get(copy_side, colour)
        if min(image.shape[:2]) < MIN_DETECT_SIDE:
            continue
        boxes = _run(image, detector, upsample)
        if boxes:
            height, width = rgb.shape[:2]
            mapped = [_clip(box.scaled(1.0 / image_scale), width, height) for box in boxes]
            return sorted(mapped, key=lambda box: box.area, reverse=True)
    return []


class _Copies:
    """The downscaled copies the passes look at, each made once. A grey copy is shrunk from a
    grey image: a third of the pixels to resample, the same picture within a grey level."""

    def __init__(self, rgb: RGBImage) -> None:
        self._rgb = rgb
        self._grey: np.ndarray | None = None
        self._made: dict[tuple[int, bool], tuple[np.ndarray, float]] = {}

    def longest(self, side: int) -> int:
        return min(side, max(self._rgb.shape[:2]))

    def grey(self) -> np.ndarray:
        if self._grey is None:
            self._grey = cv2.cvtColor(self._rgb, cv2.COLOR_RGB2GRAY)
        return self._grey

    def get(self, side: int, colour: bool) -> tuple[np.ndarray, float]:
        key = (side, colour)
        if key not in self._made:
            self._made[key] = resize_longest(self._rgb if colour else self.grey(), side)
        return self._made[key]


def _run(image: np.ndarray, detector: Literal["hog", "cnn"], upsample: int) -> list[FaceBox]:
    if detector == "cnn":
        if str(settings.get("engine")).strip().lower() == "dlib":  # the reference: ~20× slower
            found = weights.cnn_detector()(image, upsample)
            return [_box(d.rect, float(d.confidence)) for d in found]
        session, network = weights.cnn_onnx()
        rgb = image if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
        return find_faces(session, rgb, upsample, network)
    # HOG's first look is at grey: on colour it finds the same faces (all 83 dev photos, 600
    # sampled LFW images) in a third more time; the colour pass is a rescue step of its own
    rects, scores, _ = weights.hog_detector().run(image, upsample, 0.0)
    return [_box(rect, float(score)) for rect, score in zip(rects, scores, strict=True)]


def _box(rect: object, score: float) -> FaceBox:
    # dlib rectangles are inclusive of their right and bottom pixels
    return FaceBox(
        float(rect.left()),  # type: ignore[attr-defined]
        float(rect.top()),  # type: ignore[attr-defined]
        float(rect.right() + 1),  # type: ignore[attr-defined]
        float(rect.bottom() + 1),  # type: ignore[attr-defined]
        score,
    )


def _clip(box: FaceBox, width: int, height: int) -> FaceBox:
    return FaceBox(
        float(np.clip(box.left, 0, width)),
        float(np.clip(box.top, 0, height)),
        float(np.clip(box.right, 0, width)),
        float(np.clip(box.bottom, 0, height)),
        box.score,
    )
