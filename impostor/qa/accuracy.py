"""Figures beyond the error rates: how much the calibrated probabilities are worth (Cllr and
minCllr, in bits) and the LFW protocol's cross-validated accuracy per fold.

Like ``impostor.qa.metrics`` (which re-exports these names), scores are **distances** (smaller
is more alike) and a pair is accepted when ``distance <= threshold``; log-likelihood ratios are
natural logs, positive favouring the same person. Argument order is always ``genuine, impostor``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from impostor.arrays import scores as _scores

__all__ = ["FoldAccuracy", "cllr", "fold_accuracy", "llr_from_probability", "min_cllr"]

Array = NDArray[np.float64]


def cllr(genuine_llr: ArrayLike, impostor_llr: ArrayLike) -> float:
    """Log-likelihood-ratio cost in bits; 0 is perfect, 1 is an uninformative system (all LLRs 0).

    Inputs are natural-log likelihood ratios ``ln P(score | same) / P(score | different)``
    (positive favours the same person), ±inf allowed, NaN refused.
    Cllr = ½ [mean over genuine of log2(1 + e^(−llr)) + mean over impostor of log2(1 + e^(llr))].
    """
    g = _scores(genuine_llr, "genuine", allow_inf=True)
    i = _scores(impostor_llr, "impostor", allow_inf=True)
    return float(0.5 * (np.mean(np.logaddexp(0, -g)) + np.mean(np.logaddexp(0, i))) / math.log(2))


def llr_from_probability(probability: ArrayLike, prior: float = 0.5) -> Array:
    """Natural-log likelihood ratios from calibrated P(same), removing the fit's prior.

    ``prior`` is the share of genuine pairs the calibration was fitted with (0.5 for a
    balanced fit, where the LLR is simply logit(p)): ``llr = logit(p) − logit(prior)``.
    Probabilities of exactly 0 or 1 are moved one float64 step inside (0, 1), which bounds the
    LLR at about ±36.7 nats instead of producing infinities. NaN stays NaN.
    """
    if not 0.0 < prior < 1.0:
        raise ValueError(f"prior must lie in (0, 1), got {prior!r}")
    p = np.asarray(probability, dtype=np.float64)
    step = np.finfo(np.float64).epsneg  # the gap between 1 and the largest float64 below it
    p = np.clip(p, step, 1.0 - step)
    return np.asarray(np.log(p) - np.log1p(-p) - math.log(prior / (1.0 - prior)), dtype=np.float64)


def min_cllr(genuine: ArrayLike, impostor: ArrayLike) -> float:
    """Cllr after the best monotone calibration of the distances (PAV, via scikit-learn).

    Smaller distance must mean more likely the same person. PAV gives the posterior that is
    optimal among non-increasing functions of the distance (tied distances share one value);
    removing the prior odds of this set turns it into an LLR. Blocks of only genuine (only
    impostor) pairs get LLR +inf (−inf) at zero cost. It measures discrimination alone:
    ``cllr - min_cllr`` is the calibration loss, and ``min_cllr <= 1``.
    """
    from sklearn.isotonic import IsotonicRegression

    g, i = _scores(genuine, "genuine"), _scores(impostor, "impostor")
    x = np.concatenate([g, i])
    y = np.concatenate([np.ones(g.size), np.zeros(i.size)])
    posterior = IsotonicRegression(increasing=False, out_of_bounds="clip").fit_transform(x, y)
    posterior = np.clip(posterior, 0.0, 1.0)  # PAV averages of 0/1 labels; guard rounding only
    with np.errstate(divide="ignore"):
        llr = np.log(posterior) - np.log1p(-posterior) - math.log(g.size / i.size)
    return cllr(llr[: g.size], llr[g.size :])


@dataclass(frozen=True, eq=False)
class FoldAccuracy:
    """Cross-validated verification accuracy, one entry per fold (folds ascending). Shapes ``(k,)``."""

    folds: NDArray[np.int64]
    accuracy: Array  # correct decisions / pairs in the fold, lost pairs counted as errors
    threshold: Array  # chosen on the other folds; accept when distance <= threshold
    pairs: NDArray[np.int64]
    lost: NDArray[np.int64]  # pairs with no distance (no face in an image)

    @property
    def mean(self) -> float:
        """Mean accuracy over the folds (0-1)."""
        return float(np.mean(self.accuracy))

    @property
    def std(self) -> float:
        """Sample standard deviation over the folds (n − 1 in the denominator)."""
        return float(np.std(self.accuracy, ddof=1))

    @property
    def standard_error(self) -> float:
        """``std / sqrt(folds)``, the ± the LFW results pages quote."""
        return self.std / math.sqrt(self.accuracy.size)


def fold_accuracy(distances: ArrayLike, same: ArrayLike, folds: ArrayLike) -> FoldAccuracy:
    """LFW View 2 protocol: per fold, the accuracy at the threshold that is best on the others.

    ``distances`` shape ``(n,)``, NaN where a pair was lost (no face in an image): a lost pair
    is an error whatever the threshold, so it is left out of the threshold search and counted
    wrong in its fold. ``same`` is True for genuine pairs; ``folds`` holds integer labels (at
    least two distinct). Among thresholds equally good on the training folds the smallest is
    taken, placed half-way between the last accepted and the first rejected distance.
    """
    d = np.asarray(distances, dtype=np.float64).ravel()
    s = np.asarray(same, dtype=bool).ravel()
    f = np.asarray(folds, dtype=np.int64).ravel()
    if not d.size == s.size == f.size:
        raise ValueError(f"distances, same and folds differ in length: {d.size}, {s.size} and {f.size}")
    if np.any(np.isinf(d)):
        raise ValueError("distances must be finite or NaN (lost pair)")
    labels = np.unique(f)
    if labels.size < 2:
        raise ValueError(f"need at least two folds, got {labels.size}")
    found = ~np.isnan(d)
    accuracies, thresholds, pairs, lost = [], [], [], []
    for fold in labels:
        train = (f != fold) & found
        if not np.any(train):
            raise ValueError(f"fold {fold}: no scored pairs in the other folds to choose a threshold")
        t = _best_accuracy_threshold(d[train], s[train])
        test = f == fold
        correct = np.count_nonzero(found[test] & ((d[test] <= t) == s[test]))
        accuracies.append(correct / np.count_nonzero(test))
        thresholds.append(t)
        pairs.append(np.count_nonzero(test))
        lost.append(np.count_nonzero(test & ~found))
    return FoldAccuracy(
        labels, np.array(accuracies), np.array(thresholds), np.array(pairs), np.array(lost, dtype=np.int64)
    )


def _best_accuracy_threshold(d: Array, same: NDArray[np.bool_]) -> float:
    order = np.argsort(d, kind="stable")
    ds, ss = d[order], same[order]
    # accepting the k smallest: correct = genuine among them + impostors beyond them
    genuine_in = np.concatenate([[0], np.cumsum(ss)])
    impostor_out = np.count_nonzero(~ss) - np.concatenate([[0], np.cumsum(~ss)])
    correct = genuine_in + impostor_out
    # only cut between distinct distances
    valid = np.concatenate([[True], ds[1:] > ds[:-1], [True]])
    k = int(np.argmax(np.where(valid, correct, -1)))
    if k == 0:
        return float(np.nextafter(ds[0], -np.inf))
    if k == ds.size:
        return float(ds[-1])
    return float((ds[k - 1] + ds[k]) / 2)
