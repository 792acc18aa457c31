"""The embedding stage: dlib's ResNet locally and through the pooled helper process."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import pytest

from impostor.stages.align import align, find_landmarks
from impostor.stages.detect import detect_faces
from impostor.stages.embed import DlibEmbedder, PooledEmbedder, embed_chips, grey_chip, is_grey_chip


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


class Recording:
    """A stand-in embedder (the ``Embedder`` seam): each chip's mean per channel and a row of
    zeros, and the batches it was given."""

    name = "recording"

    def __init__(self) -> None:
        self.batches: list[list[np.ndarray]] = []

    def embed(self, chips: Sequence[np.ndarray], jitters: int = 0) -> np.ndarray:
        self.batches.append(list(chips))
        rows = [
            np.concatenate([chip.reshape(-1, 3).mean(axis=0), chip[0, 0], np.zeros(122)]) for chip in chips
        ]
        return np.array(rows, dtype=np.float64).reshape(len(chips), 128)


def test_embed_chips_is_the_one_place_for_grey_and_mirror(chips: list[np.ndarray]) -> None:
    """Mirror-averaging embeds the chips and their mirror images in one batch; grey embeds
    ``grey_chip`` copies, and a grey chip stays as it is."""
    engine = Recording()
    flipped = embed_chips(engine, chips[:2], flip=True)
    assert len(engine.batches) == 1 and len(engine.batches[0]) == 4
    assert np.array_equal(engine.batches[0][2], chips[0][:, ::-1])
    mirrors = engine.embed([np.ascontiguousarray(c[:, ::-1]) for c in chips[:2]])
    assert np.allclose(flipped, (engine.embed(chips[:2]) + mirrors) / 2)
    grey = embed_chips(engine, chips[:1], grey=True)
    assert np.array_equal(engine.batches[-1][0], grey_chip(chips[0])) and grey.shape == (1, 128)
    assert is_grey_chip(grey_chip(chips[0])) and not is_grey_chip(chips[0])
    assert np.array_equal(grey_chip(grey_chip(chips[0])), grey_chip(chips[0]))
    assert embed_chips(engine, [], flip=True, grey=True).shape == (0, 128)
