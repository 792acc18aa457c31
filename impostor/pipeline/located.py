"""A side after detection and alignment, before embedding; and faces carried back from copies.

``Located`` is what the face finder (``impostor.pipeline.finder``) gives for one image: its
credible faces, the first one's landmarks and aligned chip. A face found on a copy (shrunk,
turned, restored) is carried back to the original here, whose pixels the chip is cut from.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from impostor.engine.detectors import Backend
from impostor.stages.align import align, find_landmarks
from impostor.types import Face, FaceBox, Landmarks, LoadedImage, QualityReport, RGBImage, Side

__all__ = ["Located", "enlarged", "from_copy", "located"]


@dataclass(frozen=True, eq=False)
class Located:
    """A side after detection and alignment, before embedding (made by ``Verifier.locate``).

    ``boxes`` are every credible face, the one to use first; ``landmarks`` and ``chip`` are the
    first face's (None without a face); ``rotated`` the degrees the image was turned for a face
    to be found; ``detector`` the name of the detector that found them; ``quality`` the first
    face's gates when they were already assessed (a camera frame chosen for passing them).
    """

    name: str
    image: LoadedImage
    boxes: tuple[FaceBox, ...]
    rotated: int
    detector: Backend | None
    landmarks: Landmarks | None
    chip: RGBImage | None
    quality: QualityReport | None = None

    def side(self, embedding: np.ndarray | None, quality: QualityReport | None = None) -> Side:
        """This side with its first face's ``embedding`` (None: not embedded, or no face) and
        ``quality`` (kept only with a face)."""
        face = None
        if self.boxes and self.landmarks is not None and self.chip is not None and embedding is not None:
            face = Face(self.boxes[0], self.landmarks, self.chip, embedding)
        return Side(
            name=self.name,
            image=self.image,
            face=face,
            faces_found=len(self.boxes),
            rotated_degrees=self.rotated,
            face_widths=tuple(box.width for box in self.boxes),
            detector=self.detector,
            quality=quality if face is not None else None,
        )


def located(
    name: str,
    image: LoadedImage,
    boxes: list[FaceBox],
    rotated: int = 0,
    detector: Backend | None = None,
    quality: QualityReport | None = None,
) -> Located:
    """``image`` with ``boxes`` (in its pixel frame, the one to use first), the first face's
    landmarks placed and its chip aligned; no face, landmarks or detector without boxes."""
    landmarks = find_landmarks(image.pixels, boxes[0]) if boxes else None
    chip = align(image.pixels, landmarks) if landmarks is not None else None
    return Located(name, image, tuple(boxes), rotated, detector if boxes else None, landmarks, chip, quality)


def enlarged(boxes: list[FaceBox], scale: float, pixels: np.ndarray) -> list[FaceBox]:
    """Boxes found on a copy shrunk by ``scale``, in ``pixels``' frame (and within it)."""
    height, width = pixels.shape[:2]
    return [
        FaceBox(
            max(0.0, b.left),
            max(0.0, b.top),
            min(float(width), b.right),
            min(float(height), b.bottom),
            b.score,
        )
        for b in (box.scaled(1.0 / scale) for box in boxes)
    ]


def from_copy(
    name: str,
    image: LoadedImage,
    copy: np.ndarray,
    boxes: list[FaceBox],
    matrix: np.ndarray,
    scale: float,
    detector: Backend,
) -> Located:
    """A face found on ``copy`` (``image`` shrunk by ``scale``, then moved by the affine
    ``matrix``): its landmarks are placed on the copy, then it is carried back to the original,
    whose pixels the chip is cut from."""
    back = cv2.invertAffineTransform(matrix)

    def original(points: np.ndarray) -> np.ndarray:
        on_shrunk = points @ back[:, :2].T + back[:, 2]
        return (on_shrunk + 0.5) / scale - 0.5  # pixel centres, as the shrinking placed them

    landmarks = Landmarks(
        tuple((float(x), float(y)) for x, y in original(find_landmarks(copy, boxes[0]).array()))
    )
    height, width = image.pixels.shape[:2]
    carried = []
    for box in boxes:
        corners = original(
            np.array(
                [[box.left, box.top], [box.right, box.top], [box.left, box.bottom], [box.right, box.bottom]]
            )
        )
        low, high = corners.min(axis=0), corners.max(axis=0)
        carried.append(
            FaceBox(
                max(0.0, float(low[0])),
                max(0.0, float(low[1])),
                min(float(width), float(high[0])),
                min(float(height), float(high[1])),
                box.score,
            )
        )
    chip = align(image.pixels, landmarks)
    return Located(name, image, tuple(carried), 0, detector, landmarks, chip)
