"""Every error impostor raises on purpose, and the exit code the CLI gives it.

The hierarchy::

    ImpostorError                 base class; never raised itself
    ├── InputError                something wrong with an image the caller gave us
    │   ├── ImageNotFound         the path does not exist or cannot be opened        (exit 4)
    │   ├── NotAnImage            the bytes are not an image format we can decode     (exit 5)
    │   ├── ImageTooLarge         more pixels than the configured limit               (exit 6)
    │   └── UnsupportedImage      decodes, but cannot be used (too small, odd depth)  (exit 7)
    ├── CaptureError              a camera or video clip gave no usable frame         (exit 8)
    ├── ProfileError              a calibration profile is missing or invalid         (exit 9)
    ├── OutputError               a file we were asked to write cannot be written     (exit 10)
    ├── NoFaceFound               a single-image operation found no face              (exit 11)
    ├── DatasetError              a data set or pair list cannot be used              (exit 12)
    ├── ClusterError              a Dask scheduler cannot be reached                  (exit 13)
    ├── AuditError                the audit log cannot be used, or its chain is broken (exit 14)
    └── PracticeError             a practice set or results database cannot be used  (exit 15)

Decisions are not errors: ``compare`` exits 0 for MATCH, 1 for NO_MATCH and 3 for REFER
(a missing face during a comparison is a REFER with its reason, not an exception).
Every message names the input it is about and says what to do.
"""

from __future__ import annotations

__all__ = [
    "AuditError",
    "CaptureError",
    "ClusterError",
    "DatasetError",
    "ImageNotFound",
    "ImageTooLarge",
    "ImpostorError",
    "InputError",
    "NoFaceFound",
    "NotAnImage",
    "OutputError",
    "PracticeError",
    "ProfileError",
    "UnsupportedImage",
]


class ImpostorError(Exception):
    """Base class of every deliberate impostor error."""

    exit_code: int = 70


class InputError(ImpostorError):
    """An input image cannot be used."""

    exit_code = 5


class ImageNotFound(InputError):
    exit_code = 4


class NotAnImage(InputError):
    exit_code = 5


class ImageTooLarge(InputError):
    exit_code = 6


class UnsupportedImage(InputError):
    exit_code = 7


class CaptureError(ImpostorError):
    exit_code = 8


class ProfileError(ImpostorError):
    exit_code = 9


class OutputError(ImpostorError):
    exit_code = 10


class NoFaceFound(ImpostorError):
    exit_code = 11


class DatasetError(ImpostorError):
    exit_code = 12


class ClusterError(ImpostorError):
    exit_code = 13


class AuditError(ImpostorError):
    exit_code = 14


class PracticeError(ImpostorError):
    exit_code = 15
