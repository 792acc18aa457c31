"""A helper process that embeds face chips for ``impostor.stages.embed.PooledEmbedder``.

Run as ``python -m impostor.stages._embed_worker``; it speaks a small binary protocol on its
standard streams so that nothing of the caller's ``__main__`` is ever re-imported:

- after loading the model it writes one byte, ``R``;
- request: ``<II`` (number of chips n, jitters), then n × 150 × 150 × 3 bytes of RGB chips;
- reply: n × 128 little-endian float64.

It exits when its standard input closes (the parent ended, or closed it).
"""

from __future__ import annotations

import struct
import sys
from typing import BinaryIO

import numpy as np

from impostor.stages.embed import CHIP_BYTES, DlibEmbedder


def _read_exactly(stream: BinaryIO, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = stream.read(size - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return bytes(data)


def main() -> None:
    """Serve embedding requests on the standard streams until standard input closes."""
    source, sink = sys.stdin.buffer, sys.stdout.buffer
    embedder = DlibEmbedder()
    embedder.embed([np.zeros((150, 150, 3), np.uint8)])  # load the model before saying ready
    sink.write(b"R")
    sink.flush()
    while True:
        try:
            count, jitters = struct.unpack("<II", _read_exactly(source, 8))
            raw = _read_exactly(source, count * CHIP_BYTES)
        except EOFError:
            return
        chips = np.frombuffer(raw, dtype=np.uint8).reshape(count, 150, 150, 3)
        vectors = embedder.embed(list(chips), jitters)
        sink.write(np.ascontiguousarray(vectors, dtype="<f8").tobytes())
        sink.flush()


if __name__ == "__main__":
    main()
