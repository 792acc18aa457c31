"""Looking for what no camera makes: a JPEG damaged without libjpeg noticing, and a face that
was drawn, painted or filtered rather than photographed.

``block_shift`` finds a JPEG whose entropy-coded data was damaged: from one block on, a channel's
running DC value is off, and the picture shows a staircase-shaped step along the block rows.
``drawing_score`` weighs the clues of a drawn face (few colours, gaps in the histograms, thin
dark strokes, flat areas, no sensor noise where the face is smooth: ``drawing_features``) with a
logistic model whose numbers live in ``impostor/data/limits.json`` (``models.drawing``). The
quality stage (``impostor.stages.quality``) holds both to its limits and re-exports these names.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from impostor import resources
from impostor.errors import ProfileError
from impostor.stages._quality_measures import MEASURE_WIDTH, clipped
from impostor.types import FaceBox, RGBImage

__all__ = [
    "DRAWING_FEATURES",
    "DrawingModel",
    "block_shift",
    "drawing_features",
    "drawing_model",
    "drawing_score",
    "palette_share",
]


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


def palette_share(rgb: RGBImage, box: FaceBox) -> float:
    """Share (0-1) of face pixels in the face's 8 commonest colours, at 16 levels a channel.

    A photograph of a person spreads its face over many colours (shading, texture, sensor
    noise); a drawing, a cartoon or a poster paints it in a few flat ones.
    """
    x0, y0, x1, y1 = clipped(rgb, box)
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
    x0, y0, x1, y1 = clipped(rgb, box)
    if x1 - x0 < 8 or y1 - y0 < 8:
        return np.zeros(len(DRAWING_FEATURES))
    crop = np.ascontiguousarray(rgb[y0:y1, x0:x1])
    factor = MEASURE_WIDTH / crop.shape[1]
    size = (MEASURE_WIDTH, max(8, int(round(crop.shape[0] * factor))))
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
        """Log-odds that the face is drawn, from its ``drawing_features`` (one value per feature,
        in the order of ``DRAWING_FEATURES``); higher is more drawn."""
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
