"""The embedding stage: dlib's ResNet locally and through the pooled helper process."""

from __future__ import annotations

import time

import numpy as np
import pytest

from impostor.stages.align import align, find_landmarks
from impostor.stages.detect import detect_faces
from impostor.stages.embed import DlibEmbedder, PooledEmbedder


@pytest.fixture(scope="module")
def chips(astronaut: np.ndarray, grace_hopper: np.ndarray) -> list[np.ndarray]:
    out = []
    for rgb in (astronaut, grace_hopper, astronaut[:, ::-1].copy()):
        box = detect_faces(rgb)[0]
        out.append(align(rgb, find_landmarks(rgb, box)))
    return out


def _ready(embedder: PooledEmbedder) -> PooledEmbedder:
    assert embedder._ready.wait(timeout=60), "the helper process did not start"
    return embedder


def test_local_embedding_shape_and_scale(chips: list[np.ndarray]) -> None:
    vectors = DlibEmbedder().embed(chips)
    assert vectors.shape == (3, 128) and vectors.dtype == np.float64
    assert np.isfinite(vectors).all() and (np.linalg.norm(vectors, axis=1) > 0.5).all()
    assert np.linalg.norm(vectors[0] - vectors[2]) < 0.4, "a mirrored face is the same person"
    assert np.linalg.norm(vectors[0] - vectors[1]) > 0.6, "Collins and Hopper are different people"


def test_empty_batch() -> None:
    assert DlibEmbedder().embed([]).shape == (0, 128)


def test_pooled_equals_local_in_order(chips: list[np.ndarray]) -> None:
    pooled = _ready(PooledEmbedder())
    try:
        np.testing.assert_allclose(pooled.embed(chips), DlibEmbedder().embed(chips), atol=1e-9)
        np.testing.assert_allclose(pooled.embed(chips[:1]), DlibEmbedder().embed(chips[:1]), atol=1e-9)
    finally:
        pooled.close()


def test_pooled_carries_on_when_the_helper_dies(chips: list[np.ndarray]) -> None:
    pooled = _ready(PooledEmbedder())
    process = pooled._process
    assert process is not None
    process.kill()
    process.wait(timeout=10)
    deadline = time.monotonic() + 5
    while process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    np.testing.assert_allclose(pooled.embed(chips), DlibEmbedder().embed(chips), atol=1e-9)
    assert not pooled._ready.is_set(), "a dead helper is not used again"
    pooled.close()
