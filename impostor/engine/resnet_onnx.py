"""dlib's face network as an ONNX graph, built from dlib's own weights file, and run by ONNX Runtime.

``build_graph`` turns the ``Network`` that ``impostor.engine.resnet_dat`` read into an ONNX model:
each convolution with the per-channel scale and shift after it folded into its weights, ReLUs,
the max and average poolings, the residual sums and the last dense layer. Where a down-sampling
block's two branches differ in size (its stride-2 convolution is not padded) or in channels,
the smaller is padded with zeros at its end before the sum, as dlib does. The graph's input is a
batch of aligned chips as they are, 150 × 150 RGB pixels (0-255) as float32; it normalises them
as dlib's input layer does, ``(pixel - mean) / 256`` in colour planes, with the mean read from
the weights file.

``graph_file`` builds the graph on first use into the cache folder (``IMPOSTOR_CACHE``), named
by the weights file's SHA-256 and ``CONVERTER_VERSION``, so a changed weights file or a new
converter gets a new graph and a stale one is never used. Nothing is downloaded.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from impostor.engine.graphs import cached_graph, finished_model
from impostor.engine.resnet_dat import Affine, Conv, Dense, Marker, Network, Pool, read_network
from impostor.errors import ModelFileError

__all__ = ["CONVERTER_VERSION", "RESNET_FILE", "build_graph", "graph_file"]

CONVERTER_VERSION = 2  # bump when the graph this module builds changes (2: it normalises its input)
RESNET_FILE = "dlib_face_recognition_resnet_model_v1.dat"
Shape = tuple[int, int, int]  # channels, rows, columns
_L = TypeVar("_L", Conv, Affine, Pool, Marker, Dense)


# size: the graph reads best as one sequence, layer after layer as dlib stacks them, node builders inside
def build_graph(network: Network) -> bytes:
    """The ONNX model (serialised) computing ``network``: input ``chips`` (N, 150, 150, 3) float32
    RGB pixels, output ``embeddings`` (N, 128) float32."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes: list[onnx.NodeProto] = []
    weights: list[onnx.TensorProto] = []
    counter = iter(range(1_000_000))

    def name(prefix: str) -> str:
        return f"{prefix}_{next(counter)}"

    def constant(values: np.ndarray, prefix: str) -> str:
        key = name(prefix)
        weights.append(numpy_helper.from_array(np.ascontiguousarray(values), key))
        return key

    def node(kind: str, inputs: list[str], **attributes: Any) -> str:
        out = name(kind.lower())
        nodes.append(helper.make_node(kind, inputs, [out], **attributes))
        return out

    def conv(x: str, shape: Shape, layer: Conv, scale: Affine) -> tuple[str, Shape]:
        # the scale and shift after a convolution folded into it: gamma·(W∗x + b) + beta
        gamma = scale.gamma.astype(np.float64)
        folded = (layer.filters.astype(np.float64) * gamma[:, None, None, None]).astype(np.float32)
        bias = (layer.bias.astype(np.float64) * gamma + scale.beta).astype(np.float32)
        k, s, p = layer.filters.shape[2], layer.stride, layer.padding
        out = node(
            "Conv",
            [x, constant(folded, "w"), constant(bias, "b")],
            kernel_shape=[k, k],
            strides=[s, s],
            pads=[p, p, p, p],
        )
        return out, (layer.filters.shape[0], _out(shape[1], k, s, p), _out(shape[2], k, s, p))

    def pool(x: str, shape: Shape, layer: Pool) -> tuple[str, Shape]:
        if layer.size == 0:
            return node("GlobalAveragePool", [x]), (shape[0], 1, 1)
        k, s, p = layer.size, layer.stride, layer.padding
        kind = "AveragePool" if layer.kind == "avg" else "MaxPool"
        out = node(kind, [x], kernel_shape=[k, k], strides=[s, s], pads=[p, p, p, p])
        return out, (shape[0], _out(shape[1], k, s, p), _out(shape[2], k, s, p))

    def padded(x: str, shape: Shape, to: Shape) -> str:
        if shape == to:
            return x
        ends = [0, to[0] - shape[0], to[1] - shape[1], to[2] - shape[2]]
        return node("Pad", [x, constant(np.array([0, 0, 0, 0, *ends], np.int64), "pads")])

    upcoming = deque(network.layers)

    def take(kind: type[_L]) -> _L:
        layer = upcoming.popleft()
        if not isinstance(layer, kind):  # read_network checked the order: this is a bug
            raise ModelFileError(f"the converter expected a {kind.__name__}, not {layer}")
        return layer

    def relu(x: str) -> str:
        take(Marker)
        return node("Relu", [x])

    planes = node("Transpose", ["chips"], perm=[0, 3, 1, 2])
    centred = node("Sub", [planes, constant(np.array(network.mean, np.float32).reshape(1, 3, 1, 1), "mean")])
    x = node("Mul", [centred, constant(np.array(1 / 256, np.float32), "scale")])
    x, shape = conv(x, (3, network.size, network.size), take(Conv), take(Affine))
    x, shape = pool(relu(x), shape, take(Pool))
    while isinstance(upcoming[0], Conv):  # a residual block
        shortcut, short_shape = x, shape
        x, shape = conv(x, shape, take(Conv), take(Affine))
        x, shape = conv(relu(x), shape, take(Conv), take(Affine))
        if isinstance(upcoming[0], Pool):  # a down-sampling block: its shortcut is pooled too
            shortcut, short_shape = pool(shortcut, short_shape, take(Pool))
        take(Marker)  # the sum, over the larger of the two shapes
        total = (max(shape[0], short_shape[0]), max(shape[1], short_shape[1]), max(shape[2], short_shape[2]))
        x, shape = relu(node("Add", [padded(x, shape, total), padded(shortcut, short_shape, total)])), total
    x, shape = pool(x, shape, take(Pool))
    dense = take(Dense)
    x = node("Flatten", [x], axis=1)
    nodes.append(helper.make_node("MatMul", [x, constant(dense.weights, "fc")], ["embeddings"]))
    graph = helper.make_graph(
        nodes,
        "dlib_face_recognition_resnet_model_v1",
        [helper.make_tensor_value_info("chips", TensorProto.FLOAT, ["n", network.size, network.size, 3])],
        [helper.make_tensor_value_info("embeddings", TensorProto.FLOAT, ["n", dense.weights.shape[1]])],
        weights,
    )
    return finished_model(
        graph,
        CONVERTER_VERSION,
        f"dlib's face ResNet converted from {network.source.name} (SHA-256 {network.sha256})",
    )


def _out(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


def graph_file(source: Path, *, rebuild: bool = False) -> Path:
    """The ONNX graph of the weights file ``source``, built into the cache folder on first use
    (and again with ``rebuild``).

    Raises ``ModelFileError`` when ``source`` is not dlib's face network or the graph cannot be
    written.
    """

    return cached_graph(source, "resnet", CONVERTER_VERSION, read_network, build_graph, rebuild=rebuild)
