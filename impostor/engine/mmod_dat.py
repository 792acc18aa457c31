"""Reading dlib's CNN face detector (``mmod_human_face_detector.dat``) layer by layer.

The file is dlib's serialisation of its max-margin (MMOD) face detector, as shipped in
``face_recognition_models``, in the grammar ``impostor.engine.dlib_dat`` reads. Its layout:

- the loss layer, ``loss_mmod_``: the detection window (80 × 80 pixels), the training losses
  and match threshold, and the two overlap tests (intersection over union, share covered):
  the one for non-maximum suppression, and the one for boxes to ignore;
- one version number per layer from the output inwards, then the input layer,
  ``input_rgb_image_pyramid``: the mean of each colour (the images are searched over a pyramid
  whose levels shrink by 5/6);
- the layers from the input to the output (dlib's ``dnn_mmod_face_detection_ex.cpp``): three
  down-sampling convolutions (5 × 5, stride 2, unpadded; 16, 32 and 32 filters), three 5 × 5
  convolutions of 45 filters, each followed by batch normalisation and a ReLU, then one 9 × 9
  convolution to a single score map. Batch normalisation is stored with its running mean and
  variance and its epsilon; frozen, it is a per-channel scale and shift, which this reader
  returns as an ``Affine``.

``read_detector`` checks that the file holds exactly that network and ends after its last byte;
anything else is a ``ModelFileError`` naming the file, the byte and what was expected.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from impostor.engine.dlib_dat import Affine, Conv, DatReader

__all__ = ["EXPECTED", "WINDOW", "Detector", "Overlap", "read_detector"]

WINDOW = (80, 80)  # the detection window, width and height in pixels

# (filters, kernel, stride, padding) of each convolution, input to output; a ReLU and a frozen
# batch normalisation follow every one but the last
EXPECTED = (
    (16, 5, 2, 0),
    (32, 5, 2, 0),
    (32, 5, 2, 0),
    (45, 5, 1, 2),
    (45, 5, 1, 2),
    (45, 5, 1, 2),
    (1, 9, 1, 4),
)
_VERSIONS = 18  # layer versions before the input layer's (which says 3), as in the file


@dataclass(frozen=True)
class Overlap:
    """dlib's test of whether two boxes overlap: intersection over union above ``iou``, or
    either box covered by the other by more than ``covered``."""

    iou: float
    covered: float


@dataclass(frozen=True, eq=False)
class Detector:
    """The detector read from a file: its window, its suppression test, its input's per-colour
    mean, and its layers (each convolution with the scale and shift after it, or None for the
    last). ``sha256`` is the file's digest."""

    window: tuple[int, int]  # width, height in pixels
    suppression: Overlap
    mean: tuple[float, float, float]
    layers: tuple[tuple[Conv, Affine | None], ...]
    sha256: str
    source: Path


def read_detector(path: Path) -> Detector:
    """The detector in ``path``, checked to be dlib's CNN face detector. Raises ``ModelFileError``."""
    reader = DatReader.open(path, "dlib's CNN face detector", "loss_mmod_")
    if reader.integer() != 1:
        raise reader.fail("detection options of an unknown version")
    window = (reader.integer(), reader.integer())
    if window != WINDOW:  # the boxes this network was trained to score
        raise reader.fail(f"a detection window of {window[0]}×{window[1]}, not {WINDOW[0]}×{WINDOW[1]}")
    for _ in range(3):
        reader.real()  # the training losses and the match threshold: not used to detect
    suppression = Overlap(reader.real(), reader.real())
    reader.real(), reader.real()  # the overlap of boxes ignored in training
    versions = [reader.integer() for _ in range(_VERSIONS)]
    if any(version not in (1, 2) for version in versions) or reader.integer() != 3:
        raise reader.fail("a network of another shape")
    reader.expect("input_rgb_image_pyramid")
    mean = (reader.real(), reader.real(), reader.real())
    layers: list[tuple[Conv, Affine | None]] = []
    channels = 3
    for index, geometry in enumerate(EXPECTED):
        reader.expect("con_4")
        conv = reader.conv(channels)
        found = (conv.filters.shape[0], conv.filters.shape[2], conv.stride, conv.padding)
        if found != geometry:
            raise reader.fail(f"convolution {index + 1} shaped {found}, not {geometry}")
        reader.flags()
        if index == 0 and reader.integer() != 1:  # the first layer also keeps its input's expansion
            raise reader.fail("a first layer of another kind")
        channels = conv.filters.shape[0]
        scale = None
        if index < len(EXPECTED) - 1:
            reader.expect("bn_con2")
            scale = _frozen_batch_norm(reader, channels)
            reader.flags()
            reader.expect("relu_")
            reader.flags()
        layers.append((conv, scale))
    if reader.at != len(reader.data):
        raise reader.fail(f"{len(reader.data) - reader.at:,} bytes after the last layer")
    if not all(np.isfinite(conv.filters).all() for conv, _ in layers):
        raise reader.fail("weights that are not numbers")
    return Detector(window, suppression, mean, tuple(layers), reader.sha256, path)


def _frozen_batch_norm(reader: DatReader, channels: int) -> Affine:
    """A ``bn_con2`` layer as the scale and shift it is at inference: gamma / sqrt(var + eps)
    and beta - mean × that scale, from the running mean and variance."""
    shape, values = reader.tensor()
    gamma, beta = reader.alias(), reader.alias()
    if shape != (2 * channels, 1, 1, 1) or gamma != beta or gamma[1] != channels:
        raise reader.fail(f"a batch normalisation that does not fit {channels} channels")
    statistics = []
    for _ in range(4):  # the last batch's means and inverse deviations, then the running ones
        found, numbers = reader.tensor()
        if found != (1, channels, 1, 1):
            raise reader.fail(f"batch statistics of {found} for {channels} channels")
        statistics.append(numbers.astype(np.float64))
    reader.integer(), reader.integer()  # updates seen, and the running window
    for _ in range(4):
        reader.real()  # learning-rate and weight-decay multipliers
    epsilon = reader.real()
    running_mean, running_variance = statistics[2], statistics[3]
    if not 0 < epsilon < 1 or (running_variance < 0).any():
        raise reader.fail("a batch normalisation with impossible statistics")
    scale = values[:channels].astype(np.float64) / np.sqrt(running_variance + epsilon)
    shift = values[channels:].astype(np.float64) - running_mean * scale
    return Affine(scale.astype(np.float32), shift.astype(np.float32))
