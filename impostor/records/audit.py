"""A tamper-evident audit trail of decisions, in one local SQLite file.

Every decision is appended as one record: UTC time, station and operator, decision, probability,
distance, thresholds, profile, reasons, a quality summary and the SHA-256 digests of both images.
No images and no embeddings are kept: a record holds the images' digests only.

Records are hash-chained: ``hash`` is the SHA-256 of a canonical JSON of the record's fields
(its sequence number included) and ``prev_hash``, the previous record's hash. The personal
fields (the operator and the two images' digests) enter the hash through a digest of their own,
kept beside them, so that ``purge`` can remove them from old records, as retention rules
require, and the chain still verifies. ``verify`` walks
the chain and names the first record that was edited, deleted or moved. The head of the chain
(last sequence number and hash) is also kept in the ``meta`` table, so cutting records off the
end is detected too.

What followed a decision is appended as an *event* linked to it: the officer's own judgement
(when the station asks for it before showing the tool's) and the outcome (admitted, sent to
secondary, photo retaken, other with a note). Events are hash-chained in the same way, in their own
chain, and each holds the hash of the decision record it belongs to, so neither can be changed
without ``verify`` noticing; the operator and the note are personal fields, purged like the
records' ones.

Appending reads the head and inserts in one ``BEGIN IMMEDIATE`` transaction, so several
processes writing to one file serialise and never fork the chain; a process killed mid-write
leaves the last committed record as the head (SQLite's journal rolls the rest back).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import sqlite3
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from impostor.db import immediate, private_file
from impostor.errors import AuditError
from impostor.types import Decision, Reason, Verdict

__all__ = [
    "EVENT_KINDS",
    "AuditEntry",
    "AuditEvent",
    "AuditLog",
    "AuditRecord",
    "ChainReport",
    "check_text",
    "default_path",
]

_Row = TypeVar("_Row", "AuditRecord", "AuditEvent")  # what a row of the log is built into

# 2: personal fields hashed through their own digest, so they can be purged;
# 3: the document's number, as a keyed hash, among them
SCHEMA_VERSION = 3
GENESIS_HASH = "0" * 64  # the prev_hash of record 1
BUSY_TIMEOUT_MS = 60_000  # how long a writer waits for another process's transaction

# the hashed columns, in the order they are stored; ``hash`` itself is not among them
_FIELDS = (
    "seq",
    "time",
    "station",
    "operator",
    "decision",
    "probability",
    "distance",
    "accept_distance",
    "reject_distance",
    "profile_name",
    "profile_version",
    "reasons",
    "quality",
    "document_sha256",
    "live_sha256",
    "prev_hash",
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    seq INTEGER PRIMARY KEY,
    time TEXT NOT NULL,
    station TEXT NOT NULL,
    operator TEXT NOT NULL,
    decision TEXT NOT NULL,
    probability REAL,
    distance REAL,
    accept_distance REAL NOT NULL,
    reject_distance REAL NOT NULL,
    profile_name TEXT NOT NULL,
    profile_version TEXT NOT NULL,
    reasons TEXT NOT NULL,
    quality TEXT,
    document_sha256 TEXT NOT NULL,
    live_sha256 TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS records_time ON records (time);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    time TEXT NOT NULL,
    record_seq INTEGER NOT NULL,
    record_hash TEXT NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    operator TEXT NOT NULL,
    note TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    personal TEXT NOT NULL,
    purged TEXT
);
CREATE INDEX IF NOT EXISTS events_record ON events (record_seq);
"""
# what may follow a decision, and the values each kind takes
EVENT_KINDS: Mapping[str, tuple[str, ...]] = {
    "judgement": ("same", "different", "unsure"),  # the officer's own, before seeing the tool's
    "outcome": ("admitted", "secondary", "retaken", "other"),
}
MAX_NOTE = 200  # characters of an outcome's note
_EVENT_FIELDS = ("seq", "time", "record_seq", "record_hash", "kind", "value", "prev_hash")
_EVENT_PERSONAL = ("operator", "note")
_EVENT_COLUMNS = (*_EVENT_FIELDS, *_EVENT_PERSONAL, "hash", "personal", "purged")
# what a purge removes from an old record: who worked the counter and which images were compared
PERSONAL = ("operator", "document_sha256", "live_sha256")
_PUBLIC = tuple(name for name in _FIELDS if name not in PERSONAL)
_V2_COLUMNS = (
    "ALTER TABLE records ADD COLUMN personal TEXT",  # SHA-256 of the personal fields, kept after a purge
    "ALTER TABLE records ADD COLUMN purged TEXT",  # UTC time the personal fields were removed
    # the document's issuing state and number as an HMAC under the log's own key (scheme 3)
    "ALTER TABLE records ADD COLUMN document_ref TEXT NOT NULL DEFAULT ''",
)


# characters no name or note in the log may hold: they hide or reorder what a reviewer reads
# (U+202E turns "exe.txt" into "txt.exe"), end a CSV row, or cannot be stored as UTF-8
_UNPRINTABLE_CATEGORIES = ("Cc", "Cs", "Zl", "Zp")  # controls (NUL, ESC, DEL, C1), surrogates, separators
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def check_text(text: str, what: str) -> str:
    """``text`` when it holds no control, bidirectional-formatting or separator character.

    Raises ValueError naming ``what`` (``"the note"``, ``"--operator"``), the first such
    character and where it is.
    """
    for place, character in enumerate(text, 1):
        if character in _BIDI_CONTROLS or unicodedata.category(character) in _UNPRINTABLE_CATEGORIES:
            name = unicodedata.name(character, "a control character")
            raise ValueError(
                f"{what} holds U+{ord(character):04X} ({name}) at character {place}: control and "
                "bidirectional-formatting characters are not kept in the audit log; type it again "
                "without them"
            )
    return text


def _personal(scheme: int) -> tuple[str, ...]:
    """The personal columns of a log of ``scheme``: hashed through their own digest, purged."""
    return (*PERSONAL, "document_ref") if scheme >= 3 else PERSONAL


def default_path() -> Path:
    """The audit database named by the ``audit_db`` setting (``IMPOSTOR_AUDIT_DB``)."""
    from impostor import settings

    return Path(str(settings.get("audit_db"))).expanduser()


def _utc_text(moment: datetime) -> str:
    """One fixed-width text form, so SQLite's string order is time order. Naive means UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class AuditEntry:
    """What is logged about one decision, before the log gives it a sequence number and hashes.

    ``probability`` is the calibrated probability of the same person; ``distance`` the embedding
    distance (smaller is more alike; MATCH at or below ``accept_distance``, NO_MATCH above
    ``reject_distance``). ``time`` defaults to the moment of appending.
    """

    station: str
    operator: str
    decision: str
    probability: float | None
    distance: float | None
    accept_distance: float
    reject_distance: float
    profile_name: str
    profile_version: str
    document_sha256: str
    live_sha256: str
    reasons: tuple[Reason, ...] = ()
    quality: Mapping[str, object] | None = None
    time: datetime | None = None
    document_ref: str = ""  # the document's number as a keyed hash (AuditLog.document_ref)

    @classmethod
    def from_verdict(
        cls,
        verdict: Verdict,
        *,
        station: str,
        operator: str,
        quality: Mapping[str, object] | None = None,
        time: datetime | None = None,
        document_ref: str = "",
    ) -> AuditEntry:
        return cls(
            station=station,
            operator=operator,
            decision=verdict.decision.value,
            probability=verdict.probability,
            distance=verdict.distance,
            accept_distance=verdict.accept_distance,
            reject_distance=verdict.reject_distance,
            profile_name=verdict.profile.name,
            profile_version=verdict.profile.version,
            document_sha256=verdict.document.image.info.sha256,
            live_sha256=verdict.live.image.info.sha256,
            reasons=verdict.reasons,
            quality=quality,
            time=time,
            document_ref=document_ref,
        )


@dataclass(frozen=True)
class AuditRecord:
    """One stored record. ``time`` is UTC ISO 8601 text; ``hash`` chains to ``prev_hash``."""

    seq: int
    time: str
    station: str
    operator: str
    decision: str
    probability: float | None
    distance: float | None
    accept_distance: float
    reject_distance: float
    profile_name: str
    profile_version: str
    reasons: tuple[Reason, ...]
    quality: Mapping[str, object] | None
    document_sha256: str
    live_sha256: str
    prev_hash: str
    hash: str
    purged: str | None = None  # UTC time the personal fields were removed, None while they are kept
    document_ref: str = ""  # the document's number as a keyed hash; "" when none was read

    def to_dict(self) -> dict[str, object]:
        return {
            "seq": self.seq,
            "time": self.time,
            "station": self.station,
            "operator": self.operator,
            "decision": self.decision,
            "probability": self.probability,
            "distance": self.distance,
            "accept_distance": self.accept_distance,
            "reject_distance": self.reject_distance,
            "profile_name": self.profile_name,
            "profile_version": self.profile_version,
            "reason_codes": [reason.code for reason in self.reasons],
            "reasons": [_reason_dict(reason) for reason in self.reasons],
            "quality": None if self.quality is None else dict(self.quality),
            "document_sha256": self.document_sha256,
            "live_sha256": self.live_sha256,
            "document_ref": self.document_ref,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
            "purged": self.purged,
        }


@dataclass(frozen=True)
class AuditEvent:
    """What followed decision ``record_seq``: a ``kind`` of ``EVENT_KINDS`` and its ``value``.

    ``time`` is UTC ISO 8601 text; ``note`` is empty unless the officer wrote one.
    """

    seq: int
    time: str
    record_seq: int
    kind: str
    value: str
    operator: str
    note: str
    record_hash: str
    prev_hash: str
    hash: str
    purged: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class ChainReport:
    """The result of walking the chains: ``ok``, records and events seen, and the first bad one."""

    ok: bool
    count: int
    first_bad: int | None = None
    problem: str = ""
    events: int = 0

    def summary(self) -> str:
        if self.ok:
            return f"audit log intact: {self.count} records and {self.events} events, chain verified"
        return self.problem


def _reason_dict(reason: Reason) -> dict[str, object]:
    return {"code": reason.code, "message": reason.message, "side": reason.side}


def _canonical_digest(values: Mapping[str, object]) -> str:
    canonical = json.dumps(dict(values), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _personal_digest(values: Mapping[str, object], scheme: int = SCHEMA_VERSION) -> str:
    return _canonical_digest({name: values[name] for name in _personal(scheme)})


def _event_personal(values: Mapping[str, object]) -> str:
    return _canonical_digest({name: values[name] for name in _EVENT_PERSONAL})


def _event_digest(values: Mapping[str, object]) -> str:
    return _canonical_digest(
        {**{name: values[name] for name in _EVENT_FIELDS}, "personal": values["personal"]}
    )


def _digest(values: Mapping[str, object], scheme: int = SCHEMA_VERSION) -> str:
    """The record's hash: SHA-256 of the canonical JSON of its hashed columns, as stored.

    Scheme 1 hashes every column itself; scheme 2 hashes the personal ones through their own
    digest (``personal``), which a purge keeps, so the chain still verifies once they are gone.
    """
    if scheme == 1:
        return _canonical_digest({name: values[name] for name in _FIELDS})
    return _canonical_digest({**{name: values[name] for name in _PUBLIC}, "personal": values["personal"]})


_DAMAGED = "!damaged"  # the key under which ``_decoded`` names a column that was not UTF-8


def _text(value: object) -> str:
    """A stored text read as bytes (``AuditLog._raw_text``) or as text; ValueError when not UTF-8."""
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _decoded(row: Mapping[str, object]) -> dict[str, object]:
    """``row`` with its texts decoded; under ``_DAMAGED`` the first column whose bytes were not
    UTF-8 (decoded with U+FFFD, so that the row no longer hashes as it did), or ""."""
    decoded: dict[str, object] = {_DAMAGED: ""}
    for name, value in row.items():
        if isinstance(value, bytes):
            try:
                decoded[name] = value.decode("utf-8")
            except UnicodeDecodeError:
                decoded[_DAMAGED] = decoded[_DAMAGED] or name
                decoded[name] = value.decode("utf-8", "replace")
        else:
            decoded[name] = value
    return decoded


def _said(error: object) -> str:
    """What SQLite (or Python) said, on one short line, without the damaged text it may quote."""
    text = " ".join(str(error[0] if isinstance(error, tuple) else error).split())
    undecodable = re.search(r"Could not decode to UTF-8 column '(\w+)'", text)
    if undecodable:
        return f"its {undecodable[1]} is not UTF-8 text"
    return text if len(text) <= 120 else text[:117] + "..."


def _record_problem(row: Mapping[str, object], scheme: int, count: int) -> str:
    """What is wrong with one decoded record on its own ("" when nothing): bytes that are not
    text, personal fields that do not match their digest, a hash that does not match."""
    seq = row["seq"]
    if row.get(_DAMAGED):
        return f"record {seq} is damaged: its {row[_DAMAGED]} is not text (bytes changed in the file)"
    try:
        if scheme >= 2 and row["purged"] is None:
            edited = _personal_digest(row, scheme) != row["personal"]
        else:  # a purged record holds no personal field: "purged" cannot hide an edit of them
            edited = scheme >= 2 and any(row[name] != "" for name in _personal(scheme))
        if edited:
            return f"record {seq} was edited"
        if _digest(row, scheme) == row["hash"]:
            return ""
        # content moved from elsewhere in the chain still hashes right at its old position
        # (sequence numbers are hashed); looked for only once, at the first bad record
        origin = next(
            (k for k in range(1, count + 2) if _digest({**row, "seq": k}, scheme) == row["hash"]), None
        )
    except (TypeError, ValueError):  # a column whose type the damage changed
        return f"record {seq} is damaged (bytes changed in the file)"
    if origin is not None:
        return f"records out of order: record {seq} holds record {origin}'s content"
    return f"record {seq} was edited"


def _event_problem(row: Mapping[str, object]) -> str:
    """What is wrong with one decoded event on its own ("" when nothing)."""
    seq = row["seq"]
    if row.get(_DAMAGED):
        return f"event {seq} is damaged: its {row[_DAMAGED]} is not text (bytes changed in the file)"
    try:
        # a purged event holds no operator and no note: "purged" cannot hide an edit of them
        if row["purged"] is None:
            edited = _event_personal(row) != row["personal"]
        else:
            edited = any(row[name] != "" for name in _EVENT_PERSONAL)
        edited = edited or _event_digest(row) != row["hash"]
    except (TypeError, ValueError):
        return f"event {seq} is damaged (bytes changed in the file)"
    return f"event {seq} was edited" if edited else ""


class AuditLog:
    """An append-only, hash-chained log of decisions in the SQLite file ``path``.

    Creates the file (and its folder) when missing. Use as a context manager, or call ``close``.
    Raises ``AuditError`` when the file is not an audit log or cannot be opened.
    """

    def __init__(self, path: str | Path | None = None, *, create: bool = True) -> None:
        self.path = Path(path).expanduser() if path is not None else default_path()
        if not create and not self.path.is_file():
            # a reading command on a mistyped path must not leave an empty log that "verifies"
            raise AuditError(f"{self.path}: no such audit log; check --db or IMPOSTOR_AUDIT_DB")
        try:
            if create:
                private_file(self.path)
            # autocommit: every transaction is an explicit BEGIN IMMEDIATE … COMMIT
            self._db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        except (OSError, sqlite3.Error) as error:
            raise AuditError(f"cannot open the audit log {self.path}: {error}") from None
        self._create = create
        try:
            self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if self._db.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = FULL")
            self._create_schema()
        except sqlite3.DatabaseError as error:
            self._db.close()
            raise AuditError(
                f"{self.path} is not a usable audit log ({error}): give another --db or IMPOSTOR_AUDIT_DB"
            ) from None

    def _create_schema(self) -> None:
        with self._transaction():
            tables = {
                name for (name,) in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
            if tables and "records" not in tables:  # another SQLite file (practice results, a cache)
                raise AuditError(f"{self.path} is an SQLite file but not an audit log: give another --db")
            if not tables and not self._create:
                raise AuditError(f"{self.path} is empty, not an audit log: give another --db")
            # one statement at a time: executescript would COMMIT the transaction
            for statement in filter(str.strip, _SCHEMA.split(";")):
                self._db.execute(statement)
            row = self._db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if row is None:
                for statement in _V2_COLUMNS:
                    self._db.execute(statement)
                self._db.execute(
                    "INSERT INTO meta (key, value) VALUES ('document_key', ?)", (secrets.token_hex(32),)
                )
                self._db.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
                )
            try:
                # a log begun by impostor 0.1 keeps its scheme: re-hashing it would end its evidence
                self.scheme = SCHEMA_VERSION if row is None else int(row[0])
            except ValueError:
                raise AuditError(
                    f"{self.path} is damaged: its schema version {row[0]!r} is not a number"
                ) from None
            if self.scheme > SCHEMA_VERSION:
                raise AuditError(
                    f"{self.path} has audit schema version {row[0]}, newer than this impostor's "
                    f"{SCHEMA_VERSION}: upgrade impostor to read it"
                )

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return immediate(self._db)

    # -- writing ----------------------------------------------------------------------------

    def append(
        self,
        verdict: Verdict,
        *,
        station: str,
        operator: str,
        quality: Mapping[str, object] | None = None,
        document: tuple[str, str] | None = None,
    ) -> AuditRecord:
        """Log ``verdict`` under ``station`` and ``operator``; returns the stored record.

        ``document`` is the issuing state and number read from the document, stored only as
        :meth:`document_ref` gives it."""
        reference = self.document_ref(*document) if document is not None else ""
        entry = AuditEntry.from_verdict(
            verdict, station=station, operator=operator, quality=quality, document_ref=reference
        )
        return self.append_entry(entry)

    def document_ref(self, issuing_state: str, number: str) -> str:
        """A document's issuing state and number as an HMAC-SHA-256 under this log's own random
        key (kept in its ``meta`` table): the same document gives the same reference in this
        log, so its records can be found again, but the number cannot be read back from an
        export. A log begun before schema 3 has no key and keeps no reference ("")."""
        row = self._db.execute("SELECT value FROM meta WHERE key = 'document_key'").fetchone()
        if row is None:
            return ""
        try:
            key = bytes.fromhex(str(row[0]))
        except ValueError:
            raise AuditError(f"the audit log {self.path} is damaged: its document key is not hex") from None
        return hmac.new(key, f"{issuing_state}:{number}".encode(), hashlib.sha256).hexdigest()

    def append_entry(self, entry: AuditEntry) -> AuditRecord:
        """Append one entry at the head of the chain, atomically; returns the stored record.

        Raises ValueError for an unknown decision or an empty or unprintable station or
        operator (``check_text``), and ``AuditError`` when the log cannot take it: a head that no
        longer verifies (``check_head``), a damaged or read-only file."""
        if entry.decision not in {d.value for d in Decision}:
            raise ValueError(f"decision {entry.decision!r} is not one of MATCH, NO_MATCH, REFER")
        if not entry.station or not entry.operator:
            raise ValueError(f"station {entry.station!r} and operator {entry.operator!r} must be non-empty")
        check_text(entry.station, "the station name")
        check_text(entry.operator, "the operator name")
        values: dict[str, object] = {
            "time": _utc_text(entry.time or datetime.now(UTC)),
            "station": entry.station,
            "operator": entry.operator,
            "decision": entry.decision,
            "probability": None if entry.probability is None else float(entry.probability),
            "distance": None if entry.distance is None else float(entry.distance),
            "accept_distance": float(entry.accept_distance),
            "reject_distance": float(entry.reject_distance),
            "profile_name": entry.profile_name,
            "profile_version": entry.profile_version,
            "reasons": json.dumps([_reason_dict(r) for r in entry.reasons], ensure_ascii=False),
            "quality": None
            if entry.quality is None
            else json.dumps(entry.quality, sort_keys=True, ensure_ascii=False),
            "document_sha256": entry.document_sha256,
            "live_sha256": entry.live_sha256,
        }
        try:
            with self._transaction():
                self.check_head()
                seq, prev_hash = self._head()
                values["seq"] = seq + 1
                values["prev_hash"] = prev_hash
                columns: tuple[str, ...] = (*_FIELDS, "hash")
                if self.scheme >= 3:
                    values["document_ref"] = entry.document_ref
                    columns = (*columns, "document_ref")
                if self.scheme >= 2:
                    values["personal"] = _personal_digest(values, self.scheme)
                    columns = (*columns, "personal")
                values["hash"] = _digest(values, self.scheme)
                self._db.execute(
                    f"INSERT INTO records ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                    [values[name] for name in columns],
                )
                self._db.executemany(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                    [("head_seq", str(values["seq"])), ("head_hash", str(values["hash"]))],
                )
        except sqlite3.Error as error:
            raise AuditError(f"cannot append to the audit log {self.path}: {error}") from None
        return _record(values)

    def append_event(
        self, record_seq: int, kind: str, value: str, *, operator: str, note: str = ""
    ) -> AuditEvent:
        """Append what followed decision ``record_seq`` (a ``kind`` of ``EVENT_KINDS``); returns it.

        Raises ValueError for an unknown kind or value, an empty operator, a note over
        ``MAX_NOTE`` characters or a control or bidirectional-formatting character in either
        (``check_text``), and ``AuditError`` when there is no record ``record_seq``.
        """
        if value not in EVENT_KINDS.get(kind, ()):
            raise ValueError(f"{kind!r} {value!r} is not an audit event: expected one of {dict(EVENT_KINDS)}")
        if not operator:
            raise ValueError("an event needs its operator")
        if len(note) > MAX_NOTE:
            raise ValueError(f"a note is at most {MAX_NOTE} characters, not {len(note)}")
        check_text(operator, "the operator name")
        check_text(note, "the note")
        values: dict[str, object] = {
            "time": _utc_text(datetime.now(UTC)),
            "record_seq": int(record_seq),
            "kind": kind,
            "value": value,
            "operator": operator,
            "note": note,
        }
        try:
            with self._transaction():
                self.check_head()
                row = self._db.execute("SELECT hash FROM records WHERE seq = ?", (record_seq,)).fetchone()
                if row is None:
                    raise AuditError(
                        f"the audit log {self.path} has no record {record_seq} to add an {kind} to"
                    )
                head = self._db.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
                seq, prev_hash = (0, GENESIS_HASH) if head is None else (int(head[0]), str(head[1]))
                values |= {"seq": seq + 1, "prev_hash": prev_hash, "record_hash": str(row[0])}
                values["personal"] = _event_personal(values)
                values["hash"] = _event_digest(values)
                columns = (*_EVENT_FIELDS, *_EVENT_PERSONAL, "hash", "personal")
                self._db.execute(
                    f"INSERT INTO events ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                    [values[name] for name in columns],
                )
                self._db.executemany(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                    [("events_head_seq", str(values["seq"])), ("events_head_hash", str(values["hash"]))],
                )
        except sqlite3.Error as error:
            raise AuditError(f"cannot append to the audit log {self.path}: {error}") from None
        return _event(values)

    def events(self, record_seq: int | None = None) -> Iterator[AuditEvent]:
        """The events, in sequence order; only those of decision ``record_seq`` when given.

        Raises ``AuditError`` at an event the file no longer holds readably."""
        columns = (*_EVENT_FIELDS, *_EVENT_PERSONAL, "hash", "purged")
        where, params = ("", ()) if record_seq is None else (" WHERE record_seq = ?", (record_seq,))
        yield from self._each("event", f"FROM events{where} ORDER BY seq", params, columns, _event)

    def _each(
        self,
        what: str,
        rest: str,
        params: Sequence[object],
        columns: tuple[str, ...],
        build: Callable[[Mapping[str, object]], _Row],
    ) -> Iterator[_Row]:
        """``SELECT columns rest``, each row built; an ``AuditError`` naming the last good one at
        the first row the file no longer holds readably."""
        last = 0
        try:
            for row in self._db.execute(f"SELECT {', '.join(columns)} {rest}", params):
                item = build(dict(zip(columns, row, strict=True)))
                yield item
                last = item.seq
        except (sqlite3.Error, ValueError, TypeError) as error:
            raise self._unreadable(what, last, error) from None

    def _unreadable(self, what: str, last: int, error: Exception) -> AuditError:
        where = f"after {what} {last}" if last else f"at its first {what}"
        return AuditError(
            f"the audit log {self.path} cannot be read {where} ({_said(error)}): "
            f"`impostor audit verify --db {self.path}` names the first bad record"
        )

    def _verify_events(self, hashes: Mapping[int, str]) -> tuple[int, str]:
        """The events seen and the first problem of their chain (empty when none)."""
        rows, unreadable = self._read(
            f"SELECT {', '.join(_EVENT_COLUMNS)} FROM events ORDER BY seq", _EVENT_COLUMNS
        )
        expected_seq, prev_hash = 1, GENESIS_HASH
        for row in rows:
            seq = int(str(row["seq"]))
            if seq != expected_seq:
                return len(rows), f"event {expected_seq} is missing (sequence gap)"
            problem = _event_problem(row)
            if problem:
                return len(rows), problem
            if row["prev_hash"] != prev_hash:
                return len(rows), f"event {seq} does not follow event {seq - 1} (chain broken)"
            if hashes.get(int(str(row["record_seq"]))) != row["record_hash"]:
                return len(rows), f"event {seq} does not belong to record {row['record_seq']} (link broken)"
            expected_seq, prev_hash = seq + 1, str(row["hash"])
        if unreadable:
            return len(rows), f"event {expected_seq} cannot be read ({unreadable})"
        head_seq, head_hash = self._meta_head("events_head")
        if head_seq >= expected_seq:
            return len(rows), f"event {expected_seq} is missing (log cut after event {expected_seq - 1})"
        if rows and (head_hash or prev_hash) != prev_hash:
            return len(rows), f"event {expected_seq - 1} was edited (head mismatch)"
        return len(rows), ""

    def _head(self) -> tuple[int, str]:
        row = self._db.execute("SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1").fetchone()
        return (0, GENESIS_HASH) if row is None else (int(row[0]), str(row[1]))

    def _meta_head(self, prefix: str) -> tuple[int, str]:
        """The head kept in ``meta`` (``head`` or ``events_head``): (sequence number, hash), (0, "")
        when none is kept. Raises ValueError when it is not a number and a hash any more."""
        kept = {
            _text(key): _text(value)
            for key, value in self._db.execute(
                "SELECT key, value FROM meta WHERE key IN (?, ?)", (f"{prefix}_seq", f"{prefix}_hash")
            )
        }
        seq = kept.get(f"{prefix}_seq", "0")
        if not (seq.isascii() and seq.isdigit()):
            raise ValueError(f"the {prefix}_seq its meta table keeps, {seq[:20]!r}, is not a number")
        return int(seq), kept.get(f"{prefix}_hash", "")

    def check_head(self) -> None:
        """Raise ``AuditError`` unless the last record and the last event verify on their own and
        are the heads kept in ``meta``: nothing is appended after a damaged or edited head.

        One record and one event are read, not the chains (``verify`` walks them all)."""
        try:
            with self._raw_text():
                problem = self._head_problem("record") or self._head_problem("event")
        except (sqlite3.Error, ValueError) as error:
            problem = f"its head cannot be read ({_said(error)})"
        if problem:
            raise AuditError(
                f"the audit log {self.path} takes no more decisions: {problem}. Nothing was added; "
                f"run `impostor audit verify --db {self.path}`, keep the file as evidence and start "
                "a new log (--audit-db or IMPOSTOR_AUDIT_DB)"
            )

    def _head_problem(self, what: str) -> str:
        """What is wrong with the last record (``what="record"``) or event, on its own or against
        the head kept in ``meta``; "" when nothing."""
        table, prefix, columns = (
            ("records", "head", self._columns())
            if what == "record"
            else ("events", "events_head", _EVENT_COLUMNS)
        )
        query = f"SELECT {', '.join(columns)} FROM {table} ORDER BY seq DESC LIMIT 1"
        rows, unreadable = self._read(query, columns)
        if unreadable:
            return f"its last {what} cannot be read ({unreadable})"
        kept_seq, kept_hash = self._meta_head(prefix)
        if not rows:
            return f"{what} {kept_seq} is missing (the log keeps it as its head)" if kept_seq else ""
        row = rows[0]
        seq = int(str(row["seq"]))
        problem = _record_problem(row, self.scheme, seq) if what == "record" else _event_problem(row)
        if not problem and kept_hash and (seq, row["hash"]) != (kept_seq, kept_hash):
            problem = f"{what} {seq} is not the head the log keeps ({what}s cut or edited)"
        return problem

    @contextmanager
    def _raw_text(self) -> Iterator[None]:
        """Texts come back as bytes in the block, decoded by ``_decoded``: a byte changed in the
        file names its record instead of stopping the read."""
        self._db.text_factory = bytes
        try:
            yield
        finally:
            self._db.text_factory = str

    def _read(self, query: str, columns: tuple[str, ...]) -> tuple[list[dict[str, object]], str]:
        """The rows of ``query`` up to the first the file cannot give, and why it cannot ("")."""
        rows: list[dict[str, object]] = []
        try:
            for row in self._db.execute(query):
                rows.append(_decoded(dict(zip(columns, row, strict=True))))
        except sqlite3.DatabaseError as error:
            return rows, _said(error)
        return rows, ""

    # -- reading ----------------------------------------------------------------------------

    def records(self, since: datetime | None = None, until: datetime | None = None) -> Iterator[AuditRecord]:
        """Records with ``since <= time < until`` (either bound may be None), in sequence order.

        Raises ``AuditError`` at a record the file no longer holds readably."""
        where, params = _period(since, until)
        yield from self._each("record", f"FROM records{where} ORDER BY seq", params, self._columns(), _record)

    def record(self, seq: int) -> AuditRecord | None:
        """Record ``seq``, or None when the log has no such record."""
        columns = self._columns()
        try:
            row = self._db.execute(
                f"SELECT {', '.join(columns)} FROM records WHERE seq = ?", (seq,)
            ).fetchone()
            return None if row is None else _record(dict(zip(columns, row, strict=True)))
        except (sqlite3.Error, ValueError, TypeError) as error:
            raise AuditError(
                f"record {seq} of the audit log {self.path} cannot be read ({_said(error)})"
            ) from None

    def last_seq_before(self, moment: datetime) -> int:
        """The sequence number of the last record made before ``moment`` (0 when none was)."""
        row = self._db.execute("SELECT MAX(seq) FROM records WHERE time < ?", (_utc_text(moment),)).fetchone()
        return int(row[0] or 0)

    def _columns(self) -> tuple[str, ...]:
        if self.scheme >= 3:
            return (*_FIELDS, "hash", "personal", "purged", "document_ref")
        return (*_FIELDS, "hash", "personal", "purged") if self.scheme >= 2 else (*_FIELDS, "hash")

    def verify(self) -> ChainReport:
        """Walk the whole chain; report the first record edited, damaged, missing or out of order,
        then SQLite's own check of the file (a byte changed in an index or a free page)."""
        try:
            with self._raw_text():
                report = self._verify_chain()
            if not report.ok:
                return report
            found = self._db.execute("PRAGMA integrity_check(1)").fetchone()
        except (sqlite3.Error, ValueError) as error:
            return ChainReport(ok=False, count=0, problem=f"the log cannot be read ({_said(error)})")
        if found is None or found[0] != "ok":
            return ChainReport(
                ok=False,
                count=report.count,
                events=report.events,
                problem=f"every record verifies, but the file is damaged ({_said(found)}): keep it as "
                "evidence and start a new log (--audit-db or IMPOSTOR_AUDIT_DB)",
            )
        return report

    def _verify_chain(self) -> ChainReport:
        columns = self._columns()
        rows, unreadable = self._read(f"SELECT {', '.join(columns)} FROM records ORDER BY seq", columns)
        expected_seq, prev_hash = 1, GENESIS_HASH
        for row in rows:
            seq = int(str(row["seq"]))
            if seq != expected_seq:
                return _bad(len(rows), expected_seq, f"record {expected_seq} is missing (sequence gap)")
            problem = _record_problem(row, self.scheme, len(rows))
            if problem:
                return _bad(len(rows), seq, problem)
            if row["prev_hash"] != prev_hash:
                return _bad(len(rows), seq, f"record {seq} does not follow record {seq - 1} (chain broken)")
            expected_seq, prev_hash = seq + 1, str(row["hash"])
        if unreadable:
            return _bad(len(rows), expected_seq, f"record {expected_seq} cannot be read ({unreadable})")
        head_seq, head_hash = self._meta_head("head")
        if head_seq >= expected_seq:
            return _bad(
                len(rows),
                expected_seq,
                f"record {expected_seq} is missing (log cut after record {expected_seq - 1})",
            )
        if rows and (head_hash or prev_hash) != prev_hash:
            return _bad(len(rows), expected_seq - 1, f"record {expected_seq - 1} was edited (head mismatch)")
        events, problem = self._verify_events({int(str(row["seq"])): str(row["hash"]) for row in rows})
        if problem:
            return ChainReport(ok=False, count=len(rows), problem=problem, events=events)
        return ChainReport(ok=True, count=len(rows), events=events)

    def verify_writable(self) -> None:
        """Raise ``AuditError`` unless a record could be appended now (a health check): the file
        takes writes and its head verifies (``check_head``)."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("ROLLBACK")
        except sqlite3.Error as error:
            raise AuditError(f"the audit log {self.path} takes no writes: {error}") from None
        self.check_head()

    def purge(self, older_than: datetime) -> int:
        """Remove the personal fields (``PERSONAL``) of every record made before ``older_than``, and
        the operator and note of every event made before it.

        What was removed stays represented by its digest, so ``verify`` still proves the chain
        whole; the purge itself is noted in the log's ``meta`` table. Returns how many records
        were purged now (already purged ones are left alone). Raises ``AuditError`` for a log
        begun by impostor 0.1, whose records hash their personal fields directly.
        """
        if self.scheme < 2:
            raise AuditError(
                f"{self.path} was begun by impostor 0.1 and its records cannot be purged without "
                "breaking the chain: archive it and start a new log"
            )
        blank = ", ".join(f"{name} = ''" for name in _personal(self.scheme))
        now = _utc_text(datetime.now(UTC))
        try:
            # the removed values must leave the file too, not linger in free pages or the WAL
            self._db.execute("PRAGMA secure_delete = ON")
            with self._transaction():
                done = self._db.execute(
                    f"UPDATE records SET {blank}, purged = ? WHERE time < ? AND purged IS NULL",
                    (now, _utc_text(older_than)),
                ).rowcount
                self._db.execute(
                    "UPDATE events SET operator = '', note = '', purged = ? "
                    "WHERE time < ? AND purged IS NULL",
                    (now, _utc_text(older_than)),
                )
                self._db.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('last_purge', ?)",
                    (json.dumps({"at": now, "before": _utc_text(older_than), "records": done}),),
                )
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._db.execute("VACUUM")
        except sqlite3.Error as error:
            raise AuditError(f"cannot purge the audit log {self.path}: {error}") from None
        return int(done)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _bad(count: int, seq: int, problem: str) -> ChainReport:
    return ChainReport(ok=False, count=count, first_bad=seq, problem=problem)


def _period(since: datetime | None, until: datetime | None) -> tuple[str, list[str]]:
    clauses, params = [], []
    if since is not None:
        clauses.append("time >= ?")
        params.append(_utc_text(since))
    if until is not None:
        clauses.append("time < ?")
        params.append(_utc_text(until))
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def _event(values: Mapping[str, object]) -> AuditEvent:
    return AuditEvent(
        seq=int(str(values["seq"])),
        time=str(values["time"]),
        record_seq=int(str(values["record_seq"])),
        kind=str(values["kind"]),
        value=str(values["value"]),
        operator=str(values["operator"]),
        note=str(values["note"]),
        record_hash=str(values["record_hash"]),
        prev_hash=str(values["prev_hash"]),
        hash=str(values["hash"]),
        purged=None if values.get("purged") is None else str(values["purged"]),
    )


def _record(values: Mapping[str, object]) -> AuditRecord:
    reasons = json.loads(str(values["reasons"]))
    quality = values["quality"]
    return AuditRecord(
        seq=int(str(values["seq"])),
        time=str(values["time"]),
        station=str(values["station"]),
        operator=str(values["operator"]),
        decision=str(values["decision"]),
        probability=values["probability"],  # type: ignore[arg-type]
        distance=values["distance"],  # type: ignore[arg-type]
        accept_distance=float(values["accept_distance"]),  # type: ignore[arg-type]
        reject_distance=float(values["reject_distance"]),  # type: ignore[arg-type]
        profile_name=str(values["profile_name"]),
        profile_version=str(values["profile_version"]),
        reasons=tuple(Reason(r["code"], r["message"], r.get("side")) for r in reasons),
        quality=None if quality is None else json.loads(str(quality)),
        document_sha256=str(values["document_sha256"]),
        live_sha256=str(values["live_sha256"]),
        prev_hash=str(values["prev_hash"]),
        hash=str(values["hash"]),
        purged=None if values.get("purged") is None else str(values["purged"]),
        document_ref=str(values.get("document_ref") or ""),
    )
