"""Fit the shipped default profile (models/default.json) on LFW View 1.

    uv run python models/fit_default.py [--data ../shared/data] [--out models/default.json]

Protocol: the calibration is fitted on the pairsDevTrain pairs (1,100 genuine + 1,100
impostor). The accept threshold is set for FMR 0.1% on every cross-identity pair among the
pairsDevTrain images (millions of impostor comparisons, enough to estimate 1e-3), and the
reject threshold for FNMR 1% on every same-identity pair among them. pairsDevTest (1,000
pairs) is held out and its figures are written into the profile's provenance. Images in which
no face is found count as failures to acquire and are reported.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from impostor import __version__, settings  # noqa: E402
from impostor.calibrate import fit_calibration, summary, threshold_at_fmr, threshold_at_fnmr  # noqa: E402
from impostor.embed import EMBEDDING_MODEL  # noqa: E402
from impostor.profile import Profile  # noqa: E402

TARGET_FMR = 1e-3
REJECT_FNMR = 1e-2


def read_pairs(path: Path) -> list[tuple[str, str, int]]:
    with path.open(newline="") as handle:
        return [(row["a"], row["b"], int(row["same"])) for row in csv.DictReader(handle)]


_verifier = None


def embed_one(path: str) -> np.ndarray | None:
    global _verifier
    if _verifier is None:
        from impostor.pipeline import Verifier

        _verifier = Verifier(pick="central")
    side = _verifier.analyse(path)
    return None if side.face is None else side.face.embedding


def embed_all(folder: Path, names: list[str], workers: int) -> dict[str, np.ndarray | None]:
    started = time.time()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        vectors = list(pool.map(embed_one, [str(folder / n) for n in names], chunksize=32))
    print(f"embedded {len(names)} images in {time.time() - started:.0f} s", file=sys.stderr)
    return dict(zip(names, vectors, strict=True))


def all_pairs(names: list[str], vectors: dict[str, np.ndarray | None]) -> tuple[np.ndarray, np.ndarray]:
    """Distances of every same-identity and every cross-identity pair among ``names``."""
    kept = [n for n in names if vectors[n] is not None]
    ids = np.array([n.split("/")[-2] for n in kept])
    matrix = np.stack([vectors[n] for n in kept])
    genuine, impostor = [], []
    squared = (matrix**2).sum(axis=1)
    for start in range(0, len(kept), 512):
        block = matrix[start : start + 512]
        d2 = squared[start : start + 512, None] + squared[None, :] - 2 * block @ matrix.T
        d = np.sqrt(np.maximum(d2, 0.0))
        rows = np.arange(start, start + len(block))[:, None]
        upper = np.arange(len(kept))[None, :] > rows
        same = ids[start : start + 512, None] == ids[None, :]
        genuine.append(d[upper & same])
        impostor.append(d[upper & ~same])
    return np.concatenate(genuine), np.concatenate(impostor)


def pair_distances(pairs: list[tuple[str, str, int]], vectors: dict[str, np.ndarray | None]):
    genuine, impostor, lost = [], [], 0
    for a, b, same in pairs:
        va, vb = vectors[a], vectors[b]
        if va is None or vb is None:
            lost += 1
            continue
        (genuine if same else impostor).append(float(np.linalg.norm(va - vb)))
    return np.array(genuine), np.array(impostor), lost


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=Path(str(settings.get("data_dir"))))
    parser.add_argument("--out", type=Path, default=ROOT / "models" / "default.json")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    lfw = args.data / "lfw"
    train = read_pairs(lfw / "pairs_devtrain.csv")
    test = read_pairs(lfw / "pairs_devtest.csv")
    train_images = sorted({p for a, b, _ in train for p in (a, b)})
    test_images = sorted({p for a, b, _ in test for p in (a, b)} - set(train_images))
    vectors = embed_all(lfw, train_images + test_images, args.workers)
    fta_train = sum(vectors[n] is None for n in train_images)

    g_pairs, i_pairs, lost_train = pair_distances(train, vectors)
    calibration = fit_calibration(g_pairs, i_pairs)
    g_all, i_all = all_pairs(train_images, vectors)
    accept = threshold_at_fmr(i_all, TARGET_FMR)
    reject = max(accept, threshold_at_fnmr(g_all, REJECT_FNMR))

    g_test, i_test, lost_test = pair_distances(test, vectors)
    p_test = np.concatenate([calibration.probability(g_test), calibration.probability(i_test)])
    truth = np.concatenate([np.ones(g_test.size), np.zeros(i_test.size)])
    heldout = summary(g_test, i_test, {"at_accept": accept, "at_reject": reject})
    heldout["accuracy_at_p_0.5"] = round(float(np.mean((p_test >= 0.5) == truth)), 4)
    heldout["pairs_lost_to_no_face"] = lost_test

    today = dt.date.today().isoformat()
    profile = Profile(
        name="default",
        version=today.replace("-", "."),
        calibration=calibration,
        accept_distance=round(accept, 4),
        reject_distance=round(reject, 4),
        limits={"second_face_ratio": 0.6, "min_face_score": 0.3},
        pipeline={
            "impostor": __version__,
            "detector": "hog",
            "landmarks": "dlib 5-point",
            "chip": "150 px, padding 0.25",
            "embedding": EMBEDDING_MODEL,
            "jitters": 0,
        },
        operating_points={"accept_target_fmr": TARGET_FMR, "reject_target_fnmr": REJECT_FNMR},
        provenance={
            "fitted": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "command": "uv run python models/fit_default.py",
            "calibration_data": "LFW View 1 pairsDevTrain (lfw/pairs_devtrain.csv)",
            "calibration_pairs": {
                "genuine": int(g_pairs.size),
                "impostor": int(i_pairs.size),
                "lost_to_no_face": lost_train,
            },
            "threshold_data": "every pair among the pairsDevTrain images",
            "threshold_pairs": {"genuine": int(g_all.size), "impostor": int(i_all.size)},
            "images": len(train_images),
            "failures_to_acquire": int(fta_train),
            "face_choice": "the face nearest the image centre (LFW crops around its subject)",
            "heldout_data": "LFW View 1 pairsDevTest (lfw/pairs_devtest.csv)",
            "heldout": heldout,
        },
    )
    profile.save(args.out)
    print(f"wrote {args.out}: accept <= {accept:.4f}, reject > {reject:.4f}; held-out {heldout}")


if __name__ == "__main__":
    main()
