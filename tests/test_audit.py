"""The audit trail: chain integrity, tampering, export, stats, privacy, concurrency, crashes."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from impostor.cli import main
from impostor.errors import AuditError
from impostor.pipeline.verifier import Verifier
from impostor.records.audit import AuditEntry, AuditLog
from impostor.records.review import EXPORT_COLUMNS, export, review
from impostor.types import Reason, Verdict

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"


@pytest.fixture(scope="module")
def verdict(verifier: Verifier) -> Verdict:
    return verifier.verify(SAMPLES / "document.png", SAMPLES / "live_genuine.jpg")


def _entry(i: int, *, day: int = 1, decision: str = "MATCH", codes: tuple[str, ...] = ()) -> AuditEntry:
    return AuditEntry(
        station="LHR-T5-07",
        operator=f"officer-{i % 3}",
        decision=decision,
        probability=0.5 + (i % 50) / 100,
        distance=0.3 + (i % 7) / 100,
        accept_distance=0.45,
        reject_distance=0.6,
        profile_name="shipped",
        profile_version="1.0",
        document_sha256=f"{i:064x}",
        live_sha256=f"{i + 1:064x}",
        reasons=tuple(Reason(code, f"because {code}") for code in codes),
        quality={"document": {"sharpness": 120.5}, "live": None},
        time=datetime(2026, 11, day, 9, 0, i % 60, tzinfo=UTC),
    )


def _filled(path: Path, count: int = 30) -> Path:
    with AuditLog(path) as log:
        for i in range(count):
            log.append_entry(_entry(i))
    return path


def _verify_cli(path: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["audit", "verify", "--db", str(path)])
    return result.exit_code, result.output


# -- the chain -------------------------------------------------------------------------------


def test_appended_verdict_is_stored_and_verifies(tmp_path: Path, verdict: Verdict) -> None:
    db = tmp_path / "audit.sqlite"
    with AuditLog(db) as log:
        record = log.append(verdict, station="S1", operator="O1", quality={"live": {"sharpness": 3.0}})
        second = log.append(verdict, station="S1", operator="O2")
        assert (record.seq, second.seq) == (1, 2)
        assert second.prev_hash == record.hash
        assert record.decision == verdict.decision.value
        assert record.document_sha256 == verdict.document.image.info.sha256
        assert record.live_sha256 == verdict.live.image.info.sha256
        assert record.profile_version == verdict.profile.version
        assert [r.code for r in record.reasons] == [r.code for r in verdict.reasons]
        assert list(log.records()) == [record, second]
        report = log.verify()
    assert report.ok and report.count == 2, report
    code, output = _verify_cli(db)
    assert code == 0, output
    assert "2 records" in output


def test_edited_record_is_named(tmp_path: Path) -> None:
    db = _filled(tmp_path / "audit.sqlite")
    with sqlite3.connect(db) as raw:
        raw.execute("UPDATE records SET decision = 'NO_MATCH' WHERE seq = 17")
    with AuditLog(db) as log:
        report = log.verify()
    assert not report.ok and report.first_bad == 17
    assert report.problem == "record 17 was edited"
    code, output = _verify_cli(db)
    assert code == 14, output
    assert output.count("\n") == 1 and "AuditError" in output and "record 17 was edited" in output


def test_deleted_record_is_named(tmp_path: Path) -> None:
    db = _filled(tmp_path / "audit.sqlite")
    with sqlite3.connect(db) as raw:
        raw.execute("DELETE FROM records WHERE seq = 17")
    with AuditLog(db) as log:
        report = log.verify()
    assert report.first_bad == 17 and "record 17 is missing" in report.problem
    code, output = _verify_cli(db)
    assert code == 14 and "record 17 is missing" in output and output.count("\n") == 1


def test_deleted_last_record_is_named(tmp_path: Path) -> None:
    db = _filled(tmp_path / "audit.sqlite")
    with sqlite3.connect(db) as raw:
        raw.execute("DELETE FROM records WHERE seq = 30")
    with AuditLog(db) as log:
        report = log.verify()
    assert report.first_bad == 30 and "record 30 is missing" in report.problem


def test_swapped_records_are_named(tmp_path: Path) -> None:
    db = _filled(tmp_path / "audit.sqlite")
    with sqlite3.connect(db) as raw:
        columns = [row[1] for row in raw.execute("PRAGMA table_info(records)") if row[1] != "seq"]
        five, six = (
            raw.execute(f"SELECT {', '.join(columns)} FROM records WHERE seq = ?", (s,)).fetchone()
            for s in (5, 6)
        )
        assignments = ", ".join(f"{c} = ?" for c in columns)
        raw.execute(f"UPDATE records SET {assignments} WHERE seq = 5", six)
        raw.execute(f"UPDATE records SET {assignments} WHERE seq = 6", five)
    with AuditLog(db) as log:
        report = log.verify()
    assert report.first_bad == 5
    assert "out of order" in report.problem
    code, output = _verify_cli(db)
    assert code == 14 and "out of order" in output and output.count("\n") == 1


# -- export and stats ------------------------------------------------------------------------


def _spread(path: Path) -> Path:
    with AuditLog(path) as log:
        for day in (1, 2, 3):
            for i in range(10):
                decision = ("MATCH", "NO_MATCH", "REFER")[i % 3]
                codes = ("live_too_dark",) if decision == "REFER" else ()
                log.append_entry(_entry(i, day=day, decision=decision, codes=codes))
    return path


@pytest.fixture
def lima(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The counter's clock: Peru, five hours behind UTC."""
    monkeypatch.setenv("TZ", "America/Lima")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_export_round_trips_with_since_in_local_time(tmp_path: Path, fmt: str, lima: None) -> None:
    db = _spread(tmp_path / "audit.sqlite")
    out = tmp_path / f"export.{fmt}"
    result = CliRunner().invoke(
        main,
        ["audit", "export", "--since", "2026-11-02", "--format", fmt, "--out", str(out), "--db", str(db)],
    )
    assert result.exit_code == 0, result.output
    with AuditLog(db) as log:
        expected = [r.to_dict() for r in log.records(since=datetime(2026, 11, 2, 5, tzinfo=UTC))]
    assert len(expected) == 20
    if fmt == "json":
        exported = json.loads(out.read_text())
        assert [
            {k: v for k, v in r.items() if k not in ("time_local", "events")} for r in exported
        ] == expected
        assert all(r["events"] == [] for r in exported)
        assert exported[0]["time_local"] == "2026-11-02T04:00:00-05:00"  # 09:00 UTC at the counter
        return
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert list(rows[0]) == list(EXPORT_COLUMNS)
    assert [int(row["seq"]) for row in rows] == [r["seq"] for r in expected]
    for row, record in zip(rows, expected, strict=True):
        assert row["time"].startswith("2026-11-0") and row["time"].endswith("-05:00")
        assert float(row["probability"]) == round(record["probability"], 3)
        assert (row["reason_codes"].split(";") if row["reason_codes"] else []) == record["reason_codes"]
        assert row["quality"] == "document ok; live: no face"  # a summary, not the stored JSON


def test_export_until_is_exclusive(tmp_path: Path, lima: None) -> None:
    db = _spread(tmp_path / "audit.sqlite")
    stream = io.StringIO()
    with AuditLog(db) as log:
        count = export(log, stream, "json", since=datetime(2026, 11, 2), until=datetime(2026, 11, 3))
    assert count == 10 and len(json.loads(stream.getvalue())) == 10


def test_export_into_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    db = _spread(tmp_path / "audit.sqlite")
    command = [
        sys.executable,
        "-c",
        "from impostor.cli import main; main()",
        "audit",
        "export",
        "--db",
        str(db),
    ]
    exporter = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert exporter.stdout is not None
    exporter.stdout.readline()  # `| head -1`: read one line, then hang up
    exporter.stdout.close()
    assert exporter.wait(timeout=60) == 0
    assert exporter.stderr is not None and exporter.stderr.read() == b""


def test_stats_by_station_operator_and_day(tmp_path: Path, lima: None) -> None:
    db = _spread(tmp_path / "audit.sqlite")
    with AuditLog(db) as log:
        stats = review(log, since=datetime(2026, 11, 2))
    assert stats.total == 20
    assert dict(stats.by_decision) == {"MATCH": 8, "NO_MATCH": 6, "REFER": 6}
    assert dict(stats.by_reason) == {"live_too_dark": 6}
    days = {group.key: group for group in stats.groups["day"]}
    assert list(days) == ["2026-11-02", "2026-11-03"] and days["2026-11-02"].total == 10
    assert days["2026-11-02"].refer_rate == pytest.approx(0.3)
    officers = {group.key: group.total for group in stats.groups["operator"]}
    assert officers == {"officer-0": 8, "officer-1": 6, "officer-2": 6}
    assert [group.key for group in stats.groups["station"]] == ["LHR-T5-07"]
    assert "-05" in stats.zone
    result = CliRunner().invoke(main, ["audit", "stats", "--json", "--db", str(db)])
    assert result.exit_code == 0, result.output
    counted = json.loads(result.output)
    assert counted["total"] == 30 and counted["by_decision"]["REFER"] == 9
    assert counted["by_day"][0] == {
        "key": "2026-11-01",
        "total": 10,
        "MATCH": 4,
        "NO_MATCH": 3,
        "REFER": 3,
        "refer_rate": 0.3,
        "no_match_rate": 0.3,
    }
    text = CliRunner().invoke(main, ["audit", "stats", "--since", "2026-11-03", "--db", str(db)])
    assert text.exit_code == 0 and "10 decisions" in text.output and "by operator" in text.output


def test_purge_removes_personal_fields_and_the_chain_still_verifies(tmp_path: Path) -> None:
    db = _spread(tmp_path / "audit.sqlite")
    with AuditLog(db) as log:
        kept = list(log.records())
        assert log.purge(datetime(2026, 11, 2, tzinfo=UTC)) == 10
        assert log.purge(datetime(2026, 11, 2, tzinfo=UTC)) == 0  # already done
        after = list(log.records())
        assert log.verify().ok
    for old, new in zip(kept, after, strict=True):
        if old.time < "2026-11-02":
            assert new.purged and new.operator == new.document_sha256 == new.live_sha256 == ""
            assert (new.decision, new.station, new.hash) == (old.decision, old.station, old.hash)
        else:
            assert new == old
    # purged from the file itself, not left in free pages or the write-ahead log
    everything = _spread(tmp_path / "all.sqlite")
    with AuditLog(everything) as log:
        assert log.purge(datetime(2026, 12, 1, tzinfo=UTC)) == 30
    raw = everything.read_bytes() + (
        Path(f"{everything}-wal").read_bytes() if Path(f"{everything}-wal").exists() else b""
    )
    assert b"officer-" not in raw and kept[4].live_sha256.encode() not in raw
    # a purged record is still protected: editing what is left breaks the chain
    with sqlite3.connect(db) as connection:
        connection.execute("UPDATE records SET decision = 'MATCH' WHERE seq = 2")
    with AuditLog(db) as log:
        assert not log.verify().ok
    # and an edit of a kept record's personal field is caught by its digest
    db2 = _spread(tmp_path / "audit2.sqlite")
    with sqlite3.connect(db2) as connection:
        connection.execute("UPDATE records SET operator = 'someone-else' WHERE seq = 25")
    with AuditLog(db2) as log:
        assert log.verify().first_bad == 25


def test_purge_command(tmp_path: Path) -> None:
    db = _spread(tmp_path / "audit.sqlite")
    result = CliRunner().invoke(main, ["audit", "purge", "--older-than", "1", "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("purged 30 records") and "chain verified" in result.output
    missing = CliRunner().invoke(
        main, ["audit", "purge", "--older-than", "30", "--db", str(tmp_path / "no.db")]
    )
    assert missing.exit_code == 14 and not (tmp_path / "no.db").exists()


def test_not_a_database_is_one_line_error(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.sqlite"
    bogus.write_bytes(b"this is not sqlite at all" * 100)
    code, output = _verify_cli(bogus)
    assert code == 14 and output.count("\n") == 1 and "AuditError" in output


def test_export_never_writes_a_formula_from_a_station_or_operator_name(tmp_path: Path) -> None:
    db = tmp_path / "audit.sqlite"
    hostile = ("=cmd|' /C calc'!A0", "+SUM(1+1)", "-2+3", '@HYPERLINK("http://x")')
    with AuditLog(db) as log:
        for i, name in enumerate(hostile):
            log.append_entry(replace(_entry(i), station=name, operator=name))
    out = tmp_path / "export.csv"
    result = CliRunner().invoke(
        main, ["audit", "export", "--format", "csv", "--out", str(out), "--db", str(db)]
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert [(row["station"], row["operator"]) for row in rows] == [("'" + n, "'" + n) for n in hostile]


# -- a damaged file --------------------------------------------------------------------------

FLIPPED_RECORDS = (1, 2, 7, 15, 29, 30)  # 30 is the head


def _distinct(path: Path, count: int = 30) -> Path:
    """A log whose records each hold texts found nowhere else in the file: a byte flipped in one
    of them belongs to that record alone."""
    with AuditLog(path) as log:
        for seq in range(1, count + 1):
            log.append_entry(
                replace(
                    _entry(seq - 1),
                    operator=f"OFC-{seq:04d}",
                    document_sha256=hashlib.sha256(f"document {seq}".encode()).hexdigest(),
                    live_sha256=hashlib.sha256(f"live {seq}".encode()).hexdigest(),
                )
            )
        for seq in (3, 8):
            log.append_event(seq, "outcome", "other", operator=f"OFC-{seq:04d}", note=f"nota {seq:04d}")
    assert not Path(f"{path}-wal").exists()  # closed: everything is in the one file
    return path


def _flipped(original: bytes, offset: int, path: Path) -> Path:
    damaged = bytearray(original)
    damaged[offset] ^= 0xFF  # as the issue did: one byte inverted
    path.write_bytes(bytes(damaged))
    return path


def _one_line_error(result: Result) -> bool:
    return result.stderr.count("\n") == 1 and result.stderr.startswith("AuditError: ")


def _targets(original: bytes) -> list[tuple[int, str]]:
    """(offset, what verify must name) for a byte in the middle of each record's own texts and
    each event's note."""
    found = []
    for seq in FLIPPED_RECORDS:
        document = hashlib.sha256(f"document {seq}".encode()).hexdigest()
        live = hashlib.sha256(f"live {seq}".encode()).hexdigest()
        for text in (f"OFC-{seq:04d}", document, live):
            assert original.count(text.encode()) == 1, text
            found.append((original.index(text.encode()) + len(text) // 2, f"record {seq} "))
    for seq in (1, 2):
        note = f"nota {(3, 8)[seq - 1]:04d}".encode()
        found.append((original.index(note) + 2, f"event {seq} "))
    return found


def test_a_byte_flipped_in_a_record_is_named_never_a_crash(tmp_path: Path) -> None:
    original = _distinct(tmp_path / "audit.sqlite").read_bytes()
    targets = _targets(original)
    # and bytes anywhere: the schema, the meta table, the indexes, free space
    spread = [(offset, "") for offset in range(100, len(original), len(original) // 32)]
    assert len(targets) >= 16 and len(spread) >= 32
    verified = 0
    for number, (offset, named) in enumerate(targets + spread):
        log = _flipped(original, offset, tmp_path / f"flipped-{number}.sqlite")
        code, output = _verify_cli(log)
        assert code in (0, 14) and (code == 0 or output.count("\n") == 1), (offset, output)
        if named:
            assert code == 14 and named in output, (offset, output)
        verified += code == 0
        out = tmp_path / f"export-{number}.csv"
        codes = []
        for command in (["export", "--out", str(out)], ["export", "--format", "json"], ["stats"]):
            result = CliRunner().invoke(main, ["audit", *command, "--db", str(log)])
            assert result.exit_code in (0, 14), (offset, command, result.output)
            if result.exit_code == 14:
                assert _one_line_error(result), result.output
                assert "audit verify" in result.stderr or "usable" in result.stderr, result.stderr
            codes.append(result.exit_code)
        assert out.exists() == (codes[0] == 0)  # never half an export
    assert verified < len(spread)  # most bytes of a small log hold something verify reads


def test_nothing_is_appended_to_a_log_whose_head_is_damaged(tmp_path: Path) -> None:
    original = _distinct(tmp_path / "audit.sqlite").read_bytes()
    head = original.index(b"OFC-0030") + 4
    log = _flipped(original, head, tmp_path / "flipped.sqlite")
    before = log.read_bytes()
    compare = [str(SAMPLES / "document.png"), str(SAMPLES / "live_genuine.jpg"), "--audit-db", str(log)]
    result = CliRunner().invoke(main, ["compare", *compare, "--operator", "OFC-0042", "--station", "S1"])
    assert result.exit_code == 14 and _one_line_error(result), result.output
    assert "takes no more decisions" in result.output and "record 30" in result.output
    assert "audit verify" in result.output and "new log" in result.output
    assert log.read_bytes() == before  # nothing added, nothing lost
    with AuditLog(log) as opened:
        with pytest.raises(AuditError, match="takes no more decisions: record 30"):
            opened.append_event(29, "outcome", "admitted", operator="OFC-0042")
        with pytest.raises(AuditError, match="takes no more decisions"):
            opened.verify_writable()
    assert _verify_cli(log)[0] == 14
    # an edited, not damaged, last event stops appends too
    events_edited = tmp_path / "event.sqlite"
    events_edited.write_bytes(original)
    with sqlite3.connect(events_edited) as raw:
        raw.execute("UPDATE events SET value = 'admitted' WHERE seq = 2")
    with AuditLog(events_edited) as opened, pytest.raises(AuditError, match="event 2 was edited"):
        opened.append_entry(_entry(31))
    with AuditLog(events_edited) as opened:
        assert [r.seq for r in opened.records()][-1] == 30


@pytest.mark.parametrize(
    ("key", "value", "said"),
    [
        ("schema_version", "3x", "schema version '3x' is not a number"),
        ("head_seq", "thirty", "the head_seq its meta table keeps, 'thirty', is not a number"),
        ("head_hash", "0" * 64, "record 30 was edited (head mismatch)"),
    ],
)
def test_a_damaged_meta_table_is_a_one_line_error(tmp_path: Path, key: str, value: str, said: str) -> None:
    db = _distinct(tmp_path / "audit.sqlite")
    with sqlite3.connect(db) as raw:
        raw.execute("UPDATE meta SET value = ? WHERE key = ?", (value, key))
    code, output = _verify_cli(db)
    assert code == 14 and output.count("\n") == 1 and said in output, output
    for command in (["export"], ["stats"]):
        result = CliRunner().invoke(main, ["audit", *command, "--db", str(db)])
        assert result.exit_code in (0, 14) and (result.exit_code == 0 or _one_line_error(result)), (
            result.output
        )


@pytest.mark.parametrize(
    "text", ["nota\x00oculta", "exe.\u202etxt", "línea\u2028otra", "bell\x07", "\u2066x"]
)
def test_control_and_bidi_characters_are_refused_in_notes_and_names(tmp_path: Path, text: str) -> None:
    db = _filled(tmp_path / "audit.sqlite", 2)
    with AuditLog(db) as log:
        with pytest.raises(ValueError, match=r"the note holds U\+[0-9A-F]{4}"):
            log.append_event(1, "outcome", "other", operator="OFC-0042", note=text)
        with pytest.raises(ValueError, match="the operator name holds"):
            log.append_entry(replace(_entry(3), operator=text))
        with pytest.raises(ValueError, match="the station name holds"):
            log.append_entry(replace(_entry(3), station=text))
        log.append_event(1, "outcome", "other", operator="OFC-0042", note="pasaporte dañado, 2ª página")
        assert log.verify().count == 2 and len(list(log.events())) == 1


@pytest.mark.parametrize("option", ["--operator", "--station"])
def test_compare_refuses_an_unprintable_operator_or_station(tmp_path: Path, option: str) -> None:
    db = tmp_path / "audit.sqlite"
    compare = [str(SAMPLES / "document.png"), str(SAMPLES / "live_genuine.jpg"), "--audit-db", str(db)]
    result = CliRunner().invoke(main, ["compare", *compare, option, "OFC\u202e-0042"])
    assert result.exit_code == 2, result.output
    assert "U+202E" in result.output and option in result.output
    assert not db.exists() or AuditLog(db).verify().count == 0


def test_a_station_is_not_served_under_an_unprintable_name() -> None:
    result = CliRunner().invoke(main, ["station", "--name", "LIM-T1\x00-07"])
    assert result.exit_code == 2 and "U+0000" in result.output and "--name" in result.output


# -- what followed a decision ---------------------------------------------------------------


def test_judgements_and_outcomes_are_chained_to_their_decision(tmp_path: Path) -> None:
    db = _filled(tmp_path / "audit.sqlite", 5)
    with AuditLog(db) as log:
        log.append_event(2, "judgement", "same", operator="OFC-0042")
        log.append_event(2, "outcome", "retaken", operator="OFC-0042")
        log.append_event(2, "outcome", "other", operator="OFC-0042", note="pasaporte dañado")
        log.append_event(4, "outcome", "admitted", operator="OFC-0007")
        log.append_event(5, "outcome", "other", operator="OFC-0007", note="=HYPERLINK(1)")
        assert [(e.record_seq, e.value) for e in log.events(2)] == [(2, "same"), (2, "retaken"), (2, "other")]
        report = log.verify()
        assert report.ok and (report.count, report.events) == (5, 5)
        with pytest.raises(ValueError, match="'landed'"):
            log.append_event(2, "outcome", "landed", operator="OFC-0042")
        with pytest.raises(AuditError, match="no record 9"):
            log.append_event(9, "outcome", "admitted", operator="OFC-0042")
    out = io.StringIO()
    with AuditLog(db) as log:
        export(log, out, "csv", since=None, until=None)
    rows = {int(row["seq"]): row for row in csv.DictReader(io.StringIO(out.getvalue()))}
    followed = (rows[2]["judgement"], rows[2]["outcome"], rows[2]["outcome_note"])
    assert followed == ("same", "other", "pasaporte dañado")
    assert (rows[4]["outcome"], rows[1]["outcome"]) == ("admitted", "")
    assert rows[5]["outcome_note"] == "'=HYPERLINK(1)"  # never a formula in a spreadsheet


@pytest.mark.parametrize(
    ("tamper", "problem"),
    [
        ("UPDATE events SET value = 'admitted' WHERE seq = 1", "event 1 was edited"),
        ("UPDATE events SET note = 'nada' WHERE seq = 2", "event 2 was edited"),
        ("DELETE FROM events WHERE seq = 1", "event 1 is missing"),
        ("DELETE FROM events WHERE seq = 2", "event 2 is missing (log cut"),
        ("UPDATE events SET record_seq = 3 WHERE seq = 1", "event 1 was edited"),
    ],
)
def test_a_changed_event_is_named(tmp_path: Path, tamper: str, problem: str) -> None:
    db = _filled(tmp_path / "audit.sqlite", 3)
    with AuditLog(db) as log:
        log.append_event(1, "outcome", "secondary", operator="OFC-1")
        log.append_event(2, "outcome", "other", operator="OFC-1", note="visa")
    with sqlite3.connect(db) as raw:
        raw.execute(tamper)
    with AuditLog(db) as log:
        report = log.verify()
    assert not report.ok and problem in report.problem


def test_an_edited_decision_breaks_its_events_link(tmp_path: Path) -> None:
    db = _filled(tmp_path / "audit.sqlite", 3)
    with AuditLog(db) as log:
        log.append_event(3, "outcome", "admitted", operator="OFC-1")
    with sqlite3.connect(db) as raw:  # a record re-hashed by hand after an edit, with its head
        raw.execute("UPDATE records SET hash = 'f' || substr(hash, 2) WHERE seq = 3")
    with AuditLog(db) as log:
        assert not log.verify().ok


def test_marking_a_record_purged_does_not_hide_an_edit(tmp_path: Path) -> None:
    db = _filled(tmp_path / "audit.sqlite", 3)
    with AuditLog(db) as log:
        log.append_event(2, "outcome", "other", operator="OFC-1", note="visa")
    for tamper, problem in (
        ("UPDATE records SET operator = 'OFC-0099', purged = 'x' WHERE seq = 2", "record 2 was edited"),
        ("UPDATE events SET note = 'nada', purged = 'x' WHERE seq = 1", "event 1 was edited"),
    ):
        copy = tmp_path / f"copy-{len(problem)}.sqlite"
        copy.write_bytes(db.read_bytes())
        with sqlite3.connect(copy) as raw:
            raw.execute(tamper)
        with AuditLog(copy) as log:
            report = log.verify()
        assert not report.ok and problem in report.problem


def test_purge_removes_the_operator_and_note_of_old_events(tmp_path: Path) -> None:
    db = _filled(tmp_path / "audit.sqlite", 3)
    with AuditLog(db) as log:
        log.append_event(1, "outcome", "other", operator="OFC-1", note="nombre del viajero")
        log.purge(datetime.now(UTC) + timedelta(seconds=1))
        (event,) = log.events()
        assert (event.operator, event.note, event.value) == ("", "", "other") and event.purged
        assert log.verify().ok
    assert b"nombre del viajero" not in db.read_bytes()


# -- privacy ---------------------------------------------------------------------------------


def test_no_image_and_no_embedding_is_stored(tmp_path: Path, verdict: Verdict) -> None:
    db = tmp_path / "audit.sqlite"
    document = (SAMPLES / "document.png").read_bytes()
    live = (SAMPLES / "live_genuine.jpg").read_bytes()
    with AuditLog(db) as log:
        log.append(verdict, station="S", operator="O")
    wal = Path(f"{db}-wal")
    raw_file = db.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    assert document[100:164] not in raw_file and live[100:164] not in raw_file
    assert verdict.live.face is not None
    assert verdict.live.face.embedding.astype("<f8").tobytes()[:64] not in raw_file
    with sqlite3.connect(db) as raw:
        tables = {row[0] for row in raw.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert tables == {"records", "events", "meta"}
        blobs = raw.execute("SELECT COUNT(*) FROM records WHERE typeof(quality) = 'blob'").fetchone()[0]
        assert blobs == 0


# -- several processes, and crashes ----------------------------------------------------------


def _writer(path: str, worker: int, count: int) -> None:
    with AuditLog(path) as log:
        for i in range(count):
            log.append_entry(_entry(worker * 1000 + i, decision="REFER", codes=(f"worker_{worker}",)))


def _endless_writer(path: str) -> None:
    with AuditLog(path) as log:
        i = 0
        while True:
            log.append_entry(_entry(i))
            i += 1


def test_concurrent_processes_lose_nothing(tmp_path: Path) -> None:
    db = tmp_path / "audit.sqlite"
    AuditLog(db).close()
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_writer, args=(str(db), w, 200)) for w in range(4)]
    for process in workers:
        process.start()
    for process in workers:
        process.join()
    assert [p.exitcode for p in workers] == [0, 0, 0, 0]
    with AuditLog(db) as log:
        records = list(log.records())
        report = log.verify()
        stats = review(log)
    assert report.ok and report.count == 800, report
    assert [r.seq for r in records] == list(range(1, 801))
    assert dict(stats.by_reason) == {f"worker_{w}": 200 for w in range(4)}


def test_killed_writer_leaves_a_valid_chain(tmp_path: Path) -> None:
    db = tmp_path / "audit.sqlite"
    AuditLog(db).close()
    context = multiprocessing.get_context("spawn")
    process = context.Process(target=_endless_writer, args=(str(db),))
    process.start()
    try:
        with AuditLog(db) as watcher:
            while sum(1 for _ in watcher.records()) < 50:
                assert process.is_alive(), "the writer died on its own"
                process.join(0.05)
    finally:
        os.kill(process.pid, signal.SIGKILL)  # type: ignore[arg-type]
        process.join()
    assert process.exitcode == -signal.SIGKILL
    with AuditLog(db) as log:
        report = log.verify()
        records = list(log.records())
        assert report.ok, report
        assert [r.seq for r in records] == list(range(1, len(records) + 1))
        after = log.append_entry(_entry(0))
        assert after.seq == len(records) + 1 and log.verify().ok


def test_a_station_does_not_start_on_a_log_whose_head_does_not_verify(tmp_path: Path) -> None:
    from impostor.errors import AuditError
    from impostor.station.service import Station, StationConfig

    db = _filled(tmp_path / "audit.sqlite", 5)
    with sqlite3.connect(db) as connection:
        connection.execute("UPDATE records SET decision = 'NO_MATCH' WHERE seq = 5")
    before = db.read_bytes()
    config = StationConfig(accounts=tmp_path / "station.sqlite", audit_db=db, station="lima-t1-07")
    with pytest.raises(AuditError, match="takes no more decisions"):
        Station(config)
    assert db.read_bytes() == before  # kept as evidence, byte for byte


@pytest.mark.parametrize("command", ["stats", "export"])
def test_a_date_beyond_what_utc_can_hold_is_a_usage_error(command: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["audit", command, "--since", "0001-01-01", "--db", str(tmp_path / "a.db")]
    )
    assert result.exit_code == 2, result.output
    assert "0001-01-01" in result.output and "InternalError" not in result.output


@pytest.mark.parametrize(
    "arguments",
    [
        ["calibrate", "people", "--target-fmr", "nan", "--out", "p.json"],
        ["practice", "build", "people", "--mismatch-rate", "nan", "--out", "s.json"],
        ["practice", "build", "people", "--mismatch-rate", "inf", "--out", "s.json"],
    ],
)
def test_a_rate_that_is_not_a_finite_number_is_a_usage_error(arguments: list[str]) -> None:
    result = CliRunner().invoke(main, arguments)
    assert result.exit_code == 2, result.output
    assert "--" in result.output and "InternalError" not in result.output and "Traceback" not in result.output
