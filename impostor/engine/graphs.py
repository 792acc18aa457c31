"""The cache of ONNX graphs built from dlib's weights files.

A graph is built on first use into the cache folder (``IMPOSTOR_CACHE``), named by its kind, the
weights file's SHA-256 and its converter's version, so a changed weights file or a new converter
gets a new graph and a stale one is never used. Graphs are written whole (a temporary file, then
a rename), so two processes building at once both end with a complete file. Nothing is
downloaded.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

from impostor import settings
from impostor.errors import ModelFileError

__all__ = ["OPSET", "cached_graph", "file_sha256", "finished_model"]

OPSET = 17  # every onnxruntime since 1.14 runs it
_lock = threading.Lock()


class _Read(Protocol):
    """What a reader makes of a weights file: at least the file's SHA-256."""

    @property
    def sha256(self) -> str: ...


_N = TypeVar("_N", bound=_Read)


def cached_graph(
    source: Path,
    kind: str,
    version: int,
    read: Callable[[Path], _N],
    build: Callable[[_N], bytes],
    *,
    rebuild: bool = False,
) -> Path:
    """The graph of ``kind`` for the weights file ``source``: from the cache, or ``build`` of
    what ``read`` makes of the file, stored there; ``rebuild`` makes it again.

    Raises ``ModelFileError`` when ``source`` cannot be read, ``read`` refuses it, it changes
    while it is read, or the graph cannot be written.
    """
    digest = file_sha256(source)
    folder = Path(str(settings.get("cache_dir"))).expanduser() / "models"
    target = folder / f"{kind}-{digest[:16]}-c{version}.onnx"
    with _lock:
        if target.is_file() and not rebuild:
            return target
        network = read(source)
        if network.sha256 != digest:
            raise ModelFileError(f"{source} changed while it was read; try again")
        data = build(network)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(prefix=f".{kind}-", suffix=".onnx", dir=folder)
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
            os.replace(temporary, target)
        except OSError as error:
            raise ModelFileError(
                f"cannot write the {kind} ONNX graph to {folder}: {error.strerror or error}; "
                "set IMPOSTOR_CACHE to a writable folder"
            ) from None
    return target


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, read a megabyte at a time. Raises ``ModelFileError``."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError as error:
        raise ModelFileError(f"{path}: cannot be read ({error.strerror or error})") from None
    return digest.hexdigest()


def finished_model(graph: Any, version: int, doc: str) -> bytes:
    """An ONNX graph made into a checked model of this project's opset, serialised."""
    import onnx
    from onnx import helper

    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="impostor",
        producer_version=str(version),
        doc_string=doc,
    )
    model.ir_version = 8  # what every onnxruntime since 1.14 reads
    onnx.checker.check_model(model)
    return bytes(model.SerializeToString())
