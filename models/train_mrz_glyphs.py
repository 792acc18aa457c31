"""Train the MRZ glyph classifier shipped as ``impostor/data/mrz_glyphs.json``.

    uv run python models/train_mrz_glyphs.py [--font /usr/share/fonts/opentype/ocr-b/OCRB.otf]

Lines of random MRZ characters are set in OCR-B (Debian's ``fonts-ocr-b``, Matthew Skala's
public-domain font; ``apt-get install fonts-ocr-b``), worn the ways data pages are (strokes
thinned and thickened, a slight tilt, a small scale, blur, JPEG, noise, a tinted and patterned
background), and cut into cells exactly as the reader cuts them (``impostor.document.ocr``),
with the grid a little off. A one-hidden-layer network learns the cells. The file it writes is
JSON with the weights as base64 float32, the font's SHA-256 and the settings used: no pickle.
No shared document image is used, so the shared test pages stay a fair test.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont
from sklearn.neural_network import MLPClassifier

from impostor.document.glyphs import CELL, GLYPHS, cell_patch

FONTS = Path("/usr/share/fonts/opentype/ocr-b")
FACES = ("OCRB.otf",)  # the regular face
OUT = Path(__file__).resolve().parent.parent / "impostor" / "data" / "mrz_glyphs.json"
SIZE = 64  # the font size lines are set at before they are worn down
SCHEMA_VERSION = 2  # 2: an ensemble of members, each with its recipe


@dataclass(frozen=True)
class Recipe:
    """How one member's training lines are worn: the capitals' height on the reader's working
    copy (px), the share of lines shrunk first to a source size of ``smallest`` px or more and
    enlarged back, the lines and the seed."""

    name: str
    caps: tuple[float, float]
    shrunk: float
    smallest: float
    lines: int
    seed: int


# two members whose errors differ: lines set at the working size, and lines set small and
# enlarged (their probabilities are averaged; on the shared pages the pair reads better than
# either, and better than one member trained on both)
RECIPES = (
    Recipe("direct", (9.0, 40.0), 0.0, 9.0, 1500, 9303),
    Recipe("enlarged", (22.0, 42.0), 0.8, 5.0, 1200, 9304),
)


def _line_text(rng: np.random.Generator, count: int) -> str:
    chars = []
    while len(chars) < count:
        if rng.random() < 0.2:
            chars += ["<"] * int(rng.integers(1, 8))
        else:
            chars.append(GLYPHS[int(rng.integers(1, len(GLYPHS)))])
    return "".join(chars[:count])


def _worn(
    image: np.ndarray, rng: np.random.Generator, cap: float, recipe: Recipe
) -> tuple[np.ndarray, float]:
    """The set line (white paper, black ink, at SIZE) worn down; returns it and its scale."""
    # ink spreads or thins a little in print (erode or dilate the white)
    kernel = int(rng.integers(0, 4))
    if kernel:
        element = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (kernel, kernel))
        image = cv2.erode(image, element) if rng.random() < 0.5 else cv2.dilate(image, element)
    paper, ink = rng.uniform(150, 255), rng.uniform(0, 110)
    tinted = paper - (255 - image.astype(np.float32)) / 255 * (paper - ink)
    height, width = tinted.shape
    # a background of soft blotches and, sometimes, fine security lines
    blotches = cv2.resize(
        rng.normal(0, rng.uniform(0, 18), (4, 12)).astype(np.float32),
        (width, height),
        interpolation=cv2.INTER_CUBIC,
    )
    tinted += blotches
    if rng.random() < 0.3:
        period = rng.uniform(6, 20)
        yy, xx = np.mgrid[0:height, 0:width]
        tinted -= rng.uniform(5, 30) * (np.sin((xx * rng.uniform(-1, 1) + yy) / period * 2 * np.pi) > 0.8)
    # the reader works on a copy of the page about 1,400 px wide; most pages come smaller (a
    # 400 px web copy: capitals of 6-10 px) and are enlarged to that copy, so the "enlarged"
    # recipe shrinks a line to such a size, wears it there, and enlarges it back
    low, high = recipe.caps
    work_cap = rng.uniform(low, high)
    source_cap = rng.uniform(recipe.smallest, work_cap) if rng.random() < recipe.shrunk else work_cap
    scale = work_cap / cap
    shrink = source_cap / work_cap
    angle = rng.uniform(-1.0, 1.0)
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, scale * shrink)
    size = (max(8, int(width * scale * shrink)), max(8, int(height * scale * shrink)))
    matrix[:, 2] += [(size[0] - width) / 2, (size[1] - height) / 2]
    small = cv2.warpAffine(tinted, matrix, size, flags=cv2.INTER_AREA, borderValue=float(paper))
    sigma = rng.uniform(0, 0.8)
    if sigma > 0.2:
        small = cv2.GaussianBlur(small, (0, 0), sigma)
    small += rng.normal(0, rng.uniform(0, 8), small.shape)
    small8 = np.clip(small, 0, 255).astype(np.uint8)
    if rng.random() < 0.6:
        ok, encoded = cv2.imencode(".jpg", small8, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(25, 95))])
        small8 = cv2.imdecode(encoded, cv2.IMREAD_GRAYSCALE)
    if shrink < 1:
        full = (int(round(width * scale)), int(round(height * scale)))
        small8 = cv2.resize(small8, full, interpolation=cv2.INTER_CUBIC)
    return small8, scale


def samples(folder: Path, lines: int, seed: int, recipe: Recipe) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    fonts = [ImageFont.truetype(str(folder / face), SIZE) for face in FACES]
    patches, labels = [], []
    for _ in range(lines):
        font = fonts[int(rng.integers(len(fonts)))]
        advance = font.getlength("0")
        cap_top, cap_bottom = font.getbbox("H")[1], font.getbbox("H")[3]
        count = 44
        text = _line_text(rng, count)
        width, height = int(advance * (count + 2)), int(SIZE * 2)
        canvas = Image.new("L", (width, height), 255)
        origin = (advance, SIZE / 2)
        ImageDraw.Draw(canvas).text(origin, text, font=font, fill=0)
        worn, scale = _worn(np.asarray(canvas), rng, cap_bottom - cap_top, recipe)
        pitch = advance * scale
        top = (origin[1] + cap_top) * scale
        bottom = (origin[1] + cap_bottom) * scale
        band = worn[max(0, int(top - (bottom - top))) : int(bottom + (bottom - top))]
        paper, ink = float(np.percentile(band, 90)), float(np.percentile(band, 3))
        shift = rng.normal(0, 0.06) * pitch  # the fitted grid is a little off, the same way along a line
        for i, char in enumerate(text):
            centre = (origin[0] + advance * (i + 0.5)) * scale + shift + rng.normal(0, 0.05) * pitch
            dy = rng.normal(0, 0.05) * (bottom - top)
            patches.append(
                cell_patch(
                    worn, centre, top + dy, bottom + dy, pitch * rng.uniform(0.95, 1.05), paper=paper, ink=ink
                ).ravel()
            )
            labels.append(GLYPHS.index(char))
    return np.asarray(patches, dtype=np.float32), np.asarray(labels)


def _array(values: np.ndarray) -> dict[str, object]:
    data = np.ascontiguousarray(values, dtype="<f4")
    return {"shape": list(data.shape), "data": base64.b64encode(data.tobytes()).decode("ascii")}


def _member(recipe: Recipe, fonts: Path, hidden: int, epochs: int) -> dict[str, object]:
    started = time.perf_counter()
    train_x, train_y = samples(fonts, recipe.lines, recipe.seed, recipe)
    test_x, test_y = samples(fonts, max(50, recipe.lines // 10), recipe.seed + 1000, recipe)
    model = MLPClassifier(hidden_layer_sizes=(hidden,), alpha=1e-4, max_iter=epochs, random_state=recipe.seed)
    model.fit(train_x, train_y)
    accuracy = float((model.predict(test_x) == test_y).mean())
    seconds = time.perf_counter() - started
    print(f"{recipe.name}: {len(train_y)} cells, held-out rendered cells {accuracy:.2%}, {seconds:.0f} s")
    return {
        "recipe": asdict(recipe),
        "cells": int(len(train_y)),
        "held_out_rendered_accuracy": round(accuracy, 4),
        "arrays": {
            "hidden_weights": _array(model.coefs_[0]),
            "hidden_bias": _array(model.intercepts_[0]),
            "output_weights": _array(model.coefs_[1]),
            "output_bias": _array(model.intercepts_[1]),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fonts", type=Path, default=FONTS, help="the folder of fonts-ocr-b's faces")
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    missing = [face for face in FACES if not (args.fonts / face).exists()]
    if missing:
        raise SystemExit(f"{args.fonts}: no {', '.join(missing)}; apt-get install fonts-ocr-b")
    members = [_member(recipe, args.fonts, args.hidden, args.epochs) for recipe in RECIPES]
    document = {
        "schema_version": SCHEMA_VERSION,
        "kind": "impostor MRZ glyph classifier",
        "glyphs": GLYPHS,
        "cell": list(CELL),
        "members": members,
        "provenance": {
            "made_by": "models/train_mrz_glyphs.py",
            "fonts": {face: hashlib.sha256((args.fonts / face).read_bytes()).hexdigest() for face in FACES},
            "font_package": "Debian fonts-ocr-b (Matthew Skala's OCR-B, public domain)",
            "hidden": args.hidden,
            "epochs": args.epochs,
            "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
    }
    args.out.write_text(json.dumps(document, separators=(",", ":")) + "\n")
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
