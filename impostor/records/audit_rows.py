"""What the audit log holds, row by row: its tables, the columns each record and event hashes,
the entry a caller hands in (``AuditEntry``), what is read back (``AuditRecord``, ``AuditEvent``),
what a walk of the chains found (``ChainReport``), and the rule for text the log accepts
(``check_text``).

``impostor.records.audit`` (the log itself) re-exports the public names; times are UTC ISO 8601
text with microseconds, one fixed width, so that SQLite's string order is time order.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from impostor.types import Reason, Verdict

__all__ = [
    "EVENT_COLUMNS",
    "EVENT_FIELDS",
    "EVENT_KINDS",
    "EVENT_PERSONAL",
    "GENESIS_HASH",
    "MAX_NOTE",
    "PERSONAL",
    "PUBLIC_FIELDS",
    "RECORD_FIELDS",
    "SCHEMA_SQL",
    "SCHEMA_VERSION",
    "V2_COLUMNS",
    "AuditEntry",
    "AuditEvent",
    "AuditRecord",
    "ChainReport",
    "check_text",
    "event_from_row",
    "period_clause",
    "personal_columns",
    "reason_dict",
    "record_from_row",
    "utc_text",
]


# 2: personal fields hashed through their own digest, so they can be purged;
# 3: the document's number, as a keyed hash, among them
SCHEMA_VERSION = 3

GENESIS_HASH = "0" * 64  # the prev_hash of record 1

# the hashed columns, in the order they are stored; ``hash`` itself is not among them
RECORD_FIELDS = (
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

# what may follow a decision, and the values each kind takes
EVENT_KINDS: Mapping[str, tuple[str, ...]] = {
    "judgement": ("same", "different", "unsure"),  # the officer's own, before seeing the tool's
    "outcome": ("admitted", "secondary", "retaken", "other"),
}

MAX_NOTE = 200  # characters of an outcome's note

EVENT_FIELDS = ("seq", "time", "record_seq", "record_hash", "kind", "value", "prev_hash")

EVENT_PERSONAL = ("operator", "note")

EVENT_COLUMNS = (*EVENT_FIELDS, *EVENT_PERSONAL, "hash", "personal", "purged")

# what a purge removes from an old record: who worked the counter and which images were compared
PERSONAL = ("operator", "document_sha256", "live_sha256")

PUBLIC_FIELDS = tuple(name for name in RECORD_FIELDS if name not in PERSONAL)

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


def personal_columns(scheme: int) -> tuple[str, ...]:
    """The personal columns of a log of ``scheme``: hashed through their own digest, purged."""
    return (*PERSONAL, "document_ref") if scheme >= 3 else PERSONAL


def utc_text(moment: datetime) -> str:
    """One fixed-width text form, so SQLite's string order is time order. Naive means UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class AuditEntry:
    """What is logged about one decision, before the log gives it a sequence number and hashes.

    ``probability`` is the calibrated probability of the same person; ``distance`` the embedding
    distance (smaller is more alike; MATCH at or below ``accept_distance``, NO_MATCH above
    ``reject_distance``). ``time`` defaults to the moment of appending. ``checks`` is what a
    document read with a chip adds (which portrait decided, passive, active and chip
    authentication, the substitution distance): it is stored in the hashed ``quality`` column
    under ``"checks"``, so a record without it hashes as every record before it did.
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
    checks: Mapping[str, object] | None = None

    def stored_quality(self) -> Mapping[str, object] | None:
        """What the ``quality`` column keeps: each side's report, and the ``checks`` where any."""
        if not self.checks:
            return self.quality
        return {**(self.quality or {}), "checks": dict(self.checks)}

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
        checks: Mapping[str, object] | None = None,
    ) -> AuditEntry:
        """The entry for ``verdict``: its decision, figures, profile and both images' digests
        (and the chip's ``checks``, as the class says)."""
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
            checks=checks,
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

    @property
    def checks(self) -> Mapping[str, object] | None:
        """What a document read with a chip added (``AuditEntry.checks``): which portrait
        decided (``"portrait"``), ``"passive"``, ``"active"`` and ``"chip"`` authentication,
        ``"access"``, ``"substitution_distance"`` and ``"substitution_alert"``; None without."""
        found = (self.quality or {}).get("checks")
        return found if isinstance(found, Mapping) else None

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict of the record, its reasons both as codes and in full."""
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
            "reasons": [reason_dict(reason) for reason in self.reasons],
            "quality": None if self.quality is None else dict(self.quality),
            "document_sha256": self.document_sha256,
            "live_sha256": self.live_sha256,
            "document_ref": self.document_ref,
            "checks": None if self.checks is None else dict(self.checks),
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
        """A JSON-ready dict of the event's fields."""
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
        """One line for a terminal: intact with the counts, or the first problem found."""
        if self.ok:
            return f"audit log intact: {self.count} records and {self.events} events, chain verified"
        return self.problem


def reason_dict(reason: Reason) -> dict[str, object]:
    """A reason as stored in a record: code, message and side (None for both)."""
    return {"code": reason.code, "message": reason.message, "side": reason.side}


def period_clause(since: datetime | None, until: datetime | None) -> tuple[str, list[str]]:
    """A SQL ``WHERE`` clause (or "") and its parameters for ``since <= time < until``."""
    clauses, params = [], []
    if since is not None:
        clauses.append("time >= ?")
        params.append(utc_text(since))
    if until is not None:
        clauses.append("time < ?")
        params.append(utc_text(until))
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def event_from_row(values: Mapping[str, object]) -> AuditEvent:
    """The event a stored row holds, from its columns by name."""
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


def record_from_row(values: Mapping[str, object]) -> AuditRecord:
    """The record a stored row holds, from its columns by name (reasons and quality from JSON)."""
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


SCHEMA_SQL = """
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


V2_COLUMNS = (
    "ALTER TABLE records ADD COLUMN personal TEXT",  # SHA-256 of the personal fields, kept after a purge
    "ALTER TABLE records ADD COLUMN purged TEXT",  # UTC time the personal fields were removed
    # the document's issuing state and number as an HMAC under the log's own key (scheme 3)
    "ALTER TABLE records ADD COLUMN document_ref TEXT NOT NULL DEFAULT ''",
)
