"""Align: five landmarks, then a similarity transform to the canonical 150 × 150 chip.

The chip geometry is the one dlib's ResNet was trained on (``get_face_chip_details`` with
size 150 and padding 0.25, 5-point template); we compute the least-squares similarity
transform ourselves and warp with OpenCV, shrinking large faces with area averaging first so
the chip is not aliased.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from impostor.engine import weights
from impostor.types import FaceBox, Landmarks, RGBImage

__all__ = ["CHIP_PADDING", "CHIP_SIZE", "align", "chip_transform", "find_landmarks"]

CHIP_SIZE = 150
CHIP_PADDING = 0.25

# dlib's mean 5-point face, as fractions of the unpadded chip (dlib/image_transforms/interpolation.h)
_TEMPLATE = np.array(
    [
        [0.8595674595992, 0.2134981538014],
        [0.6460604764104, 0.2289674387677],
        [0.1205750620789, 0.2137274526848],
        [0.3340850613712, 0.2290642403242],
        [0.4901123135679, 0.6277975316475],
    ]
)


def find_landmarks(rgb: RGBImage, box: FaceBox) -> Landmarks:
    """The five landmarks of the face in ``box``, in ``rgb``'s pixel frame."""
    import dlib

    rect = dlib.rectangle(
        int(round(box.left)), int(round(box.top)), int(round(box.right)) - 1, int(round(box.bottom)) - 1
    )
    shape = weights.shape_predictor()(rgb, rect)
    return Landmarks(tuple((float(p.x), float(p.y)) for p in shape.parts()))


def template_points(size: int = CHIP_SIZE, padding: float = CHIP_PADDING) -> NDArray[np.float64]:
    """The five landmark positions of an aligned chip ``size`` px wide with ``padding``: shape
    (5, 2), in pixels."""
    return (padding + _TEMPLATE) / (2 * padding + 1) * size


def chip_transform(
    landmarks: Landmarks, size: int = CHIP_SIZE, padding: float = CHIP_PADDING
) -> NDArray[np.float64]:
    """The 2 × 3 similarity matrix taking image pixels to chip pixels (least squares, Umeyama)."""
    src = landmarks.array()
    dst = template_points(size, padding)
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    covariance = dst_c.T @ src_c / len(src)
    u, singular, vt = np.linalg.svd(covariance)
    sign = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[-1] = -1.0
    rotation = u @ np.diag(sign) @ vt
    scale = float((singular * sign).sum() / (src_c**2).sum() * len(src))
    matrix = np.empty((2, 3))
    matrix[:, :2] = scale * rotation
    # dlib places the template in a frame half a pixel off OpenCV's pixel-centre convention;
    # without this shift the chips differ by ~5 grey levels and embeddings by ~0.08.
    matrix[:, 2] = dst_mean - matrix[:, :2] @ src_mean - 0.5
    return matrix


def align(
    rgb: RGBImage, landmarks: Landmarks, size: int = CHIP_SIZE, padding: float = CHIP_PADDING
) -> RGBImage:
    """The canonical chip, ``(size, size, 3)`` RGB uint8; outside the image is black, as in dlib."""
    matrix = chip_transform(landmarks, size, padding)
    scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
    if scale < 0.5:
        rgb, matrix = _shrink_region(rgb, matrix, size, scale)
    return cv2.warpAffine(
        rgb, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0
    )


def _shrink_region(
    rgb: RGBImage, matrix: NDArray[np.float64], size: int, scale: float
) -> tuple[RGBImage, NDArray[np.float64]]:
    """Crop around the chip's footprint and shrink it by area averaging, adjusting ``matrix``."""
    inverse = cv2.invertAffineTransform(matrix)
    corners = np.array([[0, 0, 1], [size, 0, 1], [0, size, 1], [size, size, 1]], dtype=np.float64)
    footprint = corners @ inverse.T
    height, width = rgb.shape[:2]
    x0 = int(max(0, np.floor(footprint[:, 0].min()) - 2))
    y0 = int(max(0, np.floor(footprint[:, 1].min()) - 2))
    x1 = int(min(width, np.ceil(footprint[:, 0].max()) + 2))
    y1 = int(min(height, np.ceil(footprint[:, 1].max()) + 2))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return rgb, matrix
    factor = min(1.0, scale * 1.5)
    crop = rgb[y0:y1, x0:x1]
    new_size = (max(1, round(crop.shape[1] * factor)), max(1, round(crop.shape[0] * factor)))
    small = cv2.resize(crop, new_size, interpolation=cv2.INTER_AREA)
    fx, fy = crop.shape[1] / new_size[0], crop.shape[0] / new_size[1]
    # a pixel q of the shrunken crop sits at ((q + 0.5) * f - 0.5 + origin) in the image
    to_image = np.array([[fx, 0.0, 0.5 * fx - 0.5 + x0], [0.0, fy, 0.5 * fy - 0.5 + y0], [0.0, 0.0, 1.0]])
    full = np.vstack([matrix, [0.0, 0.0, 1.0]])
    return small, (full @ to_image)[:2]
