"""The plain measures of a face's quality: functions of pixels, boxes and landmarks.

Each returns its native value (pixels, degrees, grey levels, shares); what counts as good
enough, and the 0-100 score of each, is the quality stage's table (``impostor.stages.quality``),
which re-exports these names. Luminance is BT.601 luma (``cv2.COLOR_RGB2GRAY``), 0-255. "Left"
and "right" halves of the face are as seen in the image. The pose angles are rough estimates
from five landmarks, not a fitted 3-D head model: good enough to tell a frontal face from a
turned one, not to certify ±5°.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from numpy.typing import NDArray

from impostor.types import FaceBox, Landmarks, RGBImage

__all__ = [
    "MEASURE_WIDTH",
    "blockiness",
    "border_margin",
    "clipped",
    "colour_spread",
    "dynamic_range",
    "exposure_shares",
    "face_count",
    "frame_score",
    "head_size",
    "illumination_uniformity",
    "luminance_mean",
    "pitch_degrees",
    "roll_degrees",
    "sharpness",
    "yaw_degrees",
]


MEASURE_WIDTH = 128  # faces are resampled to this width so sharpness compares across sizes

_DARK, _BRIGHT = 25, 230  # luma at or below / at or above which a pixel is under / over exposed

_NOSE_DEPTH = 0.9  # nose base in front of the eye plane, in inter-eye distances (as yaw_degrees)

_FRONTAL_NOSE_DROP = 0.75  # nose base below the eye line in a frontal face, in inter-eye distances


def clipped(rgb: RGBImage, box: FaceBox) -> tuple[int, int, int, int]:
    """The face box's pixel edges ``(x0, y0, x1, y1)``, clipped to the image (may be empty)."""
    height, width = rgb.shape[:2]
    x0, y0 = max(0, int(box.left)), max(0, int(box.top))
    return x0, y0, min(width, int(box.right)), min(height, int(box.bottom))


def _face_luma(rgb: RGBImage, box: FaceBox) -> NDArray[np.uint8]:
    x0, y0, x1, y1 = clipped(rgb, box)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return np.zeros((0, 0), dtype=np.uint8)
    return np.asarray(cv2.cvtColor(np.ascontiguousarray(rgb[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY))


def sharpness(rgb: RGBImage, box: FaceBox) -> float:
    """Variance of the Laplacian over the face, at a fixed face width (higher is sharper)."""
    x0, y0, x1, y1 = clipped(rgb, box)
    if x1 - x0 < 8 or y1 - y0 < 8:
        return 0.0
    grey = cv2.cvtColor(rgb[y0:y1, x0:x1], cv2.COLOR_RGB2GRAY)
    factor = MEASURE_WIDTH / grey.shape[1]
    grey = cv2.resize(
        grey, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
    )
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def yaw_degrees(landmarks: Landmarks) -> float:
    """Rough head yaw from how far the nose sits off the eyes' midline (0 is frontal).

    The nose base lies about 0.9 inter-eye distances in front of the eye plane; its sideways
    shift over that depth gives the angle. Signed: positive when the nose points to image right.
    """
    (lx, ly), (rx, ry) = landmarks.left_eye, landmarks.right_eye
    nose_x, nose_y = landmarks.points[4]
    eye_vector = np.array([lx - rx, ly - ry])
    distance = float(np.hypot(*eye_vector))
    if distance == 0:
        return 90.0
    axis = eye_vector / distance
    offset = float(np.dot(np.array([nose_x - (lx + rx) / 2, nose_y - (ly + ry) / 2]), axis))
    return float(np.degrees(np.arcsin(np.clip(offset / (_NOSE_DEPTH * distance), -1.0, 1.0))))


def roll_degrees(landmarks: Landmarks) -> float:
    """In-plane head tilt: the eye line's angle to the horizontal, degrees (0 is level).

    Signed: positive when the subject's left eye (image right) sits lower than the right eye.
    """
    (lx, ly), (rx, ry) = landmarks.left_eye, landmarks.right_eye
    return float(np.degrees(np.arctan2(ly - ry, lx - rx)))


def pitch_degrees(landmarks: Landmarks) -> float:
    """A rough head pitch (nod) from how far the nose base sits below the eye line, degrees.

    In a frontal face the nose base lies ~0.75 inter-eye distances below the eye line and
    ~0.9 in front of it; tipping the head by θ moves its projection to
    ``0.75·cos θ + 0.9·sin θ``, which we invert. Positive when the head tips down (chin in).
    Rough: it ignores face-to-face variation in nose length (several degrees) and yaw.
    """
    (lx, ly), (rx, ry) = landmarks.left_eye, landmarks.right_eye
    nose_x, nose_y = landmarks.points[4]
    distance = math.hypot(lx - rx, ly - ry)
    if distance == 0:
        return 90.0
    # unit normal to the eye line, pointing down the face
    normal = np.array([-(ly - ry), lx - rx]) / distance
    drop = float(np.dot(np.array([nose_x - (lx + rx) / 2, nose_y - (ly + ry) / 2]), normal)) / distance
    reach = math.hypot(_FRONTAL_NOSE_DROP, _NOSE_DEPTH)
    phase = math.atan2(_FRONTAL_NOSE_DROP, _NOSE_DEPTH)
    return math.degrees(math.asin(max(-1.0, min(1.0, drop / reach))) - phase)


def head_size(image_shape: tuple[int, int], box: FaceBox) -> float:
    """Face box height over image height (0-1; dlib's box runs from brows to chin)."""
    return float(box.height / image_shape[0]) if image_shape[0] else 0.0


def border_margin(image_shape: tuple[int, int], box: FaceBox) -> float:
    """Smallest gap between the face box and an image edge, in face widths (0: touches it)."""
    height, width = image_shape
    gaps = (box.left, box.top, width - box.right, height - box.bottom)
    return float(max(0.0, min(gaps)) / box.width) if box.width > 0 else 0.0


def exposure_shares(rgb: RGBImage, box: FaceBox) -> tuple[float, float]:
    """Shares (0-1) of face pixels whose luma is at most 25 (under) and at least 230 (over)."""
    luma = _face_luma(rgb, box)
    if luma.size == 0:
        return 1.0, 0.0
    return float(np.mean(luma <= _DARK)), float(np.mean(luma >= _BRIGHT))


def luminance_mean(rgb: RGBImage, box: FaceBox) -> float:
    """Mean luma of the face, 0-255."""
    luma = _face_luma(rgb, box)
    return float(luma.mean()) if luma.size else 0.0


def dynamic_range(rgb: RGBImage, box: FaceBox) -> float:
    """Spread between the 5th and 95th percentiles of face luma, grey levels (0-255)."""
    luma = _face_luma(rgb, box)
    if luma.size == 0:
        return 0.0
    low, high = _percentiles(luma, (5.0, 95.0))
    return high - low


def _percentiles(levels: NDArray[np.uint8], percents: tuple[float, ...]) -> list[float]:
    """``np.percentile``'s linear interpolation, read off a 256-bin histogram: the same values
    without sorting the face's pixels."""
    rank_ends = np.cumsum(np.bincount(levels.ravel(), minlength=256))
    values = []
    for percent in percents:
        position = percent / 100.0 * (levels.size - 1)
        below = int(np.floor(position))
        # the k-th smallest level is the first whose cumulative count exceeds k
        low, high = np.searchsorted(rank_ends, [below, min(below + 1, levels.size - 1)], side="right")
        values.append(float(low + (position - below) * (high - low)))
    return values


def illumination_uniformity(rgb: RGBImage, box: FaceBox, landmarks: Landmarks) -> float:
    """Mean luma of the darker half of the face over the brighter half (0-1; 1 is even).

    The face is split at the eyes' midpoint rather than the box centre, so a slightly turned
    head is not mistaken for side light.
    """
    luma = _face_luma(rgb, box)
    x0 = max(0, int(box.left))
    split = int(round((landmarks.left_eye[0] + landmarks.right_eye[0]) / 2)) - x0
    if luma.size == 0 or not 1 <= split < luma.shape[1] - 1:
        return 0.0
    left, right = float(luma[:, :split].mean()), float(luma[:, split:].mean())
    brighter = max(left, right)
    return min(left, right) / brighter if brighter > 0 else 1.0


def face_count(boxes: list[FaceBox], credible_ratio: float) -> int:
    """Faces at least ``credible_ratio`` times as wide as the widest (smaller ones are bystanders)."""
    if not boxes:
        return 0
    widest = max(box.width for box in boxes)
    return sum(1 for box in boxes if box.width >= credible_ratio * widest)


def blockiness(rgb: RGBImage, box: FaceBox, block: int = 8) -> float:
    """JPEG blocking over the face: mean luma step across ``block``-grid lines over elsewhere.

    Around 1 for an uncompressed or lightly compressed face; heavy JPEG compression makes the
    8×8 block edges visible and the ratio grows. The grid is the image's own (origin at 0, 0);
    pass ``block = 8 // decode_scale`` for a JPEG decoded at reduced scale.
    """
    x0, y0, x1, y1 = clipped(rgb, box)
    if block < 2 or x1 - x0 < 4 * block or y1 - y0 < 4 * block:
        return 1.0
    luma = cv2.cvtColor(np.ascontiguousarray(rgb[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY).astype(np.float64)
    ratios = []
    for steps, origin in ((np.abs(np.diff(luma, axis=1)), x0), (np.abs(np.diff(luma, axis=0)).T, y0)):
        # step k lies between pixels origin+k and origin+k+1: a block edge when origin+k+1 ≡ 0
        on_edge = (origin + np.arange(steps.shape[1]) + 1) % block == 0
        inside = float(steps[:, ~on_edge].mean())
        ratios.append(float(steps[:, on_edge].mean()) / inside if inside > 0 else 1.0)
    return float(np.mean(ratios))


def colour_spread(rgb: RGBImage, box: FaceBox) -> float:
    """Mean absolute difference between colour channels over the face, grey levels (0: grey)."""
    x0, y0, x1, y1 = clipped(rgb, box)
    face = rgb[y0:y1, x0:x1]
    if face.size == 0:
        return 0.0
    r, g, b = cv2.split(np.ascontiguousarray(face))
    return sum(float(cv2.mean(cv2.absdiff(one, other))[0]) for one, other in ((r, g), (g, b), (r, b))) / 3


def frame_score(rgb: RGBImage, box: FaceBox, landmarks: Landmarks) -> float:
    """How good a camera frame is for comparison: larger, sharper and more frontal is better."""
    size = np.log1p(landmarks.inter_eye_distance)
    sharp = np.log1p(sharpness(rgb, box))
    turn = abs(yaw_degrees(landmarks)) / 15.0
    return float(size + sharp - turn)
