"""Detect: find faces with one detector (``impostor.engine.detectors``) on downscaled copies.

HOG time grows with the pixel count, so the search runs on a copy whose longer side is at most
``detect_side`` pixels and the boxes are mapped back. A pass is one detector on one copy; the
``Effort`` says which passes to make, each only while nothing is found (the HOG detector needs a
face of about 80 px: upsampling, or a copy twice the size, finds smaller ones at four times the
cost), and each detector says which of its passes an effort asks for. ``impostor.pipeline.finder``
orders the passes into its searches.
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np

from impostor import settings
from impostor.engine.detectors import EFFORTS, Backend, Detector, Effort, detector_named
from impostor.types import FaceBox, RGBImage

__all__ = [
    "DETECTORS",
    "EFFORTS",
    "MIN_DETECT_SIDE",
    "Detector",
    "DetectorChoice",
    "Effort",
    "detect_faces",
    "resize_longest",
]

# what a search may be asked to use: one backend, or "auto" (HOG, and the CNN only where HOG
# finds nothing)
DetectorChoice = Literal["auto", "hog", "cnn"]
DETECTORS: tuple[DetectorChoice, ...] = ("auto", "hog", "cnn")

# No copy narrower than this on either side is handed to a detector: dlib's CNN crashes the
# process on very thin images (a 32×3000 strip shrunk to 7×640 segfaulted or aborted), and
# neither detector finds a face in under 32 pixels anyway.
MIN_DETECT_SIDE = 32


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
    detector: Detector | Backend = "hog",
    detect_side: int | None = None,
    effort: Effort = "full",
) -> list[FaceBox]:
    """Every face in ``rgb``, largest first, as boxes in ``rgb``'s pixel frame.

    ``detector`` is a ``Detector`` or a backend's name (``"hog"``, ``"cnn"``: ``ValueError`` for
    another); ``detect_side`` bounds the longer side of the copy searched first (the ``detect_side``
    setting by default); ``effort`` says how many dearer passes follow an empty first one.
    Returns an empty list when there is no face.
    """
    found_by = detector_named(detector) if isinstance(detector, str) else detector
    side = int(detect_side if detect_side is not None else settings.get("detect_side"))
    copies = _Copies(rgb)
    for look in found_by.passes(effort, side, max(rgb.shape[:2])):
        image, image_scale = copies.get(look.side, look.colour)
        if min(image.shape[:2]) < MIN_DETECT_SIDE:
            continue
        boxes = found_by.find(image, look.upsample)
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

    def grey(self) -> np.ndarray:
        if self._grey is None:
            self._grey = cv2.cvtColor(self._rgb, cv2.COLOR_RGB2GRAY)
        return self._grey

    def get(self, side: int, colour: bool) -> tuple[np.ndarray, float]:
        key = (side, colour)
        if key not in self._made:
            self._made[key] = resize_longest(self._rgb if colour else self.grey(), side)
        return self._made[key]


def _clip(box: FaceBox, width: int, height: int) -> FaceBox:
    return FaceBox(
        float(np.clip(box.left, 0, width)),
        float(np.clip(box.top, 0, height)),
        float(np.clip(box.right, 0, width)),
        float(np.clip(box.bottom, 0, height)),
        box.score,
    )
