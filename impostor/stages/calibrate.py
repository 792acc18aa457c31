"""Calibrate: a comparison's distance → the probability that both faces are one person.

Two calibrators in scikit-learn's manner: parameters in ``__init__``, ``fit(genuine,
impostor)`` learns from labelled distances, the learned state lives in attributes ending in
``_``, and ``probability(distance)`` applies it. Each one is also the ``calibration`` block of a
profile (``to_dict`` / ``calibrator_from_dict``); applying one needs only numpy, and
scikit-learn is imported only to fit.

Distances are Euclidean distances between embeddings: **smaller is more alike**, so the
probability never rises with distance. Genuine means same person (mated), impostor different
people (non-mated), as in ISO/IEC 19795-1. Fitted on as many genuine as impostor pairs, the
probability is for equal priors. Choosing thresholds is ``impostor.qa.metrics``'s job.
"""

from __future__ import annotations

import math
from typing import Any, Literal, Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray

from impostor.arrays import scores
from impostor.errors import ProfileError, quoted

__all__ = [
    "Calibrator",
    "IsotonicCalibrator",
    "LogisticCalibrator",
    "Method",
    "calibrator_from_dict",
    "make_calibrator",
]

Method = Literal["logistic", "isotonic"]


class Calibrator(Protocol):
    """What a profile needs of a calibrator."""

    method: str

    def fit(self, genuine: ArrayLike, impostor: ArrayLike) -> Calibrator:
        """Learn from genuine and impostor distances; returns the fitted calibrator."""

    def probability(self, distance: ArrayLike) -> NDArray[np.float64]:
        """The probability (0-1) that a pair at each ``distance`` is the same person."""

    def to_dict(self) -> dict[str, Any]:
        """The fitted parameters, as a profile stores them (JSON)."""


def _labelled(genuine: ArrayLike, impostor: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    g, i = scores(genuine, "genuine"), scores(impostor, "impostor")
    return np.concatenate([g, i]), np.concatenate([np.ones(g.size), np.zeros(i.size)])


class LogisticCalibrator:
    """``p = 1 / (1 + exp(-(coef_ · distance + intercept_)))``, fitted by logistic regression.

    ``C`` is scikit-learn's inverse regularisation strength: large, so the slope reflects the
    data rather than the penalty.
    """

    method = "logistic"

    def __init__(self, C: float = 1e6, max_iter: int = 1000) -> None:
        self.C = C
        self.max_iter = max_iter

    def fit(self, genuine: ArrayLike, impostor: ArrayLike) -> LogisticCalibrator:
        """Learn ``coef_`` and ``intercept_`` from genuine and impostor distances."""
        from sklearn.linear_model import LogisticRegression

        x, y = _labelled(genuine, impostor)
        model = LogisticRegression(C=self.C, max_iter=self.max_iter).fit(x[:, None], y)
        self.coef_ = float(model.coef_[0, 0])
        self.intercept_ = float(model.intercept_[0])
        return self

    def probability(self, distance: ArrayLike) -> NDArray[np.float64]:
        """P(same person) for each distance, same shape as ``distance``."""
        d = np.asarray(distance, dtype=np.float64)
        return np.asarray(1.0 / (1.0 + np.exp(-(self.coef_ * d + self.intercept_))), dtype=np.float64)

    def to_dict(self) -> dict[str, Any]:
        """The fitted slope and intercept, as a profile stores them (JSON)."""
        return {"method": "logistic", "input": "distance", "coef": self.coef_, "intercept": self.intercept_}

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "calibration") -> LogisticCalibrator:
        """Rebuild a fitted calibrator; raises ``ProfileError`` naming the first bad field."""
        calibrator = cls()
        calibrator.coef_ = _number(data, "coef", where)
        calibrator.intercept_ = _number(data, "intercept", where)
        if calibrator.coef_ >= 0:
            raise ProfileError(
                f"{where}: calibration coef is {calibrator.coef_}; "
                "it must be negative (larger distance, lower probability)"
            )
        return calibrator


class IsotonicCalibrator:
    """A non-increasing step function of distance, fitted by isotonic regression (PAV).

    It runs through the points ``x_`` (distances, ascending) and ``y_`` (probabilities), is
    interpolated linearly between them and held flat beyond its ends.
    """

    method = "isotonic"

    def fit(self, genuine: ArrayLike, impostor: ArrayLike) -> IsotonicCalibrator:
        """Learn ``x_`` and ``y_`` from genuine and impostor distances."""
        from sklearn.isotonic import IsotonicRegression

        x, y = _labelled(genuine, impostor)
        model = IsotonicRegression(increasing=False, out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(x, y)
        self.x_ = np.asarray(model.X_thresholds_, dtype=np.float64)
        self.y_ = np.asarray(model.y_thresholds_, dtype=np.float64)
        return self

    def probability(self, distance: ArrayLike) -> NDArray[np.float64]:
        """P(same person) for each distance, same shape as ``distance``."""
        return np.asarray(np.interp(np.asarray(distance, dtype=np.float64), self.x_, self.y_))

    def to_dict(self) -> dict[str, Any]:
        """The fitted step function's knots, as a profile stores them (JSON)."""
        return {
            "method": "isotonic",
            "input": "distance",
            "x": [float(v) for v in self.x_],
            "y": [float(v) for v in self.y_],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "calibration") -> IsotonicCalibrator:
        """Rebuild a fitted calibrator; raises ``ProfileError`` naming the first bad field."""
        x, y = data.get("x"), data.get("y")
        if not isinstance(x, list) or not isinstance(y, list) or len(x) != len(y) or len(x) < 2:
            raise ProfileError(
                f"{where}: isotonic calibration needs lists x and y of equal length (2 or more)"
            )
        if not all(_is_number(v) for v in [*x, *y]):
            raise ProfileError(f"{where}: isotonic x and y must be lists of numbers")
        try:
            xs, ys = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        except OverflowError:
            raise ProfileError(f"{where}: isotonic x and y must be finite numbers") from None
        if not (np.all(np.isfinite(xs)) and np.all(np.isfinite(ys))):
            raise ProfileError(f"{where}: isotonic x and y must be finite numbers")
        if np.any(np.diff(xs) < 0) or np.any((ys < 0) | (ys > 1)):
            raise ProfileError(f"{where}: isotonic x must be sorted and y must lie in [0, 1]")
        if np.any(np.diff(ys) > 0):
            raise ProfileError(
                f"{where}: isotonic y must not increase with distance (larger distance, lower probability)"
            )
        calibrator = cls()
        calibrator.x_, calibrator.y_ = xs, ys
        return calibrator


_METHODS: dict[str, type[LogisticCalibrator] | type[IsotonicCalibrator]] = {
    "logistic": LogisticCalibrator,
    "isotonic": IsotonicCalibrator,
}


def make_calibrator(method: str) -> LogisticCalibrator | IsotonicCalibrator:
    """An unfitted calibrator by name; raises ``ValueError`` quoting an unknown one."""
    if method not in _METHODS:
        raise ValueError(f"method must be 'logistic' or 'isotonic', not {method!r}")
    return _METHODS[method]()


def calibrator_from_dict(data: Any, where: str = "calibration") -> LogisticCalibrator | IsotonicCalibrator:
    """A fitted calibrator from a profile's ``calibration`` block; ``ProfileError`` if it is bad."""
    if not isinstance(data, dict):
        raise ProfileError(f"{where}: expected an object, found {type(data).__name__}")
    method = data.get("method")
    if method not in _METHODS:
        raise ProfileError(f"{where}: calibration method {method!r} is not 'logistic' or 'isotonic'")
    return _METHODS[method].from_dict(data, where)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _number(data: dict[str, Any], key: str, where: str) -> float:
    value = data.get(key)
    try:
        number = float(value) if _is_number(value) else math.nan  # type: ignore[arg-type]
    except OverflowError:  # an integer of hundreds of digits
        number = math.nan
    if not math.isfinite(number):
        raise ProfileError(f"{where}: {key!r} should be a finite number, found {quoted(value)}")
    return number
