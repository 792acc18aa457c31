"""dlib's CNN face detector as an ONNX graph, and the search it runs: pyramid, scores, boxes.

``build_graph`` turns the ``Detector`` that ``impostor.engine.mmod_dat`` read into an ONNX model whose
input is one image (1, rows, columns, 3) of RGB pixels (0-255) as float32 and whose output is
the detector's score map at an eighth of the size: each convolution with the frozen batch
normalisation after it folded into its weights, and the input normalised as dlib's input layer
does, ``(pixel - mean) / 256``, with the mean read from the weights file.

``find_faces`` searches an image the way dlib's ``cnn_face_detection_model_v1`` does: upsampled
``upsample`` times, then over a pyramid whose levels shrink by 5/6 until the window no longer
fits. Each score above zero is a detection: the score map's cell (row, column) looks at the
window centred on pixel (8·column + 14, 8·row + 14) of its level (three unpadded 5 × 5 stride-2
convolutions: 2·p + 2, three times). Detections are kept best first, dropping any that overlaps
a kept one more than the file's suppression test allows. dlib packs its levels side by side in
one image and runs the network once; here each level is its own run, which finds the same faces
with boxes within a pixel or two (tested against dlib on real faces).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np

from impostor.engine.graphs import cached_graph, finished_model
from impostor.engine.mmod_dat import Detector, Overlap, read_detector
from impostor.types import FaceBox, RGBImage

__all__ = ["CONVERTER_VERSION", "DETECTOR_FILE", "build_graph", "find_faces", "graph_file"]

CONVERTER_VERSION = 1  # bump when the graph this module builds changes
DETECTOR_FILE = "mmod_human_face_detector.dat"
_SHRINK = 5 / 6  # dlib's pyramid_down<6>: each level floor(5/6) the size of the one before
_STRIDE, _OFFSET = 8, 14  # a score cell's centre in its input: 8·p + 14
_PAD, _OUTER = 10, 11  # dlib's gaps between the pyramid's levels and around them, in pixels
_MIN_LEVEL = 5  # the pyramid stops before a level this many rows high


def build_graph(detector: Detector) -> bytes:
    """The ONNX model (serialised) computing ``detector``'s score map: input ``image``
    (1, rows, columns, 3) float32 RGB pixels, output ``scores`` (1, 1, rows', columns')."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes: list[onnx.NodeProto] = []
    weights: list[onnx.TensorProto] = []

    def constant(values: np.ndarray) -> str:
        key = f"c{len(weights)}"
        weights.append(numpy_helper.from_array(np.ascontiguousarray(values), key))
        return key

    def node(kind: str, inputs: list[str], out: str | None = None, **attributes: Any) -> str:
        out = out or f"{kind.lower()}{len(nodes)}"
        nodes.append(helper.make_node(kind, inputs, [out], **attributes))
        return out

    planes = node("Transpose", ["image"], perm=[0, 3, 1, 2])
    centred = node("Sub", [planes, constant(np.array(detector.mean, np.float32).reshape(1, 3, 1, 1))])
    x = node("Mul", [centred, constant(np.array(1 / 256, np.float32))])
    for index, (conv, scale) in enumerate(detector.layers):
        filters, bias = conv.filters.astype(np.float64), conv.bias.astype(np.float64)
        if scale is not None:  # gamma·(W∗x + b) + beta
            gamma = scale.gamma.astype(np.float64)
            filters, bias = filters * gamma[:, None, None, None], bias * gamma + scale.beta
        k, s, p = conv.filters.shape[2], conv.stride, conv.padding
        last = index == len(detector.layers) - 1
        x = node(
            "Conv",
            [x, constant(filters.astype(np.float32)), constant(bias.astype(np.float32))],
            "scores" if last else None,
            kernel_shape=[k, k],
            strides=[s, s],
            pads=[p, p, p, p],
        )
        if not last:
            x = node("Relu", [x])
    graph = helper.make_graph(
        nodes,
        "mmod_human_face_detector",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, "rows", "columns", 3])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, 1, None, None])],
        weights,
    )
    return finished_model(
        graph,
        CONVERTER_VERSION,
        f"dlib's CNN face detector from {detector.source.name} (SHA-256 {detector.sha256})",
    )


def graph_file(source: Path, *, rebuild: bool = False) -> Path:
    """The detector's ONNX graph, from the cache folder or built there. Raises ``ModelFileError``."""

    return cached_graph(source, "mmod", CONVERTER_VERSION, read_detector, build_graph, rebuild=rebuild)


def find_faces(session: Any, rgb: RGBImage, upsample: int, detector: Detector) -> list[FaceBox]:
    """Every face ``detector`` (run by ``session``, an ONNX Runtime session of its graph) finds
    in ``rgb``, best first, in ``rgb``'s pixels; ``score`` is the detector's confidence."""
    image = rgb.astype(np.float32)
    for _ in range(upsample):
        # dlib's pyramid_up: the corners moved by (p + (1.25, 0.75)) · 2 bound the enlarged
        # copy, whose values are truncated to whole levels
        rows, columns = image.shape[:2]
        image = np.floor(_resized(image, 2 * rows + 1, 2 * columns + 2))
    tiles, canvas_size = _tiles(image.shape[0], image.shape[1])
    canvas = np.empty((*canvas_size, 3), np.float32)
    canvas[:] = detector.mean  # the mean colour: zero once normalised, as dlib's padding is
    level = image
    for number, (left, top, width, height) in enumerate(tiles):
        if number:
            level = _resized(level, height, width)
        canvas[top : top + height, left : left + width] = level
    scores = session.run(None, {"image": canvas[None]})[0][0, 0]
    found = []
    for row, column in zip(*(index.tolist() for index in np.nonzero(scores > 0.0)), strict=True):
        centre = (_STRIDE * column + _OFFSET, _STRIDE * row + _OFFSET)
        found.append(_window(centre, tiles, upsample, detector.window, float(scores[row, column])))
    return _suppressed(found, detector.suppression)


def _tiles(rows: int, columns: int) -> tuple[list[tuple[int, int, int, int]], tuple[int, int]]:
    """dlib's tiled pyramid: each level's (left, top, width, height) on one canvas, and the
    canvas's (rows, columns). The levels go down a first column under the image until the rest
    fit beside them, then up a second column on the right; one that would touch the image is
    left out with those after it."""
    sizes = [(columns, rows)]
    while True:
        rows, columns = int(np.floor(_SHRINK * rows)), int(np.floor(_SHRINK * columns))
        if rows * columns == 0 or rows < _MIN_LEVEL:
            break
        sizes.append((columns, rows))
    width0, height0 = sizes[0]
    total = sum(height + _PAD for _, height in sizes) - 2 * _PAD
    column_height, previous_width = 0, 0
    for width, height in sizes:
        if width <= width0 - previous_width - _PAD and (column_height - height0) * 2 >= total - height0:
            break
        column_height += height + _PAD
        previous_width = width
    column_height -= _PAD
    tiles: list[tuple[int, int, int, int]] = []
    y = _OUTER
    while y < column_height + _OUTER and len(tiles) < len(sizes):
        width, height = sizes[len(tiles)]
        tiles.append((_OUTER, y, width, height))
        y += height + _PAD
    y -= _PAD
    while len(tiles) < len(sizes):
        width, height = sizes[len(tiles)]
        left, top = _OUTER + width0 - width, y - height
        if left < _OUTER + width0 and top < _OUTER + height0:  # it would overlap the image
            break
        tiles.append((left, top, width, height))
        y -= height + _PAD
    return tiles, (column_height + 2 * _OUTER, width0 + 2 * _OUTER)


def _resized(image: np.ndarray, rows: int, columns: int) -> np.ndarray:
    """Bilinear resampling with the corners aligned (dlib's ``resize_image``)."""
    fy = (image.shape[0] - 1) / max(rows - 1, 1)
    fx = (image.shape[1] - 1) / max(columns - 1, 1)
    matrix = np.array([[fx, 0.0, 0.0], [0.0, fy, 0.0]])
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    return cv2.warpAffine(image, matrix, (columns, rows), flags=flags, borderMode=cv2.BORDER_REPLICATE)


def _window(
    centre: tuple[int, int],
    tiles: list[tuple[int, int, int, int]],
    upsample: int,
    window: tuple[int, int],
    score: float,
) -> FaceBox:
    """The detection window centred on a canvas pixel, in the searched image's pixels: moved
    to the level it lies on (or the nearest), up the pyramid, and down each enlargement."""
    depth = _nearest_tile(centre, tiles)
    left, top = tiles[depth][:2]
    half = ((window[0] - 1) / 2, (window[1] - 1) / 2)
    corners = [
        np.array([centre[0] - left - half[0], centre[1] - top - half[1]]),
        np.array([centre[0] - left + half[0], centre[1] - top + half[1]]),
    ]
    for _ in range(depth):  # a level up: p · 6/5 + 0.3
        corners = [corner / _SHRINK + 0.3 for corner in corners]
    corners = [_rounded(corner) for corner in corners]
    for _ in range(upsample):  # an enlargement down: p / 2 - (1.25, 0.75)
        corners = [_rounded(corner / 2 - (1.25, 0.75)) for corner in corners]
    (x0, y0), (x1, y1) = corners
    return FaceBox(float(x0), float(y0), float(x1) + 1, float(y1) + 1, score)  # dlib's are inclusive


def _rounded(point: np.ndarray) -> np.ndarray:
    """Rounded half away from zero, as C's lround."""
    return np.sign(point) * np.floor(np.abs(point) + 0.5)


def _nearest_tile(point: tuple[int, int], tiles: list[tuple[int, int, int, int]]) -> int:
    """The first tile holding ``point``, or else the nearest one."""
    best, best_distance = 0, float("inf")
    for number, (left, top, width, height) in enumerate(tiles):
        dx = max(left - point[0], 0, point[0] - (left + width - 1))
        dy = max(top - point[1], 0, point[1] - (top + height - 1))
        if dx == dy == 0:
            return number
        if dx * dx + dy * dy < best_distance:
            best, best_distance = number, dx * dx + dy * dy
    return best


def _suppressed(boxes: list[FaceBox], overlap: Overlap) -> list[FaceBox]:
    """Best first, dropping a box that overlaps a kept one (dlib's non-maximum suppression)."""
    kept: list[FaceBox] = []
    for box in sorted(boxes, key=lambda b: b.score, reverse=True):
        if not any(_overlaps(box, other, overlap) for other in kept):
            kept.append(box)
    return kept


def _overlaps(a: FaceBox, b: FaceBox, test: Overlap) -> bool:
    # dlib's test: the intersection over the box bounding both (not the union), or either box
    # covered by more than a share of itself
    width = min(a.right, b.right) - max(a.left, b.left)
    height = min(a.bottom, b.bottom) - max(a.top, b.top)
    if width <= 0 or height <= 0:
        return False
    inner = width * height
    bounding = (max(a.right, b.right) - min(a.left, b.left)) * (max(a.bottom, b.bottom) - min(a.top, b.top))
    return inner / bounding > test.iou or inner / a.area > test.covered or inner / b.area > test.covered
