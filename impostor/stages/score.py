"""Score: Euclidean distances between embeddings, vectorised, in bounded memory.

Embeddings are rows of a float array shaped ``(n, 128)``; a row of NaN stands for an image in
which no face was found. Distances are Euclidean: **smaller is more alike**, and a comparison
is accepted when ``distance <= threshold``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["all_pairs", "distance", "distances", "pair_counts", "pair_distances"]

# rows gathered at once by pair_distances: two (16,384 × 128) float64 blocks are 32 MB
_PAIR_CHUNK = 16_384


def _matrix(vectors: ArrayLike) -> NDArray[np.float64]:
    matrix = np.asarray(vectors, dtype=np.float64)
    if matrix.ndim != 2:
        raise ValueError(f"vectors must be shaped (n, dimensions), got shape {matrix.shape}")
    return matrix


def distances(a: ArrayLike, b: ArrayLike) -> NDArray[np.float64]:
    """Euclidean distance between row ``k`` of ``a`` and row ``k`` of ``b``, for every k.

    ``a`` and ``b`` shape ``(m, d)`` (or one of them ``(d,)``, compared with every row of the
    other). Returns shape ``(m,)`` float64, NaN where either row holds a NaN (no face); smaller
    is more alike. The norm of the difference: exact, no cancellation. Raises ``ValueError`` for
    shapes that do not pair up.
    """
    left, right = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if left.ndim == 1:
        left = left[None, :]
    if right.ndim == 1:
        right = right[None, :]
    if left.ndim != 2 or right.ndim != 2 or left.shape[1] != right.shape[1]:
        raise ValueError(f"cannot pair rows of shapes {np.shape(a)} and {np.shape(b)}")
    if left.shape[0] != right.shape[0] and 1 not in (left.shape[0], right.shape[0]):
        raise ValueError(f"{left.shape[0]} rows cannot be paired with {right.shape[0]}")
    difference = left - right
    return np.asarray(np.sqrt(np.einsum("ij,ij->i", difference, difference)), dtype=np.float64)


def distance(a: ArrayLike, b: ArrayLike) -> float:
    """Euclidean distance between two embeddings of shape ``(d,)``: smaller is more alike, and a
    comparison is accepted when it is at most the profile's accept distance. NaN when either
    holds a NaN. Raises ``ValueError`` unless both are single vectors of one length."""
    if np.ndim(a) != 1 or np.ndim(b) != 1:
        raise ValueError(f"distance compares two vectors, not shapes {np.shape(a)} and {np.shape(b)}")
    return float(distances(a, b)[0])


def pair_distances(
    vectors: NDArray[np.float64], a: NDArray[np.int64], b: NDArray[np.int64]
) -> NDArray[np.float64]:
    """Euclidean distance between rows ``a[k]`` and ``b[k]`` of ``vectors``, for every k.

    ``vectors`` shape ``(n, d)``; ``a`` and ``b`` integer row indices of equal shape ``(m,)``.
    Returns shape ``(m,)`` float64, NaN where either row holds a NaN (no face). Computed as
    the norm of the difference (exact, no cancellation), ``_PAIR_CHUNK`` pairs at a time.
    Raises ``ValueError`` for mismatched shapes or indices outside ``[0, n)``.
    """
    matrix = _matrix(vectors)
    left, right = np.asarray(a).ravel(), np.asarray(b).ravel()
    if left.shape != right.shape:
        raise ValueError(f"a and b must have the same length, got {left.size} and {right.size}")
    if left.size and not (np.issubdtype(left.dtype, np.integer) and np.issubdtype(right.dtype, np.integer)):
        raise ValueError(f"a and b must be integer row indices, got {left.dtype} and {right.dtype}")
    n = matrix.shape[0]
    for name, index in (("a", left), ("b", right)):
        if index.size and (index.min() < 0 or index.max() >= n):
            bad = index[(index < 0) | (index >= n)][0]
            raise ValueError(f"{name} holds row {bad}, outside the {n} rows of vectors")
    out = np.empty(left.size, dtype=np.float64)
    for start in range(0, left.size, _PAIR_CHUNK):
        stop = start + _PAIR_CHUNK
        out[start:stop] = distances(matrix[left[start:stop]], matrix[right[start:stop]])
    return out


def pair_counts(identities: ArrayLike) -> tuple[int, int]:
    """(genuine, impostor) number of unordered pairs among rows labelled ``identities``."""
    ids = np.asarray(identities).ravel()
    n = ids.size
    _, per_person = np.unique(ids, return_counts=True)
    genuine = int(np.sum(per_person * (per_person - 1) // 2))
    return genuine, n * (n - 1) // 2 - genuine


def all_pairs(
    vectors: NDArray[np.float64], identities: NDArray[np.int64], *, chunk: int = 2048
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Distances of every unordered pair of rows with a face: (genuine, impostor).

    ``vectors`` shape ``(n, d)``, rows with any NaN (no face) left out; ``identities`` shape
    ``(n,)``, equal labels meaning the same person. Returns two float32 arrays whose lengths
    sum to m(m−1)/2 for the m rows kept (see ``pair_counts``), ordered tile by tile: treat
    them as samples, not as a list aligned with some pair order.

    The square ``(n, n)`` matrix is never formed: tiles of ``chunk × chunk`` rows are computed
    as ``‖x‖² + ‖y‖² − 2x·y`` in float64 (one matrix product per tile, clipped at 0 before the
    square root, since rounding can make it slightly negative for near-identical rows), so
    memory is a few tiles plus the float32 outputs. The expansion loses about 1e-8 of absolute
    precision near zero distance, far below the float32 output step.
    """
    if chunk < 1:
        raise ValueError(f"chunk must be positive, got {chunk}")
    matrix = _matrix(vectors)
    ids = np.asarray(identities).ravel()
    if ids.size != matrix.shape[0]:
        raise ValueError(f"{matrix.shape[0]} vectors but {ids.size} identities")
    keep = ~np.any(np.isnan(matrix), axis=1)
    matrix, ids = matrix[keep], ids[keep]
    n_genuine, n_impostor = pair_counts(ids)
    genuine = np.empty(n_genuine, dtype=np.float32)
    impostor = np.empty(n_impostor, dtype=np.float32)
    squared = np.einsum("ij,ij->i", matrix, matrix)
    g_at = i_at = 0
    n = matrix.shape[0]
    for r0 in range(0, n, chunk):
        rows = slice(r0, min(r0 + chunk, n))
        for c0 in range(r0, n, chunk):
            cols = slice(c0, min(c0 + chunk, n))
            d2 = matrix[rows] @ matrix[cols].T
            d2 *= -2.0
            d2 += squared[rows, None]
            d2 += squared[None, cols]
            distance = np.sqrt(np.maximum(d2, 0.0, out=d2), out=d2)
            same = ids[rows, None] == ids[None, cols]
            if c0 == r0:  # a diagonal tile: only the pairs above its diagonal are new
                upper = np.triu(np.ones(same.shape, dtype=bool), k=1)
                g_take, i_take = distance[same & upper], distance[~same & upper]
            else:
                g_take, i_take = distance[same], distance[~same]
            genuine[g_at : g_at + g_take.size] = g_take
            impostor[i_at : i_at + i_take.size] = i_take
            g_at += g_take.size
            i_at += i_take.size
    return genuine, impostor
