"""The audit log's hash chains: how a record and an event are hashed, and the walk that names
the first record or event edited, deleted, moved or damaged.

Records are hashed as the SHA-256 of a canonical JSON of their columns (``record_digest``), the
personal columns through a digest of their own (``personal_digest``) so that a purge keeps the
chain whole; events likewise (``event_digest``). The walk reads texts as bytes (``raw_text``),
so that a byte changed in the file names its record instead of stopping the read.
``impostor.records.audit`` holds the log that calls these.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from impostor.records.audit_rows import (
    EVENT_COLUMNS,
    EVENT_FIELDS,
    EVENT_PERSONAL,
    GENESIS_HASH,
    PUBLIC_FIELDS,
    RECORD_FIELDS,
    SCHEMA_VERSION,
    ChainReport,
    personal_columns,
)

__all__ = [
    "event_digest",
    "event_personal_digest",
    "head_problem",
    "personal_digest",
    "raw_text",
    "record_columns",
    "record_digest",
    "said",
    "verify_chain",
]


def canonical_digest(values: Mapping[str, object]) -> str:
    """SHA-256 (64 hex digits) of ``values`` as canonical JSON: sorted keys, no spaces, UTF-8."""
    canonical = json.dumps(dict(values), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def personal_digest(values: Mapping[str, object], scheme: int = SCHEMA_VERSION) -> str:
    """The digest of a record's personal columns under ``scheme`` (what a purge keeps of them)."""
    return canonical_digest({name: values[name] for name in personal_columns(scheme)})


def event_personal_digest(values: Mapping[str, object]) -> str:
    """The digest of an event's personal columns, its operator and note (kept after a purge)."""
    return canonical_digest({name: values[name] for name in EVENT_PERSONAL})


def event_digest(values: Mapping[str, object]) -> str:
    """An event's hash: its hashed columns and its personal digest (``values["personal"]``)."""
    return canonical_digest({**{name: values[name] for name in EVENT_FIELDS}, "personal": values["personal"]})


def record_digest(values: Mapping[str, object], scheme: int = SCHEMA_VERSION) -> str:
    """The record's hash: SHA-256 of the canonical JSON of its hashed columns, as stored.

    Scheme 1 hashes every column itself; scheme 2 hashes the personal ones through their own
    digest (``personal``), which a purge keeps, so the chain still verifies once they are gone.
    """
    if scheme == 1:
        return canonical_digest({name: values[name] for name in RECORD_FIELDS})
    return canonical_digest(
        {**{name: values[name] for name in PUBLIC_FIELDS}, "personal": values["personal"]}
    )


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


def said(error: object) -> str:
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
            edited = personal_digest(row, scheme) != row["personal"]
        else:  # a purged record holds no personal field: "purged" cannot hide an edit of them
            edited = scheme >= 2 and any(row[name] != "" for name in personal_columns(scheme))
        if edited:
            return f"record {seq} was edited"
        if record_digest(row, scheme) == row["hash"]:
            return ""
        # content moved from elsewhere in the chain still hashes right at its old position
        # (sequence numbers are hashed); looked for only once, at the first bad record
        origin = next(
            (k for k in range(1, count + 2) if record_digest({**row, "seq": k}, scheme) == row["hash"]), None
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
            edited = event_personal_digest(row) != row["personal"]
        else:
            edited = any(row[name] != "" for name in EVENT_PERSONAL)
        edited = edited or event_digest(row) != row["hash"]
    except (TypeError, ValueError):
        return f"event {seq} is damaged (bytes changed in the file)"
    return f"event {seq} was edited" if edited else ""


def _bad(count: int, seq: int, problem: str) -> ChainReport:
    return ChainReport(ok=False, count=count, first_bad=seq, problem=problem)


def record_columns(scheme: int) -> tuple[str, ...]:
    """The columns a record of a log of ``scheme`` is read with."""
    if scheme >= 3:
        return (*RECORD_FIELDS, "hash", "personal", "purged", "document_ref")
    return (*RECORD_FIELDS, "hash", "personal", "purged") if scheme >= 2 else (*RECORD_FIELDS, "hash")


@contextmanager
def raw_text(db: sqlite3.Connection) -> Iterator[None]:
    """Texts come back as bytes in the block, decoded by ``_decoded``: a byte changed in the
    file names its record instead of stopping the read."""
    db.text_factory = bytes
    try:
        yield
    finally:
        db.text_factory = str


def _read(
    db: sqlite3.Connection, query: str, columns: tuple[str, ...]
) -> tuple[list[dict[str, object]], str]:
    """The rows of ``query`` up to the first the file cannot give, and why it cannot ("")."""
    rows: list[dict[str, object]] = []
    try:
        for row in db.execute(query):
            rows.append(_decoded(dict(zip(columns, row, strict=True))))
    except sqlite3.DatabaseError as error:
        return rows, said(error)
    return rows, ""


def _meta_head(db: sqlite3.Connection, prefix: str) -> tuple[int, str]:
    """The head kept in ``meta`` (``head`` or ``events_head``): (sequence number, hash), (0, "")
    when none is kept. Raises ValueError when it is not a number and a hash any more."""
    kept = {
        _text(key): _text(value)
        for key, value in db.execute(
            "SELECT key, value FROM meta WHERE key IN (?, ?)", (f"{prefix}_seq", f"{prefix}_hash")
        )
    }
    seq = kept.get(f"{prefix}_seq", "0")
    if not (seq.isascii() and seq.isdigit()):
        raise ValueError(f"the {prefix}_seq its meta table keeps, {seq[:20]!r}, is not a number")
    return int(seq), kept.get(f"{prefix}_hash", "")


def head_problem(db: sqlite3.Connection, scheme: int, what: str) -> str:
    """What is wrong with the last record (``what="record"``) or event, on its own or against
    the head kept in ``meta``; "" when nothing. Read inside ``raw_text``; raises
    ``sqlite3.Error`` or ValueError when the head cannot be read at all."""
    table, prefix, columns = (
        ("records", "head", record_columns(scheme))
        if what == "record"
        else ("events", "events_head", EVENT_COLUMNS)
    )
    query = f"SELECT {', '.join(columns)} FROM {table} ORDER BY seq DESC LIMIT 1"
    rows, unreadable = _read(db, query, columns)
    if unreadable:
        return f"its last {what} cannot be read ({unreadable})"
    kept_seq, kept_hash = _meta_head(db, prefix)
    if not rows:
        return f"{what} {kept_seq} is missing (the log keeps it as its head)" if kept_seq else ""
    row = rows[0]
    seq = int(str(row["seq"]))
    problem = _record_problem(row, scheme, seq) if what == "record" else _event_problem(row)
    if not problem and kept_hash and (seq, row["hash"]) != (kept_seq, kept_hash):
        problem = f"{what} {seq} is not the head the log keeps ({what}s cut or edited)"
    return problem


def verify_chain(db: sqlite3.Connection, scheme: int) -> ChainReport:
    """Walk the records' chain, then the events'; the first record or event edited, damaged,
    missing or out of order. Read inside ``raw_text``; raises ``sqlite3.Error`` or ValueError
    when the log cannot be read at all."""
    columns = record_columns(scheme)
    rows, unreadable = _read(db, f"SELECT {', '.join(columns)} FROM records ORDER BY seq", columns)
    expected_seq, prev_hash = 1, GENESIS_HASH
    for row in rows:
        seq = int(str(row["seq"]))
        if seq != expected_seq:
            return _bad(len(rows), expected_seq, f"record {expected_seq} is missing (sequence gap)")
        problem = _record_problem(row, scheme, len(rows))
        if problem:
            return _bad(len(rows), seq, problem)
        if row["prev_hash"] != prev_hash:
            return _bad(len(rows), seq, f"record {seq} does not follow record {seq - 1} (chain broken)")
        expected_seq, prev_hash = seq + 1, str(row["hash"])
    if unreadable:
        return _bad(len(rows), expected_seq, f"record {expected_seq} cannot be read ({unreadable})")
    head_seq, head_hash = _meta_head(db, "head")
    if head_seq >= expected_seq:
        return _bad(
            len(rows),
            expected_seq,
            f"record {expected_seq} is missing (log cut after record {expected_seq - 1})",
        )
    if rows and (head_hash or prev_hash) != prev_hash:
        return _bad(len(rows), expected_seq - 1, f"record {expected_seq - 1} was edited (head mismatch)")
    events, problem = _verify_events(db, {int(str(row["seq"])): str(row["hash"]) for row in rows})
    if problem:
        return ChainReport(ok=False, count=len(rows), problem=problem, events=events)
    return ChainReport(ok=True, count=len(rows), events=events)


def _verify_events(db: sqlite3.Connection, hashes: Mapping[int, str]) -> tuple[int, str]:
    """The events seen and the first problem of their chain (empty when none)."""
    rows, unreadable = _read(db, f"SELECT {', '.join(EVENT_COLUMNS)} FROM events ORDER BY seq", EVENT_COLUMNS)
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
    head_seq, head_hash = _meta_head(db, "events_head")
    if head_seq >= expected_seq:
        return len(rows), f"event {expected_seq} is missing (log cut after event {expected_seq - 1})"
    if rows and (head_hash or prev_hash) != prev_hash:
        return len(rows), f"event {expected_seq - 1} was edited (head mismatch)"
    return len(rows), ""
