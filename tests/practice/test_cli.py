"""The practice commands: pack, report and serve from the command line, and their errors."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest
from click.testing import CliRunner

from impostor.cli import main
from impostor.practice.classroom import Classroom
from impostor.practice.sets import ImageRef, Item, PracticeSet, load_set
from impostor.practice.store import PracticeStore
from impostor.qa.cache import file_digest


def _set_on_disk(tmp_path: Path, grace_hopper: np.ndarray) -> Path:
    people = tmp_path / "people"
    refs = []
    for person, shade in (("Ana", 0), ("Ana", 40), ("Luis", 80)):
        folder = people / person
        folder.mkdir(parents=True, exist_ok=True)
        file = folder / f"{shade}.jpg"
        cv2.imwrite(str(file), cv2.add(grace_hopper, shade))
        refs.append(ImageRef(f"{person}/{file.name}", file_digest(file), person))
    items = (
        Item("item-001", refs[0], refs[1], True, 0.3, 0.99),
        Item("item-002", refs[0], refs[2], False, 0.7, 0.1),
    )
    made = PracticeSet("drill", items, {"dataset": {"root": str(people)}}, tmp_path)
    made.save(tmp_path / "drill.json")
    return tmp_path / "drill.json"


def test_pack_then_report(tmp_path: Path, grace_hopper: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMPOSTOR_CACHE", str(tmp_path / "cache"))
    set_file = _set_on_disk(tmp_path, grace_hopper)
    packed = CliRunner().invoke(
        main, ["practice", "pack", str(set_file), "--out", str(tmp_path / "drill.zip")]
    )
    assert packed.exit_code == 0, packed.output
    assert "3 images" in packed.output

    store = PracticeStore(tmp_path / "practice.db")
    drill = load_set(tmp_path / "drill.zip")
    session, _ = store.start("OFC-1", drill, "test", "es")
    for position in range(2):
        item = drill.items[session.order[position]]
        store.record(session.id, position, item, said_same=True, confidence=4, seconds=3.0)
    out = tmp_path / "report.html"
    args = ["practice", "report", "--db", str(store.path), "--out", str(out), "--lang", "es"]
    reported = CliRunner().invoke(main, args)
    assert reported.exit_code == 0, reported.output
    assert "1 trainee" in reported.output and out.read_text().startswith("<!DOCTYPE html>")


def test_errors_are_one_line_with_exit_15(tmp_path: Path) -> None:
    runner = CliRunner()
    empty = runner.invoke(
        main, ["practice", "report", "--db", str(tmp_path / "p.db"), "--out", str(tmp_path / "r.html")]
    )
    assert empty.exit_code == 15 and empty.output.startswith("PracticeError: "), empty.output
    assert len(empty.output.strip().splitlines()) == 1
    missing = runner.invoke(main, ["practice", "serve", str(tmp_path / "none.json")])
    assert missing.exit_code == 15 and "not found" in missing.output
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"schema": "something/else"}))
    for command in (["practice", "serve", str(broken)], ["practice", "pack", str(broken), "--out", "x.zip"]):
        result = runner.invoke(main, command)
        assert result.exit_code == 15 and "schema" in result.output, result.output
    not_a_db = tmp_path / "notes.db"
    not_a_db.write_text("notes " * 500)
    result = runner.invoke(
        main, ["practice", "report", "--db", str(not_a_db), "--out", str(tmp_path / "r.html")]
    )
    assert result.exit_code == 15, result.output


def _serve(set_file: Path, tmp_path: Path) -> subprocess.Popen[str]:
    """``impostor practice serve`` on any free port, in its own process, output readable."""
    command = [str(Path(sys.executable).with_name("impostor")), "practice", "serve", str(set_file)]
    return subprocess.Popen(
        [*command, "--port", "0", "--db", str(tmp_path / "p.db")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_serve_reports_a_busy_port_and_stops_cleanly_on_ctrl_c(
    tmp_path: Path, grace_hopper: np.ndarray
) -> None:
    set_file = _set_on_disk(tmp_path, grace_hopper)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        result = CliRunner().invoke(
            main, ["practice", "serve", str(set_file), "--port", str(taken), "--db", str(tmp_path / "p.db")]
        )
    assert result.exit_code == 15 and "cannot listen on 127.0.0.1" in result.output, result.output

    server = _serve(set_file, tmp_path)
    assert server.stdout is not None
    first = server.stdout.readline()
    url = first.split(" on ")[1].split(" ;")[0]
    assert httpx.get(f"{url}api/set", timeout=5).json() == {
        "name": "drill",
        "items": 2,
        "mode": "practice",
        "difficulty": None,
        "codes": False,
    }
    server.send_signal(signal.SIGINT)
    rest = server.stdout.read()
    assert server.wait(timeout=10) == 0
    assert "Traceback" not in first + rest
    assert "stopped" in rest


def test_serve_stops_cleanly_on_sigterm(tmp_path: Path, grace_hopper: np.ndarray) -> None:
    """A service manager stops the server with SIGTERM: the same clean end as Ctrl-C, not exit 143."""
    set_file = _set_on_disk(tmp_path, grace_hopper)
    server = _serve(set_file, tmp_path)
    assert server.stdout is not None
    server.stdout.readline()
    server.send_signal(signal.SIGTERM)
    rest = server.stdout.read()
    assert server.wait(timeout=10) == 0, rest
    assert "stopped; every answer is in" in rest and "Traceback" not in rest


def test_export_writes_every_answer_in_local_time(tmp_path: Path) -> None:
    import csv

    from impostor.practice.classroom import Classroom
    from impostor.practice.export import COLUMNS
    from impostor.practice.store import PracticeStore
    from tests.practice.test_report import perfect, practice_set, sit

    db = tmp_path / "practice.db"
    store = PracticeStore(db)
    Classroom(store).add(["Ñuñez"], "LIM-1")
    sit(store, "Ñuñez", practice_set(tmp_path), perfect)
    out = tmp_path / "answers.csv"
    result = CliRunner().invoke(main, ["practice", "export", "--db", str(db), "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(out.read_text(encoding="utf-8-sig").splitlines()))
    assert tuple(rows[0]) == COLUMNS
    body = rows[1:]
    assert len(body) == len(store.answers(store.sessions()[0].id)) and body[0][1] == "Ñuñez"
    at = COLUMNS.index("answered_at")
    assert all(row[at][-6] in "+-" for row in body)  # an offset: local time, said so
    assert {row[COLUMNS.index("class")] for row in body} == {"LIM-1"}
    missing = CliRunner().invoke(
        main, ["practice", "export", "--db", str(tmp_path / "no.db"), "--out", str(out)]
    )
    assert missing.exit_code == 15 and "Traceback" not in missing.output


def test_the_classroom_commands_issue_codes_assign_sets_and_refuse_bad_input(
    tmp_path: Path, grace_hopper: np.ndarray
) -> None:
    set_file = _set_on_disk(tmp_path, grace_hopper)
    db = str(tmp_path / "class.db")
    runner = CliRunner()
    added = runner.invoke(
        main, ["practice", "roster", "add", "OFC-1", "Ñandú", "--class", "LIM-1", "--db", db]
    )
    assert added.exit_code == 0, added.output
    codes = dict(line.split() for line in added.output.splitlines()[:2])
    assert set(codes) == {"OFC-1", "Ñandú"} and all(
        re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}", c) for c in codes.values()
    )
    listed = runner.invoke(main, ["practice", "roster", "list", "--db", db])
    assert "LIM-1\tOFC-1" in listed.output and not any(code in listed.output for code in codes.values())
    assigned = runner.invoke(main, ["practice", "assign", str(set_file), "--class", "LIM-1", "--db", db])
    assert assigned.exit_code == 0 and "'drill' is assigned to LIM-1" in assigned.output
    pin = runner.invoke(main, ["practice", "trainer-pin", "--db", db], input="482913\n482913\n")
    assert pin.exit_code == 0 and "482913" not in pin.output.split("PIN again")[-1]
    for arguments, message in [
        (["roster", "add", "OFC-1", "--class", "LIM-1"], "already on the roster: OFC-1"),
        (["roster", "add", "two words", "--class", "LIM-1"], "is not a trainee ID"),
        (["roster", "remove", "OFC-9"], "not on the roster: OFC-9"),
        (["assign", str(set_file), "--class", "LIM-2"], "no trainee is in class LIM-2"),
        (["trainer-pin", "--pin", "12"], "at least 6 characters"),
    ]:
        refused = runner.invoke(main, ["practice", *arguments, "--db", db])
        assert refused.exit_code == 15 and refused.output.count("\n") == 1 and message in refused.output, (
            arguments,
            refused.output,
        )
    beyond = runner.invoke(main, ["practice", "serve", str(set_file), "--host", "0.0.0.0", "--db", db])
    assert beyond.exit_code == 2 and "--certfile" in beyond.output and "--insecure-http" in beyond.output
    removed = runner.invoke(main, ["practice", "roster", "remove", "OFC-1", "--db", db])
    assert removed.exit_code == 0 and [t.trainee for t in Classroom(PracticeStore(Path(db))).roster()] == [
        "Ñandú"
    ]
