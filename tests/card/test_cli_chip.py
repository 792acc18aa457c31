"""``impostor chip readers`` and ``impostor chip read`` through pcscd, vpcd and vicc."""

from __future__ import annotations

import json
import time
from pathlib import Path

from click.testing import CliRunner, Result

from impostor.cli import main
from tests.card.conftest import PcscStack, RunningCard


def run(*args: str | Path) -> Result:
    result = CliRunner().invoke(main, [str(arg) for arg in args])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def test_readers_are_listed_with_the_card_on_the_first(pcsc_stack: PcscStack, card: RunningCard) -> None:
    result = run("chip", "readers")
    assert result.exit_code == 0, result.output
    assert f"{pcsc_stack.readers[0]}  (card present)" in result.output
    assert f"{pcsc_stack.readers[1]}  (empty)" in result.output
    listed = json.loads(run("chip", "readers", "--json").stdout)["readers"]
    assert {reader["name"]: reader["card"] for reader in listed}[pcsc_stack.readers[0]] is True


def test_reads_the_chip_into_a_folder_the_document_command_takes(card: RunningCard, tmp_path: Path) -> None:
    assert card.passport.csca is not None
    (tmp_path / "csca.pem").write_bytes(card.passport.csca.pem)
    out = tmp_path / "chip"
    result = run(
        "chip", "read", "--reader", card.reader, "--mrz", card.passport.mrz.replace("\n", "\\n"),
        "--out", out, "--csca", tmp_path / "csca.pem", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["access"] == "BAC" and summary["genuine"]
    assert [s["status"] for s in summary["passive_authentication"]["steps"]] == ["passed"] * 3
    document = run("document", out, "--csca", tmp_path / "csca.pem", "--json")
    steps = json.loads(document.stdout)["passive_authentication"]["steps"]
    assert [s["status"] for s in steps] == ["passed"] * 3, document.output
    # the fields typed instead of the MRZ; without a CSCA the chip is not proven: exit 3
    line = card.passport.mrz.splitlines()[1]
    again = run(
        "chip", "read", "--number", line[0:9], "--birth", line[13:19], "--expiry", line[21:27],
        "--out", out, "--force",
    )  # fmt: skip
    assert again.exit_code == 3, again.output
    assert "chain: not done" in again.output and "NOT proven genuine" in again.output


def test_bad_input_is_one_line_and_its_exit_code(
    pcsc_stack: PcscStack, card: RunningCard, tmp_path: Path
) -> None:
    empty = run("chip", "read", "--reader", pcsc_stack.readers[1], "--can", "123456", "--out", tmp_path / "a",
                "--timeout", "0.3")  # fmt: skip
    assert empty.exit_code == 23 and empty.output.startswith("CardTimeout: no card"), empty.output
    unknown = run("chip", "read", "--reader", "no such reader", "--can", "123456", "--out", tmp_path / "b")
    assert unknown.exit_code == 21 and unknown.output.startswith("NoReader:"), unknown.output
    can_on_bac = run("chip", "read", "--reader", card.reader, "--can", "123456", "--out", tmp_path / "c")
    assert can_on_bac.exit_code == 24 and "does not" in can_on_bac.output, can_on_bac.output
    not_mrz = run("chip", "read", "--mrz", "P<PERQUISPE", "--out", tmp_path / "d", "--json")
    assert not_mrz.exit_code == 24 and json.loads(not_mrz.stdout)["error"]["type"] == "AccessDenied"
    both = run("chip", "read", "--mrz", "x", "--can", "1", "--out", tmp_path / "e")
    assert both.exit_code == 2 and both.output.startswith("UsageError: give one of"), both.output
    assert not any(tmp_path.iterdir())  # nothing written by a reading that failed
    (tmp_path / "kept").mkdir()
    (tmp_path / "kept" / "notes.txt").write_text("mine")
    started = time.monotonic()  # refused before waiting for a card on the empty reader
    kept = run(
        "chip", "read", "--reader", pcsc_stack.readers[1], "--can", "1", "--out", tmp_path / "kept", "--force"
    )
    assert kept.exit_code == 10 and "no chip reading wrote" in kept.output and time.monotonic() - started < 5
