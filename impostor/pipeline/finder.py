"""The face finder: which detector looks at which copy of an image, in what order.

``FaceFinder`` holds the detectors (``impostor.engine.detectors``), chosen once, and runs the
search cascade: the image as it stands, its colour, turned a quarter, three quarters and half a
turn, the slower detector, then a worn document's rescue copies (``impostor.pipeline.rescue``)
and a small face. Each step runs only while nothing is found, so that the cost follows the
difficulty. ``detectors_for`` turns a detector choice (``"auto"``, ``"hog"``, ``"cnn"`` or a
``Detector``) into the finder's two detectors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from impostor import settings
from impostor.engine.detectors import Detector, Effort, detector_named
from impostor.pipeline import rescue
from impostor.pipeline.located import Located, enlarged, from_copy, located
from impostor.stages.detect import DETECTORS, detect_faces, resize_longest
from impostor.types import FaceBox, LoadedImage

__all__ = ["PICKS", "SEARCHES", "FaceFinder", "Pick", "Search", "detectors_for"]

Pick = Literal["largest", "central"]
PICKS: tuple[Pick, ...] = ("largest", "central")
# How hard to look for a face, each step only while nothing is found:
# - "upright": HOG on the image as it stands (a counter camera's frame), so that an empty frame
#   answers as fast as a face does;
# - "thorough": then HOG on the image turned a quarter, three quarters and half a turn, then the
#   CNN, both on a copy of half the search size (a live photo that is not a camera's frame is
#   filled by its face), so that an empty live photo costs at most about 1.5 comparisons
#   (bench/bench_pipeline.py);
# - "exhaustive": the turns and the CNN at the full search size, then HOG on a copy twice the
#   search size for a small face in a large image. A document's face is known to be there, so
#   the time to find it is well spent: this is how documents and data sets are searched.
Search = Literal["exhaustive", "thorough", "upright"]
SEARCHES: tuple[Search, ...] = ("exhaustive", "thorough", "upright")

_TURNS = ((90, cv2.ROTATE_90_CLOCKWISE), (270, cv2.ROTATE_90_COUNTERCLOCKWISE), (180, cv2.ROTATE_180))


def detectors_for(choice: str | Detector) -> tuple[Detector, Detector | None]:
    """The first detector and the one that looks where it finds nothing, for a choice:
    ``"auto"`` is HOG then the CNN, ``"hog"`` or ``"cnn"`` that one alone, and a ``Detector``
    itself alone. Raises ``ValueError`` for any other name or object."""
    if isinstance(choice, Detector):
        return choice, None
    if not isinstance(choice, str) or choice not in DETECTORS:
        raise ValueError(f"detector must be 'hog', 'cnn' or 'auto', not {choice!r}")
    if choice == "auto":
        return detector_named("hog"), detector_named("cnn")
    return detector_named(choice), None


@dataclass(frozen=True)
class FaceFinder:
    """Finds the faces of one image, the one to use first, as hard as a ``Search`` says.

    ``first`` looks first and ``fallback`` (if any) only where it finds nothing; a ``fast``
    first detector is also run on a worn document's rescue copies. ``pick`` says which face
    stands for an image holding several (``PICKS``); ``detect_side`` bounds the copy searched
    (None: the ``detect_side`` setting); ``min_face_score`` is the profile's floor for the
    scores of a detector with ``margin_scores``.
    """

    first: Detector
    fallback: Detector | None = None
    pick: Pick = "largest"
    detect_side: int | None = None
    min_face_score: float = 0.0

    def detect(
        self, pixels: np.ndarray, detector: Detector, effort: Effort, side: int | None = None
    ) -> list[FaceBox]:
        """The face to use first, then the other credible faces in view, in ``pixels``' frame.

        Weak HOG responses (clothing, compression blocks) are kept only when nothing better
        was found: they must neither be chosen over a real face nor count as a second person.
        """
        side = side if side is not None else self.detect_side
        boxes = detect_faces(pixels, detector=detector, detect_side=side, effort=effort)
        if self.pick == "central" and len(boxes) > 1:
            # data sets such as LFW crop around their subject, whatever else is in the frame
            cy, cx = pixels.shape[0] / 2, pixels.shape[1] / 2
            boxes.sort(key=lambda box: (box.center[0] - cx) ** 2 + (box.center[1] - cy) ** 2)
        floor = self.min_face_score if detector.margin_scores else 0.0
        credible = [box for box in boxes if box.score >= floor]
        if not credible:
            return boxes[:1]
        return credible

    def locate(self, image: LoadedImage, name: str, search: Search = "exhaustive") -> Located:
        """``image``'s faces found and the first aligned, as hard as ``search`` says
        (``SEARCHES``); a ``Located`` without boxes when there is none."""
        first = self.first
        if search == "upright":
            return located(name, image, self.detect(image.pixels, first, "near"), 0, first.name)
        # cheapest first; on LFW View 2 the first pass finds 99.2% of the faces and the CNN every
        # one of the rest; the colour pass finds washed-out faces that neither finds
        boxes = self.detect(image.pixels, first, "glance")
        if boxes:
            return located(name, image, boxes, 0, first.name)
        side = int(self.detect_side if self.detect_side is not None else settings.get("detect_side"))
        # the rescue passes look at colour copies made once: one of the search size for the colour
        # pass, and one for the turns and the CNN, of half that in a bounded search (a quarter of
        # the pixels); the image itself is turned only once a face is found
        search_copy, search_scale = resize_longest(image.pixels, side)
        boxes = self.detect(search_copy, first, "colour", max(search_copy.shape[:2]))
        if boxes:
            return located(name, image, enlarged(boxes, search_scale, image.pixels), 0, first.name)
        small, scale = search_copy, search_scale
        if search != "exhaustive":
            small, shrink = resize_longest(search_copy, side // 2)
            scale *= shrink
        found = self._turned(name, image, small, scale) or self._deeper(name, image, small, scale, search)
        if found is not None:
            return found
        if first.fast and search == "exhaustive":
            rescued = self._rescued(name, image, search_copy, search_scale)
            if rescued is not None:
                return rescued
            boxes = self.detect(image.pixels, first, "small")
            if boxes:
                return located(name, image, boxes, 0, first.name)
        return located(name, image, [])

    def _turned(self, name: str, image: LoadedImage, small: np.ndarray, scale: float) -> Located | None:
        """A face found on ``small`` (``image`` shrunk by ``scale``) turned a quarter, three
        quarters or half a turn; the image is turned the same way."""
        small_side = max(small.shape[:2])  # searched as it is
        for degrees, turn in _TURNS:
            boxes = self.detect(
                np.ascontiguousarray(cv2.rotate(small, turn)), self.first, "glance", small_side
            )
            if boxes:
                turned = np.ascontiguousarray(cv2.rotate(image.pixels, turn))
                upright = LoadedImage(turned, image.info)
                return located(name, upright, enlarged(boxes, scale, turned), degrees, self.first.name)
        return None

    def _deeper(
        self, name: str, image: LoadedImage, small: np.ndarray, scale: float, search: Search
    ) -> Located | None:
        """A face found on ``small`` by the slower detector: the fallback, or the first itself
        when it is the slow one (it looks again, upsampled on a small image)."""
        deep = self.fallback if self.fallback is not None else (None if self.first.fast else self.first)
        if deep is None:
            return None
        effort: Effort = "full" if search == "exhaustive" else "glance"  # upsampled when small
        boxes = self.detect(small, deep, effort, max(small.shape[:2]))
        if boxes:
            return located(name, image, enlarged(boxes, scale, image.pixels), 0, deep.name)
        return None

    def _rescued(self, name: str, image: LoadedImage, copy: np.ndarray, scale: float) -> Located | None:
        """A worn document's face, found on a copy made to show it (the ``rescue`` setting):
        contrast restored, or turned a little (a portrait tilted on the scanner). The face is
        found and its landmarks placed on the copy; the chip is cut from the original image."""
        steps = rescue.rescue_steps()
        if "restored" in steps:
            detectors = [self.first] if self.fallback is None else [self.first, self.fallback]
            for restored, zoom in rescue.restored(copy):
                for detector in detectors:
                    boxes = self.detect(restored, detector, "glance", max(restored.shape[:2]))
                    if boxes:
                        return from_copy(name, image, restored, boxes, zoom, scale, detector.name)
        if "tilted" in steps:
            for tilted, matrix in rescue.tilted(copy):
                boxes = self.detect(tilted, self.first, "glance", max(tilted.shape[:2]))
                if boxes:
                    return from_copy(name, image, tilted, boxes, matrix, scale, self.first.name)
        return None
