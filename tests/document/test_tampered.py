"""What a forger would do to a document, and that none of it yields a MATCH.

Each test starts from genuine material (the ICAO "Utopia" specimen page, BSI's 2008 test
passport) and changes what an impostor would change: the MRZ painted out, EF.SOD or DG1 left
out, a forged DG1 beside another person's portrait, a file EF.COM does not list, a portrait that
is not the one signed, a decompression bomb in DG2.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import struct
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner, Result
from PIL import Image

from impostor.cli import main
from impostor.document import chip, mrz, read_document
from impostor.errors import DocumentError
from tests.document import signing
from tests.document.signing import _tlv

UTOPIA = "td3_uto_icao_specimen.png"
UTOPIA_FACE = (175, 300, 140, 170)  # x, y, w, h on the page (ground_truth.json)


def run(*args: str | Path) -> Result:
    result = CliRunner().invoke(main, [str(arg) for arg in args])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def codes(reading: object) -> list[str]:
    return [finding.code for finding in reading.findings]  # type: ignore[attr-defined]


def alert_codes(reading: object) -> list[str]:
    return [finding.code for finding in reading.alerts]  # type: ignore[attr-defined]


# --- a page whose MRZ is painted out ---------------------------------------------------------


@pytest.fixture(scope="module")
def utopia(documents: Path) -> np.ndarray:
    page = cv2.imread(str(documents / "images" / UTOPIA))
    assert page is not None
    return page


@pytest.fixture(scope="module")
def utopia_live(utopia: np.ndarray, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The page's own portrait, enlarged three times: the face the forger brings to the counter."""
    x, y, width, height = UTOPIA_FACE
    crop = utopia[y - 60 : y + height + 60, x - 40 : x + width + 40]
    path = tmp_path_factory.mktemp("utopia") / "live.png"
    cv2.imwrite(str(path), cv2.resize(crop, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC))
    return path


def _painted(page: np.ndarray, where: str) -> np.ndarray:
    painted = page.copy()
    rows, columns = painted.shape[:2]
    if where == "bottom quarter":
        painted[int(rows * 0.75) :] = 255
    else:  # the right half of the MRZ
        painted[int(rows * 0.75) :, columns // 2 :] = 255
    return painted


@pytest.mark.parametrize("where", ["bottom quarter", "right half of the MRZ"])
def test_a_page_with_its_mrz_painted_out_is_a_page_and_never_a_match(
    utopia: np.ndarray, utopia_live: Path, tmp_path: Path, where: str
) -> None:
    path = tmp_path / "painted.png"
    cv2.imwrite(str(path), _painted(utopia, where))
    reading = read_document(path)
    assert reading.kind == "page" and reading.mrz is None
    assert alert_codes(reading)[:1] == ["mrz_unreadable"]
    result = run("compare", path, utopia_live, "--json", "--no-audit")
    verdict = json.loads(result.stdout)
    assert verdict["decision"] == "REFER" and result.exit_code != 0, result.output
    assert verdict["reason_codes"][0] == "mrz_unreadable"  # the alert leads the reasons
    assert verdict["profile"]["name"] == "document"


def test_the_unaltered_page_is_refered_for_its_expiry(utopia_live: Path, documents: Path) -> None:
    verdict = json.loads(
        run("compare", documents / "images" / UTOPIA, utopia_live, "--json", "--no-audit").stdout
    )
    assert verdict["decision"] == "REFER" and verdict["reason_codes"][0] == "document_expired"


@pytest.mark.parametrize(
    "name",
    [
        "td2_uto_icao_specimen.png",
        "td1_lva_paraudzins.png",  # front above back: its face is the widest of the shared pages
        "td1_mco_specimen.png",  # the portrait on the right
        "td3_qat_alkaabi.png",  # a ghost image nearly as large as the portrait
    ],
)
def test_other_pages_with_their_mrz_painted_out_are_pages(documents: Path, tmp_path: Path, name: str) -> None:
    page = cv2.imread(str(documents / "images" / name))
    path = tmp_path / name
    cv2.imwrite(str(path), _painted(page, "bottom quarter"))
    reading = read_document(path)
    assert reading.kind == "page" and "mrz_unreadable" in alert_codes(reading), codes(reading)


def test_portraits_are_still_portraits(faces_dev: Path, data_dir: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    photos = [
        root / "samples" / "document.png",
        *sorted(faces_dev.rglob("*.jpg"))[:4],
        data_dir / "lfw" / "lfw" / "George_W_Bush" / "George_W_Bush_0001.jpg",
    ]
    for photo in photos:
        reading = read_document(photo)
        assert reading.kind == "portrait" and not reading.alerts, (photo, codes(reading))


@pytest.mark.parametrize("size", [(600, 800), (40, 20000)])
def test_a_blank_page_or_a_strip_is_nothing_read_not_a_portrait(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    path = tmp_path / "blank.png"
    cv2.imwrite(str(path), np.zeros((*size, 3), np.uint8))
    reading = read_document(path)
    assert alert_codes(reading) == ["nothing_read"]
    result = run("document", path)
    assert result.exit_code == 3, result.output  # an alert, not "nothing to act on"
    assert "neither an MRZ nor a portrait's face was found" in result.output


# --- a chip with a file left out or forged ---------------------------------------------------


def _chip_copy(chips: Path, tmp_path: Path, *, leave_out: tuple[str, ...] = ()) -> Path:
    folder = tmp_path / "chip"
    folder.mkdir()
    for file in (chips / "jmrtd_bsi2008").iterdir():
        if file.name not in leave_out:
            shutil.copy(file, folder / file.name)
    return folder


@pytest.fixture(scope="module")
def bsi_live(chips: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """BSI's test passport's own chip portrait, enlarged: the face that matches it."""
    from impostor.stages.capture import load_image

    (portrait,) = chip.read_dg2((chips / "jmrtd_bsi2008" / "Datagroup2.bin").read_bytes())
    pixels = load_image(portrait.image).pixels
    path = tmp_path_factory.mktemp("bsi") / "live.png"
    cv2.imwrite(str(path), cv2.cvtColor(cv2.resize(pixels, None, fx=2, fy=2), cv2.COLOR_RGB2BGR))
    return path


def test_a_chip_without_dg1_is_an_alert_and_never_a_match(
    chips: Path, tmp_path: Path, bsi_live: Path
) -> None:
    folder = _chip_copy(chips, tmp_path, leave_out=("Datagroup1.bin",))  # it says: expired 2013
    reading = read_document(folder)
    assert alert_codes(reading)[:2] == ["chip_no_dg1", "chip_hash_mismatch"]
    assert reading.authentication is not None and reading.authentication.step("hashes").status == "failed"
    result = run("document", folder)
    assert "hashes: passed" not in result.output and result.exit_code == 3
    verdict = json.loads(run("compare", folder, bsi_live, "--json", "--no-audit").stdout)
    assert verdict["decision"] == "REFER" and verdict["reason_codes"][0] == "chip_no_dg1"


def test_a_chip_without_its_sod_is_an_alert_and_never_a_match(
    chips: Path, tmp_path: Path, bsi_live: Path
) -> None:
    folder = _chip_copy(chips, tmp_path, leave_out=("EF_SOD.bin",))
    assert alert_codes(read_document(folder))[0] == "chip_no_sod"
    verdict = json.loads(run("compare", folder, bsi_live, "--json", "--no-audit").stdout)
    assert verdict["decision"] == "REFER" and verdict["reason_codes"][0] == "chip_no_sod"


def _dg1(lines: str) -> bytes:
    return _tlv(0x61, b"\x5f\x1f" + _length(len(lines)) + lines.encode())


def _forged_line_2(expiry: str) -> str:
    """BSI's test passport's second MRZ line with another expiry, every check digit made to hold."""
    number, birth = "C11T002JM4", "9608122"
    head = f"{number}D<<{birth}F{expiry}{mrz.check_digit(expiry)}"
    optional = "<" * 15  # no optional data: its check digit a filler, as BSI prints it
    composite = mrz.check_digit(number + birth + expiry + mrz.check_digit(expiry) + optional)
    return head + optional + composite


def test_a_forged_dg1_beside_another_persons_portrait_and_no_sod_is_never_a_match(
    chips: Path, tmp_path: Path, documents: Path
) -> None:
    forged = "P<D<<MUSTERMANN<<ERIKA<<<<<<<<<<<<<<<<<<<<<<" + _forged_line_2("351031")
    assert mrz.parse(forged[:44] + "\n" + forged[44:]).valid  # valid check digits, expires 2035
    folder = tmp_path / "forged"
    folder.mkdir()
    (folder / "DG1.bin").write_bytes(_dg1(forged))
    shutil.copy(chips / "jmrtd_loes2006" / "ef0102.bin", folder / "DG2.bin")  # someone else's portrait
    shutil.copy(chips / "jmrtd_bsi2008" / "EF_COM.bin", folder / "EF_COM.bin")
    reading = read_document(folder)
    assert reading.mrz is not None and reading.mrz.expiry == "351031"
    assert alert_codes(reading)[0] == "chip_no_sod" and reading.portrait is not None
    live = tmp_path / "live.png"  # the portrait's own person at the counter
    cv2.imwrite(
        str(live), cv2.cvtColor(cv2.resize(reading.portrait.pixels, None, fx=2, fy=2), cv2.COLOR_RGB2BGR)
    )
    verdict = json.loads(run("compare", folder, live, "--json", "--no-audit").stdout)
    assert verdict["decision"] == "REFER" and verdict["reason_codes"][0] == "chip_no_sod"


def _com(groups: list[int]) -> bytes:
    tags = {number: tag for tag, number in chip.DATA_GROUP_TAGS.items()}
    listed = bytes(tags[number] for number in groups)
    return _tlv(
        0x60, b"\x5f\x01\x04" + b"0107" + b"\x5f\x36\x06" + b"040000" + bytes([0x5C, len(listed)]) + listed
    )


def test_a_data_group_ef_com_does_not_list_is_an_alert(chips: Path, tmp_path: Path) -> None:
    folder = _chip_copy(chips, tmp_path)
    (folder / "EF_COM.bin").write_bytes(_com([1]))  # DG2 left off the chip's own list
    reading = read_document(folder)
    assert "chip_not_in_com" in alert_codes(reading)
    assert [f.values for f in reading.findings if f.code == "chip_not_in_com"] == [{"group": "DG2"}]


def _signed_chip(folder: Path, dg2: bytes, signed_groups: dict[int, bytes]) -> Path:
    """A chip of our own: BSI's DG1, the DG2 given, and an EF.SOD over ``signed_groups``."""
    csca = signing.authority("CSCA test")
    signer = signing.authority("DS test", csca)
    folder.mkdir()
    (folder / "DG2.bin").write_bytes(dg2)
    (folder / "SOD.bin").write_bytes(signing.security_object(signed_groups, signer))
    return folder


def test_a_portrait_that_is_not_the_one_signed_is_not_decoded(chips: Path, tmp_path: Path) -> None:
    genuine = (chips / "jmrtd_bsi2008" / "Datagroup2.bin").read_bytes()
    other = (chips / "jmrtd_loes2006" / "ef0102.bin").read_bytes()
    dg1 = (chips / "jmrtd_bsi2008" / "Datagroup1.bin").read_bytes()
    folder = _signed_chip(tmp_path / "swapped", other, {1: dg1, 2: genuine})
    shutil.copy(chips / "jmrtd_bsi2008" / "Datagroup1.bin", folder / "DG1.bin")
    reading = read_document(folder)
    assert reading.portrait is None and reading.chip_portrait is None
    assert {"chip_hash_mismatch", "chip_portrait_not_signed"} <= set(alert_codes(reading))
    result = run("compare", folder, chips / "gmrtd" / "ISO19794_Test1_Face.jpg")
    assert result.exit_code == 19 and "not the one the issuer signed" in result.stderr


def _bomb(side: int) -> bytes:
    """A JPEG 2000 file of a few hundred bytes whose header declares ``side`` × ``side`` pixels."""
    encoded = io.BytesIO()
    Image.fromarray(np.full((64, 64, 3), 128, np.uint8)).save(encoded, format="JPEG2000")
    data = bytearray(encoded.getvalue())
    siz, ihdr = data.index(b"\xff\x51"), data.index(b"ihdr")
    data[siz + 6 : siz + 14] = struct.pack(">II", side, side)  # image size
    data[siz + 22 : siz + 30] = struct.pack(">II", side, side)  # tile size
    data[ihdr + 4 : ihdr + 12] = struct.pack(">II", side, side)
    return bytes(data)


def _dg2(image: bytes, width: int, height: int) -> bytes:
    """A DG2 of one ISO/IEC 19794-5 record holding ``image`` (JPEG 2000)."""
    facial = (
        struct.pack(">IH", 20 + 12 + len(image), 0)
        + bytes(14)
        + bytes([1, 1])  # full frontal, JPEG 2000
        + struct.pack(">HH", width, height)
        + bytes(6)
        + image
    )
    record = b"FAC\x00010\x00" + struct.pack(">IH", 14 + len(facial), 1) + facial
    header = _tlv(0xA1, b"\x87\x02\x01\x01\x88\x02\x00\x08")
    template = b"\x7f\x60" + _length(len(header) + len(_block(record))) + header + _block(record)
    group = b"\x7f\x61" + _length(3 + len(template)) + b"\x02\x01\x01" + template
    return b"\x75" + _length(len(group)) + group


def _block(record: bytes) -> bytes:
    return b"\x5f\x2e" + _length(len(record)) + record


def _length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    size = (length.bit_length() + 7) // 8
    return bytes([0x80 | size]) + length.to_bytes(size, "big")


@pytest.mark.parametrize("signed", [False, True], ids=["hash fails", "hash holds"])
def test_a_jpeg_2000_bomb_in_dg2_is_refused_before_it_is_decoded(
    chips: Path, tmp_path: Path, signed: bool
) -> None:
    bomb = _dg2(_bomb(7745), 7745, 7745)
    assert len(bomb) < 1000
    (portrait,) = chip.read_dg2(bomb)  # a well-formed DG2 around it
    dg1 = (chips / "jmrtd_bsi2008" / "Datagroup1.bin").read_bytes()
    genuine = (chips / "jmrtd_bsi2008" / "Datagroup2.bin").read_bytes()
    folder = _signed_chip(tmp_path / "bomb", bomb, {1: dg1, 2: bomb if signed else genuine})
    (folder / "DG1.bin").write_bytes(dg1)
    started = time.perf_counter()
    reading = read_document(folder)
    assert time.perf_counter() - started < 1.0  # decoding it took 8 s and 1.15 GB
    assert reading.portrait is None
    expected = "chip_portrait_unreadable" if signed else "chip_portrait_not_signed"
    assert expected in alert_codes(reading)
    if signed:
        message = next(f.message for f in reading.findings if f.code == expected)
        assert "7745" in message or "pixels" in message, message


def test_a_dg2_alone_cannot_be_authenticated_and_is_an_alert(chips: Path) -> None:
    reading = read_document(chips / "jmrtd_bsi2008" / "Datagroup2.bin")
    assert alert_codes(reading) == ["chip_not_authenticated"] and reading.portrait is not None


def test_a_fifo_inside_a_chip_folder_is_refused_not_skipped(chips: Path, tmp_path: Path) -> None:
    folder = _chip_copy(chips, tmp_path)
    os.mkfifo(folder / "extra.bin")  # nobody writes to it: reading it would wait for ever
    with pytest.raises(DocumentError, match="extra.bin is not a regular file"):
        read_document(folder)
    result = run("document", folder)
    assert result.exit_code == 19 and "not a regular file" in result.stderr


def test_over_http_a_painted_page_and_a_bare_dg2_are_referred(
    utopia: np.ndarray, utopia_live: Path, chips: Path, bsi_live: Path, tmp_path: Path
) -> None:
    import httpx

    from impostor.station.accounts import Accounts
    from impostor.station.app import create_app
    from impostor.station.service import StationConfig
    from tests.servers import running

    config = StationConfig(
        accounts=tmp_path / "station.sqlite", audit_db=tmp_path / "audit.sqlite", station="lima-t1-07"
    )
    key = Accounts(config.accounts).add_key("gate-3")
    painted = cv2.imencode(".png", _painted(utopia, "bottom quarter"))[1].tobytes()
    dg2 = (chips / "jmrtd_bsi2008" / "Datagroup2.bin").read_bytes()
    cases = [(painted, utopia_live, "mrz_unreadable"), (dg2, bsi_live, "chip_not_authenticated")]
    with running(create_app(config)) as url:
        for document, live, first in cases:
            reply = httpx.post(
                f"{url}/api/v1/verify",
                files={"document": ("document", document), "live": ("live.png", live.read_bytes())},
                headers={"X-API-Key": key},
                timeout=60,
            )
            assert reply.status_code == 200, reply.text
            verdict = reply.json()
            assert verdict["decision"] == "REFER" and verdict["reason_codes"][0] == first, verdict


def test_a_painted_page_padded_until_its_face_is_in_the_middle_is_still_a_page(
    utopia: np.ndarray, tmp_path: Path
) -> None:
    painted = _painted(utopia, "bottom quarter")
    margin = np.full((painted.shape[0], int(painted.shape[1] * 0.6), 3), 255, np.uint8)
    padded = tmp_path / "padded.png"
    cv2.imwrite(str(padded), np.hstack([margin, painted, margin]))
    reading = read_document(padded)  # its face too small to be a portrait's: never a clean one
    assert {"mrz_unreadable", "nothing_read"} & set(alert_codes(reading)), codes(reading)


def test_a_chip_signed_by_a_signer_of_the_forgers_own_is_proven_only_by_the_chain(
    chips: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    forged = "P<D<<MUSTERMANN<<ERIKA<<<<<<<<<<<<<<<<<<<<<<" + _forged_line_2("351031")
    dg1 = _dg1(forged)
    dg2 = (chips / "jmrtd_loes2006" / "ef0102.bin").read_bytes()  # someone else's portrait
    csca = signing.authority("CSCA of the forger's own", country="DE")  # the MRZ says D
    folder = tmp_path / "selfmade"
    folder.mkdir()
    (folder / "DG1.bin").write_bytes(dg1)
    (folder / "DG2.bin").write_bytes(dg2)
    (folder / "SOD.bin").write_bytes(signing.security_object({1: dg1, 2: dg2}, signing.authority("DS", csca)))
    reading = read_document(folder)  # hashes and signature verify: the chain is all that is left
    assert reading.authentication is not None and reading.authentication.passed
    assert alert_codes(reading) == ["chip_chain_not_checked"]
    live = tmp_path / "live.png"
    assert reading.portrait is not None
    cv2.imwrite(
        str(live), cv2.cvtColor(cv2.resize(reading.portrait.pixels, None, fx=2, fy=2), cv2.COLOR_RGB2BGR)
    )
    verdict = json.loads(run("compare", folder, live, "--json", "--no-audit").stdout)
    assert verdict["decision"] == "REFER" and verdict["reason_codes"][0] == "chip_chain_not_checked"
    # the country's CSCA, given to every command through IMPOSTOR_CSCA, proves this chip genuine
    trusted = tmp_path / "csca.pem"
    trusted.write_bytes(csca.pem)
    monkeypatch.setenv("IMPOSTOR_CSCA", str(trusted))
    assert "chip_chain_not_checked" not in codes(read_document(folder))
    assert read_document(folder).authentication.step("chain").status == "passed"  # type: ignore[union-attr]
    # the trust list is parsed once per process, but a list changed on disk is read again
    trusted.write_bytes(signing.authority("CSCA of another country").pem)
    assert "chip_chain_failed" in alert_codes(read_document(folder))
