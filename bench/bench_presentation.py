"""Does the live drawing check tell a person from a drawing held up? APCER and BPCER (ISO/IEC 30107-3).

    uv run python bench/bench_presentation.py [--data DIR] [--lfw 300] [--real 1500] [--fit] [--json OUT]

The check is the ``palette`` measure: the log-odds of a logistic model over
``impostor.stages.quality.drawing_features`` of the located face, refused above ``max_drawing_score``.
Bona fide presentations: real photos, judged as live photos. Attacks: drawings generated from
them (a cartoon of 8 colours with outlines, saved as PNG and as JPEG 85; that cartoon posterised
to 8 levels a channel with ±6 noise; ``cv2.stylization``, as PNG and JPEG 85; ``cv2.pencilSketch``
in colour). Grey faces are left to the colour measure and not counted.

The data are split by person. Tuning: faces-dev, its extras, the bundled samples' live photos and
LFW's View 1 people (pairsDevTrain and pairsDevTest). Held out: LFW's people found only in View 2
(pairs.txt), and the chip portraits of ../shared/data/documents/chip (JPEG 2000, read through
``impostor.document``). ``--lfw`` photos of
each part are turned into attacks; ``--real`` more of each are judged as bona fide only. With
``--fit`` the model is fitted on the tuning part (scikit-learn's logistic regression on
standardised features, bona fide weighted 20 to 1) and printed for ``limits.json``, with the limit
two log-odds above the highest tuning photo (``LIMIT_MARGIN``: LFW's people differ more than one
tuning set shows); without it, the shipped model and limit are measured.
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from lfw_people import lfw_split

from impostor import settings
from impostor.document.chip import read_dg2
from impostor.errors import ImpostorError
from impostor.pipeline.verifier import Verifier
from impostor.stages.capture import load_image
from impostor.stages.quality import (
    DRAWING_FEATURES,
    DrawingModel,
    colour_spread,
    default_limits,
    drawing_features,
    drawing_model,
)
from impostor.types import RGBImage


def cartoon(rgb: RGBImage) -> RGBImage:
    """A cartoon of a photo: smoothed, 8 colours, dark outlines (OpenCV's usual recipe)."""
    smooth = rgb.copy()
    for _ in range(3):
        smooth = cv2.bilateralFilter(smooth, 9, 75, 75)
    pixels = smooth.reshape(-1, 3).astype(np.float32)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 10, 1.0)
    cv2.setRNGSeed(0)
    _, labels, centres = cv2.kmeans(pixels, 8, None, criteria, 2, cv2.KMEANS_PP_CENTERS)
    flat = centres.astype(np.uint8)[labels.ravel()].reshape(rgb.shape)
    grey = cv2.medianBlur(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), 7)
    outline = cv2.adaptiveThreshold(grey, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, 9, 2)
    return np.ascontiguousarray(cv2.bitwise_and(flat, flat, mask=outline))


def posterised(rgb: RGBImage, seed: int = 0) -> RGBImage:
    """The cartoon posterised to 8 levels a channel, with uniform noise of ±6 levels."""
    levels = (cartoon(rgb).astype(np.int16) // 32) * 32 + 16
    noise = np.random.default_rng(seed).integers(-6, 7, rgb.shape)
    return np.clip(levels + noise, 0, 255).astype(np.uint8)


def stylized(rgb: RGBImage) -> RGBImage:
    return np.asarray(cv2.stylization(rgb, sigma_s=60, sigma_r=0.45), dtype=np.uint8)


def pencil(rgb: RGBImage) -> RGBImage:
    _, colour = cv2.pencilSketch(rgb, sigma_s=60, sigma_r=0.07, shade_factor=0.05)
    return np.asarray(colour, dtype=np.uint8)


def encoded(rgb: RGBImage, suffix: str, *params: int) -> bytes:
    ok, data = cv2.imencode(suffix, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), list(params))
    assert ok
    return data.tobytes()


JPEG85 = (cv2.IMWRITE_JPEG_QUALITY, 85)
ATTACKS: dict[str, Callable[[RGBImage], bytes]] = {
    "cartoon PNG": lambda rgb: encoded(cartoon(rgb), ".png"),
    "cartoon JPEG 85": lambda rgb: encoded(cartoon(rgb), ".jpg", *JPEG85),
    "posterised + noise PNG": lambda rgb: encoded(posterised(rgb), ".png"),
    "stylization PNG": lambda rgb: encoded(stylized(rgb), ".png"),
    "stylization JPEG 85": lambda rgb: encoded(stylized(rgb), ".jpg", *JPEG85),
    "pencil sketch PNG": lambda rgb: encoded(pencil(rgb), ".png"),
}


def features(verifier: Verifier, source: object) -> np.ndarray | None:
    """The located face's drawing features; None when no face is found (refused anyway) or the
    face is grey (the colour measure's to judge)."""
    try:
        located = verifier.locate(source, "live")  # type: ignore[arg-type]
    except ImpostorError:
        return None
    if not located.boxes:
        return None
    box = located.boxes[0]
    if (
        located.image.info.is_grey
        or colour_spread(located.image.pixels, box) < default_limits()["min_colour_spread"]
    ):
        return None
    return drawing_features(located.image.pixels, box)


def shuffled_split(lfw: Path) -> tuple[list[Path], list[Path]]:
    """``lfw_split``'s two parts, each shuffled with a fixed seed."""
    parts = lfw_split(lfw)
    for part in parts:
        random.Random(0).shuffle(part)
    return parts


def chip_portraits(chip: Path) -> list[bytes]:
    """Every distinct portrait in the chip files (DG2s and bare face records)."""
    found: dict[bytes, None] = {}
    for path in sorted(chip.rglob("*")):
        if path.is_file() and path.suffix in (".bin", ".dat"):
            try:
                found |= {portrait.image: None for portrait in read_dg2(path.read_bytes(), path.name)}
            except ImpostorError:
                continue
    return list(found)


def collect(verifier: Verifier, photos: list[object], attacked: int) -> dict[str, list[np.ndarray]]:
    """Features of the bona fide photos, and of the attacks made from the first ``attacked``."""
    sets: dict[str, list[np.ndarray]] = {"bona fide": [], **{name: [] for name in ATTACKS}}
    for index, photo in enumerate(photos):
        found = features(verifier, photo)
        if found is None:
            continue
        sets["bona fide"].append(found)
        if index < attacked:
            pixels = load_image(photo).pixels  # type: ignore[arg-type]
            for name, make in ATTACKS.items():
                drawn = features(verifier, make(pixels))
                sets[name].append(drawn if drawn is not None else np.full(len(DRAWING_FEATURES), np.nan))
    return sets


LIMIT_MARGIN = 2.0  # log-odds between the highest tuning photo and the limit


def fit(tuning: dict[str, list[np.ndarray]]) -> tuple[dict[str, Any], float]:
    """A logistic model fitted on the tuning sets, and the limit ``LIMIT_MARGIN`` above every
    bona fide face."""
    from sklearn.linear_model import LogisticRegression

    real = np.array(tuning["bona fide"])
    drawn = np.array([row for name in ATTACKS for row in tuning[name] if not np.isnan(row).any()])
    x = np.vstack([real, drawn])
    y = np.r_[np.zeros(len(real)), np.ones(len(drawn))]
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    model = LogisticRegression(C=1.0, max_iter=5000, class_weight={0: 20, 1: 1})
    model.fit((x - mean) / scale, y)
    entry = {
        "features": list(DRAWING_FEATURES),
        "mean": tuple(round(float(v), 6) for v in mean),
        "scale": tuple(round(float(v), 6) for v in scale),
        "weights": tuple(round(float(v), 6) for v in model.coef_[0]),
        "intercept": round(float(model.intercept_[0]), 6),
    }
    scores = model.decision_function((real - mean) / scale)
    return entry, round(float(np.ceil(scores.max() * 10) / 10) + LIMIT_MARGIN, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(str(settings.get("data_dir"))))
    parser.add_argument("--lfw", type=int, default=300, help="LFW photos of each part turned into attacks")
    parser.add_argument("--real", type=int, default=1500, help="more LFW photos of each part, bona fide only")
    parser.add_argument("--fit", action="store_true", help="fit the model on the tuning part and print it")
    parser.add_argument("--json", type=Path)
    options = parser.parse_args()
    verifier = Verifier()
    tuning_lfw, held_lfw = shuffled_split(options.data / "lfw")
    dev = sorted((options.data / "faces-dev").glob("*/*.jp*g"))
    take = options.lfw + options.real
    tuning_photos: list[object] = [*tuning_lfw[:take]]
    tuning = collect(verifier, tuning_photos, options.lfw)
    # other real photos in the tuning part: faces-dev's extras and the bundled samples' live photos
    # (a grainy 1980s scan of Grace Hopper among them), unlike LFW's clean crops
    extras = [
        p for p in sorted((options.data / "faces-dev-extras").rglob("*")) if p.suffix in (".jpg", ".png")
    ]
    samples = sorted((Path(__file__).resolve().parent.parent / "samples").glob("live_*.jpg"))
    tuning["bona fide"] += collect(verifier, [*dev, *extras, *samples], 0)["bona fide"]
    held = collect(verifier, list(held_lfw[:take]), options.lfw)
    chips = collect(verifier, list(chip_portraits(options.data / "documents" / "chip")), 0)["bona fide"]
    if options.fit:
        entry, limit = fit(tuning)
        print(json.dumps({"models": {"drawing": entry}, "max_drawing_score": limit}, indent=2))
        model = DrawingModel(entry["mean"], entry["scale"], entry["weights"], entry["intercept"])
    else:
        model, limit = drawing_model(), default_limits()["max_drawing_score"]
    rows: dict[str, dict[str, object]] = {}
    print(f"max_drawing_score = {limit:g}")
    print(f"{'part':<10}{'presentations':<26}{'faces':>7}{'refused':>10}")
    for part, sets in (("tuning", tuning), ("held out", {**held, "chip portraits": chips})):
        for name, found in sets.items():
            judged = [row for row in found if not np.isnan(row).any()]
            lost = len(found) - len(judged)  # attacks in which no face was found: refused anyway
            refused = sum(model.log_odds(row) > limit for row in judged) + lost
            kind = "attack" if name in ATTACKS else "bona fide"
            rate = refused / max(1, len(found))
            rows[f"{part}: {name}"] = {"kind": kind, "faces": len(found), "refused": refused, "rate": rate}
            print(f"{part:<10}{name:<26}{len(found):>7}{refused:>4} ({rate:6.2%})")
    print("BPCER is the refused share of bona fide faces; APCER is 100% less the refused share of attacks.")
    if options.json:
        options.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
