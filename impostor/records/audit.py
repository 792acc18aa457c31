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

Beside this module, ``audit_rows`` holds what a record and an event are (and re-exported here,
the names callers use) and ``audit_chain`` how they are hashed and how the chains are walked.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from impostor.db import immediate, private_file
from impostor.errors import AuditError
from impostor.records.audit_chain import (
    event_digest,
    event_personal_digest,
    head_problem,
    personal_digest,
    raw_text,
    record_columns,
    record_digest,
    said,
    verify_chain,
)
from impostor.records.audit_rows import (
    EVENT_FIELDS,
    EVENT_KINDS,
    EVENT_PERSONAL,
    GENESIS_HASH,
    MAX_NOTE,
    PERSONAL,
    RECORD_FIELDS,
    SCHEMA_SQL,
    SCHEMA_VERSION,
    V2_COLUMNS,
    AuditEntry,
    AuditEvent,
    AuditRecord,
    ChainReport,
    check_text,
    event_from_row,
    period_clause,
    personal_columns,
    reason_dict,
    record_from_row,
    utc_text,
)
from impostor.types import Decision, Verdict

__all__ = [
    "BUSY_TIMEOUT_MS",
    "EVENT_KINDS",
    "GENESIS_HASH",
    "MAX_NOTE",
    "PERSONAL",
    "SCHEMA_VERSION",
    "AuditEntry",
    "AuditEvent",
    "AuditLog",
    "AuditRecord",
    "ChainReport",
    "check_text",
    "default_path",
]

_Row = TypeVar("_Row", "AuditRecord", "AuditEvent")  # what a row of the log is built into

BUSY_TIMEOUT_MS = 60_000  # how long a writer waits for another process's transaction


def default_path() -> Path:
    """The audit database named by the ``audit_db`` setting (``IMPOSTOR_AUDIT_DB``)."""
    from impostor import settings

    return Path(str(settings.get("audit_db"))).expanduser()


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
            for statement in filter(str.strip, SCHEMA_SQL.split(";")):
                self._db.execute(statement)
            row = self._db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if row is None:
                for statement in V2_COLUMNS:
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
        checks: Mapping[str, object] | None = None,
    ) -> AuditRecord:
        """Log ``verdict`` under ``station`` and ``operator``; returns the stored record.

        ``document`` is the issuing state and number read from the document, stored only as
        :meth:`document_ref` gives it; ``checks`` what a chip added (``AuditEntry.checks``)."""
        reference = self.document_ref(*document) if document is not None else ""
        entry = AuditEntry.from_verdict(
            verdict,
            station=station,
            operator=operator,
            quality=quality,
            document_ref=reference,
            checks=checks,
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
            "time": utc_text(entry.time or datetime.now(UTC)),
            "station": entry.station,
            "operator": entry.operator,
            "decision": entry.decision,
            "probability": None if entry.probability is None else float(entry.probability),
            "distance": None if entry.distance is None else float(entry.distance),
            "accept_distance": float(entry.accept_distance),
            "reject_distance": float(entry.reject_distance),
            "profile_name": entry.profile_name,
            "profile_version": entry.profile_version,
            "reasons": json.dumps([reason_dict(r) for r in entry.reasons], ensure_ascii=False),
            "quality": None
            if entry.stored_quality() is None
            else json.dumps(entry.stored_quality(), sort_keys=True, ensure_ascii=False),
            "document_sha256": entry.document_sha256,
            "live_sha256": entry.live_sha256,
        }
        try:
            with self._transaction():
                self.check_head()
                seq, prev_hash = self._head()
                values["seq"] = seq + 1
                values["prev_hash"] = prev_hash
                columns: tuple[str, ...] = (*RECORD_FIELDS, "hash")
                if self.scheme >= 3:
                    values["document_ref"] = entry.document_ref
                    columns = (*columns, "document_ref")
                if self.scheme >= 2:
                    values["personal"] = personal_digest(values, self.scheme)
                    columns = (*columns, "personal")
                values["hash"] = record_digest(values, self.scheme)
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
        return record_from_row(values)

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
            "time": utc_text(datetime.now(UTC)),
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
                values["personal"] = event_personal_digest(values)
                values["hash"] = event_digest(values)
                columns = (*EVENT_FIELDS, *EVENT_PERSONAL, "hash", "personal")
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
        return event_from_row(values)

    def events(self, record_seq: int | None = None) -> Iterator[AuditEvent]:
        """The events, in sequence order; only those of decision ``record_seq`` when given.

        Raises ``AuditError`` at an event the file no longer holds readably."""
        columns = (*EVENT_FIELDS, *EVENT_PERSONAL, "hash", "purged")
        where, params = ("", ()) if record_seq is None else (" WHERE record_seq = ?", (record_seq,))
        yield from self._each("event", f"FROM events{where} ORDER BY seq", params, columns, event_from_row)

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
            f"the audit log {self.path} cannot be read {where} ({said(error)}): "
            f"`impostor audit verify --db {self.path}` names the first bad record"
        )

    def _head(self) -> tuple[int, str]:
        row = self._db.execute("SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1").fetchone()
        return (0, GENESIS_HASH) if row is None else (int(row[0]), str(row[1]))

    def check_head(self) -> None:
        """Raise ``AuditError`` unless the last record and the last event verify on their own and
        are the heads kept in ``meta``: nothing is appended after a damaged or edited head.

        One record and one event are read, not the chains (``verify`` walks them all)."""
        try:
            with raw_text(self._db):
                problem = head_problem(self._db, self.scheme, "record") or head_problem(
                    self._db, self.scheme, "event"
                )
        except (sqlite3.Error, ValueError) as error:
            problem = f"its head cannot be read ({said(error)})"
        if problem:
            raise AuditError(
                f"the audit log {self.path} takes no more decisions: {problem}. Nothing was added; "
                f"run `impostor audit verify --db {self.path}`, keep the file as evidence and start "
                "a new log (--audit-db or IMPOSTOR_AUDIT_DB)"
            )

    # -- reading ----------------------------------------------------------------------------

    def records(self, since: datetime | None = None, until: datetime | None = None) -> Iterator[AuditRecord]:
        """Records with ``since <= time < until`` (either bound may be None), in sequence order.

        Raises ``AuditError`` at a record the file no longer holds readably."""
        where, params = period_clause(since, until)
        yield from self._each(
            "record",
            f"FROM records{where} ORDER BY seq",
            params,
            record_columns(self.scheme),
            record_from_row,
        )

    def record(self, seq: int) -> AuditRecord | None:
        """Record ``seq``, or None when the log has no such record."""
        columns = record_columns(self.scheme)
        try:
            row = self._db.execute(
                f"SELECT {', '.join(columns)} FROM records WHERE seq = ?", (seq,)
            ).fetchone()
            return None if row is None else record_from_row(dict(zip(columns, row, strict=True)))
        except (sqlite3.Error, ValueError, TypeError) as error:
            raise AuditError(
                f"record {seq} of the audit log {self.path} cannot be read ({said(error)})"
            ) from None

    def last_seq_before(self, moment: datetime) -> int:
        """The sequence number of the last record made before ``moment`` (0 when none was)."""
        row = self._db.execute("SELECT MAX(seq) FROM records WHERE time < ?", (utc_text(moment),)).fetchone()
        return int(row[0] or 0)

    def verify(self) -> ChainReport:
        """Walk the whole chain; report the first record edited, damaged, missing or out of order,
        then SQLite's own check of the file (a byte changed in an index or a free page)."""
        try:
            with raw_text(self._db):
                report = verify_chain(self._db, self.scheme)
            if not report.ok:
                return report
            found = self._db.execute("PRAGMA integrity_check(1)").fetchone()
        except (sqlite3.Error, ValueError) as error:
            return ChainReport(ok=False, count=0, problem=f"the log cannot be read ({said(error)})")
        if found is None or found[0] != "ok":
            return ChainReport(
                ok=False,
                count=report.count,
                events=report.events,
                problem=f"every record verifies, but the file is damaged ({said(found)}): keep it as "
                "evidence and start a new log (--audit-db or IMPOSTOR_AUDIT_DB)",
            )
        return report

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
        blank = ", ".join(f"{name} = ''" for name in personal_columns(self.scheme))
        now = utc_text(datetime.now(UTC))
        try:
            # the removed values must leave the file too, not linger in free pages or the WAL
            self._db.execute("PRAGMA secure_delete = ON")
            with self._transaction():
                done = self._db.execute(
                    f"UPDATE records SET {blank}, purged = ? WHERE time < ? AND purged IS NULL",
                    (now, utc_text(older_than)),
                ).rowcount
                self._db.execute(
                    "UPDATE events SET operator = '', note = '', purged = ? "
                    "WHERE time < ? AND purged IS NULL",
                    (now, utc_text(older_than)),
                )
                self._db.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('last_purge', ?)",
                    (json.dumps({"at": now, "before": utc_text(older_than), "records": done}),),
                )
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._db.execute("VACUUM")
        except sqlite3.Error as error:
            raise AuditError(f"cannot purge the audit log {self.path}: {error}") from None
        return int(done)

    def close(self) -> None:
        """Close the database connection; the log is unusable afterwards."""
        self._db.close()

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
