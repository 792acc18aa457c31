"""Embeddings cached on disk, keyed by the file's content and by the pipeline that made them.

A benchmark embeds thousands of images; re-running it with another pair list, another report
or after an interruption should not embed them again. Each entry is found by the SHA-256 of
the image file's bytes (so a renamed or copied file is still found, and an edited one is not)
and by a ``pipeline_key`` naming everything that changes the answer.

The cache is one SQLite file, in write-ahead-log mode so that several processes can read and
write it at once (on a local disk: SQLite's locking does not work over most network shares).
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from impostor import settings
from impostor._version import __version__
from impostor.errors import DatasetError, OutputError
from impostor.files import open_regular
from impostor.pipeline.profile import load_profile
from impostor.stages.embed import EMBEDDING_MODEL

__all__ = ["CachedFace", "EmbeddingCache", "SCHEMA_VERSION", "file_digest", "open_cache", "pipeline_key"]

SCHEMA_NAME = "impostor embedding cache"
SCHEMA_VERSION = 3  # 2 added faces_found, yaw, detector and rotated; 3 quality; older files are rebuilt

_SCHEMA = """
CREATE TABLE IF NOT EXISTS schema (name TEXT NOT NULL, version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS faces (
    digest TEXT NOT NULL,      -- sha256 hex of the image file's bytes
    pipeline TEXT NOT NULL,    -- pipeline_key(...) of the pipeline that made the entry
    vector BLOB,               -- 128 little-endian float64, NULL when no face was found
    failure TEXT,              -- why there is no vector, NULL when there is one
    inter_eye REAL,            -- inter-eye distance in pixels of the full-resolution image
    faces_found INTEGER NOT NULL DEFAULT 0,  -- faces found in the image
    yaw REAL,                  -- head yaw of the face used, degrees (impostor.stages.quality.yaw_degrees)
    detector TEXT,             -- "hog" or "cnn": the detector that found it
    rotated INTEGER NOT NULL DEFAULT 0,      -- degrees the image was turned for a face to be found
    quality REAL,              -- 0-100, the weakest gated quality score of the face (quality.unified_score)
    PRIMARY KEY (digest, pipeline)
) WITHOUT ROWID;
"""

_QUERY_CHUNK = 500  # digests per SELECT, well under SQLite's limit on bound parameters


@dataclass(frozen=True, eq=False)
class CachedFace:
    """What the pipeline made of one image file.

    ``vector`` is the 128-d embedding, shaped ``(128,)``, or None when no face was found;
    ``failure`` says why not (such as ``"no face found"``, or why the file could not be read),
    and is None when a face was found. ``inter_eye`` is the inter-eye distance of the face used,
    in pixels of the full-resolution image, None when there is no face. ``faces_found`` counts
    the faces found in the image (more than one: the wrong one may have been used), ``yaw`` is
    the face's head yaw in degrees (``impostor.stages.quality.yaw_degrees``), ``detector`` the detector
    that found it (``"hog"`` or ``"cnn"``) and ``rotated_degrees`` how far the image had to be
    turned for it to be found; ``quality`` the face's unified quality score, 0-100 (the lowest
    score among the gated quality measures, ``impostor.stages.quality.unified_score``); None (or 0)
    when there is no face.
    """

    vector: NDArray[np.float64] | None
    failure: str | None
    inter_eye: float | None
    faces_found: int = 0
    yaw: float | None = None
    detector: str | None = None
    rotated_degrees: int = 0
    quality: float | None = None

    def __post_init__(self) -> None:
        if (self.vector is None) == (self.failure is None):
            raise ValueError("a CachedFace has either a vector or a failure, not both or neither")


def pipeline_key(*, detector: str, pick: str, jitters: int, flip: bool = False, grey: bool = False) -> str:
    """A text naming everything that decides an image's embedding, for cache lookups.

    It covers impostor's version and a fingerprint of the code of the stages that make an
    embedding (so an edited pipeline never reuses old answers), the dlib and OpenCV versions,
    the embedding model, the detector, which face is picked, the jitters, and the settings and
    profile limit that change what is detected (analysis and detection sizes, the pixel limit,
    the profile's minimum face score). Reads the settings and the default profile when called;
    raises ``ProfileError`` for a bad profile.
    """
    floor = load_profile().limit("min_face_score")
    return (
        f"impostor {__version__} code {_code_fingerprint()}; dlib {_version('dlib')} "
        f"opencv {_version('cv2')}; {EMBEDDING_MODEL} engine={settings.get('engine')}; "
        f"detector={detector} pick={pick} jitters={int(jitters)} flip={bool(flip)} grey={bool(grey)}; "
        f"analysis_side={settings.get('analysis_side')} detect_side={settings.get('detect_side')} "
        f"rescue={settings.get('rescue')} "
        f"max_pixels={settings.get('max_pixels')} min_face_score={floor:g}"
    )


# the code that decides what an image file's entry is: the stages (quality: the yaw and quality
# score it records), the networks, the pipeline that wires them, and batch (how the score is
# formed); whole folders, so that a module split or added inside them needs no edit here
_FOLDERS = ("stages", "engine", "pipeline")
_PACKAGE = Path(__file__).resolve().parent.parent


@functools.cache
def _code_fingerprint() -> str:
    digest = hashlib.sha256()
    files = [_PACKAGE / "qa" / "batch.py"]
    files += sorted(path for folder in _FOLDERS for path in (_PACKAGE / folder).glob("*.py"))
    for path in files:
        digest.update(path.relative_to(_PACKAGE).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _version(module: str) -> str:
    return str(getattr(importlib.import_module(module), "__version__", "unknown"))


def file_digest(path: str | Path) -> str:
    """SHA-256 of a regular file's bytes, as 64 hex digits. Raises ``OSError`` if it cannot be
    read (``NotARegularFile`` for a pipe or a device, which would block or never end)."""
    digest = hashlib.sha256()
    with open_regular(path) as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class EmbeddingCache:
    """Embeddings in one SQLite file, created (with its folder) when first opened.

    Several processes may use the same file at once. A cache of an older schema version is
    emptied and rebuilt. Raises ``DatasetError`` when the file exists but is not an impostor
    embedding cache (or one of a newer schema version), and ``OutputError`` when it cannot be
    created.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser()
        self._connection: sqlite3.Connection | None = self._open()

    def get_many(self, digests: Sequence[str], key: str) -> dict[str, CachedFace]:
        """The entries made by pipeline ``key`` for these file digests; absent ones are left out."""
        found: dict[str, CachedFace] = {}
        unique = list(dict.fromkeys(digests))
        connection = self._db()
        with _guarded(self.path):
            for start in range(0, len(unique), _QUERY_CHUNK):
                chunk = unique[start : start + _QUERY_CHUNK]
                rows = connection.execute(
                    "SELECT digest, vector, failure, inter_eye, faces_found, yaw, detector, rotated, quality "
                    "FROM faces "
                    f"WHERE pipeline = ? AND digest IN ({', '.join('?' * len(chunk))})",
                    (key, *chunk),
                )
                for digest, blob, *rest in rows:
                    found[digest] = _face(blob, *rest)
        return found

    def put_many(self, items: Sequence[tuple[str, CachedFace]], key: str) -> None:
        """Store entries for pipeline ``key``, replacing any already there, in one transaction."""
        if not items:
            return
        rows = [
            (
                digest,
                key,
                None if face.vector is None else np.asarray(face.vector, dtype="<f8").tobytes(),
                face.failure,
                face.inter_eye,
                face.faces_found,
                face.yaw,
                face.detector,
                face.rotated_degrees,
                face.quality,
            )
            for digest, face in items
        ]
        connection = self._db()
        with _guarded(self.path), connection:
            connection.executemany(
                "INSERT OR REPLACE INTO faces "
                "(digest, pipeline, vector, failure, inter_eye, faces_found, yaw, detector, rotated, "
                "quality) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

    def close(self) -> None:
        """Close the file; the cache cannot be used afterwards."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def __enter__(self) -> EmbeddingCache:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- internals ---------------------------------------------------------------------------

    def _db(self) -> sqlite3.Connection:
        if self._connection is None:
            raise ValueError(f"{self.path}: the embedding cache is closed")
        return self._connection

    def _open(self) -> sqlite3.Connection:
        if self.path.is_dir():
            raise _not_a_cache(self.path, "it is a folder")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # several workers may wait on one another's writes: a minute before giving up
            connection = sqlite3.connect(self.path, timeout=60.0)
        except (OSError, sqlite3.OperationalError) as exc:
            raise OutputError(f"{self.path}: the embedding cache cannot be created ({exc})") from None
        try:
            self._prepare(connection)
        except BaseException:
            connection.close()
            raise
        return connection

    def _prepare(self, connection: sqlite3.Connection) -> None:
        with _guarded(self.path):
            tables = {
                row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
            if not tables:
                connection.execute("PRAGMA journal_mode=WAL")
                _create(connection)
                tables = {"schema", "faces"}
            if not {"schema", "faces"} <= tables:
                raise _not_a_cache(self.path, "it holds other tables")
            rows = connection.execute("SELECT name, version FROM schema").fetchall()
            if _older(rows):
                # an older impostor's cache: its entries lack what this version records (and
                # its pipeline keys no longer match), so it starts again, empty
                _create(connection, replacing=True)
                rows = connection.execute("SELECT name, version FROM schema").fetchall()
        if rows != [(SCHEMA_NAME, SCHEMA_VERSION)]:
            if len(rows) == 1 and rows[0][0] == SCHEMA_NAME:
                raise DatasetError(
                    f"{self.path}: an embedding cache of schema version {rows[0][1]}, and this "
                    f"impostor reads version {SCHEMA_VERSION}; upgrade impostor, or delete it or "
                    "choose another --cache"
                )
            raise _not_a_cache(self.path, "unknown schema")
        with _guarded(self.path):
            connection.execute("PRAGMA journal_mode=WAL")


def _create(connection: sqlite3.Connection, *, replacing: bool = False) -> None:
    """Make the tables, first dropping those of an older schema version when ``replacing``."""
    with connection:
        # IMMEDIATE: two processes creating (or rebuilding) the file at once make one schema row
        connection.execute("BEGIN IMMEDIATE")
        # another process may have rebuilt the file while this one waited for the lock
        if replacing and _older(connection.execute("SELECT name, version FROM schema").fetchall()):
            connection.execute("DROP TABLE faces")
            connection.execute("DROP TABLE schema")
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                connection.execute(statement)
        if connection.execute("SELECT COUNT(*) FROM schema").fetchone()[0] == 0:
            connection.execute("INSERT INTO schema VALUES (?, ?)", (SCHEMA_NAME, SCHEMA_VERSION))


def _older(rows: list[tuple[object, object]]) -> bool:
    """Whether the schema table's rows are those of an impostor cache older than this one."""
    if len(rows) != 1 or rows[0][0] != SCHEMA_NAME:
        return False
    version = rows[0][1]
    return isinstance(version, int) and version < SCHEMA_VERSION


@contextmanager
def _guarded(path: Path) -> Iterator[None]:
    """Turns SQLite's complaints about a damaged or busy file into one-line errors."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        if "no such" in str(exc):  # a table or column missing: someone else's database
            raise _not_a_cache(path, str(exc)) from None
        # locked by another process past the timeout, read-only, disk full...
        raise OutputError(f"{path}: the embedding cache cannot be used ({exc})") from None
    except sqlite3.DatabaseError as exc:
        raise _not_a_cache(path, str(exc)) from None


def _not_a_cache(path: Path, why: str = "") -> DatasetError:
    detail = f" ({why})" if why else ""
    return DatasetError(
        f"{path}: not an impostor embedding cache{detail}; delete it or choose another --cache"
    )


def _face(
    blob: bytes | None,
    failure: str | None,
    inter_eye: float | None,
    faces_found: int,
    yaw: float | None,
    detector: str | None,
    rotated: int,
    quality: float | None,
) -> CachedFace:
    if blob is None:
        return CachedFace(None, failure or "no face found", None, faces_found)
    if not isinstance(blob, bytes) or len(blob) % 8:
        raise sqlite3.DatabaseError("an embedding is not a whole number of float64 values")
    vector = np.frombuffer(blob, dtype="<f8").astype(np.float64)
    return CachedFace(vector, None, inter_eye, faces_found, yaw, detector, rotated, quality)


def open_cache(cache: str | Path | None) -> EmbeddingCache | None:
    """The embedding cache a command asked for: ``None`` for the ``cache_dir`` setting's
    ``embeddings.sqlite`` (the folder is made if missing), ``""`` for no cache, else that file."""
    if cache == "":
        return None
    if cache is None:
        folder = Path(str(settings.get("cache_dir"))).expanduser()
        folder.mkdir(parents=True, exist_ok=True)
        cache = folder / "embeddings.sqlite"
    return EmbeddingCache(cache)
