"""Data sets laid out as one sub-folder per person.

``scan`` lists a folder such as LFW's ``lfw/``: every image directly inside a person folder,
with what it found and did not use (and why) in ``Dataset.skipped``. The pair lists scored on
a data set are ``impostor.qa.pairs``'s.
"""

from __future__ import annotations

import errno
import functools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from impostor.errors import DatasetError
from impostor.headers import SNIFF_BYTES, looks_like_image

__all__ = ["IMAGE_SUFFIXES", "Dataset", "Skipped", "scan"]

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".jp2", ".j2k"})


@dataclass(frozen=True)
class Skipped:
    """Something found but not used. ``path`` is the file or folder (relative to the data set's
    root), or for a pair list the text of the line; ``reason`` says why in plain words."""

    path: str
    reason: str


@dataclass(frozen=True)
class Dataset:
    """The images of a data set, one identity per person folder.

    ``images`` are posix paths relative to ``root`` (which is absolute), sorted; ``identities``
    holds the person folder of each image, in the same order.
    """

    root: Path
    images: tuple[str, ...]
    identities: tuple[str, ...]
    skipped: tuple[Skipped, ...]

    def index(self) -> dict[str, int]:
        """Each image path → its position in ``images``."""
        return {path: position for position, path in enumerate(self.images)}

    @functools.cached_property
    def identity_codes(self) -> NDArray[np.int64]:
        """One integer per image, shaped ``(len(images),)``: equal codes, same person.

        Codes number the people in sorted order of their folder names, from 0.
        """
        _, codes = np.unique(np.asarray(self.identities, dtype=object), return_inverse=True)
        codes = codes.astype(np.int64).reshape(-1)
        codes.setflags(write=False)
        return codes

    @property
    def people(self) -> int:
        """How many distinct people (person folders with at least one image)."""
        return len(set(self.identities))


# -- scanning -----------------------------------------------------------------------------------


def scan(root: str | Path) -> Dataset:
    """List the images of a data set laid out as ``root/PERSON/IMAGE``.

    Files directly inside a person folder are used when their name has an image suffix (jpg
    jpeg png bmp tif tiff webp jp2 j2k, any case; the loader then says what is wrong with a
    broken one) or when their content starts like an image (ORL's .pgm, Yale's .gif, files
    without a suffix); everything else found (files at the top level, hidden files and
    folders, pipes and devices, other files, folders nested inside a person folder, empty person
    folders, broken or looping links, a folder linked twice) is listed in ``skipped`` with the
    reason. Symbolic links to files and folders are followed. Images are not opened here.

    Raises ``DatasetError`` when ``root`` does not exist, is not a folder, cannot be read, or
    holds no person folder with an image.
    """
    folder = Path(root).expanduser()
    if not folder.exists():
        raise DatasetError(f"{folder}: no such folder; give the folder that holds one sub-folder per person")
    if not folder.is_dir():
        raise DatasetError(f"{folder}: is not a folder; give the folder that holds one sub-folder per person")
    folder = folder.resolve()
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError as exc:
        raise DatasetError(f"{folder}: cannot be read ({exc.strerror or exc})") from None

    images: list[tuple[str, str]] = []
    skipped: list[Skipped] = []
    seen_folders: dict[tuple[int, int], str] = {}
    nests: list[str] = []  # person folders that only hold folders: perhaps root is one level too high
    for entry in entries:
        if entry.name.startswith("."):
            skipped.append(Skipped(entry.name, "hidden folder" if _is_dir(entry) else "hidden file"))
            continue
        problem = _link_problem(entry)
        if problem:
            skipped.append(Skipped(entry.name, problem))
            continue
        if not _is_dir(entry):
            skipped.append(Skipped(entry.name, "not in a person folder (top level)"))
            continue
        try:
            identity = os.stat(entry.path)
        except OSError as exc:
            skipped.append(Skipped(entry.name, f"cannot be read ({exc.strerror or exc})"))
            continue
        key = (identity.st_dev, identity.st_ino)
        if key in seen_folders:
            skipped.append(Skipped(entry.name, f"the same folder as {seen_folders[key]} (linked twice)"))
            continue
        seen_folders[key] = entry.name
        found, nested = _scan_person(Path(entry.path), entry.name, skipped)
        images.extend((f"{entry.name}/{name}", entry.name) for name in found)
        if not found and nested:
            nests.append(entry.name)

    if not images:
        hint = f"; did you mean {folder / nests[0]}?" if nests else ""
        raise DatasetError(
            f"{folder}: holds no person folder with an image (expected one sub-folder per person, "
            f"such as {folder / 'Jane_Doe' / 'Jane_Doe_0001.jpg'}){hint}"
        )
    images.sort()
    return Dataset(
        root=folder,
        images=tuple(path for path, _ in images),
        identities=tuple(person for _, person in images),
        skipped=tuple(skipped),
    )


def _scan_person(folder: Path, person: str, skipped: list[Skipped]) -> tuple[list[str], bool]:
    """The image file names directly inside one person folder, and whether it holds folders."""
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError as exc:
        skipped.append(Skipped(person, f"cannot be read ({exc.strerror or exc})"))
        return [], False
    if not entries:
        skipped.append(Skipped(person, "empty folder"))
        return [], False
    found: list[str] = []
    nested = False
    for entry in entries:
        where = f"{person}/{entry.name}"
        if entry.name.startswith("."):
            skipped.append(Skipped(where, "hidden folder" if _is_dir(entry) else "hidden file"))
            continue
        problem = _link_problem(entry)
        if problem:
            skipped.append(Skipped(where, problem))
        elif _is_dir(entry):
            nested = True
            skipped.append(Skipped(where, "folder inside a person folder (not scanned)"))
        elif not _is_file(entry):  # a FIFO would block its reader, a device never end
            skipped.append(Skipped(where, "not a regular file (a pipe or a device)"))
        elif Path(entry.name).suffix.lower() in IMAGE_SUFFIXES or _sniffed(entry.path):
            found.append(entry.name)
        else:
            suffix = Path(entry.name).suffix
            skipped.append(
                Skipped(where, f"not an image ({suffix})" if suffix else "not an image (no suffix)")
            )
    if not found:
        skipped.append(Skipped(person, "no image in this person folder"))
    return found, nested


def _sniffed(path: str) -> bool:
    """Whether a file whose name says nothing starts like an image (ORL's .pgm, Yale's .gif)."""
    try:
        with open(path, "rb") as handle:
            return looks_like_image(handle.read(SNIFF_BYTES))
    except OSError:
        return False


def _is_file(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_file()
    except OSError:
        return False


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _link_problem(entry: os.DirEntry[str]) -> str | None:
    """Why a symbolic link cannot be followed, or None when it can (or is not a link)."""
    if not entry.is_symlink():
        return None
    try:
        os.stat(entry.path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symbolic link loop"
        if exc.errno == errno.ENOENT:
            return "broken symbolic link"
        return f"symbolic link cannot be followed ({exc.strerror or exc})"
    return None


# -- pair lists ---------------------------------------------------------------------------------
