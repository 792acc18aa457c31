"""Reading a passport end to end through pcscd, vpcd and vicc; active and chip authentication's
checks on a chip simulated in the test with keys made here; the folder written for other commands."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import pytest
from asn1crypto import core
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from impostor.card import authenticity, pcsc
from impostor.card.keys import mrz_information
from impostor.card.passport import ChipRead, mrz_keys, read_passport, write_folder
from impostor.document.chip import read_dg1, read_folder
from impostor.errors import AccessDenied, OutputError
from tests.card import virtual
from tests.card.conftest import PcscStack, RunningCard, insert
from tests.document.signing import Authority

WRONG = "PE1234568" + "0" + "850312" + "7" + "310101" + "2"  # one digit off the document number


def test_reads_and_authenticates_the_personalised_passport(card: RunningCard) -> None:
    seen: dict[str, list[int]] = {}
    assert card.passport.csca is not None
    with pcsc.connect(card.reader, timeout=5) as channel:
        result = read_passport(
            channel,
            mrz_candidates=[mrz_keys(card.passport.mrz)],
            progress=lambda name, done, total: seen.setdefault(name, []).append(done),
            csca=[card.passport.csca.certificate],
        )
    assert result.access == "BAC" and result.password == "MRZ reading 1" and result.tries == 1
    assert result.files == card.passport.files
    assert result.missing == ("DG14", "DG15")
    assert result.passive is not None and [s.status for s in result.passive.steps] == ["passed"] * 3
    assert result.active.status == result.chip.status == "not done"
    assert result.genuine and result.reader == card.reader
    assert seen["DG2"][-1] == len(card.passport.files["DG2"]) and len(seen["DG2"]) > 1
    assert {"access", "DG2", "passive", "total"} <= set(result.timings_ms)
    summary = result.to_dict()
    assert summary["portrait"]["codec"] == "JPEG" and summary["genuine"]
    assert summary["files"]["DG1"]["sha256"] == hashlib.sha256(card.passport.files["DG1"]).hexdigest()


def test_without_a_csca_the_chain_is_not_done_and_the_chip_not_proven(card: RunningCard) -> None:
    with pcsc.connect(card.reader, timeout=5) as channel:
        result = read_passport(channel, mrz_candidates=[mrz_keys(card.passport.mrz)])
    assert result.passive is not None and result.passive.step("chain").status == "not done"
    assert not result.genuine


# vicc answers BAC with wrong keys 6988 (SM data objects incorrect), which is a refusal: the
# next reading is tried
def test_a_wrong_mrz_is_retried_then_refused_after_at_most_three_tries(card: RunningCard) -> None:
    with pcsc.connect(card.reader, timeout=5) as channel:
        result = read_passport(channel, mrz_candidates=[WRONG, mrz_keys(card.passport.mrz)])
        assert result.password == "MRZ reading 2" and result.tries == 2
    with pcsc.connect(card.reader, timeout=5) as channel, pytest.raises(AccessDenied, match="3 MRZ readings"):
        read_passport(channel, mrz_candidates=[WRONG] * 5)


def test_mrz_keys_take_the_lines_as_typed(card: RunningCard) -> None:
    assert mrz_keys(card.passport.mrz.replace("\n", "\\n")) == mrz_keys(card.passport.mrz)
    assert mrz_keys(card.passport.mrz) == mrz_information("PE1234567", "850312", "310101")
    with pytest.raises(AccessDenied, match="cannot open a chip"):
        mrz_keys("P<PERQUISPE")


def test_the_folder_written_is_read_back_by_the_document_reader(card: RunningCard, tmp_path: Path) -> None:
    with pcsc.connect(card.reader, timeout=5) as channel:
        result = read_passport(channel, mrz_candidates=[mrz_keys(card.passport.mrz)])
    out = write_folder(result, tmp_path / "chip")
    back = read_folder(out)
    assert back.files == card.passport.files
    assert read_dg1(back.files["DG1"]) == card.passport.mrz
    assert json.loads((out / "chip-read.json").read_text())["access"] == "BAC"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chip"]  # no staging folder left over
    # a folder holding something: refused, unless --force and it is an earlier reading's
    with pytest.raises(OutputError, match="not empty"):
        write_folder(result, out)
    write_folder(result, out, force=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chip"]
    (out / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match="no chip reading wrote"):
        write_folder(result, out, force=True)
    assert (out / "notes.txt").read_text() == "mine"
    with pytest.raises(OutputError, match="is a file"):
        write_folder(result, out / "notes.txt")


# --- active authentication end to end: vicc signs with the key the test gives it


def _read_card(stack: PcscStack, passport: virtual.Passport, name: str, trusted: Authority) -> ChipRead:
    running = insert(stack, passport, name, extended=False)
    try:
        with pcsc.connect(running.reader, timeout=5) as channel:
            return read_passport(channel, mrz_candidates=[mrz_keys(passport.mrz)], csca=[trusted.certificate])
    finally:
        running.stop()


@pytest.fixture(scope="module")
def signing_passport(face_jpeg: bytes) -> virtual.Passport:
    return virtual.personalise(face_jpeg, active_key=rsa.generate_private_key(65537, 1024))


def test_active_authentication_through_the_reader(
    pcsc_stack: PcscStack, signing_passport: virtual.Passport
) -> None:
    assert signing_passport.csca is not None
    result = _read_card(pcsc_stack, signing_passport, "aa", signing_passport.csca)
    assert result.active.status == "passed", result.active.detail
    assert result.chip.status == "not done" and result.missing == ("DG14",)
    assert result.genuine


def test_a_clone_with_the_files_but_not_the_key_fails(
    pcsc_stack: PcscStack, signing_passport: virtual.Passport
) -> None:
    assert signing_passport.csca is not None
    clone = dataclasses.replace(signing_passport, active_key=rsa.generate_private_key(65537, 1024))
    result = _read_card(pcsc_stack, clone, "aa-clone", signing_passport.csca)
    assert result.passive is not None and result.passive.passed  # the files are the genuine ones
    assert result.active.status == "failed" and not result.genuine


def test_a_clone_with_keys_and_signer_of_its_own_passes_aa_but_it_does_not_count(
    pcsc_stack: PcscStack, signing_passport: virtual.Passport, face_jpeg: bytes
) -> None:
    assert signing_passport.csca is not None
    forged = virtual.personalise(face_jpeg, active_key=rsa.generate_private_key(65537, 1024))
    result = _read_card(pcsc_stack, forged, "aa-forged", signing_passport.csca)
    assert result.passive is not None and result.passive.step("chain").status == "failed"
    assert result.active.status == "not counted" and "chain failed" in result.active.detail
    assert not result.genuine


def test_a_chip_authentication_the_chip_cannot_do_fails_without_losing_the_files(
    pcsc_stack: PcscStack, face_jpeg: bytes
) -> None:
    # vicc's ePass has no chip authentication: it accepts MSE:Set KAT but agrees no keys, so the
    # first command under the new ones fails, as a clone's would
    static = ec.generate_private_key(ec.SECP256R1())
    spki = static.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    key_info = virtual._tlv(0x30, core.ObjectIdentifier(authenticity.ID_PK_ECDH).dump() + spki)
    dg14 = virtual._tlv(0x6E, virtual._tlv(0x31, key_info))
    passport = virtual.personalise(face_jpeg, extra={14: dg14})
    assert passport.csca is not None
    result = _read_card(pcsc_stack, passport, "ca-refused", passport.csca)
    assert result.files["DG14"] == dg14 and result.passive is not None and result.passive.verified(14)
    assert result.chip.status == "failed" and not result.genuine, result.chip.detail
