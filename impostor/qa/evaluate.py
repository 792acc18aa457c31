"""The QA composition: data set → embeddings → scored pairs → report, or → a fitted profile.

``run_benchmark`` answers, on a team's own photos, how often an impostor passes and how often
a genuine traveller is referred at the shipped thresholds, with confidence intervals.
``run_calibration`` fits a new profile and measures it on data it was not fitted on.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from impostor import settings
from impostor._version import __version__
from impostor.errors import ConfigError, DatasetError, OutputError, WeakProfile
from impostor.pipeline.profile import Profile, load_profile
from impostor.qa.batch import EmbeddingSet, embed_dataset
from impostor.qa.cache import open_cache, pipeline_key
from impostor.qa.dataset import Dataset, scan
from impostor.qa.error_sources import PairAttributes
from impostor.qa.metrics import (
    cllr,
    impostors_needed,
    llr_from_probability,
    min_cllr,
    rates_at,
    threshold_at_fmr,
    threshold_at_fnmr,
)
from impostor.qa.outputs import write_report
from impostor.qa.pair_list import read_pair_list
from impostor.qa.pairs import Pairs, generate_pairs, read_pairs
from impostor.qa.report import Context, PairScores, Report, build_report
from impostor.stages.calibrate import Method, make_calibrator
from impostor.stages.embed import EMBEDDING_MODEL
from impostor.stages.score import all_pairs, pair_distances

__all__ = ["EvaluationConfig", "run_benchmark", "run_calibration"]


_NOT_IMPOSTORS = "--impostors: {!r} is neither a number of pairs (0 or more) nor 'all'"


@dataclass(frozen=True)
class EvaluationConfig:
    """How images are embedded and pairs are formed; the same for benchmark and calibrate."""

    detector: str = "auto"
    pick: Literal["largest", "central"] = "largest"
    jitters: int = 0
    flip: bool = False
    grey_match: bool = False  # a pair with a grey side is compared in grey (two passes)
    comparison: str = "photo"  # what the pairs compare: "photo" or "document" (a portrait's side)
    workers: int | None = None
    scheduler: str | None = None
    cache: str | Path | None = None  # SQLite file; None for the cache_dir setting; "" for none
    impostors: int | Literal["all"] = 10_000  # generated impostor pairs when no pair list is given
    seed: int = 0
    progress: bool = True

    def __post_init__(self) -> None:
        if self.workers is not None and self.scheduler is not None:
            raise ConfigError("give --workers or --scheduler, not both (the cluster decides its own workers)")
        impostors: object = self.impostors
        if isinstance(impostors, str) and impostors != "all":
            try:
                impostors = int(impostors)
            except ValueError:
                raise ConfigError(
                    f"--impostors: {impostors!r} is neither a number of pairs nor 'all'"
                ) from None
            object.__setattr__(self, "impostors", impostors)
        if impostors != "all" and (
            isinstance(impostors, bool) or not isinstance(impostors, int) or impostors < 0
        ):
            raise ConfigError(
                f"--impostors: {impostors!r} is neither a number of pairs (0 or more) nor 'all'"
            )

    def pipeline(self) -> dict[str, Any]:
        return {
            "impostor": __version__,
            "detector": self.detector,
            "landmarks": "dlib 5-point",
            "chip": "150 px, padding 0.25",
            "embedding": EMBEDDING_MODEL,
            # the engine that ran it: either gives the same embeddings (to 1e-6), so a profile
            # fitted with one decides the same with the other
            "engine": str(settings.get("engine")),
            "jitters": self.jitters,
            "flip": self.flip,
            "grey_match": self.grey_match,
            "face_choice": self.pick,
            "comparison": self.comparison,
        }


_CROSS_BLOCK = 256  # documents a block when every document is compared with every live photo


@dataclass(frozen=True, eq=False)
class _Scored:
    full: Dataset  # everything scanned
    dataset: Dataset  # the images some pair uses: the ones embedded
    pairs: Pairs
    heldout: Pairs | None
    embeddings: EmbeddingSet
    distance: NDArray[np.float64]
    # with grey matching: every image's embedding in grey, and which images are grey pictures
    in_grey: NDArray[np.float64] | None = None
    grey: NDArray[np.bool_] | None = None

    def distances(self, a: NDArray[np.int64], b: NDArray[np.int64]) -> NDArray[np.float64]:
        """The distances of pairs of image indices, a pair with a grey side scored in grey."""
        distance = pair_distances(self.embeddings.vectors, a, b)
        if self.in_grey is None or self.grey is None:
            return distance
        return np.where(self.grey[a] | self.grey[b], pair_distances(self.in_grey, a, b), distance)

    def cross(
        self, documents: NDArray[np.int64], lives: NDArray[np.int64], codes: NDArray[np.int64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Every document image against every live image: the genuine distances (same person)
        and the impostor ones, computed a block of documents at a time so that no temporary
        grows beyond a block (the results are what they are)."""
        vectors, genuine, impostor = self.embeddings.vectors, [], []

        def between(table: NDArray[np.float64], rows: NDArray[np.int64]) -> NDArray[np.float64]:
            left, right = table[rows], table[lives]
            squared = (left**2).sum(1)[:, None] + (right**2).sum(1)[None, :] - 2 * left @ right.T
            return np.sqrt(np.maximum(squared, 0.0))

        for start in range(0, len(documents), _CROSS_BLOCK):
            rows = documents[start : start + _CROSS_BLOCK]
            distance = between(vectors, rows)
            if self.in_grey is not None and self.grey is not None:
                either = self.grey[rows][:, None] | self.grey[lives][None, :]
                distance = np.where(either, between(self.in_grey, rows), distance)
            same = codes[rows][:, None] == codes[lives][None, :]
            genuine.append(distance[same])
            impostor.append(distance[~same])
        if not genuine:
            return np.empty(0), np.empty(0)
        return np.concatenate(genuine), np.concatenate(impostor)


def _score(
    dataset_dir: str | Path | None,
    pairs_file: str | Path | None,
    config: EvaluationConfig,
    heldout_file: str | Path | None = None,
) -> _Scored:
    if dataset_dir is None:
        # the pair list is its own data set: paths relative to it, people from its columns
        if pairs_file is None:
            raise ConfigError("give a DATASET folder, a --pairs list, or both")
        full, pairs = read_pair_list(pairs_file)
    else:
        full = scan(dataset_dir)
        if pairs_file is not None:
            pairs = read_pairs(pairs_file, full)
        else:
            pairs = generate_pairs(full, impostors=config.impostors, seed=config.seed)
    if len(pairs) == 0:
        raise DatasetError(f"{dataset_dir or pairs_file}: no usable pairs")
    heldout = read_pairs(heldout_file, full) if heldout_file is not None else None
    if heldout is not None:
        _check_apart(pairs, heldout, heldout_file)
    dataset, remapped = _used_images(full, [pairs] if heldout is None else [pairs, heldout])
    pairs, heldout = remapped[0], (remapped[1] if heldout is not None else None)
    cache = open_cache(config.cache)
    try:

        def embedded(grey: bool) -> EmbeddingSet:
            return embed_dataset(
                dataset,
                workers=config.workers,
                scheduler=config.scheduler,
                cache=cache,
                detector=config.detector,
                pick=config.pick,
                jitters=config.jitters,
                flip=config.flip,
                grey=grey,
                progress=config.progress,
            )

        embeddings = embedded(False)
        in_grey = grey = None
        if config.grey_match:
            # a grey face's chip is the same in grey, so its two embeddings are equal: a pair
            # with such a side is scored on both sides' grey embeddings
            in_grey = embedded(True).vectors
            grey = np.all(embeddings.vectors == in_grey, axis=1) & embeddings.found
    finally:
        if cache is not None:
            cache.close()
    scored = _Scored(full, dataset, pairs, heldout, embeddings, np.empty(0), in_grey, grey)
    return dataclasses.replace(scored, distance=scored.distances(pairs.a, pairs.b))


def _check_apart(pairs: Pairs, heldout: Pairs, heldout_file: str | Path | None) -> None:
    """Refuse, before any embedding, held-out pairs that leave no training image of their own
    (the training list given twice, say): thresholds are never chosen on held-out images."""
    training = np.union1d(pairs.a, pairs.b)
    if np.setdiff1d(training, np.union1d(heldout.a, heldout.b)).size == 0:
        raise DatasetError(
            f"{heldout_file}: holds every image of the training pairs ({pairs.source}), so none is "
            "left to fit on; hold out other people's pairs (LFW's pairsDevTest beside pairsDevTrain), "
            "or leave out --heldout-pairs to hold out a share of the people"
        )


def _used_images(dataset: Dataset, lists: list[Pairs]) -> tuple[Dataset, list[Pairs]]:
    """Only the images the pair lists use (LFW View 2 uses 7,701 of 13,233), re-indexed."""
    used = np.unique(np.concatenate([np.concatenate([p.a, p.b]) for p in lists]))
    if used.size == len(dataset.images):
        return dataset, lists
    subset = Dataset(
        root=dataset.root,
        images=tuple(dataset.images[i] for i in used),
        identities=tuple(dataset.identities[i] for i in used),
        skipped=dataset.skipped,
    )
    moved = [
        replace(
            p, a=np.searchsorted(used, p.a).astype(np.int64), b=np.searchsorted(used, p.b).astype(np.int64)
        )
        for p in lists
    ]
    return subset, moved


def _dataset_summary(full: Dataset, used: Dataset) -> dict[str, object]:
    return {
        "root": str(full.root),
        "images": len(full.images),
        "people": full.people,
        "images_in_pairs": len(used.images),
        "people_in_pairs": used.people,
        "skipped": len(full.skipped),
        "skipped_examples": [{"path": s.path, "reason": s.reason} for s in full.skipped[:50]],
    }


def run_benchmark(
    dataset_dir: str | Path | None,
    out_dir: str | Path,
    *,
    pairs_file: str | Path | None = None,
    profile: str | Path | None = None,
    config: EvaluationConfig | None = None,
    title: str | None = None,
    command: str = "",
) -> tuple[Report, dict[str, Path]]:
    """Embed a data set, score its pairs, and write the QA report into ``out_dir``.

    Returns the report and the paths written (report.json, report.html, scores.csv, plots).
    Raises ``DatasetError`` for an unusable data set or pair list, ``ProfileError`` for a bad
    profile.
    """
    config = config or EvaluationConfig()
    chosen = load_profile(profile)  # a bad profile fails before minutes of embedding
    scored = _score(dataset_dir, pairs_file, config)
    dataset, pairs, embeddings = scored.dataset, scored.pairs, scored.embeddings
    codes = dataset.identity_codes
    scores = PairScores(
        a=tuple(dataset.images[i] for i in pairs.a),
        b=tuple(dataset.images[i] for i in pairs.b),
        a_identity=codes[pairs.a],
        b_identity=codes[pairs.b],
        same=pairs.same,
        fold=pairs.fold,
        distance=scored.distance,
        probability=np.asarray(chosen.calibration.probability(scored.distance), dtype=np.float64),
        attributes=_attributes(embeddings, pairs, config),
    )
    context = Context(
        title=title or Path(dataset_dir or pairs_file or "pairs").name,
        dataset=_dataset_summary(scored.full, dataset),
        pairs_source=pairs.source,
        pairs_skipped=len(pairs.skipped),
        images=len(dataset.images),
        people=dataset.people,
        fta_images=int((~embeddings.found).sum()),
        profile=chosen,
        pipeline=config.pipeline()
        | {
            "cache_key": pipeline_key(
                detector=config.detector,
                pick=config.pick,
                jitters=config.jitters,
                flip=config.flip,
                grey=config.grey_match,
            )
        },
        command=command,
        created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )
    report = build_report(scores, context)
    return report, write_report(report, scores, out_dir)


def _attributes(embeddings: EmbeddingSet, pairs: Pairs, config: EvaluationConfig) -> PairAttributes:
    """What was found in each pair's images, for the report's section on where errors come from."""
    # "found only by the CNN fallback" means something only when HOG was tried first
    fallback = np.array([d == "cnn" for d in embeddings.detector], dtype=bool) & (config.detector == "auto")
    return PairAttributes.from_images(
        pairs.a,
        pairs.b,
        faces_found=embeddings.faces_found,
        yaw=embeddings.yaw,
        inter_eye=embeddings.inter_eye,
        cnn_fallback=fallback,
        rotated=embeddings.rotated,
        quality=embeddings.quality,
    )


def run_calibration(
    dataset_dir: str | Path | None,
    out: str | Path,
    *,
    pairs_file: str | Path | None = None,
    heldout_pairs_file: str | Path | None = None,
    name: str | None = None,
    target_fmr: float = 1e-3,
    reject_fnmr: float = 1e-2,
    method: Method = "logistic",
    heldout_share: float = 0.3,
    config: EvaluationConfig | None = None,
    command: str = "",
    allow_weak: bool = False,
) -> Profile:
    """Fit a profile and write it to ``out``; the held-out figures go into its provenance.

    Protocol: the probability model is fitted on the training pairs. The accept threshold is
    chosen for ``target_fmr`` on every cross-identity pair among the training images (far
    more impostor comparisons than a pair list holds, so that small FMRs are estimable), and
    the reject threshold for ``reject_fnmr`` on every same-identity pair among them. Held out
    are the pairs of ``heldout_pairs_file`` when given (LFW View 1's pairsDevTest, say), or
    else the pairs of a seeded ``heldout_share`` of the people, who are then left out of
    training entirely.
    """
    if not 0.0 < target_fmr < 1.0 or not 0.0 < reject_fnmr < 1.0:
        raise DatasetError(
            f"target FMR and reject FNMR must lie in (0, 1), got {target_fmr} and {reject_fnmr}"
        )
    config = config or EvaluationConfig()
    source = dataset_dir if dataset_dir is not None else pairs_file  # what messages name
    scored = _score(dataset_dir, pairs_file, config, heldout_pairs_file)
    dataset, pairs, embeddings = scored.dataset, scored.pairs, scored.embeddings
    codes = dataset.identity_codes
    usable = ~np.isnan(scored.distance)

    if scored.heldout is not None:
        heldout = scored.heldout
        held_distance = scored.distances(heldout.a, heldout.b)
        held_same = heldout.same
        train_pairs = usable
        # thresholds come from the training list's images, never from a held-out image
        train_image = np.zeros(len(dataset.images), dtype=bool)
        train_image[pairs.a] = train_image[pairs.b] = True
        train_image[heldout.a] = train_image[heldout.b] = False
        held_desc = f"{heldout.source}"
    else:
        rng = np.random.default_rng(config.seed)
        held_people = rng.random(dataset.people) < heldout_share
        pair_held = held_people[codes[pairs.a]] | held_people[codes[pairs.b]]
        pair_both_held = held_people[codes[pairs.a]] & held_people[codes[pairs.b]]
        train_pairs = usable & ~pair_held
        held_distance, held_same = scored.distance[pair_both_held], pairs.same[pair_both_held]
        train_image = ~held_people[codes]
        held_desc = (
            f"the pairs of {int(held_people.sum())} of {dataset.people} people held out (seed {config.seed})"
        )

    genuine = scored.distance[train_pairs & pairs.same]
    impostor = scored.distance[train_pairs & ~pairs.same]
    if genuine.size < 10 or impostor.size < 10:
        raise DatasetError(
            f"{source}: only {genuine.size} genuine and {impostor.size} impostor training pairs "
            "have faces; at least 10 of each are needed to fit a profile"
        )
    calibration = make_calibrator(method).fit(genuine, impostor)

    in_training = train_image & embeddings.found
    g_all: NDArray[np.floating[Any]]
    i_all: NDArray[np.floating[Any]]
    if config.comparison == "document":
        # documents are compared with live photos only: every training document (an image on
        # the pairs' left) against every training live photo (on their right)
        sides = np.zeros((2, len(dataset.images)), dtype=bool)
        sides[0, pairs.a], sides[1, pairs.b] = True, True
        documents = np.flatnonzero(sides[0] & in_training)
        lives = np.flatnonzero(sides[1] & in_training & ~sides[0])
        g_all, i_all = scored.cross(documents, lives, codes)
    else:
        g_all, i_all = all_pairs(embeddings.vectors[in_training], codes[in_training])
    if g_all.size == 0 or i_all.size == 0:  # the held-out pairs took the images that would give them
        raise DatasetError(
            f"{source}: the training images (with a face, none of them held out) give {g_all.size:,} "
            f"genuine and {i_all.size:,} impostor pairs; thresholds need both: hold out other people's "
            "pairs, or leave out --heldout-pairs"
        )
    # the profile keeps four decimals, rounded to the safe side: never a higher FMR at accept,
    # never a higher FNMR at reject than the targets' thresholds give on these pairs
    accept = math.floor(threshold_at_fmr(i_all, target_fmr) * 1e4) / 1e4
    reject = max(accept, math.ceil(threshold_at_fnmr(g_all, reject_fnmr) * 1e4) / 1e4)

    weak = _weaknesses(i_all.size, g_all.size, target_fmr, reject_fnmr, accept, reject)
    if weak and not allow_weak:
        raise WeakProfile(
            f"{source}: the profile would not keep its promises ({'; '.join(weak)}); "
            "add people and photos, relax --target-fmr or --reject-fnmr, "
            "or give --allow-weak to write it marked weak"
        )
    prior = genuine.size / (genuine.size + impostor.size)  # the share of genuine pairs it was fitted on
    held_figures = _heldout_figures(held_distance, held_same, calibration.probability, accept, reject, prior)
    fitted = dt.datetime.now(dt.UTC)
    profile = Profile(
        name=name or Path(out).stem,
        version=fitted.strftime("%Y.%m.%d"),
        calibration=calibration,
        accept_distance=accept,
        reject_distance=reject,
        # no overrides: the default limits (impostor/data/limits.json) apply until a site sets its own
        limits={},
        pipeline=config.pipeline(),
        operating_points={"accept_target_fmr": target_fmr, "reject_target_fnmr": reject_fnmr},
        weak=tuple(weak),
        provenance={
            "fitted": fitted.isoformat(timespec="seconds"),
            "command": command,
            "dataset": str(dataset.root),
            "images": len(dataset.images),
            "people": dataset.people,
            "failures_to_acquire": int((~embeddings.found).sum()),
            "calibration_data": pairs.source,
            "calibration_method": method,
            "calibration_pairs": {
                "genuine": int(genuine.size),
                "impostor": int(impostor.size),
                "lost_to_no_face": int((~usable).sum()),
            },
            "threshold_data": "every training document against every training live photo"
            if config.comparison == "document"
            else "every pair among the training images",
            "threshold_pairs": {"genuine": int(g_all.size), "impostor": int(i_all.size)},
            "enough_impostors_for_target": bool(i_all.size >= impostors_needed(target_fmr)),
            "heldout_data": held_desc,
            "heldout": held_figures,
        },
    )
    try:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        profile.save(out)
    except OSError as exc:
        raise OutputError(f"{out}: cannot be written ({exc.strerror or exc})") from None
    return profile


def _weaknesses(
    impostors: int, genuines: int, target_fmr: float, reject_fnmr: float, accept: float, reject: float
) -> list[str]:
    """Why thresholds chosen on these pair counts cannot be trusted; empty when they can."""
    found = []
    if impostors < impostors_needed(target_fmr):
        found.append(
            f"{impostors:,} impostor pairs for FMR {target_fmr:g}, {impostors_needed(target_fmr):,} needed"
        )
    if genuines < impostors_needed(reject_fnmr):  # the rule of three holds for either error rate
        found.append(
            f"{genuines:,} genuine pairs for FNMR {reject_fnmr:g}, {impostors_needed(reject_fnmr):,} needed"
        )
    if reject <= accept:
        found.append(f"no REFER band: accept and reject both at distance {accept:g}")
    return found


def _heldout_figures(
    distance: NDArray[np.float64],
    same: NDArray[np.bool_],
    probability: Any,
    accept: float,
    reject: float,
    prior: float,
) -> dict[str, Any]:
    found = ~np.isnan(distance)
    g, i = distance[found & same], distance[found & ~same]
    figures: dict[str, Any] = {
        "genuine_pairs": int(g.size),
        "impostor_pairs": int(i.size),
        "pairs_lost_to_no_face": int((~found).sum()),
    }
    if g.size == 0 or i.size == 0:
        figures["note"] = "no held-out genuine or impostor pairs with faces: nothing to measure"
        return figures
    for label, t in (("at_accept", accept), ("at_reject", reject)):
        fmr, fnmr = rates_at(g, i, t)
        figures[label] = {"threshold": round(t, 4), "fmr": round(fmr, 5), "fnmr": round(fnmr, 5)}
    p_g, p_i = probability(g), probability(i)
    figures["accuracy_at_p_0.5"] = round(
        float((np.sum(p_g >= 0.5) + np.sum(p_i < 0.5)) / (g.size + i.size)), 4
    )
    figures["cllr"] = round(cllr(llr_from_probability(p_g, prior), llr_from_probability(p_i, prior)), 4)
    figures["min_cllr"] = round(min_cllr(g, i), 4)
    return figures
