"""Calibrate: fit distance → probability on labelled pairs, and choose operating thresholds.

Distances are Euclidean distances between embeddings (smaller is more alike); a comparison is
accepted when ``distance <= threshold``. Genuine means same person (mated), impostor means
different people (non-mated), as in ISO/IEC 19795-1.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from impostor.profile import Calibration

__all__ = ["fit_calibration", "fmr_fnmr", "threshold_at_fmr", "threshold_at_fnmr"]


def _finite(values: ArrayLike, what: str) -> NDArray[np.float64]:
    array = np.asarray(values, dtype=np.float64).ravel()
    if array.size == 0:
        raise ValueError(f"{what}: no distances given")
    if not np.all(np.isfinite(array)):
        bad = float(array[~np.isfinite(array)][0])
        raise ValueError(f"{what}: distances must be finite numbers, found {bad}")
    return array


def fit_calibration(
    genuine: ArrayLike, impostor: ArrayLike, method: Literal["logistic", "isotonic"] = "logistic"
) -> Calibration:
    """Fit P(same person | distance) on genuine and impostor distances (scikit-learn).

    The probability is for equal priors when the two sets are the same size; logistic
    regression is nearly unregularised so the slope reflects the data, not the penalty.
    """
    g, i = _finite(genuine, "genuine"), _finite(impostor, "impostor")
    x = np.concatenate([g, i])
    y = np.concatenate([np.ones(g.size), np.zeros(i.size)])
    if method == "logistic":
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(C=1e6, max_iter=1000).fit(x[:, None], y)
        return Calibration("logistic", coef=float(model.coef_[0, 0]), intercept=float(model.intercept_[0]))
    if method == "isotonic":
        from sklearn.isotonic import IsotonicRegression

        model = IsotonicRegression(increasing=False, out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(x, y)
        return Calibration(
            "isotonic",
            x=tuple(float(v) for v in model.X_thresholds_),
            y=tuple(float(v) for v in model.y_thresholds_),
        )
    raise ValueError(f"method must be 'logistic' or 'isotonic', not {method!r}")


def threshold_at_fmr(impostor: ArrayLike, target_fmr: float) -> float:
    """The largest distance threshold whose FMR (impostor distances ``<=`` it) is at most target.

    The threshold is placed half-way between two observed distances so it does not sit on one.
    """
    if not 0.0 < target_fmr < 1.0:
        raise ValueError(f"target_fmr must lie in (0, 1), got {target_fmr}")
    ordered = np.sort(_finite(impostor, "impostor"))
    allowed = math.floor(target_fmr * ordered.size)  # how many impostors may be accepted
    if allowed >= ordered.size:
        return float(ordered[-1])
    # distances tied with the first one refused must be refused too, or FMR overshoots the target
    below = ordered[ordered < ordered[allowed]]
    if below.size == 0:
        return float(ordered[0] - 1e-6)
    return float((below[-1] + ordered[allowed]) / 2)


def threshold_at_fnmr(genuine: ArrayLike, target_fnmr: float) -> float:
    """The smallest threshold whose FNMR (genuine distances ``>`` it) is at most target."""
    if not 0.0 < target_fnmr < 1.0:
        raise ValueError(f"target_fnmr must lie in (0, 1), got {target_fnmr}")
    ordered = np.sort(_finite(genuine, "genuine"))
    allowed = math.floor(target_fnmr * ordered.size)  # how many genuine may be rejected
    keep = ordered.size - allowed  # this many lowest distances must be accepted
    if allowed == 0:
        return float(ordered[-1])
    return float((ordered[keep - 1] + ordered[keep]) / 2)


def fmr_fnmr(genuine: ArrayLike, impostor: ArrayLike, threshold: float) -> tuple[float, float]:
    """(FMR, FNMR) when distances ``<= threshold`` are accepted."""
    g, i = _finite(genuine, "genuine"), _finite(impostor, "impostor")
    return float(np.mean(i <= threshold)), float(np.mean(g > threshold))


def summary(genuine: ArrayLike, impostor: ArrayLike, thresholds: dict[str, float]) -> dict[str, Any]:
    """FMR and FNMR at each named threshold, with the pair counts."""
    g, i = _finite(genuine, "genuine"), _finite(impostor, "impostor")
    out: dict[str, Any] = {"genuine_pairs": int(g.size), "impostor_pairs": int(i.size)}
    for name, t in thresholds.items():
        fmr, fnmr = fmr_fnmr(g, i, t)
        out[name] = {"threshold": round(t, 4), "fmr": round(fmr, 5), "fnmr": round(fnmr, 5)}
    return out
