"""Error rates, EER, operating points, identity bootstrap, Cllr and fold accuracy, each
cross-checked against a slow, obvious reimplementation (loops over every candidate threshold,
explicitly replicated bootstrap samples, a hand-written PAV) on small synthetic sets.

Distances: smaller is more alike; a comparison is accepted when ``distance <= threshold``.
Argument order is always (genuine, impostor).
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest

from impostor.qa import metrics
from impostor.qa.metrics import (
    bootstrap_by_identity,
    cllr,
    eer,
    error_curve,
    fnmr_at_fmr,
    fold_accuracy,
    impostors_needed,
    llr_from_probability,
    min_cllr,
    rates_at,
    system_rates,
)

# --- slow references ----------------------------------------------------------------------


def slow_rates(genuine: list[float], impostor: list[float], t: float) -> tuple[float, float]:
    accepted = sum(1 for d in impostor if d <= t)
    rejected = sum(1 for d in genuine if d > t)
    return accepted / len(impostor), rejected / len(genuine)


def candidates(genuine: list[float], impostor: list[float]) -> list[float]:
    """Every threshold that changes a rate: each observed distance, and one below them all."""
    values = sorted(set(genuine) | set(impostor))
    return [values[0] - 1.0, *values]


def slow_fnmr_at_fmr(genuine: list[float], impostor: list[float], target: float) -> tuple[float, float]:
    """The one rule, the slow way: the largest threshold half-way between impostor distances."""
    values = sorted(set(impostor))
    between = [(a + b) / 2 for a, b in zip(values, values[1:], strict=False)]
    best = None
    for t in [float(np.nextafter(values[0], -np.inf)), *between, values[-1]]:
        fmr, fnmr = slow_rates(genuine, impostor, t)
        if fmr <= target and (best is None or t > best[0]):
            best = (t, fmr, fnmr)
    assert best is not None
    return best[1], best[2]


def tied_sets(seed: int, n_g: int = 40, n_i: int = 60) -> tuple[list[float], list[float]]:
    """Overlapping distances on a coarse grid, so ties within and across classes are common."""
    rng = np.random.default_rng(seed)
    genuine = np.round(rng.normal(0.45, 0.12, n_g), 2).tolist()
    impostor = np.round(rng.normal(0.70, 0.12, n_i), 2).tolist()
    return genuine, impostor


# --- rates and curves ---------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_error_curve_matches_a_loop_over_thresholds(seed: int) -> None:
    genuine, impostor = tied_sets(seed)
    curve = error_curve(genuine, impostor)
    assert curve.fmr[0] == 0.0 and curve.fnmr[0] == 1.0
    assert curve.fmr[-1] == 1.0 and curve.fnmr[-1] == 0.0
    assert np.all(np.diff(curve.thresholds) > 0)
    for t, fmr, fnmr in zip(curve.thresholds, curve.fmr, curve.fnmr, strict=True):
        assert (fmr, fnmr) == slow_rates(genuine, impostor, t)
        assert rates_at(genuine, impostor, t) == (fmr, fnmr)
    assert len(curve.thresholds) == len(set(genuine) | set(impostor)) + 1


def test_thin_keeps_the_corners_that_draw_the_staircase_exactly() -> None:
    genuine, impostor = tied_sets(11, 300, 900)
    curve = error_curve(genuine, impostor)
    keep = metrics.thin(curve, 10_000)
    assert keep[0] == 0 and keep[-1] == curve.thresholds.size - 1 and np.all(np.diff(keep) > 0)
    assert keep.size < curve.thresholds.size
    # every dropped point lies on the straight segment between the kept points around it
    for left, right in zip(keep[:-1], keep[1:], strict=True):
        for k in range(left + 1, right):
            on_horizontal = curve.fnmr[k] == curve.fnmr[left] == curve.fnmr[right]
            on_vertical = curve.fmr[k] == curve.fmr[left] == curve.fmr[right]
            assert on_horizontal or on_vertical, k
    few = metrics.thin(curve, 40)
    assert few.size <= 40 and few[0] == 0 and few[-1] == curve.thresholds.size - 1


def test_functions_do_not_reorder_the_callers_arrays() -> None:
    genuine, impostor = (np.array(v) for v in tied_sets(0))
    before_g, before_i = genuine.copy(), impostor.copy()
    error_curve(genuine, impostor)
    eer(genuine, impostor)
    fnmr_at_fmr(genuine, impostor, 0.1)
    min_cllr(genuine, impostor)
    assert np.array_equal(genuine, before_g) and np.array_equal(impostor, before_i)


def test_bad_scores_are_refused_with_the_value() -> None:
    with pytest.raises(ValueError, match="genuine: no scores"):
        rates_at([], [0.5], 0.5)
    with pytest.raises(ValueError, match="nan"):
        error_curve([0.1, float("nan")], [0.5])
    with pytest.raises(ValueError, match="inf"):
        eer([0.1], [float("inf")])
    with pytest.raises(ValueError, match="threshold must be finite"):
        rates_at([0.1], [0.5], float("nan"))


# --- EER ----------------------------------------------------------------------------------


def test_eer_of_symmetric_gaussians_is_the_analytic_value() -> None:
    # genuine ~ N(0.4, 0.1), impostor ~ N(0.7, 0.1): the curves cross half-way, at 0.55, where
    # each error is the normal tail beyond 1.5 standard deviations
    rng = np.random.default_rng(7)
    genuine, impostor = rng.normal(0.4, 0.1, 50_000), rng.normal(0.7, 0.1, 50_000)
    expected = NormalDist().cdf(-1.5)  # 0.0668
    result = eer(genuine, impostor)
    assert result.rate == pytest.approx(expected, abs=0.003)  # ~3 binomial standard errors
    assert result.threshold == pytest.approx(0.55, abs=0.005)


@pytest.mark.parametrize("seed", range(8))
def test_eer_lies_where_a_threshold_search_brackets_it(seed: int) -> None:
    genuine, impostor = tied_sets(seed, 25, 35)
    result = eer(genuine, impostor)
    rates = [slow_rates(genuine, impostor, t) for t in candidates(genuine, impostor)]
    # no threshold does better on both errors than the EER, and none worse on both
    assert max(min(r) for r in rates) <= result.rate + 1e-12
    assert result.rate <= min(max(r) for r in rates) + 1e-12
    # the threshold returned is the one where the two rates are closest
    fmr, fnmr = slow_rates(genuine, impostor, result.threshold)
    assert abs(fmr - fnmr) == pytest.approx(min(abs(a - b) for a, b in rates))


def test_eer_when_the_curves_meet_exactly_and_when_they_do_not_overlap() -> None:
    assert eer([0.1, 0.2, 0.6], [0.5, 0.7, 0.8]) == (pytest.approx(1 / 3), 0.5)
    separated = eer([0.1, 0.2], [0.8, 0.9])
    assert separated.rate == 0.0 and 0.2 <= separated.threshold < 0.8


# --- operating points ---------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("target", [0.01, 0.05, 0.1, 0.25, 0.5])
def test_fnmr_at_fmr_matches_a_threshold_search(seed: int, target: float) -> None:
    genuine, impostor = tied_sets(seed)
    point = fnmr_at_fmr(genuine, impostor, target)
    assert (point.fmr, point.fnmr) == slow_fnmr_at_fmr(genuine, impostor, target)
    assert point.fmr <= target
    # the threshold reproduces the figures it was reported with
    assert rates_at(genuine, impostor, point.threshold) == (point.fmr, point.fnmr)


def test_fnmr_at_fmr_never_splits_tied_impostors_to_reach_the_target() -> None:
    # 10 impostors, FMR 0.2 allows two; but the 2nd and 3rd smallest are tied, so only one
    point = fnmr_at_fmr([0.2, 0.3, 0.45, 0.6], [0.35, 0.5, 0.5, 0.7, 0.8, 0.8, 0.9, 0.9, 1.0, 1.1], 0.2)
    assert point.fmr == pytest.approx(0.1)
    assert point.threshold == pytest.approx(0.425)  # half-way to the tied pair
    assert point.fnmr == pytest.approx(0.5)
    # all impostors tied: nothing can be accepted without accepting all of them
    none = fnmr_at_fmr([0.1, 0.9], [0.5, 0.5, 0.5], 0.5)
    assert none.fmr == 0.0 and none.fnmr == 0.5 and none.threshold == np.nextafter(0.5, 0)


def test_fnmr_at_fmr_reaches_a_target_that_equals_a_rate_exactly() -> None:
    # 29 of 100 impostors accepted is FMR 0.29 exactly, though 0.29 * 100 < 29 in floating point
    impostor = np.arange(100) / 100
    point = fnmr_at_fmr([0.0], impostor, 0.29)
    assert point.fmr == 0.29


def test_enough_data_follows_the_rule_of_three() -> None:
    assert [impostors_needed(t) for t in (1e-2, 1e-3, 1e-4, 3e-3, 0.4)] == [300, 3000, 30000, 1000, 8]
    genuine = [0.1, 0.2]
    assert fnmr_at_fmr(genuine, np.linspace(0.3, 1, 300), 1e-2).enough_data
    short = fnmr_at_fmr(genuine, np.linspace(0.3, 1, 299), 1e-2)
    assert not short.enough_data
    assert short.note == "not enough impostor pairs: 299 < 3/FMR = 300"
    assert fnmr_at_fmr(genuine, np.linspace(0.3, 1, 3000), 1e-3).note == ""
    with pytest.raises(ValueError, match="target_fmr"):
        fnmr_at_fmr(genuine, [0.5], 0.0)


def test_system_rates_follow_the_iso_formulas() -> None:
    far, frr = system_rates(0.01, 0.05, 0.1)
    assert far == pytest.approx(0.01 * 0.9)
    assert frr == pytest.approx(0.1 + 0.05 * 0.9)
    assert system_rates(0.01, 0.05, 0.0) == (0.01, 0.05)  # no failures to acquire: the same rates
    assert system_rates(0.01, 0.05, 1.0) == (0.0, 1.0)  # nothing acquired: nothing accepted
    # counted per transaction: lost genuine attempts are rejections, lost impostors are not accepts
    genuine_attempts, lost_genuine, false_non_matches = 200, 10, 19  # 19 of the 190 compared
    frr = system_rates(0.0, false_non_matches / 190, lost_genuine / genuine_attempts).frr
    assert frr == pytest.approx((lost_genuine + false_non_matches) / genuine_attempts)
    with pytest.raises(ValueError, match="fta"):
        system_rates(0.1, 0.1, 1.5)


# --- bootstrap by identity ----------------------------------------------------------------


def tiny_identity_set(seed: int) -> tuple[list[float], list[int], list[float], list[tuple[int, int]]]:
    rng = np.random.default_rng(seed)
    people = [3, 5, 8, 13, 21, 34]  # arbitrary labels: the function must sort them itself
    genuine, genuine_ids, impostor, impostor_ids = [], [], [], []
    for person in people:
        for _ in range(int(rng.integers(1, 4))):
            genuine.append(round(float(rng.normal(0.45, 0.12)), 2))
            genuine_ids.append(person)
    for _ in range(30):
        p, q = rng.choice(people, 2, replace=False)
        impostor.append(round(float(rng.normal(0.65, 0.12)), 2))
        impostor_ids.append((int(p), int(q)))
    return genuine, genuine_ids, impostor, impostor_ids


def slow_bootstrap(
    genuine: list[float],
    genuine_ids: list[int],
    impostor: list[float],
    impostor_ids: list[tuple[int, int]],
    *,
    threshold: float | None = None,
    target_fmr: float | None = None,
    rounds: int,
    seed: int,
) -> tuple[list[float], list[float]]:
    """Replicate pairs literally: a genuine pair once per draw of its person, an impostor pair
    once per (draw of p, draw of q) combination; then measure the rates on the copies."""
    people = sorted(set(genuine_ids) | {p for pair in impostor_ids for p in pair})
    rng = np.random.default_rng(seed)
    fmrs, fnmrs = [], []
    for _ in range(rounds):
        drawn = [people[k] for k in rng.integers(0, len(people), len(people))]
        times = {p: drawn.count(p) for p in people}
        g_copies = [d for d, p in zip(genuine, genuine_ids, strict=True) for _ in range(times[p])]
        i_copies = [
            d for d, (p, q) in zip(impostor, impostor_ids, strict=True) for _ in range(times[p] * times[q])
        ]
        if not g_copies or not i_copies:
            continue
        if threshold is not None:
            fmr, fnmr = slow_rates(g_copies, i_copies, threshold)
        else:
            assert target_fmr is not None
            fmr, fnmr = slow_fnmr_at_fmr(g_copies, i_copies, target_fmr)
        fmrs.append(fmr)
        fnmrs.append(fnmr)
    return fmrs, fnmrs


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("where", [{"threshold": 0.55}, {"target_fmr": 0.1}, {"target_fmr": 0.02}])
def test_bootstrap_matches_explicitly_replicated_resamples(seed: int, where: dict[str, float]) -> None:
    genuine, genuine_ids, impostor, impostor_ids = tiny_identity_set(seed)
    rounds = 60
    fmrs, fnmrs = slow_bootstrap(
        genuine, genuine_ids, impostor, impostor_ids, rounds=rounds, seed=seed, **where
    )
    result = bootstrap_by_identity(
        genuine, genuine_ids, impostor, impostor_ids, rounds=rounds, seed=seed, level=0.9, **where
    )
    assert result.fnmr.rounds == result.fmr.rounds == len(fnmrs)
    assert (result.fmr.low, result.fmr.high) == pytest.approx(tuple(np.percentile(fmrs, [5, 95])))
    assert (result.fnmr.low, result.fnmr.high) == pytest.approx(tuple(np.percentile(fnmrs, [5, 95])))


def test_bootstrap_interval_is_sane_on_a_larger_set() -> None:
    rng = np.random.default_rng(3)
    people = 200
    genuine_ids = np.repeat(np.arange(people), 3)
    genuine = rng.normal(0.45, 0.1, genuine_ids.size)
    impostor_ids = np.stack([rng.integers(0, people, 4000), rng.integers(0, people, 4000)], axis=1)
    impostor_ids = impostor_ids[impostor_ids[:, 0] != impostor_ids[:, 1]]
    impostor = rng.normal(0.75, 0.1, len(impostor_ids))
    point = fnmr_at_fmr(genuine, impostor, 0.01)
    wide = bootstrap_by_identity(genuine, genuine_ids, impostor, impostor_ids, target_fmr=0.01, rounds=300)
    assert wide.fnmr.low <= point.fnmr <= wide.fnmr.high
    assert 0 < wide.fnmr.high - wide.fnmr.low < 0.25
    fixed = bootstrap_by_identity(genuine, genuine_ids, impostor, impostor_ids, 0.6, rounds=300)
    fmr, fnmr = rates_at(genuine, impostor, 0.6)
    assert fixed.fmr.low <= fmr <= fixed.fmr.high and fixed.fnmr.low <= fnmr <= fixed.fnmr.high
    # the same seed gives the same interval; resampling people is the only randomness
    again = bootstrap_by_identity(genuine, genuine_ids, impostor, impostor_ids, 0.6, rounds=300)
    assert again == fixed


def test_bootstrap_refuses_ambiguous_or_misshapen_input() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        bootstrap_by_identity([0.1], [1], [0.9], [(1, 2)])
    with pytest.raises(ValueError, match="two per impostor pair"):
        bootstrap_by_identity([0.1], [1], [0.9, 0.8], [(1, 2)], 0.5)


# --- Cllr ---------------------------------------------------------------------------------


def slow_cllr(genuine_llr: list[float], impostor_llr: list[float]) -> float:
    g = sum(math.log2(1 + math.exp(-x)) for x in genuine_llr) / len(genuine_llr)
    i = sum(math.log2(1 + math.exp(x)) for x in impostor_llr) / len(impostor_llr)
    return (g + i) / 2


def slow_pav_min_cllr(genuine: list[float], impostor: list[float]) -> float:
    """Pool adjacent violators by hand on (distance, label) sorted by distance, ties pooled first."""
    labelled = sorted([(d, 1) for d in genuine] + [(d, 0) for d in impostor])
    blocks: list[list[float]] = []  # [sum of labels, count, distance]
    for d, y in labelled:
        if blocks and blocks[-1][2] == d:
            blocks[-1][0] += y
            blocks[-1][1] += 1
        else:
            blocks.append([y, 1, d])
        # P(same) must not increase with distance: merge while the newer block is higher
        while len(blocks) > 1 and blocks[-1][0] / blocks[-1][1] > blocks[-2][0] / blocks[-2][1]:
            s, n, _ = blocks.pop()
            blocks[-1][0] += s
            blocks[-1][1] += n
    prior_odds = len(genuine) / len(impostor)
    g_cost = i_cost = 0.0
    for s, n, _ in blocks:
        p = s / n
        # LLR = ln(p / (1 − p)) − ln(prior odds); a pure block costs nothing for its own class
        if 0 < p < 1:
            llr = math.log(p / (1 - p)) - math.log(prior_odds)
            g_cost += s * math.log2(1 + math.exp(-llr))
            i_cost += (n - s) * math.log2(1 + math.exp(llr))
    return (g_cost / len(genuine) + i_cost / len(impostor)) / 2


def test_cllr_of_perfect_and_of_uninformative_llrs() -> None:
    assert cllr([50.0] * 10, [-50.0] * 12) == pytest.approx(0.0, abs=1e-15)
    assert cllr([0.0] * 7, [0.0] * 3) == pytest.approx(1.0)
    assert cllr([np.inf], [-np.inf]) == 0.0  # infinite LLRs on the right side cost nothing
    rng = np.random.default_rng(0)
    g, i = rng.normal(2, 2, 50).tolist(), rng.normal(-2, 2, 70).tolist()
    assert cllr(g, i) == pytest.approx(slow_cllr(g, i))
    with pytest.raises(ValueError, match="nan"):
        cllr([float("nan")], [0.0])


@pytest.mark.parametrize("seed", range(5))
def test_min_cllr_matches_a_hand_written_pav_and_bounds_every_monotone_map(seed: int) -> None:
    genuine, impostor = tied_sets(seed)
    best = min_cllr(genuine, impostor)
    assert best == pytest.approx(slow_pav_min_cllr(genuine, impostor), abs=1e-12)
    assert 0 <= best <= 1
    g, i = np.array(genuine), np.array(impostor)
    for slope, offset in ((-10, 6), (-30, 17), (-3, 1), (-100, 55)):  # LLR falling with distance
        assert best <= cllr(slope * g + offset, slope * i + offset) + 1e-12


def test_min_cllr_of_separated_distances_is_zero() -> None:
    assert min_cllr([0.1, 0.2, 0.3], [0.6, 0.7, 0.8, 0.9]) == 0.0


def test_llr_from_probability_removes_the_prior_and_stays_finite() -> None:
    p = np.array([0.5, 0.9, 0.1, 1.0, 0.0, np.nan])
    llr = llr_from_probability(p)
    assert llr[:3] == pytest.approx([0.0, math.log(9), -math.log(9)])
    assert np.all(np.isfinite(llr[3:5])) and llr[3] > 36 and llr[4] < -36
    assert math.isnan(llr[5])
    # fitted with three genuine pairs to every impostor pair: p = 0.75 is no evidence at all
    assert llr_from_probability([0.75], prior=0.75)[0] == pytest.approx(0.0)


# --- fold accuracy ------------------------------------------------------------------------


def slow_fold_accuracy(d: list[float], same: list[bool], folds: list[int]) -> list[tuple[float, float]]:
    """Per fold: try every cut on the other folds' scored pairs, keep the first best, score the fold."""
    out = []
    for fold in sorted(set(folds)):
        train = [(x, s) for x, s, f in zip(d, same, folds, strict=True) if f != fold and not math.isnan(x)]
        values = sorted({x for x, _ in train})
        cuts = (
            [values[0] - 1.0] + [(a + b) / 2 for a, b in zip(values, values[1:], strict=False)] + [values[-1]]
        )
        best_t, best_correct = cuts[0], -1
        for t in cuts:
            correct = sum(1 for x, s in train if (x <= t) == s)
            if correct > best_correct:
                best_t, best_correct = t, correct
        test = [(x, s) for x, s, f in zip(d, same, folds, strict=True) if f == fold]
        right = sum(1 for x, s in test if not math.isnan(x) and (x <= best_t) == s)
        out.append((right / len(test), best_t))
    return out


@pytest.mark.parametrize("seed", range(5))
def test_fold_accuracy_equals_a_brute_force_search_per_fold(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 120
    same = (rng.random(n) < 0.5).tolist()
    d = [round(float(rng.normal(0.45 if s else 0.65, 0.1)), 2) for s in same]
    for k in rng.choice(n, 6, replace=False):
        d[k] = float("nan")  # lost pairs: errors whatever the truth
    folds = (np.arange(n) % 4).tolist()
    result = fold_accuracy(d, same, folds)
    expected = slow_fold_accuracy(d, same, folds)
    assert result.accuracy.tolist() == pytest.approx([a for a, _ in expected])
    assert result.threshold.tolist() == pytest.approx([t for _, t in expected])
    assert result.folds.tolist() == [0, 1, 2, 3]
    assert result.pairs.sum() == n and result.lost.sum() == 6
    assert result.std == pytest.approx(float(np.std(result.accuracy, ddof=1)))
    assert result.standard_error == pytest.approx(result.std / 2)


def test_fold_accuracy_counts_a_lost_pair_as_an_error() -> None:
    d = [0.1, 0.9, 0.2, 0.8, float("nan"), 0.15]
    same = [True, False, True, False, True, True]
    result = fold_accuracy(d, same, [0, 0, 1, 1, 1, 1])
    assert result.accuracy.tolist() == [1.0, 0.75]
    with pytest.raises(ValueError, match="at least two folds"):
        fold_accuracy(d, same, [0] * 6)


def test_public_names_are_exported() -> None:
    for name in metrics.__all__:
        assert hasattr(metrics, name), name
