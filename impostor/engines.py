"""The two engines side by side: do they give the same embeddings on real faces, and how fast?

``compare_engines`` locates the faces in some photos (matplotlib's public-domain portrait of
Grace Hopper by default, as it ships with every install), embeds them with ONNX Runtime and with
dlib, and reports the largest difference and each engine's time a face. ``impostor models
check`` prints it; the tests hold it to 1e-5 on faces-dev.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from impostor.capture import load_image
from impostor.embed import DlibEmbedder, OnnxEmbedder
from impostor.errors import NoFaceFound
from impostor.pipeline import Verifier
from impostor.types import RGBImage

__all__ = ["TOLERANCE", "EngineCheck", "bundled_faces", "compare_engines"]

TOLERANCE = 1e-5  # the largest difference between the engines' embeddings we accept


@dataclass(frozen=True)
class EngineCheck:
    """How far the ONNX engine's embeddings are from dlib's on ``faces`` chips, and the
    milliseconds a face each engine took (both models warm)."""

    faces: int
    max_difference: float
    onnx_ms: float
    dlib_ms: float
    provider: str  # where the onnx engine ran: ONNX Runtime's execution provider

    @property
    def agrees(self) -> bool:
        return self.max_difference <= TOLERANCE

    def to_dict(self) -> dict[str, object]:
        return {
            "faces": self.faces,
            "max_difference": self.max_difference,
            "tolerance": TOLERANCE,
            "agrees": self.agrees,
            "onnx_ms_per_face": round(self.onnx_ms, 2),
            "dlib_ms_per_face": round(self.dlib_ms, 2),
            "onnx_provider": self.provider,
        }


def bundled_faces() -> list[RGBImage]:
    """Grace Hopper's portrait from matplotlib's sample data, and seven variations of it (mirrored,
    darker, brighter, blurred, noisier, smaller, turned a little): eight different chips."""
    import matplotlib.cbook

    path = matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    rgb = load_image(str(path)).pixels
    height, width = rgb.shape[:2]
    noise = np.random.default_rng(0).normal(0, 8, rgb.shape)
    turn = cv2.getRotationMatrix2D((width / 2, height / 2), 8, 1.0)
    return [
        rgb,
        np.ascontiguousarray(rgb[:, ::-1]),
        cv2.convertScaleAbs(rgb, alpha=0.6),
        cv2.convertScaleAbs(rgb, alpha=1.2, beta=20),
        cv2.GaussianBlur(rgb, (5, 5), 0),
        np.clip(rgb + noise, 0, 255).astype(np.uint8),
        cv2.resize(rgb, (width // 2, height // 2), interpolation=cv2.INTER_AREA),
        cv2.warpAffine(rgb, turn, (width, height), borderMode=cv2.BORDER_REFLECT),
    ]


def compare_engines(images: Sequence[RGBImage] | None = None) -> EngineCheck:
    """Embed the face of each image with both engines. Raises ``NoFaceFound`` when an image has
    no face, and ``ModelFileError`` when the ONNX graph cannot be built."""
    locator = Verifier(detector="hog")
    chips = []
    for number, image in enumerate(images if images is not None else bundled_faces(), 1):
        chip = locator.locate(image, "face", label=f"image {number}").chip
        if chip is None:
            raise NoFaceFound(f"image {number}: no face found to compare the engines on")
        chips.append(chip)
    onnx, dlib = OnnxEmbedder(), DlibEmbedder()
    onnx.embed(chips[:1]), dlib.embed(chips[:1])  # load both models before timing them
    started = time.perf_counter()
    ours = onnx.embed(chips)
    onnx_ms = (time.perf_counter() - started) * 1000 / len(chips)
    started = time.perf_counter()
    reference = dlib.embed(chips)
    dlib_ms = (time.perf_counter() - started) * 1000 / len(chips)
    difference = float(np.abs(ours - reference).max())
    from impostor import weights

    provider = weights.onnx_encoder().get_providers()[0]
    return EngineCheck(len(chips), difference, onnx_ms, dlib_ms, provider)
