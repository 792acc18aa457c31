"""The embedding cache: round trips, keys, several processes at once, and files that are not caches.

The end-to-end check (a second ``embed_dataset`` run answered wholly from the cache) is in
test_batch.py, next to the runs it reuses.
"""

from __future__ import annotations

import csv
import hashlib
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import impostor
from impostor.errors import DatasetError, OutputError
from impostor.files import NotARegularFile
from impostor.qa.cache import SCHEMA_VERSION, CachedFace, EmbeddingCache, file_digest, pipeline_key
from impostor.stages.embed import EMBEDDING_MODEL
from tests.qa import stuck_fifo

KEY = "test pipeline"


def face(seed: int) -> CachedFace:
    vector = np.random.default_rng(seed).normal(size=128) * 0.1
    detector = "cnn" if seed % 2 else "hog"
    quality = 12.5 * seed + 0.1
    return CachedFace(vector, None, 40.0 + seed, seed % 3 + 1, seed - 2.5, detector, 90 * (seed % 2), quality)


def attributes(entry: CachedFace) -> tuple[object, ...]:
    """Everything of a cache entry but its vector."""
    return (
        entry.failure,
        entry.inter_eye,
        entry.faces_found,
        entry.yaw,
        entry.detector,
        entry.rotated_degrees,
        entry.quality,
    )


def test_round_trip_keeps_every_bit(tmp_path: Path) -> None:
    stored = {f"{i:064x}": face(i) for i in range(5)}
    stored["f" * 64] = CachedFace(None, "no face found", None)
    stored["e" * 64] = CachedFace(None, "not an image (no known image format)", None)
    stored["d" * 64] = CachedFace(None, "no face found", None, faces_found=2)
    with EmbeddingCache(tmp_path / "deep" / "er" / "cache.sqlite") as cache:
        assert cache.get_many(list(stored), KEY) == {}
        cache.put_many(list(stored.items()), KEY)

    stored["c" * 64] = CachedFace(np.zeros(128), None, 40.0, 1, 0.0, "hog", 0, None)  # quality unknown
    with EmbeddingCache(tmp_path / "deep" / "er" / "cache.sqlite") as cache:
        cache.put_many([("c" * 64, stored["c" * 64])], KEY)
        found = cache.get_many([*stored, "0" * 64, "1" * 64], KEY)
    assert set(found) == set(stored)
    assert found[f"{3:064x}"].quality == 37.6 and found["c" * 64].quality is None
    for digest, entry in stored.items():
        got = found[digest]
        assert attributes(got) == attributes(entry)
        if entry.vector is None:
            assert got.vector is None
        else:
            assert got.vector is not None and got.vector.dtype == np.float64 and got.vector.shape == (128,)
            assert got.vector.tobytes() == entry.vector.tobytes()


def test_a_version_2_cache_without_quality_is_rebuilt(tmp_path: Path) -> None:
    """A version 2 file has every attribute but the quality score: its entries would come back
    without one, so it is emptied and made anew."""
    path = tmp_path / "cache.sqlite"
    with sqlite3.connect(path) as raw:
        raw.executescript(
            """
            CREATE TABLE schema (name TEXT NOT NULL, version INTEGER NOT NULL);
            INSERT INTO schema VALUES ('impostor embedding cache', 2);
            CREATE TABLE faces (
                digest TEXT NOT NULL, pipeline TEXT NOT NULL, vector BLOB, failure TEXT,
                inter_eye REAL, faces_found INTEGER NOT NULL DEFAULT 0, yaw REAL, detector TEXT,
                rotated INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (digest, pipeline)
            ) WITHOUT ROWID;
            """
        )
        raw.execute(
            "INSERT INTO faces VALUES (?, ?, ?, NULL, 40.0, 1, 0.0, 'hog', 0)",
            ("a" * 64, KEY, bytes(8 * 128)),
        )
    with EmbeddingCache(path) as cache:
        assert cache.get_many(["a" * 64], KEY) == {}
        cache.put_many([("b" * 64, face(2))], KEY)
        assert cache.get_many(["b" * 64], KEY)["b" * 64].quality == face(2).quality
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT version FROM schema").fetchall() == [(SCHEMA_VERSION,)]
        assert "quality" in {row[1] for row in raw.execute("PRAGMA table_info(faces)")}


def test_vectors_are_little_endian_float64_with_a_schema_table(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    entry = face(1)
    with EmbeddingCache(path) as cache:
        cache.put_many([("d" * 64, entry)], KEY)
    with sqlite3.connect(path) as raw:
        (blob,) = raw.execute("SELECT vector FROM faces").fetchone()
        schema = raw.execute("SELECT name, version FROM schema").fetchall()
        (mode,) = raw.execute("PRAGMA journal_mode").fetchone()
    assert entry.vector is not None and blob == entry.vector.astype("<f8").tobytes()
    assert schema == [("impostor embedding cache", SCHEMA_VERSION)]
    assert mode == "wal"


def test_entries_are_kept_apart_by_pipeline(tmp_path: Path) -> None:
    hog = pipeline_key(detector="hog", pick="largest", jitters=0)
    keys = {
        hog,
        pipeline_key(detector="cnn", pick="largest", jitters=0),
        pipeline_key(detector="auto", pick="largest", jitters=0),
        pipeline_key(detector="hog", pick="central", jitters=0),
        pipeline_key(detector="hog", pick="largest", jitters=1),
    }
    assert len(keys) == 5
    assert impostor.__version__ in hog and EMBEDDING_MODEL in hog
    assert pipeline_key(detector="hog", pick="largest", jitters=0) == hog
    with EmbeddingCache(tmp_path / "cache.sqlite") as cache:
        cache.put_many([("a" * 64, face(1))], hog)
        for other in keys - {hog}:
            assert cache.get_many(["a" * 64], other) == {}
        assert set(cache.get_many(["a" * 64], hog)) == {"a" * 64}


def test_the_key_follows_the_settings_that_change_detection(monkeypatch: pytest.MonkeyPatch) -> None:
    before = pipeline_key(detector="hog", pick="largest", jitters=0)
    monkeypatch.setenv("IMPOSTOR_DETECT_SIDE", "800")
    assert pipeline_key(detector="hog", pick="largest", jitters=0) != before


def test_a_newer_entry_replaces_an_older_one(tmp_path: Path) -> None:
    with EmbeddingCache(tmp_path / "cache.sqlite") as cache:
        cache.put_many([("a" * 64, CachedFace(None, "no face found", None))], KEY)
        cache.put_many([("a" * 64, face(2))], KEY)
        assert cache.get_many(["a" * 64], KEY)["a" * 64].inter_eye == 42.0


def test_many_digests_at_once(tmp_path: Path) -> None:
    digests = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(2500)]
    with EmbeddingCache(tmp_path / "cache.sqlite") as cache:
        cache.put_many([(digest, face(i % 7)) for i, digest in enumerate(digests)], KEY)
        assert len(cache.get_many(digests + digests[:10], KEY)) == 2500


def test_several_processes_write_at_once(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite"
    script = textwrap.dedent(
        """
        import sys
        import numpy as np
        from impostor.qa.cache import CachedFace, EmbeddingCache
        writer = int(sys.argv[1])
        with EmbeddingCache(sys.argv[2]) as cache:
            for batch in range(20):
                items = [(f"{writer}-{batch}-{i}", CachedFace(np.full(128, writer, float), None, 1.0))
                         for i in range(25)]
                cache.put_many(items, "shared")
        """
    )
    writers = [subprocess.Popen([sys.executable, "-c", script, str(n), str(path)]) for n in range(3)]
    assert [writer.wait(timeout=120) for writer in writers] == [0, 0, 0]
    with EmbeddingCache(path) as cache:
        everything = cache.get_many(
            [f"{w}-{b}-{i}" for w in range(3) for b in range(20) for i in range(25)], "shared"
        )
    assert len(everything) == 1500
    assert all(entry.vector is not None and entry.vector[0] == int(d[0]) for d, entry in everything.items())


def test_file_digest_is_the_sha256_of_the_bytes(faces_dev: Path) -> None:
    with (faces_dev / "manifest.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))[:5]
    for row in rows:
        assert file_digest(faces_dev / row["path"]) == row["sha256"]
    with pytest.raises(OSError):
        file_digest(faces_dev / "nobody.jpg")


def test_file_digest_never_reads_a_pipe_or_a_device(tmp_path: Path) -> None:
    with stuck_fifo(tmp_path / "pipe.jpg") as fifo, pytest.raises(NotARegularFile):
        file_digest(fifo)  # would wait for a writer
    with pytest.raises(NotARegularFile):
        file_digest("/dev/zero")  # would never end


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda path: path.write_bytes(b"this is not a database " * 200), id="text"),
        pytest.param(lambda path: path.write_bytes(b"SQLite format 3\0" + b"\xff" * 4000), id="damaged"),
        pytest.param(lambda path: path.mkdir(), id="folder"),
    ],
)
def test_a_file_that_is_not_a_cache_is_refused(tmp_path: Path, make: Callable[[Path], object]) -> None:
    path = tmp_path / "cache.sqlite"
    make(path)
    with pytest.raises(
        DatasetError, match="not an impostor embedding cache.*delete it or choose another --cache"
    ):
        EmbeddingCache(path)


def test_someone_elses_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "theirs.sqlite"
    with sqlite3.connect(path) as theirs:
        theirs.execute("CREATE TABLE orders (id INTEGER)")
    before = path.read_bytes()
    with pytest.raises(DatasetError, match="theirs.sqlite: not an impostor embedding cache"):
        EmbeddingCache(path)
    assert path.read_bytes() == before


def test_a_cache_of_a_newer_schema_version_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    with EmbeddingCache(path) as cache:
        cache.put_many([("a" * 64, face(1))], KEY)
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE schema SET version = 99")
    with pytest.raises(DatasetError, match="schema version 99.*upgrade impostor"):
        EmbeddingCache(path)
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT COUNT(*) FROM faces").fetchone() == (1,)


def test_a_cache_of_an_older_schema_version_is_rebuilt(tmp_path: Path) -> None:
    """A version 1 file (no image attributes) is emptied and made anew, not refused."""
    path = tmp_path / "cache.sqlite"
    with sqlite3.connect(path) as raw:
        raw.executescript(
            """
            CREATE TABLE schema (name TEXT NOT NULL, version INTEGER NOT NULL);
            INSERT INTO schema VALUES ('impostor embedding cache', 1);
            CREATE TABLE faces (
                digest TEXT NOT NULL, pipeline TEXT NOT NULL, vector BLOB, failure TEXT,
                inter_eye REAL, PRIMARY KEY (digest, pipeline)
            ) WITHOUT ROWID;
            """
        )
        raw.execute("INSERT INTO faces VALUES (?, ?, ?, NULL, 40.0)", ("a" * 64, KEY, bytes(8 * 128)))
    with EmbeddingCache(path) as cache:
        assert cache.get_many(["a" * 64], KEY) == {}
        cache.put_many([("b" * 64, face(3))], KEY)
        assert attributes(cache.get_many(["b" * 64], KEY)["b" * 64]) == attributes(face(3))
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT name, version FROM schema").fetchall() == [
            ("impostor embedding cache", SCHEMA_VERSION)
        ]
    with EmbeddingCache(path) as cache:  # and the rebuilt file is kept from then on
        assert set(cache.get_many(["b" * 64], KEY)) == {"b" * 64}


def test_a_cache_that_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where a folder should be")
    with pytest.raises(OutputError, match="cannot be created"):
        EmbeddingCache(blocker / "cache.sqlite")


def test_a_closed_cache_says_so(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path / "cache.sqlite")
    cache.close()
    cache.close()
    with pytest.raises(ValueError, match="closed"):
        cache.get_many(["a"], KEY)


def test_a_cached_face_has_a_vector_or_a_failure() -> None:
    with pytest.raises(ValueError):
        CachedFace(None, None, None)
    with pytest.raises(ValueError):
        CachedFace(np.zeros(128), "no face found", None)
