"""What the officers' page shows of a face: the one instruction for a camera frame, and each
side's face cropped at one common scale.

An instruction comes from the live gates of the frame's face (``Verifier.check_frame``): the
first failure in the order an officer would fix them (one person, then position, then pose,
then light, then steadiness). Every live measure maps to an instruction; a test holds that.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from impostor.pipeline import FrameCheck, Located

__all__ = ["INSTRUCTIONS", "PORTRAIT_SIZE", "Guidance", "guide", "portrait_jpeg"]

# in the order they are given: the first that applies is the one shown
INSTRUCTIONS = (
    "face_camera",  # no face seen
    "one_person",
    "move_back",
    "centre",
    "come_closer",
    "look_at_camera",
    "more_light",
    "less_light",
    "hold_still",
    "ready",  # every gate passed
)
BY_MEASURE = {
    "single_face": "one_person",
    "border_margin": "centre",
    "inter_eye_distance": "come_closer",
    "head_size": "come_closer",
    "yaw": "look_at_camera",
    "pitch": "look_at_camera",
    "roll": "look_at_camera",
    "underexposure": "more_light",
    "luminance_mean": "more_light",
    "dynamic_range": "more_light",
    "illumination_uniformity": "more_light",
    "overexposure": "less_light",
    "sharpness": "hold_still",
    "compression": "hold_still",
    # a printed or on-screen face fails these; the traveller's own face is what must be shown
    "palette": "face_camera",
    "colour": "face_camera",
}
_TOO_NEAR = 0.85  # a face box taller than this share of the frame is cut off at the top or chin

PORTRAIT_SIZE = (480, 600)  # width, height of the faces the page shows side by side
_EYES = 150.0  # pixels between the eyes in a portrait: both sides at one scale
_EYE_LINE = 0.42  # the eyes' height, as a share of the portrait's


@dataclass(frozen=True)
class Guidance:
    """One frame's instruction (``INSTRUCTIONS``), the face box as fractions of the frame
    (x, y, width, height; None without a face), and whether every live gate passed."""

    instruction: str
    box: tuple[float, float, float, float] | None
    passed: bool

    def to_dict(self) -> dict[str, object]:
        box = None
        if self.box is not None:
            box = dict(zip(("x", "y", "w", "h"), (round(value, 4) for value in self.box), strict=True))
        return {"instruction": self.instruction, "box": box, "passed": self.passed}


def guide(check: FrameCheck) -> Guidance:
    """The instruction for one checked frame."""
    if not check.boxes or check.quality is None:
        return Guidance("face_camera", None, False)
    height, width = check.image.shape
    face = check.boxes[0]
    box = (face.left / width, face.top / height, face.width / width, face.height / height)
    if check.quality.passed:
        return Guidance("ready", box, True)
    wanted = {BY_MEASURE.get(measure.name, "face_camera") for measure in check.quality.failures}
    if face.height / height > _TOO_NEAR:
        wanted.add("move_back")
    return Guidance(next(step for step in INSTRUCTIONS if step in wanted), box, False)


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
    matrix = cv2.getRotationMatrix2D(centre, angle, _EYES / distance)
    matrix[0, 2] += width / 2 - centre[0]
    matrix[1, 2] += height * _EYE_LINE - centre[1]
    face = cv2.warpAffine(
        located.image.pixels,
        matrix,
        PORTRAIT_SIZE,
        flags=cv2.INTER_AREA if distance > _EYES else cv2.INTER_CUBIC,
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
