"""Embed: dlib's 128-d ResNet (the model face_recognition uses) on aligned chips.

``Embedder`` is the seam: anything with an ``embed`` method of this shape can stand in for the
dlib model (tests use it to put a fake behind the pipeline without patching).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from impostor import weights
from impostor.types import RGBImage

__all__ = ["DlibEmbedder", "EMBEDDING_MODEL", "Embedder"]

EMBEDDING_MODEL = "dlib_face_recognition_resnet_model_v1"


class Embedder(Protocol):
    name: str

    def embed(self, chips: Sequence[RGBImage], jitters: int = 0) -> NDArray[np.float64]:
        """Embeddings of aligned 150 × 150 RGB chips, shaped ``(len(chips), 128)``."""
        ...


class DlibEmbedder:
    """dlib's ResNet; the model file is loaded on the first call and kept."""

    name = EMBEDDING_MODEL

    def embed(self, chips: Sequence[RGBImage], jitters: int = 0) -> NDArray[np.float64]:
        if not chips:
            return np.empty((0, 128))
        model = weights.encoder()
        batch = [np.ascontiguousarray(chip) for chip in chips]
        descriptors = model.compute_face_descriptor(batch, int(jitters))
        return np.array([np.asarray(d, dtype=np.float64) for d in descriptors])
