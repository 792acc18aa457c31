"""Reading a file a user named, safely: regular files only, and no more than a size limit.

A FIFO blocks forever and /dev/zero never ends; both are refused before a byte is read. Errors
are ``OSError`` subclasses, so each caller can name them in its own catalogue.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

__all__ = ["FileTooLarge", "NotARegularFile", "read_bounded"]


class NotARegularFile(OSError):
    """The path is a pipe, a device or a socket, not a file."""


class FileTooLarge(OSError):
    """The file holds more bytes than the caller allows; ``size`` says how many it has (at least)."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(errno.EFBIG, f"{size / 1e6:.3g} MB, over the limit of {limit / 1e6:.3g} MB")
        self.size, self.limit = size, limit


def read_bounded(path: str | Path, max_bytes: int) -> bytes:
    """The bytes of the regular file ``path``, which must hold at most ``max_bytes``.

    Raises ``FileNotFoundError``, ``IsADirectoryError``, ``NotARegularFile``, ``FileTooLarge``,
    or another ``OSError`` when the file cannot be read.
    """
    # O_NONBLOCK: opening a FIFO must not wait for a writer before we can look at what it is
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(descriptor, "rb", buffering=0) as handle:
        info = os.fstat(handle.fileno())
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(errno.EISDIR, "is a folder", str(path))
        if not stat.S_ISREG(info.st_mode):
            raise NotARegularFile(errno.EINVAL, "not a regular file (a pipe or a device)", str(path))
        if info.st_size > max_bytes:
            raise FileTooLarge(info.st_size, max_bytes)
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:  # it grew while we read it
        raise FileTooLarge(len(data), max_bytes)
    return bytes(data)
