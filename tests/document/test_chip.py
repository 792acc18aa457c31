"""The chip's files: EF.COM, DG1, DG2 (19794-5 and 39794-5), passive authentication."""

from __future__ import annotations

from pathlib import Path

import pytest

from impostor.document import chip, mrz, sod
from impostor.errors import DocumentError
from impostor.stages.capture import load_image
from tests.document import signing

REAL_SETS = {"jmrtd_bsi2008": ("sha1", (413, 531)), "jmrtd_loes2006": ("sha256", (449, 598))}


@pytest.mark.parametrize("folder", sorted(REAL_SETS))
def test_real_test_passports_decode_and_authenticate(chips: Path, folder: str) -> None:
    files = chip.read_folder(chips / folder)
    assert {"EF.COM", "DG1", "DG2", "EF.SOD"} <= set(files.files)
    version, groups = chip.read_com(files.files["EF.COM"])
    assert version == "0107" and {1, 2} <= set(groups)
    assert mrz.parse(chip.read_dg1(files.files["DG1"])).valid
    (portrait,) = chip.read_dg2(files.files["DG2"])
    assert portrait.codec == "JPEG 2000" and portrait.record_format == "ISO/IEC 19794-5"
    image = load_image(portrait.image, name=folder)
    algorithm, size = REAL_SETS[folder]
    assert (image.shape[1], image.shape[0]) == size  # the codec's size, whatever the header says
    result = sod.authenticate(files.files["EF.SOD"], {1: files.files["DG1"], 2: files.files["DG2"]})
    assert result.hash_algorithm == algorithm
    assert [(s.name, s.status) for s in result.steps] == [
        ("hashes", "passed"), ("signature", "passed"), ("chain", "not done")
    ]  # fmt: skip


def test_a_changed_byte_in_a_data_group_fails_the_hash_step(chips: Path) -> None:
    files = chip.read_folder(chips / "jmrtd_loes2006")
    dg2 = bytearray(files.files["DG2"])
    dg2[5000] ^= 0x01
    result = sod.authenticate(files.files["EF.SOD"], {1: files.files["DG1"], 2: bytes(dg2)})
    assert result.step("hashes").status == "failed" and "DG2 differ" in result.step("hashes").detail
    assert not result.passed


def test_a_changed_signature_fails_the_signature_step(chips: Path) -> None:
    security = bytearray((chips / "jmrtd_loes2006" / "ef011D.bin").read_bytes())
    security[-10] ^= 0x01  # inside the signature, the file's last field
    result = sod.authenticate(bytes(security), {})
    assert result.step("signature").status == "failed"


@pytest.mark.parametrize("name", ["ICAO_39794_5_AP_DG2_MandFields.dat", "ICAO_39794_5_AP_DG2_AllFields.dat"])
def test_iso_39794_5_portraits_decode(chips: Path, name: str) -> None:
    (portrait,) = chip.read_dg2((chips / "gmrtd" / name).read_bytes())
    assert portrait.record_format == "ISO/IEC 39794-5"
    assert portrait.image == (chips / "gmrtd" / "ICAO_39794_5_AP_DG2_Face.jpg").read_bytes()
    assert load_image(portrait.image).shape == (531, 413)


def test_a_bare_19794_record_whose_header_says_jpeg_2000_holds_a_jpeg(chips: Path) -> None:
    record = chips / "gmrtd" / "ISO19794_Test1_Data.bin"
    wrapped = chips / "converted_from_hex" / "gmrtd_TestNewDG2Iso19794_DG2.bin"
    for data in (record.read_bytes(), wrapped.read_bytes()):
        (portrait,) = chip.read_dg2(data)
        assert portrait.codec == "JPEG"
        assert portrait.image == (chips / "gmrtd" / "ISO19794_Test1_Face.jpg").read_bytes()


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        (
            "gmrtd/ICAO_39794_5_AP_MandFields_InvalidImage.dat",
            "neither JPEG nor JPEG 2000 (it starts 00 00 00 00)",
        ),
        ("gmrtd/ISO19794_Test2_Data_InvalidImage.bin", "neither JPEG nor JPEG 2000 (it starts FF D8 FE E0)"),
        ("converted_from_hex/andyq_DG2_truncated_jp2.bin", "the file is cut off"),
        ("converted_from_hex/andyq_DG2_truncated_jpeg.bin", "the file is cut off"),
    ],
)
def test_every_broken_dg2_is_refused_with_its_reason(chips: Path, name: str, reason: str) -> None:
    with pytest.raises(DocumentError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        chip.read_dg2((chips / name).read_bytes(), name)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "ends where an item should start"),
        (b"\x75\x80\x00\x00", "indefinite length"),
        (b"\x75\x85\x01\x02\x03\x04\x05", "cut off or too long"),
        (b"\x75\x03\x7f\x61\x00", "holds no face record"),
        (b"\x75\x03\x02\x01\x01", "no item with tag 7F61"),
        (b"\x60\x00", "starts with tag 60, not 75"),
        (b"FAC\x00010\x00\x00\x00\xff\xff\x00\x01", "claims 65535 bytes"),
    ],
)
def test_malformed_chip_files_say_what_is_wrong(data: bytes, reason: str) -> None:
    with pytest.raises(DocumentError, match=reason):
        chip.read_dg2(data, "DG2")


def test_dg1_with_an_mrz_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(DocumentError, match="an MRZ of 5 characters"):
        chip.read_dg1(b"\x61\x08\x5f\x1f\x05ABCDE")


def test_a_folder_without_chip_files_or_with_two_of_one_kind(tmp_path: Path, chips: Path) -> None:
    (tmp_path / "notes.txt").write_text("nothing here")
    with pytest.raises(DocumentError, match="no chip file here"):
        chip.read_folder(tmp_path)
    dg1 = (chips / "jmrtd_loes2006" / "ef0101.bin").read_bytes()
    (tmp_path / "a.bin").write_bytes(dg1)
    (tmp_path / "b.bin").write_bytes(dg1)
    with pytest.raises(DocumentError, match="both a.bin and b.bin hold DG1"):
        chip.read_folder(tmp_path)


# -- the chain, with a CSCA and a signer of our own ----------------------------------------------


@pytest.fixture(scope="module")
def ministry() -> tuple[signing.Authority, signing.Authority]:
    csca = signing.authority("CSCA Test Peru")
    return csca, signing.authority("DS Test Peru", issuer=csca)


def test_the_chain_passes_with_the_csca_as_pem_der_folder_or_master_list(
    tmp_path: Path, ministry: tuple[signing.Authority, signing.Authority]
) -> None:
    csca, signer = ministry
    groups = {1: b"\x61\x03\x5f\x1f\x00", 2: b"\x75\x00"}
    security = signing.security_object(groups, signer)
    (tmp_path / "csca.pem").write_bytes(csca.pem)
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "csca.der").write_bytes(csca.der)
    (tmp_path / "list.ml").write_bytes(signing.master_list([signing.authority("Other"), csca], csca))
    for given in (tmp_path / "csca.pem", tmp_path / "folder", tmp_path / "list.ml"):
        result = sod.authenticate(security, groups, csca=sod.load_csca(given))
        assert [s.status for s in result.steps] == ["passed", "passed", "passed"], given
        assert "CSCA Test Peru" in result.step("chain").detail


def test_the_chain_fails_with_an_impostor_csca_or_an_unknown_one(
    ministry: tuple[signing.Authority, signing.Authority],
) -> None:
    _, signer = ministry
    security = signing.security_object({1: b"x"}, signer)
    same_name = signing.authority("CSCA Test Peru")  # the right name, another key
    result = sod.authenticate(security, {1: b"x"}, csca=[same_name.certificate])
    assert result.step("chain").status == "failed" and "does not verify" in result.step("chain").detail
    result = sod.authenticate(security, {1: b"x"}, csca=[signing.authority("CSCA Elsewhere").certificate])
    assert result.step("chain").status == "failed" and "no trusted CSCA" in result.step("chain").detail


def test_csca_files_that_are_not_certificates_are_refused(tmp_path: Path) -> None:
    (tmp_path / "bad.pem").write_bytes(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    (tmp_path / "junk.der").write_bytes(b"\x30\x03\x02\x01\x00")
    with pytest.raises(DocumentError, match="a PEM certificate cannot be read"):
        sod.load_csca(tmp_path / "bad.pem")
    with pytest.raises(DocumentError, match="not a certificate .PEM or DER. or an ICAO master list"):
        sod.load_csca(tmp_path / "junk.der")
    with pytest.raises(DocumentError, match="no such file"):
        sod.load_csca(tmp_path / "missing")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\x77\x03\x30\x01\x00", "not a CMS SignedData"),
        (b"\x60\x00", "starts with tag 60, not 77"),
    ],
)
def test_an_unreadable_sod_says_so(data: bytes, reason: str) -> None:
    with pytest.raises(DocumentError, match=reason):
        sod.read_sod(data)


@pytest.mark.parametrize(
    "name", ["jmrtd_loes2006/ef011D.bin", "jmrtd_bsi2008/EF_SOD.bin", "jmrtd_loes2006/ef0102.bin"]
)
def test_mangled_chip_files_are_refused_never_crash(chips: Path, name: str) -> None:
    import random

    data = (chips / name).read_bytes()
    rng = random.Random(name)
    for _ in range(60):
        mangled = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            if not mangled:
                break
            position = rng.randrange(len(mangled))
            if rng.random() < 0.5:
                mangled[position] = rng.randrange(256)
            elif rng.random() < 0.6:
                del mangled[position : position + rng.randint(1, 50)]
            else:
                del mangled[position:]
        for read in (lambda d: sod.authenticate(d, {1: b"x"}), chip.read_dg2):
            try:
                read(bytes(mangled))
            except DocumentError:
                pass
