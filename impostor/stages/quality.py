"""Quality of a located face, after ISO/IEC 29794-5 (BSI OFIQ is its reference implementation).

Every measure is reported twice: its native value (pixels, degrees, grey levels, shares) and a
0-100 score where higher is better. As OFIQ registers its measures, ``MEASURES`` is a table with
one row per measure: its name and unit, the function that measures it, the fixed logistic curve
that scores it (so scores compare across profiles), the limit it is held to and the advice for
each side when it fails. ``assess`` is a loop over that table. Whether a face *passes* is decided
by limits: the defaults, each with where its number comes from, live in the versioned data file
``impostor/data/limits.json`` (``default_limits``); a profile's ``limits`` override them by name.

The measures themselves are plain functions of pixels, boxes and landmarks in
``impostor.stages._quality_measures``; the two that look for what no camera makes (``corruption``, a
damaged JPEG's colour step, and ``palette``, a drawn or filtered face weighed by a logistic model
whose numbers, like the limits, live in ``limits.json``) are in ``impostor.stages._quality_forensics``.
This module re-exports their names, so that ``impostor.stages.quality`` stays the one place to
import quality from.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from impostor import resources
from impostor.errors import ProfileError
from impostor.stages._quality_forensics import (
    DRAWING_FEATURES,
    DrawingModel,
    block_shift,
    drawing_features,
    drawing_model,
    drawing_score,
    palette_share,
)
from impostor.stages._quality_measures import (
    blockiness,
    border_margin,
    colour_spread,
    dynamic_range,
    exposure_shares,
    face_count,
    frame_score,
    head_size,
    illumination_uniformity,
    luminance_mean,
    pitch_degrees,
    roll_degrees,
    sharpness,
    yaw_degrees,
)
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
