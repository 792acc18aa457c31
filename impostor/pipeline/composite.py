"""Composite: one picture of a comparison that a person would rather look at than read.

Both aligned faces side by side at the same scale, landmarks marked, and a banner with the
decision, the probability and the first reason.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import cv2
import numpy as np

from impostor.errors import OutputError
from impostor.stages.align import CHIP_PADDING, chip_transform
from impostor.types import Decision, RGBImage, Side, Verdict

__all__ = ["render", "write"]

_PANEL = 320
_BANNER = 96
_COLOURS = {  # RGB
    Decision.MATCH: (30, 140, 60),
    Decision.NO_MATCH: (190, 40, 40),
    Decision.REFER: (215, 140, 20),
}


def render(verdict: Verdict) -> RGBImage:
    """The composite as an RGB array, ``2 * _PANEL`` pixels wide."""
    panels = [_panel(verdict.document, "document"), _panel(verdict.live, "live")]
    faces = np.hstack(panels)
    banner = np.full((_BANNER, faces.shape[1], 3), _COLOURS[verdict.decision], dtype=np.uint8)
    title = verdict.decision.value.replace("_", " ")
    _text(banner, title, (16, 52), 1.5, 3, outline=False)
    if verdict.probability is not None:
        detail = f"P(same person) {verdict.probability:.1%}   distance {verdict.distance:.3f}"
    else:
        detail = "no comparison: a face is missing"
    _text(banner, detail, (16, 82), 0.6, 1, outline=False)
    reason = verdict.reasons[0].message if verdict.reasons else ""
    lines = textwrap.wrap(reason, 84)[:2] + [f"profile {verdict.profile.name} {verdict.profile.version}"]
    footer = np.full((10 + 20 * len(lines), faces.shape[1], 3), 245, dtype=np.uint8)
    for row, line in enumerate(lines):
        _text(footer, line, (10, 22 + 20 * row), 0.45, 1, colour=(40, 40, 40), outline=False)
    return np.vstack([banner, faces, footer])


def write(verdict: Verdict, path: str | Path) -> Path:
    """Render and save as PNG or JPEG (by the file's suffix); raises ``OutputError``."""
    target = Path(path)
    if target.suffix.lower() not in (".png", ".jpg", ".jpeg"):
        raise OutputError(f"{target}: the composite is written as .png or .jpg")
    if not target.parent.exists():
        raise OutputError(f"{target}: folder {target.parent} does not exist")
    ok = cv2.imwrite(str(target), cv2.cvtColor(render(verdict), cv2.COLOR_RGB2BGR))
    if not ok:
        raise OutputError(f"{target}: could not be written")
    return target


def _panel(side: Side, caption: str) -> RGBImage:
    face = side.face
    if face is None:
        panel = np.full((_PANEL, _PANEL, 3), 60, dtype=np.uint8)
        _text(panel, f"no face in {caption}", (20, _PANEL // 2), 0.7, 2)
        return panel
    # the same similarity transform as the embedding chip, at display size
    matrix = chip_transform(face.landmarks, _PANEL, CHIP_PADDING)
    panel = cv2.warpAffine(side.image.pixels, matrix, (_PANEL, _PANEL), flags=cv2.INTER_AREA)
    points = np.hstack([face.landmarks.array(), np.ones((5, 1))]) @ matrix.T
    for x, y in points:
        cv2.circle(panel, (int(round(x)), int(round(y))), 4, (0, 255, 0), -1, cv2.LINE_AA)
    _text(panel, caption, (10, _PANEL - 12), 0.6, 2)
    return panel


def _text(
    image: RGBImage,
    text: str,
    origin: tuple[int, int],
    scale: float,
    thickness: int,
    colour: tuple[int, int, int] = (255, 255, 255),
    outline: bool = True,
) -> None:
    """Draw ``text``; on photographs a dark outline keeps white letters readable."""
    if outline:
        cv2.putText(
            image, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thickness + 2, cv2.LINE_AA
        )
    cv2.putText(image, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, colour, thickness, cv2.LINE_AA)
