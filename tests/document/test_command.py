"""``impostor document`` and ``impostor compare`` with a page or a chip on the document side."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from impostor.cli import main

ROOT = Path(__file__).resolve().parents[2]
GENUINE = ROOT / "samples" / "live_genuine.jpg"


def run(*args: str | Path) -> Result:
    result = CliRunner().invoke(main, [str(arg) for arg in args])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def test_a_page_is_read_with_its_mrz_fields_and_findings(documents: Path) -> None:
    result = run("document", documents / "images" / "td3_uto_icao_specimen.png", "--json")
    assert result.exit_code == 3, result.output  # expired in 2012: an alert
    reading = json.loads(result.stdout)
    assert reading["kind"] == "page"
    assert reading["mrz"]["document_number"] == "L898902C3" and reading["mrz"]["valid"]
    assert reading["portrait"]["box_on_page"] is not None
    assert "document_expired" in [f["code"] for f in reading["findings"]]


def test_a_chip_folder_is_authenticated(chips: Path) -> None:
    result = run("document", chips / "jmrtd_bsi2008")
    assert result.exit_code == 3, result.output
    assert "hashes: passed" in result.output and "signature: passed" in result.output
    assert "chain: not done" in result.output


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("converted_from_hex/andyq_DG2_truncated_jp2.bin", "the file is cut off"),
        ("gmrtd/ISO19794_Test2_Data_InvalidImage.bin", "neither JPEG nor JPEG 2000"),
    ],
)
def test_a_broken_dg2_is_refused_with_its_reason(chips: Path, name: str, message: str) -> None:
    result = run("document", chips / name)
    assert result.exit_code == 3, result.output  # the chip's portrait is unusable: an alert
    assert message in result.output


def test_a_bad_csca_file_is_one_line_and_exit_19(chips: Path, tmp_path: Path) -> None:
    junk = tmp_path / "csca.pem"
    junk.write_text("not a certificate")
    result = run("document", chips / "jmrtd_loes2006", "--csca", junk)
    assert result.exit_code == 19, result.output
    assert result.stderr.strip().count("\n") == 0 and result.stderr.startswith("DocumentError: ")


def test_a_missing_document_is_exit_4(tmp_path: Path) -> None:
    result = run("document", tmp_path / "nothing.jpg")
    assert result.exit_code == 4 and result.stderr.startswith("ImageNotFound: ")


def test_compare_a_page_uses_the_document_profile_and_says_what_the_page_showed(documents: Path) -> None:
    result = run("compare", documents / "images" / "td3_nld_meulendijk.jpg", GENUINE, "--json", "--no-audit")
    verdict = json.loads(result.stdout)
    assert verdict["profile"]["name"] == "document"
    assert verdict["document_reading"]["kind"] == "page"
    # an expired specimen of someone else: never a MATCH, and the expiry is among the reasons
    assert verdict["decision"] != "MATCH"
    assert "document_expired" in verdict["reason_codes"]


def test_compare_a_chip_folder(chips: Path) -> None:
    result = run("compare", chips / "jmrtd_loes2006", GENUINE, "--json", "--no-audit")
    verdict = json.loads(result.stdout)
    assert verdict["document_reading"]["kind"] == "chip"
    assert verdict["profile"]["name"] != "document"
    assert verdict["document"]["box"] is not None  # the chip's portrait has a face


def test_the_audit_log_keeps_the_document_number_only_as_a_keyed_hash(
    documents: Path, tmp_path: Path
) -> None:
    from impostor.records.audit import AuditLog

    database = tmp_path / "audit.db"
    page = documents / "images" / "td3_nld_meulendijk.jpg"
    for _ in range(2):
        run("compare", page, GENUINE, "--audit-db", database, "--station", "lima-1", "--operator", "ana")
    with AuditLog(database) as log:
        first, second = list(log.records())
        assert first.document_ref and first.document_ref == second.document_ref  # the same document
        assert first.document_ref == log.document_ref("NLD", "XA0000014")
        assert log.verify().ok
    stored = database.read_bytes() + b"".join(p.read_bytes() for p in tmp_path.glob("audit.db-*"))
    assert b"XA0000014" not in stored and b"XA00000148" not in stored
    exported = run("audit", "export", "--db", database)
    assert "XA0000014" not in exported.output and first.document_ref in exported.output
    with AuditLog(database) as log:  # a purge removes it with the other personal fields
        import datetime as dt

        log.purge(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1))
        assert [record.document_ref for record in log.records()] == ["", ""]
        assert log.verify().ok
