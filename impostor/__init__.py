"""impostor: is the person at the counter the person in the travel document?

The small public vocabulary::

    verify(document, live) -> Verdict        one comparison, models cached across calls
    Verifier(profile=..., detector=...)      the same, holding its configuration
    load_image(source) -> LoadedImage        capture stage on its own
    load_profile(path) -> Profile            a validated calibration profile

Nothing is loaded at import: dlib's models are read on the first comparison.

The package, by folder (imports run downwards only; ``tests/test_architecture.py`` holds them)::

    (root)       foundation: errors, types, settings, files, headers, db, i18n, jsonio, markup ...
    engine/      the networks (weights, readers, ONNX builders, detectors)
    stages/      capture, detect, align, quality, embed, score, calibrate, decide
    records/     the audit log and its review          web/   what both web apps share
    pipeline/    the Verifier wiring the stages; profile, composite, portrait
    document/    MRZ, data page and chip files          card/  the chip through a reader
    services/    one service per thing a user does (compare a document, a back-office batch)
    by job       qa/ (benchmark, calibration), practice/ (training), station/ (the counter)
    commands     cli/ (nothing imports it)
"""

from __future__ import annotations

from impostor._version import __version__
from impostor.errors import (
    CaptureError,
    ClusterError,
    DatasetError,
    ImageNotFound,
    ImageTooLarge,
    ImpostorError,
    InputError,
    NoFaceFound,
    NotAnImage,
    OutputError,
    ProfileError,
    UnsupportedImage,
)
from impostor.pipeline.profile import Profile, load_profile
from impostor.pipeline.verifier import Verifier, verify
from impostor.stages.capture import load_image
from impostor.types import Decision, Face, FaceBox, Landmarks, LoadedImage, Reason, Side, Verdict

__all__ = [
    "CaptureError",
    "ClusterError",
    "DatasetError",
    "Decision",
    "Face",
    "FaceBox",
    "ImageNotFound",
    "ImageTooLarge",
    "ImpostorError",
    "InputError",
    "Landmarks",
    "LoadedImage",
    "NoFaceFound",
    "NotAnImage",
    "OutputError",
    "Profile",
    "ProfileError",
    "Reason",
    "Side",
    "UnsupportedImage",
    "Verdict",
    "Verifier",
    "__version__",
    "load_image",
    "load_profile",
    "verify",
]
