"""The three-way comparison of an e-passport: the chip's portrait decides against the traveller,
the page's is compared with the chip's, DG1 with the printed MRZ; a chip that cannot be trusted
or read leaves the printed portrait deciding, and the audit record says which decided.

The pages and chips are made in ``tests.three_way_pages`` (the ICAO specimen page made current,
an LFW face printed on it; a chip personalised to match under a test CSCA). The same comparisons
through a real reader are in ``tests/card/test_compare_reader.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from impostor.cli import main
from impostor.document.chip import ChipFiles
from impostor.errors import DocumentError
from impostor.records.audit import AuditLog
from impostor.services.comparison import Comparer
from impostor.services.three_way import chip_files
from impostor.types import Decision
from tests.document.signing import Authority, authority
from tests.three_way_pages import chip_passport, current_mrz, enlarged, page_png, write_chip, write_csca

HOLDER = ("Colin_Powell", 1, 2)  # the chip's photo, then the traveller's at the counter
STRANGER = ("George_W_Bush", 1)


def lfw(data_dir: Path, person: str, number: int) -> Path:
    return data_dir / "lfw" / "lfw" / person / f"{person}_{number:04d}.jpg"


@pytest.fixture(scope="module")
def csca() -> Authority:
    return authority("Test CSCA")  # Peru's (C=PE), as the page's issuing state


@pytest.fixture(scope="module")
def folder(
    tmp_path_factory: pytest.TempPathFactory, data_dir: Path, documents: Path, csca: Authority
) -> Path:
    """The genuine passport: page, chip folder, CSCA file and the traveller's live photo."""
    root = tmp_path_factory.mktemp("three-way")
    person, chip_photo, _ = HOLDER
    (root / "page.png").write_bytes(page_png(documents, lfw(data_dir, person, chip_photo)))
    stranger = lfw(data_dir, *STRANGER)
    (root / "substituted.png").write_bytes(page_png(documents, stranger))
    write_chip(chip_passport(lfw(data_dir, person, chip_photo), csca), root / "chip")
    write_csca(csca, root / "csca.pem")
    return root


@pytest.fixture(scope="module")
def live(data_dir: Path, folder: Path) -> Path:
    person, _, live_photo = HOLDER
    return enlarged(lfw(data_dir, person, live_photo), folder / "live.jpg")


@pytest.fixture(scope="module")
def documents(data_dir: Path) -> Path:
    return data_dir / "documents"


@pytest.fixture(scope="module")
def comparer() -> Iterator[Comparer]:
    with Comparer() as made:
        yield made


def test_the_chip_decides_and_the_page_is_its_photo(comparer: Comparer, folder: Path, live: Path) -> None:
    side = comparer.read(folder / "page.png", chip=folder / "chip", csca=folder / "csca.pem")
    assert side.portrait == "chip" and side.checks is not None
    assert side.checks.passive == "passed" and side.checks.substitution_alert is False
    assert side.page is not None and side.chip is side.located
    codes = [finding.code for finding in side.reading.findings]
    assert "portrait_matches_chip" in codes and not side.reasons, [r.code for r in side.reasons]
    result = comparer.compare(side, live, operator="ana")
    assert result.verdict.decision is Decision.MATCH, result.verdict.reasons
    assert result.verdict.profile.name == "chip"
    shown = result.to_dict()
    assert shown["decided_by"] == "chip"
    assert shown["chip"]["passive_authentication"] == "passed"  # type: ignore[index]
    assert shown["chip"]["active_authentication"] == "not done"  # type: ignore[index]


def test_another_persons_photo_on_the_page_is_alerted_first(
    comparer: Comparer, folder: Path, live: Path
) -> None:
    side = comparer.read(folder / "substituted.png", chip=folder / "chip", csca=folder / "csca.pem")
    assert side.portrait == "chip" and side.checks is not None and side.checks.substitution_alert is True
    result = comparer.compare(side, live, operator="ana")
    assert result.verdict.decision is Decision.REFER
    assert result.verdict.reasons[0].code == "portrait_substituted"
    # a station keeps the reading and its face between photos: made a side again, it says it once
    again = comparer.side(side.reading, located=side.located)
    assert [reason.code for reason in again.reasons] == [reason.code for reason in side.reasons]


def test_a_dg1_that_differs_from_the_page_is_an_alert(
    comparer: Comparer, folder: Path, live: Path, data_dir: Path, csca: Authority, tmp_path: Path
) -> None:
    person, chip_photo, _ = HOLDER
    other = chip_passport(lfw(data_dir, person, chip_photo), csca, mrz=current_mrz(number_change="4"))
    side = comparer.read(
        folder / "page.png", chip=write_chip(other, tmp_path / "chip"), csca=folder / "csca.pem"
    )
    assert side.portrait == "chip"  # the chip is genuine: it is the page that does not agree
    result = comparer.compare(side, live, operator="ana")
    assert result.verdict.decision is Decision.REFER
    assert "chip_mrz_differs" in result.verdict.to_dict()["reason_codes"]  # type: ignore[operator]


def test_a_chip_of_a_foreign_csca_does_not_decide(
    comparer: Comparer, folder: Path, live: Path, tmp_path: Path
) -> None:
    foreign = write_csca(authority("Another CSCA"), tmp_path / "foreign.pem")
    side = comparer.read(folder / "page.png", chip=folder / "chip", csca=foreign)
    assert side.portrait == "page" and side.checks is not None and side.checks.passive == "failed"
    result = comparer.compare(side, live, operator="ana")
    assert result.verdict.decision is not Decision.MATCH
    assert "chip_chain_failed" in [reason.code for reason in result.verdict.reasons]


def test_a_chip_that_could_not_be_read_leaves_the_page_deciding(
    comparer: Comparer, folder: Path, live: Path
) -> None:
    page = comparer.read(folder / "page.png")
    side = comparer.without_chip(page, "BAC failed with the MRZ read from the page")
    assert side.portrait == "page" and side.located is page.located
    assert side.checks is not None and side.checks.passive == "not read"
    again = comparer.side(side.reading, located=side.located)
    assert again.checks == side.checks and again.reasons == side.reasons
    result = comparer.compare(side, live, operator="ana")
    assert result.verdict.decision is Decision.REFER
    assert result.verdict.reasons[0].code == "chip_unreadable"


def test_the_record_says_which_portrait_decided_and_what_the_chip_proved(
    folder: Path, live: Path, tmp_path: Path
) -> None:
    with AuditLog(tmp_path / "audit.sqlite") as log, Comparer(audit=log, station="lima-t1") as audited:
        plain = audited.compare_document(folder / "page.png", live, operator="ana")
        side = audited.read(folder / "page.png", chip=folder / "chip", csca=folder / "csca.pem")
        result = audited.compare(side, live, operator="ana")
        assert plain.record is not None and plain.record.checks is None  # no chip: as before
        assert result.record is not None and result.record.checks is not None
        checks = dict(result.record.checks)
        assert checks["portrait"] == "chip" and checks["passive"] == "passed"
        assert checks["active"] == "not done" and checks["substitution_alert"] is False
        stored = list(log.records())[-1]
        assert stored.checks == result.record.checks and stored.hash == result.record.hash
        assert log.verify().ok


def test_compare_takes_the_chip_folder(folder: Path, live: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["compare", str(folder / "page.png"), str(live), "--chip", str(folder / "chip")]
        + ["--csca", str(folder / "csca.pem"), "--json", "--audit-db", str(tmp_path / "audit.sqlite")],
    )
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["decision"] == "MATCH" and shown["decided_by"] == "chip"
    assert shown["chip"]["substitution"]["alert"] is False


def test_chip_files_are_told_by_their_content(folder: Path) -> None:
    parts = [(path.name, path.read_bytes()) for path in sorted((folder / "chip").iterdir())]
    found = chip_files(parts)
    assert isinstance(found, ChipFiles) and {"EF.COM", "EF.SOD", "DG1", "DG2"} <= set(found.files)
    with pytest.raises(DocumentError, match="hold DG1"):
        chip_files([*parts, ("copy.bin", found.files["DG1"])])
    with pytest.raises(DocumentError, match="not a chip file"):
        chip_files([("photo.jpg", b"\xff\xd8\xff\xe0")])
    with pytest.raises(DocumentError, match="at most"):
        chip_files([(f"DG{n}.bin", found.files["DG1"]) for n in range(20)])


def test_the_ghost_image_is_compared_with_the_chips_portrait_too(
    comparer: Comparer, folder: Path, data_dir: Path
) -> None:
    import cv2

    from impostor.pipeline.verifier import Verifier
    from impostor.printing import DocumentStyle, Ghost, render_page

    person, chip_photo, _ = HOLDER
    holder = Verifier().locate(lfw(data_dir, person, chip_photo), "document")
    stranger = Verifier().locate(lfw(data_dir, *STRANGER), "document")
    found = {}
    for name, ghost in (
        ("own", Ghost(300, strength=0.8, place="portrait")),
        ("stranger's", Ghost(300, 0.8, "portrait", pixels=stranger.image.pixels, face=stranger.boxes[0])),
    ):
        page = render_page(holder.image.pixels, holder.boxes[0], DocumentStyle(True, 3), ghost=ghost)
        encoded = cv2.imencode(".png", page.pixels[..., ::-1])[1].tobytes()
        side = comparer.read(encoded, name=name, chip=folder / "chip", csca=folder / "csca.pem")
        assert side.portrait == "chip" and len(side.reading.ghosts) == 1
        found[name] = [finding.code for finding in side.reading.findings]
    assert "ghost_chip_matches" in found["own"]
    assert "ghost_chip_differs" in found["stranger's"]
