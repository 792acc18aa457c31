"""The composition: capture → detect → align → quality → embed → score → decide → audit.

``Verifier`` holds what is expensive (the profile, and through ``impostor.engine.weights`` the dlib
models, loaded on first use) so that a counter process pays for it once. ``verify`` is the
one-call form, with a verifier cached per configuration.
"""

from __future__ import annotations

import dataclasses
import functools
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

import cv2
import numpy as np
from numpy.typing import NDArray

from impostor import settings
from impostor.errors import CaptureError, ConfigError, NoFaceFound
from impostor.pipeline.profile import Profile, load_profile
from impostor.records.audit import AuditLog
from impostor.stages.align import align, find_landmarks
from impostor.stages.capture import ImageSource, load_image, open_stream
from impostor.stages.decide import decide
from impostor.stages.detect import DETECTORS, Detector, Effort, detect_faces, resize_longest
from impostor.stages.embed import Embedder, default_embedder, service_embedder
from impostor.stages.quality import QualitySide, assess, frame_score
from impostor.types import (
    Face,
    FaceBox,
    ImageInfo,
    Landmarks,
    LoadedImage,
    QualityReport,
    Reason,
    RGBImage,
    Side,
    Verdict,
)

__all__ = ["PICKS", "SEARCHES", "FrameCheck", "Located", "Pick", "Search", "Verifier", "verify"]

Pick = Literal["largest", "central"]
PICKS: tuple[Pick, ...] = ("largest", "central")
# How hard to look for a face, each step only while nothing is found:
# - "upright": HOG on the image as it stands (a counter camera's frame), so that an empty frame
#   answers as fast as a face does;
# - "thorough": then HOG on the image turned a quarter, three quarters and half a turn, then the
#   CNN, both on a copy of half the search size (a live photo that is not a camera's frame is
#   filled by its face), so that an empty live photo costs at most about 1.5 comparisons
#   (bench/bench_pipeline.py);
# - "exhaustive": the turns and the CNN at the full search size, then HOG on a copy twice the
#   search size for a small face in a large image. A document's face is known to be there, so
#   the time to find it is well spent: this is how documents and data sets are searched.
Search = Literal["exhaustive", "thorough", "upright"]
SEARCHES: tuple[Search, ...] = ("exhaustive", "thorough", "upright")

_T = TypeVar("_T")

_TURNS = ((90, cv2.ROTATE_90_CLOCKWISE), (270, cv2.ROTATE_90_COUNTERCLOCKWISE), (180, cv2.ROTATE_180))


@dataclass(frozen=True, eq=False)
class Located:
    """A side after detection and alignment, before embedding (made by ``Verifier.locate``).

    ``boxes`` are every credible face, the one to use first; ``landmarks`` and ``chip`` are the
    first face's (None without a face); ``rotated`` the degrees the image was turned for a face
    to be found; ``detector`` the detector that found them; ``quality`` the first face's gates
    when they were already assessed (a camera frame chosen for passing them).
    """

    name: str
    image: LoadedImage
    boxes: tuple[FaceBox, ...]
    rotated: int
    detector: Literal["hog", "cnn"] | None
    landmarks: Landmarks | None
    chip: RGBImage | None
    quality: QualityReport | None = None

    def side(self, embedding: np.ndarray | None, quality: QualityReport | None = None) -> Side:
        face = None
        if self.boxes and self.landmarks is not None and self.chip is not None and embedding is not None:
            face = Face(self.boxes[0], self.landmarks, self.chip, embedding)
        return Side(
            name=self.name,
            image=self.image,
            face=face,
            faces_found=len(self.boxes),
            rotated_degrees=self.rotated,
            face_widths=tuple(box.width for box in self.boxes),
            detector=self.detector,
            quality=quality if face is not None else None,
        )


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
        return self.quality is not None and self.quality.passed


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


def _restored(grey: np.ndarray) -> Iterator[tuple[np.ndarray, float]]:
    """Copies of a grey portrait restored to show its face, each with the factor it was
    enlarged by: blurred (the security lines and the print's screen are fine periodic strokes
    that the detectors take for edges), then enlarged, blurred and equalised (a glare or worn
    ink leaves the face flat)."""
    blurred = cv2.GaussianBlur(grey, (0, 0), max(1.5, max(grey.shape) / _RESTORE_PER_SIGMA))
    yield cv2.cvtColor(blurred, cv2.COLOR_GRAY2RGB), 1.0
    enlarged = max(1.0, _RESTORE_SIDE / max(grey.shape))
    if enlarged > 1.0:
        grey = cv2.resize(grey, None, fx=enlarged, fy=enlarged, interpolation=cv2.INTER_CUBIC)
    blurred = cv2.GaussianBlur(grey, (0, 0), max(1.5, max(grey.shape) / _RESTORE_PER_SIGMA))
    yield cv2.cvtColor(_EQUALISE.apply(blurred), cv2.COLOR_GRAY2RGB), enlarged


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


def _tilt(shape: tuple[int, ...], degrees: float) -> tuple[np.ndarray, tuple[int, int]]:
    """The affine matrix turning an image of ``shape`` by ``degrees`` about its centre onto a
    canvas that holds all of it, and that canvas's (width, height)."""
    height, width = shape[:2]
    matrix = cv2.getRotationMatrix2D(((width - 1) / 2, (height - 1) / 2), degrees, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    size = (int(np.ceil(width * cos + height * sin)), int(np.ceil(width * sin + height * cos)))
    matrix[:, 2] += ((size[0] - width) / 2, (size[1] - height) / 2)
    return matrix, size


def _from_copy(
    name: str,
    image: LoadedImage,
    copy: np.ndarray,
    boxes: list[FaceBox],
    matrix: np.ndarray,
    scale: float,
    detector: Literal["hog", "cnn"],
) -> Located:
    """A face found on ``copy`` (``image`` shrunk by ``scale``, then moved by the affine
    ``matrix``): its landmarks are placed on the copy, then it is carried back to the original,
    whose pixels the chip is cut from."""
    back = cv2.invertAffineTransform(matrix)

    def original(points: np.ndarray) -> np.ndarray:
        on_shrunk = points @ back[:, :2].T + back[:, 2]
        return (on_shrunk + 0.5) / scale - 0.5  # pixel centres, as the shrinking placed them

    landmarks = Landmarks(
        tuple((float(x), float(y)) for x, y in original(find_landmarks(copy, boxes[0]).array()))
    )
    height, width = image.pixels.shape[:2]
    carried = []
    for box in boxes:
        corners = original(
            np.array(
                [[box.left, box.top], [box.right, box.top], [box.left, box.bottom], [box.right, box.bottom]]
            )
        )
        low, high = corners.min(axis=0), corners.max(axis=0)
        carried.append(
            FaceBox(
                max(0.0, float(low[0])),
                max(0.0, float(low[1])),
                min(float(width), float(high[0])),
                min(float(height), float(high[1])),
                box.score,
            )
        )
    chip = align(image.pixels, landmarks)
    return Located(name, image, tuple(carried), 0, detector, landmarks, chip)


# a chip whose channels differ by less than this on average (grey levels) is a grey picture: an
# engraved or grey-printed portrait, scanned in colour or not
GREY_SPREAD = 2.0


def is_grey_chip(chip: RGBImage) -> bool:
    """Whether an aligned chip is a grey picture (its channels alike, up to a scanner's noise)."""
    wide = chip.astype(np.int16)
    spread = np.abs(wide[..., 0] - wide[..., 1]).mean() + np.abs(wide[..., 1] - wide[..., 2]).mean()
    return bool(spread / 2 < GREY_SPREAD)


def grey_chip(chip: RGBImage) -> RGBImage:
    """The chip in grey (Rec. 601 luma in all three channels), as a grey portrait shows it."""
    return np.ascontiguousarray(cv2.cvtColor(cv2.cvtColor(chip, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB))


def _enlarged(boxes: list[FaceBox], scale: float, pixels: np.ndarray) -> list[FaceBox]:
    """Boxes found on a copy shrunk by ``scale``, in ``pixels``' frame (and within it)."""
    height, width = pixels.shape[:2]
    return [
        FaceBox(
            max(0.0, b.left),
            max(0.0, b.top),
            min(float(width), b.right),
            min(float(height), b.bottom),
            b.score,
        )
        for b in (box.scaled(1.0 / scale) for box in boxes)
    ]


def _located(
    name: str,
    image: LoadedImage,
    boxes: list[FaceBox],
    rotated: int = 0,
    detector: Literal["hog", "cnn"] | None = None,
    quality: QualityReport | None = None,
) -> Located:
    """Landmarks and the aligned chip of the first face, if there is one."""
    landmarks = find_landmarks(image.pixels, boxes[0]) if boxes else None
    chip = align(image.pixels, landmarks) if landmarks is not None else None
    return Located(name, image, tuple(boxes), rotated, detector if boxes else None, landmarks, chip, quality)


class Verifier:
    """Compares document portraits with live faces under one profile and one configuration.

    ``profile`` is a ``Profile``, a path to one, or None for the default. ``detector`` is
    ``"auto"`` (default: HOG, then dlib's CNN detector only where HOG finds no face), ``"hog"``
    (HOG alone) or ``"cnn"`` (CNN alone: finds more turned and small faces, ~20× slower).
    ``pick`` says which face stands for an image holding several: ``"largest"`` (the counter's
    rule) or ``"central"`` (for data sets cropped around their subject, such as LFW).
    ``live_search`` says how hard to look for the live face (``SEARCHES``): a station whose live
    photos come from its own camera looks ``"upright"`` only, and a frame without a face is
    answered at once. ``jitters`` > 0 averages the embedding over that many perturbed copies,
    and ``flip`` averages it with its mirror image's (each slower, slightly more accurate; a
    profile must be fitted with the same choice, so ``flip`` follows the profile unless given).
    Models are loaded on first use and shared by every verifier in the process.
    Each face found is checked against the profile's quality limits (``impostor.stages.quality``);
    a failed gate makes the decision REFER. With an ``audit`` log, every verdict ``verify`` and
    ``verify_stream`` return is appended to it under ``station`` and ``operator``.
    """

    def __init__(
        self,
        profile: Profile | str | Path | None = None,
        *,
        detector: Detector = "auto",
        jitters: int = 0,
        embedder: Embedder | None = None,
        detect_side: int | None = None,
        pick: Pick = "largest",
        flip: bool | None = None,
        grey_match: bool | None = None,
        grey_chips: bool = False,
        live_search: Search = "thorough",
        audit: AuditLog | None = None,
        station: str = "",
        operator: str = "",
    ) -> None:
        if detector not in DETECTORS:
            raise ValueError(f"detector must be 'hog', 'cnn' or 'auto', not {detector!r}")
        if jitters < 0:
            raise ValueError(f"jitters must be 0 or more, not {jitters}")
        if pick not in PICKS:
            raise ValueError(f"pick must be 'largest' or 'central', not {pick!r}")
        if live_search not in SEARCHES:
            raise ValueError(f"live_search must be one of {', '.join(SEARCHES)}, not {live_search!r}")
        rescue_steps()  # a mistyped setting is told when the verifier is made, not at the first worn page
        if audit is not None and not (station and operator):
            raise ValueError(
                f"an audited verifier needs a station and an operator, not {station!r} and {operator!r}"
            )
        self._profile_source = profile
        self._profile: Profile | None = profile if isinstance(profile, Profile) else None
        self.pick: Pick = pick
        self.detector: Detector = detector
        self.jitters = jitters
        self._flip = flip
        self._grey_match = grey_match
        self.grey_chips = grey_chips
        self.live_search: Search = live_search
        self.embedder: Embedder = embedder or default_embedder()
        self.detect_side = detect_side
        self._pool: ThreadPoolExecutor | None = None
        self.audit = audit
        self.station = station
        self.operator = operator

    @property
    def flip(self) -> bool:
        """Whether embeddings average a face and its mirror image: as given, else as the profile
        was fitted (a profile's thresholds hold only for the embeddings it was fitted on)."""
        if self._flip is None:
            return bool(self.profile.pipeline.get("flip", False))
        return self._flip

    @property
    def grey_match(self) -> bool:
        """Whether a colour face is compared in grey with a grey one (a data page engraved or
        printed in grey against a colour camera): as given, else as the profile was fitted."""
        if self._grey_match is None:
            return bool(self.profile.pipeline.get("grey_match", False))
        return self._grey_match

    @property
    def profile(self) -> Profile:
        """The calibration profile, read and validated on first use."""
        if self._profile is None:
            assert not isinstance(self._profile_source, Profile)
            self._profile = load_profile(self._profile_source)
        return self._profile

    # -- one image ---------------------------------------------------------------------------

    def locate(
        self,
        source: ImageSource | LoadedImage,
        name: str,
        *,
        label: str | None = None,
        search: Search = "exhaustive",
    ) -> Located:
        """Read an image, find its faces and align the largest, as hard as ``search`` says
        (``SEARCHES``: the image as it stands, turned, the CNN, a small face)."""
        image = source if isinstance(source, LoadedImage) else load_image(source, name=label)
        first: Literal["hog", "cnn"] = "cnn" if self.detector == "cnn" else "hog"
        if search == "upright":
            return _located(name, image, self._detect(image.pixels, first, "near"), 0, first)
        # cheapest first; on LFW View 2 the first pass finds 99.2% of the faces and the CNN every
        # one of the rest; the colour pass finds washed-out faces that neither finds
        boxes = self._detect(image.pixels, first, "glance")
        if boxes:
            return _located(name, image, boxes, 0, first)
        side = int(self.detect_side if self.detect_side is not None else settings.get("detect_side"))
        # the rescue passes look at colour copies made once: one of the search size for the colour
        # pass, and one for the turns and the CNN, of half that in a bounded search (a quarter of
        # the pixels); the image itself is turned only once a face is found
        search_copy, search_scale = resize_longest(image.pixels, side)
        boxes = self._detect(search_copy, first, "colour", max(search_copy.shape[:2]))
        if boxes:
            return _located(name, image, _enlarged(boxes, search_scale, image.pixels), 0, first)
        small, scale = search_copy, search_scale
        if search != "exhaustive":
            small, shrink = resize_longest(search_copy, side // 2)
            scale *= shrink
        small_side = max(small.shape[:2])  # searched as it is
        for degrees, turn in _TURNS:
            boxes = self._detect(np.ascontiguousarray(cv2.rotate(small, turn)), first, "glance", small_side)
            if boxes:
                turned = np.ascontiguousarray(cv2.rotate(image.pixels, turn))
                return _located(
                    name, LoadedImage(turned, image.info), _enlarged(boxes, scale, turned), degrees, first
                )
        if self.detector != "hog":
            cnn_effort: Effort = "full" if search == "exhaustive" else "glance"  # upsampled when small
            boxes = self._detect(small, "cnn", cnn_effort, small_side)
            if boxes:
                return _located(name, image, _enlarged(boxes, scale, image.pixels), 0, "cnn")
        if self.detector != "cnn" and search == "exhaustive":
            rescued = self._rescued(name, image, search_copy, search_scale)
            if rescued is not None:
                return rescued
            boxes = self._detect(image.pixels, "hog", "small")
            if boxes:
                return _located(name, image, boxes, 0, "hog")
        return _located(name, image, [])

    def _rescued(self, name: str, image: LoadedImage, copy: np.ndarray, scale: float) -> Located | None:
        """A worn document's face, found on a copy made to show it (the ``rescue`` setting):
        contrast restored, or turned a little (a portrait tilted on the scanner). The face is
        found and its landmarks placed on the copy; the chip is cut from the original image."""
        steps = rescue_steps()
        if "restored" in steps:
            for restored, enlarged in _restored(cv2.cvtColor(copy, cv2.COLOR_RGB2GRAY)):
                for detector in ("hog", "cnn") if self.detector == "auto" else ("hog",):
                    boxes = self._detect(restored, detector, "glance", max(restored.shape[:2]))
                    if boxes:
                        shift = (enlarged - 1.0) / 2  # pixel centres: (p + 0.5) · e - 0.5
                        zoom = np.array([[enlarged, 0.0, shift], [0.0, enlarged, shift]])
                        return _from_copy(name, image, restored, boxes, zoom, scale, detector)
        if "tilted" in steps:
            for degrees in _TILTS:
                matrix, size = _tilt(copy.shape, degrees)
                tilted = cv2.warpAffine(
                    copy, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
                )
                boxes = self._detect(tilted, "hog", "glance", max(size))
                if boxes:
                    return _from_copy(name, image, tilted, boxes, matrix, scale, "hog")
        return None

    def quality(
        self, source: ImageSource | LoadedImage, side: QualitySide, *, label: str | None = None
    ) -> tuple[LoadedImage, QualityReport]:
        """The quality gates of the face ``locate`` picks in one image, held to the profile's limits.

        Returns the image as analysed (turned if it had to be) and the report. Raises
        ``NoFaceFound`` when there is no face, and ``InputError`` for an unusable image.
        """
        located = self.locate(source, side, label=label)
        report = self._assess(located, side)
        if report is None:
            raise NoFaceFound(
                f"{located.image.info.source}: no face found; "
                "use a photo showing the face, upright and in focus"
            )
        return located.image, report

    def gates(self, located: Located, side: QualitySide) -> Located:
        """``located`` with its first face's quality gates assessed against the profile's limits
        (unchanged without a face)."""
        return dataclasses.replace(located, quality=self._assess(located, side))

    def check_frame(self, source: ImageSource | LoadedImage, *, label: str | None = None) -> FrameCheck:
        """One camera frame at a glance, for live guidance: a single cheap HOG pass (no turning,
        no CNN), then the live gates of the face found. Raises ``InputError`` for a bad image."""
        image = source if isinstance(source, LoadedImage) else load_image(source, name=label)
        boxes = self._detect(image.pixels, "hog", "glance")
        if not boxes:
            return FrameCheck(image, (), None)
        landmarks = find_landmarks(image.pixels, boxes[0])
        report = assess(image, boxes, landmarks, side="live", limits=self.profile.limits)
        return FrameCheck(image, tuple(boxes), report)

    def compare(
        self, document: Located, live: Located, *, document_reasons: Sequence[Reason] = ()
    ) -> Verdict:
        """The verdict on two sides already located (a station keeps the document's between
        travellers' photos); audited like ``verify``; ``document_reasons`` as for ``verify``."""
        started = time.perf_counter()
        return self._logged(self._finish(document, live, started, {}, document_reasons))

    def analyse(
        self, source: ImageSource | LoadedImage, name: str = "image", *, label: str | None = None
    ) -> Side:
        """One image, located and embedded; ``Side.face`` is None when no face was found."""
        located = self.locate(source, name, label=label)
        return located.side(self._embed([located])[0])

    def embed_located(self, located: Sequence[Located]) -> list[Side]:
        """Sides already located, embedded together (one batch for the engine, so a data set's
        chunk of images costs less a face than one at a time)."""
        return [item.side(vector) for item, vector in zip(located, self._embed(list(located)), strict=True)]

    # -- comparisons -------------------------------------------------------------------------

    def verify(
        self,
        document: ImageSource | LoadedImage,
        live: ImageSource | LoadedImage,
        *,
        document_label: str | None = None,
        live_label: str | None = None,
        document_reasons: Sequence[Reason] = (),
        document_id: tuple[str, str] | None = None,
    ) -> Verdict:
        """Compare a document portrait with a live image. Raises ``InputError`` for bad images.

        ``document_reasons`` are what reading the document found (``impostor.document``): they
        lead the verdict's reasons and make a MATCH a REFER (``impostor.stages.decide``).
        ``document_id`` (issuing state, number) goes to the audit log as a keyed hash only."""
        started = time.perf_counter()
        _ = self.profile  # a bad profile is reported before any image work
        # each side is read, searched and measured in its own thread (decoding, HOG and the
        # measures let go of Python's lock); an engine that does too embeds it there as well,
        # and one that does not (dlib's) gets both faces in one batch, its helper taking one
        if not getattr(self.embedder, "parallel", False):
            (doc, doc_ms), (liv, live_ms) = self._both(
                lambda: _timed(
                    lambda: self.gates(self.locate(document, "document", label=document_label), "document")
                ),
                lambda: _timed(
                    lambda: self.gates(
                        self.locate(live, "live", label=live_label, search=self.live_search), "live"
                    )
                ),
            )
            timings = {"document": doc_ms, "live": live_ms}
            return self._logged(self._finish(doc, liv, started, timings, document_reasons), document_id)
        (document_side, doc_ms), (live_side, live_ms) = self._both(
            lambda: _timed(
                lambda: self._ready(self.locate(document, "document", label=document_label), "document")
            ),
            lambda: _timed(
                lambda: self._ready(
                    self.locate(live, "live", label=live_label, search=self.live_search), "live"
                )
            ),
        )
        return self._logged(
            self._conclude(
                document_side, live_side, started, {"document": doc_ms, "live": live_ms}, document_reasons
            ),
            document_id,
        )

    def verify_stream(
        self,
        document: ImageSource | LoadedImage,
        stream: int | str | Path,
        *,
        seconds: float | None = None,
        document_label: str | None = None,
        document_reasons: Sequence[Reason] = (),
        document_id: tuple[str, str] | None = None,
    ) -> Verdict:
        """Compare a document portrait with the best frame of a camera (index) or video file.

        The capture stops at the first frame whose face passes the live quality gates, or when
        the window (``seconds``) ends; then the best frame seen (``frame_score``) is compared.
        ``document_reasons`` and ``document_id`` are as for :meth:`verify`.
        """
        started = time.perf_counter()
        _ = self.profile  # a bad profile is reported before the camera is opened
        stop = threading.Event()  # a bad document ends the capture instead of waiting it out

        def document_side() -> tuple[Located, float]:
            try:
                return _timed(
                    lambda: self.gates(self.locate(document, "document", label=document_label), "document")
                )
            except BaseException:
                stop.set()
                raise

        (doc, doc_ms), (liv, live_ms) = self._both(
            document_side, lambda: _timed(lambda: self._best_frame(stream, seconds, stop))
        )
        return self._logged(
            self._finish(
                doc, liv, started, {"document_locate": doc_ms, "live_capture": live_ms}, document_reasons
            ),
            document_id,
        )

    # -- internals ---------------------------------------------------------------------------

    def _detect(
        self,
        pixels: np.ndarray,
        detector: Literal["hog", "cnn"],
        effort: Effort,
        side: int | None = None,
    ) -> list[FaceBox]:
        """The face to use first, then the other credible faces in view.

        Weak HOG responses (clothing, compression blocks) are kept only when nothing better
        was found: they must neither be chosen over a real face nor count as a second person.
        """
        side = side if side is not None else self.detect_side
        boxes = detect_faces(pixels, detector=detector, detect_side=side, effort=effort)
        if self.pick == "central" and len(boxes) > 1:
            # data sets such as LFW crop around their subject, whatever else is in the frame
            cy, cx = pixels.shape[0] / 2, pixels.shape[1] / 2
            boxes.sort(key=lambda box: (box.center[0] - cx) ** 2 + (box.center[1] - cy) ** 2)
        floor = self.profile.limit("min_face_score") if detector == "hog" else 0.0
        credible = [box for box in boxes if box.score >= floor]
        if not credible:
            return boxes[:1]
        return credible

    def _embed(self, located: list[Located]) -> list[np.ndarray | None]:
        chips = [item.chip for item in located if item.chip is not None]
        vectors = iter(self._vectors(chips))
        return [next(vectors) if item.chip is not None else None for item in located]

    def _vectors(self, chips: list[RGBImage]) -> NDArray[np.float64]:
        """The embeddings of chips, in grey with ``grey_chips`` (a data set's second pass when
        comparing like with like), averaged with their mirror images' with ``flip``."""
        if self.grey_chips:
            chips = [grey_chip(chip) for chip in chips]
        if self.flip and chips:
            # the mean of a face and its mirror image: twice the cost, fewer errors on LFW
            # (View 2 accuracy 98.9% → 99.1%)
            both = self.embedder.embed(
                chips + [np.ascontiguousarray(c[:, ::-1]) for c in chips], self.jitters
            )
            return np.asarray((both[: len(chips)] + both[len(chips) :]) / 2, dtype=np.float64)
        return self.embedder.embed(chips, self.jitters) if chips else np.empty((0, 128))

    def _like_with_like(self, document: Side, live: Side) -> tuple[Side, Side]:
        """With ``grey_match``, a colour face paired with a grey one is embedded again in grey:
        a grey portrait against a colour photo is compared as two grey faces (the colour says
        nothing the grey side can answer, and only moves the embedding)."""
        if not self.grey_match or document.face is None or live.face is None:
            return document, live
        grey = [is_grey_chip(side.face.chip) for side in (document, live)]  # type: ignore[union-attr]
        if grey[0] == grey[1]:
            return document, live
        colour = live if grey[0] else document
        assert colour.face is not None
        vector = self._vectors([grey_chip(colour.face.chip)])[0]
        matched = dataclasses.replace(colour, face=dataclasses.replace(colour.face, embedding=vector))
        return (document, matched) if grey[0] else (matched, live)

    def _ready(self, located: Located, side: QualitySide) -> Side:
        """One side gated and embedded (the engine on its own: the other side is in its thread)."""
        gated = self.gates(located, side)
        return gated.side(self._embed([gated])[0], gated.quality)

    def _finish(
        self,
        doc: Located,
        liv: Located,
        started: float,
        timings: dict[str, float],
        document_reasons: Sequence[Reason] = (),
    ) -> Verdict:
        """The verdict on two located sides, embedded together in one batch."""
        embed_started = time.perf_counter()
        doc_vector, live_vector = self._embed([doc, liv])
        timings["embed"] = (time.perf_counter() - embed_started) * 1000
        document = doc.side(doc_vector, doc.quality or self._assess(doc, "document"))
        live = liv.side(live_vector, liv.quality or self._assess(liv, "live"))
        return self._conclude(document, live, started, timings, document_reasons)

    def _conclude(
        self,
        document: Side,
        live: Side,
        started: float,
        timings: dict[str, float],
        document_reasons: Sequence[Reason] = (),
    ) -> Verdict:
        document, live = self._like_with_like(document, live)
        doc_vector = document.face.embedding if document.face is not None else None
        live_vector = live.face.embedding if live.face is not None else None
        distance = probability = None
        if doc_vector is not None and live_vector is not None:
            distance = float(np.linalg.norm(doc_vector - live_vector))
            probability = self.profile.probability(distance)
        decision, reasons = decide(
            document, live, distance, probability, self.profile.thresholds, document_reasons
        )
        if self.profile.weak:
            weak = Reason(
                "profile_weak",
                f"the calibration profile {self.profile.name} was fitted on too little data "
                f"({'; '.join(self.profile.weak)}): its error rates are not established",
            )
            reasons = (*reasons, weak)
        timings["total"] = (time.perf_counter() - started) * 1000
        return Verdict(
            decision=decision,
            probability=probability,
            distance=distance,
            reasons=reasons,
            document=document,
            live=live,
            profile=self.profile.ref,
            accept_distance=self.profile.accept_distance,
            reject_distance=self.profile.reject_distance,
            timings_ms=timings,
        )

    def _assess(self, located: Located, side: QualitySide) -> QualityReport | None:
        if not located.boxes or located.landmarks is None:
            return None
        return assess(
            located.image, list(located.boxes), located.landmarks, side=side, limits=self.profile.limits
        )

    def _logged(self, verdict: Verdict, document_id: tuple[str, str] | None = None) -> Verdict:
        if self.audit is not None:
            quality = {
                side.name: side.quality.to_dict() if side.quality else None
                for side in (verdict.document, verdict.live)
            }
            self.audit.append(
                verdict, station=self.station, operator=self.operator, quality=quality, document=document_id
            )
        return verdict

    def _both(self, first: Callable[[], _T], second: Callable[[], _T]) -> tuple[_T, _T]:
        # OpenCV's decoding releases the GIL, so the two sides' decoding overlaps (dlib does not)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="impostor")
        pending = self._pool.submit(second)
        return first(), pending.result()

    def _best_frame(self, stream: int | str | Path, seconds: float | None, stop: threading.Event) -> Located:
        label = f"camera {stream}" if isinstance(stream, int) else str(stream)
        best: tuple[float, LoadedImage, list[FaceBox], QualityReport | None] | None = None
        first_frame: LoadedImage | None = None
        count = 0
        frame_detector: Literal["hog", "cnn"] = "cnn" if self.detector == "cnn" else "hog"
        with open_stream(stream, seconds=seconds) as frames:
            for frame in frames:
                if stop.is_set():
                    break
                count += 1
                image = _frame_image(frame.pixels, f"{label} frame {frame.index}")
                first_frame = first_frame or image
                # frames come fast: HOG only (the CNN would cost a second per frame)
                boxes = self._detect(image.pixels, frame_detector, "near")
                if not boxes:
                    continue
                landmarks = find_landmarks(image.pixels, boxes[0])
                score = frame_score(image.pixels, boxes[0], landmarks)
                report = assess(image, boxes, landmarks, side="live", limits=self.profile.limits)
                if report.passed:
                    # good enough to compare: stop rather than keep the traveller waiting
                    best = (score, image, boxes, report)
                    break
                if best is None or score > best[0]:
                    best = (score, image, boxes, report)
        if count == 0 or first_frame is None:
            raise CaptureError(f"{label}: gave no frames")
        if best is None:
            return _located("live", first_frame, [])
        return _located("live", best[1], best[2], 0, frame_detector, best[3])

    def close(self) -> None:
        """Release the worker threads (models stay loaded for other verifiers)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None

    def __enter__(self) -> Verifier:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _frame_image(pixels: np.ndarray, label: str) -> LoadedImage:
    import hashlib

    height, width = pixels.shape[:2]
    info = ImageInfo(
        source=label,
        width=width,
        height=height,
        format="video frame",
        mode="rgb",
        bit_depth=8,
        exif_orientation=1,
        decode_scale=1,
        sha256=hashlib.sha256(pixels.tobytes()).hexdigest(),
    )
    return LoadedImage(pixels, info)


def _timed(work: Callable[[], _T]) -> tuple[_T, float]:
    started = time.perf_counter()
    result = work()
    return result, (time.perf_counter() - started) * 1000


@functools.lru_cache(maxsize=8)
def _cached_verifier(profile: str | None, detector: Detector, jitters: int) -> Verifier:
    # a process that calls verify() repeatedly gets the second core for the second chip
    return Verifier(profile, detector=detector, jitters=jitters, embedder=service_embedder())


def verify(
    document: ImageSource,
    live: ImageSource,
    *,
    profile: str | Path | None = None,
    detector: Detector = "auto",
    jitters: int = 0,
) -> Verdict:
    """Is the person in ``live`` the holder of the ``document`` portrait?

    Each image is a path, encoded bytes, or an RGB array. Returns a ``Verdict`` (MATCH,
    NO_MATCH or REFER, the calibrated probability, the distance, and reasons). Raises an
    ``InputError`` subclass for an image that cannot be used and ``ProfileError`` for a bad
    profile. The first call loads the models (about a second); later calls reuse them, with the
    engine a long-running process wants (``impostor.stages.embed.service_embedder``).
    """
    key = None if profile is None else str(Path(profile).resolve())
    return _cached_verifier(key, detector, jitters).verify(document, live)
