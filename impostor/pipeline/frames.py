"""Camera frames: one frame at a glance for live guidance, and the best frame of a capture.

Frames come fast, so both look with one fast detector pass (no turning, no CNN): ``check_frame``
says what one frame shows, and ``best_frame`` keeps the best face of a camera or clip
(``impostor.stages.quality.frame_score``), stopping at the first one that passes the live gates.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from impostor.engine.detectors import detector_named
from impostor.errors import CaptureError
from impostor.pipeline.finder import FaceFinder
from impostor.pipeline.located import Located, located
from impostor.stages.align import find_landmarks
from impostor.stages.capture import open_stream
from impostor.stages.quality import assess, frame_score
from impostor.types import FaceBox, LoadedImage, QualityReport

__all__ = ["FrameCheck", "best_frame", "check_frame"]


@dataclass(frozen=True, eq=False)
class FrameCheck:
    """A camera frame at a glance (``Verifier.check_frame``): its faces and the first one's live gates.

    ``boxes`` are the credible faces, the one to use first (empty: no face seen); ``quality`` is
    None without a face.
    """

    image: LoadedImage
    boxes: tuple[FaceBox, ...]
    quality: QualityReport | None

    @property
    def passed(self) -> bool:
        """Whether a face was seen and passed every live gate."""
        return self.quality is not None and self.quality.passed


def check_frame(finder: FaceFinder, image: LoadedImage, limits: Mapping[str, float]) -> FrameCheck:
    """``image``'s faces by one HOG pass at the search size, and the first one's live gates held
    to ``limits``."""
    boxes = finder.detect(image.pixels, detector_named("hog"), "glance")
    if not boxes:
        return FrameCheck(image, (), None)
    landmarks = find_landmarks(image.pixels, boxes[0])
    report = assess(image, boxes, landmarks, side="live", limits=limits)
    return FrameCheck(image, tuple(boxes), report)


def best_frame(
    finder: FaceFinder,
    stream: int | str | Path,
    seconds: float | None,
    limits: Mapping[str, float],
    stop: threading.Event | None = None,
) -> Located:
    """The live side of a camera (index) or video file: the first frame whose face passes the
    live gates (``limits``), else the best face seen in the window (``seconds``; None: the
    ``capture_seconds`` setting), else the first frame without a face. Only the finder's first
    detector looks at each frame (the fallback CNN would cost a second a frame). Setting ``stop`` ends
    the capture early. Raises ``CaptureError`` for a source that cannot be opened or gives no
    frames."""
    label = f"camera {stream}" if isinstance(stream, int) else str(stream)
    detector = finder.first
    best: tuple[float, LoadedImage, list[FaceBox], QualityReport | None] | None = None
    first_frame: LoadedImage | None = None
    count = 0
    with open_stream(stream, seconds=seconds) as frames:
        for frame in frames:
            if stop is not None and stop.is_set():
                break
            count += 1
            image = frame.image(f"{label} frame {frame.index}")
            first_frame = first_frame or image
            boxes = finder.detect(image.pixels, detector, "near")
            if not boxes:
                continue
            landmarks = find_landmarks(image.pixels, boxes[0])
            score = frame_score(image.pixels, boxes[0], landmarks)
            report = assess(image, boxes, landmarks, side="live", limits=limits)
            if report.passed:
                # good enough to compare: stop rather than keep the traveller waiting
                best = (score, image, boxes, report)
                break
            if best is None or score > best[0]:
                best = (score, image, boxes, report)
    if count == 0 or first_frame is None:
        raise CaptureError(f"{label}: gave no frames")
    if best is None:
        return located("live", first_frame, [])
    return located("live", best[1], best[2], 0, detector.name, best[3])
