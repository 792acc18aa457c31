"""Benchmark: a simulated e-passport's three portraits (chip, page, live), held out on LFW View 2.

    uv run python bench/bench_chip.py [--data DIR] [--pairs-per-fold 600] [--dev-pairs 2200]
        [--chip-profile PROFILE] [--workers N] [--cache FILE]
        [--write-substitution impostor/data/substitution.json] [--json OUT]

Each pair of LFW View 2 (pairs.txt: 6,000 pairs in 10 folds, half genuine) is a traveller at the
counter with an e-passport. The chip's DG2 is the left photo as an enrolment photo: cropped to
ISO/IEC 19794-5's token frontal geometry (413 × 551 px: eyes level, 0.25 of the width apart, 0.6
of the width from the top) and stored as a JPEG of at most 20 kB, as chips carry their portrait.
The data page prints the same left photo with ``impostor.printing``'s worn wear and scans it
(the seeds and styles of ``bench_documents.py``, grey in about half). The live photo is the right
photo. Figures:

1. chip ↔ live under the shipped default profile (and ``--chip-profile``): the genuine holders
   not matched (REFER or NO MATCH, a pair lost to no face counted with them; goal ≤ 10%), FMR at
   accept on the listed impostor pairs and on every chip against every other person's live photo
   (goal ≤ 0.1%), EER and the 10-fold accuracy. Beside it the printed page ↔ live under the
   shipped document profile (grey-matched, as that profile says), the comparison of today.
2. substitution, page ↔ chip (grey-matched): genuine is the page printed from the chip's own
   photo; impostor is another person's photo printed in its place, every page against every chip
   of another person, and the look-alike (for each chip, the nearest stranger's page in the set).
   Percentiles of both; the alert distance is fitted on View 1 (pairsDevTrain's left photos, the
   same chip and printing) for at most 1% false alerts and at least 95% alerts, midway between
   the two limits when they leave room; the rates it reaches on View 2 are the held-out figures.

Images are embedded once through the embedding cache (``--cache``; default the ``cache_dir``
setting's), so a second run with the same code only renders and scores.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import multiprocessing
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from impostor import settings
from impostor._version import __version__
from impostor.jsonio import write_json
from impostor.pipeline.profile import Profile, load_profile
from impostor.pipeline.substitution import SCHEMA, SCHEMA_VERSION
from impostor.pipeline.verifier import Verifier
from impostor.printing import BOX_PER_EYE_DISTANCE, EYES_IN_BOX, WEARS, DocumentStyle, render_document
from impostor.qa import Dataset, embed_dataset, open_cache
from impostor.qa.accuracy import fold_accuracy
from impostor.qa.metrics import eer, threshold_at_fmr, threshold_at_fnmr
from impostor.stages.embed import EMBEDDING_MODEL, GREY_SPREAD
from impostor.stages.score import pair_distances

# ISO/IEC 19794-5 token frontal image: width W, height W / 0.75, eyes level at 0.6 W from the
# top, centred, 0.25 W apart; 413 px wide gives 103 px between the eyes (ICAO asks for 90+)
CHIP_WIDTH = 413
CHIP_HEIGHT = round(CHIP_WIDTH / 0.75)
CHIP_EYE_Y = 0.6 * CHIP_WIDTH
CHIP_EYE_DISTANCE = 0.25 * CHIP_WIDTH
# chips carry their portrait in 15-20 kB (FIELD.md): the best JPEG quality within the upper end
CHIP_MAX_BYTES = 20_000
PAGE_WEAR = "worn"  # the page; --page-wear measures another
# the goals of issue 25
GOAL_NOT_MATCHED = 0.10
GOAL_FMR = 0.001
MAX_FALSE_ALERTS = 0.01
MIN_ALERTS = 0.95
PERCENTILES = (1, 5, 25, 50, 75, 95, 99)
_BLOCK = 256  # rows of a cross comparison at a time


# -- the passport's portraits ------------------------------------------------------------------


def chip_portrait(
    pixels: NDArray[np.uint8], eyes: tuple[tuple[float, float], tuple[float, float]]
) -> NDArray[np.uint8]:
    """The photo ``pixels`` (RGB uint8) as a chip's token frontal portrait, ``(551, 413, 3)``.

    ``eyes`` are the two eye centres ``(x, y)`` in pixels, in either order: the eye line is
    levelled and placed as ISO/IEC 19794-5's token geometry says; the background beyond the
    photo is a plain light grey. Raises ``ValueError`` for coincident eyes.
    """
    (ax, ay), (bx, by) = sorted(eyes)
    distance = float(np.hypot(bx - ax, by - ay))
    if distance < 1.0:
        raise ValueError(f"eyes {eyes} are less than a pixel apart")
    angle, scale = np.arctan2(by - ay, bx - ax), CHIP_EYE_DISTANCE / distance
    cos, sin = np.cos(angle) * scale, np.sin(angle) * scale
    matrix = np.array([[cos, sin, 0.0], [-sin, cos, 0.0]])
    centre = np.array([(ax + bx) / 2, (ay + by) / 2])
    matrix[:, 2] = np.array([(CHIP_WIDTH - 1) / 2, CHIP_EYE_Y]) - matrix[:, :2] @ centre
    flags = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    warped = cv2.warpAffine(
        pixels, matrix, (CHIP_WIDTH, CHIP_HEIGHT), flags=flags, borderValue=(232, 232, 228)
    )
    return np.ascontiguousarray(warped)


def chip_jpeg(portrait: NDArray[np.uint8], max_bytes: int = CHIP_MAX_BYTES) -> tuple[bytes, int]:
    """``portrait`` (RGB uint8) as the best-quality JPEG of at most ``max_bytes``, and that quality
    (10-95). A portrait too busy even at quality 10 is returned at 10."""
    bgr = cv2.cvtColor(portrait, cv2.COLOR_RGB2BGR)

    def encoded(quality: int) -> bytes:
        ok, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise RuntimeError("OpenCV could not encode the chip portrait as JPEG")
        return data.tobytes()

    low, high = 10, 95  # the size grows with the quality: the largest quality that fits
    best = encoded(low)
    while low < high:
        middle = (low + high + 1) // 2
        data = encoded(middle)
        if len(data) <= max_bytes:
            low, best = middle, data
        else:
            high = middle - 1
    return best, low


@dataclass(frozen=True)
class RenderJob:
    """One left photo to make a chip portrait and a printed page of; ``key`` seeds the print."""

    source: Path
    key: str
    chip: Path
    page: Path
    wear: str = PAGE_WEAR


@dataclass(frozen=True)
class Rendered:
    """What a render made: the chip JPEG's size and quality, whether the page and the source
    photo are grey pictures, and whether the source's face was found (else LFW's centre)."""

    chip_bytes: int
    chip_quality: int
    page_grey: bool
    source_grey: bool
    face_found: bool


_verifier: Verifier | None = None  # one per rendering process, made on first use


def render(job: RenderJob) -> Rendered:
    """Write ``job``'s chip portrait (JPEG) and worn printed page (PNG); top level, so that
    worker processes can be sent it by name."""
    global _verifier
    if _verifier is None:
        _verifier = Verifier(detector="auto", pick="central")
    located = _verifier.locate(job.source, "document")
    pixels = located.image.pixels
    if located.boxes and located.landmarks is not None:
        box, eyes = located.boxes[0], (located.landmarks.left_eye, located.landmarks.right_eye)
    else:  # LFW centres its subject: frame the middle, as bench_documents.py does
        from impostor.types import FaceBox

        height, width = pixels.shape[:2]
        box = FaceBox(width * 0.3, height * 0.3, width * 0.7, height * 0.7)
        half, eye_y = box.height / BOX_PER_EYE_DISTANCE / 2, box.top + EYES_IN_BOX * box.height
        eyes = ((box.center[0] - half, eye_y), (box.center[0] + half, eye_y))
    data, quality = chip_jpeg(chip_portrait(pixels, eyes))
    job.chip.write_bytes(data)
    # the page as bench_documents.py prints it: the same seed from the photo's name and the wear
    seed = int.from_bytes(hashlib.sha256(f"{job.key}|{job.wear}".encode()).digest()[:4], "little")
    style = DocumentStyle(colour=seed % 2 == 0, seed=seed)
    page = render_document(pixels, box, style, eyes=eyes, wear=WEARS[job.wear])
    cv2.imwrite(str(job.page), cv2.cvtColor(page, cv2.COLOR_RGB2BGR))
    return Rendered(len(data), quality, not style.colour, is_grey_picture(pixels), bool(located.boxes))


def is_grey_picture(pixels: NDArray[np.uint8]) -> bool:
    """Whether an RGB picture is grey: its channels alike on average, by the rule that makes a
    face chip grey for grey matching (``impostor.stages.embed.GREY_SPREAD``)."""
    wide = pixels.astype(np.int16)
    spread = np.abs(wide[..., 0] - wide[..., 1]).mean() + np.abs(wide[..., 1] - wide[..., 2]).mean()
    return bool(spread / 2 < GREY_SPREAD)


# -- the set -----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class PassportSet:
    """Pairs as e-passports: for each pair (shape ``(n,)``) the image index of its chip portrait,
    its printed page and its live photo in ``dataset``; ``same`` and ``fold`` as listed. Per
    image: ``grey`` (a grey picture). ``chip_bytes``/``chip_quality`` per distinct chip; ``lost_sources``
    counts left photos whose face was not found (framed on LFW's centre instead)."""

    dataset: Dataset
    chip: NDArray[np.int64]
    page: NDArray[np.int64]
    live: NDArray[np.int64]
    same: NDArray[np.bool_]
    fold: NDArray[np.int64]
    grey: NDArray[np.bool_]
    chip_bytes: NDArray[np.int64]
    chip_quality: NDArray[np.int64]
    lost_sources: int

    @property
    def codes(self) -> NDArray[np.int64]:
        """Each image's person, as an integer."""
        return self.dataset.identity_codes


def build_set(
    base: Path, rows: Sequence[dict[str, str]], root: Path, workers: int, wear: str = PAGE_WEAR
) -> PassportSet:
    """Render every distinct left photo of ``rows`` (paths relative to ``base``, LFW's ``lfw/``
    prefix dropped) as chip and page (printed with ``wear``) under ``root``, link the right
    photos as live ones, and index them. ``workers`` rendering processes (1: this one)."""
    names: dict[str, tuple[str, str]] = {}  # left photo → (chip, page) image names
    lives: dict[str, str] = {}
    jobs = []
    for row in rows:
        left, right = (Path(row[side].removeprefix("lfw/")) for side in ("a", "b"))
        if str(left) not in names:
            stem = left.parent / left.stem
            names[str(left)] = (f"{stem}.chip.jpg", f"{stem}.page.png")
            (root / left.parent).mkdir(parents=True, exist_ok=True)
            chip, page = names[str(left)]
            jobs.append(RenderJob(base / row["a"], str(left), root / chip, root / page, wear))
        if str(right) not in lives:
            lives[str(right)] = right.as_posix()
            link = root / right
            link.parent.mkdir(parents=True, exist_ok=True)
            if not link.exists():
                link.symlink_to((base / row["b"]).resolve())
    done = _render_all(jobs, workers)
    images = sorted({*lives.values(), *(name for pair in names.values() for name in pair)})
    dataset = Dataset(root.resolve(), tuple(images), tuple(Path(name).parent.name for name in images), ())
    index = dataset.index()
    grey = np.zeros(len(images), dtype=bool)
    for job, made in zip(jobs, done, strict=True):
        chip, page = names[job.key]
        grey[index[chip]], grey[index[page]] = made.source_grey, made.page_grey
    for name in lives.values():
        pixels = cv2.imread(str(root / name))
        grey[index[name]] = pixels is not None and is_grey_picture(pixels)
    pairs = [
        (names[str(Path(row["a"].removeprefix("lfw/")))], lives[str(Path(row["b"].removeprefix("lfw/")))])
        for row in rows
    ]
    return PassportSet(
        dataset=dataset,
        chip=np.array([index[chip] for (chip, _), _ in pairs], dtype=np.int64),
        page=np.array([index[page] for (_, page), _ in pairs], dtype=np.int64),
        live=np.array([index[live] for _, live in pairs], dtype=np.int64),
        same=np.array([row["same"] == "1" for row in rows]),
        fold=np.array([int(row.get("fold", 0)) for row in rows], dtype=np.int64),
        grey=grey,
        chip_bytes=np.array([made.chip_bytes for made in done], dtype=np.int64),
        chip_quality=np.array([made.chip_quality for made in done], dtype=np.int64),
        lost_sources=sum(not made.face_found for made in done),
    )


def _render_all(jobs: list[RenderJob], workers: int) -> list[Rendered]:
    if workers <= 1 or len(jobs) < 32:
        return [render(job) for job in jobs]
    # dlib's threads do not survive fork: fresh processes, as impostor.qa.batch starts them
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        return list(pool.map(render, jobs, chunksize=16))


# -- embedding and distances -------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Embedded:
    """Every image's embedding, ``(n_images, 128)`` with NaN rows where no face was found, and in
    ``in_grey`` its grey embedding where a grey-matched comparison needs it (else the colour one)."""

    vectors: NDArray[np.float64]
    in_grey: NDArray[np.float64]


def embed_set(passports: PassportSet, cache: str | None, workers: int | None) -> Embedded:
    """Embed every image (``cache``: a file, None for the setting's, "" for none); then, in grey,
    every colour chip (a grey page is compared with it in grey), every colour live photo
    paired with a grey page (the document profile compares like with like) and every colour
    page paired with a grey chip or live photo."""
    store = open_cache(cache)
    try:

        def embedded(dataset: Dataset, grey: bool) -> NDArray[np.float64]:
            found = embed_dataset(
                dataset, workers=workers, cache=store, pick="central", grey=grey, progress=sys.stderr.isatty()
            )
            return found.vectors

        vectors = embedded(passports.dataset, False)
        need = np.zeros(len(passports.dataset.images), dtype=bool)
        need[passports.chip] = True
        need[passports.live[passports.grey[passports.page]]] = True
        # a colour page is compared in grey with its own grey chip and with a grey live photo (a
        # stranger's grey chip in the cross comparison is compared with it in colour: LFW holds
        # few grey photos, and embedding every page twice would double the run)
        need[passports.page[passports.grey[passports.live] | passports.grey[passports.chip]]] = True
        need &= ~passports.grey
        chosen = np.flatnonzero(need)
        in_grey = vectors.copy()
        if chosen.size:
            subset = Dataset(
                passports.dataset.root,
                tuple(passports.dataset.images[i] for i in chosen),
                tuple(passports.dataset.identities[i] for i in chosen),
                (),
            )
            in_grey[chosen] = embedded(subset, True)
    finally:
        if store is not None:
            store.close()
    return Embedded(vectors, in_grey)


def distances(
    found: Embedded, grey: NDArray[np.bool_], a: NDArray[np.int64], b: NDArray[np.int64], match: bool
) -> NDArray[np.float64]:
    """Distance of each pair of image indices; with ``match``, a pair with a grey side in grey."""
    colour = pair_distances(found.vectors, a, b)
    if not match:
        return colour
    return np.where(grey[a] | grey[b], pair_distances(found.in_grey, a, b), colour)


def cross_impostors(
    found: Embedded,
    grey: NDArray[np.bool_],
    codes: NDArray[np.int64],
    rows: NDArray[np.int64],
    columns: NDArray[np.int64],
    match: bool,
) -> tuple[NDArray[np.float32], NDArray[np.float64]]:
    """Every ``rows`` image against every ``columns`` image of another person: those distances
    (float32, pairs without a face left out), and for each column the nearest row's (NaN: none)."""
    rows, columns = np.unique(rows), np.unique(columns)

    def between(table: NDArray[np.float64], left: NDArray[np.int64]) -> NDArray[np.float64]:
        x, y = table[left], table[columns]
        squared = (x**2).sum(1)[:, None] + (y**2).sum(1)[None, :] - 2 * x @ y.T
        return np.sqrt(np.maximum(squared, 0.0))

    kept, nearest = [], np.full(columns.size, np.inf)
    for start in range(0, rows.size, _BLOCK):
        left = rows[start : start + _BLOCK]
        distance = between(found.vectors, left)
        if match:
            either = grey[left][:, None] | grey[columns][None, :]
            distance = np.where(either, between(found.in_grey, left), distance)
        distance[codes[left][:, None] == codes[columns][None, :]] = np.nan
        nearest = np.fmin(nearest, np.where(np.isnan(distance), np.inf, distance).min(axis=0))
        kept.append(distance[~np.isnan(distance)].astype(np.float32))
    nearest[~np.isfinite(nearest)] = np.nan
    return np.concatenate(kept) if kept else np.empty(0, np.float32), nearest


# -- figures -----------------------------------------------------------------------------------


def verification(
    distance: NDArray[np.float64],
    same: NDArray[np.bool_],
    folds: NDArray[np.int64],
    profile: Profile,
    cross: NDArray[np.float32] | None = None,
) -> dict[str, Any]:
    """The figures of one comparison under ``profile``'s thresholds: genuine holders matched,
    referred, refused and lost (no face); FMR at accept on the listed impostors (a lost pair is
    never accepted) and on ``cross`` (every other person's pair); EER on the pairs scored; the
    10-fold accuracy (lost pairs wrong) where there are folds."""
    accept, reject = profile.accept_distance, profile.reject_distance
    lost = np.isnan(distance)
    genuine, impostor = distance[same & ~lost], distance[~same & ~lost]
    n_genuine, n_impostor = int(same.sum()), int((~same).sum())
    figures: dict[str, Any] = {
        "profile": f"{profile.name} {profile.version}",
        "accept": accept,
        "reject": reject,
        "genuine_pairs": n_genuine,
        "impostor_pairs": n_impostor,
        "lost_genuine": int((same & lost).sum()),
        "lost_impostor": int((~same & lost).sum()),
        "genuine_matched": float(np.count_nonzero(genuine <= accept) / max(1, n_genuine)),
        "genuine_referred": float(
            np.count_nonzero((genuine > accept) & (genuine <= reject)) / max(1, n_genuine)
        ),
        "genuine_refused": float(np.count_nonzero(genuine > reject) / max(1, n_genuine)),
        "fmr_at_accept": float(np.count_nonzero(impostor <= accept) / max(1, n_impostor)),
    }
    figures["genuine_not_matched"] = 1.0 - figures["genuine_matched"]
    if genuine.size and impostor.size:
        figures["eer"] = eer(genuine, impostor).rate
    if cross is not None and cross.size:
        figures["cross_impostor_pairs"] = int(cross.size)
        figures["cross_fmr_at_accept"] = float(np.count_nonzero(cross <= accept) / cross.size)
    if np.unique(folds).size >= 2 and (~lost).any():
        accuracy = fold_accuracy(distance, same, folds)
        figures["accuracy"], figures["accuracy_std"] = accuracy.mean, accuracy.std
    return figures


def percentiles(values: NDArray[Any]) -> dict[str, float]:
    """The ``PERCENTILES`` of ``values`` (NaN left out), with the minimum and maximum."""
    finite = np.asarray(values, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    if not finite.size:
        return {}
    shown = {f"p{p}": round(float(np.percentile(finite, p)), 4) for p in PERCENTILES}
    return {"min": round(float(finite.min()), 4), **shown, "max": round(float(finite.max()), 4)}


@dataclass(frozen=True, eq=False)
class Substitution:
    """Page ↔ chip distances: ``genuine`` (each page against its own chip), ``impostor`` (every
    page against every chip of another person), ``lookalike`` (each chip's nearest stranger's
    page); NaN and lost pages left out, counted in ``lost``."""

    genuine: NDArray[np.float64]
    impostor: NDArray[np.float32]
    lookalike: NDArray[np.float64]
    lost: int


def substitution_distances(passports: PassportSet, found: Embedded) -> Substitution:
    """The page ↔ chip distances of ``passports``' distinct left photos, grey-matched."""
    chips, first = np.unique(passports.chip, return_index=True)
    pages = passports.page[first]
    genuine = distances(found, passports.grey, pages, chips, match=True)
    impostor, nearest = cross_impostors(found, passports.grey, passports.codes, pages, chips, match=True)
    return Substitution(
        genuine[~np.isnan(genuine)], impostor, nearest[~np.isnan(nearest)], int(np.isnan(genuine).sum())
    )


def alert_rates(found: Substitution, alert_distance: float) -> dict[str, Any]:
    """False alerts (own page alerted), alerts on strangers' pages and on look-alikes'."""
    return {
        "alert_distance": alert_distance,
        "genuine_pages": int(found.genuine.size),
        "pages_lost_to_no_face": found.lost,
        "false_alerts": float(np.mean(found.genuine > alert_distance))
        if found.genuine.size
        else float("nan"),
        "impostor_pages": int(found.impostor.size),
        "alerts": float(np.mean(found.impostor > alert_distance)) if found.impostor.size else float("nan"),
        "lookalike_alerts": float(np.mean(found.lookalike > alert_distance))
        if found.lookalike.size
        else float("nan"),
        "genuine_distance": percentiles(found.genuine),
        "impostor_distance": percentiles(found.impostor),
        "lookalike_distance": percentiles(found.lookalike),
    }


def fit_alert(found: Substitution) -> tuple[float, dict[str, Any]]:
    """The alert distance for at most ``MAX_FALSE_ALERTS`` false alerts and at least ``MIN_ALERTS``
    alerts on strangers' pages: midway between the two limits when the first lies below the
    second (each keeps a margin on unseen pages), else the false-alert limit (officers' trust
    first), said in ``weak``. Raises ``ValueError`` without pages on either side."""
    if not found.genuine.size or not found.impostor.size:
        raise ValueError("no genuine or no impostor page to fit the alert distance on")
    false_limit = threshold_at_fnmr(found.genuine, MAX_FALSE_ALERTS)  # alerts above it: ≤ 1% of own pages
    alert_limit = threshold_at_fmr(found.impostor, 1.0 - MIN_ALERTS)  # alerts above it: ≥ 95% of strangers
    roomy = false_limit < alert_limit
    chosen = round((false_limit + alert_limit) / 2 if roomy else false_limit, 4)
    limits = {
        "max_false_alerts": MAX_FALSE_ALERTS,
        "min_alerts": MIN_ALERTS,
        "false_alert_limit": round(false_limit, 4),
        "alert_limit": round(alert_limit, 4),
        "rule": "midway between the two limits" if roomy else "the false-alert limit: the limits cross",
    }
    if not roomy:
        limits["weak"] = "no distance meets both targets on the fitting pages"
    return chosen, limits


# -- the run -----------------------------------------------------------------------------------


def read_rows(pair_csv: Path, per_fold: int | None = None, limit: int | None = None) -> list[dict[str, str]]:
    """The rows of a CSV pair list: the first ``per_fold`` of each fold (half genuine), or the
    first ``limit`` (half genuine), or all."""
    with pair_csv.open(newline="", encoding="utf-8") as handle:
        every = list(csv.DictReader(handle))
    if per_fold is not None and "fold" in (every[0] if every else {}):
        folds = sorted({row["fold"] for row in every}, key=int)
        return [
            row
            for fold in folds
            for same in ("1", "0")
            for row in [row for row in every if row["fold"] == fold and row["same"] == same][: per_fold // 2]
        ]
    if limit is not None:
        genuine = [row for row in every if row["same"] == "1"]
        return genuine[: limit // 2] + [row for row in every if row["same"] != "1"][: limit - limit // 2]
    return every


def measure(
    base: Path,
    rows: Sequence[dict[str, str]],
    scratch: Path,
    options: argparse.Namespace,
    profiles: Sequence[Profile],
) -> tuple[PassportSet, Embedded, dict[str, Any]]:
    """Render, embed and score one part: the chip ↔ live figures under each of ``profiles`` and
    the page ↔ live ones under the document profile (empty without live figures to give)."""
    started = time.perf_counter()
    passports = build_set(base, rows, scratch, options.workers or 2, options.page_wear)
    rendered = time.perf_counter()
    found = embed_set(passports, options.cache, options.workers)
    embedded = time.perf_counter()
    figures: dict[str, Any] = {
        "pairs": len(rows),
        "chips": int(passports.chip_bytes.size),
        "chip_bytes": percentiles(passports.chip_bytes),
        "chip_jpeg_quality": percentiles(passports.chip_quality),
        "sources_without_face": passports.lost_sources,
        "seconds": {"render": round(rendered - started, 1), "embed": round(embedded - rendered, 1)},
    }
    if passports.same.all() or not passports.same.any():
        return passports, found, figures
    chip_live = distances(found, passports.grey, passports.chip, passports.live, match=False)
    cross, _ = cross_impostors(
        found, passports.grey, passports.codes, passports.chip, passports.live, match=False
    )
    figures["chip_live"] = [
        verification(chip_live, passports.same, passports.fold, profile, cross) for profile in profiles
    ]
    page_live = distances(found, passports.grey, passports.page, passports.live, match=True)
    figures["page_live"] = verification(page_live, passports.same, passports.fold, load_profile("document"))
    figures["seconds"]["score"] = round(time.perf_counter() - embedded, 1)
    return passports, found, figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data", type=Path, default=Path(str(settings.get("data_dir"))), help="shared data folder"
    )
    parser.add_argument(
        "--pairs-per-fold", type=int, default=600, help="View 2 pairs of each fold, half genuine"
    )
    parser.add_argument("--dev-pairs", type=int, default=2200, help="View 1 pairsDevTrain pairs to fit on")
    parser.add_argument("--chip-profile", help="also measure chip ↔ live under this profile")
    parser.add_argument("--page-wear", choices=sorted(WEARS), default=PAGE_WEAR, help="the page's wear")
    parser.add_argument("--workers", type=int, help="processes (default: one per core)")
    parser.add_argument(
        "--cache", help="embedding cache file ('' for none; default: the cache_dir setting's)"
    )
    parser.add_argument("--write-substitution", type=Path, help="write the fitted substitution rule here")
    parser.add_argument("--json", dest="json_out", type=Path, help="also write the figures here")
    options = parser.parse_args(argv)
    lfw = options.data / "lfw"
    if not (lfw / "pairs_folds.csv").is_file() or not (lfw / "pairs_devtrain.csv").is_file():
        print(f"no LFW pair lists at {lfw}: pass --data or set IMPOSTOR_DATA", file=sys.stderr)
        return 2
    profiles = [load_profile()] + ([load_profile(options.chip_profile)] if options.chip_profile else [])
    dev_rows = read_rows(lfw / "pairs_devtrain.csv", limit=options.dev_pairs)
    held_rows = read_rows(lfw / "pairs_folds.csv", per_fold=options.pairs_per_fold)
    with tempfile.TemporaryDirectory(prefix="impostor-chip-") as scratch:
        dev, dev_found, dev_figures = measure(lfw, dev_rows, Path(scratch) / "view1", options, profiles)
        fitting = substitution_distances(dev, dev_found)
        alert_distance, limits = fit_alert(fitting)
        dev_figures["substitution"] = alert_rates(fitting, alert_distance)
        held, held_found, figures = measure(lfw, held_rows, Path(scratch) / "view2", options, profiles)
        figures["substitution"] = alert_rates(substitution_distances(held, held_found), alert_distance)
    report = {"view1_pairsdevtrain": dev_figures, "view2_heldout": figures, "substitution_fit": limits}
    print_report(report)
    if options.write_substitution:
        write_substitution(options, alert_distance, limits, dev_figures, figures, argv)
        print(f"\nwrote {options.write_substitution}: alert above {alert_distance}")
    if options.json_out:
        write_json(report, options.json_out)
    return 0


def write_substitution(
    options: argparse.Namespace,
    alert_distance: float,
    limits: dict[str, Any],
    fitted: dict[str, Any],
    held: dict[str, Any],
    argv: list[str] | None,
) -> None:
    """The substitution rule as ``impostor.pipeline.substitution`` reads it, with its provenance."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    rule = {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "version": now.strftime("%Y.%m.%d"),
        "comparison": "page portrait against chip portrait",
        "alert_when": "distance > alert_distance",
        "alert_distance": alert_distance,
        "provenance": {
            "fitted": now.isoformat(),
            "command": "python bench/bench_chip.py " + " ".join(sys.argv[1:] if argv is None else argv),
            "impostor_version": __version__,
            "code": _code_version(),
            "data": "LFW View 1 pairsDevTrain (pairs_devtrain.csv): each distinct left photo as the chip's "
            f"DG2 (ISO/IEC 19794-5 token, {CHIP_WIDTH} x {CHIP_HEIGHT}, JPEG <= {CHIP_MAX_BYTES} bytes) and "
            f"printed on the page with impostor.printing's {options.page_wear!r} wear (grey in about half)",
            "genuine": "each page against its own chip (the same photo printed)",
            "impostor": "each page against every chip of another person "
            "(a stranger's photo printed in place)",
            "pipeline": {
                "embedding": EMBEDDING_MODEL,
                "engine": str(settings.get("engine")),
                "detector": "auto",
                "face_choice": "central",
                "grey_match": True,
            },
            "targets": limits,
            "fitted_on": fitted["substitution"],
            "heldout_data": "LFW View 2 (pairs.txt, the same chip and printing); never used to fit",
            "heldout": held["substitution"],
        },
    }
    write_json(rule, options.write_substitution)


def _code_version() -> str:
    """The git commit of this checkout, marked ``+changes`` when its tree differs; '' outside git."""
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, check=True
        )
        status = subprocess.run(
            ["git", "status", "--porcelain"], cwd=here, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return ""
    return commit.stdout.strip() + ("+changes" if status.stdout.strip() else "")


def print_report(report: dict[str, Any]) -> None:
    for title, part in (
        ("LFW View 1 pairsDevTrain (tuning)", report["view1_pairsdevtrain"]),
        ("LFW View 2 (held out)", report["view2_heldout"]),
    ):
        sizes = part["chip_bytes"]
        print(
            f"\n{title}: {part['pairs']} pairs, {part['chips']} e-passports; chip JPEG "
            f"{sizes['min'] / 1000:.1f}-{sizes['max'] / 1000:.1f} kB (median {sizes['p50'] / 1000:.1f}, "
            "quality median "
            f"{part['chip_jpeg_quality']['p50']:.0f}); {part['sources_without_face']} left photos framed "
            f"without a face; {part['seconds']}"
        )
        for name, row in [
            *(("chip ↔ live", row) for row in part.get("chip_live", [])),
            *((("page ↔ live", part["page_live"]),) if "page_live" in part else ()),
        ]:
            print_verification(name, row)
        print_substitution(part["substitution"])
    fit = report["substitution_fit"]
    print(
        f"\nsubstitution alert distance fitted on View 1: false-alert limit {fit['false_alert_limit']} "
        f"(≤ {fit['max_false_alerts']:.0%} of own pages above), alert limit {fit['alert_limit']} "
        f"(≥ {fit['min_alerts']:.0%} of strangers' pages above): {fit['rule']}"
    )


def print_verification(name: str, row: dict[str, Any]) -> None:
    goal = "met" if row["genuine_not_matched"] <= GOAL_NOT_MATCHED else "NOT MET"
    cross = (
        f"; every other person: {row['cross_fmr_at_accept']:.3%} of {row['cross_impostor_pairs']:,}"
        if "cross_fmr_at_accept" in row
        else ""
    )
    accuracy = f"accuracy {row['accuracy']:.2%} ± {row['accuracy_std']:.2%}; " if "accuracy" in row else ""
    print(
        f"  {name:12} {row['profile']:22} genuine not matched {row['genuine_not_matched']:6.1%} "
        f"(REFER {row['genuine_referred']:.1%}, NO MATCH {row['genuine_refused']:.1%}, lost "
        f"{row['lost_genuine']}; goal ≤ {GOAL_NOT_MATCHED:.0%}: {goal})"
    )
    print(
        f"  {'':12} {'':22} FMR at accept {row['accept']}: {row['fmr_at_accept']:.3%} of "
        f"{row['impostor_pairs']:,} listed{cross} (goal ≤ {GOAL_FMR:.1%}); {accuracy}"
        f"EER {row.get('eer', float('nan')):.1%}"
    )


def print_substitution(row: dict[str, Any]) -> None:
    def shown(values: dict[str, float]) -> str:
        return ", ".join(
            f"{name} {value:.3f}"
            for name, value in values.items()
            if name in ("min", "p1", "p5", "p50", "p95", "p99", "max")
        )

    false_goal = "met" if row["false_alerts"] <= MAX_FALSE_ALERTS else "NOT MET"
    alert_goal = "met" if row["alerts"] >= MIN_ALERTS else "NOT MET"
    print(
        f"  page ↔ chip  alert above {row['alert_distance']}: false alerts {row['false_alerts']:.2%} of "
        f"{row['genuine_pages']:,} own pages (goal ≤ {MAX_FALSE_ALERTS:.0%}: {false_goal}); alerts "
        f"{row['alerts']:.2%} of {row['impostor_pages']:,} strangers' pages (goal ≥ {MIN_ALERTS:.0%}: "
        f"{alert_goal}); {row['lookalike_alerts']:.1%} of the nearest stranger's; "
        f"{row['pages_lost_to_no_face']} pages without a face"
    )
    print(f"  {'':12} own page:  {shown(row['genuine_distance'])}")
    print(f"  {'':12} stranger:  {shown(row['impostor_distance'])}")
    print(f"  {'':12} nearest:   {shown(row['lookalike_distance'])}")


if __name__ == "__main__":
    sys.exit(main())
