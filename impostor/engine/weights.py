"""dlib's model files: where they are, and loading each one once, on first use.

The files ship in the ``face_recognition_models`` package. We locate them without importing
that package (its ``__init__`` pulls in ``pkg_resources``) and without importing
``face_recognition`` (which loads all four models, 68-point and CNN included, at import).
Only the 5-point landmark model is used: the 68-point one was trained on data whose terms
forbid commercial use.
"""

from __future__ import annotations

import functools
import importlib.util
import threading
from pathlib import Path
from typing import Any

from impostor.errors import ImpostorError

__all__ = [
    "cnn_detector",
    "cnn_onnx",
    "encoder",
    "encoder_loaded",
    "hog_detector",
    "model_path",
    "onnx_encoder",
    "providers",
    "shape_predictor",
]

_lock = threading.Lock()


@functools.cache
def _models_dir() -> Path:
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ImpostorError(
            "the face_recognition_models package is not installed: run `uv sync` in the project"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def model_path(filename: str) -> Path:
    """The path of dlib's model file ``filename``; raises ``ImpostorError`` when it is not installed."""
    path = _models_dir() / filename
    if not path.is_file():
        raise ImpostorError(f"dlib model file missing: {path}; reinstall face_recognition_models")
    return path


def _once(load: Any) -> Any:
    """Cache a loader, and make concurrent first calls load it only once."""
    cached = functools.cache(load)

    @functools.wraps(load)
    def wrapper() -> Any:
        with _lock:
            return cached()

    wrapper.loaded = lambda: cached.cache_info().currsize > 0  # type: ignore[attr-defined]
    return wrapper


def _per_thread(load: Any) -> Any:
    """Cache a loader once per thread: dlib's detectors keep scratch state and are not
    safe to share between threads (concurrent use corrupts memory)."""
    local = threading.local()

    @functools.wraps(load)
    def wrapper() -> Any:
        model = getattr(local, "model", None)
        if model is None:
            model = local.model = load()
        return model

    return wrapper


@_per_thread
def hog_detector() -> Any:
    """dlib's HOG frontal face detector, one per thread (dlib's objects are not thread-safe)."""
    import dlib

    return dlib.get_frontal_face_detector()


@_per_thread
def cnn_detector() -> Any:
    """dlib's MMOD CNN face detector, loaded on first use, one per thread."""
    import dlib

    return dlib.cnn_face_detection_model_v1(str(model_path("mmod_human_face_detector.dat")))


@_per_thread
def shape_predictor() -> Any:
    """dlib's 5-point landmark predictor, loaded on first use, one per thread."""
    import dlib

    return dlib.shape_predictor(str(model_path("shape_predictor_5_face_landmarks.dat")))


@_once
def encoder() -> Any:
    """dlib's face ResNet (128-d embeddings), loaded once on first use."""
    import dlib

    return dlib.face_recognition_model_v1(str(model_path("dlib_face_recognition_resnet_model_v1.dat")))


@_once
def onnx_encoder() -> Any:
    """dlib's face network as an ONNX Runtime session (``impostor.engine.resnet_onnx``), one thread a
    call: callers run calls in parallel, since a call lets go of Python's lock."""
    import onnxruntime

    from impostor.engine.resnet_onnx import RESNET_FILE, graph_file

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only: its warnings would reach a counter's console
    return onnxruntime.InferenceSession(
        str(graph_file(model_path(RESNET_FILE))), options, providers=providers()
    )


@_once
def cnn_onnx() -> tuple[Any, Any]:
    """dlib's CNN face detector as an ONNX Runtime session (``impostor.engine.mmod_onnx``), with the
    detector read from its file (its window and suppression test). Each call may use both cores:
    the CNN runs only where HOG found nothing, while the other side of a comparison is done."""
    import onnxruntime

    from impostor.engine.mmod_dat import read_detector
    from impostor.engine.mmod_onnx import DETECTOR_FILE, graph_file

    source = model_path(DETECTOR_FILE)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 2
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(str(graph_file(source)), options, providers=providers())
    return session, read_detector(source)


def providers() -> list[str]:
    """ONNX Runtime's execution providers for the ``device`` setting (``IMPOSTOR_DEVICE``).

    Raises ``ConfigError`` for an unknown device, or ``cuda`` where ONNX Runtime has no CUDA.
    """
    import onnxruntime

    from impostor import settings
    from impostor.errors import ConfigError

    device = str(settings.get("device")).strip().lower()
    has_cuda = "CUDAExecutionProvider" in onnxruntime.get_available_providers()
    if device == "cpu" or (device == "auto" and not has_cuda):
        return ["CPUExecutionProvider"]
    if device in ("cuda", "auto") and has_cuda:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    if device == "cuda":
        raise ConfigError(
            "IMPOSTOR_DEVICE=cuda, but ONNX Runtime has no CUDA here: install impostor[gpu] "
            "(onnxruntime-gpu, CUDA 12) on a machine with an NVIDIA GPU, or use cpu"
        )
    raise ConfigError(f"IMPOSTOR_DEVICE={device!r} is not a device: give cpu, cuda or auto")


def encoder_loaded() -> bool:
    """Whether this process has loaded dlib's face network, in either engine (a warm service has)."""
    return bool(encoder.loaded() or onnx_encoder.loaded())
