"""Do the live quality gates tell a person from a drawing held up? APCER and BPCER (ISO/IEC 30107-3).

    uv run python bench/bench_presentation.py [--data DIR] [--lfw 1500] [--json OUT]

Bona fide presentations: every faces-dev photo and a seeded sample of LFW's colour photos,
judged as live photos. Attacks: each faces-dev photo turned into a cartoon (three bilateral
filters, its colours reduced to 8 by k-means, dark outlines), saved as PNG and as JPEG at
quality 85. For each, the share refused by the ``palette`` measure alone and by the whole set of
live gates is printed: BPCER (bona fide refused) and APCER (attacks accepted).
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import cv2
import numpy as np

from impostor import settings
from impostor.capture import load_image
from impostor.pipeline import Verifier
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


def encoded(rgb: RGBImage, suffix: str, *params: int) -> bytes:
    ok, data = cv2.imencode(suffix, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), list(params))
    assert ok
    return data.tobytes()


def judge(verifier: Verifier, source: object) -> tuple[bool, bool] | None:
    """(palette refused, any live gate refused), or None when no face is found."""
    try:
        _, report = verifier.quality(source, "live")  # type: ignore[arg-type]
    except Exception:  # noqa: BLE001 - no face, or not readable: not a presentation we can judge
        return None
    return (not report.measure("palette").passed, not report.passed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(str(settings.get("data_dir"))))
    parser.add_argument("--lfw", type=int, default=1500, help="LFW colour photos in the bona fide set")
    parser.add_argument("--json", type=Path)
    options = parser.parse_args()
    verifier = Verifier()
    dev = sorted((options.data / "faces-dev").glob("*/*.jpg"))
    lfw = sorted((options.data / "lfw" / "lfw").glob("*/*.jpg"))
    random.Random(0).shuffle(lfw)
    sets: dict[str, list[tuple[bool, bool]]] = {
        "faces-dev": [],
        "LFW": [],
        "cartoon PNG": [],
        "cartoon JPEG 85": [],
    }
    for path in dev:
        image = load_image(path)
        for name, source in (
            ("faces-dev", image),
            ("cartoon PNG", encoded(cartoon(image.pixels), ".png")),
            ("cartoon JPEG 85", encoded(cartoon(image.pixels), ".jpg", cv2.IMWRITE_JPEG_QUALITY, 85)),
        ):
            outcome = judge(verifier, source)
            if outcome is not None:
                sets[name].append(outcome)
    for path in lfw:
        if len(sets["LFW"]) >= options.lfw:
            break
        image = load_image(path)
        if image.info.is_grey:
            continue
        outcome = judge(verifier, image)
        if outcome is not None:
            sets["LFW"].append(outcome)
    rows = {}
    print(f"{'presentations':<18}{'kind':<10}{'faces':>7}{'refused: palette':>18}{'any live gate':>15}")
    for name, outcomes in sets.items():
        kind = "bona fide" if name in ("faces-dev", "LFW") else "attack"
        palette = sum(p for p, _ in outcomes) / max(1, len(outcomes))
        any_gate = sum(a for _, a in outcomes) / max(1, len(outcomes))
        rows[name] = {
            "kind": kind,
            "faces": len(outcomes),
            "palette_refused": palette,
            "any_gate_refused": any_gate,
        }
        print(f"{name:<18}{kind:<10}{len(outcomes):>7}{palette:>18.1%}{any_gate:>15.1%}")
    print("BPCER is the refused share of bona fide faces; APCER is 100% less the refused share of attacks.")
    if options.json:
        options.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
