"""Fuzz the image loader: seeded mutations of real images in every format it reads.

    uv run python bench/fuzz_loader.py [--inputs 100000] [--seed 0] [--seconds 0] [--json OUT]
    uv run python bench/fuzz_loader.py --memory [--megapixels 6]

Each input is a small image of one format (JPEG, PNG 8- and 16-bit, GIF, BMP, TIFF, WebP,
JPEG 2000, PNM, PFM, Radiance HDR), made from the public-domain astronaut photo that ships with
scikit-image, then mutated: bits flipped, bytes overwritten, cut short, a run repeated or
inserted, or a size field in the header set to a large number. ``load_image`` must then either
read it or raise one of impostor's own errors (the catalogue): anything else escaping is counted
and its first few cases printed with the seed that reproduces them. A crash of the process is
an escape too: the test suite runs this file in a child process.

Prints one JSON object: inputs tried, how they ended (read, each catalogue error), escapes,
seconds, inputs per second, the slowest input and the process's peak memory (a decoder that
allocates what a forged length field says shows there).

``--memory`` checks the decoding budget's estimate instead: each format (and a progressive JPEG
and a float TIFF) at the given size is decoded in a fresh process, and the memory the decoding
took (peak resident growth) is printed beside what the loader reserved for it. A ratio over 1
means the budget under-counts that format; the command then exits 1.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import cv2
import numpy as np

from impostor.errors import ImpostorError
from impostor.stages.capture import load_image

FORMATS = (".jpg", ".png", ".png16", ".gif", ".bmp", ".tif", ".webp", ".jp2", ".ppm", ".pfm", ".hdr")


def seeds(side: int = 96) -> dict[str, bytes]:
    """One encoded image of ``side`` × ``side`` per format, from scikit-image's astronaut."""
    from PIL import Image
    from skimage import data

    rgb = cv2.resize(np.ascontiguousarray(data.astronaut()), (side, side), interpolation=cv2.INTER_AREA)
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
    slowest = (0.0, "")
    for tried in range(1, inputs + 1):
        name = names[int(rng.integers(len(names)))]
        data = originals[name]
        for _ in range(int(rng.integers(1, 4))):  # one to three mutations stacked
            data = mutate(data, rng)
        began = time.perf_counter()
        try:
            load_image(data, name=f"input {tried}{name}")
            outcomes["read"] += 1
        except ImpostorError as error:
            outcomes[type(error).__name__] += 1
        except Exception as error:  # noqa: BLE001 - counting escapes is the point
            outcomes["ESCAPED"] += 1
            if len(escapes) < 10:
                escapes.append(f"input {tried} ({name}, seed {seed}): {type(error).__name__}: {error}"[:300])
        slowest = max(slowest, (time.perf_counter() - began, f"input {tried} ({name})"))
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
        "slowest_input": {"seconds": round(slowest[0], 3), "input": slowest[1]},
        "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


# the peak is reset first (Linux: 5 to clear_refs), or the imports' own peak would hide the decoding's
_MEASURE = """
import json, re, sys
from impostor.budget import DECODING
from impostor.stages.capture import load_image
def status(key):
    return int(re.search(key + r":\\s+(\\d+)", open("/proc/self/status").read()).group(1)) * 1024
data = open(sys.argv[1], "rb").read()
load_image(open(sys.argv[2], "rb").read())  # imports and first-use costs are not the format's
DECODING.peak_ = 0
with open("/proc/self/clear_refs", "w") as peak:
    peak.write("5")
before = status("VmRSS")
load_image(data)
print(json.dumps([status("VmHWM") - before, DECODING.peak_]))
"""


def memory(megapixels: float) -> dict[str, object]:
    """Peak memory of decoding each format at ``megapixels``, beside what the budget reserved."""
    side = int(round((megapixels * 1e6) ** 0.5))
    encoded = seeds(side)
    rgb = cv2.imdecode(np.frombuffer(encoded[".png"], np.uint8), cv2.IMREAD_COLOR)
    assert rgb is not None
    ok, progressive = cv2.imencode(".jpg", rgb, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])
    encoded[".jpg-progressive"] = progressive.tobytes()
    ok, floats = cv2.imencode(".tif", np.dstack([rgb, rgb[:, :, :1]]).astype(np.float32) / 255.0)
    encoded[".tif-float-rgba"] = floats.tobytes()
    rows: dict[str, object] = {}
    worst = 0.0
    with tempfile.TemporaryDirectory() as folder:
        warm = Path(folder) / "warm.png"
        warm.write_bytes(seeds(96)[".png"])
        for name, data in sorted(encoded.items()):
            path = Path(folder) / f"image{name}"
            path.write_bytes(data)
            done = subprocess.run(
                [sys.executable, "-c", _MEASURE, str(path), str(warm)],
                capture_output=True,
                text=True,
                timeout=600,
            )
            if done.returncode != 0:
                rows[name] = {"error": done.stderr.strip().splitlines()[-1][:200]}
                continue
            used, reserved = json.loads(done.stdout)
            ratio = used / reserved if reserved else float("inf")
            worst = max(worst, ratio)
            rows[name] = {
                "used_mb": round(used / 2**20),
                "reserved_mb": round(reserved / 2**20),
                "ratio": round(ratio, 2),
            }
    return {"megapixels": round(side * side / 1e6, 2), "formats": rows, "worst_ratio": round(worst, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=0.0, help="stop after this long (0: no limit)")
    parser.add_argument("--json", type=Path, help="also write the result here")
    parser.add_argument("--memory", action="store_true", help="check the decoding budget's estimate instead")
    parser.add_argument("--megapixels", type=float, default=6.0, help="image size for --memory")
    options = parser.parse_args()
    if options.memory:
        result = memory(options.megapixels)
        failed = float(result["worst_ratio"]) > 1.0  # type: ignore[arg-type]
    else:
        result = run(options.inputs, options.seed, options.seconds)
        failed = bool(result["escapes"])
    text = json.dumps(result, indent=2)
    print(text)
    if options.json:
        options.json.write_text(text + "\n", encoding="utf-8")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
