"""Practice results in SQLite: sessions resume, answers are recorded once, nothing is lost."""

from __future__ import annotations

import math
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from impostor.errors import AuditError, PracticeError
from impostor.practice.sets import ImageRef, Item, PracticeSet
from impostor.practice.store import PracticeStore
from impostor.records.audit import AuditLog


def make_set(items: int = 6, name: str = "drill") -> PracticeSet:
    def ref(n: int) -> ImageRef:
        return ImageRef(path=f"p{n}/{n}.jpg", sha256=f"{n:064x}", person=f"p{n}")

    made = tuple(
        Item(
            f"item-{k:03d}",
            ref(2 * k),
            ref(2 * k + 1),
            k % 2 == 0,
            0.5,
            math.nan if k == 3 else 0.2 + 0.1 * k,
        )
        for k in range(items)
    )
    return PracticeSet(name, made, {}, Path("."))


@pytest.fixture
def store(tmp_path: Path) -> PracticeStore:
    return PracticeStore(tmp_path / "practice.db")


def answer_all(store: PracticeStore, practice_set: PracticeSet, session_id: str, start: int = 0) -> None:
    session = store.session(session_id)
    assert session is not None
    for position in range(start, session.total):
        item = practice_set.items[session.order[position]]
        outcome = store.record(session_id, position, item, said_same=True, confidence=3, seconds=2.5)
        assert outcome == "recorded"


def test_a_session_is_started_resumed_and_finished(store: PracticeStore) -> None:
    drill = make_set()
    session, resumed = store.start("OFC-1", drill, "practice", "es")
    assert not resumed and session.answered == 0 and sorted(session.order) == list(range(6))
    first = drill.items[session.order[0]]
    assert store.record(session.id, 0, first, said_same=False, confidence=4, seconds=3.2) == "recorded"
    again, resumed = store.start("OFC-1", drill, "practice", "es")
    assert resumed and again.id == session.id and again.answered == 1
    answer_all(store, drill, session.id, start=1)
    finished = store.session(session.id)
    assert finished is not None and finished.done and finished.finished is not None
    fresh, resumed = store.start("OFC-1", drill, "practice", "es")
    assert not resumed and fresh.id != session.id  # a finished session is not reopened
    other_mode, resumed = store.start("OFC-1", drill, "test", "es")
    assert not resumed and other_mode.id not in (session.id, fresh.id)


def test_answers_keep_truth_and_the_algorithm_view(store: PracticeStore) -> None:
    drill = make_set()
    session, _ = store.start("OFC-2", drill, "test", "en")
    answer_all(store, drill, session.id)
    answers = store.answers(session.id)
    assert [a.position for a in answers] == list(range(6))
    for answer in answers:
        item = next(i for i in drill.items if i.id == answer.item_id)
        assert answer.same == item.same and answer.said_same and answer.seconds == 2.5
        assert (
            math.isnan(answer.probability) and math.isnan(item.probability)
        ) or answer.probability == item.probability
        assert answer.trial().same == item.same


def test_only_the_current_item_can_be_answered(store: PracticeStore) -> None:
    drill = make_set()
    session, _ = store.start("OFC-3", drill, "practice", "en")
    item = drill.items[session.order[0]]
    assert store.record(session.id, 1, item, said_same=True, confidence=3, seconds=1) == "not_current"
    assert store.record(session.id, 0, item, said_same=True, confidence=3, seconds=1) == "recorded"
    assert store.record(session.id, 0, item, said_same=False, confidence=5, seconds=1) == "already_answered"
    assert store.answers(session.id)[0].said_same is True  # the repeat did not overwrite
    with pytest.raises(ValueError, match="confidence"):
        store.record(session.id, 1, item, said_same=True, confidence=6, seconds=1)
    with pytest.raises(ValueError, match="seconds"):
        store.record(session.id, 1, item, said_same=True, confidence=2, seconds=-1)
    with pytest.raises(PracticeError, match="no practice session"):
        store.record("nope", 0, item, said_same=True, confidence=2, seconds=1)


def test_the_same_answer_sent_twice_at_once_is_recorded_once(store: PracticeStore) -> None:
    drill = make_set()
    session, _ = store.start("OFC-4", drill, "practice", "en")
    item = drill.items[session.order[0]]
    outcomes: list[str] = []
    threads = [
        threading.Thread(
            target=lambda: outcomes.append(
                store.record(session.id, 0, item, said_same=True, confidence=2, seconds=1.0)
            )
        )
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["already_answered"] * 7 + ["recorded"]
    assert len(store.answers(session.id)) == 1


_KILLED_WRITER = """
import os, signal, sys
sys.path.insert(0, sys.argv[2])
from tests.practice.test_store import make_set
from impostor.practice.store import PracticeStore
store = PracticeStore(sys.argv[1])
drill = make_set()
session, _ = store.start("OFC-5", drill, "test", "en")
for position in range(4):
    item = drill.items[session.order[position]]
    store.record(session.id, position, item, said_same=False, confidence=5, seconds=1.5)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_killed_server_loses_no_answer_and_the_session_resumes(tmp_path: Path) -> None:
    db = tmp_path / "practice.db"
    result = subprocess.run(
        [sys.executable, "-c", _KILLED_WRITER, str(db), str(Path(__file__).parents[2])],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
        capture_output=True,
        text=True,
    )
    assert result.returncode == -signal.SIGKILL, result.stderr
    store = PracticeStore(db)
    session, resumed = store.start("OFC-5", make_set(), "test", "en")
    assert resumed and session.answered == 4
    assert len(store.answers(session.id)) == 4


def test_listing_sessions_and_trainees(store: PracticeStore) -> None:
    drill = make_set()
    for trainee in ("OFC-B", "OFC-A", "OFC-B"):
        session, _ = store.start(trainee, drill, "test", "en")
        answer_all(store, drill, session.id)
    assert store.trainees() == ["OFC-A", "OFC-B"]
    assert len(store.sessions()) == 3
    assert [s.trainee for s in store.sessions("OFC-B")] == ["OFC-B", "OFC-B"]


def test_a_file_that_is_not_practice_results_is_refused(tmp_path: Path) -> None:
    text = tmp_path / "notes.db"
    text.write_text("these are not results " * 100)
    with pytest.raises(PracticeError, match="cannot be used"):
        PracticeStore(text)
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE things (x)")
    with pytest.raises(PracticeError, match="not practice results"):
        PracticeStore(other)


def test_the_audit_log_is_not_taken_for_practice_results(tmp_path: Path) -> None:
    audit = tmp_path / "audit.sqlite"
    AuditLog(audit).close()
    with pytest.raises(PracticeError, match="not practice results"):
        PracticeStore(audit)
    with sqlite3.connect(audit) as db:  # and nothing was added to it
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "sessions" not in tables and "answers" not in tables


def test_the_default_database_comes_from_the_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMPOSTOR_PRACTICE_DB", str(tmp_path / "deep" / "results.sqlite"))
    assert PracticeStore().path == tmp_path / "deep" / "results.sqlite"
    assert (tmp_path / "deep" / "results.sqlite").is_file()


def test_a_reader_does_not_create_a_missing_database(tmp_path: Path) -> None:
    with pytest.raises(PracticeError, match="no practice results at"):
        PracticeStore(tmp_path / "typo.db", create=False)
    assert not (tmp_path / "typo.db").exists()


def test_practice_results_are_not_taken_for_an_audit_log(tmp_path: Path) -> None:
    PracticeStore(tmp_path / "practice.db")
    with pytest.raises(AuditError, match="not an audit log"):
        AuditLog(tmp_path / "practice.db")
    assert PracticeStore(tmp_path / "practice.db").trainees() == []
