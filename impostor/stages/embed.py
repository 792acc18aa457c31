"""Embed: dlib's 128-d ResNet (the model face_recognition uses) on aligned chips.

``Embedder`` is the seam: anything with an ``embed`` method of this shape can stand in for the
model (tests use it to put a fake behind the pipeline without patching). Two engines run the
same network with the same weights:

- ``OnnxEmbedder`` (the default): the network rebuilt as an ONNX graph from dlib's own weights
  file (``impostor.engine.resnet_onnx``) and run by ONNX Runtime, about 6 ms a chip on one core, with
  Python's lock released, so threads use every core. Its embeddings equal dlib's to within 1e-6.
- ``DlibEmbedder``: dlib itself, the reference. dlib holds Python's lock while it embeds and the
  ``dlib-bin`` wheel has no BLAS, so one chip costs about 57 ms on one core however many threads
  ask; ``PooledEmbedder`` puts the second core to work for a comparison's two chips by sending
  one of them to a helper process.

``default_embedder`` gives the engine the ``engine`` setting (``IMPOSTOR_ENGINE``) names.
"""

from __future__ import annotations

import atexit
import struct
import subprocess
import sys
import threading
from collections.abc import Sequence
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from impostor.engine import weights
from impostor.types import RGBImage

__all__ = [
    "CHIP_BYTES",
    "ENGINES",
    "DlibEmbedder",
    "EMBEDDING_MODEL",
    "Embedder",
    "OnnxEmbedder",
    "PooledEmbedder",
    "GREY_SPREAD",
    "default_embedder",
    "embed_chips",
    "grey_chip",
    "is_grey_chip",
    "jittered",
    "service_embedder",
]

EMBEDDING_MODEL = "dlib_face_recognition_resnet_model_v1"
CHIP_BYTES = 150 * 150 * 3


class Embedder(Protocol):
    """``name`` says the model; an embedder may also say ``parallel = True`` when calls from
    several threads run at once (it lets go of Python's lock), and is then called per face."""

    name: str

    def embed(self, chips: Sequence[RGBImage], jitters: int = 0) -> NDArray[np.float64]:
        """Embeddings of aligned 150 × 150 RGB chips, shaped ``(len(chips), 128)``."""
        ...


ENGINES = ("onnx", "dlib")
_BATCH = 32  # chips a run: larger batches gain nothing on a CPU and cost memory


class OnnxEmbedder:
    """dlib's ResNet run by ONNX Runtime; the graph is built (once, into the cache) and loaded on
    the first call and kept. ``jitters`` > 1 averages each chip's embedding over that many
    perturbed copies (``jittered``), all in batches."""

    name = EMBEDDING_MODEL
    engine = "onnx"
    parallel = True  # lets go of Python's lock: callers' threads embed at once

    def embed(self, chips: Sequence[RGBImage], jitters: int = 0) -> NDArray[np.float64]:
        """Embeddings shaped ``(len(chips), 128)`` (see ``Embedder.embed``), in batches of 32."""
        if not chips:
            return np.empty((0, 128))
        if jitters > 1:  # as dlib: 0 and 1 both mean the chip as it is
            copies = [copy for chip in chips for copy in jittered(chip, jitters)]
            return self.embed(copies).reshape(len(chips), jitters, -1).mean(axis=1)
        session = weights.onnx_encoder()
        stacked = np.stack([np.asarray(chip, dtype=np.float32) for chip in chips])  # the graph normalises
        out = [
            session.run(None, {"chips": stacked[start : start + _BATCH]})[0]
            for start in range(0, len(stacked), _BATCH)
        ]
        return np.concatenate(out).astype(np.float64)


def jittered(chip: RGBImage, count: int) -> list[RGBImage]:
    """``count`` perturbed copies of an aligned chip, drawn as dlib's ``jitter_image`` draws them:
    the face's square (the chip less 3 pixels a side) moved by up to 2% of its size, enlarged by
    up to 3%, turned by up to 3 degrees, and mirrored half the time. The draws are the same for
    every chip (a fresh generator with one seed, as dlib makes a fresh one per call), so both
    sides of a comparison are perturbed alike and a result can be repeated."""
    import cv2

    size = chip.shape[0]
    rng = np.random.default_rng(0)
    inner = size - 6  # dlib's shrink_rect(chip, 3)
    centre = (size - 1) / 2
    copies = []
    for _ in range(count):
        shift = rng.uniform(-0.02, 0.02, 2) * inner
        box = int(inner / rng.uniform(0.97, 0.99999))
        angle = rng.uniform(-3.0, 3.0)
        scale = box / size  # input pixels per chip pixel
        # the chip's centre goes to the moved centre; the chip is the box turned by ``angle``
        turn = cv2.getRotationMatrix2D((centre, centre), angle, scale)
        turn[:, 2] += np.round(shift)
        crop = cv2.warpAffine(
            chip,
            turn,
            (size, size),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_CONSTANT,
        )
        if rng.random() > 0.5:
            crop = np.ascontiguousarray(crop[:, ::-1])
        copies.append(crop)
    return copies


# a chip whose channels differ by less than this on average (grey levels) is a grey picture: an
# engraved or grey-printed portrait, scanned in colour or not
GREY_SPREAD = 2.0


def is_grey_chip(chip: RGBImage) -> bool:
    """Whether an aligned chip is a grey picture (its channels alike, up to a scanner's noise)."""
    wide = chip.astype(np.int16)
    spread = np.abs(wide[..., 0] - wide[..., 1]).mean() + np.abs(wide[..., 1] - wide[..., 2]).mean()
    return bool(spread / 2 < GREY_SPREAD)


def grey_chip(chip: RGBImage) -> RGBImage:
    """The chip in grey (Rec. 601 luma in all three channels), as a grey portrait shows it."""
    import cv2

    return np.ascontiguousarray(cv2.cvtColor(cv2.cvtColor(chip, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB))


def embed_chips(
    embedder: Embedder, chips: Sequence[RGBImage], *, jitters: int = 0, flip: bool = False, grey: bool = False
) -> NDArray[np.float64]:
    """The embeddings of aligned chips, shaped ``(len(chips), 128)``: in grey with ``grey``
    (``grey_chip``, which leaves a grey chip as it is), and with ``flip`` the mean of each chip's
    and its mirror image's, embedded in one batch. Every embedding the pipeline makes comes from
    here, so that a profile fitted with one choice is used with the same."""
    chips = [grey_chip(chip) for chip in chips] if grey else list(chips)
    if not chips:
        return np.empty((0, 128))
    if flip:
        # the mean of a face and its mirror image: twice the cost, fewer errors on LFW
        # (View 2 accuracy 98.9% → 99.1%)
        both = embedder.embed(chips + [np.ascontiguousarray(c[:, ::-1]) for c in chips], jitters)
        return np.asarray((both[: len(chips)] + both[len(chips) :]) / 2, dtype=np.float64)
    return embedder.embed(chips, jitters)


def default_embedder() -> Embedder:
    """The engine the ``engine`` setting names (``onnx`` unless ``IMPOSTOR_ENGINE`` says ``dlib``)."""
    from impostor import settings
    from impostor.errors import ConfigError

    engine = str(settings.get("engine")).strip().lower()
    if engine == "onnx":
        return OnnxEmbedder()
    if engine == "dlib":
        return DlibEmbedder()
    raise ConfigError(f"IMPOSTOR_ENGINE={engine!r} is not an engine: give one of {', '.join(ENGINES)}")


def service_embedder() -> Embedder:
    """The engine for a process that makes many comparisons (a station, repeated ``verify()``):
    dlib's gets a helper process for the second core; ONNX Runtime's threads need none."""
    embedder = default_embedder()
    return PooledEmbedder() if isinstance(embedder, DlibEmbedder) else embedder


class DlibEmbedder:
    """dlib's ResNet; the model file is loaded on the first call and kept."""

    name = EMBEDDING_MODEL
    engine = "dlib"

    def embed(self, chips: Sequence[RGBImage], jitters: int = 0) -> NDArray[np.float64]:
        """Embeddings shaped ``(len(chips), 128)`` (see ``Embedder.embed``), by dlib itself."""
        if not chips:
            return np.empty((0, 128))
        model = weights.encoder()
        batch = [np.ascontiguousarray(chip) for chip in chips]
        descriptors = model.compute_face_descriptor(batch, int(jitters))
        return np.array([np.asarray(d, dtype=np.float64) for d in descriptors])


class PooledEmbedder:
    """dlib's ResNet on this process and one helper process at once.

    The helper starts in the background when the embedder is made; until it has loaded its
    model (about a second), and whenever it is busy or has failed, everything is embedded
    here, so a caller never waits for it. With two or more chips, the first half goes to the
    helper while this process embeds the rest. Worth it for a long-running process that
    makes many comparisons; a one-shot command should use ``DlibEmbedder``.
    """

    name = EMBEDDING_MODEL
    engine = "dlib"

    def __init__(self) -> None:
        self._local = DlibEmbedder()
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._process: subprocess.Popen[bytes] | None = None
        threading.Thread(target=self._start, name="impostor-embed-worker", daemon=True).start()

    def _start(self) -> None:
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "impostor.stages._embed_worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        except OSError:
            return
        self._process = process
        atexit.register(self.close)
        assert process.stdout is not None
        if process.stdout.read(1) == b"R":
            self._ready.set()
        else:
            self.close()

    def embed(self, chips: Sequence[RGBImage], jitters: int = 0) -> NDArray[np.float64]:
        """Embeddings shaped ``(len(chips), 128)`` (see ``Embedder.embed``): half of two or
        more chips in the helper process while it is ready, else all here."""
        if len(chips) < 2 or not self._ready.is_set() or not self._lock.acquire(blocking=False):
            return self._local.embed(chips, jitters)
        try:
            half = len(chips) // 2
            sent = self._send(chips[:half], jitters)
            here = self._local.embed(chips[half:], jitters)
            there = self._receive(half) if sent else None
            if there is None:
                there = self._local.embed(chips[:half], jitters)
            return np.vstack([there, here])
        finally:
            self._lock.release()

    def _send(self, chips: Sequence[RGBImage], jitters: int) -> bool:
        process = self._process
        if process is None or process.stdin is None:
            return False
        if process.poll() is not None:
            self._broken()
            return False
        payload = b"".join(np.ascontiguousarray(chip, dtype=np.uint8).tobytes() for chip in chips)
        if len(payload) != len(chips) * CHIP_BYTES:
            return False
        try:
            process.stdin.write(struct.pack("<II", len(chips), int(jitters)) + payload)
            process.stdin.flush()
        except OSError:
            self._broken()
            return False
        return True

    def _receive(self, count: int) -> NDArray[np.float64] | None:
        process = self._process
        if process is None or process.stdout is None:
            return None
        size = count * 128 * 8
        data = process.stdout.read(size)
        if len(data) != size:
            self._broken()
            return None
        return np.frombuffer(data, dtype="<f8").reshape(count, 128).astype(np.float64)

    def _broken(self) -> None:
        # a dead helper costs speed, never an answer: carry on locally from now on
        self._ready.clear()
        self.close()

    def close(self) -> None:
        """Stop the helper process (it also stops by itself when this process ends)."""
        process, self._process = self._process, None
        if process is None:
            return
        self._ready.clear()
        try:
            if process.stdin is not None:
                process.stdin.close()
            process.wait(timeout=2)
        except (OSError, subprocess.TimeoutExpired):
            process.kill()
