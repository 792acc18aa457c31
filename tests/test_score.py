"""Distances between embeddings, checked against scipy's cdist on random data with rows of
NaN (images with no face), across block edges (small tiles) and on 3,000 vectors."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from impostor.stages import score
from impostor.stages.score import all_pairs, pair_counts, pair_distances


def embeddings(n: int, seed: int, *, lost: int = 0, dims: int = 128) -> np.ndarray:
    """Roughly dlib-like: 128-d rows with norms near 1; ``lost`` rows all NaN."""
    rng = np.random.default_rng(seed)
    vectors = rng.normal(0.0, 1.0 / np.sqrt(dims), (n, dims))
    if lost:
        vectors[rng.choice(n, lost, replace=False)] = np.nan
    return vectors


def brute_all_pairs(vectors: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = ~np.isnan(vectors).any(axis=1)
    kept, kept_ids = vectors[keep], ids[keep]
    upper = np.triu_indices(len(kept), k=1)
    d = cdist(kept, kept)[upper]
    same = (kept_ids[:, None] == kept_ids[None, :])[upper]
    return d[same], d[~same]


def test_pair_distances_match_cdist_and_lose_pairs_with_no_face() -> None:
    vectors = embeddings(60, 0, lost=5)
    rng = np.random.default_rng(1)
    a, b = rng.integers(0, 60, 500), rng.integers(0, 60, 500)
    result = pair_distances(vectors, a, b)
    expected = cdist(vectors, vectors)[a, b]  # cdist gives NaN for NaN rows too
    assert result.dtype == np.float64 and result.shape == (500,)
    assert np.array_equal(np.isnan(result), np.isnan(vectors[a, 0]) | np.isnan(vectors[b, 0]))
    assert np.allclose(result, expected, rtol=0, atol=1e-12, equal_nan=True)
    assert np.all(pair_distances(vectors, a[:3], a[:3])[~np.isnan(vectors[a[:3], 0])] == 0)


def test_pair_distances_across_chunk_boundaries() -> None:
    vectors = embeddings(300, 2, lost=10, dims=16)
    rng = np.random.default_rng(3)
    m = 2 * score._PAIR_CHUNK + 17  # three chunks, the last one ragged
    a, b = rng.integers(0, 300, m), rng.integers(0, 300, m)
    expected = np.sqrt(np.sum((vectors[a] - vectors[b]) ** 2, axis=1))
    assert np.allclose(pair_distances(vectors, a, b), expected, rtol=0, atol=1e-12, equal_nan=True)
    assert pair_distances(vectors, np.array([], dtype=np.int64), np.array([], dtype=np.int64)).size == 0


def test_pair_distances_refuse_bad_indices() -> None:
    vectors = embeddings(5, 0)
    with pytest.raises(ValueError, match="row 5, outside the 5 rows"):
        pair_distances(vectors, np.array([0, 5]), np.array([1, 2]))
    with pytest.raises(ValueError, match="same length"):
        pair_distances(vectors, np.array([0, 1]), np.array([1]))
    with pytest.raises(ValueError, match="integer row indices"):
        pair_distances(vectors, np.array([0.0]), np.array([1.0]))
    with pytest.raises(ValueError, match="shaped"):
        pair_distances(np.zeros(5), np.array([0]), np.array([1]))


@pytest.mark.parametrize("chunk", [1, 3, 7, 16, 64, 2048])
def test_all_pairs_matches_cdist_for_any_tile_size(chunk: int) -> None:
    vectors = embeddings(47, 4, lost=6)
    ids = np.random.default_rng(5).integers(0, 9, 47)
    genuine, impostor = all_pairs(vectors, ids, chunk=chunk)
    expected_g, expected_i = brute_all_pairs(vectors, ids)
    assert genuine.dtype == impostor.dtype == np.float32
    # tiles change the order, not the multiset of distances
    assert np.allclose(np.sort(genuine), np.sort(expected_g), rtol=1e-6, atol=1e-6)
    assert np.allclose(np.sort(impostor), np.sort(expected_i), rtol=1e-6, atol=1e-6)


def test_all_pairs_of_identical_rows_are_near_zero_not_nan() -> None:
    # ‖x‖² + ‖y‖² − 2x·y rounds to ±1e-16 for equal rows: clipped at 0 before the root, so at
    # most about 1e-8 (far below the 0.01-wide gaps between thresholds), never NaN
    row = embeddings(1, 6)[0]
    genuine, impostor = all_pairs(np.stack([row] * 4), np.array([1, 1, 1, 2]), chunk=3)
    assert genuine.size == 3 and impostor.size == 3
    assert np.all(genuine < 1e-7) and np.all(impostor < 1e-7)
    assert not np.isnan(genuine).any() and not np.isnan(impostor).any()


def test_all_pairs_counts_every_pair_of_3000_vectors_once() -> None:
    vectors = embeddings(3000, 7, lost=40)
    ids = np.random.default_rng(8).integers(0, 700, 3000)
    genuine, impostor = all_pairs(vectors, ids, chunk=1000)
    kept = 3000 - 40
    assert genuine.size + impostor.size == kept * (kept - 1) // 2
    keep = ~np.isnan(vectors[:, 0])
    assert (genuine.size, impostor.size) == pair_counts(ids[keep])
    _, per_person = np.unique(ids[keep], return_counts=True)
    assert genuine.size == int(sum(c * (c - 1) // 2 for c in per_person))
    assert not np.isnan(genuine).any() and not np.isnan(impostor).any()


def test_all_pairs_edge_cases() -> None:
    genuine, impostor = all_pairs(embeddings(3, 0, lost=3), np.array([1, 1, 2]))
    assert genuine.size == impostor.size == 0
    with pytest.raises(ValueError, match="3 vectors but 2 identities"):
        all_pairs(embeddings(3, 0), np.array([1, 2]))
    with pytest.raises(ValueError, match="chunk"):
        all_pairs(embeddings(3, 0), np.array([1, 2, 3]), chunk=0)


def test_distances_pair_rows_as_the_norm_of_their_difference() -> None:
    a, b = embeddings(40, 2, lost=3), embeddings(40, 3)
    result = score.distances(a, b)
    slow = np.array(
        [np.sqrt(sum((x - y) ** 2 for x, y in zip(p, q, strict=True))) for p, q in zip(a, b, strict=True)]
    )
    assert result.shape == (40,) and result.dtype == np.float64
    assert np.allclose(result, slow, rtol=0, atol=1e-12, equal_nan=True)
    assert np.array_equal(np.isnan(result), np.isnan(a[:, 0]))
    one = score.distances(b[0], b)  # one vector against every row
    assert np.allclose(one, np.linalg.norm(b - b[0], axis=1), rtol=0, atol=1e-12) and one[0] == 0.0


def test_distance_of_two_embeddings_is_what_pair_distances_gives() -> None:
    vectors = embeddings(10, 4)
    a, b = np.array([1, 7]), np.array([2, 3])
    pairs = pair_distances(vectors, a, b)
    assert [score.distance(vectors[i], vectors[j]) for i, j in zip(a, b, strict=True)] == pairs.tolist()
    assert score.distance(vectors[0], vectors[1]) == pytest.approx(
        float(np.linalg.norm(vectors[0] - vectors[1]))
    )
    assert np.isnan(score.distance(np.full(128, np.nan), vectors[0]))


def test_distances_refuse_shapes_that_do_not_pair() -> None:
    vectors = embeddings(4, 5)
    with pytest.raises(ValueError, match="cannot pair"):
        score.distances(vectors, vectors[:, :64])
    with pytest.raises(ValueError, match="4 rows cannot be paired with 3"):
        score.distances(vectors, vectors[:3])
    with pytest.raises(ValueError, match="two vectors"):
        score.distance(vectors, vectors[0])
