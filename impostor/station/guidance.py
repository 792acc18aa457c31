"""What the officers' page shows of a face: the one instruction for a camera frame, and each
side's face cropped at one common scale.

An instruction comes from the live gates of the frame's face (``Verifier.check_frame``): the
first failure in the order an officer would fix them (one person, then position, then pose,
then light, then steadiness). Every live measure maps to an instruction; a test holds that.
"""

from __future__ import annotations

from dataclasses import dataclass

from impostor.pipeline.verifier import FrameCheck

__all__ = ["INSTRUCTIONS", "Guidance", "guide"]

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
    "corruption": "hold_still",  # a frame damaged in transit: the next one is taken
    # a printed or on-screen face fails these; the traveller's own face is what must be shown
    "palette": "face_camera",
    "colour": "face_camera",
}
_TOO_NEAR = 0.85  # a face box taller than this share of the frame is cut off at the top or chin


@dataclass(frozen=True)
class Guidance:
    """One frame's instruction (``INSTRUCTIONS``), the face box as fractions of the frame
    (x, y, width, height; None without a face), and whether every live gate passed."""

    instruction: str
    box: tuple[float, float, float, float] | None
    passed: bool

    def to_dict(self) -> dict[str, object]:
        """The instruction as the page receives it (JSON)."""
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
