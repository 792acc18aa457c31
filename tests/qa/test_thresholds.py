"""Threshold choice on small synthetic distance sets, cross-checked against slow, obvious
reimplementations that try every candidate threshold: the one rule of ``impostor.qa.metrics``.

Distances: smaller is more alike; a comparison is accepted when ``distance <= threshold``.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from impostor.qa.metrics import fnmr_at_fmr, rates_at, threshold_at_fmr, threshold_at_fnmr

# --- slow references ----------------------------------------------------------------------


def _slow_fmr(impostor: list[float], threshold: float) -> float:
    accepted = 0
    for d in impostor:
        if d <= threshold:
            accepted += 1
    return accepted / len(impostor)


def _slow_fnmr(genuine: list[float], threshold: float) -> float:
    rejected = 0
    for d in genuine:
        if d > threshold:
            rejected += 1
    return rejected / len(genuine)


def _candidates(distances: list[float]) -> list[float]:
    """Every threshold that makes a difference: below all, between each two distinct values, at the top."""
    values = sorted(set(distances))
    between = [(a + b) / 2 for a, b in itertools.pairwise(values)]
    return [float(np.nextafter(values[0], -np.inf)), *between, values[-1]]


def _slow_threshold_at_fmr(impostor: list[float], target: float) -> float:
    best = None
    for t in _candidates(impostor):
        if _slow_fmr(impostor, t) <= target and (best is None or t > best):
            best = t
    assert best is not None
    return best


def _slow_threshold_at_fnmr(genuine: list[float], target: float) -> float:
    best = None
    for t in _candidates(genuine):
        if _slow_fnmr(genuine, t) <= target and (best is None or t < best):
            best = t
    assert best is not None
    return best


def _score_sets(seed: int, size: int, *, rounded: bool) -> tuple[list[float], list[float]]:
    rng = np.random.default_rng(seed)
    genuine = rng.normal(0.42, 0.08, size)
    impostor = rng.normal(0.78, 0.08, size + 3)
    if rounded:  # scores rounded to 2 decimals: plenty of ties, as real score files have
        genuine, impostor = np.round(genuine, 2), np.round(impostor, 2)
    return [float(v) for v in genuine], [float(v) for v in impostor]


SETS = [(seed, size, rounded) for seed in range(4) for size in (7, 40, 250) for rounded in (False, True)]
TARGETS = [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 0.9]


# --- thresholds ---------------------------------------------------------------------------


@pytest.mark.parametrize(("seed", "size", "rounded"), SETS)
def test_threshold_at_fmr_matches_the_slow_search(seed: int, size: int, rounded: bool) -> None:
    _, impostor = _score_sets(seed, size, rounded=rounded)
    for target in TARGETS:
        fast = threshold_at_fmr(impostor, target)
        slow = _slow_threshold_at_fmr(impostor, target)
        assert _slow_fmr(impostor, fast) <= target, f"FMR {_slow_fmr(impostor, fast)} over target {target}"
        assert fast == pytest.approx(slow, abs=1e-12), f"target {target}: {fast} != largest valid {slow}"


@pytest.mark.parametrize(("seed", "size", "rounded"), SETS)
def test_threshold_at_fnmr_matches_the_slow_search(seed: int, size: int, rounded: bool) -> None:
    genuine, _ = _score_sets(seed, size, rounded=rounded)
    for target in TARGETS:
        fast = threshold_at_fnmr(genuine, target)
        slow = _slow_threshold_at_fnmr(genuine, target)
        assert _slow_fnmr(genuine, fast) <= target, f"FNMR {_slow_fnmr(genuine, fast)} over target {target}"
        # with ties the two may sit at different points of the same gap; they accept the same pairs
        assert _slow_fnmr(genuine, fast) == _slow_fnmr(genuine, slow), (target, fast, slow)
        if not rounded:
            assert fast == pytest.approx(slow, abs=1e-12), f"target {target}: {fast} != smallest valid {slow}"
        # nothing lower would do: the largest accepted distance just under ``fast`` is still needed
        accepted = [d for d in genuine if d <= fast]
        assert _slow_fnmr(genuine, max(accepted) - 1e-9) > target


def test_threshold_at_fmr_by_hand() -> None:
    impostor = [0.9, 0.5, 0.7, 0.6, 0.8, 0.55, 0.65, 0.75, 0.85, 0.95]
    assert threshold_at_fmr(impostor, 0.1) == pytest.approx(0.525)  # accepts 0.5 only
    assert threshold_at_fmr(impostor, 0.25) == pytest.approx(0.575)  # 0.5 and 0.55
    assert threshold_at_fmr(impostor, 0.05) < 0.5  # accepts none


def test_threshold_at_fmr_refuses_tied_impostors_together() -> None:
    """Two impostors at the same distance are both accepted or both refused."""
    impostor = [0.5, 0.5, 0.7, 0.9]
    threshold = threshold_at_fmr(impostor, 0.25)  # one may be accepted, but not one of a tie
    assert threshold < 0.5
    assert rates_at([0.1], impostor, threshold)[0] == 0.0
    assert threshold_at_fmr([0.4, 0.5, 0.5, 0.9], 0.5) == pytest.approx(0.45)


def test_threshold_at_fnmr_by_hand() -> None:
    genuine = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    assert threshold_at_fnmr(genuine, 0.1) == pytest.approx(0.95)  # rejects 1.0 only
    assert threshold_at_fnmr(genuine, 0.05) == pytest.approx(1.0)  # rejects none
    assert threshold_at_fnmr(genuine, 0.3) == pytest.approx(0.75)


# --- error rates --------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_fmr_fnmr_matches_counting(seed: int) -> None:
    genuine, impostor = _score_sets(seed, 60, rounded=True)
    for threshold in (*_candidates(genuine + impostor), 0.6, 0.42, 0.78):
        assert rates_at(genuine, impostor, threshold) == (
            pytest.approx(_slow_fmr(impostor, threshold)),
            pytest.approx(_slow_fnmr(genuine, threshold)),
        )


def test_a_distance_on_the_threshold_is_accepted() -> None:
    assert rates_at([0.6], [0.6], 0.6) == (1.0, 0.0)


@pytest.mark.parametrize(("seed", "size", "rounded"), SETS)
def test_reports_quote_the_threshold_profiles_ship(seed: int, size: int, rounded: bool) -> None:
    """One rule: the FNMR a report gives at a target FMR is the FNMR at the shipped threshold."""
    genuine, impostor = _score_sets(seed, size, rounded=rounded)
    for target in TARGETS:
        point = fnmr_at_fmr(genuine, impostor, target)
        assert point.threshold == threshold_at_fmr(impostor, target)
        assert rates_at(genuine, impostor, point.threshold) == (point.fmr, point.fnmr)


@pytest.mark.parametrize("target", [0.0, 1.0, -0.1, 1.5, math.nan])
def test_target_rates_outside_0_1_are_refused(target: float) -> None:
    with pytest.raises(ValueError, match=rf"target_fmr .*{target}"):
        threshold_at_fmr([0.5, 0.6], target)
    with pytest.raises(ValueError, match=rf"target_fnmr .*{target}"):
        threshold_at_fnmr([0.5, 0.6], target)


@pytest.mark.parametrize(
    ("values", "quoted"),
    [([0.4, math.nan, 0.5], "nan"), ([0.4, math.inf], "inf"), ([-math.inf, 0.3], "-inf")],
)
def test_non_finite_distances_are_refused_quoting_them(values: list[float], quoted: str) -> None:
    with pytest.raises(ValueError, match=rf"impostor: .*finite.*{quoted}"):
        threshold_at_fmr(values, 0.1)
    with pytest.raises(ValueError, match=rf"genuine: .*finite.*{quoted}"):
        threshold_at_fnmr(values, 0.1)
    with pytest.raises(ValueError, match=rf"impostor: .*{quoted}"):
        rates_at([0.3], values, 0.5)


def test_empty_and_text_distances_are_refused() -> None:
    with pytest.raises(ValueError, match="impostor: no scores"):
        threshold_at_fmr([], 0.1)
    with pytest.raises(ValueError, match="'far'"):
        threshold_at_fmr(["far", 0.5], 0.1)  # type: ignore[arg-type]
