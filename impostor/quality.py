"""Quality of a located face, after ISO/IEC 29794-5 (BSI OFIQ is its reference implementation).

Every measure is reported twice: its native value (pixels, degrees, grey levels, shares) and a
0-100 score where higher is better. Scores come from fixed logistic curves (``_SCORE_CURVES``) so
that they compare across profiles; whether a face *passes* is decided by limits, which live in
the profile (``Profile.limits``). ``DEFAULT_LIMITS`` fills in any limit a profile does not set.

Luminance is BT.601 luma (``cv2.COLOR_RGB2GRAY``), 0-255. "Left" and "right" halves of the face
are as seen in the image. The pose angles are rough estimates from five landmarks, not a fitted
3-D head model: good enough to tell a frontal face from a turned one, not to certify ±5°.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np
from numpy.typing import NDArray

from impostor.types import FaceBox, Landmarks, LoadedImage, RGBImage

__all__ = [
    "DEFAULT_LIMITS",
    "Measure",
    "QualityReport",
    "assess",
    "blockiness",
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
    "score",
    "sharpness",
    "border_margin",
    "unified_score",
    "yaw_degrees",
]

QualitySide = Literal["document", "live"]

_SHARPNESS_WIDTH = 128  # faces are resampled to this width so sharpness compares across sizes
_DARK, _BRIGHT = 25, 230  # luma at or below / at or above which a pixel is under / over exposed
_NOSE_DEPTH = 0.9  # nose base in front of the eye plane, in inter-eye distances (as yaw_degrees)
_FRONTAL_NOSE_DROP = 0.75  # nose base below the eye line in a frontal face, in inter-eye distances

# Default limits. A profile's ``limits`` override any of these by name; a name prefixed with
# ``document_`` or ``live_`` applies to that side only and wins over the unprefixed one.
DEFAULT_LIMITS: dict[str, float] = {
    # ICAO 9303 / ISO/IEC 39794-5: 90 px between the eyes for a full-frontal portrait, 60 px
    # the minimum for a token image; the chip the embedder reads puts the eyes ~50 px apart,
    # so a live face under that is enlarged into it and loses detail.
    "document_min_inter_eye_px": 60.0,
    "live_min_inter_eye_px": 50.0,
    # Smallest gap between the face box and the image edge, in face widths; 0 means the face
    # touches the border and is probably cut off.
    "min_border_margin": 0.02,
    # Laplacian variance at a 128-px face width. 44 faces-dev photos measured 79-1970
    # (median 440); a 1137-px Obama portrait blurred with sigma 3 falls to 30.
    "min_sharpness": 40.0,
    # Shares of face pixels at luma <= 25 or >= 230 (OFIQ's under/over-exposure idea).
    # faces-dev measured 0-0.27 under (dark hair inside the box) and 0-0.12 over; a face
    # brightened 2.5× measured 0.85 over.
    "max_underexposed_share": 0.35,
    "max_overexposed_share": 0.25,
    # Mean face luma; faces-dev measured 87-185, a face at 0.3× brightness 43.
    "min_luminance_mean": 60.0,
    # 5th-95th percentile spread of face luma in grey levels; faces-dev measured 116-216.
    "min_dynamic_range": 50.0,
    # Darker / brighter half of the face, mean luma; 1 is even. faces-dev measured 0.52-0.99.
    "min_illumination_uniformity": 0.45,
    # Pose, degrees. ISO/IEC 39794-5 asks ±5° (±8° roll) of a document portrait; the embedder
    # copes with far more, and these estimates are rough, so the limits are where comparison
    # starts to suffer rather than the standard's. faces-dev measured |yaw| <= 10, |pitch| <= 9,
    # |roll| <= 16.
    "max_yaw_degrees": 25.0,
    "max_pitch_degrees": 25.0,
    "max_roll_degrees": 20.0,
    # Faces at least this fraction of the largest face's width count as present.
    "credible_face_ratio": 0.35,
    "max_faces": 1.0,
    # A data page carries a second, smaller "ghost" portrait by design: the document side
    # compares its largest face and is never refused for showing two.
    "document_max_faces": 99.0,
    # 8×8 block-boundary gradient over interior gradient; 1 is none. faces-dev JPEGs measured
    # 0.97-1.66; the Obama portrait re-saved at JPEG quality 95 1.16, at quality 5 4.8.
    "max_blockiness": 2.0,
    # Mean difference between colour channels over the face, grey levels; 0 for a grey image,
    # faces-dev colour photos measured 7.8-65.
    "min_colour_spread": 1.5,
    # Data-page scans and chip photos are often grey by design: that is no reason to refuse one.
    "document_min_colour_spread": 0.0,
}


@dataclass(frozen=True)
class Measure:
    """One quality measure: native ``value`` in ``unit``, ``score`` 0-100 (higher is better).

    ``limit`` is the profile's limit it was checked against (None: reported, never fails);
    ``advice`` says what the officer should do, and is empty when the measure passed.
    """

    name: str
    value: float
    unit: str
    score: float
    limit: float | None
    passed: bool
    advice: str = ""

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "value": round(self.value, 3),
            "unit": self.unit,
            "score": round(self.score, 1),
            "limit": self.limit,
            "passed": self.passed,
            "advice": self.advice,
        }


@dataclass(frozen=True)
class QualityReport:
    """Every measure of one face; ``passed`` when none failed, ``failures`` the ones that did."""

    side: str
    measures: tuple[Measure, ...]
    passed: bool
    failures: tuple[Measure, ...]

    def measure(self, name: str) -> Measure:
        for measure in self.measures:
            if measure.name == name:
                return measure
        raise KeyError(f"no quality measure named {name!r}; have {[m.name for m in self.measures]}")

    def to_dict(self) -> dict[str, object]:
        return {
            "side": self.side,
            "passed": self.passed,
            "failures": [measure.name for measure in self.failures],
            "advice": [measure.advice for measure in self.failures],
            "measures": [measure.to_dict() for measure in self.measures],
        }


# -- the measures: plain functions of pixels, boxes and landmarks ------------------------------


def _clipped(rgb: RGBImage, box: FaceBox) -> tuple[int, int, int, int]:
    height, width = rgb.shape[:2]
    x0, y0 = max(0, int(box.left)), max(0, int(box.top))
    return x0, y0, min(width, int(box.right)), min(height, int(box.bottom))


def _face_luma(rgb: RGBImage, box: FaceBox) -> NDArray[np.uint8]:
    x0, y0, x1, y1 = _clipped(rgb, box)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return np.zeros((0, 0), dtype=np.uint8)
    return np.asarray(cv2.cvtColor(np.ascontiguousarray(rgb[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY))


def sharpness(rgb: RGBImage, box: FaceBox) -> float:
    """Variance of the Laplacian over the face, at a fixed face width (higher is sharper)."""
    x0, y0, x1, y1 = _clipped(rgb, box)
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
    low, high = np.percentile(luma, [5, 95])
    return float(high - low)


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
    x0, y0, x1, y1 = _clipped(rgb, box)
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
    x0, y0, x1, y1 = _clipped(rgb, box)
    face = rgb[y0:y1, x0:x1].astype(np.int16)
    if face.size == 0:
        return 0.0
    r, g, b = face[..., 0], face[..., 1], face[..., 2]
    return float((np.abs(r - g).mean() + np.abs(g - b).mean() + np.abs(r - b).mean()) / 3)


def frame_score(rgb: RGBImage, box: FaceBox, landmarks: Landmarks) -> float:
    """How good a camera frame is for comparison: larger, sharper and more frontal is better."""
    size = np.log1p(landmarks.inter_eye_distance)
    sharp = np.log1p(sharpness(rgb, box))
    turn = abs(yaw_degrees(landmarks)) / 15.0
    return float(size + sharp - turn)


# -- scores: native value → 0-100 --------------------------------------------------------------


def _logistic(value: float, middle: float, width: float) -> float:
    """100 / (1 + exp(-(value - middle) / width)): 50 at ``middle``, rising (falling if width < 0)."""
    return float(100.0 / (1.0 + math.exp(-max(-50.0, min(50.0, (value - middle) / width)))))


# name → (curve's middle, width, transform). A positive width rises with the value, a negative
# one falls. Middles sit near the default limits, so a face at its limit scores about 50.
_SCORE_CURVES: dict[str, tuple[float, float, Callable[[float], float]]] = {
    "inter_eye_distance": (60.0, 10.0, float),
    "head_size": (0.25, 0.06, float),
    "border_margin": (0.02, 0.02, float),
    "sharpness": (math.log1p(40.0), 0.5, math.log1p),
    "underexposure": (0.35, -0.06, float),
    "overexposure": (0.25, -0.06, float),
    "luminance_mean": (60.0, 12.0, float),
    "dynamic_range": (50.0, 12.0, float),
    "illumination_uniformity": (0.45, 0.1, float),
    "yaw": (25.0, -5.0, abs),
    "pitch": (25.0, -5.0, abs),
    "roll": (20.0, -3.0, abs),
    "single_face": (1.5, -0.15, float),
    "compression": (2.0, -0.2, float),
    "colour": (1.5, 0.4, float),
}


def score(name: str, value: float) -> float:
    """The 0-100 score of a measure's native value (higher is better; monotone in the value)."""
    middle, width, transform = _SCORE_CURVES[name]
    return _logistic(transform(value), middle, width)


# -- the report ---------------------------------------------------------------------------------


def assess(
    image: LoadedImage,
    boxes: list[FaceBox],
    landmarks: Landmarks,
    *,
    side: QualitySide,
    limits: Mapping[str, float] | None = None,
) -> QualityReport:
    """Measure the quality of the face ``boxes[0]`` (with its ``landmarks``) in ``image``.

    ``boxes`` are every face found, largest first (they feed the single-face measure); ``side``
    is ``"document"`` or ``"live"`` and picks side-specific limits and wording. ``limits`` are
    the profile's (``Profile.limits``); they override ``DEFAULT_LIMITS`` name by name. A measure
    passes when its value is on the accepting side of its limit (``min_*``: at or above,
    ``max_*``: at or below). Raises ``ValueError`` for an unknown side or no box.
    """
    if side not in ("document", "live"):
        raise ValueError(f"side must be 'document' or 'live', not {side!r}")
    if not boxes:
        raise ValueError("assess needs at least one face box; report NoFaceFound before calling it")
    merged = {**DEFAULT_LIMITS, **(limits or {})}

    def limit(key: str) -> float:
        return float(merged.get(f"{side}_{key}", merged.get(key, DEFAULT_LIMITS.get(f"{side}_{key}", 0.0))))

    rgb, box, shape = image.pixels, boxes[0], image.shape
    what = "document portrait" if side == "document" else "live photo"
    retake = "use the chip photo if there is one" if side == "document" else "take it again"
    under, over = exposure_shares(rgb, box)
    eyes = landmarks.inter_eye_distance
    yaw, pitch, roll = yaw_degrees(landmarks), pitch_degrees(landmarks), roll_degrees(landmarks)
    faces = face_count(boxes, limit("credible_face_ratio"))
    spread = 0.0 if image.info.is_grey else colour_spread(rgb, box)
    block = max(1, 8 // max(1, image.info.decode_scale))
    small = f"{what} smaller than {limit('min_inter_eye_px'):.0f} px between the eyes ({eyes:.0f} px): " + (
        "use the chip photo" if side == "document" else "ask the traveller to step closer"
    )
    dark = f"{what} too dark: " + (
        "use the chip photo" if side == "document" else "add light or face the light"
    )
    bright = f"{what} too bright (washed out): " + (
        "use the chip photo" if side == "document" else "dim the light or move out of direct light"
    )
    face_the_camera = "use the chip photo" if side == "document" else "ask the traveller to face the camera"
    rows: list[tuple[str, float, str, str, str]] = [
        # name, value, unit, limit name, advice if it fails
        ("inter_eye_distance", eyes, "px", "min_inter_eye_px", small),
        ("head_size", head_size(shape, box), "of image height", "", ""),
        (
            "border_margin",
            border_margin(shape, box),
            "face widths",
            "min_border_margin",
            f"face cut off at the edge of the {what}: "
            + ("use the chip photo" if side == "document" else "centre the traveller and take it again"),
        ),
        (
            "sharpness",
            sharpness(rgb, box),
            "Laplacian variance",
            "min_sharpness",
            f"{what} too blurred: {retake}",
        ),
        ("underexposure", under, "share of face", "max_underexposed_share", dark),
        ("overexposure", over, "share of face", "max_overexposed_share", bright),
        ("luminance_mean", luminance_mean(rgb, box), "grey level", "min_luminance_mean", dark),
        (
            "dynamic_range",
            dynamic_range(rgb, box),
            "grey levels",
            "min_dynamic_range",
            f"{what} flat, low in contrast: {retake}",
        ),
        (
            "illumination_uniformity",
            illumination_uniformity(rgb, box, landmarks),
            "darker/brighter half",
            "min_illumination_uniformity",
            f"{what} lit from one side: "
            + ("use the chip photo" if side == "document" else "light the face evenly and take it again"),
        ),
        ("yaw", yaw, "degrees", "max_yaw_degrees", f"head turned about {abs(yaw):.0f}°: {face_the_camera}"),
        (
            "pitch",
            pitch,
            "degrees",
            "max_pitch_degrees",
            f"head tipped {'down' if pitch > 0 else 'up'} about {abs(pitch):.0f}°: {face_the_camera}",
        ),
        (
            "roll",
            roll,
            "degrees",
            "max_roll_degrees",
            f"head tilted about {abs(roll):.0f}°: {face_the_camera}",
        ),
        (
            "single_face",
            float(faces),
            "faces",
            "max_faces",
            f"{faces} faces in view: "
            + (
                "check which is the holder's portrait"
                if side == "document"
                else "make sure only the traveller is in front of the camera"
            ),
        ),
        (
            "compression",
            blockiness(rgb, box, block),
            "block-edge ratio",
            "max_blockiness",
            f"{what} heavily compressed (JPEG blocks): {retake}",
        ),
        (
            "colour",
            spread,
            "grey levels between channels",
            "min_colour_spread",
            "document portrait is grey-scale: skin tone cannot be compared, compare with care"
            if side == "document"
            else "live photo is grey-scale: set the camera to colour and take it again",
        ),
    ]
    measures = []
    for name, value, unit, key, advice in rows:
        bound = limit(key) if key else None
        passed = True
        if bound is not None:
            checked = abs(value) if name in ("yaw", "pitch", "roll") else value
            passed = checked >= bound if key.startswith("min_") else checked <= bound
        measures.append(
            Measure(name, float(value), unit, score(name, value), bound, passed, "" if passed else advice)
        )
    failures = tuple(measure for measure in measures if not measure.passed)
    return QualityReport(side, tuple(measures), not failures, failures)


def unified_score(report: QualityReport) -> float:
    """One 0-100 quality score for a face (higher is better): the weakest link, the lowest
    ``score`` among the measures that have a limit (the gated ones; informational measures
    such as head size do not count). Scores do not depend on the limits, only on the values.
    Raises ``ValueError`` when no measure has a limit.
    """
    gated = [measure.score for measure in report.measures if measure.limit is not None]
    if not gated:
        raise ValueError("unified_score needs a quality report with at least one gated measure")
    return float(min(gated))
