"""``impostor compare PAGE LIVE --chip-reader N``: the page's chip read on a real PC/SC stack (the
virtual card of ``conftest.py`` on vpcd's second reader), opened with the MRZ read from the page,
then compared three ways (``tests/test_three_way.py`` has the same through chip folders)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from impostor.cli import main
from tests.card.conftest import PcscStack, insert
from tests.document.signing import Authority, authority
from tests.three_way_pages import chip_passport, current_mrz, enlarged, page_png, write_csca

HOLDER = ("Colin_Powell", 1, 2)  # the chip's photo, then the traveller's at the counter
STRANGER = ("George_W_Bush", 1)


def lfw(data_dir: Path, person: str, number: int) -> Path:
    return data_dir / "lfw" / "lfw" / person / f"{person}_{number:04d}.jpg"


@pytest.fixture(scope="module")
def csca() -> Authority:
    return authority("Test CSCA")  # Peru's, as the page's issuing state


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory, data_dir: Path, csca: Authority) -> Path:
    root = tmp_path_factory.mktemp("reader-three-way")
    person, chip_photo, live_photo = HOLDER
    documents = data_dir / "documents"
    (root / "page.png").write_bytes(page_png(documents, lfw(data_dir, person, chip_photo)))
    (root / "substituted.png").write_bytes(page_png(documents, lfw(data_dir, *STRANGER)))
    enlarged(lfw(data_dir, person, live_photo), root / "live.jpg")
    write_csca(csca, root / "csca.pem")
    return root


@pytest.fixture
def on_reader(
    pcsc_stack: PcscStack, data_dir: Path, csca: Authority, request: pytest.FixtureRequest
) -> Iterator[str]:
    """The holder's chip on the second reader (its MRZ the page's, or ``request.param``'s)."""
    person, chip_photo, _ = HOLDER
    mrz = getattr(request, "param", None)
    passport = chip_passport(lfw(data_dir, person, chip_photo), csca, mrz=mrz)
    running = insert(pcsc_stack, passport, "three-way", slot=1)
    try:
        yield running.reader
    finally:
        running.stop()


def compare(folder: Path, page: str, reader: str, *extra: str) -> Result:
    arguments = ["compare", str(folder / page), str(folder / "live.jpg"), "--chip-reader", reader]
    arguments += ["--csca", str(folder / "csca.pem"), "--json", "--no-audit", "--chip-timeout", "10", *extra]
    result = CliRunner().invoke(main, arguments)
    assert "Traceback" not in result.output, result.output
    return result


def test_a_genuine_passport_is_matched_by_its_chip(folder: Path, on_reader: str) -> None:
    result = compare(folder, "page.png", on_reader)
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["decision"] == "MATCH" and shown["decided_by"] == "chip"
    chip = shown["chip"]
    assert chip["access"] == "BAC" and chip["passive_authentication"] == "passed"
    assert chip["substitution"]["alert"] is False
    assert "reading the chip" in result.stderr


def test_another_persons_photo_on_the_page_is_referred_with_the_alert_first(
    folder: Path, on_reader: str
) -> None:
    result = compare(folder, "substituted.png", on_reader)
    assert result.exit_code == 3, result.output
    shown = json.loads(result.stdout)
    assert shown["decided_by"] == "chip" and shown["reason_codes"][0] == "portrait_substituted"


@pytest.mark.parametrize("on_reader", [current_mrz(number_change="4")], indirect=True)
def test_a_chip_the_page_does_not_open_leaves_the_printed_portrait_deciding(
    folder: Path, on_reader: str
) -> None:
    result = compare(folder, "page.png", on_reader)
    assert result.exit_code == 3, result.output
    shown = json.loads(result.stdout)
    assert shown["decided_by"] == "page" and shown["reason_codes"][0] == "chip_unreadable"
    assert shown["chip"]["passive_authentication"] == "not read"
    assert "could not be read" in shown["reasons"][0]


def test_no_such_reader_is_exit_21_and_says_what_to_do(folder: Path, pcsc_stack: PcscStack) -> None:
    result = compare(folder, "page.png", "Reader that is not there")
    assert result.exit_code == 21, result.output
    assert "the readers are" in result.output
