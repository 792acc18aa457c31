"""Error versus reject: how the error rates change as the lowest-quality comparisons are refused.

A quality gate refuses some comparisons before they are scored; it is worth its cost when the
comparisons it refuses are the ones that would have gone wrong. ``error_versus_reject`` ranks
the scored pairs by their comparison quality (the lower of the two images' unified quality
scores, ``impostor.stages.quality.unified_score``), drops a share of the lowest, genuine and impostor
pairs alike as a gate would, and measures FNMR and FMR among the rest at one threshold
(distances accept when ``distance <= threshold``). Beside each point stands what dropping the
same share at random would give on average: the rates unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["REJECT_SHARES", "ErrorVersusReject", "RejectPoint", "error_versus_reject"]

# shares of the comparisons refused: fine steps where a gate would sit, coarser beyond
REJECT_SHARES = (0.0, 0.01, 0.02, 0.05, 0.10, 0.15, 0.20, 0.30)


@dataclass(frozen=True)
class RejectPoint:
    """The rates among the pairs kept after refusing ``share`` (0-1) of the lowest-quality ones.

    ``rejected`` pairs were refused (``round(share * pairs)``), leaving ``genuine_pairs`` and
    ``impostor_pairs``; ``fnmr`` and ``fmr`` are among those (NaN when none of the class is
    left). ``random_fnmr`` and ``random_fmr`` are the expected rates when the same share is
    refused at random: the rates before any refusal.
    """

    share: float
    rejected: int
    genuine_pairs: int
    impostor_pairs: int
    fnmr: float
    fmr: float
    random_fnmr: float
    random_fmr: float


@dataclass(frozen=True)
class ErrorVersusReject:
    """The error-versus-reject curve at one threshold; ``points`` in increasing ``share``.

    ``pairs`` counts the scored pairs ranked; ``unmeasured`` those among them whose quality
    was not known (ranked lowest, as a gate refuses what it cannot measure).
    """

    threshold: float
    pairs: int
    unmeasured: int
    points: tuple[RejectPoint, ...]

    def at(self, share: float) -> RejectPoint:
        """The point whose share is closest to ``share``."""
        return min(self.points, key=lambda point: abs(point.share - share))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: what quality means here, the threshold, the pairs and each point."""
        return {
            "quality": "the lower of the two images' unified quality scores (0-100)",
            "threshold": self.threshold,
            "pairs": self.pairs,
            "unmeasured": self.unmeasured,
            "points": [vars(point) for point in self.points],
        }


def error_versus_reject(
    quality: ArrayLike,
    same: ArrayLike,
    distance: ArrayLike,
    *,
    threshold: float,
    shares: Sequence[float] = REJECT_SHARES,
    seed: int = 0,
) -> ErrorVersusReject:
    """FNMR and FMR at ``threshold`` as the lowest-quality share of the pairs is refused.

    All arrays are shaped ``(n,)``: ``quality`` is each pair's comparison quality, 0-100,
    higher is better (NaN: not measured, refused first); ``distance`` is NaN for a lost pair,
    and lost pairs are left out (they have no score to be wrong about). A pair is accepted when
    ``distance <= threshold``. Pairs of equal quality are refused in a seeded random order, so
    ties favour neither class. Raises ``ValueError`` for a share outside [0, 1) or arrays of
    different lengths.
    """
    q = np.asarray(quality, dtype=np.float64).ravel()
    s = np.asarray(same, dtype=bool).ravel()
    d = np.asarray(distance, dtype=np.float64).ravel()
    if not q.size == s.size == d.size:
        raise ValueError(f"error_versus_reject: {q.size} qualities, {s.size} truths and {d.size} distances")
    wrong = [share for share in shares if not 0.0 <= share < 1.0]
    if wrong:
        raise ValueError(f"error_versus_reject: reject shares must lie in [0, 1), got {wrong}")
    scored = ~np.isnan(d)
    q, s, d = q[scored], s[scored], d[scored]
    unmeasured = np.isnan(q)
    # lowest quality first, unmeasured before everything, ties in a seeded random order
    tie_break = np.random.default_rng(seed).permutation(q.size)
    order = np.lexsort((tie_break, np.where(unmeasured, -np.inf, q)))
    error = np.where(s, d > threshold, d <= threshold)[order]  # false non-match or false match
    genuine = s[order]

    def rates(keep: NDArray[np.bool_]) -> tuple[int, int, float, float]:
        g, i = int(np.count_nonzero(keep & genuine)), int(np.count_nonzero(keep & ~genuine))
        fnmr = np.count_nonzero(keep & genuine & error) / g if g else float("nan")
        fmr = np.count_nonzero(keep & ~genuine & error) / i if i else float("nan")
        return g, i, float(fnmr), float(fmr)

    everything = np.ones(q.size, dtype=bool)
    _, _, base_fnmr, base_fmr = rates(everything)
    points = []
    for share in sorted(shares):
        rejected = int(round(share * q.size))
        keep = everything.copy()
        keep[:rejected] = False
        g, i, fnmr, fmr = rates(keep)
        points.append(RejectPoint(float(share), rejected, g, i, fnmr, fmr, base_fnmr, base_fmr))
    return ErrorVersusReject(float(threshold), int(q.size), int(np.count_nonzero(unmeasured)), tuple(points))
