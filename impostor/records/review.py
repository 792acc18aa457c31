"""What a supervisor reads from the audit log: tidy exports and counts, in local time.

The log stores UTC (``impostor.records.audit``); a person reviewing it reads the counter's own clock, so
every time here is shown in this machine's local time zone, named. Exports carry tidy columns
(a rounded probability, a short quality summary, the reason codes) rather than the stored JSON;
the JSON export keeps every stored field beside the local time.
"""

from __future__ import annotations

import csv
import json
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO

from impostor.csvsafe import spreadsheet_cell
from impostor.records.audit import AuditEvent, AuditLog, AuditRecord

__all__ = ["EXPORT_COLUMNS", "Group", "Review", "export", "local_time", "review", "zone_name"]

EXPORT_COLUMNS = (
    "seq",
    "time",
    "station",
    "operator",
    "document_ref",
    "decision",
    "probability",
    "distance",
    "reason_codes",
    "quality",
    "profile",
    "judgement",
    "outcome",
    "outcome_note",
    "purged",
)
GROUPINGS = ("station", "operator", "day")


def local_time(utc_text: str) -> datetime:
    """A stored UTC time as an aware datetime in this machine's local zone."""
    moment = datetime.fromisoformat(utc_text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone()


def zone_name(moment: datetime | None = None) -> str:
    """The local zone as people write it, with its offset: ``-05 (UTC-05:00)``."""
    moment = (moment or datetime.now(UTC)).astimezone()
    offset = moment.strftime("%z")
    return f"{moment.tzname()} (UTC{offset[:3]}:{offset[3:]})"


def _quality_summary(quality: Mapping[str, object] | None) -> str:
    """``document ok; live: sharpness, roll`` from the stored per-side quality reports."""
    if not quality:
        return ""
    parts = []
    for side in ("document", "live"):
        report = quality.get(side)
        if not isinstance(report, Mapping):
            parts.append(f"{side}: no face")
            continue
        failures = report.get("failures") or []
        parts.append(f"{side} ok" if not failures else f"{side}: {', '.join(map(str, failures))}")
    return "; ".join(parts)


def _followed(log: AuditLog) -> dict[int, list[AuditEvent]]:
    """Each decision's events, in the order they were made."""
    events: dict[int, list[AuditEvent]] = defaultdict(list)
    for event in log.events():
        events[event.record_seq].append(event)
    return events


def _latest(events: list[AuditEvent], kind: str) -> AuditEvent | None:
    """The last event of ``kind``: an outcome recorded again (a retake, a correction) replaces it."""
    return next((event for event in reversed(events) if event.kind == kind), None)


def _first(events: list[AuditEvent], kind: str) -> AuditEvent | None:
    """The first event of ``kind``: the officer's judgement made before the tool's was shown."""
    return next((event for event in events if event.kind == kind), None)


def _tidy(record: AuditRecord, events: list[AuditEvent]) -> dict[str, object]:
    judgement, outcome = _first(events, "judgement"), _latest(events, "outcome")
    return {
        "seq": record.seq,
        "time": local_time(record.time).isoformat(timespec="seconds"),
        "station": spreadsheet_cell(record.station),
        "operator": spreadsheet_cell(record.operator),
        "document_ref": record.document_ref,
        "decision": record.decision,
        "probability": "" if record.probability is None else round(record.probability, 3),
        "distance": "" if record.distance is None else round(record.distance, 4),
        "reason_codes": ";".join(reason.code for reason in record.reasons),
        "quality": _quality_summary(record.quality),
        "profile": spreadsheet_cell(f"{record.profile_name} {record.profile_version}"),
        "judgement": judgement.value if judgement else "",
        "outcome": outcome.value if outcome else "",
        "outcome_note": spreadsheet_cell(outcome.note) if outcome else "",
        "purged": "" if record.purged is None else local_time(record.purged).isoformat(timespec="seconds"),
    }


def export(log: AuditLog, out: IO[str], fmt: str, *, since: datetime | None, until: datetime | None) -> int:
    """Write the records of ``[since, until)`` (naive: local time) to ``out`` as tidy CSV or full
    JSON, each with what followed it (the officer's judgement and the outcome); returns how many.

    Records are streamed, so ``impostor audit export | head`` stops early without harm.
    """
    if fmt not in ("csv", "json"):
        raise ValueError(f"format {fmt!r} is not csv or json")
    count = 0
    followed = _followed(log)
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS)
        writer.writeheader()
        for record in log.records(_utc(since), _utc(until)):
            writer.writerow(_tidy(record, followed.get(record.seq, [])))
            count += 1
        return count
    out.write("[")
    for record in log.records(_utc(since), _utc(until)):
        full = record.to_dict() | {
            "time_local": local_time(record.time).isoformat(timespec="seconds"),
            "events": [event.to_dict() for event in followed.get(record.seq, [])],
        }
        out.write(("," if count else "") + "\n  " + json.dumps(full, ensure_ascii=False))
        count += 1
    out.write("\n]\n")
    return count


@dataclass(frozen=True)
class Group:
    """Decisions of one station, operator or local day, with the shares a supervisor watches."""

    key: str
    total: int
    match: int
    no_match: int
    refer: int

    @property
    def refer_rate(self) -> float:
        """REFER decisions over all in the group (0-1; 0 for an empty group)."""
        return self.refer / self.total if self.total else 0.0

    @property
    def no_match_rate(self) -> float:
        """NO_MATCH decisions over all in the group (0-1; 0 for an empty group)."""
        return self.no_match / self.total if self.total else 0.0

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict: the key, the counts by decision and the rates (to four decimals)."""
        return {
            "key": self.key,
            "total": self.total,
            "MATCH": self.match,
            "NO_MATCH": self.no_match,
            "REFER": self.refer,
            "refer_rate": round(self.refer_rate, 4),
            "no_match_rate": round(self.no_match_rate, 4),
        }


@dataclass(frozen=True)
class Review:
    """Counts over ``[since, until)``: decisions, reason codes, and by station, operator and day."""

    total: int
    zone: str
    since: str | None
    until: str | None
    by_decision: Mapping[str, int] = field(default_factory=dict)
    by_reason: Mapping[str, int] = field(default_factory=dict)
    groups: Mapping[str, tuple[Group, ...]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict of the review: the period, its time zone and every grouping."""
        return {
            "total": self.total,
            "time_zone": self.zone,
            "since": self.since,
            "until": self.until,
            "by_decision": dict(self.by_decision),
            "by_reason": dict(self.by_reason),
            **{f"by_{name}": [group.to_dict() for group in groups] for name, groups in self.groups.items()},
        }


def review(log: AuditLog, since: datetime | None = None, until: datetime | None = None) -> Review:
    """Count the records of ``[since, until)`` (naive datetimes are local time)."""
    by_decision: Counter[str] = Counter()
    by_reason: Counter[str] = Counter()
    counts: dict[str, dict[str, Counter[str]]] = {name: defaultdict(Counter) for name in GROUPINGS}
    total = 0
    for record in log.records(_utc(since), _utc(until)):
        total += 1
        by_decision[record.decision] += 1
        by_reason.update(reason.code for reason in record.reasons)
        keys = {
            "station": record.station,
            "operator": record.operator or "(purged)",
            "day": local_time(record.time).date().isoformat(),
        }
        for name, key in keys.items():
            counts[name][key][record.decision] += 1
    groups = {name: tuple(_groups(found)) for name, found in counts.items()}
    return Review(
        total=total,
        zone=zone_name(),
        since=None if since is None else since.isoformat(sep=" "),
        until=None if until is None else until.isoformat(sep=" "),
        by_decision=dict(sorted(by_decision.items())),
        by_reason=dict(by_reason.most_common()),
        groups=groups,
    )


def _groups(found: Mapping[str, Counter[str]]) -> Iterator[Group]:
    for key in sorted(found):
        c = found[key]
        yield Group(key, sum(c.values()), c["MATCH"], c["NO_MATCH"], c["REFER"])


def _utc(moment: datetime | None) -> datetime | None:
    """A period bound the user typed in local time, as the UTC the log is stored in."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.astimezone()  # naive: this machine's local time
    return moment.astimezone(UTC)
