"""A face as a person compares it: upright, cropped around the eyes, at one common scale.

The counter station shows the document's face and the traveller's side by side this way, and so
does practice: both faces with the same distance between the eyes (``EYES`` pixels) and the eyes
at the same height, so that an officer compares features, not photographs of different sizes.
"""

from __future__ import annotations

import cv2
import numpy as np

from impostor.pipeline.located import Located

__all__ = ["EYES", "PORTRAIT_SIZE", "portrait_jpeg"]

PORTRAIT_SIZE = (480, 600)  # width, height of the faces a page shows side by side
EYES = 150.0  # pixels between the eyes in a portrait: both sides at one scale
_EYE_LINE = 0.42  # the eyes' height, as a share of the portrait's


def portrait_jpeg(located: Located, quality: int = 90) -> bytes:
    """The face of ``located`` upright, cropped around the eyes at the common scale, as JPEG bytes
    (``PORTRAIT_SIZE``); what lies outside the image is grey. Without a face, the whole image
    fitted in: the officer sees what the station was given."""
    width, height = PORTRAIT_SIZE
    if located.landmarks is None:
        pixels = located.image.pixels
        scale = min(width / pixels.shape[1], height / pixels.shape[0])
        size = (max(1, round(pixels.shape[1] * scale)), max(1, round(pixels.shape[0] * scale)))
        fitted = cv2.resize(pixels, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
        face = np.full((height, width, 3), 128, np.uint8)
        top, left = (height - size[1]) // 2, (width - size[0]) // 2
        face[top : top + size[1], left : left + size[0]] = fitted
        return _jpeg(face, quality)
    (lx, ly), (rx, ry) = located.landmarks.left_eye, located.landmarks.right_eye
    distance = float(np.hypot(lx - rx, ly - ry)) or 1.0
    # the subject's right eye appears on the left of the image: level the line from it to the left eye
    angle = float(np.degrees(np.arctan2(ly - ry, lx - rx)))
    centre = ((lx + rx) / 2, (ly + ry) / 2)
    matrix = cv2.getRotationMatrix2D(centre, angle, EYES / distance)
    matrix[0, 2] += width / 2 - centre[0]
    matrix[1, 2] += height * _EYE_LINE - centre[1]
    face = cv2.warpAffine(
        located.image.pixels,
        matrix,
        PORTRAIT_SIZE,
        flags=cv2.INTER_AREA if distance > EYES else cv2.INTER_CUBIC,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(128, 128, 128),
    )
    return _jpeg(face, quality)


def _jpeg(rgb: np.ndarray, quality: int) -> bytes:
    ok, encoded = cv2.imencode(
        ".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality]
    )
    if not ok:  # OpenCV encodes any 8-bit RGB array; a failure here is a bug, not bad input
        raise RuntimeError("OpenCV could not encode a portrait as JPEG")
    return bytes(encoded)
