"""Biometric error rates on distance scores (ISO/IEC 19795-1 vocabulary).

Every function takes **distances** (smaller is more alike) and accepts a comparison when
``distance <= threshold``. Genuine (mated) pairs are the same person; impostor (non-mated)
pairs are different people. Argument order is always ``genuine, impostor``.

- FMR(t): share of impostor distances ``<= t`` (accepted impostors).
- FNMR(t): share of genuine distances ``> t`` (rejected genuine pairs).
- System level, counting failures to acquire (FTA): FAR = FMR·(1−FTA), FRR = FTA + FNMR·(1−FTA).

Rates are computed as ``count / total`` and compared with a target in that form, so a rate
that equals its target exactly (3 accepted of 3,000 against 1e-3) counts as meeting it.

One rule chooses every threshold, whether a profile ships it or a report quotes it
(``threshold_at_fmr``, ``threshold_at_fnmr``, ``fnmr_at_fmr``): of the thresholds that accept the
same distances of the class the target is about, the one half-way between the last accepted and
the first refused; tied distances are accepted or refused together.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from impostor.arrays import scores as _scores

# the calibration cost and the fold accuracy live beside, in accuracy.py; the QA vocabulary is read here
from impostor.qa.accuracy import FoldAccuracy, cllr, fold_accuracy, llr_from_probability, min_cllr

__all__ = [
    "EER",
    "Curve",
    "FoldAccuracy",
    "Interval",
    "OperatingPoint",
    "RateIntervals",
    "Rates",
    "SystemRates",
    "bootstrap_by_identity",
    "cllr",
    "eer",
    "error_curve",
    "fnmr_at_fmr",
    "fold_accuracy",
    "identity_draws",
    "impostors_needed",
    "llr_from_probability",
    "min_cllr",
    "rates_at",
    "system_rates",
    "thin",
    "threshold_at_fmr",
    "threshold_at_fnmr",
]

Array = NDArray[np.float64]

# FIELD.md's rule of three: an FMR of f means little below about 3/f impostor comparisons
# (with none accepted out of n, the 95% upper bound on the true FMR is about 3/n)
RULE_OF_THREE = 3.0


class Rates(NamedTuple):
    """FMR and FNMR at one threshold, each a share in [0, 1]."""

    fmr: float
    fnmr: float


class SystemRates(NamedTuple):
    """System-level FAR and FRR, each a share in [0, 1] of the attempted transactions."""

    far: float
    frr: float


class EER(NamedTuple):
    """Equal error rate (a share) and a distance threshold at which FMR ≈ FNMR."""

    rate: float
    threshold: float


@dataclass(frozen=True, eq=False)
class Curve:
    """FMR and FNMR at every distinct observed distance, thresholds ascending.

    The first threshold lies just below every distance (accepts nothing: FMR 0, FNMR 1); the
    last is the largest distance (accepts everything: FMR 1, FNMR 0). Shapes ``(k,)``.
    """

    thresholds: Array
    fmr: Array  # non-decreasing
    fnmr: Array  # non-increasing


def error_curve(genuine: ArrayLike, impostor: ArrayLike) -> Curve:
    """The full FMR/FNMR trade-off, evaluated at every observed distance (vectorised).

    ``genuine`` and ``impostor`` are distances of any length ≥ 1; accepted when ``<= t``.
    """
    g, i = np.sort(_scores(genuine, "genuine")), np.sort(_scores(impostor, "impostor"))
    thresholds = np.unique(np.concatenate([g, i]))
    fmr = np.searchsorted(i, thresholds, side="right") / i.size
    fnmr = (g.size - np.searchsorted(g, thresholds, side="right")) / g.size
    below = np.nextafter(thresholds[0], -np.inf)  # a threshold below every score accepts nothing
    return Curve(
        np.concatenate([[below], thresholds]), np.concatenate([[0.0], fmr]), np.concatenate([[1.0], fnmr])
    )


def thin(curve: Curve, max_points: int) -> NDArray[np.int64]:
    """Indices of the points of ``curve`` worth drawing or storing, at most ``max_points`` (≥ 4).

    The curve is a staircase, so its corners are enough to draw it exactly; when even the
    corners are too many, keep half evenly in rank and half evenly in log FMR (the low-FMR end,
    stretched by log and probit axes, would otherwise be starved). Indices ascending.
    """
    n = curve.thresholds.size
    if n <= 2:
        return np.arange(n)
    # each step moves FMR (1), FNMR (2) or both (3: tied distances across the classes)
    kind = (np.diff(curve.fmr) != 0).astype(np.int8) + 2 * (np.diff(curve.fnmr) != 0).astype(np.int8)
    corners = np.flatnonzero(kind[1:] != kind[:-1]) + 1
    both = np.flatnonzero(kind == 3)
    keep = np.unique(np.concatenate([[0, n - 1], corners, both, both + 1]))
    if keep.size <= max_points:
        return keep
    positive = curve.fmr[curve.fmr > 0]
    floor = positive[0] if positive.size else 1.0
    half = max(1, (max_points - 2) // 2)  # the two ends are kept besides
    by_rate = np.searchsorted(curve.fmr, np.geomspace(floor, 1.0, half))
    by_index = np.linspace(0, n - 1, half).astype(np.int64)
    return np.unique(np.concatenate([by_rate, by_index, [0, n - 1]]).clip(0, n - 1))


def rates_at(genuine: ArrayLike, impostor: ArrayLike, threshold: float) -> Rates:
    """(FMR, FNMR) when distances ``<= threshold`` are accepted."""
    if not math.isfinite(threshold):
        raise ValueError(f"threshold must be finite, got {threshold!r}")
    g, i = _scores(genuine, "genuine"), _scores(impostor, "impostor")
    return Rates(
        float(np.count_nonzero(i <= threshold) / i.size), float(np.count_nonzero(g > threshold) / g.size)
    )


def eer(genuine: ArrayLike, impostor: ArrayLike) -> EER:
    """Equal error rate and a threshold where it is (nearly) reached.

    FMR and FNMR are step functions, so they seldom meet exactly. Between the last observed
    threshold where FNMR > FMR and the first where FNMR <= FMR, the rate is read where the
    straight segment joining those two (FMR, FNMR) points crosses FMR = FNMR (the operating
    point a random choice between the two thresholds would reach). The threshold returned is
    the one of those two where ``|FMR − FNMR|`` is smaller, so it is a real, usable threshold.
    """
    curve = error_curve(genuine, impostor)
    gap = curve.fnmr - curve.fmr  # non-increasing, from +1 (accept none) to −1 (accept all)
    k = int(np.argmax(gap <= 0))
    if gap[k] == 0:
        return EER(float(curve.fmr[k]), float(curve.thresholds[k]))
    share = gap[k - 1] / (gap[k - 1] - gap[k])  # how far along the segment the curves cross
    rate = curve.fmr[k - 1] + share * (curve.fmr[k] - curve.fmr[k - 1])
    nearest = k if -gap[k] < gap[k - 1] else k - 1
    return EER(float(rate), float(curve.thresholds[nearest]))


def impostors_needed(target_fmr: float) -> int:
    """How many impostor comparisons an FMR of ``target_fmr`` needs to mean anything (3/FMR)."""
    if not 0.0 < target_fmr < 1.0:
        raise ValueError(f"target_fmr must lie in (0, 1), got {target_fmr!r}")
    exact = RULE_OF_THREE / target_fmr
    nearest = round(exact)
    # 3 / 1e-4 is 29999.999999999996 in binary floating point; it means 30,000
    return int(nearest) if abs(exact - nearest) <= 1e-9 * exact else math.ceil(exact)


@dataclass(frozen=True)
class OperatingPoint:
    """FNMR at the largest threshold whose FMR does not exceed a target FMR."""

    target_fmr: float
    threshold: float  # accept when distance <= threshold
    fmr: float  # the FMR actually reached, <= target_fmr
    fnmr: float
    genuine_pairs: int
    impostor_pairs: int
    impostors_needed: int  # 3 / target_fmr, rounded up
    enough_data: bool  # impostor_pairs >= impostors_needed

    @property
    def note(self) -> str:
        """Empty, or why the figure cannot be trusted."""
        if self.enough_data:
            return ""
        return f"not enough impostor pairs: {self.impostor_pairs:,} < 3/FMR = {self.impostors_needed:,}"


def _accepted_for_target(sorted_impostor: Array, target_fmr: float) -> int:
    """How many of the smallest impostor distances can be accepted with FMR <= target.

    Never splits a run of tied distances: a threshold accepts all of them or none.
    """
    n = sorted_impostor.size
    k = min(n, math.floor(target_fmr * n) + 1)
    while k > 0 and k / n > target_fmr:  # floor(target · n) can be off by one in floating point
        k -= 1
    if 0 < k < n and sorted_impostor[k] == sorted_impostor[k - 1]:
        k = int(np.searchsorted(sorted_impostor, sorted_impostor[k], side="left"))
    return k


def _between(ordered: Array, accepted: int) -> float:
    """THE threshold rule: accept the ``accepted`` smallest of ``ordered`` and nothing more."""
    low = float(ordered[accepted - 1]) if accepted else None
    high = float(ordered[accepted]) if accepted < ordered.size else None
    return _midway(low, high)


def _midway(low: float | None, high: float | None) -> float:
    """Half-way between the last accepted distance ``low`` and the first refused ``high``, so the
    threshold sits on no observed distance; just below ``high`` when nothing is accepted (``low``
    None); ``low`` itself when nothing is refused (``high`` None)."""
    if low is None:
        assert high is not None
        return float(np.nextafter(high, -np.inf))
    if high is None:
        return low
    middle = (low + high) / 2
    return middle if middle < high else low  # adjacent floats: the mean may round up onto ``high``


def threshold_at_fmr(impostor: ArrayLike, target_fmr: float) -> float:
    """The largest distance threshold whose FMR (impostor distances ``<=`` it) is at most the target.

    The one rule for every threshold impostor chooses, for a profile or for a report: among the
    thresholds that accept the same impostor distances, the one half-way between the last
    accepted and the first refused (see ``_between``). Tied distances are accepted or refused
    together, so FMR never overshoots. Raises ``ValueError`` for a target outside (0, 1).
    """
    if not 0.0 < target_fmr < 1.0:
        raise ValueError(f"target_fmr must lie in (0, 1), got {target_fmr!r}")
    ordered = np.sort(_scores(impostor, "impostor"))
    return _between(ordered, _accepted_for_target(ordered, target_fmr))


def threshold_at_fnmr(genuine: ArrayLike, target_fnmr: float) -> float:
    """The smallest distance threshold whose FNMR (genuine distances ``>`` it) is at most the target.

    The same rule as ``threshold_at_fmr``: half-way between the last accepted and the first
    refused genuine distance; tied distances are accepted together. Raises ``ValueError`` for a
    target outside (0, 1).
    """
    if not 0.0 < target_fnmr < 1.0:
        raise ValueError(f"target_fnmr must lie in (0, 1), got {target_fnmr!r}")
    ordered = np.sort(_scores(genuine, "genuine"))
    n = ordered.size
    refused = min(n, math.floor(target_fnmr * n) + 1)
    while refused > 0 and refused / n > target_fnmr:  # as in _accepted_for_target
        refused -= 1
    accepted = n - refused
    if accepted > 0:  # the rest of a tied run is accepted too
        accepted = int(np.searchsorted(ordered, ordered[accepted - 1], side="right"))
    return _between(ordered, accepted)


def fnmr_at_fmr(genuine: ArrayLike, impostor: ArrayLike, target_fmr: float) -> OperatingPoint:
    """The FNMR at ``threshold_at_fmr(impostor, target_fmr)``: ties never overshoot the target.

    ``rates_at(genuine, impostor, point.threshold)`` gives back exactly this FMR and FNMR.
    Raises ``ValueError`` for a target outside (0, 1).
    """
    needed = impostors_needed(target_fmr)
    g, i = np.sort(_scores(genuine, "genuine")), np.sort(_scores(impostor, "impostor"))
    k = _accepted_for_target(i, target_fmr)
    threshold = _between(i, k)
    g_accepted = int(np.searchsorted(g, threshold, side="right"))
    return OperatingPoint(
        target_fmr=target_fmr,
        threshold=threshold,
        fmr=k / i.size,
        fnmr=(g.size - g_accepted) / g.size,
        genuine_pairs=int(g.size),
        impostor_pairs=int(i.size),
        impostors_needed=needed,
        enough_data=i.size >= needed,
    )


def system_rates(fmr: float, fnmr: float, fta: float) -> SystemRates:
    """(FAR, FRR) counting failures to acquire, per ISO/IEC 19795-1.

    FAR = FMR·(1−FTA): a transaction that fails to acquire is never falsely accepted.
    FRR = FTA + FNMR·(1−FTA): it is always a rejection of a genuine user. All in [0, 1].
    """
    for name, value in (("fmr", fmr), ("fnmr", fnmr), ("fta", fta)):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} must lie in [0, 1], got {value!r}")
    return SystemRates(fmr * (1.0 - fta), fta + fnmr * (1.0 - fta))


@dataclass(frozen=True)
class Interval:
    """A percentile bootstrap interval; NaN bounds when no round could be evaluated."""

    low: float
    high: float
    level: float  # e.g. 0.95
    rounds: int  # resamples that contributed (rounds drawing no genuine or no impostor pair are skipped)


@dataclass(frozen=True)
class RateIntervals:
    """Bootstrap intervals of FMR and FNMR at one threshold (or one target FMR)."""

    fmr: Interval
    fnmr: Interval


def identity_draws(people: int, rounds: int, seed: int) -> Iterator[NDArray[np.int64]]:
    """How often each person is drawn in each bootstrap round, shape ``(people,)`` per round.

    Round r draws ``people`` indices with replacement by ``rng.integers(0, people, people)``
    from ``rng = np.random.default_rng(seed)``; this is the whole of the randomness, so a
    slow reimplementation given the same seed sees the same resamples.
    """
    rng = np.random.default_rng(seed)
    for _ in range(rounds):
        yield np.bincount(rng.integers(0, people, people), minlength=people)


def bootstrap_by_identity(
    genuine: ArrayLike,
    genuine_ids: ArrayLike,
    impostor: ArrayLike,
    impostor_ids: ArrayLike,
    threshold: float | None = None,
    *,
    target_fmr: float | None = None,
    rounds: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> RateIntervals:
    """Confidence intervals for FMR and FNMR by resampling *people*, not pairs.

    Pairs that share a person are not independent, so each round draws people with
    replacement (see ``identity_draws``; people are the sorted distinct identities of both
    lists); a genuine pair of person p then counts ``n_p`` times and an impostor pair of p and
    q counts ``n_p · n_q`` times, ``n`` being the draw counts. Give either a fixed
    ``threshold`` (intervals of FMR and FNMR when distances ``<= threshold`` are accepted) or
    ``target_fmr`` (each round re-chooses the threshold by the one rule, as
    ``fnmr_at_fmr`` does, so the FNMR interval includes the threshold's own uncertainty).

    ``genuine_ids`` holds one integer identity per genuine pair, shape ``(n_g,)``;
    ``impostor_ids`` two per impostor pair, shape ``(n_i, 2)``. Cost: ``rounds`` passes over
    the pairs. Intervals are percentile intervals at ``level``.
    """
    g, i = _scores(genuine, "genuine"), _scores(impostor, "impostor")
    g_ids = np.asarray(genuine_ids, dtype=np.int64).ravel()
    i_ids = np.asarray(impostor_ids, dtype=np.int64).reshape(-1, 2)
    if g_ids.size != g.size or len(i_ids) != i.size:
        raise ValueError(
            f"one identity per genuine pair and two per impostor pair are needed: got {g_ids.size} "
            f"for {g.size} genuine and {len(i_ids)} for {i.size} impostor pairs"
        )
    if (threshold is None) == (target_fmr is None):
        raise ValueError("give exactly one of threshold and target_fmr")
    if target_fmr is not None and not 0.0 < target_fmr < 1.0:
        raise ValueError(f"target_fmr must lie in (0, 1), got {target_fmr!r}")
    if not 0.0 < level < 1.0 or rounds < 1:
        raise ValueError(f"level must lie in (0, 1) and rounds be positive, got {level!r} and {rounds!r}")

    fixed = math.nan if threshold is None else float(threshold)
    people, codes = np.unique(np.concatenate([g_ids, i_ids.ravel()]), return_inverse=True)
    g_person, i_person = codes[: g.size], codes[g.size :].reshape(-1, 2)
    g_order, i_order = np.argsort(g, kind="stable"), np.argsort(i, kind="stable")
    g_sorted, i_sorted = g[g_order], i[i_order]
    g_person, i_person = g_person[g_order], i_person[i_order]
    # last index of every run of tied impostor distances: a threshold accepts whole runs
    run_ends = np.flatnonzero(np.append(i_sorted[1:] != i_sorted[:-1], True))

    fmrs, fnmrs = [], []
    for counts in identity_draws(people.size, rounds, seed):
        weight = counts.astype(np.float64)
        g_cum = np.cumsum(weight[g_person])  # integer-valued, so shares below divide exactly
        i_weight = weight[i_person[:, 0]] * weight[i_person[:, 1]]
        i_cum = np.cumsum(i_weight)
        g_total, i_total = g_cum[-1], i_cum[-1]
        if g_total == 0 or i_total == 0:
            continue
        if target_fmr is not None:
            runs = int(np.searchsorted(i_cum[run_ends] / i_total, target_fmr, side="right"))
            i_accepted = i_cum[run_ends[runs - 1]] if runs else 0.0
            # the threshold the one rule gives on this round's impostors (those drawn at all)
            present = np.flatnonzero(i_weight > 0)
            m = int(np.searchsorted(present, run_ends[runs - 1] if runs else -1, side="right"))
            cut = _midway(
                float(i_sorted[present[m - 1]]) if m else None,
                float(i_sorted[present[m]]) if m < present.size else None,
            )
            n_g = int(np.searchsorted(g_sorted, cut, side="right"))
        else:
            n_i = int(np.searchsorted(i_sorted, fixed, side="right"))
            i_accepted = i_cum[n_i - 1] if n_i else 0.0
            n_g = int(np.searchsorted(g_sorted, fixed, side="right"))
        g_accepted = g_cum[n_g - 1] if n_g else 0.0
        fmrs.append(i_accepted / i_total)
        fnmrs.append((g_total - g_accepted) / g_total)
    return RateIntervals(_percentiles(fmrs, level), _percentiles(fnmrs, level))


def _percentiles(values: list[float], level: float) -> Interval:
    if not values:
        return Interval(math.nan, math.nan, level, 0)
    tail = (1.0 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return Interval(float(low), float(high), level, len(values))
