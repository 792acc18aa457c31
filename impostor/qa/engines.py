"""The two engines side by side: do they give the same answers on real faces, and how fast?

``compare_engines`` locates the faces in some photos (matplotlib's public-domain portrait of
Grace Hopper by default, as it ships with every install), embeds them with ONNX Runtime and with
dlib, and reports the largest difference and each engine's time a face; ``compare_detectors``
runs dlib's CNN face detector both ways on the same photos and reports how far the boxes and
confidences are apart. ``impostor models check`` prints both; the tests hold them to their
tolerances on faces-dev.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from impostor.errors import NoFaceFound
from impostor.pipeline.verifier import Verifier
from impostor.stages.capture import load_image
from impostor.stages.embed import DlibEmbedder, OnnxEmbedder
from impostor.types import RGBImage

__all__ = [
    "BOX_TOLERANCE",
    "SCORE_TOLERANCE",
    "TOLERANCE",
    "DetectorCheck",
    "EngineCheck",
    "bundled_faces",
    "compare_detectors",
    "compare_engines",
]

TOLERANCE = 1e-5  # the largest difference between the engines' embeddings we accept
BOX_TOLERANCE = 1.0  # pixels between the detectors' box edges (dlib rounds to whole pixels)
SCORE_TOLERANCE = 1e-3  # between their confidences (float32 sums in another order)
_DETECTOR_SIDE = 320  # dlib's CNN takes ~0.4 s on an image this size: the check stays short


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
        """Whether the two engines' embeddings differ by no more than ``TOLERANCE``."""
        return self.max_difference <= TOLERANCE

    def to_dict(self) -> dict[str, object]:
        """The check as ``impostor models check --json`` prints it."""
        return {
            "faces": self.faces,
            "max_difference": self.max_difference,
            "tolerance": TOLERANCE,
            "agrees": self.agrees,
            "onnx_ms_per_face": round(self.onnx_ms, 2),
            "dlib_ms_per_face": round(self.dlib_ms, 2),
            "onnx_provider": self.provider,
        }


@dataclass(frozen=True)
class DetectorCheck:
    """How far the ONNX CNN detector's boxes (pixels) and confidences are from dlib's on
    ``images`` photos holding ``faces`` faces, whether both found the same number of faces in
    each, and the milliseconds an image each took."""

    images: int
    faces: int
    same_count: bool
    max_box_difference: float
    max_score_difference: float
    onnx_ms: float
    dlib_ms: float

    @property
    def agrees(self) -> bool:
        """Whether both detectors found as many faces, with boxes and confidences within tolerance."""
        return (
            self.same_count
            and self.max_box_difference <= BOX_TOLERANCE
            and self.max_score_difference <= SCORE_TOLERANCE
        )

    def to_dict(self) -> dict[str, object]:
        """The check as ``impostor models check --json`` prints it."""
        return {
            "images": self.images,
            "faces": self.faces,
            "same_count": self.same_count,
            "max_box_difference_px": self.max_box_difference,
            "max_score_difference": self.max_score_difference,
            "agrees": self.agrees,
            "onnx_ms_per_image": round(self.onnx_ms, 1),
            "dlib_ms_per_image": round(self.dlib_ms, 1),
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
    from impostor.engine import weights

    provider = weights.onnx_encoder().get_providers()[0]
    return EngineCheck(len(chips), difference, onnx_ms, dlib_ms, provider)


def compare_detectors(images: Sequence[RGBImage] | None = None, upsample: int = 0) -> DetectorCheck:
    """Run dlib's CNN face detector on each image (shrunk to 320 pixels at most) in ONNX Runtime
    and in dlib, and compare what they find. Raises ``ModelFileError`` when the ONNX graph cannot
    be built."""
    from impostor.engine import weights
    from impostor.engine.mmod_onnx import find_faces
    from impostor.stages.detect import resize_longest

    session, detector = weights.cnn_onnx()
    reference = weights.cnn_detector()
    pictures = [resize_longest(image, _DETECTOR_SIDE)[0] for image in (images or bundled_faces())]
    onnx_s = dlib_s = 0.0
    faces, same_count, box_gap, score_gap = 0, True, 0.0, 0.0
    for picture in pictures:
        started = time.perf_counter()
        ours = find_faces(session, picture, upsample, detector)
        onnx_s += time.perf_counter() - started
        started = time.perf_counter()
        theirs = sorted(reference(picture, upsample), key=lambda found: -found.confidence)
        dlib_s += time.perf_counter() - started
        same_count = same_count and len(ours) == len(theirs)
        for box, found in zip(ours, theirs, strict=False):
            rect = found.rect
            edges = (rect.left(), rect.top(), rect.right() + 1, rect.bottom() + 1)
            box_gap = max(
                box_gap,
                *(abs(a - b) for a, b in zip((box.left, box.top, box.right, box.bottom), edges, strict=True)),
            )
            score_gap = max(score_gap, abs(box.score - found.confidence))
        faces += len(theirs)
    count = max(1, len(pictures))
    return DetectorCheck(
        len(pictures), faces, same_count, box_gap, score_gap, onnx_s * 1000 / count, dlib_s * 1000 / count
    )
