"""The QA report: error rates computed from scored pairs, written as JSON, CSV, PNG and HTML.

Distances are Euclidean between embeddings (smaller is more alike); a pair is accepted when
``distance <= threshold``. Genuine pairs are the same person, impostor pairs different people
(ISO/IEC 19795-1). ``build_report`` computes every figure; ``impostor.qa.outputs`` writes them.

How lost pairs (an image in which no face was found, so no distance) are counted, stated once
here and written into every report (``CONVENTIONS``):

- FMR, FNMR, EER, the operating points, Cllr and minCllr are algorithm-level figures over the
  *scored* pairs only; the lost pairs are counted beside them.
- FAR and FRR are system-level: each listed pair is one transaction, and a lost pair is a
  failure to acquire (FTA) of that transaction, taken per class: FTA_g = lost genuine pairs /
  genuine pairs, FTA_i = lost impostor pairs / impostor pairs. FRR = FTA_g + FNMR·(1 − FTA_g),
  so every lost genuine pair is a false rejection; FAR = FMR·(1 − FTA_i), so a lost impostor
  pair is never a false accept (the counter refers it) but stays in the denominator.
- The three-way outcome table counts a lost pair as REFER (no face), as ``decide`` does.
- Fold accuracy counts a lost pair as an error whatever its truth (the LFW protocol).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from impostor.errors import DatasetError
from impostor.jsonio import jsonable
from impostor.pipeline.profile import Profile
from impostor.qa import metrics
from impostor.qa.error_sources import ErrorSources, error_sources
from impostor.qa.error_versus_reject import ErrorVersusReject, error_versus_reject
from impostor.qa.pair_scores import Context, PairScores

__all__ = [
    "CONVENTIONS",
    "SCHEMA",
    "Context",
    "Counts",
    "Outcomes",
    "PairExample",
    "PairScores",
    "Report",
    "TargetPoint",
    "ThresholdPoint",
    "build_report",
    "format_rate",
]

SCHEMA = "impostor.report/1"
CONVENTIONS = (
    "Distances are Euclidean between embeddings: smaller is more alike; a pair is accepted when "
    "distance <= threshold.",
    "FMR, FNMR, EER, operating points, Cllr and minCllr are computed over scored pairs only "
    "(both images had a face); lost pairs are counted separately.",
    "FAR and FRR count each listed pair as a transaction and a lost pair as a failure to acquire, "
    "per class: FRR = FTA_g + FNMR·(1 − FTA_g) (a lost genuine pair is a false rejection); "
    "FAR = FMR·(1 − FTA_i) (a lost impostor pair is not a false accept but stays in the denominator).",
    "Outcomes apply the profile as the counter does: MATCH if distance <= accept, NO_MATCH if "
    "distance > reject, REFER between, and REFER when a face is missing (lost pair). The rule that "
    "refers a second similar-sized live face is not applied (the scores do not record it).",
    "Confidence intervals are 95% percentile intervals from resampling people (not pairs) with "
    "replacement; at a target FMR the threshold is re-chosen in every round.",
    "An FMR needs about 3/FMR impostor pairs to mean anything; figures with fewer are marked.",
    "Cllr uses LLR = logit(p) − logit(prior), p the profile's calibrated probability and prior the "
    "share of genuine pairs it was fitted on; minCllr is the Cllr after the best monotone (PAV) map.",
    "Fold accuracy: the threshold with the best accuracy on the other folds (the smallest such), "
    "applied to the fold; lost pairs count as errors; ± is the sample standard deviation over folds.",
)
_EXAMPLES = 10  # hardest and lost pairs listed in the report
_DET_POINTS = 256  # DET points kept in report.json (the PNG draws up to plots._MAX_POINTS)
_SUMMARY_REJECT = 0.10  # the reject share quoted in the summary
_LEVEL = 0.95  # confidence level of every interval (FIELD.md: FNMR at target FMR with 95% CIs)


@dataclass(frozen=True)
class Counts:
    """Images, people and pairs of a benchmark, with those lost to no face (a lost pair has no distance)."""

    images: int
    people: int
    fta_images: int  # images with no face
    pairs: int  # listed pairs (after the pair list's own skips)
    pair_people: int  # distinct people appearing in the pairs
    genuine_pairs: int  # listed, scored or not
    impostor_pairs: int
    lost_genuine: int  # genuine pairs with no distance (no face in an image)
    lost_impostor: int
    pairs_skipped: int  # pair-list entries that could not be used (see the data set section)

    @property
    def scored_genuine(self) -> int:
        """Genuine pairs with a distance (both images had a face)."""
        return self.genuine_pairs - self.lost_genuine

    @property
    def scored_impostor(self) -> int:
        """Impostor pairs with a distance (both images had a face)."""
        return self.impostor_pairs - self.lost_impostor

    @property
    def fta_genuine(self) -> float:
        """Share of genuine pairs lost: the per-transaction FTA of genuine attempts."""
        return self.lost_genuine / self.genuine_pairs

    @property
    def fta_impostor(self) -> float:
        """Share of impostor pairs lost: the per-transaction FTA of impostor attempts."""
        return self.lost_impostor / self.impostor_pairs


@dataclass(frozen=True)
class TargetPoint:
    """FNMR at a target FMR, its confidence interval, and the system rates there."""

    point: metrics.OperatingPoint
    fnmr_ci: metrics.Interval | None  # None when bootstrap_rounds is 0
    far: float
    frr: float


@dataclass(frozen=True)
class ThresholdPoint:
    """Rates at one of the profile's thresholds (accept when distance <= threshold)."""

    name: str  # "accept" or "reject"
    threshold: float
    fmr: float
    fnmr: float
    fmr_ci: metrics.Interval | None
    fnmr_ci: metrics.Interval | None
    far: float
    frr: float


@dataclass(frozen=True)
class Outcomes:
    """What the profile's three-way decision does to one class of listed pairs (counts)."""

    truth: str  # "genuine" or "impostor"
    match: int
    refer: int  # distance between the accept and reject thresholds
    refer_no_face: int  # lost pairs
    no_match: int

    @property
    def total(self) -> int:
        """Every pair of the class: MATCH, REFER (either kind) and NO_MATCH together."""
        return self.match + self.refer + self.refer_no_face + self.no_match


@dataclass(frozen=True)
class PairExample:
    """One pair shown in the report: its images, people, fold, distance (NaN if lost) and P(same)."""

    a: str
    b: str
    a_identity: int
    b_identity: int
    fold: int | None
    distance: float  # NaN for a lost pair
    probability: float


@dataclass(frozen=True, eq=False)
class Report:
    """Every figure of a QA benchmark; ``to_dict`` is what report.json holds."""

    context: Context
    counts: Counts
    eer: metrics.EER
    operating_points: tuple[TargetPoint, ...]
    profile_thresholds: tuple[ThresholdPoint, ...]  # accept, then reject
    outcomes: tuple[Outcomes, Outcomes]  # genuine, then impostor
    cllr: float  # bits, of the profile's calibrated probabilities
    min_cllr: float
    prior: float  # share of genuine pairs the calibration was fitted with
    folds: metrics.FoldAccuracy | None  # None without folds
    hardest_genuine: tuple[PairExample, ...]  # largest distances first
    hardest_impostor: tuple[PairExample, ...]  # smallest distances first
    lost_examples: tuple[PairExample, ...]
    det: metrics.Curve  # thinned to at most _DET_POINTS points
    error_sources: ErrorSources | None = None  # None when the scores carry no attributes
    # at the profile's accept threshold; None without attributes or without any quality scores
    error_versus_reject: ErrorVersusReject | None = None
    bootstrap: dict[str, float] = field(default_factory=dict)  # rounds, seed, level
    conventions: tuple[str, ...] = CONVENTIONS

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; undefined numbers (NaN) become null."""
        c, folds = self.counts, self.folds
        data = {
            "schema": SCHEMA,
            **self.context.to_dict(),
            "counts": _record(
                c,
                scored_genuine=c.scored_genuine,
                scored_impostor=c.scored_impostor,
                fta_image_rate=c.fta_images / c.images if c.images else None,
                fta_genuine=c.fta_genuine,
                fta_impostor=c.fta_impostor,
            ),
            "eer": self.eer,
            "operating_points": [
                _record(t.point, note=t.point.note, fnmr_ci=t.fnmr_ci, far=t.far, frr=t.frr)
                for t in self.operating_points
            ],
            "profile_thresholds": self.profile_thresholds,
            "outcomes": [_record(o, total=o.total) for o in self.outcomes],
            "calibration": {"cllr": self.cllr, "min_cllr": self.min_cllr, "prior": self.prior},
            "folds": None
            if folds is None
            else {
                "folds": [
                    {"fold": f, "pairs": n, "lost": lost, "threshold": t, "accuracy": a}
                    for f, n, lost, t, a in zip(
                        folds.folds, folds.pairs, folds.lost, folds.threshold, folds.accuracy, strict=True
                    )
                ],
                "mean": folds.mean,
                "std": folds.std,
                "standard_error": folds.standard_error,
            },
            "hardest_genuine": self.hardest_genuine,
            "hardest_impostor": self.hardest_impostor,
            "lost_examples": self.lost_examples,
            "det": self.det,
            "error_sources": None if self.error_sources is None else self.error_sources.to_dict(),
            "error_versus_reject": None
            if self.error_versus_reject is None
            else self.error_versus_reject.to_dict(),
            "bootstrap": self.bootstrap,
            "conventions": self.conventions,
        }
        return jsonable(data)

    def summary(self) -> str:
        """A few lines for a terminal."""
        c = self.counts
        lines = [
            f"{self.context.title}: {c.pairs:,} pairs ({c.genuine_pairs:,} genuine, {c.impostor_pairs:,} "
            f"impostor), {c.lost_genuine + c.lost_impostor:,} lost to no face; "
            f"{c.fta_images:,} of {c.images:,} images without a face",
        ]
        if c.pairs_skipped:  # repeats and lines naming missing images change what the rates rest on
            lines.append(
                f"pairs from {self.context.pairs_source}; {c.pairs_skipped:,} lines of the list not used"
            )
        lines.append(f"EER {format_rate(self.eer.rate)} at distance {self.eer.threshold:.4f}")
        for t in self.operating_points:
            p = t.point
            ci = f" [{format_rate(t.fnmr_ci.low)}, {format_rate(t.fnmr_ci.high)}]" if t.fnmr_ci else ""
            note = f" ({p.note})" if p.note else ""
            lines.append(
                f"FNMR at FMR {p.target_fmr:g}: {format_rate(p.fnmr)}{ci} at distance {p.threshold:.4f}{note}"
            )
        for f in self.profile_thresholds:
            lines.append(
                f"profile {f.name} {f.threshold:.4f}: FMR {format_rate(f.fmr)}, FNMR {format_rate(f.fnmr)}, "
                f"FAR {format_rate(f.far)}, FRR {format_rate(f.frr)}"
            )
        lines.append(f"Cllr {self.cllr:.4f} bits, minCllr {self.min_cllr:.4f} bits")
        if self.folds:
            r = self.folds
            lines.append(f"accuracy over {r.folds.size} folds: {r.mean:.2%} ± {r.std:.2%} (std)")
        if self.error_sources is not None:
            lines.append(self.error_sources.summary())
        if self.error_versus_reject is not None:
            start, point = self.error_versus_reject.points[0], self.error_versus_reject.at(_SUMMARY_REJECT)
            lines.append(
                f"rejecting the lowest-quality {point.share:.0%} of comparisons: "
                f"FNMR {format_rate(start.fnmr)} → {format_rate(point.fnmr)}, "
                f"FMR {format_rate(start.fmr)} → {format_rate(point.fmr)} "
                f"(at the accept threshold {self.error_versus_reject.threshold:.4f})"
            )
        return "\n".join(lines)


def build_report(
    scores: PairScores,
    context: Context,
    *,
    targets: Sequence[float] = (1e-2, 1e-3, 1e-4),
    bootstrap_rounds: int = 1000,
    seed: int = 0,
) -> Report:
    """Compute every figure of the report from scored pairs (see the module docstring for how
    lost pairs count). ``bootstrap_rounds=0`` skips the confidence intervals.

    Raises ``DatasetError`` when there is no scored genuine or no scored impostor pair.
    """
    if bootstrap_rounds < 0:
        raise ValueError(f"bootstrap_rounds must be >= 0, got {bootstrap_rounds}")
    scored, same = scores.scored, scores.same
    g_mask, i_mask = scored & same, scored & ~same
    if not np.any(g_mask) or not np.any(i_mask):
        raise DatasetError(
            f"{context.title}: {int(g_mask.sum())} genuine and {int(i_mask.sum())} impostor pairs have a "
            "distance; the report needs at least one of each (check the pair list and the faces found)"
        )
    g, i = scores.distance[g_mask], scores.distance[i_mask]
    g_ids = scores.a_identity[g_mask]
    i_ids = np.stack([scores.a_identity[i_mask], scores.b_identity[i_mask]], axis=1)
    counts = _counts(scores, context)
    profile = context.profile
    targets_out, thresholds_out = _points(
        (g, g_ids, i, i_ids), counts, targets, profile, bootstrap_rounds=bootstrap_rounds, seed=seed
    )

    prior = _calibration_prior(profile)
    llr = metrics.llr_from_probability(scores.probability, prior)
    fold_rows = None
    if scores.fold is not None and np.unique(scores.fold).size >= 2:
        fold_rows = metrics.fold_accuracy(scores.distance, same, scores.fold)
    curve = metrics.error_curve(g, i)
    keep = metrics.thin(curve, _DET_POINTS)
    sources = None if scores.attributes is None else _error_sources(scores, profile, fold_rows)
    return Report(
        context=context,
        counts=counts,
        eer=metrics.eer(g, i),
        operating_points=tuple(targets_out),
        profile_thresholds=tuple(thresholds_out),
        outcomes=(_outcomes(scores, profile, True), _outcomes(scores, profile, False)),
        cllr=metrics.cllr(llr[g_mask], llr[i_mask]),
        min_cllr=metrics.min_cllr(g, i),
        prior=prior,
        folds=fold_rows,
        hardest_genuine=_examples(scores, np.flatnonzero(g_mask)[np.argsort(-g, kind="stable")]),
        hardest_impostor=_examples(scores, np.flatnonzero(i_mask)[np.argsort(i, kind="stable")]),
        lost_examples=_examples(scores, np.flatnonzero(~scored)),
        det=metrics.Curve(curve.thresholds[keep], curve.fmr[keep], curve.fnmr[keep]),
        error_sources=sources,
        error_versus_reject=_error_versus_reject(scores, profile, seed),
        bootstrap={"rounds": bootstrap_rounds, "seed": seed, "level": _LEVEL},
    )


def _points(
    pairs: tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.float64], NDArray[np.int64]],
    counts: Counts,
    targets: Sequence[float],
    profile: Profile,
    *,
    bootstrap_rounds: int,
    seed: int,
) -> tuple[list[TargetPoint], list[ThresholdPoint]]:
    """FNMR at each target FMR, and the rates at the profile's two thresholds, each with its
    bootstrap intervals and system-level FAR and FRR. ``pairs`` is the scored genuine distances
    and their identities, then the scored impostor distances and their identity pairs."""
    g, g_ids, i, i_ids = pairs

    def intervals(**where: float) -> metrics.RateIntervals | None:
        if not bootstrap_rounds:
            return None
        return metrics.bootstrap_by_identity(
            g, g_ids, i, i_ids, rounds=bootstrap_rounds, seed=seed, level=_LEVEL, **where
        )

    def far_frr(fmr: float, fnmr: float) -> tuple[float, float]:
        far = metrics.system_rates(fmr, fnmr, counts.fta_impostor).far
        return far, metrics.system_rates(fmr, fnmr, counts.fta_genuine).frr

    targets_out = []
    for target in targets:
        point = metrics.fnmr_at_fmr(g, i, target)
        ci = intervals(target_fmr=target)
        targets_out.append(TargetPoint(point, ci.fnmr if ci else None, *far_frr(point.fmr, point.fnmr)))
    thresholds_out = []
    for name, t in (("accept", profile.accept_distance), ("reject", profile.reject_distance)):
        rates = metrics.rates_at(g, i, t)
        ci = intervals(threshold=t)
        thresholds_out.append(
            ThresholdPoint(
                name,
                t,
                rates.fmr,
                rates.fnmr,
                ci.fmr if ci else None,
                ci.fnmr if ci else None,
                *far_frr(*rates),
            )
        )
    return targets_out, thresholds_out


def _counts(scores: PairScores, context: Context) -> Counts:
    """Images, people and pairs, with the pairs lost to no face, per class."""
    scored, same = scores.scored, scores.same
    return Counts(
        images=context.images,
        people=context.people,
        fta_images=context.fta_images,
        pairs=len(scores),
        pair_people=int(np.unique(np.concatenate([scores.a_identity, scores.b_identity])).size),
        genuine_pairs=int(same.sum()),
        impostor_pairs=int((~same).sum()),
        lost_genuine=int((same & ~scored).sum()),
        lost_impostor=int((~same & ~scored).sum()),
        pairs_skipped=context.pairs_skipped,
    )


def _error_versus_reject(scores: PairScores, profile: Profile, seed: int) -> ErrorVersusReject | None:
    """Error rates at the accept threshold as low-quality comparisons are set aside; None without
    attributes or without any quality score among the scored pairs."""
    if scores.attributes is None or np.all(np.isnan(scores.attributes.quality[scores.scored])):
        return None
    # a comparison is as good as its worse image; NaN (not measured) stays NaN
    comparison_quality = np.minimum(scores.attributes.quality[:, 0], scores.attributes.quality[:, 1])
    return error_versus_reject(
        comparison_quality, scores.same, scores.distance, threshold=profile.accept_distance, seed=seed
    )


def _error_sources(scores: PairScores, profile: Profile, folds: metrics.FoldAccuracy | None) -> ErrorSources:
    """The errors of the report's reference rule: fold accuracy's when there are folds (each
    fold at the threshold chosen on the others, every lost pair wrong), else the profile's
    accept threshold (false matches, false non-matches and lost genuine pairs)."""
    assert scores.attributes is not None
    if folds is not None and scores.fold is not None:
        threshold = folds.threshold[np.searchsorted(folds.folds, scores.fold)]
        rule = "each fold at the threshold chosen on the other folds, lost pairs wrong"
        lost_impostor_is_error = True
    else:
        threshold = np.full(len(scores), profile.accept_distance)
        rule = f"the profile's accept threshold {profile.accept_distance:.4f}, lost genuine pairs wrong"
        lost_impostor_is_error = False
    return error_sources(
        scores.attributes,
        a=scores.a,
        b=scores.b,
        same=scores.same,
        distance=scores.distance,
        threshold=threshold,
        fold=scores.fold,
        lost_impostor_is_error=lost_impostor_is_error,
        rule=rule,
    )


def _calibration_prior(profile: Profile) -> float:
    """Share of genuine pairs the profile's calibration was fitted on; 0.5 when not recorded."""
    pairs = profile.provenance.get("calibration_pairs")
    if isinstance(pairs, dict):
        genuine, impostor = pairs.get("genuine"), pairs.get("impostor")
        if isinstance(genuine, int) and isinstance(impostor, int) and genuine > 0 and impostor > 0:
            return genuine / (genuine + impostor)
    return 0.5


def _outcomes(scores: PairScores, profile: Profile, genuine: bool) -> Outcomes:
    d = scores.distance[scores.same == genuine]
    lost = np.isnan(d)
    known = d[~lost]
    match = int(np.count_nonzero(known <= profile.accept_distance))
    no_match = int(np.count_nonzero(known > profile.reject_distance))
    return Outcomes(
        truth="genuine" if genuine else "impostor",
        match=match,
        refer=known.size - match - no_match,
        refer_no_face=int(lost.sum()),
        no_match=no_match,
    )


def _examples(scores: PairScores, rows: NDArray[np.int64]) -> tuple[PairExample, ...]:
    return tuple(
        PairExample(
            a=scores.a[k],
            b=scores.b[k],
            a_identity=int(scores.a_identity[k]),
            b_identity=int(scores.b_identity[k]),
            fold=None if scores.fold is None else int(scores.fold[k]),
            distance=float(scores.distance[k]),
            probability=float(scores.probability[k]),
        )
        for k in rows[:_EXAMPLES]
    )


def _record(value: Any, **extra: Any) -> dict[str, Any]:
    """A dataclass's fields as a dict, followed by ``extra`` (its derived figures)."""
    return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)} | extra


def format_rate(rate: float) -> str:
    """A rate as a percentage with enough digits to show small FMRs (0.0123%)."""
    if math.isnan(rate):
        return "–"
    if rate == 0:
        return "0%"
    digits = max(1, 1 - math.floor(math.log10(rate * 100)))
    return f"{rate * 100:.{digits}f}%"
