"""Calibrators as estimators on synthetic distances: fitted state, monotone probabilities, JSON.

Distances: smaller is more alike, so the probability never rises with distance.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from impostor.pipeline.profile import SCHEMA, Profile
from impostor.stages.calibrate import (
    IsotonicCalibrator,
    LogisticCalibrator,
    calibrator_from_dict,
    make_calibrator,
)


def fit_calibration(
    genuine: object, impostor: object, method: str
) -> LogisticCalibrator | IsotonicCalibrator:
    return make_calibrator(method).fit(genuine, impostor)  # type: ignore[arg-type]


# --- fitted calibration -------------------------------------------------------------------


def _gaussians(seed: int = 0, size: int = 1500) -> tuple[np.ndarray, np.ndarray]:
    """Genuine N(0.45, 0.06) and impostor N(0.75, 0.06): equal spread, so they cross at 0.6."""
    rng = np.random.default_rng(seed)
    return rng.normal(0.45, 0.06, size), rng.normal(0.75, 0.06, size)


@pytest.mark.parametrize("method", ["logistic", "isotonic"])
def test_fitted_probability_falls_with_distance_and_is_even_at_the_crossing(method: str) -> None:
    genuine, impostor = _gaussians()
    calibration = fit_calibration(genuine, impostor, method)  # type: ignore[arg-type]
    assert calibration.method == method
    distances = np.linspace(0.0, 1.5, 601)
    p = calibration.probability(distances)
    assert np.all(np.diff(p) <= 1e-12), "probability must not rise with distance"
    assert calibration.probability(0.6) == pytest.approx(0.5, abs=0.12)
    assert calibration.probability(0.3) > 0.97 and calibration.probability(0.9) < 0.03
    if method == "logistic":
        assert calibration.coef_ < 0
        # equal-variance Gaussians give an exact logistic: slope -(0.75 - 0.45) / 0.06²
        assert calibration.coef_ == pytest.approx(-0.3 / 0.06**2, rel=0.15)
        assert -calibration.intercept_ / calibration.coef_ == pytest.approx(0.6, abs=0.01)


@pytest.mark.parametrize("method", ["logistic", "isotonic"])
def test_fitted_calibration_makes_a_valid_profile(method: str) -> None:
    """A fitted calibrator passes the profile's own validation and comes back the same."""
    calibration = fit_calibration(*_gaussians(seed=1, size=400), method)  # type: ignore[arg-type]
    data = {
        "schema": SCHEMA,
        "name": "fitted",
        "version": "1",
        "calibration": calibration.to_dict(),
        "thresholds": {"accept_distance": 0.5, "reject_distance": 0.7},
    }
    again = Profile.from_dict(data).calibration
    assert again.to_dict() == calibration.to_dict()
    distances = np.linspace(0, 1.5, 31)
    assert np.array_equal(again.probability(distances), calibration.probability(distances))


@pytest.mark.parametrize("method", ["logistic", "isotonic"])
def test_fully_separated_sets_put_the_even_point_in_the_gap(method: str) -> None:
    rng = np.random.default_rng(3)
    genuine, impostor = rng.normal(0.3, 0.03, 300), rng.normal(0.9, 0.03, 300)
    calibration = fit_calibration(genuine, impostor, method)  # type: ignore[arg-type]
    assert calibration.probability(0.6) == pytest.approx(0.5, abs=0.2)
    assert calibration.probability(0.3) > 0.95 and calibration.probability(0.9) < 0.05


def test_learned_state_lives_in_underscore_attributes() -> None:
    """Parameters in __init__, nothing learnt before fit (scikit-learn's manner)."""
    logistic = LogisticCalibrator(C=10.0)
    assert logistic.C == 10.0 and not hasattr(logistic, "coef_")
    assert logistic.fit(*_gaussians(size=200)) is logistic and hasattr(logistic, "intercept_")
    isotonic = IsotonicCalibrator()
    assert not hasattr(isotonic, "x_")
    isotonic.fit(*_gaussians(size=200))
    assert isotonic.x_.size == isotonic.y_.size >= 2


@pytest.mark.parametrize(
    ("values", "quoted"),
    [([0.4, math.nan, 0.5], "nan"), ([0.4, math.inf], "inf"), ([-math.inf, 0.3], "-inf")],
)
def test_non_finite_distances_are_refused_quoting_them(values: list[float], quoted: str) -> None:
    with pytest.raises(ValueError, match=rf"genuine: .*{quoted}"):
        fit_calibration(values, [0.8, 0.9], "logistic")
    with pytest.raises(ValueError, match=rf"impostor: .*{quoted}"):
        fit_calibration([0.3], values, "isotonic")


def test_empty_distances_are_refused() -> None:
    with pytest.raises(ValueError, match="genuine: no scores"):
        fit_calibration([], [0.8], "logistic")


def test_unknown_method_is_refused_quoting_it() -> None:
    with pytest.raises(ValueError, match="'platt'"):
        make_calibrator("platt")


def test_a_calibration_block_of_an_unknown_method_is_a_profile_error() -> None:
    from impostor.errors import ProfileError

    with pytest.raises(ProfileError, match="'platt'"):
        calibrator_from_dict({"method": "platt"})
