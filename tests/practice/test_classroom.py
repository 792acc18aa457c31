"""The classroom in the results file: the roster and its codes, assignments, the trainer's PIN and
live view, and results files from before the classroom opened unchanged."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest

from impostor.errors import PracticeError
from impostor.practice.classroom import CODE_ALPHABET, IDLE_MINUTES, Classroom, normal_code
from impostor.practice.store import PracticeStore
from tests.practice.test_store import answer_all, make_set


@pytest.fixture
def classroom(tmp_path: Path) -> Classroom:
    return Classroom(PracticeStore(tmp_path / "practice.db"))


def test_codes_are_issued_once_kept_only_as_hashes_and_admit_their_trainee_alone(
    classroom: Classroom,
) -> None:
    codes = classroom.add(["OFC-1", "Ñandú.2"], "LIM-2026-12")
    assert set(codes) == {"OFC-1", "Ñandú.2"}
    for code in codes.values():
        letters = code.replace("-", "")
        assert len(letters) == 8 and set(letters) <= set(CODE_ALPHABET)
    with classroom.store.reading() as db:
        stored = " ".join(row[0] for row in db.execute("SELECT code FROM roster"))
    assert all(code not in stored and code.replace("-", "") not in stored for code in codes.values())
    assert stored.count("scrypt$") == 2
    set_id = make_set().id
    # typed as a trainee would: lower case, spaces instead of the hyphen
    typed = normal_code(codes["OFC-1"].lower().replace("-", " "))
    assert classroom.admit("OFC-1", typed, set_id) == "admitted"
    assert classroom.admit("OFC-1", codes["Ñandú.2"], set_id) == "wrong_code"
    assert classroom.admit("OFC-9", codes["OFC-1"], set_id) == "wrong_code"  # not on the roster
    assert classroom.admit("OFC-1", "", set_id) == "wrong_code"


def test_a_second_add_is_refused_and_a_new_code_replaces_the_old_one(classroom: Classroom) -> None:
    first = classroom.add(["OFC-1"], "A")["OFC-1"]
    with pytest.raises(PracticeError, match="already on the roster: OFC-1"):
        classroom.add(["OFC-1"], "A")
    second = classroom.add(["OFC-1"], "B", new_codes=True)["OFC-1"]
    set_id = make_set().id
    assert classroom.admit("OFC-1", first, set_id) == "wrong_code"
    assert classroom.admit("OFC-1", second, set_id) == "admitted"
    assert [(t.trainee, t.klass) for t in classroom.roster()] == [("OFC-1", "B")]


@pytest.mark.parametrize(
    ("trainees", "klass", "message"),
    [
        (["two words"], "A", "is not a trainee ID"),
        (["OFC-1", "OFC-1"], "A", "given twice"),
        (["OFC-1"], "", "is not a class name"),
        (["OFC-1"], "a/b", "is not a class name"),
    ],
)
def test_bad_ids_and_class_names_are_refused_whole(
    classroom: Classroom, trainees: list[str], klass: str, message: str
) -> None:
    with pytest.raises(PracticeError, match=message):
        classroom.add(trainees, klass)
    assert classroom.roster() == [] and not classroom.has_roster()


def test_a_set_assigned_to_classes_admits_their_trainees_only(classroom: Classroom) -> None:
    a = classroom.add(["OFC-1"], "A")
    b = classroom.add(["OFC-2"], "B")
    drill = make_set()
    assert classroom.admit("OFC-2", b["OFC-2"], drill.id) == "admitted"  # assigned to none: everyone
    classroom.assign(drill.id, drill.name, ["A"])
    assert classroom.classes_of(drill.id) == ["A"]
    assert classroom.admit("OFC-1", a["OFC-1"], drill.id) == "admitted"
    assert classroom.admit("OFC-2", b["OFC-2"], drill.id) == "not_assigned"
    with pytest.raises(PracticeError, match="no trainee is in class C; classes on the roster: A, B"):
        classroom.assign(drill.id, drill.name, ["C"])


def test_the_trainer_pin_is_a_slow_hash_and_short_pins_are_refused(classroom: Classroom) -> None:
    assert not classroom.has_pin() and not classroom.check_pin("123456")
    with pytest.raises(PracticeError, match="at least 6 characters"):
        classroom.set_pin("1234")
    classroom.set_pin("482913")
    assert classroom.has_pin() and classroom.check_pin("482913") and not classroom.check_pin("482914")
    with classroom.store.reading() as db:
        (stored,) = db.execute("SELECT value FROM meta WHERE key = 'trainer_pin'").fetchone()
    assert stored.startswith("scrypt$") and "482913" not in stored


def test_the_live_view_says_who_answers_who_idles_who_finished_and_who_is_absent(
    classroom: Classroom,
) -> None:
    store = classroom.store
    drill = make_set(items=4)
    classroom.add(["absent", "answering", "idle", "finished"], "A")
    classroom.add(["other-class"], "B")
    classroom.assign(drill.id, drill.name, ["A"])
    answering, _ = store.start("answering", drill, "practice", "es")
    store.record(answering.id, 0, drill.items[answering.order[0]], said_same=True, confidence=2, seconds=3.0)
    store.start("idle", drill, "practice", "es")
    finished, _ = store.start("finished", drill, "practice", "es")
    answer_all(store, drill, finished.id)
    store.start("walk-in", drill, "test", "es")  # another mode: not this view's
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=IDLE_MINUTES / 2)
    with store.writing() as db:  # the idle trainee last did anything well before the others
        past = (later - dt.timedelta(minutes=IDLE_MINUTES + 1)).isoformat()
        db.execute("UPDATE sessions SET seen = ? WHERE trainee = 'idle'", (past,))
    rows = classroom.live(drill.id, "practice", now=later)
    assert [(r.trainee, r.state, r.answered) for r in rows] == [
        ("answering", "answering", 1),
        ("idle", "idle", 0),
        ("finished", "finished", 4),
        ("absent", "absent", 0),
    ]
    accuracy = rows[2].accuracy
    answers = store.answers(finished.id)
    assert accuracy == pytest.approx(sum(a.correct for a in answers) / 4)
    assert all(r.klass == "A" for r in rows)


def test_a_results_file_from_before_the_classroom_opens_with_everything_kept(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    store = PracticeStore(path)
    drill = make_set()
    session, _ = store.start("OFC-1", drill, "practice", "es")
    answer_all(store, drill, session.id)
    with sqlite3.connect(path) as db:  # back to schema 1 as impostor 0.x wrote it
        for statement in (
            "DROP TABLE roster",
            "DROP TABLE assignments",
            "DROP INDEX answers_by_pair",
            "ALTER TABLE answers DROP COLUMN pair",
            "ALTER TABLE sessions DROP COLUMN difficulty",
            "ALTER TABLE sessions DROP COLUMN seen",
            "UPDATE meta SET value = '1' WHERE key = 'schema'",
        ):
            db.execute(statement)
    reopened = PracticeStore(path)
    (kept,) = reopened.sessions()
    assert kept.finished is not None and kept.seen is None and kept.difficulty is None
    assert [a.pair for a in reopened.answers(kept.id)] == [None] * 6
    assert Classroom(reopened).roster() == []
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() == ("2",)
