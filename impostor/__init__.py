"""impostor: is the person at the counter the person in the travel document?

The small public vocabulary::

    verify(document, live) -> Verdict        one comparison, models cached across calls
    Verifier(profile=..., detector=...)      the same, holding its configuration
    load_image(source) -> LoadedImage        capture stage on its own
    load_profile(path) -> Profile            a validated calibration profile

Nothing is loaded at import: dlib's models are read on the first comparison.

The package, by layer (imports run downwards only; ``tests/test_architecture.py`` holds them)::

    foundation   errors, types, settings, weights, arrays, db, jsonio, markup, resources
    stages       capture, detect, align, quality, embed, score, calibrate, decide, audit
    composition  profile, pipeline (the Verifier), composite
    by job       qa/ (benchmark and calibration), practice/ (training officers)
    commands     cli/ (nothing imports it)
"""

from __future__ import annotations

from impostor._version import __version__
from impostor.capture import load_image
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
from impostor.pipeline import Verifier, verify
from impostor.profile import Profile, load_profile
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
