"""The QA composition: data set → embeddings → scored pairs → report, or → a fitted profile.

``run_benchmark`` answers, on a team's own photos, how often an impostor passes and how often
a genuine traveller is referred at the shipped thresholds, with confidence intervals.
``run_calibration`` fits a new profile and measures it on data it was not fitted on.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from impostor.errors import DatasetError, OutputError, WeakProfile
from impostor.pipeline.profile import Profile, load_profile
from impostor.qa.batch import EmbeddingSet
from impostor.qa.cache import pipeline_key
from impostor.qa.dataset import Dataset
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
from impostor.qa.pairs import Pairs
from impostor.qa.report import Context, PairScores, Report, build_report
from impostor.qa.scoring import EvaluationConfig, Scored, score_pairs
from impostor.stages.calibrate import Method, make_calibrator
from impostor.stages.score import all_pairs

__all__ = ["EvaluationConfig", "run_benchmark", "run_calibration"]


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
    scored = score_pairs(dataset_dir, pairs_file, config)
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
    scored = score_pairs(dataset_dir, pairs_file, config, heldout_pairs_file)
    pairs, embeddings = scored.pairs, scored.embeddings
    split = _held_out(scored, heldout_share, config.seed)
    genuine = scored.distance[split.train_pairs & pairs.same]
    impostor = scored.distance[split.train_pairs & ~pairs.same]
    if genuine.size < 10 or impostor.size < 10:
        raise DatasetError(
            f"{source}: only {genuine.size} genuine and {impostor.size} impostor training pairs "
            "have faces; at least 10 of each are needed to fit a profile"
        )
    calibration = make_calibrator(method).fit(genuine, impostor)
    g_all, i_all = _threshold_pairs(scored, split.train_image & embeddings.found, config.comparison, source)
    accept, reject, weak = _thresholds(g_all, i_all, target_fmr, reject_fnmr, source, allow_weak=allow_weak)
    prior = genuine.size / (genuine.size + impostor.size)  # the share of genuine pairs it was fitted on
    held_figures = _heldout_figures(
        split.distance, split.same, calibration.probability, accept, reject, prior
    )
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
            **_fitted_on(scored, method, genuine.size, impostor.size),
            "threshold_data": "every training document against every training live photo"
            if config.comparison == "document"
            else "every pair among the training images",
            "threshold_pairs": {"genuine": int(g_all.size), "impostor": int(i_all.size)},
            "enough_impostors_for_target": bool(i_all.size >= impostors_needed(target_fmr)),
            "heldout_data": split.description,
            "heldout": held_figures,
        },
    )
    _save(profile, out)
    return profile


def _fitted_on(scored: Scored, method: Method, genuine: int, impostor: int) -> dict[str, object]:
    """The provenance of the probability model: the data set, the pairs it was fitted on
    (``genuine`` and ``impostor`` training pairs with a distance) and those lost to no face."""
    dataset = scored.dataset
    return {
        "dataset": str(dataset.root),
        "images": len(dataset.images),
        "people": dataset.people,
        "failures_to_acquire": int((~scored.embeddings.found).sum()),
        "calibration_data": scored.pairs.source,
        "calibration_method": method,
        "calibration_pairs": {
            "genuine": int(genuine),
            "impostor": int(impostor),
            "lost_to_no_face": int(np.isnan(scored.distance).sum()),
        },
    }


def _save(profile: Profile, out: str | Path) -> None:
    """Write ``profile`` to ``out``, its folder made if need be; ``OutputError`` when it cannot."""
    try:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        profile.save(out)
    except OSError as exc:
        raise OutputError(f"{out}: cannot be written ({exc.strerror or exc})") from None


def _thresholds(
    g_all: NDArray[np.floating[Any]],
    i_all: NDArray[np.floating[Any]],
    target_fmr: float,
    reject_fnmr: float,
    source: str | Path | None,
    *,
    allow_weak: bool,
) -> tuple[float, float, list[str]]:
    """The accept and reject distances for the targets, and why they are weak (empty when they
    are not). Raises ``WeakProfile`` for weak thresholds unless ``allow_weak``."""
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
    return accept, reject, weak


@dataclass(frozen=True, eq=False)
class _Split:
    """Training and held-out parts of a calibration's pairs."""

    train_pairs: NDArray[np.bool_]  # listed pairs to fit on (those with a distance, none held out)
    train_image: NDArray[np.bool_]  # images the thresholds may be chosen on
    distance: NDArray[np.float64]  # the held-out pairs' distances, NaN for a lost pair
    same: NDArray[np.bool_]  # and whether each is the same person
    description: str  # what was held out, for the profile's provenance


def _held_out(scored: Scored, share: float, seed: int) -> _Split:
    """The given held-out pairs, or else the pairs of a seeded ``share`` of the people, who are
    then left out of training entirely."""
    dataset, pairs, codes = scored.dataset, scored.pairs, scored.dataset.identity_codes
    usable = ~np.isnan(scored.distance)
    if scored.heldout is not None:
        heldout = scored.heldout
        # thresholds come from the training list's images, never from a held-out image
        train_image = np.zeros(len(dataset.images), dtype=bool)
        train_image[pairs.a] = train_image[pairs.b] = True
        train_image[heldout.a] = train_image[heldout.b] = False
        held_distance = scored.distances(heldout.a, heldout.b)
        return _Split(usable, train_image, held_distance, heldout.same, f"{heldout.source}")
    rng = np.random.default_rng(seed)
    held_people = rng.random(dataset.people) < share
    pair_held = held_people[codes[pairs.a]] | held_people[codes[pairs.b]]
    pair_both_held = held_people[codes[pairs.a]] & held_people[codes[pairs.b]]
    return _Split(
        usable & ~pair_held,
        ~held_people[codes],
        scored.distance[pair_both_held],
        pairs.same[pair_both_held],
        f"the pairs of {int(held_people.sum())} of {dataset.people} people held out (seed {seed})",
    )


def _threshold_pairs(
    scored: Scored, in_training: NDArray[np.bool_], comparison: str, source: str | Path | None
) -> tuple[NDArray[np.floating[Any]], NDArray[np.floating[Any]]]:
    """The genuine and impostor distances the thresholds are chosen on: every pair among the
    training images, or for documents every training document against every training live photo.
    Raises ``DatasetError`` when either is empty."""
    codes, pairs = scored.dataset.identity_codes, scored.pairs
    g_all: NDArray[np.floating[Any]]
    i_all: NDArray[np.floating[Any]]
    if comparison == "document":
        # documents are compared with live photos only: every training document (an image on
        # the pairs' left) against every training live photo (on their right)
        sides = np.zeros((2, len(scored.dataset.images)), dtype=bool)
        sides[0, pairs.a], sides[1, pairs.b] = True, True
        documents = np.flatnonzero(sides[0] & in_training)
        lives = np.flatnonzero(sides[1] & in_training & ~sides[0])
        g_all, i_all = scored.cross(documents, lives, codes)
    else:
        g_all, i_all = all_pairs(scored.embeddings.vectors[in_training], codes[in_training])
    if g_all.size == 0 or i_all.size == 0:  # the held-out pairs took the images that would give them
        raise DatasetError(
            f"{source}: the training images (with a face, none of them held out) give {g_all.size:,} "
            f"genuine and {i_all.size:,} impostor pairs; thresholds need both: hold out other people's "
            "pairs, or leave out --heldout-pairs"
        )
    return g_all, i_all


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
