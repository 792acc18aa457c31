"""Practice results in one SQLite file: trainees' sessions and every answer, as it is given.

Each answer is committed by itself before the server replies, so a closed browser, a killed
server or a power cut loses nothing already answered; a trainee who signs in again continues
the unfinished session on the same set and mode. An answer row carries the item's truth and
the algorithm's probability as they were when it was given, so reports need no set file.

Writes take SQLite's write lock up front (``BEGIN IMMEDIATE``) and check that the answer is
for the session's current item inside that transaction: two tabs sending the same answer, or
a retried request, record it once.
"""

from __future__ import annotations

import datetime as dt
import math
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from impostor import settings
from impostor.db import immediate, private_file
from impostor.errors import PracticeError
from impostor.practice.scoring import Trial
from impostor.practice.sets import Item, PracticeSet

__all__ = ["SCHEMA_VERSION", "Answer", "Mode", "Outcome", "PracticeStore", "Session", "default_path"]

SCHEMA_VERSION = 2  # 2: the classroom (roster, assignments, trainer PIN), pair keys, activity
Mode = Literal["practice", "test"]
Outcome = Literal["recorded", "already_answered", "not_current"]

_TABLES = (
    """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    trainee TEXT NOT NULL,
    set_id TEXT NOT NULL,
    set_name TEXT NOT NULL,
    mode TEXT NOT NULL CHECK (mode IN ('practice', 'test')),
    language TEXT NOT NULL,
    item_order TEXT NOT NULL,
    started TEXT NOT NULL,
    finished TEXT,
    difficulty TEXT,
    seen TEXT
);
CREATE INDEX sessions_by_trainee ON sessions (trainee, set_id, mode, finished);
CREATE TABLE answers (
    session_id TEXT NOT NULL REFERENCES sessions (id),
    position INTEGER NOT NULL,
    item_id TEXT NOT NULL,
    same INTEGER NOT NULL,
    said_same INTEGER NOT NULL,
    confidence INTEGER NOT NULL CHECK (confidence BETWEEN 1 AND 5),
    seconds REAL NOT NULL CHECK (seconds >= 0),
    probability REAL,
    answered_at TEXT NOT NULL,
    pair TEXT,
    PRIMARY KEY (session_id, position)
);
CREATE INDEX answers_by_pair ON answers (pair)
"""
    + ";\n"
)
# the sets whose tests' answer keys a trainer released (a test shows only the score until then)
_RELEASES = "CREATE TABLE releases (set_id TEXT PRIMARY KEY, released TEXT NOT NULL)"
# the classroom (``impostor.practice.classroom``): trainees with the code their trainer issued
# (a salted slow hash), and the sets each class is assigned; the trainer's PIN hash is in meta
_CLASSROOM = """
CREATE TABLE roster (trainee TEXT PRIMARY KEY, class TEXT NOT NULL, code TEXT NOT NULL, added TEXT NOT NULL);
CREATE TABLE assignments (
    set_id TEXT NOT NULL, class TEXT NOT NULL, set_name TEXT NOT NULL, assigned TEXT NOT NULL,
    PRIMARY KEY (set_id, class)
)
"""
_TABLES += _RELEASES + ";\n" + _CLASSROOM
# what schema 1 files gain on opening: nothing recorded changes, the new columns start empty
_FROM_1 = (
    "ALTER TABLE sessions ADD COLUMN difficulty TEXT;\nALTER TABLE sessions ADD COLUMN seen TEXT;\n"
    "ALTER TABLE answers ADD COLUMN pair TEXT;\nCREATE INDEX answers_by_pair ON answers (pair);\n"
    + _CLASSROOM
)


@dataclass(frozen=True)
class Session:
    """One sitting of one trainee on one set. ``order`` lists the set's item indices in the
    order this trainee sees them; ``answered`` counts the answers recorded, so the current
    item is ``order[answered]``. Times are UTC ISO 8601; ``finished`` is None until the last
    answer."""

    id: str
    trainee: str
    set_id: str
    set_name: str
    mode: Mode
    language: str
    order: tuple[int, ...]
    started: str
    finished: str | None
    answered: int
    difficulty: str | None = None  # the set's, as built (None: not recorded, or a set without one)
    seen: str | None = None  # the trainee's last sign-in or answer

    @property
    def total(self) -> int:
        """The number of pairs in the sitting."""
        return len(self.order)

    @property
    def done(self) -> bool:
        """Whether every pair of the sitting has its answer."""
        return self.answered >= self.total


@dataclass(frozen=True)
class Answer:
    """One recorded answer: ``position`` in the session's order, the item's truth ``same``,
    the trainee's ``said_same`` and ``confidence`` (1-5), the response time in ``seconds``, and
    the algorithm's ``probability`` of "same person" (NaN where it had none). ``pair`` names
    the two photos whatever set they are in (``Item.pair``; None in results from before it)."""

    session_id: str
    position: int
    item_id: str
    same: bool
    said_same: bool
    confidence: int
    seconds: float
    probability: float
    answered_at: str
    pair: str | None = None

    @property
    def correct(self) -> bool:
        """Whether the trainee's answer (same or not) was right."""
        return self.same == self.said_same

    def trial(self) -> Trial:
        """The answer as a scoring trial (``impostor.practice.scoring``)."""
        return Trial(
            same=self.same,
            said_same=self.said_same,
            confidence=self.confidence,
            seconds=self.seconds,
            probability=self.probability,
        )


def default_path() -> Path:
    """The results database named by the ``practice_db`` setting (``IMPOSTOR_PRACTICE_DB``)."""
    return Path(str(settings.get("practice_db"))).expanduser()


class PracticeStore:
    """The results database at ``path``, or ``default_path()``; created on first use unless
    ``create`` is false (for readers such as the report, where a missing file is a mistake).

    Raises ``PracticeError`` when the file is not a practice results database or was written
    by a newer impostor.
    """

    def __init__(self, path: str | Path | None = None, *, create: bool = True) -> None:
        self.path = Path(path).expanduser() if path is not None else default_path()
        if not create and not self.path.is_file():
            raise PracticeError(
                f"no practice results at {self.path}; give the --db that `practice serve` wrote"
            )
        try:  # the trainees' code hashes and the trainer's PIN hash are no one else's to read
            private_file(self.path)
        except OSError as error:
            raise PracticeError(f"cannot create {self.path}: {error.strerror or error}") from None
        with self._connection() as db:
            self._prepare(db)

    # -- sessions -------------------------------------------------------------------------------

    def start(
        self, trainee: str, practice_set: PracticeSet, mode: Mode, language: str
    ) -> tuple[Session, bool]:
        """The trainee's unfinished session on this set and mode, or a new one; and whether it
        was resumed. A new session shows the items in a fresh random order."""
        with self._writing() as db:
            row = db.execute(
                "SELECT id FROM sessions WHERE trainee = ? AND set_id = ? AND mode = ? AND finished IS NULL "
                "ORDER BY started DESC LIMIT 1",
                (trainee, practice_set.id, mode),
            ).fetchone()
            now = _now()
            if row is not None:
                db.execute("UPDATE sessions SET seen = ? WHERE id = ?", (now, row[0]))
                return self._must(db, row[0]), True
            session_id = secrets.token_urlsafe(18)
            order = list(range(len(practice_set.items)))
            secrets.SystemRandom().shuffle(order)
            db.execute(
                "INSERT INTO sessions (id, trainee, set_id, set_name, mode, language, item_order, started, "
                "difficulty, seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    session_id,
                    trainee,
                    practice_set.id,
                    practice_set.name,
                    mode,
                    language,
                    ",".join(map(str, order)),
                    now,
                    practice_set.difficulty,
                    now,
                ),
            )
            return self._must(db, session_id), False

    def session(self, session_id: str) -> Session | None:
        """The session with this id, or None."""
        with self._connection() as db:
            return self._session(db, session_id)

    def sessions(
        self, trainee: str | None = None, *, set_id: str | None = None, mode: Mode | None = None
    ) -> list[Session]:
        """Every session (of one trainee, on one set, in one mode), oldest first."""
        with self._connection() as db:
            ids = db.execute(
                "SELECT id FROM sessions WHERE (?1 IS NULL OR trainee = ?1) AND (?2 IS NULL OR set_id = ?2) "
                "AND (?3 IS NULL OR mode = ?3) ORDER BY started, id",
                (trainee, set_id, mode),
            ).fetchall()
            return [s for (session_id,) in ids if (s := self._session(db, session_id)) is not None]

    def trainees(self) -> list[str]:
        """Every trainee ID with at least one sitting, sorted."""
        with self._connection() as db:
            return [t for (t,) in db.execute("SELECT DISTINCT trainee FROM sessions ORDER BY trainee")]

    # -- answers --------------------------------------------------------------------------------

    def record(
        self, session_id: str, position: int, item: Item, *, said_same: bool, confidence: int, seconds: float
    ) -> Outcome:
        """Record the answer to the item at ``position`` of the session.

        Only the current position is accepted: ``"already_answered"`` for an earlier one (a
        repeated request), ``"not_current"`` for a later one. The session is marked finished
        with its last answer. Raises ``ValueError`` for a confidence outside 1-5 or a negative
        or non-finite time, ``PracticeError`` for an unknown session.
        """
        if isinstance(confidence, bool) or confidence not in range(1, 6):
            raise ValueError(f"confidence must be 1 to 5, not {confidence!r}")
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"seconds must be a non-negative number, not {seconds!r}")
        with self._writing() as db:
            session = self._session(db, session_id)
            if session is None:
                raise PracticeError(f"no practice session {session_id!r} in {self.path}")
            if position < session.answered:
                return "already_answered"
            if position > session.answered or position >= session.total:
                return "not_current"
            probability = item.probability if math.isfinite(item.probability) else None
            now = _now()
            db.execute(
                "INSERT INTO answers (session_id, position, item_id, same, said_same, confidence, seconds, "
                "probability, answered_at, pair) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    session_id,
                    position,
                    item.id,
                    int(item.same),
                    int(said_same),
                    confidence,
                    seconds,
                    probability,
                    now,
                    item.pair,
                ),
            )
            db.execute("UPDATE sessions SET seen = ? WHERE id = ?", (now, session_id))
            if position + 1 == session.total:
                db.execute("UPDATE sessions SET finished = ? WHERE id = ?", (now, session_id))
            return "recorded"

    def answers(self, session_id: str) -> list[Answer]:
        """The session's answers in the order they were given."""
        with self._connection() as db:
            rows = db.execute(
                "SELECT session_id, position, item_id, same, said_same, confidence, seconds, probability, "
                "answered_at, pair FROM answers WHERE session_id = ? ORDER BY position",
                (session_id,),
            ).fetchall()
        return [
            Answer(
                s,
                p,
                i,
                bool(same),
                bool(said),
                int(c),
                float(sec),
                math.nan if prob is None else float(prob),
                at,
                pair,
            )
            for s, p, i, same, said, c, sec, prob, at, pair in rows
        ]

    # -- plumbing -------------------------------------------------------------------------------

    @staticmethod
    def _session(db: sqlite3.Connection, session_id: str) -> Session | None:
        row = db.execute(
            "SELECT id, trainee, set_id, set_name, mode, language, item_order, started, finished, "
            "(SELECT COUNT(*) FROM answers WHERE session_id = sessions.id), difficulty, seen "
            "FROM sessions WHERE id = ?",
            (session_id,),
        ).fetchone()
        if row is None:
            return None
        order = tuple(int(i) for i in row[6].split(",")) if row[6] else ()
        return Session(
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            row[5],
            order,
            row[7],
            row[8],
            int(row[9]),
            row[10],
            row[11],
        )

    def _must(self, db: sqlite3.Connection, session_id: str) -> Session:
        session = self._session(db, session_id)
        if session is None:
            raise PracticeError(f"no practice session {session_id!r} in {self.path}")
        return session

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """A connection for reads by this package's other modules (the classroom)."""
        with self._connection() as db:
            yield db

    @contextmanager
    def writing(self) -> Iterator[sqlite3.Connection]:
        """A connection holding the write lock (``BEGIN IMMEDIATE``) until the block ends."""
        with self._writing() as db:
            yield db

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        try:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        except sqlite3.Error as error:
            raise PracticeError(f"cannot open practice results {self.path}: {error}") from None
        try:
            yield db
        except sqlite3.DatabaseError as error:
            raise PracticeError(f"practice results {self.path} cannot be used: {error}") from None
        finally:
            db.close()

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        with self._connection() as db, immediate(db):
            yield db

    def release(self, set_id: str) -> bool:
        """Release the answer key of set ``set_id``'s tests: trainees who finish a test on it see
        each pair's truth beside their answers. Returns False when it was already released."""
        with self._writing() as db:
            done = db.execute(
                "INSERT OR IGNORE INTO releases (set_id, released) VALUES (?, ?)", (set_id, _now())
            ).rowcount
        return bool(done)

    def released(self, set_id: str) -> bool:
        """Whether the trainer released set ``set_id``'s answer key for its tests."""
        with self._connection() as db:
            return db.execute("SELECT 1 FROM releases WHERE set_id = ?", (set_id,)).fetchone() is not None

    def _prepare(self, db: sqlite3.Connection) -> None:
        db.execute("PRAGMA journal_mode = WAL")  # readers (reports) never block a trainee's answer
        with immediate(db):  # two servers starting on one new file create its tables once
            tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not tables:
                for statement in _TABLES.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
                return
            row = None
            if {"meta", "sessions", "answers"} <= tables:
                row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            if row is None:
                raise PracticeError(
                    f"{self.path} is an SQLite file but not practice results; give another --db"
                )
            if int(row[0]) > SCHEMA_VERSION:
                raise PracticeError(
                    f"{self.path} was written by a newer impostor (results schema {row[0]}; this one reads "
                    f"{SCHEMA_VERSION}); upgrade impostor"
                )
            if "releases" not in tables:
                db.execute(_RELEASES)  # results written before keys could be released
            if int(row[0]) < 2:
                for statement in _FROM_1.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (str(SCHEMA_VERSION),))


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
