"""Benchmark: document portrait against live photo, on LFW View 2 with the left photo printed.

    uv run python bench/bench_documents.py [--data DIR] [--wears clean,card,worn]
        [--pairs-per-fold 60] [--plain-pairs 100] [--json OUT]

For each wear (``impostor.printing.WEARS``: a clean passport page at 600 dpi, an ID card's
small portrait, a worn document scanned at low resolution), the left photo of every chosen pair
is printed as a data-page portrait (grey in about half of them, each with its own seed), and the
pairs are benchmarked as document against live, 10 folds, with ``impostor.qa.run_benchmark``:
pairs lost to no face, accuracy (each fold at the threshold chosen on the others), EER, and FMR
and FNMR at the shipped profile's thresholds. Also: how often HOG's first look misses the
printed portrait, and the plain face_recognition pipeline on the first ``--plain-pairs`` pairs
of each wear, beside ours on the same pairs (lost pairs and errors at distance 0.6).

The held-out simulation the issue quotes stays held out: this renderer is the project's own.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from impostor import settings
from impostor.pipeline.verifier import Verifier
from impostor.printing import WEARS, DocumentStyle, render_document
from impostor.qa import EvaluationConfig, run_benchmark
from impostor.qa.baseline import PLAIN_ACCEPT_DISTANCE, plain_embedding
from impostor.stages.capture import load_image
from impostor.stages.detect import detect_faces
from impostor.types import FaceBox

TARGET_MISSED = 0.15  # HOG's first look must miss at least this share at the hardest wear


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data", type=Path, default=Path(str(settings.get("data_dir"))), help="shared data folder"
    )
    parser.add_argument("--wears", default="clean,card,worn", help="wears to measure, from the kindest")
    parser.add_argument("--pairs-per-fold", type=int, default=60, help="pairs of each fold, half genuine")
    parser.add_argument(
        "--plain-pairs", type=int, default=100, help="pairs of each wear the plain pipeline runs"
    )
    parser.add_argument(
        "--grey-match", action="store_true", help="compare a colour face with a grey one in grey"
    )
    parser.add_argument("--flip", action="store_true", help="average each embedding with its mirror image's")
    parser.add_argument(
        "--profile", help="profile whose thresholds are measured (default: the shipped photo one)"
    )
    parser.add_argument("--json", dest="json_out", type=Path, help="also write the figures here")
    parser.add_argument(
        "--fit-profile",
        type=Path,
        help="instead, fit a document-against-live profile on LFW View 1 printed (wears in turn); "
        "write it here",
    )
    args = parser.parse_args(argv)
    lfw = args.data / "lfw"
    if not (lfw / "pairs_folds.csv").is_file():
        print(f"no LFW pair list at {lfw}: pass --data or set IMPOSTOR_DATA", file=sys.stderr)
        return 2
    wears = [name.strip() for name in args.wears.split(",") if name.strip()]
    unknown = [name for name in wears if name not in WEARS]
    if unknown:
        print(f"unknown wear {unknown[0]!r}: give some of {', '.join(WEARS)}", file=sys.stderr)
        return 2
    if args.fit_profile:
        return fit_profile(lfw, args.fit_profile, args.grey_match, args.flip)
    pairs = choose_pairs(lfw / "pairs_folds.csv", args.pairs_per_fold)
    print(
        f"LFW View 2, {len(pairs)} pairs ({args.pairs_per_fold} a fold, half genuine), "
        "the left photo printed\n"
    )
    figures: dict[str, Any] = {"pairs": len(pairs), "wears": {}}
    rows = []
    with tempfile.TemporaryDirectory(prefix="impostor-documents-") as scratch:
        root = Path(scratch)
        for wear in wears:
            started = time.perf_counter()
            pair_list, missed = render_pairs(root, lfw / "lfw", pairs, wear)
            report, _ = run_benchmark(
                None,
                root / f"report-{wear}",
                pairs_file=pair_list,
                profile=args.profile,
                config=EvaluationConfig(
                    pick="central", cache="", progress=False, grey_match=args.grey_match, flip=args.flip
                ),
                title=f"documents, {wear}",
            )
            data = report.to_dict()
            plain = plain_side_by_side(root, pair_list, args.plain_pairs)
            figure = summarise(wear, data, missed, plain, time.perf_counter() - started)
            figures["wears"][wear] = figure
            rows.append(figure)
            print_row(figure)
    hardest = rows[-1] if rows else None
    if hardest is not None and wears[-1] == "worn":
        met = hardest["hog_missed"] >= TARGET_MISSED
        print(
            f"\nHOG's first look misses {hardest['hog_missed']:.0%} of the worn portraits "
            f"(goal ≥ {TARGET_MISSED:.0%}: {'met' if met else 'NOT MET'})"
        )
    if args.json_out:
        args.json_out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


def fit_profile(lfw: Path, out: Path, grey_match: bool, flip: bool) -> int:
    """A document-against-live profile fitted on View 1's training pairs with the left photo
    printed (clean, card and worn in turn, by the photo's name), held out on its test pairs."""
    from impostor.qa import run_calibration

    wears = ("clean", "card", "worn")
    verifier = Verifier(detector="auto", pick="central")
    with tempfile.TemporaryDirectory(prefix="impostor-document-profile-") as scratch:
        root = Path(scratch) / "people"
        lists = {}
        for part in ("devtrain", "devtest"):
            with (lfw / f"pairs_{part}.csv").open(newline="") as handle:
                rows = list(csv.DictReader(handle))
            listed = []
            for row in rows:
                left, right = Path(row["a"].removeprefix("lfw/")), Path(row["b"].removeprefix("lfw/"))
                wear = wears[int.from_bytes(hashlib.sha256(str(left).encode()).digest()[:2], "little") % 3]
                document = root / left.parent / f"{left.stem}-{wear}.png"
                if not document.exists():
                    document.parent.mkdir(parents=True, exist_ok=True)
                    portrait = print_portrait(verifier, lfw / "lfw" / left, wear, str(left))
                    cv2.imwrite(str(document), cv2.cvtColor(portrait, cv2.COLOR_RGB2BGR))
                live = root / right
                if not live.exists():
                    live.parent.mkdir(parents=True, exist_ok=True)
                    live.symlink_to((lfw / "lfw" / right).resolve())
                listed.append([document.relative_to(root).as_posix(), right.as_posix(), row["same"]])
            lists[part] = Path(scratch) / f"{part}.csv"
            with lists[part].open("w", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(["a", "b", "same"])
                writer.writerows(listed)
        profile = run_calibration(
            root,
            out,
            pairs_file=lists["devtrain"],
            heldout_pairs_file=lists["devtest"],
            name="document",
            config=EvaluationConfig(
                pick="central",
                cache="",
                progress=False,
                comparison="document",
                grey_match=grey_match,
                flip=flip,
            ),
            command="python bench/bench_documents.py " + " ".join(sys.argv[1:]),
        )
    held = profile.provenance.get("heldout", {})
    print(f"wrote {out}: accept {profile.accept_distance}, reject {profile.reject_distance}")
    print(json.dumps(held, indent=2))
    return 0


def choose_pairs(pair_csv: Path, per_fold: int) -> list[dict[str, str]]:
    """The first ``per_fold`` pairs of each fold, half genuine and half impostor."""
    with pair_csv.open(newline="") as handle:
        every = list(csv.DictReader(handle))
    chosen = []
    for fold in sorted({row["fold"] for row in every}, key=int):
        for same in ("1", "0"):
            matching = [row for row in every if row["fold"] == fold and row["same"] == same]
            chosen += matching[: per_fold // 2]
    return chosen


def render_pairs(root: Path, images: Path, pairs: list[dict[str, str]], wear: str) -> tuple[Path, float]:
    """Each pair's left photo printed with ``wear`` under ``root/wear``; the pair list (CSV) of
    printed document against live photo, and the share of portraits HOG's first look misses."""
    verifier = Verifier(detector="auto", pick="central")
    folder = root / wear
    rendered: dict[str, str] = {}
    missed = 0
    out_rows = []
    for row in pairs:
        left = row["a"]
        if left not in rendered:
            name = Path(left.removeprefix("lfw/"))
            target = folder / name.with_suffix(".png")
            target.parent.mkdir(parents=True, exist_ok=True)
            portrait = print_portrait(verifier, images / name, wear, str(name))
            cv2.imwrite(str(target), cv2.cvtColor(portrait, cv2.COLOR_RGB2BGR))
            missed += not detect_faces(portrait, detector="hog", effort="glance")
            rendered[left] = target.relative_to(root).as_posix()
        live = (images / row["b"].removeprefix("lfw/")).resolve().as_posix()
        out_rows.append({"a": rendered[left], "b": live, "same": row["same"], "fold": row["fold"]})
    pair_list = root / f"pairs-{wear}.csv"
    with pair_list.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["a", "b", "same", "fold"])
        writer.writeheader()
        writer.writerows(out_rows)
    return pair_list, missed / max(1, len(rendered))


def print_portrait(verifier: Verifier, path: Path, wear: str, key: str) -> np.ndarray:
    """The photo at ``path`` printed with ``wear``: framed on its face (the central one), grey
    in about half the portraits; the style's seed comes from the photo's name and the wear."""
    located = verifier.locate(path, "document")
    pixels = located.image.pixels
    seed = int.from_bytes(hashlib.sha256(f"{key}|{wear}".encode()).digest()[:4], "little")
    style = DocumentStyle(colour=seed % 2 == 0, seed=seed)
    if located.boxes and located.landmarks is not None:
        eyes = (located.landmarks.left_eye, located.landmarks.right_eye)
        return render_document(pixels, located.boxes[0], style, eyes=eyes, wear=WEARS[wear])
    height, width = pixels.shape[:2]  # LFW centres its subject: frame the middle
    box = FaceBox(width * 0.3, height * 0.3, width * 0.7, height * 0.7)
    return render_document(pixels, box, style, wear=WEARS[wear])


def plain_side_by_side(root: Path, pair_list: Path, count: int) -> dict[str, Any]:
    """The plain pipeline and ours on the first ``count`` pairs: lost pairs, errors at 0.6."""
    with pair_list.open(newline="") as handle:
        listed = list(csv.DictReader(handle))
    folds = sorted({row["fold"] for row in listed}, key=int)
    each = max(1, count // (2 * len(folds)))  # the first genuine and impostor pairs of every fold
    rows = [
        row
        for fold in folds
        for same in ("1", "0")
        for row in [row for row in listed if row["fold"] == fold and row["same"] == same][:each]
    ]
    paths = sorted({root / row[side] for row in rows for side in ("a", "b")})
    with ProcessPoolExecutor(max_workers=2) as pool:
        plain = dict(zip(paths, pool.map(plain_embedding, paths, chunksize=8), strict=True))
    verifier = Verifier(pick="central")
    ours = {path: verifier.analyse(load_image(path)) for path in paths}
    figures: dict[str, Any] = {"pairs": len(rows)}
    for name, vector in (
        ("plain", lambda path: plain[path]),
        ("impostor", lambda path: ours[path].face.embedding if ours[path].face is not None else None),
    ):
        lost = errors = 0
        for row in rows:
            a, b = vector(root / row["a"]), vector(root / row["b"])
            if a is None or b is None:
                lost += 1
                errors += 1
                continue
            accepted = float(np.linalg.norm(a - b)) <= PLAIN_ACCEPT_DISTANCE
            errors += accepted != (row["same"] == "1")
        figures[name] = {"lost": lost, "errors": errors}
    return figures


def summarise(
    wear: str, data: dict[str, Any], missed: float, plain: dict[str, Any], seconds: float
) -> dict[str, Any]:
    counts, folds = data["counts"], data["folds"]
    accept, reject = data["profile_thresholds"]
    return {
        "wear": wear,
        "hog_missed": round(missed, 4),
        "lost_pairs": counts["lost_genuine"] + counts["lost_impostor"],
        "pairs": counts["genuine_pairs"] + counts["impostor_pairs"],
        "accuracy": folds["mean"],
        "accuracy_std": folds["std"],
        "eer": data["eer"]["rate"],
        "accept": {"threshold": accept["threshold"], "fmr": accept["fmr"], "fnmr": accept["fnmr"]},
        "reject": {"threshold": reject["threshold"], "fmr": reject["fmr"], "fnmr": reject["fnmr"]},
        "plain": plain,
        "seconds": round(seconds, 1),
    }


def print_row(figure: dict[str, Any]) -> None:
    accept, reject, plain = figure["accept"], figure["reject"], figure["plain"]
    print(
        f"{figure['wear']:6}  HOG misses {figure['hog_missed']:5.1%} of the portraits;  "
        f"{figure['lost_pairs']:3} of {figure['pairs']} pairs lost;  "
        f"accuracy {figure['accuracy']:.2%} ± {figure['accuracy_std']:.2%};  EER {figure['eer']:.1%}"
    )
    print(
        f"        at accept {accept['threshold']}: FMR {accept['fmr']:.2%}, FNMR {accept['fnmr']:.1%};  "
        f"at reject {reject['threshold']}: FNMR {reject['fnmr']:.1%}   ({figure['seconds']:.0f} s)"
    )
    print(
        f"        first {plain['pairs']} pairs at 0.6: plain {plain['plain']['lost']} lost, "
        f"{plain['plain']['errors']} errors;  impostor {plain['impostor']['lost']} lost, "
        f"{plain['impostor']['errors']} errors"
    )


if __name__ == "__main__":
    sys.exit(main())
