"""The composition: capture → detect → align → quality → embed → score → decide.

``Verifier`` wires the stage objects: a face finder (``impostor.pipeline.finder``: the search
cascade and a worn document's rescue), the camera's best frame (``impostor.pipeline.frames``),
the embedding with its grey and mirror passes (``impostor.stages.embed.embed_chips``) and the
one distance (``impostor.stages.score.distance``). It holds what is expensive (the profile, and
through ``impostor.engine.weights`` the dlib models, loaded on first use) so that a counter
process pays for it once. ``verify`` is the one-call form, with a verifier cached per
configuration.
"""

from __future__ import annotations

import dataclasses
import functools
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from impostor.engine.detectors import Detector
from impostor.errors import NoFaceFound
from impostor.pipeline import frames
from impostor.pipeline.finder import PICKS, SEARCHES, FaceFinder, Pick, Search, detectors_for
from impostor.pipeline.frames import FrameCheck
from impostor.pipeline.located import Located
from impostor.pipeline.profile import Profile, load_profile
from impostor.pipeline.rescue import rescue_steps
from impostor.stages.capture import ImageSource, load_image
from impostor.stages.decide import decide
from impostor.stages.embed import (
    Embedder,
    default_embedder,
    embed_chips,
    grey_chip,
    is_grey_chip,
    service_embedder,
)
from impostor.stages.quality import QualitySide, assess
from impostor.stages.score import distance
from impostor.types import LoadedImage, QualityReport, Reason, RGBImage, Side, Verdict

__all__ = [
    "PICKS",
    "SEARCHES",
    "FrameCheck",
    "Located",
    "Pick",
    "Search",
    "Verifier",
    "grey_chip",
    "is_grey_chip",
    "verify",
]

_T = TypeVar("_T")


class Verifier:
    """Compares document portraits with live faces under one profile and one configuration.

    ``profile`` is a ``Profile``, a path to one, or None for the default. ``detector`` is
    ``"auto"`` (default: HOG, then dlib's CNN detector only where HOG finds no face), ``"hog"``
    (HOG alone), ``"cnn"`` (CNN alone: finds more turned and small faces, ~20× slower), or a
    ``Detector`` (``impostor.engine.detectors``) alone; it is chosen once, here.
    ``pick`` says which face stands for an image holding several: ``"largest"`` (the counter's
    rule) or ``"central"`` (for data sets cropped around their subject, such as LFW).
    ``live_search`` says how hard to look for the live face (``SEARCHES``): a station whose live
    photos come from its own camera looks ``"upright"`` only, and a frame without a face is
    answered at once. ``jitters`` > 0 averages the embedding over that many perturbed copies,
    and ``flip`` averages it with its mirror image's (each slower, slightly more accurate; a
    profile must be fitted with the same choice, so ``flip`` follows the profile unless given).
    Models are loaded on first use and shared by every verifier in the process.
    Each face found is checked against the profile's quality limits (``impostor.stages.quality``);
    a failed gate makes the decision REFER. The Verifier decides and keeps no record: a
    comparison is logged by the service that asked for it (``impostor.services.comparison``).
    """

    def __init__(
        self,
        profile: Profile | str | Path | None = None,
        *,
        detector: str | Detector = "auto",
        jitters: int = 0,
        embedder: Embedder | None = None,
        detect_side: int | None = None,
        pick: Pick = "largest",
        flip: bool | None = None,
        grey_match: bool | None = None,
        grey_chips: bool = False,
        live_search: Search = "thorough",
    ) -> None:
        self._first, self._fallback = detectors_for(detector)  # ValueError for an unknown name
        if jitters < 0:
            raise ValueError(f"jitters must be 0 or more, not {jitters}")
        if pick not in PICKS:
            raise ValueError(f"pick must be 'largest' or 'central', not {pick!r}")
        if live_search not in SEARCHES:
            raise ValueError(f"live_search must be one of {', '.join(SEARCHES)}, not {live_search!r}")
        rescue_steps()  # a mistyped setting is told when the verifier is made, not at the first worn page
        self._profile_source = profile
        self._profile: Profile | None = profile if isinstance(profile, Profile) else None
        self.pick: Pick = pick
        self._detector = detector
        self.jitters = jitters
        self._flip = flip
        self._grey_match = grey_match
        self.grey_chips = grey_chips
        self.live_search: Search = live_search
        self.embedder: Embedder = embedder or default_embedder()
        self.detect_side = detect_side
        self._pool: ThreadPoolExecutor | None = None

    @property
    def detector(self) -> str:
        """The detector choice: ``"auto"``, ``"hog"``, ``"cnn"``, or the name of the one given."""
        return self._detector if isinstance(self._detector, str) else self._detector.name

    @property
    def finder(self) -> FaceFinder:
        """The face finder this verifier's configuration makes (its detectors, its pick, its
        search size, the profile's floor for weak HOG faces)."""
        return FaceFinder(
            self._first,
            self._fallback,
            self.pick,
            self.detect_side,
            self.profile.limit("min_face_score"),
        )

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
        (``SEARCHES``: the image as it stands, turned, the CNN, a small face). Raises
        ``InputError`` for an image that cannot be used; no face gives a ``Located`` without boxes."""
        image = source if isinstance(source, LoadedImage) else load_image(source, name=label)
        return self.finder.locate(image, name, search)

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
        return frames.check_frame(self.finder, image, self.profile.limits)

    def compare(
        self, document: Located, live: Located, *, document_reasons: Sequence[Reason] = ()
    ) -> Verdict:
        """The verdict on two sides already located (a station keeps the document's between
        travellers' photos); ``document_reasons`` as for ``verify``."""
        started = time.perf_counter()
        return self._finish(document, live, started, {}, document_reasons)

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
    ) -> Verdict:
        """Compare a document portrait with a live image. Raises ``InputError`` for bad images.

        ``document_reasons`` are what reading the document found (``impostor.document``): they
        lead the verdict's reasons and make a MATCH a REFER (``impostor.stages.decide``)."""
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
            return self._finish(doc, liv, started, timings, document_reasons)
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
        return self._conclude(
            document_side, live_side, started, {"document": doc_ms, "live": live_ms}, document_reasons
        )

    def verify_stream(
        self,
        document: ImageSource | LoadedImage,
        stream: int | str | Path,
        *,
        seconds: float | None = None,
        document_label: str | None = None,
        document_reasons: Sequence[Reason] = (),
    ) -> Verdict:
        """Compare a document portrait with the best frame of a camera (index) or video file.

        The capture stops at the first frame whose face passes the live quality gates, or when
        the window (``seconds``) ends; then the best frame seen (``frame_score``) is compared.
        ``document_reasons`` is as for :meth:`verify`.
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
            document_side,
            lambda: _timed(
                lambda: frames.best_frame(self.finder, stream, seconds, self.profile.limits, stop)
            ),
        )
        return self._finish(
            doc, liv, started, {"document_locate": doc_ms, "live_capture": live_ms}, document_reasons
        )

    # -- internals ---------------------------------------------------------------------------

    def _embed(self, located: list[Located]) -> list[np.ndarray | None]:
        chips = [item.chip for item in located if item.chip is not None]
        vectors = iter(self._vectors(chips))
        return [next(vectors) if item.chip is not None else None for item in located]

    def _vectors(self, chips: list[RGBImage], *, grey: bool = False) -> NDArray[np.float64]:
        """The embeddings of chips as this verifier makes them (in grey with ``grey_chips`` or
        ``grey``, mirror-averaged with ``flip``)."""
        return embed_chips(
            self.embedder, chips, jitters=self.jitters, flip=self.flip, grey=grey or self.grey_chips
        )

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
        vector = self._vectors([colour.face.chip], grey=True)[0]
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
        gap = probability = None
        if doc_vector is not None and live_vector is not None:
            gap = distance(doc_vector, live_vector)
            probability = self.profile.probability(gap)
        decision, reasons = decide(
            document, live, gap, probability, self.profile.thresholds, document_reasons
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
            distance=gap,
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

    def _both(self, first: Callable[[], _T], second: Callable[[], _T]) -> tuple[_T, _T]:
        # OpenCV's decoding releases the GIL, so the two sides' decoding overlaps (dlib does not)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="impostor")
        pending = self._pool.submit(second)
        return first(), pending.result()

    def close(self) -> None:
        """Release the worker threads (models stay loaded for other verifiers)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None

    def __enter__(self) -> Verifier:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _timed(work: Callable[[], _T]) -> tuple[_T, float]:
    started = time.perf_counter()
    result = work()
    return result, (time.perf_counter() - started) * 1000


@functools.lru_cache(maxsize=8)
def _cached_verifier(profile: str | None, detector: str, jitters: int) -> Verifier:
    # a process that calls verify() repeatedly gets the second core for the second chip
    return Verifier(profile, detector=detector, jitters=jitters, embedder=service_embedder())


def verify(
    document: ImageSource,
    live: ImageSource,
    *,
    profile: str | Path | None = None,
    detector: str = "auto",
    jitters: int = 0,
) -> Verdict:
    """Is the person in ``live`` the holder of the ``document`` portrait?

    Each image is a path, encoded bytes, or an RGB array; ``detector`` names the detectors as
    for ``Verifier`` (``"auto"``, ``"hog"``, ``"cnn"``). Returns a ``Verdict`` (MATCH,
    NO_MATCH or REFER, the calibrated probability, the distance, and reasons). Raises an
    ``InputError`` subclass for an image that cannot be used and ``ProfileError`` for a bad
    profile. The first call loads the models (about a second); later calls reuse them, with the
    engine a long-running process wants (``impostor.stages.embed.service_embedder``).
    """
    key = None if profile is None else str(Path(profile).resolve())
    return _cached_verifier(key, detector, jitters).verify(document, live)
