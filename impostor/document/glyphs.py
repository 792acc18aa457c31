"""The MRZ reader's glyph classifier: a character cell cut from a page, and the networks that
name it.

A cell is one pitch wide and the line's capital height tall, with a little room each way, cut
and resampled to ``CELL`` (rows, columns) with ink 1 and paper 0 (:func:`cell_patch`). The
shipped classifier (``impostor/data/mrz_glyphs.json``, JSON weights: no pickle) averages two
one-hidden-layer networks trained by ``models/train_mrz_glyphs.py`` on OCR-B glyphs rendered and
worn; that script cuts its cells with the same :func:`cell_patch`.
"""

from __future__ import annotations

import base64
import functools
import json

import cv2
import numpy as np
from numpy.typing import NDArray

from impostor.document.mrz import ALPHABET_CHARS
from impostor.errors import ModelFileError
from impostor.resources import data_file

__all__ = ["CELL", "GLYPHS", "SCHEMA_VERSION", "Classifier", "cell_patch", "classifier"]

GLYPHS = ALPHABET_CHARS
CELL = (20, 16)  # a character cell as the classifier sees it: rows, columns
SCHEMA_VERSION = 2  # of the classifier's file


class _Network:
    """One member: a one-hidden-layer network over a normalised cell."""

    def __init__(self, arrays: dict[str, dict[str, object]]) -> None:
        def array(name: str) -> NDArray[np.float32]:
            entry = arrays[name]
            raw = base64.b64decode(str(entry["data"]))
            shape = entry["shape"]
            assert isinstance(shape, list)
            return np.frombuffer(raw, dtype="<f4").reshape(shape).astype(np.float32)

        self.hidden_weights = array("hidden_weights")
        self.hidden_bias = array("hidden_bias")
        self.output_weights = array("output_weights")
        self.output_bias = array("output_bias")

    def probabilities(self, patches: NDArray[np.float32]) -> NDArray[np.float32]:
        hidden = np.maximum(patches @ self.hidden_weights + self.hidden_bias, 0.0)
        scores = hidden @ self.output_weights + self.output_bias
        scores -= scores.max(axis=1, keepdims=True)
        exp = np.exp(scores)
        return exp / exp.sum(axis=1, keepdims=True)


class Classifier:
    """The glyph classifier read from its JSON file: the members' probabilities, averaged."""

    def __init__(self, document: dict[str, object]) -> None:
        if document.get("schema_version") != SCHEMA_VERSION or document.get("glyphs") != GLYPHS:
            raise ModelFileError(
                f"the MRZ glyph classifier has schema {document.get('schema_version')!r},"
                f" not {SCHEMA_VERSION}: "
                "reinstall impostor or run models/train_mrz_glyphs.py"
            )
        members = document["members"]
        assert isinstance(members, list)
        self.members = [_Network(member["arrays"]) for member in members]
        self.glyphs = GLYPHS

    def probabilities(self, patches: NDArray[np.float32]) -> NDArray[np.float32]:
        """Per patch (``(n, rows × columns)``), the probability of each glyph in ``GLYPHS``."""
        return np.mean([member.probabilities(patches) for member in self.members], axis=0)


@functools.cache
def classifier() -> Classifier:
    """The shipped glyph classifier, read once."""
    return Classifier(json.loads(data_file("mrz_glyphs.json").read_text()))


def cell_patch(
    grey: NDArray[np.uint8],
    centre_x: float,
    top: float,
    bottom: float,
    pitch: float,
    *,
    paper: float,
    ink: float,
) -> NDArray[np.float32]:
    """One character cell of a deskewed grey line, as the classifier sees it: ``CELL`` sized,
    ink 1 and paper 0 (``paper`` and ``ink`` are the line's grey levels)."""
    rows, columns = CELL
    height = bottom - top
    # the cell spans one pitch across and the line's height, with a little room each way
    x0, x1 = centre_x - 0.5 * pitch, centre_x + 0.5 * pitch
    y0, y1 = top - 0.12 * height, bottom + 0.12 * height
    scale_x, scale_y = columns / (x1 - x0), rows / (y1 - y0)
    matrix = np.array([[scale_x, 0, -x0 * scale_x], [0, scale_y, -y0 * scale_y]], dtype=np.float64)
    flags = cv2.INTER_AREA if scale_x < 1 else cv2.INTER_LINEAR
    patch = cv2.warpAffine(grey, matrix, (columns, rows), flags=flags, borderMode=cv2.BORDER_REPLICATE)
    span = max(paper - ink, 1.0)
    return np.clip((paper - patch.astype(np.float32)) / span, 0.0, 1.0)
