"""Does the damage check refer corrupt JPEGs, and how often does it refuse whole ones?

    uv run python bench/bench_damage.py [--data DIR] [--lfw 1500] [--flips 2] [--json OUT]

A JPEG counts as damaged when libjpeg reports lost data (``ImageInfo.damage``) or when the
``corruption`` measure (``impostor.stages.quality.block_shift``) is over the ``max_block_shift`` limit;
both refer a comparison. False alarms: every faces-dev JPEG and a seeded sample of LFW,
unaltered. Catches: each image with 1 to 3 random bits flipped in its entropy-coded data (no
marker made or broken), counted among the copies that are visibly damaged: at least 5% of their
pixels off by more than 24 grey levels from the unaltered decoding. LFW is split by person:
people in View 1 (pairsDevTrain/DevTest, where the limit was tuned, with faces-dev) and people
only in View 2 (held out). The check runs on the decoded image: no face is detected here.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import numpy as np
from lfw_people import lfw_split

from impostor import settings
from impostor.errors import ImpostorError
from impostor.stages.capture import load_image
from impostor.stages.quality import block_shift, default_limits

VISIBLE_LEVELS = 24  # a pixel counts as changed when one channel moved more than this
VISIBLE_SHARE = 0.05  # and a copy as visibly damaged when this share of its pixels changed


def flipped(data: bytes, bits: int, rng: random.Random) -> bytes:
    """``data`` with ``bits`` random bits flipped in the first scan's entropy-coded data."""
    start = data.index(b"\xff\xda")
    start += 2 + int.from_bytes(data[start + 2 : start + 4], "big")
    end = data.rindex(b"\xff\xd9")
    copy = bytearray(data)
    for _ in range(bits):
        while True:
            at = rng.randrange(start, end)
            new = copy[at] ^ (1 << rng.randrange(8))
            if 0xFF not in (copy[at], new, copy[at - 1]):  # make or break no marker
                copy[at] = new
                break
    return bytes(copy)


def flagged(source: bytes | Path, limit: float) -> tuple[bool, str, np.ndarray] | None:
    """(damaged, why, pixels), or None when the bytes no longer decode at all (refused anyway)."""
    try:
        image = load_image(source)
    except ImpostorError:
        return None
    if image.info.damage:
        return True, "libjpeg", image.pixels
    shift = block_shift(image.pixels, 8 // image.info.decode_scale, image.info.exif_orientation)
    return shift > limit, "block shift", image.pixels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(str(settings.get("data_dir"))))
    parser.add_argument("--lfw", type=int, default=1500, help="LFW photos from each part")
    parser.add_argument("--flips", type=int, default=2, help="damaged copies of each photo")
    parser.add_argument("--json", type=Path)
    options = parser.parse_args()
    limit = default_limits()["max_block_shift"]
    dev = sorted((options.data / "faces-dev").glob("*/*.jp*g"))
    tuning, held = lfw_split(options.data / "lfw")
    random.Random(0).shuffle(tuning)
    random.Random(0).shuffle(held)
    parts = {
        "tuning: faces-dev + LFW View 1 people": dev + tuning[: options.lfw],
        "held out: LFW View 2-only people": held[: options.lfw],
    }
    rng = random.Random(1)
    rows: dict[str, dict[str, float]] = {}
    print(f"max_block_shift = {limit:g} grey levels")
    print(f"{'part':<40}{'whole':>7}{'false alarms':>14}{'damaged':>9}{'caught':>8}{'by libjpeg':>12}")
    for name, photos in parts.items():
        whole = alarms = damaged = caught = by_libjpeg = 0
        for path in photos:
            data = path.read_bytes()
            original = flagged(data, limit)
            if original is None:
                continue
            whole += 1
            alarms += original[0]
            for _ in range(options.flips):
                copy = flagged(flipped(data, rng.choice((1, 2, 3)), rng), limit)
                if copy is None or copy[2].shape != original[2].shape:
                    continue
                change = np.abs(copy[2].astype(np.int16) - original[2]).max(axis=2)
                if np.mean(change > VISIBLE_LEVELS) < VISIBLE_SHARE:
                    continue
                damaged += 1
                caught += copy[0]
                by_libjpeg += copy[0] and copy[1] == "libjpeg"
        rows[name] = {
            "whole": whole,
            "false_alarms": alarms,
            "false_alarm_rate": alarms / max(1, whole),
            "damaged": damaged,
            "caught": caught,
            "catch_rate": caught / max(1, damaged),
            "caught_by_libjpeg": by_libjpeg,
        }
        print(
            f"{name:<40}{whole:>7}{alarms:>6} ({alarms / max(1, whole):.2%}){damaged:>9}"
            f"{caught / max(1, damaged):>8.1%}{by_libjpeg / max(1, damaged):>12.1%}"
        )
    print("A copy whose bytes no longer decode is refused as not an image and is not counted.")
    if options.json:
        options.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
