"""Quality of a located face, after ISO/IEC 29794-5 (BSI OFIQ is its reference implementation).

Every measure is reported twice: its native value (pixels, degrees, grey levels, shares) and a
0-100 score where higher is better. As OFIQ registers its measures, ``MEASURES`` is a table with
one row per measure: its name and unit, the function that measures it, the fixed logistic curve
that scores it (so scores compare across profiles), the limit it is held to and the advice for
each side when it fails. ``assess`` is a loop over that table. Whether a face *passes* is decided
by limits: the defaults, each with where its number comes from, live in the versioned data file
``impostor/data/limits.json`` (``default_limits``); a profile's ``limits`` override them by name.

Two measures look for what no camera makes. ``corruption`` finds a JPEG whose entropy-coded
data was damaged without libjpeg noticing: from one block on, a channel's running DC value is
off, and the picture shows a staircase-shaped step along the block rows (``block_shift``).
``palette`` weighs the clues of a drawn, painted or filtered face (few colours, gaps in the
histograms, thin dark strokes, flat areas, no sensor noise where the face is smooth:
``drawing_features``) with a logistic model whose numbers, like the limits, live in
``limits.json`` (``models.drawing``).

Luminance is BT.601 luma (``cv2.COLOR_RGB2GRAY``), 0-255. "Left" and "right" halves of the face
are as seen in the image. The pose angles are rough estimates from five landmarks, not a fitted
3-D head model: good enough to tell a frontal face from a turned one, not to certify ±5°.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import cv2
import numpy as np
from numpy.typing import NDArray

from impostor import resources
from impostor.errors import ProfileError
from impostor.types import FaceBox, Landmarks, LoadedImage, Measure, QualityReport, RGBImage

__all__ = [
    "DRAWING_FEATURES",
    "DrawingModel",
    "LIMITS_SCHEMA",
    "MEASURES",
    "Measure",
    "MeasureSpec",
    "QualityReport",
    "ScoreCurve",
    "assess",
    "block_shift",
    "blockiness",
    "border_margin",
    "colour_spread",
    "default_limits",
    "drawing_features",
    "drawing_model",
    "drawing_score",
    "dynamic_range",
    "exposure_shares",
    "face_count",
    "frame_score",
    "head_size",
    "illumination_uniformity",
    "limit_names",
    "luminance_mean",
    "palette_share",
    "pitch_degrees",
    "roll_degrees",
    "score",
    "sharpness",
    "unified_score",
    "yaw_degrees",
]

QualitySide = Literal["document", "live"]
LIMITS_SCHEMA = "impostor.limits/1"
SIDES: tuple[QualitySide, ...] = ("document", "live")

_SHARPNESS_WIDTH = 128  # faces are resampled to this width so sharpness compares across sizes
_DARK, _BRIGHT = 25, 230  # luma at or below / at or above which a pixel is under / over exposed
_NOSE_DEPTH = 0.9  # nose base in front of the eye plane, in inter-eye distances (as yaw_degrees)
_FRONTAL_NOSE_DROP = 0.75  # nose base below the eye line in a frontal face, in inter-eye distances


# -- the default limits: a versioned data file ----------------------------------------------------


@functools.cache
def default_limits() -> Mapping[str, float]:
    """The default limits by name, read once from ``impostor/data/limits.json``.

    Raises ``ProfileError`` when the file is damaged (a broken installation).
    """
    where = "impostor/data/limits.json"
    try:
        data = json.loads(resources.read_text("limits.json"))
        if data.get("schema") != LIMITS_SCHEMA:
            raise ValueError(f"schema is {data.get('schema')!r}, expected {LIMITS_SCHEMA!r}")
        limits = {name: float(entry["value"]) for name, entry in data["limits"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ProfileError(
            f"{where}: the default limits cannot be read ({exc}); reinstall impostor"
        ) from None
    return _frozen(limits)


def _frozen(limits: dict[str, float]) -> Mapping[str, float]:
    from types import MappingProxyType

    return MappingProxyType(limits)


def limit_names() -> frozenset[str]:
    """Every name a profile's ``limits`` may set: each default, bare or prefixed by a side."""
    names = set()
    for name in default_limits():
        bare = name.split("_", 1)[1] if name.split("_", 1)[0] in SIDES else name
        names |= {bare, *(f"{side}_{bare}" for side in SIDES)}
    return frozenset(names)


def _resolve(merged: Mapping[str, float], side: QualitySide, key: str) -> float:
    """A limit for one side from the defaults overlaid with a profile's (``merged``): a
    side-prefixed name wins over the bare one."""
    return float(merged.get(f"{side}_{key}", merged.get(key, 0.0)))


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


# EXIF orientations undone: the rotation that brings the upright pixels back to the stored ones
_STORED_TURN = {3: cv2.ROTATE_180, 6: cv2.ROTATE_90_COUNTERCLOCKWISE, 8: cv2.ROTATE_90_CLOCKWISE}
_MIRRORED_TURN = {2: 1, 4: 3, 5: 8, 7: 6}  # a mirrored orientation: the turn applied after the flip


def _as_stored(rgb: RGBImage, orientation: int) -> RGBImage:
    """The pixels as the file stored them, before ``impostor.stages.capture`` applied EXIF orientation."""
    turn = _MIRRORED_TURN.get(orientation, orientation)
    if turn in _STORED_TURN:
        rgb = cv2.rotate(rgb, _STORED_TURN[turn])
    return cv2.flip(rgb, 1) if orientation in _MIRRORED_TURN else rgb


def block_shift(rgb: RGBImage, block: int = 8, orientation: int = 1) -> float:
    """How far a part of a JPEG is shifted in colour from one block on, grey levels (0: none).

    A bit flipped in a JPEG's entropy-coded data often decodes without a warning, but shifts the
    running DC value of one channel (Y, Cr or Cb) from that block to the end of the picture: a
    band of the image turns greener or darker, with a step along the block rows. Such a step
    has a staircase shape no scene has: along one block row right of the damaged block and along
    the next block row (one or two rows below, as the MCU is 8 or 16 pixels tall) left of it. The
    step at a block row is measured against the median of the steps on the two pixel rows either
    side (so smooth shading and an edge one pixel off the grid do not count), averaged along
    each arm of the staircase; the value is the weaker arm of the strongest staircase, in the
    channel where it is strongest. A straight step along a whole row is not counted: it is
    what padding above a photo looks like. ``block`` is the JPEG block in pixels (8, or
    ``8 // decode_scale`` for a JPEG decoded at reduced scale); ``orientation`` is the EXIF
    orientation the pixels were turned by, undone here because the blocks lie on the stored grid.
    """
    if block < 2:
        return 0.0
    ycc = cv2.cvtColor(np.ascontiguousarray(_as_stored(rgb, orientation)), cv2.COLOR_RGB2YCrCb)
    height, width = ycc.shape[:2]
    rows = np.arange(block, height - 2, block)
    rows = rows[rows >= 3]
    columns = width // block
    if len(rows) < 3 or columns < 4:
        return 0.0

    def steps(offset: int) -> NDArray[np.float32]:  # pixel row k + 1 less row k, for k = rows + offset
        return ycc[rows + offset + 1].astype(np.float32) - ycc[rows + offset]

    # only the rows around block boundaries are needed, and the median of the four steps beside
    # is the mean of the middle two: the sum less the extremes (the whole image's differences,
    # sorted, took 0.3 s of a phone photo's comparison)
    a, b, c, d = steps(-3), steps(-2), steps(0), steps(1)
    high = np.maximum(np.maximum(a, b), np.maximum(c, d))
    low = np.minimum(np.minimum(a, b), np.minimum(c, d))
    excess = steps(-1) - (a + b + c + d - high - low) / 2
    # mean excess per block of each block row: (block rows, block columns, channels)
    per_block = excess[:, : columns * block].reshape(len(rows), columns, block, 3).mean(axis=2)
    strongest = 0.0
    for gap in (1, 2):  # MCUs one or two blocks tall
        if len(rows) <= gap:
            continue
        lower, upper = per_block[gap:], per_block[:-gap]
        # split at block column c: the lower row's arm is [0, c), the upper row's [c + gap, end)
        splits = np.arange(1, columns - gap)
        left = np.cumsum(lower, axis=1)[:, splits - 1] / splits[None, :, None]
        right = np.cumsum(upper[:, ::-1], axis=1)[:, ::-1][:, splits + gap]
        right = right / (columns - splits - gap)[None, :, None]
        agree = np.sign(left) == np.sign(right)
        weaker = np.where(agree, np.minimum(np.abs(left), np.abs(right)), 0.0)
        strongest = max(strongest, float(weaker.max()))
    return strongest


def colour_spread(rgb: RGBImage, box: FaceBox) -> float:
    """Mean absolute difference between colour channels over the face, grey levels (0: grey)."""
    x0, y0, x1, y1 = _clipped(rgb, box)
    face = rgb[y0:y1, x0:x1]
    if face.size == 0:
        return 0.0
    r, g, b = cv2.split(np.ascontiguousarray(face))
    return sum(float(cv2.mean(cv2.absdiff(one, other))[0]) for one, other in ((r, g), (g, b), (r, b))) / 3


def palette_share(rgb: RGBImage, box: FaceBox) -> float:
    """Share (0-1) of face pixels in the face's 8 commonest colours, at 16 levels a channel.

    A photograph of a person spreads its face over many colours (shading, texture, sensor
    noise); a drawing, a cartoon or a poster paints it in a few flat ones.
    """
    x0, y0, x1, y1 = _clipped(rgb, box)
    face = rgb[y0:y1, x0:x1]
    if face.size == 0:
        return 0.0
    # 16 levels: coarse enough that JPEG's noise around a flat colour stays in its bin
    levels = (face >> 4).astype(np.uint16)
    codes = (levels[..., 0] << 8) | (levels[..., 1] << 4) | levels[..., 2]
    counts = np.bincount(codes.ravel(), minlength=1 << 12)
    return float(np.partition(counts, -8)[-8:].sum() / codes.size)


DRAWING_FEATURES = (
    "palette_share",
    "histogram_gaps",
    "histogram_gaps_denoised",
    "fine_over_middle_detail",
    "chroma_detail",
    "dark_strokes",
    "flat_share",
    "edge_peak",
    "noise_in_flat",
    "noise_over_gradient",
    "unchanged_by_median",
    "laplacian_peak",
    "colour_count",
    "still_share",
    "block_peak",
    "band_kurtosis",
    "planar_share",
)

_TEXTURE_WIDTH = 160  # the noise clues are read at the face's own size, larger faces shrunk to this


def _histogram_gaps(face: RGBImage) -> float:
    """Share of the levels between each channel's 2nd and 98th percentiles that are all but
    empty (under a tenth of the mean count), averaged over the channels: a posterised face
    leaves gaps between its levels even under added noise; a photograph fills them."""
    shares = []
    for channel in range(3):
        counts = np.bincount(face[..., channel].ravel(), minlength=256)
        ranks = np.cumsum(counts) / counts.sum()
        low, high = int(np.searchsorted(ranks, 0.02)), int(np.searchsorted(ranks, 0.98))
        if high - low < 4:
            shares.append(1.0)
            continue
        span = counts[low : high + 1]
        shares.append(float(np.mean(span < 0.1 * span.mean())))
    return float(np.mean(shares))


def _texture_features(crop: RGBImage) -> list[float]:
    """The clues of a face that no sensor saw, read without enlarging it (resampling up would
    smear the noise they look for): an edge-preserving filter (``cv2.stylization``) or a painter
    leaves flat areas without the sensor's fine noise, smooth shading and sparse strong edges."""
    if crop.shape[1] > _TEXTURE_WIDTH:
        height = max(8, round(crop.shape[0] * _TEXTURE_WIDTH / crop.shape[1]))
        crop = cv2.resize(crop, (_TEXTURE_WIDTH, height), interpolation=cv2.INTER_AREA)
    luma = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
    y = luma.astype(np.float32)
    noise = np.abs(y - cv2.medianBlur(luma, 3).astype(np.float32))
    smooth = cv2.GaussianBlur(y, (0, 0), 1.5)
    gradient = np.hypot(cv2.Sobel(smooth, cv2.CV_32F, 1, 0), cv2.Sobel(smooth, cv2.CV_32F, 0, 1))
    noise_in_flat = float(noise[gradient <= np.percentile(gradient, 40)].mean())
    levels = (crop >> 3).astype(np.int32)  # 32 levels a channel
    codes = (levels[..., 0] << 10) | (levels[..., 1] << 5) | levels[..., 2]
    colours = np.count_nonzero(np.bincount(codes.ravel(), minlength=1 << 15))
    mean, square = cv2.blur(y, (5, 5)), cv2.blur(y * y, (5, 5))
    spread = np.sqrt(np.maximum(square - mean * mean, 0.0))
    laplacian = np.abs(cv2.Laplacian(cv2.GaussianBlur(y, (0, 0), 1.0), cv2.CV_32F))
    # JPEG's 8 px grid, at whatever phase the crop cut it: it stands out where nothing else varies
    across, down = np.abs(np.diff(y, axis=1)).mean(axis=0), np.abs(np.diff(y, axis=0)).mean(axis=1)
    across, down = across[: len(across) // 8 * 8], down[: len(down) // 8 * 8]
    phases = across.reshape(-1, 8).mean(axis=0) + down.reshape(-1, 8).mean(axis=0)
    band = cv2.GaussianBlur(y, (0, 0), 1.0) - cv2.GaussianBlur(y, (0, 0), 2.0)
    power = float(np.mean(band**2)) + 1e-3
    return [
        math.log(noise_in_flat + 0.05),
        math.log((noise_in_flat + 0.05) / (float(np.median(gradient)) + 0.5)),
        float(np.mean(noise == 0)),
        float(np.percentile(laplacian, 99)) / (float(np.median(laplacian)) + 0.2),
        colours / codes.size,
        float(np.mean(spread < 1.5)),
        float(phases.max()) / (float(np.median(phases)) + 0.1),
        math.log(float(np.mean(band**4)) / power**2),
        float(np.mean(np.abs(y - cv2.blur(y, (3, 3))) < 0.5)),
    ]


def drawing_features(rgb: RGBImage, box: FaceBox) -> NDArray[np.float64]:
    """What tells a drawn, painted or filtered face from a photographed one, in the order of
    ``DRAWING_FEATURES``; a vector of zeros for a face under 8 px.

    On the face resampled to 128 px wide: few colours (share of the 8 commonest at 16 levels a
    channel), gaps in the channels' histograms (also after a 5 px median that removes added
    noise), fine detail (from a 1 px Gaussian blur) against middle detail (1 to 3 px), in luma and
    chroma, thin dark strokes (pixels 40 levels under their 9 px median: outlines), flat areas
    (share of gradients under 2 levels) and how far the strongest edges stand above the typical
    one. At the face's own size (at most 160 px wide): the fine noise (luma's difference from its
    3 px median) in the flattest 40% and against the typical gradient, the share of pixels a
    median leaves unchanged, the peak of the Laplacian, the share of distinct colours at 32
    levels, the share of still 5 px windows (deviation under 1.5), JPEG's 8 px grid standing
    out, the kurtosis of the 1-2 px band and the share of pixels on their 3 px mean's plane.
    """
    x0, y0, x1, y1 = _clipped(rgb, box)
    if x1 - x0 < 8 or y1 - y0 < 8:
        return np.zeros(len(DRAWING_FEATURES))
    crop = np.ascontiguousarray(rgb[y0:y1, x0:x1])
    factor = _SHARPNESS_WIDTH / crop.shape[1]
    size = (_SHARPNESS_WIDTH, max(8, int(round(crop.shape[0] * factor))))
    face = cv2.resize(crop, size, interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR)
    denoised = cv2.medianBlur(face, 5)
    luma = cv2.cvtColor(face, cv2.COLOR_RGB2GRAY)
    y = luma.astype(np.float32)
    fine_blur, middle_blur = cv2.GaussianBlur(y, (0, 0), 1.0), cv2.GaussianBlur(y, (0, 0), 3.0)
    fine, middle = np.abs(y - fine_blur), np.abs(fine_blur - middle_blur)
    ycc = cv2.cvtColor(face, cv2.COLOR_RGB2YCrCb).astype(np.float32)
    chroma = sum(np.abs(ycc[..., c] - cv2.GaussianBlur(ycc[..., c], (0, 0), 1.0)) for c in (1, 2)) / 2
    strokes = y < cv2.medianBlur(luma, 9).astype(np.float32) - 40
    gradient = np.hypot(cv2.Sobel(fine_blur, cv2.CV_32F, 1, 0), cv2.Sobel(fine_blur, cv2.CV_32F, 0, 1))
    return np.array(
        [
            palette_share(face, FaceBox(0, 0, face.shape[1], face.shape[0], 1.0)),
            _histogram_gaps(face),
            _histogram_gaps(denoised),
            math.log((float(fine.mean()) + 0.1) / (float(middle.mean()) + 0.1)),
            float(np.median(chroma)),
            float(np.mean(strokes)),
            float(np.mean(gradient < 2.0)),
            float(np.percentile(gradient, 99)) / (float(np.median(gradient)) + 1.0),
            *_texture_features(crop),
        ]
    )


@dataclass(frozen=True)
class DrawingModel:
    """A logistic model over ``drawing_features``: standardised by ``mean`` and ``scale``, then
    ``weights`` and ``intercept`` give the log-odds that the face is drawn (fitted by
    ``bench/bench_presentation.py --fit``; the numbers live in ``limits.json``)."""

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    intercept: float

    def log_odds(self, features: NDArray[np.float64]) -> float:
        z = (features - np.asarray(self.mean)) / np.asarray(self.scale)
        return float(np.dot(z, np.asarray(self.weights)) + self.intercept)


@functools.cache
def drawing_model() -> DrawingModel:
    """The drawing model shipped in ``impostor/data/limits.json`` (``models.drawing``).

    Raises ``ProfileError`` when the file is damaged (a broken installation).
    """
    try:
        entry = json.loads(resources.read_text("limits.json"))["models"]["drawing"]
        if tuple(entry["features"]) != DRAWING_FEATURES:
            raise ValueError(f"its features are {entry['features']}, expected {list(DRAWING_FEATURES)}")
        model = DrawingModel(
            tuple(map(float, entry["mean"])),
            tuple(map(float, entry["scale"])),
            tuple(map(float, entry["weights"])),
            float(entry["intercept"]),
        )
        if not len(model.mean) == len(model.scale) == len(model.weights) == len(DRAWING_FEATURES):
            raise ValueError("mean, scale and weights need one number per feature")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ProfileError(
            f"impostor/data/limits.json: the drawing model cannot be read ({exc}); reinstall impostor"
        ) from None
    return model


def drawing_score(rgb: RGBImage, box: FaceBox) -> float:
    """Log-odds that the face in ``box`` is drawn, painted or filtered rather than photographed
    (higher is more drawn; the ``max_drawing_score`` limit refuses above it)."""
    return drawing_model().log_odds(drawing_features(rgb, box))


def frame_score(rgb: RGBImage, box: FaceBox, landmarks: Landmarks) -> float:
    """How good a camera frame is for comparison: larger, sharper and more frontal is better."""
    size = np.log1p(landmarks.inter_eye_distance)
    sharp = np.log1p(sharpness(rgb, box))
    turn = abs(yaw_degrees(landmarks)) / 15.0
    return float(size + sharp - turn)


# -- the table ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScoreCurve:
    """Native value → 0-100: ``100 / (1 + exp(-(transform(value) - middle) / width))``.

    50 at ``middle``; rising with the value for a positive ``width``, falling for a negative one.
    Middles sit near the default limits, so a face at its limit scores about 50.
    """

    middle: float
    width: float
    transform: Callable[[float], float] = float

    def __call__(self, value: float) -> float:
        z = (self.transform(value) - self.middle) / self.width
        return float(100.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z)))))


@dataclass(frozen=True, eq=False)
class _Face:
    """What the measures look at: one face of an image, with every face found beside it."""

    image: LoadedImage
    boxes: list[FaceBox]
    landmarks: Landmarks
    side: QualitySide
    limits: Mapping[str, float]  # the defaults overlaid with the profile's

    @property
    def rgb(self) -> RGBImage:
        return self.image.pixels

    @property
    def box(self) -> FaceBox:
        return self.boxes[0]


@dataclass(frozen=True)
class MeasureSpec:
    """One row of the quality table.

    ``limit`` names the limit the measure is held to (``min_…``: passes at or above it,
    ``max_…``: at or below; None: reported, never fails), applied to ``checked(value)``.
    ``advice`` holds, per side, what the officer should do when it fails: a template filled
    with ``what`` (the side's image), ``value``, ``size`` (its absolute value), ``limit`` and
    ``direction`` (up or down).
    """

    name: str
    unit: str
    measure: Callable[[_Face], float]
    curve: ScoreCurve
    limit: str | None = None
    checked: Callable[[float], float] = float
    advice: Mapping[str, str] = field(default_factory=dict)


def _both(document: str, live: str) -> dict[str, str]:
    return {"document": document, "live": live}


_DRAWING_FLOOR = -50.0  # the drawing score of a face not judged (grey): far on the photo side


def _looks_grey(face: _Face) -> bool:
    """Grey as stored, or grey in fact: a JPEG 2000 chip portrait may be grey in three channels."""
    grey_below = float(face.limits.get("min_colour_spread", 0.0))
    return face.image.info.is_grey or colour_spread(face.rgb, face.box) < grey_below


_CHIP = "use the chip photo"
_RETAKE = _both("use the chip photo if there is one", "take it again")
_FACE_THE_CAMERA = _both(_CHIP, "ask the traveller to face the camera")

MEASURES: tuple[MeasureSpec, ...] = (
    MeasureSpec(
        "inter_eye_distance",
        "px",
        lambda f: f.landmarks.inter_eye_distance,
        ScoreCurve(60.0, 10.0),
        "min_inter_eye_px",
        advice=_both(
            "{what} smaller than {limit:.0f} px between the eyes ({value:.0f} px): " + _CHIP,
            "{what} smaller than {limit:.0f} px between the eyes ({value:.0f} px): "
            "ask the traveller to step closer",
        ),
    ),
    MeasureSpec(
        "head_size", "of image height", lambda f: head_size(f.image.shape, f.box), ScoreCurve(0.25, 0.06)
    ),
    MeasureSpec(
        "border_margin",
        "face widths",
        lambda f: border_margin(f.image.shape, f.box),
        ScoreCurve(0.02, 0.02),
        "min_border_margin",
        advice=_both(
            "face cut off at the edge of the {what}: " + _CHIP,
            "face cut off at the edge of the {what}: centre the traveller and take it again",
        ),
    ),
    MeasureSpec(
        "sharpness",
        "Laplacian variance",
        lambda f: sharpness(f.rgb, f.box),
        ScoreCurve(math.log1p(40.0), 0.5, math.log1p),
        "min_sharpness",
        advice={side: "{what} too blurred: " + then for side, then in _RETAKE.items()},
    ),
    MeasureSpec(
        "underexposure",
        "share of face",
        lambda f: exposure_shares(f.rgb, f.box)[0],
        ScoreCurve(0.35, -0.06),
        "max_underexposed_share",
        advice=_both("{what} too dark: " + _CHIP, "{what} too dark: add light or face the light"),
    ),
    MeasureSpec(
        "overexposure",
        "share of face",
        lambda f: exposure_shares(f.rgb, f.box)[1],
        ScoreCurve(0.25, -0.06),
        "max_overexposed_share",
        advice=_both(
            "{what} too bright (washed out): " + _CHIP,
            "{what} too bright (washed out): dim the light or move out of direct light",
        ),
    ),
    MeasureSpec(
        "luminance_mean",
        "grey level",
        lambda f: luminance_mean(f.rgb, f.box),
        ScoreCurve(60.0, 12.0),
        "min_luminance_mean",
        advice=_both("{what} too dark: " + _CHIP, "{what} too dark: add light or face the light"),
    ),
    MeasureSpec(
        "dynamic_range",
        "grey levels",
        lambda f: dynamic_range(f.rgb, f.box),
        ScoreCurve(50.0, 12.0),
        "min_dynamic_range",
        advice={side: "{what} flat, low in contrast: " + then for side, then in _RETAKE.items()},
    ),
    MeasureSpec(
        "illumination_uniformity",
        "darker/brighter half",
        lambda f: illumination_uniformity(f.rgb, f.box, f.landmarks),
        ScoreCurve(0.45, 0.1),
        "min_illumination_uniformity",
        advice=_both(
            "{what} lit from one side: " + _CHIP,
            "{what} lit from one side: light the face evenly and take it again",
        ),
    ),
    MeasureSpec(
        "yaw",
        "degrees",
        lambda f: yaw_degrees(f.landmarks),
        ScoreCurve(25.0, -5.0, abs),
        "max_yaw_degrees",
        abs,
        {side: "head turned about {size:.0f}°: " + then for side, then in _FACE_THE_CAMERA.items()},
    ),
    MeasureSpec(
        "pitch",
        "degrees",
        lambda f: pitch_degrees(f.landmarks),
        ScoreCurve(25.0, -5.0, abs),
        "max_pitch_degrees",
        abs,
        {
            side: "head tipped {direction} about {size:.0f}°: " + then
            for side, then in _FACE_THE_CAMERA.items()
        },
    ),
    MeasureSpec(
        "roll",
        "degrees",
        lambda f: roll_degrees(f.landmarks),
        ScoreCurve(20.0, -3.0, abs),
        "max_roll_degrees",
        abs,
        {side: "head tilted about {size:.0f}°: " + then for side, then in _FACE_THE_CAMERA.items()},
    ),
    MeasureSpec(
        "single_face",
        "faces",
        lambda f: float(face_count(f.boxes, _resolve(f.limits, f.side, "credible_face_ratio"))),
        ScoreCurve(1.5, -0.15),
        "max_faces",
        advice=_both(
            "{value:.0f} faces in view: check which is the holder's portrait",
            "{value:.0f} faces in view: make sure only the traveller is in front of the camera",
        ),
    ),
    MeasureSpec(
        "compression",
        "block-edge ratio",
        # a JPEG decoded at 1/k scale shows its blocks on a grid of 8/k pixels
        lambda f: blockiness(f.rgb, f.box, max(1, 8 // max(1, f.image.info.decode_scale))),
        ScoreCurve(2.0, -0.2),
        "max_blockiness",
        advice={side: "{what} heavily compressed (JPEG blocks): " + then for side, then in _RETAKE.items()},
    ),
    MeasureSpec(
        "corruption",
        "grey levels",
        # only a JPEG's blocks shift like this; a JPEG decoded at 1/k scale has blocks of 8/k
        lambda f: (
            block_shift(f.rgb, 8 // max(1, f.image.info.decode_scale), f.image.info.exif_orientation)
            if f.image.info.format == "JPEG"
            else 0.0
        ),
        ScoreCurve(28.0, -4.0),
        "max_block_shift",
        advice=_both(
            "{what} is corrupt: from one block on, part of it is shifted in colour "
            "({value:.0f} grey levels): rescan it or use the chip photo",
            "{what} is corrupt: from one block on, part of it is shifted in colour "
            "({value:.0f} grey levels): take it again",
        ),
    ),
    MeasureSpec(
        # named for its first clue, a face painted in a few flat colours; it weighs them all
        "palette",
        "log-odds that the face is drawn",
        # a grey face is the colour measure's to refuse: its colour clues say nothing here
        lambda f: _DRAWING_FLOOR if _looks_grey(f) else drawing_score(f.rgb, f.box),
        ScoreCurve(0.2, -1.0),
        "max_drawing_score",
        advice=_both(
            "{what} is painted in a few flat colours, like a drawing: examine the document",
            "the live face looks like a drawing or a picture held up, not a person: "
            "look at the traveller and take the photo again",
        ),
    ),
    MeasureSpec(
        "colour",
        "grey levels between channels",
        lambda f: 0.0 if f.image.info.is_grey else colour_spread(f.rgb, f.box),
        ScoreCurve(1.5, 0.4),
        "min_colour_spread",
        advice=_both(
            "document portrait is grey-scale: skin tone cannot be compared, compare with care",
            "live photo is grey-scale: set the camera to colour and take it again",
        ),
    ),
)

_BY_NAME = {spec.name: spec for spec in MEASURES}
_WHAT = {"document": "document portrait", "live": "live photo"}


def score(name: str, value: float) -> float:
    """The 0-100 score of a measure's native value (higher is better; monotone in the value)."""
    return _BY_NAME[name].curve(value)


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
    the profile's (``Profile.limits``); they override ``default_limits()`` name by name. Raises
    ``ValueError`` for an unknown side or no box.
    """
    if side not in SIDES:
        raise ValueError(f"side must be 'document' or 'live', not {side!r}")
    if not boxes:
        raise ValueError("assess needs at least one face box; report NoFaceFound before calling it")
    face = _Face(image, boxes, landmarks, side, {**default_limits(), **(limits or {})})
    measures = []
    for spec in MEASURES:
        value = float(spec.measure(face))
        bound = _resolve(face.limits, side, spec.limit) if spec.limit else None
        passed = True
        if spec.limit is not None and bound is not None:
            checked = spec.checked(value)
            passed = checked >= bound if spec.limit.startswith("min_") else checked <= bound
        advice = ""
        if not passed:
            advice = spec.advice[side].format(
                what=_WHAT[side],
                value=value,
                size=abs(value),
                limit=bound,
                direction="down" if value > 0 else "up",
            )
        measures.append(Measure(spec.name, value, spec.unit, spec.curve(value), bound, passed, advice))
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
