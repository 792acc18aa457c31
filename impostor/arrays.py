"""Checks for arrays at the public boundary, with messages that quote the bad value."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["scores"]


def scores(values: ArrayLike, what: str, *, allow_inf: bool = False) -> NDArray[np.float64]:
    """``values`` as a flat float64 array of at least one score (a distance, or an LLR).

    ``what`` names the input in messages ("genuine", "impostor"). Raises ``ValueError`` for no
    values, text, NaN, and infinities unless ``allow_inf`` (log-likelihood ratios may be ±inf).
    """
    array = np.asarray(values, dtype=np.float64).ravel()
    if array.size == 0:
        raise ValueError(f"{what}: no scores given")
    bad = np.isnan(array) if allow_inf else ~np.isfinite(array)
    if np.any(bad):
        kind = "not NaN" if allow_inf else "finite"
        raise ValueError(f"{what}: scores must be {kind}, found {array[bad][0]!r}")
    return array
