"""Error versus reject: the curve's maths on small synthetic arrays, and its place in the report
(JSON, summary line, erc.png and the HTML section) on synthetic scored pairs."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from impostor.pipeline.profile import Profile, load_profile
from impostor.qa.error_sources import PairAttributes
from impostor.qa.error_versus_reject import REJECT_SHARES, error_versus_reject
from impostor.qa.outputs import write_report
from impostor.qa.report import PairScores, build_report
from tests.qa.test_report import context, synthetic_scores


@pytest.fixture(scope="module")
def profile() -> Profile:
    return load_profile()


def slow_rates(
    quality: NDArray[np.float64],
    same: NDArray[np.bool_],
    distance: NDArray[np.float64],
    threshold: float,
    share: float,
) -> tuple[float, float, int, int]:
    """The obvious way: sort, drop the first share, count (no ties in the data it is given)."""
    keep = ~np.isnan(distance)
    quality, same, distance = quality[keep], same[keep], distance[keep]
    order = np.argsort(quality)[int(round(share * quality.size)) :]
    s, d = same[order], distance[order]
    return float(np.mean(d[s] > threshold)), float(np.mean(d[~s] <= threshold)), int(s.sum()), int((~s).sum())


def test_matches_the_obvious_count() -> None:
    rng = np.random.default_rng(1)
    n = 500
    same = rng.random(n) < 0.4
    distance = np.where(same, rng.normal(0.45, 0.1, n), rng.normal(0.7, 0.1, n))
    distance[rng.choice(n, 9, replace=False)] = np.nan
    quality = rng.uniform(0, 100, n)
    curve = error_versus_reject(quality, same, distance, threshold=0.55)
    assert [p.share for p in curve.points] == list(REJECT_SHARES)
    assert curve.pairs == n - 9 and curve.unmeasured == 0
    for point in curve.points:
        fnmr, fmr, g, i = slow_rates(quality, same, distance, 0.55, point.share)
        assert (point.fnmr, point.fmr, point.genuine_pairs, point.impostor_pairs) == pytest.approx(
            (fnmr, fmr, g, i)
        )
        assert point.rejected + point.genuine_pairs + point.impostor_pairs == curve.pairs


def test_low_quality_errors_are_rejected_first_and_random_stays_flat() -> None:
    """Genuine errors (distance past the threshold) sit on the lowest-quality pairs: refusing
    those removes them, so FNMR falls with the share while the random reference does not."""
    n = 1000
    same = np.arange(n) % 2 == 0
    distance = np.where(same, 0.4, 0.8)
    quality = np.linspace(100, 1, n)  # pair k has quality falling with k
    errors = same & (np.arange(n) >= n - 160)  # 80 genuine errors among the 160 worst pairs
    distance[errors] = 0.75
    curve = error_versus_reject(quality, same, distance, threshold=0.6)
    fnmr = [p.fnmr for p in curve.points]
    assert fnmr[0] == pytest.approx(80 / 500)
    assert all(later <= earlier for earlier, later in zip(fnmr, fnmr[1:], strict=False))
    assert curve.at(0.10).fnmr < fnmr[0] and curve.at(0.20).fnmr == 0.0
    assert all(p.random_fnmr == fnmr[0] and p.random_fmr == 0.0 for p in curve.points)
    assert curve.at(0.10).rejected == 100 and curve.at(0.10).genuine_pairs == 450


def test_unmeasured_pairs_go_first_and_ties_favour_neither_class() -> None:
    n = 2000
    same = np.arange(n) % 2 == 0
    distance = np.where(same, 0.7, 0.4)  # every pair an error
    quality = np.full(n, 50.0)
    quality[:10] = np.nan
    curve = error_versus_reject(quality, same, distance, threshold=0.6, shares=(0.005, 0.3))
    assert curve.unmeasured == 10 and curve.points[0].rejected == 10
    # all tied: the 30% refused are half genuine, half impostor, give or take chance
    assert curve.points[1].genuine_pairs == pytest.approx(curve.points[1].impostor_pairs, rel=0.15)


def test_bad_shares_and_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match=r"\[0, 1\), got \[1.0\]"):
        error_versus_reject([1.0], [True], [0.1], threshold=0.5, shares=(0.0, 1.0))
    with pytest.raises(ValueError, match="2 qualities, 1 truths"):
        error_versus_reject([1.0, 2.0], [True], [0.1], threshold=0.5)


def with_quality(scores: PairScores, profile: Profile) -> PairScores:
    """Attributes whose quality is low exactly on the pairs the accept threshold gets wrong."""
    n = len(scores)
    rng = np.random.default_rng(7)
    wrong = np.where(
        scores.same, scores.distance > profile.accept_distance, scores.distance <= profile.accept_distance
    )
    quality = np.where(wrong, rng.uniform(5, 20, n), rng.uniform(30, 95, n))
    image_quality = np.stack([quality, rng.uniform(95, 100, n)], axis=1)  # the worse image decides
    attributes = PairAttributes(
        np.ones((n, 2), dtype=np.int64),
        np.zeros((n, 2)),
        np.full((n, 2), 60.0),
        np.zeros((n, 2), dtype=bool),
        np.zeros((n, 2), dtype=np.int64),
        image_quality,
    )
    return replace(scores, attributes=attributes)


def test_the_report_carries_the_curve(profile: Profile, tmp_path: Path) -> None:
    scores = with_quality(synthetic_scores(profile, folds=False), profile)
    report = build_report(scores, context(profile), bootstrap_rounds=0)
    curve = report.error_versus_reject
    assert curve is not None and curve.threshold == profile.accept_distance
    accept = next(t for t in report.profile_thresholds if t.name == "accept")
    start = curve.points[0]
    assert (start.fnmr, start.fmr) == (accept.fnmr, accept.fmr)  # unchanged at 0%
    assert curve.at(0.10).fnmr < start.fnmr
    assert "rejecting the lowest-quality 10% of comparisons: FNMR" in report.summary()

    paths = write_report(report, scores, tmp_path)
    assert paths["erc.png"].read_bytes().startswith(b"\x89PNG")
    data = json.loads(paths["report.json"].read_text(encoding="utf-8"))["error_versus_reject"]
    assert [p["share"] for p in data["points"]] == list(REJECT_SHARES)
    assert data["pairs"] == int(scores.scored.sum())
    page = paths["report.html"].read_text(encoding="utf-8")
    assert "Error versus reject" in page and page.count("data:image/png;base64,") == 4


def test_no_curve_without_quality_scores(profile: Profile) -> None:
    plain = build_report(synthetic_scores(profile), context(profile), bootstrap_rounds=0)
    assert plain.error_versus_reject is None and plain.to_dict()["error_versus_reject"] is None
    n = len(synthetic_scores(profile))
    unmeasured = PairAttributes.from_images(  # the old call, without quality: NaN throughout
        np.arange(n),
        np.arange(n),
        faces_found=np.ones(n),
        yaw=np.zeros(n),
        inter_eye=np.full(n, 50.0),
        cnn_fallback=np.zeros(n, dtype=bool),
        rotated=np.zeros(n),
    )
    assert np.isnan(unmeasured.quality).all() and unmeasured.quality.shape == (n, 2)
    report = build_report(
        replace(synthetic_scores(profile), attributes=unmeasured), context(profile), bootstrap_rounds=0
    )
    assert report.error_sources is not None and report.error_versus_reject is None
    assert "lowest-quality" not in report.summary()
