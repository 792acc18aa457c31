"""Reading dlib's face network (``dlib_face_recognition_resnet_model_v1.dat``) layer by layer.

The file is dlib's own serialisation of the trained network, as shipped in
``face_recognition_models``, in the grammar ``impostor.engine.dlib_dat`` reads. Its layout:

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

from dataclasses import dataclass
from pathlib import Path

from impostor.engine.dlib_dat import Affine, Conv, DatReader, Floats

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


def read_network(path: Path) -> Network:
    """The network in ``path``, checked to be dlib's face ResNet. Raises ``ModelFileError``."""
    reader = DatReader.open(path, "dlib's face network", "loss_metric_2")
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
    if reader.at != len(reader.data):
        raise reader.fail(f"{len(reader.data) - reader.at:,} bytes after the last layer")
    return Network(mean, rows, tuple(layers), reader.sha256, path)


def _geometry(layer: Layer) -> tuple[int, ...]:
    if isinstance(layer, Conv):
        return (layer.filters.shape[0], layer.filters.shape[2], layer.stride, layer.padding)
    if isinstance(layer, Pool):
        return (layer.size, layer.stride, layer.padding)
    if isinstance(layer, Dense):
        return (layer.weights.shape[1],)
    return ()


def _layer(reader: DatReader, name: str, channels: int) -> tuple[Layer, int]:
    """One layer's details; returns it and the number of channels it puts out."""
    if name == "con_4":
        conv = reader.conv(channels)
        return conv, conv.filters.shape[0]
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
