"""Quality measures of a located face, used to pick the best camera frame.

Values are native (pixels, degrees, Laplacian variance); limits belong in the profile.
"""

from __future__ import annotations

import cv2
import numpy as np

from impostor.types import FaceBox, Landmarks, RGBImage

__all__ = ["frame_score", "sharpness", "yaw_degrees"]

_SHARPNESS_WIDTH = 128  # faces are resampled to this width so sharpness compares across sizes


def sharpness(rgb: RGBImage, box: FaceBox) -> float:
    """Variance of the Laplacian over the face, at a fixed face width (higher is sharper)."""
    height, width = rgb.shape[:2]
    x0, y0 = max(0, int(box.left)), max(0, int(box.top))
    x1, y1 = min(width, int(box.right)), min(height, int(box.bottom))
    if x1 - x0 < 8 or y1 - y0 < 8:
        return 0.0
    grey = cv2.cvtColor(rgb[y0:y1, x0:x1], cv2.COLOR_RGB2GRAY)
    factor = _SHARPNESS_WIDTH / grey.shape[1]
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
    return float(np.degrees(np.arcsin(np.clip(offset / (0.9 * distance), -1.0, 1.0))))


def frame_score(rgb: RGBImage, box: FaceBox, landmarks: Landmarks) -> float:
    """How good a camera frame is for comparison: larger, sharper and more frontal is better."""
    size = np.log1p(landmarks.inter_eye_distance)
    sharp = np.log1p(sharpness(rgb, box))
    turn = abs(yaw_degrees(landmarks)) / 15.0
    return float(size + sharp - turn)
