"""Reading dlib's serialised networks: the grammar every ``.dat`` file of dlib's DNN shares.

- an integer is a header byte (low four bits: how many bytes follow; ``0x80``: negative) and then
  that many little-endian bytes; a float is two integers, a mantissa and a base-2 exponent; a
  string is its length and its bytes; a boolean is the character ``0`` or ``1``;
- a tensor is the integer 2, then its four sizes (samples, channels, rows, columns), then its
  values as little-endian float32; an alias of a tensor is the integer 1 and four sizes;
- each layer's details are followed by three state flags and three empty training tensors.

``impostor.engine.resnet_dat`` (the face network) and ``impostor.engine.mmod_dat`` (the CNN face detector)
read their files' layers with a ``DatReader`` and check each against the architecture they
expect.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from impostor.errors import ModelFileError

__all__ = ["Affine", "Conv", "DatReader", "Floats"]

Floats = NDArray[np.float32]


@dataclass(frozen=True, eq=False)
class Conv:
    """A convolution: ``filters`` shaped (out, in, rows, columns), one bias per filter."""

    filters: Floats
    bias: Floats
    stride: int
    padding: int


@dataclass(frozen=True, eq=False)
class Affine:
    """dlib's per-channel scale and shift (batch normalisation frozen after training)."""

    gamma: Floats
    beta: Floats


class DatReader:
    """A cursor over one dlib file; every malformed value is a ``ModelFileError`` naming the
    file, what the file should hold (``kind``, say "dlib's face network") and the byte."""

    def __init__(self, data: bytes, source: Path, kind: str) -> None:
        self.data, self.source, self.kind, self.at = data, source, kind, 0

    @classmethod
    def open(cls, path: Path, kind: str, loss: str) -> DatReader:
        """A reader over the file at ``path``, past its opening: the file's version and the name
        of the loss layer ``loss`` that every network of dlib's begins with."""
        try:
            data = path.read_bytes()
        except OSError as error:
            raise ModelFileError(f"{path}: cannot be read ({error.strerror or error})") from None
        reader = cls(data, path, kind)
        if reader.integer() != 1:
            raise reader.fail("an unknown file version")
        reader.expect(loss)
        return reader

    @property
    def sha256(self) -> str:
        """SHA-256 of the whole file, as 64 hex digits."""
        return hashlib.sha256(self.data).hexdigest()

    def fail(self, what: str) -> ModelFileError:
        """A ``ModelFileError`` naming the file, what was wrong and the byte it was found at (to raise)."""
        return ModelFileError(
            f"{self.source}: not {self.kind} ({what} at byte {self.at:,}); reinstall face_recognition_models"
        )

    def integer(self) -> int:
        """The next integer in dlib's variable-length encoding; raises ``ModelFileError`` when malformed."""
        if self.at >= len(self.data):
            raise self.fail("the file ends early")
        header = self.data[self.at]
        size = header & 0x0F
        if size > 8 or header & 0x70:
            raise self.fail(f"a malformed number (header byte {header:#04x})")
        end = self.at + 1 + size
        if end > len(self.data):
            raise self.fail("the file ends early")
        value = int.from_bytes(self.data[self.at + 1 : end], "little")
        self.at = end
        return -value if header & 0x80 else value

    def real(self) -> float:
        """The next float (mantissa and power-of-two exponent); raises ``ModelFileError`` when malformed."""
        mantissa, exponent = self.integer(), self.integer()
        if not -1100 < exponent < 1100:
            raise self.fail("a malformed number")
        return float(mantissa * 2.0**exponent)

    def text(self) -> str:
        """The next short ASCII name (a layer's); raises ``ModelFileError`` when malformed."""
        length = self.integer()
        if not 0 < length < 64 or self.at + length > len(self.data):
            raise self.fail("a malformed name")
        raw = self.data[self.at : self.at + length]
        self.at += length
        try:
            return raw.decode("ascii")
        except UnicodeDecodeError:
            raise self.fail("a malformed name") from None

    def expect(self, name: str) -> None:
        """Read the next name; raises ``ModelFileError`` unless it is ``name``."""
        found = self.text()
        if found != name:
            raise self.fail(f"{found!r} where {name!r} was expected")

    def sizes(self) -> tuple[int, int, int, int]:
        """A tensor's four sizes (samples, channels, rows, columns); raises ``ModelFileError`` when absurd."""
        found = (self.integer(), self.integer(), self.integer(), self.integer())
        if any(size < 0 or size > 1 << 20 for size in found):
            raise self.fail("impossible tensor sizes")
        return found

    def tensor(self) -> tuple[tuple[int, int, int, int], Floats]:
        """The next tensor: its four sizes and its values as float32; raises ``ModelFileError`` when cut."""
        if self.integer() != 2:
            raise self.fail("a tensor of an unknown version")
        shape = self.sizes()
        count = int(np.prod(shape))
        end = self.at + 4 * count
        if end > len(self.data):
            raise self.fail("the file ends inside a tensor")
        values = np.frombuffer(self.data, "<f4", count, self.at).astype(np.float32)
        self.at = end
        return shape, values

    def alias(self) -> tuple[int, int, int, int]:
        """The sizes of a tensor alias (it holds no values); raises ``ModelFileError`` when malformed."""
        if self.integer() != 1:
            raise self.fail("a tensor alias of an unknown version")
        return self.sizes()

    def flags(self) -> None:
        """A layer's three state flags and its three (empty) training tensors."""
        for _ in range(3):
            if self.at >= len(self.data) or self.data[self.at] not in b"01":
                raise self.fail("malformed layer state")
            self.at += 1
        for _ in range(3):
            shape, _ = self.tensor()
            if any(shape):
                raise self.fail("a trained network with training state left in it")

    def window(self) -> tuple[int, int, int]:
        """Rows, columns, strides and paddings, all square (as in dlib's face networks)."""
        rows, columns, stride_y, stride_x, pad_y, pad_x = (self.integer() for _ in range(6))
        if rows != columns or stride_y != stride_x or pad_y != pad_x:
            raise self.fail("a window that is not square")
        return rows, stride_y, pad_y

    def conv(self, channels: int) -> Conv:
        """A ``con_4`` layer's details after ``channels`` input channels."""
        shape, values = self.tensor()
        filters, size, columns, stride, stride_x, padding, padding_x = (self.integer() for _ in range(7))
        kernel = self.alias()
        biases = self.alias()
        for _ in range(4):
            self.real()  # learning-rate and weight-decay multipliers
        if size != columns or stride != stride_x or padding != padding_x:
            raise self.fail("a convolution window that is not square")
        weights = filters * channels * size * size
        if kernel != (filters, channels, size, size) or biases != (1, filters, 1, 1):
            raise self.fail(f"a convolution of {kernel} after {channels} channels")
        if shape[0] != weights + filters or shape[1:] != (1, 1, 1):
            raise self.fail("a convolution whose parameters do not fit its filters")
        return Conv(values[:weights].reshape(kernel), values[weights:], stride, padding)
