"""Reading dlib's face network (``dlib_face_recognition_resnet_model_v1.dat``) layer by layer.

The file is dlib's own serialisation of the trained network, as shipped in
``face_recognition_models``. Its grammar, as this reader understands it:

- an integer is a header byte (low four bits: how many bytes follow; ``0x80``: negative) and then
  that many little-endian bytes; a float is two integers, a mantissa and a base-2 exponent; a
  string is its length and its bytes; a boolean is the character ``0`` or ``1``;
- a tensor is the integer 2, then its four sizes (samples, channels, rows, columns), then its
  values as little-endian float32; an alias of a tensor is the integer 1 and four sizes;
- the file opens with the loss layer (``loss_metric_2`` and its margin and distance threshold),
  then one version number per layer of the network from the output inwards (tags and skips
  included), then the input layer (``input_rgb_image_sized``: the mean of each colour, the chip
  size), then each layer's details from the input to the output, each followed by three state
  flags and three empty training tensors (the first layer also the integer 1).

Layer tags are not stored: the residual topology is the architecture's (dlib's
``dnn_face_recognition_ex.cpp``), and ``read_network`` checks that the file holds exactly that
network, layer by layer, and ends exactly after its last byte. Anything else is refused with a
``ModelFileError`` naming the file, the byte offset and what was expected.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from impostor.errors import ModelFileError

__all__ = [
    "EXPECTED",
    "EXPECTED_LAYERS",
    "Affine",
    "Conv",
    "Dense",
    "Layer",
    "Marker",
    "Network",
    "Pool",
    "read_network",
]

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


@dataclass(frozen=True)
class Pool:
    """Average or max pooling; ``size`` 0 averages over the whole map."""

    kind: str  # "avg" or "max"
    size: int
    stride: int
    padding: int


@dataclass(frozen=True)
class Marker:
    """A layer without parameters: ``relu`` or ``add_prev`` (a residual sum)."""

    kind: str


@dataclass(frozen=True, eq=False)
class Dense:
    """The last layer: ``weights`` shaped (inputs, outputs), no bias."""

    weights: Floats


Layer = Conv | Affine | Pool | Marker | Dense


@dataclass(frozen=True, eq=False)
class Network:
    """The network read from a file: its input's per-colour mean and size, and its layers from
    input to output. ``sha256`` is the file's digest."""

    mean: tuple[float, float, float]
    size: int
    layers: tuple[Layer, ...]
    sha256: str
    source: Path


def _expected() -> tuple[tuple[str, tuple[int, ...]], ...]:
    """dlib's face ResNet from input to output: each layer's name and its geometry, (filters,
    kernel, stride, padding) for a convolution and (size, stride, padding) for a pooling."""
    stem = [("con_4", (32, 7, 2, 0)), ("affine_", ()), ("relu_", ()), ("max_pool_2", (3, 2, 0))]

    def block(filters: int, down: bool) -> list[tuple[str, tuple[int, ...]]]:
        first = (filters, 3, 2, 0) if down else (filters, 3, 1, 1)  # dlib pads only stride 1
        pool = [("avg_pool_2", (2, 2, 0))] if down else []
        return [
            ("con_4", first),
            ("affine_", ()),
            ("relu_", ()),
            ("con_4", (filters, 3, 1, 1)),
            ("affine_", ()),
            *pool,
            ("add_prev_", ()),
            ("relu_", ()),
        ]

    body = []
    for filters, down, count in (
        (32, False, 3),
        (64, True, 4),
        (128, True, 3),
        (256, True, 3),
        (256, True, 1),
    ):
        body += block(filters, down)
        for _ in range(count - 1):
            body += block(filters, False)
    return (*stem, *body, ("avg_pool_2", (0, 1, 0)), ("fc_2", (128,)))  # size 0: the whole map


EXPECTED = _expected()
EXPECTED_LAYERS = tuple(name for name, _ in EXPECTED)
_VERSIONS = 129  # layers above the first (129 of 130: 108 with details, 18 tags, 4 skips); it says 3


class _Reader:
    def __init__(self, data: bytes, source: Path) -> None:
        self.data, self.source, self.at = data, source, 0

    def fail(self, what: str) -> ModelFileError:
        return ModelFileError(
            f"{self.source}: not dlib's face network ({what} at byte {self.at:,}); "
            "reinstall face_recognition_models"
        )

    def integer(self) -> int:
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
        mantissa, exponent = self.integer(), self.integer()
        if not -1100 < exponent < 1100:
            raise self.fail("a malformed number")
        return float(mantissa * 2.0**exponent)

    def text(self) -> str:
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
        found = self.text()
        if found != name:
            raise self.fail(f"{found!r} where {name!r} was expected")

    def sizes(self) -> tuple[int, int, int, int]:
        found = (self.integer(), self.integer(), self.integer(), self.integer())
        if any(size < 0 or size > 1 << 20 for size in found):
            raise self.fail("impossible tensor sizes")
        return found

    def tensor(self) -> tuple[tuple[int, int, int, int], Floats]:
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
        """Rows, columns, strides and paddings: the square ones this network has."""
        rows, columns, stride_y, stride_x, pad_y, pad_x = (self.integer() for _ in range(6))
        if rows != columns or stride_y != stride_x or pad_y != pad_x:
            raise self.fail("a window that is not square")
        return rows, stride_y, pad_y


def read_network(path: Path) -> Network:
    """The network in ``path``, checked to be dlib's face ResNet. Raises ``ModelFileError``."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ModelFileError(f"{path}: cannot be read ({error.strerror or error})") from None
    reader = _Reader(data, path)
    if reader.integer() != 1:
        raise reader.fail("an unknown file version")
    reader.expect("loss_metric_2")
    reader.real(), reader.real()  # the training margin and distance threshold: not used here
    versions = [reader.integer() for _ in range(_VERSIONS)]
    if any(version not in (1, 2) for version in versions) or reader.integer() != 3:
        raise reader.fail("a network of another shape")
    reader.expect("input_rgb_image_sized")
    mean = (reader.real(), reader.real(), reader.real())
    rows, columns = reader.integer(), reader.integer()
    if rows != columns or rows != 150:
        raise reader.fail(f"an input of {rows}×{columns} instead of 150×150")
    layers: list[Layer] = []
    channels = 3
    for index, (expected, geometry) in enumerate(EXPECTED):
        reader.expect(expected)
        layer, channels = _layer(reader, expected, channels)
        if _geometry(layer) != geometry:
            raise reader.fail(f"layer {index + 1} ({expected}) shaped {_geometry(layer)}, not {geometry}")
        reader.flags()
        if index == 0 and reader.integer() != 1:  # the first layer also keeps its input's expansion
            raise reader.fail("a first layer of another kind")
        layers.append(layer)
    if reader.at != len(data):
        raise reader.fail(f"{len(data) - reader.at:,} bytes after the last layer")
    return Network(mean, rows, tuple(layers), hashlib.sha256(data).hexdigest(), path)


def _geometry(layer: Layer) -> tuple[int, ...]:
    if isinstance(layer, Conv):
        return (layer.filters.shape[0], layer.filters.shape[2], layer.stride, layer.padding)
    if isinstance(layer, Pool):
        return (layer.size, layer.stride, layer.padding)
    if isinstance(layer, Dense):
        return (layer.weights.shape[1],)
    return ()


def _layer(reader: _Reader, name: str, channels: int) -> tuple[Layer, int]:
    """One layer's details; returns it and the number of channels it puts out."""
    if name == "con_4":
        shape, values = reader.tensor()
        filters, size, _, stride, _, padding, _ = (reader.integer() for _ in range(7))
        kernel = reader.alias()
        biases = reader.alias()
        for _ in range(4):
            reader.real()  # learning-rate and weight-decay multipliers
        weights = filters * channels * size * size
        if kernel != (filters, channels, size, size) or biases != (1, filters, 1, 1):
            raise reader.fail(f"a convolution of {kernel} after {channels} channels")
        if shape[0] != weights + filters or shape[1:] != (1, 1, 1):
            raise reader.fail("a convolution whose parameters do not fit its filters")
        conv = Conv(values[:weights].reshape(kernel), values[weights:], stride, padding)
        return conv, filters
    if name == "affine_":
        shape, values = reader.tensor()
        gamma, beta = reader.alias(), reader.alias()
        reader.integer()  # the mode: per channel for this network
        if shape != (2 * channels, 1, 1, 1) or gamma != beta or gamma[1] != channels:
            raise reader.fail(f"a scale and shift that does not fit {channels} channels")
        return Affine(values[:channels], values[channels:]), channels
    if name in ("avg_pool_2", "max_pool_2"):
        size, stride, padding = reader.window()
        return Pool(name[:3], size, stride, padding), channels
    if name in ("relu_", "add_prev_"):
        return Marker(name.rstrip("_")), channels
    outputs, inputs = reader.integer(), reader.integer()  # fc_2
    shape, values = reader.tensor()
    reader.alias(), reader.alias()  # the weights, and the bias this layer does not have
    reader.integer()  # the bias mode: none
    for _ in range(4):
        reader.real()
    if inputs != channels or shape != (inputs, outputs, 1, 1):
        raise reader.fail(f"a last layer of {shape} after {channels} channels")
    return Dense(values.reshape(inputs, outputs)), outputs
