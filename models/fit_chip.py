"""Fit the chip profile: a passport chip's portrait (DG2) against a live photo, on LFW View 1.

    uv run python models/fit_chip.py [--data DIR] [--out impostor/data/chip_profile.json]

Each left photo of LFW View 1 (pairsDevTrain and pairsDevTest) becomes a chip portrait as
``bench/bench_chip.py`` makes it (ISO/IEC 19794-5 token frontal, 413 × 551, JPEG of at most
20 kB); the right photo is the live one. The calibration is fitted on pairsDevTrain's pairs, the
accept distance chosen for FMR 0.1% on every training chip against every training live photo of
another person, the reject distance for FNMR 1% on every training chip against the same
person's live photos, and the figures held out on pairsDevTest's pairs (other people). View 2
stays untouched: ``bench/bench_chip.py --chip-profile`` measures the profile on it. Embeddings go
through the embedding cache, so the benchmark that follows finds View 1's chips embedded.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
from pathlib import Path

from impostor import settings
from impostor.qa import EvaluationConfig, run_calibration

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from bench_chip import build_set, read_rows  # noqa: E402  (the benchmark's own chip portraits)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data", type=Path, default=Path(str(settings.get("data_dir"))), help="shared data folder"
    )
    parser.add_argument(
        "--out", type=Path, default=Path("impostor/data/chip_profile.json"), help="profile to write"
    )
    parser.add_argument("--workers", type=int, help="processes (default: one per core)")
    options = parser.parse_args(argv)
    lfw = options.data / "lfw"
    if not (lfw / "pairs_devtrain.csv").is_file() or not (lfw / "pairs_devtest.csv").is_file():
        print(f"no LFW View 1 pair lists at {lfw}: pass --data or set IMPOSTOR_DATA", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="impostor-chip-profile-") as scratch:
        root = Path(scratch) / "people"
        lists = {}
        for part in ("devtrain", "devtest"):
            passports = build_set(lfw, read_rows(lfw / f"pairs_{part}.csv"), root, options.workers or 2)
            images = passports.dataset.images
            lists[part] = Path(scratch) / f"{part}.csv"
            with lists[part].open("w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(["a", "b", "same"])
                for chip, live, same in zip(passports.chip, passports.live, passports.same, strict=True):
                    writer.writerow([images[chip], images[live], int(same)])
        profile = run_calibration(
            root,
            options.out,
            pairs_file=lists["devtrain"],
            heldout_pairs_file=lists["devtest"],
            name="chip",
            # "document": the thresholds are chosen on chips against live photos, never chip
            # against chip; no grey matching, as the default profile (chips are colour photos)
            config=EvaluationConfig(
                pick="central", progress=sys.stderr.isatty(), comparison="document", workers=options.workers
            ),
            command="python models/fit_chip.py " + " ".join(sys.argv[1:] if argv is None else argv),
        )
    print(f"wrote {options.out}: accept {profile.accept_distance}, reject {profile.reject_distance}")
    print(json.dumps(profile.provenance.get("heldout", {}), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
