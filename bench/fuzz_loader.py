"""Fuzz the image loader: seeded mutations of real images in every format it reads.

    uv run python bench/fuzz_loader.py [--inputs 100000] [--seed 0] [--seconds 0] [--json OUT]

Each input is a small image of one format (JPEG, PNG 8- and 16-bit, GIF, BMP, TIFF, WebP,
JPEG 2000, PNM, PFM, Radiance HDR), made from the public-domain astronaut photo that ships with
scikit-image, then mutated: bits flipped, bytes overwritten, cut short, a run repeated or
inserted, or a size field in the header set to a large number. ``load_image`` must then either
read it or raise one of impostor's own errors (the catalogue): anything else escaping is counted
and its first few cases printed with the seed that reproduces them. A crash of the process is
an escape too: the test suite runs this file in a child process.

Prints one JSON object: inputs tried, how they ended (read, each catalogue error), escapes,
seconds, and inputs per second.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

import cv2
import numpy as np

from impostor.capture import load_image
from impostor.errors import ImpostorError

FORMATS = (".jpg", ".png", ".png16", ".gif", ".bmp", ".tif", ".webp", ".jp2", ".ppm", ".pfm", ".hdr")


def seeds() -> dict[str, bytes]:
    """One small encoded image per format, from scikit-image's astronaut."""
    from PIL import Image
    from skimage import data

    rgb = cv2.resize(np.ascontiguousarray(data.astronaut()), (96, 96), interpolation=cv2.INTER_AREA)
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    found: dict[str, bytes] = {}
    for suffix in FORMATS:
        if suffix == ".gif":
            import io

            buffer = io.BytesIO()
            Image.fromarray(rgb).save(buffer, format="GIF")
            found[suffix] = buffer.getvalue()
            continue
        if suffix == ".png16":
            ok, encoded = cv2.imencode(".png", bgr.astype(np.uint16) * 257)
        elif suffix in (".pfm", ".hdr"):
            ok, encoded = cv2.imencode(suffix, bgr.astype(np.float32) / 255.0)
        else:
            ok, encoded = cv2.imencode(suffix, bgr)
        if ok:
            found[suffix] = encoded.tobytes()
    return found


def mutate(data: bytes, rng: np.random.Generator) -> bytes:
    """One random mutation of ``data`` (never the same bytes back for data of 8 bytes or more)."""
    out = bytearray(data)
    kind = int(rng.integers(6))
    n = len(out)
    if kind == 0:  # flip a few bits
        for _ in range(int(rng.integers(1, 9))):
            out[int(rng.integers(n))] ^= 1 << int(rng.integers(8))
    elif kind == 1:  # overwrite a run with random bytes
        start = int(rng.integers(n))
        length = int(rng.integers(1, 64))
        out[start : start + length] = rng.integers(0, 256, min(length, n - start), dtype=np.uint8).tobytes()
    elif kind == 2:  # cut short
        del out[int(rng.integers(1, max(2, n))) :]
    elif kind == 3:  # repeat a run in place
        start = int(rng.integers(n))
        chunk = out[start : start + int(rng.integers(1, 256))]
        out[start:start] = chunk * int(rng.integers(1, 8))
    elif kind == 4:  # insert random bytes
        start = int(rng.integers(n))
        out[start:start] = rng.integers(0, 256, int(rng.integers(1, 128)), dtype=np.uint8).tobytes()
    else:  # a header field set large: sizes live in the first hundred bytes of every format here
        at = int(rng.integers(min(n, 100)))
        width = int(rng.choice([1, 2, 4]))
        value = int(rng.choice([0, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF])) & ((1 << (8 * width)) - 1)
        out[at : at + width] = value.to_bytes(width, "big" if rng.integers(2) else "little")
    return bytes(out)


def run(inputs: int, seed: int, seconds: float) -> dict[str, object]:
    """Fuzz ``inputs`` mutated images (or until ``seconds`` pass, when positive)."""
    rng = np.random.default_rng(seed)
    originals = seeds()
    names = sorted(originals)
    outcomes: Counter[str] = Counter()
    escapes: list[str] = []
    started = time.perf_counter()
    tried = 0
    for tried in range(1, inputs + 1):
        name = names[int(rng.integers(len(names)))]
        data = originals[name]
        for _ in range(int(rng.integers(1, 4))):  # one to three mutations stacked
            data = mutate(data, rng)
        try:
            load_image(data, name=f"input {tried}{name}")
            outcomes["read"] += 1
        except ImpostorError as error:
            outcomes[type(error).__name__] += 1
        except Exception as error:  # noqa: BLE001 - counting escapes is the point
            outcomes["ESCAPED"] += 1
            if len(escapes) < 10:
                escapes.append(f"input {tried} ({name}, seed {seed}): {type(error).__name__}: {error}"[:300])
        if seconds and time.perf_counter() - started > seconds:
            break
    took = time.perf_counter() - started
    return {
        "inputs": tried,
        "seed": seed,
        "formats": names,
        "outcomes": dict(sorted(outcomes.items())),
        "escapes": outcomes["ESCAPED"],
        "first_escapes": escapes,
        "seconds": round(took, 1),
        "inputs_per_second": round(tried / took, 1) if took else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=0.0, help="stop after this long (0: no limit)")
    parser.add_argument("--json", type=Path, help="also write the result here")
    options = parser.parse_args()
    result = run(options.inputs, options.seed, options.seconds)
    text = json.dumps(result, indent=2)
    print(text)
    if options.json:
        options.json.write_text(text + "\n", encoding="utf-8")
    sys.exit(1 if result["escapes"] else 0)


if __name__ == "__main__":
    main()
