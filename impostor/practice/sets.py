"""Practice set files: portable JSON naming each pair's images by path and content digest.

A set file (schema ``impostor.practice-set/1``) lists its items in order. Each image is a
relative POSIX path plus its SHA-256, looked for first beside the set file, then under the
data set the set was built from (``provenance.dataset.root``). The answer key (``same``, the
people's names, the algorithm's view) lives in the file: the file stays with the trainer and
only the server reads it.

``pack`` writes a set and every image it needs into one zip for another site; the images are
renamed by digest (no person names in the archive's file names) and the set inside points at
them. ``load_set`` reads a set file or such a zip.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

from impostor import settings
from impostor.errors import OutputError, PracticeError
from impostor.qa import file_digest

__all__ = ["SCHEMA", "ImageRef", "Item", "PracticeSet", "load_set", "pack", "pair_key"]

SCHEMA = "impostor.practice-set/1"
_SET_IN_PACK = "set.json"
_DIGEST = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class ImageRef:
    """One image of an item: ``path`` relative to the set file or the data set, its ``sha256``,
    the ``person`` it shows (the person folder's name), and for a rendered document portrait the
    photo it was made from (``source``)."""

    path: str
    sha256: str
    person: str
    source: ImageRef | None = None

    def to_dict(self) -> dict[str, Any]:
        """The image reference as a set's JSON file holds it."""
        data: dict[str, Any] = {"path": self.path, "sha256": self.sha256, "person": self.person}
        if self.source is not None:
            data["source"] = self.source.to_dict()
        return data


@dataclass(frozen=True)
class Item:
    """A pair to judge: ``left`` is shown as the document portrait, ``right`` as the traveller.

    ``same`` is the truth (True: the same person). ``distance`` is the embedding distance of the
    pair as shown (a distance: smaller is more alike) and ``probability`` the shipped profile's
    calibrated probability that they are the same person, 0-1; both are NaN when the
    algorithm found no face on one side.
    """

    id: str
    left: ImageRef
    right: ImageRef
    same: bool
    distance: float
    probability: float

    @property
    def pair(self) -> str:
        """The two photos, named by content and in either order, whatever set holds them: a
        rendered document portrait counts as the photo it was made from. Results keyed by it
        follow a pair from set to set (item analysis, a difficulty learnt from trainees)."""
        return pair_key(self.left.source or self.left, self.right)

    def to_dict(self) -> dict[str, Any]:
        """The pair as a set's JSON file holds it."""
        return {
            "id": self.id,
            "same": self.same,
            "distance": _finite_or_none(self.distance),
            "probability": _finite_or_none(self.probability),
            "left": self.left.to_dict(),
            "right": self.right.to_dict(),
        }


@dataclass(frozen=True)
class PracticeSet:
    """A loaded practice set. ``folder`` is where its relative image paths are looked for first;
    ``provenance`` says how it was made (data set, difficulty, seed, profile, tool version)."""

    name: str
    items: tuple[Item, ...]
    provenance: dict[str, Any]
    folder: Path
    _resolved: dict[str, Path] = field(default_factory=dict, compare=False, repr=False)

    @property
    def difficulty(self) -> str | None:
        """How the set was chosen (``hard``, ``mixed``, ``easy``, ``trainees``), as its builder said."""
        selection = self.provenance.get("selection")
        found = selection.get("difficulty") if isinstance(selection, dict) else None
        return found if isinstance(found, str) else None

    @property
    def id(self) -> str:
        """A digest of what a trainee is scored on: each item's images and truth, in order.

        Packing a set (which renames its files) keeps its id, so results stay comparable.
        """
        text = "\n".join(f"{i.id} {i.left.sha256} {i.right.sha256} {int(i.same)}" for i in self.items)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        """The set as its JSON file holds it, with its schema and provenance."""
        return {
            "schema": SCHEMA,
            "name": self.name,
            "provenance": self.provenance,
            "items": [item.to_dict() for item in self.items],
        }

    def save(self, path: str | Path) -> None:
        """Write the set as JSON to ``path`` (image paths are kept as they are)."""
        target = Path(path)
        try:
            target.write_text(
                json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
            )
        except OSError as error:
            raise OutputError(f"cannot write practice set {target}: {error.strerror or error}") from None

    def image_path(self, image: ImageRef) -> Path:
        """Where ``image`` is on disk: beside the set file, else under the data set it was built from.

        Raises ``PracticeError`` when it is in neither place or its content is not the recorded one.
        """
        known = self._resolved.get(image.sha256)
        if known is not None:
            return known
        tried = []
        for base in self._bases():
            candidate = base / image.path
            tried.append(str(candidate))
            if candidate.is_file():
                if file_digest(candidate) != image.sha256:
                    raise PracticeError(
                        f"image {candidate} of practice set {self.name!r} has changed since the set was "
                        "built (its SHA-256 differs); rebuild the set or restore the image"
                    )
                self._resolved[image.sha256] = candidate
                return candidate
        raise PracticeError(
            f"image {image.path} of practice set {self.name!r} not found (looked at {', '.join(tried)}); "
            "copy the set with `impostor practice pack`"
        )

    def check_images(self) -> None:
        """Find and digest every image once, so a missing or changed file is reported before serving."""
        for item in self.items:
            self.image_path(item.left)
            self.image_path(item.right)

    def _bases(self) -> list[Path]:
        bases = [self.folder]
        dataset = self.provenance.get("dataset", {})
        root = dataset.get("root") if isinstance(dataset, dict) else None
        if isinstance(root, str) and root:
            bases.append(Path(root))
        return bases


def pair_key(first: ImageRef, second: ImageRef) -> str:
    """Two photos' digests, sorted, as one text (``Item.pair``)."""
    return "+".join(sorted((first.sha256, second.sha256)))


def load_set(path: str | Path) -> PracticeSet:
    """Read a practice set from a JSON file, or from a zip made by ``pack`` (unpacked once into
    the ``cache_dir`` setting's folder). Raises ``PracticeError`` naming what is wrong with the file."""
    source = Path(path)
    if not source.is_file():
        raise PracticeError(f"practice set {source} not found; make one with `impostor practice build`")
    if zipfile.is_zipfile(source):
        return _load_pack(source)
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PracticeError(
            f"practice set {source} is not readable JSON ({error}), nor a zip made by `practice pack`"
        ) from None
    return _from_dict(data, source.resolve().parent, str(source))


def pack(practice_set: PracticeSet, out: str | Path) -> int:
    """Write ``practice_set`` and all its images into the zip ``out``; returns the images packed.

    Images are stored once each under ``images/<sha256[:20]><suffix>``; the set inside the zip
    points at them, so the zip works wherever it is unpacked or served from.
    Raises ``PracticeError`` for a missing or changed image, ``OutputError`` when ``out``
    cannot be written.
    """
    target = Path(out)
    renamed: dict[str, str] = {}
    files: dict[str, Path] = {}
    for item in practice_set.items:
        for image in (item.left, item.right):
            if image.sha256 not in renamed:
                on_disk = practice_set.image_path(image)
                name = f"images/{image.sha256[:20]}{on_disk.suffix.lower()}"
                renamed[image.sha256] = name
                files[name] = on_disk

    def moved(image: ImageRef) -> ImageRef:
        return replace(image, path=renamed[image.sha256])

    items = tuple(replace(i, left=moved(i.left), right=moved(i.right)) for i in practice_set.items)
    packed = replace(practice_set, items=items, _resolved={})
    try:
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as archive:
            archive.writestr(_SET_IN_PACK, json.dumps(packed.to_dict(), indent=2, ensure_ascii=False) + "\n")
            for name, on_disk in files.items():
                archive.write(on_disk, name)  # JPEGs do not compress: stored as they are
    except OSError as error:
        raise OutputError(f"cannot write {target}: {error.strerror or error}") from None
    return len(files)


# -- reading ------------------------------------------------------------------------------------


def _load_pack(source: Path) -> PracticeSet:
    """Unpack once into the cache folder, under the zip's digest, and read the set there.

    A later start with the same zip reuses the folder (every image is still checked against
    its digest); a changed zip gets a folder of its own. Unpacking goes to a scratch folder
    first and is renamed into place, so an interrupted unpack never looks complete.
    """
    folder = Path(str(settings.get("cache_dir"))).expanduser() / "practice-sets" / file_digest(source)[:20]
    if not (folder / _SET_IN_PACK).is_file():
        try:
            folder.parent.mkdir(parents=True, exist_ok=True)
            scratch = Path(tempfile.mkdtemp(prefix=".unpacking-", dir=folder.parent))
        except OSError as error:
            raise PracticeError(
                f"cannot unpack {source} into {folder.parent}: {error.strerror or error}"
            ) from None
        try:
            _unpack(source, scratch)
            scratch.replace(folder)
        except OSError:
            if not (folder / _SET_IN_PACK).is_file():  # not another process that got there first
                raise
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    loaded = load_set(folder / _SET_IN_PACK)
    loaded.check_images()
    return loaded


def _unpack(source: Path, folder: Path) -> None:
    try:
        with zipfile.ZipFile(source) as archive:
            names = archive.namelist()
            if _SET_IN_PACK not in names:
                raise PracticeError(
                    f"{source} is a zip but not a packed practice set (no {_SET_IN_PACK} inside)"
                )
            for name in names:
                _check_member(name, source)
            archive.extractall(folder)
    except zipfile.BadZipFile as error:
        raise PracticeError(f"{source} is a damaged zip: {error}") from None


def _check_member(name: str, source: Path) -> None:
    member = PurePosixPath(name)
    if member.is_absolute() or ".." in member.parts or "\\" in name:
        raise PracticeError(f"{source} holds an unsafe path {name!r}; refusing to unpack it")


def _from_dict(data: Any, folder: Path, where: str) -> PracticeSet:
    if not isinstance(data, dict):
        raise PracticeError(f"{where} is not a practice set (expected a JSON object)")
    if data.get("schema") != SCHEMA:
        raise PracticeError(
            f"{where} has schema {data.get('schema')!r}; this version of impostor reads {SCHEMA!r}"
        )
    name = data.get("name")
    provenance = data.get("provenance")
    raw_items = data.get("items")
    if not isinstance(name, str) or not isinstance(provenance, dict) or not isinstance(raw_items, list):
        raise PracticeError(f"{where} needs a text 'name', an object 'provenance' and a list 'items'")
    if not raw_items:
        raise PracticeError(f"{where} has no items")
    items = tuple(_item(raw, f"{where} item {n + 1}") for n, raw in enumerate(raw_items))
    _unique((item.id for item in items), where)
    return PracticeSet(name=name, items=items, provenance=provenance, folder=folder)


def _item(raw: Any, where: str) -> Item:
    if not isinstance(raw, dict):
        raise PracticeError(f"{where} is not an object")
    item_id, same = raw.get("id"), raw.get("same")
    if not isinstance(item_id, str) or not item_id or not isinstance(same, bool):
        raise PracticeError(f"{where} needs a text 'id' and a true/false 'same'")
    return Item(
        id=item_id,
        left=_image(raw.get("left"), f"{where} left"),
        right=_image(raw.get("right"), f"{where} right"),
        same=same,
        distance=_optional_number(raw.get("distance"), f"{where} distance", upper=math.inf),
        probability=_optional_number(raw.get("probability"), f"{where} probability", upper=1.0),
    )


def _image(raw: Any, where: str) -> ImageRef:
    if not isinstance(raw, dict):
        raise PracticeError(f"{where} is missing")
    path, digest, person = raw.get("path"), raw.get("sha256"), raw.get("person")
    if not isinstance(path, str) or not isinstance(person, str) or not isinstance(digest, str):
        raise PracticeError(f"{where} needs text 'path', 'sha256' and 'person'")
    if not _DIGEST.match(digest):
        raise PracticeError(f"{where} sha256 {digest!r} is not 64 lower-case hex digits")
    relative = PurePosixPath(path)
    if relative.is_absolute() or ".." in relative.parts:
        raise PracticeError(f"{where} path {path!r} must be relative and stay inside its folder")
    source = _image(raw["source"], f"{where} source") if raw.get("source") is not None else None
    return ImageRef(path=path, sha256=digest, person=person, source=source)


def _optional_number(value: Any, where: str, *, upper: float) -> float:
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= upper:
        raise PracticeError(f"{where} is {value!r}; expected a number from 0 to {upper} or null")
    return float(value)


def _unique(ids: Iterable[str], where: str) -> None:
    seen: set[str] = set()
    for item_id in ids:
        if item_id in seen:
            raise PracticeError(f"{where} has two items with id {item_id!r}")
        seen.add(item_id)


def _finite_or_none(value: float) -> float | None:
    return round(value, 6) if math.isfinite(value) else None
