"""Every error impostor raises on purpose.

The hierarchy::

    ImpostorError                 base class; never raised itself
    ├── ConfigError               an option or setting has a value that cannot be used
    ├── InputError                something wrong with an image the caller gave us
    │   ├── ImageNotFound         the path does not exist or cannot be opened
    │   ├── NotAnImage            the bytes are not an image format we can decode
    │   ├── ImageTooLarge         more pixels than the configured limit
    │   └── UnsupportedImage      decodes, but cannot be used (too small, odd depth)
    ├── CaptureError              a camera or video clip gave no usable frame
    ├── ProfileError              a calibration profile is missing or invalid
    │   └── WeakProfile           a profile fitted on too little data to keep its promises
    ├── OutputError               a file we were asked to write cannot be written
    ├── NoFaceFound               a single-image operation found no face
    ├── DatasetError              a data set or pair list cannot be used
    ├── ClusterError              a Dask scheduler cannot be reached
    ├── AuditError                the audit log cannot be used, or its chain is broken
    ├── PracticeError             a practice set or results database cannot be used
    ├── StationError              the counter station's accounts or settings cannot be used
    ├── ModelFileError            a model file is not the network it should be, or cannot be built
    ├── DocumentError             a travel document's MRZ, chip file or page cannot be read
    └── ChipError                 a passport's chip cannot be reached or read through a reader
        ├── NoReader              no PC/SC reader (or not the one asked for), or no PC/SC service
        ├── CardAbsent            no card on the reader, or the card was taken away mid-read
        ├── CardTimeout           the card or reader did not answer in time
        └── AccessDenied          BAC or PACE failed: the MRZ or CAN given does not open the chip

Decisions are not errors: a missing face during a comparison is a REFER with its reason, not
an exception. Every message names the input it is about and says what to do. The exit code
each error gives is the command line's business (``impostor.cli.common.EXIT_CODES``).
"""

from __future__ import annotations

__all__ = [
    "AccessDenied",
    "AuditError",
    "CaptureError",
    "CardAbsent",
    "CardTimeout",
    "ChipError",
    "ClusterError",
    "ConfigError",
    "DatasetError",
    "DocumentError",
    "ImageNotFound",
    "ImageTooLarge",
    "ImpostorError",
    "InputError",
    "ModelFileError",
    "NoFaceFound",
    "NoReader",
    "NotAnImage",
    "OutputError",
    "PracticeError",
    "ProfileError",
    "StationError",
    "UnsupportedImage",
    "WeakProfile",
    "quoted",
]


class ImpostorError(Exception):
    """Base class of every deliberate impostor error."""


class ConfigError(ImpostorError):
    """An option or setting has a value that cannot be used."""


class InputError(ImpostorError):
    """An input image cannot be used."""


class ImageNotFound(InputError):
    """The image path does not exist or cannot be opened."""


class NotAnImage(InputError):
    """The bytes are not an image we can decode, or are truncated."""


class ImageTooLarge(InputError):
    """The image has more pixels than the configured limit."""


class UnsupportedImage(InputError):
    """The image decodes but cannot be used (too small, an odd pixel type)."""


class CaptureError(ImpostorError):
    """A camera or video clip cannot be opened or gives no frame."""


class ProfileError(ImpostorError):
    """A calibration profile is missing or invalid."""


class WeakProfile(ProfileError):
    """A profile would be fitted on too few pairs for its targets, or without a REFER band."""


class OutputError(ImpostorError):
    """A file we were asked to write cannot be written."""


class NoFaceFound(ImpostorError):
    """A single-image operation found no face."""


class DatasetError(ImpostorError):
    """A data set or pair list cannot be used."""


class ClusterError(ImpostorError):
    """A Dask scheduler cannot be reached or used."""


class AuditError(ImpostorError):
    """The audit log cannot be used, or its chain is broken."""


class PracticeError(ImpostorError):
    """A practice set or practice results database cannot be used."""


class StationError(ImpostorError):
    """The counter station's accounts or settings cannot be used."""


class ModelFileError(ImpostorError):
    """A model file is not the network it should be, or its converted form cannot be built."""


class DocumentError(ImpostorError):
    """A travel document's MRZ text, chip file or page scan cannot be read as one."""


class ChipError(ImpostorError):
    """A passport's chip cannot be reached or read through a reader, or answers out of protocol."""


class NoReader(ChipError):
    """No PC/SC service or reader, or not the reader that was asked for."""


class CardAbsent(ChipError):
    """No card lies on the reader, or the card was taken away in the middle of a read."""


class CardTimeout(ChipError):
    """The card or the reader did not answer within the time allowed."""


class AccessDenied(ChipError):
    """Basic access control or PACE failed: the MRZ or CAN given does not open this chip."""


def quoted(value: object) -> str:
    """A bad value for a message: ``repr(value)``, cut short (it may be a 10**400 integer or a
    list nested 200,000 deep)."""
    try:
        text = repr(value)
    except (RecursionError, ValueError):  # too deep, or too many digits to print
        return f"a {type(value).__name__}"
    return text if len(text) <= 60 else text[:57] + "..."
