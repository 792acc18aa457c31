"""Copies of a worn document's portrait made to show its face (the ``rescue`` setting).

The face finder (``impostor.pipeline.finder``) looks at these once every ordinary pass has
missed: a portrait whose security print or wear hides the face from the detectors (``restored``),
or one tilted on the scanner (``tilted``). Each copy comes with the affine matrix that placed the
search copy on it, so that a face found there is carried back (``impostor.pipeline.located``).
"""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np

from impostor import settings
from impostor.errors import ConfigError

__all__ = ["RESCUES", "rescue_steps", "restored", "tilted"]

# the steps of a document's rescue (the ``rescue`` setting), and their parameters: a blur of one
# pixel in 130 of the portrait (2.5 px on a 331 px ID-card portrait, where it found 10 of the 11
# faces that every other pass missed), then the same on a copy enlarged to at least 320 px with
# its contrast equalised in 4 × 4 tiles (6 of the 11 a worn portrait still hid: glare, wear),
# and turns of 10, 20 and 30 degrees each way
RESCUES = ("restored", "tilted")
_RESTORE_PER_SIGMA = 130.0
_RESTORE_SIDE = 320
_EQUALISE = cv2.createCLAHE(clipLimit=3.0, tileGridSize=(4, 4))
_TILTS = (10, -10, 20, -20, 30, -30)


def rescue_steps() -> set[str]:
    """The steps the ``rescue`` setting names. Raises ``ConfigError`` for one it does not know."""
    steps = {step.strip() for step in str(settings.get("rescue")).split(",") if step.strip()} - {"none"}
    unknown = steps - set(RESCUES)
    if unknown:
        raise ConfigError(
            f"IMPOSTOR_RESCUE: {sorted(unknown)[0]!r} is not a step; "
            f"give some of {', '.join(RESCUES)}, or none"
        )
    return steps


def restored(copy: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Grey copies of an RGB portrait restored to show its face, each as RGB with the affine
    matrix from ``copy`` to it: blurred (the security lines and the print's screen are fine
    periodic strokes that the detectors take for edges), then enlarged, blurred and equalised
    (a glare or worn ink leaves the face flat)."""
    grey = cv2.cvtColor(copy, cv2.COLOR_RGB2GRAY)
    blurred = cv2.GaussianBlur(grey, (0, 0), max(1.5, max(grey.shape) / _RESTORE_PER_SIGMA))
    yield cv2.cvtColor(blurred, cv2.COLOR_GRAY2RGB), _zoom(1.0)
    enlarged = max(1.0, _RESTORE_SIDE / max(grey.shape))
    if enlarged > 1.0:
        grey = cv2.resize(grey, None, fx=enlarged, fy=enlarged, interpolation=cv2.INTER_CUBIC)
    blurred = cv2.GaussianBlur(grey, (0, 0), max(1.5, max(grey.shape) / _RESTORE_PER_SIGMA))
    yield cv2.cvtColor(_EQUALISE.apply(blurred), cv2.COLOR_GRAY2RGB), _zoom(enlarged)


def tilted(copy: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``copy`` turned by each of ``_TILTS`` degrees about its centre onto a canvas that holds all
    of it (edges repeated), with the affine matrix from ``copy`` to the turned copy."""
    for degrees in _TILTS:
        matrix, size = _tilt(copy.shape, degrees)
        turned = cv2.warpAffine(copy, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        yield turned, matrix


def _zoom(enlarged: float) -> np.ndarray:
    shift = (enlarged - 1.0) / 2  # pixel centres: (p + 0.5) · e - 0.5
    return np.array([[enlarged, 0.0, shift], [0.0, enlarged, shift]])


def _tilt(shape: tuple[int, ...], degrees: float) -> tuple[np.ndarray, tuple[int, int]]:
    """The affine matrix turning an image of ``shape`` by ``degrees`` about its centre onto a
    canvas that holds all of it, and that canvas's (width, height)."""
    height, width = shape[:2]
    matrix = cv2.getRotationMatrix2D(((width - 1) / 2, (height - 1) / 2), degrees, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    size = (int(np.ceil(width * cos + height * sin)), int(np.ceil(width * sin + height * cos)))
    matrix[:, 2] += ((size[0] - width) / 2, (size[1] - height) / 2)
    return matrix, size
