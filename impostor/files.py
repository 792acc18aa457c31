"""Reading a file a user named, safely: regular files only, and no more than a size limit.

A FIFO blocks forever and /dev/zero never ends; both are refused before a byte is read. Errors
are ``OSError`` subclasses, so each caller can name them in its own catalogue; ``why_unreadable``
says what went wrong in a few words for that message. Every file a command reads (images,
profiles, pair lists, certificates) goes through ``read_bounded`` under the ``max_file_mb``
setting (``max_file_bytes``).
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO

from impostor import settings

__all__ = [
    "FileTooLarge",
    "NotARegularFile",
    "max_file_bytes",
    "open_regular",
    "read_bounded",
    "why_unreadable",
]


class NotARegularFile(OSError):
    """The path is a pipe, a device or a socket, not a file."""


class FileTooLarge(OSError):
    """The file holds more bytes than the caller allows; ``size`` says how many it has (at least)."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(errno.EFBIG, f"{size / 1e6:.3g} MB, over the limit of {limit / 1e6:.3g} MB")
        self.size, self.limit = size, limit


def open_regular(path: str | Path) -> BinaryIO:
    """``path`` opened for reading in binary, once it is known to be a regular file.

    Raises ``FileNotFoundError``, ``IsADirectoryError``, ``NotARegularFile`` or another
    ``OSError``; never blocks on a FIFO.
    """
    # O_NONBLOCK: opening a FIFO must not wait for a writer before we can look at what it is
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    handle = os.fdopen(descriptor, "rb", buffering=0)
    try:
        info = os.fstat(handle.fileno())
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(errno.EISDIR, "is a folder", str(path))
        if not stat.S_ISREG(info.st_mode):
            raise NotARegularFile(errno.EINVAL, "not a regular file (a pipe or a device)", str(path))
    except BaseException:
        handle.close()
        raise
    return handle


def read_bounded(path: str | Path, max_bytes: int) -> bytes:
    """The bytes of the regular file ``path``, which must hold at most ``max_bytes``.

    Raises ``FileNotFoundError``, ``IsADirectoryError``, ``NotARegularFile``, ``FileTooLarge``,
    or another ``OSError`` when the file cannot be read.
    """
    with open_regular(path) as handle:
        info = os.fstat(handle.fileno())
        if info.st_size > max_bytes:
            raise FileTooLarge(info.st_size, max_bytes)
        # an unbuffered read may return less than asked (a network file system): read on to
        # the end, or one byte past the limit
        chunks, size = [], 0
        while size <= max_bytes:
            chunk = handle.read(max_bytes + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        data = b"".join(chunks)
    if len(data) > max_bytes:  # it grew while we read it
        raise FileTooLarge(len(data), max_bytes)
    return bytes(data)


def max_file_bytes() -> int:
    """The most bytes a file a user names may hold: the ``max_file_mb`` setting, in bytes."""
    return int(float(settings.get("max_file_mb")) * 2**20)


def why_unreadable(error: OSError) -> str:
    """Why ``read_bounded`` could not read a file, in a few words for a message that names it."""
    if isinstance(error, FileNotFoundError):
        return "no such file"
    if isinstance(error, IsADirectoryError):
        return "is a folder, not a file"
    if isinstance(error, NotARegularFile):
        return "not a regular file but a pipe or a device"
    if isinstance(error, FileTooLarge):
        return (
            f"{error.size / 2**20:.3g} MB, over the file size limit of {error.limit / 2**20:.3g} MB; "
            "raise IMPOSTOR_MAX_FILE_MB to read it"
        )
    return error.strerror or str(error)
