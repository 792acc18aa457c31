"""Virtual passports for the reader tests: chip files of our own, carried by ``vicc`` (Debian's
``python3-virtualsmartcard``) on the ``vpcd`` virtual reader of a real pcscd.

vicc's own ePass card cannot be personalised as shipped: its card generator asks for the MRZ
and a photo on standard input with Python 2's ``raw_input``, its ``--file`` option is parsed
but never used, and Debian installs the package off the system Python's path. So vicc runs
here through a small launcher (``LAUNCHER``, under Debian's ``/usr/bin/python3``, not our
venv) that builds the card from vicc's own parts: a master file holding EF.CardAccess when
there is one, the eMRTD application (AID A0000002471001) holding EF.COM, the data groups and
EF.SOD by their file identifiers, and vicc's ``PassportSAM``, which derives the BAC keys from
the DG1 it is given. vicc does not refuse plain reads before BAC, so files can be read in the
clear as well as under secure messaging.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from impostor.document.mrz import check_digit
from tests.document.signing import Authority, authority, security_object

VSMARTCARD = Path("/usr/lib/python3/site-packages/virtualsmartcard")
SYSTEM_PYTHON = Path("/usr/bin/python3")
AID = bytes.fromhex("A0000002471001")
FIDS = {"EF.CardAccess": 0x011C, "EF.COM": 0x011E, "EF.SOD": 0x011D}
FIDS.update({f"DG{number}": 0x0100 + number for number in range(1, 17)})
GROUP_TAGS = {1: 0x61, 2: 0x75, 14: 0x6E, 15: 0x6F}

# Run by Debian's Python with vicc's package on its path: argv is the card folder, vpcd's
# host and port, and 1 for a card that announces extended-length APDUs in its ATR.
LAUNCHER = r"""
import logging, sys
from pathlib import Path

# Debian ships PyCryptodome as 'Cryptodome'; vicc imports it as 'Crypto'
import Cryptodome, Cryptodome.Cipher, Cryptodome.Hash, Cryptodome.PublicKey, Cryptodome.Util
for part in ("", ".Cipher", ".Hash", ".PublicKey", ".Util"):
    sys.modules["Crypto" + part] = sys.modules["Cryptodome" + part]

import virtualsmartcard.TLVutils as tlv


def pack(items, recalculate_length=False):
    # vicc's own ends in b"".join() over bytes, which Python 3 refuses: its secure messaging
    # and its file control information both go through here
    out = b""
    for tag, length, value in (item[:3] for item in items):
        if tag in (0x00, 0xFF):
            out += bytes([tag])
            continue
        value = value if isinstance(value, bytes) else pack(value, recalculate_length)
        length = len(value) if recalculate_length else length
        size = b"" if length < 0x80 else bytes([0x80 | (length.bit_length() + 7) // 8])
        out += tag.to_bytes((tag.bit_length() + 7) // 8, "big") + size
        out += length.to_bytes(max(1, (length.bit_length() + 7) // 8), "big") + value
    return out


import virtualsmartcard.utils as utils

_stringtoint = utils.stringtoint
utils.stringtoint = lambda data: data if isinstance(data, int) else _stringtoint(data)  # bytes[i] is an int
tlv.pack = pack  # both before the modules that import them by name

# vicc's secure messaging builds its messages in str, which Python 3 keeps apart from bytes,
# and leaves out DO'99' (the status word) that Doc 9303 part 11 requires in every protected
# answer: load it with those lines made right
import importlib.util, virtualsmartcard

FIXES = [
    ('return_data = ["", ]', 'return_data = [b"", ]'),
    ('to_authenticate = ""', 'to_authenticate = b""'),
    ('data="".join(return_data)', 'data=b"".join(return_data)'),
    ('return_data = ""', 'return_data = b""'),
    ('if result != "":', 'if result:'),
    ('encrypted = "\\x01" + encrypted', 'encrypted = b"\\x01" + encrypted'),
    # and MAC every protected answer, errors too (a file not found answers 99 02 6A82 8E ..), so
    # both sides keep counting the same
    (
        '        if sw == SW["NORMAL"]:\n            if self.cct',
        '        return_data += b"\\x99\\x02" + sw.to_bytes(2, "big")\n'
        '        if True:\n            if self.cct',
    ),
]
spec = importlib.util.find_spec("virtualsmartcard.SEutils")
source = open(spec.origin).read()
for old, new in FIXES:
    assert old in source, old
    source = source.replace(old, new)
module = importlib.util.module_from_spec(spec)
sys.modules["virtualsmartcard.SEutils"] = module
exec(compile(source, spec.origin, "exec"), module.__dict__)

import virtualsmartcard.CryptoUtils as crypto
from virtualsmartcard.SmartcardFilesystem import DF, MF, TransparentStructureEF

_decode = MF.dataUnitsDecodeEncapsulated


def decode(self, p1, p2, data):
    # ISO/IEC 7816-4: P1-P2 = 0000 in READ BINARY (B1) is the current file; vicc looks for a
    # file with short identifier 0 instead
    if p1 == p2 == 0:
        found = tlv.bertlv_unpack(data)
        return self.current, tlv.decodeOffsetDataObjects(found), tlv.decodeDiscretionaryDataObjects(found)
    return _decode(self, p1, p2, data)


MF.dataUnitsDecodeEncapsulated = decode
from virtualsmartcard.VirtualSmartcard import Iso7816OS, VirtualICC
from virtualsmartcard.cards.ePass import PassportSAM

# vicc's BAC joins the key halves byte by byte with Python 2's ord() and chr(): do it on bytes
crypto.operation_on_string = lambda first, second, op: bytes(op(a, b) for a, b in zip(first, second))

folder, host, port, extended = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1"
mf = MF()
application = DF(parent=mf, fid=4, dfname=bytes.fromhex("A0000002471001"), bertlv_data=[])
for path in sorted(folder.iterdir()):
    fid = int(path.name, 16)
    parent = mf if fid == 0x011C else application
    parent.append(TransparentStructureEF(parent=parent, fid=fid, filedescriptor=0, data=path.read_bytes()))
mf.append(application)
card = VirtualICC(None, "iso7816", host, port, logginglevel=logging.CRITICAL)
if len(sys.argv) > 5:
    # active authentication: vicc's own INTERNAL AUTHENTICATE calls PyCrypto's RSA sign(), which
    # PyCryptodome lacks, and is no ISO/IEC 9796-2 signature; sign as Doc 9303 part 11 §6.1 says
    # (scheme 1, SHA-1, trailer BC) with the key whose modulus and private exponent argv[5] holds in hex
    import hashlib, os
    from virtualsmartcard.SWutils import SW

    modulus, private = (int(number, 16) for number in Path(sys.argv[5]).read_text().split())

    def internal_authenticate(self, p1, p2, data):
        size = (modulus.bit_length() + 7) // 8
        recovered = os.urandom(size - 22)
        block = b"\x6a" + recovered + hashlib.sha1(recovered + data).digest() + b"\xbc"
        return SW["NORMAL"], pow(int.from_bytes(block, "big"), private, modulus).to_bytes(size, "big")

    PassportSAM.internal_authenticate = internal_authenticate
card.os = Iso7816OS(mf, PassportSAM(mf), extended_length=extended)
# vpcd writes each command in two pieces; answering its first at once, rather than after the
# 40 ms the kernel may delay an ACK, keeps an exchange near a millisecond
import socket

card.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class QuickSocket:
    def __init__(self, inner):
        self.inner = inner

    def recv(self, size):
        self.inner.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        return self.inner.recv(size)

    def __getattr__(self, name):
        return getattr(self.inner, name)


card.sock = QuickSocket(card.sock)
print("connected", flush=True)
card.run()
"""


def _tlv(tag: int, value: bytes) -> bytes:
    head = tag.to_bytes(2 if tag > 0xFF else 1, "big")
    if len(value) < 0x80:
        return head + bytes([len(value)]) + value
    size = (len(value).bit_length() + 7) // 8
    return head + bytes([0x80 | size]) + len(value).to_bytes(size, "big") + value


def td3_mrz(
    number: str = "PE1234567",
    birth: str = "850312",
    expiry: str = "310101",
    surname: str = "QUISPE",
    given: str = "ROSA<MARIA",
    nationality: str = "PER",
    sex: str = "F",
) -> str:
    """A passport's two MRZ lines (TD3, 44 characters each, joined by a newline), with correct
    check digits."""
    first = f"P<{nationality}{surname}<<{given}".ljust(44, "<")
    optional = "<" * 14
    body = f"{number.ljust(9, '<')}{check_digit(number.ljust(9, '<'))}{nationality}"
    body += f"{birth}{check_digit(birth)}{sex}{expiry}{check_digit(expiry)}{optional}{check_digit(optional)}"
    composite = body[0:10] + body[13:20] + body[21:43]
    return f"{first}\n{body}{check_digit(composite)}"


def dg1(mrz: str) -> bytes:
    """DG1 holding ``mrz`` (its lines joined without newlines)."""
    return _tlv(0x61, _tlv(0x5F1F, mrz.replace("\n", "").encode("ascii")))


def dg2(jpeg: bytes) -> bytes:
    """DG2 holding one ISO/IEC 19794-5 face record with ``jpeg`` as a full-frontal image."""
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError("the face given for DG2 is not a JPEG")
    height, width = image.shape[:2]
    info = bytes([1, 0]) + width.to_bytes(2, "big") + height.to_bytes(2, "big") + bytes(6)
    block_length = 20 + len(info) + len(jpeg)
    block = block_length.to_bytes(4, "big") + bytes(16) + info + jpeg  # no feature points
    record = b"FAC\x00010\x00" + (14 + block_length).to_bytes(4, "big") + (1).to_bytes(2, "big") + block
    header = _tlv(0x87, b"\x01\x01") + _tlv(0x88, b"\x00\x08")  # CBEFF owner and format: 19794-5
    template = _tlv(0x7F60, _tlv(0xA1, header) + _tlv(0x5F2E, record))
    return _tlv(0x75, _tlv(0x7F61, b"\x02\x01\x01" + template))


def com(groups: list[int]) -> bytes:
    """EF.COM for LDS 1.7 listing ``groups``."""
    listed = bytes(GROUP_TAGS.get(number, 0x60 + number) for number in groups)
    return _tlv(0x60, _tlv(0x5F01, b"0107") + _tlv(0x5F36, b"040000") + _tlv(0x5C, listed))


@dataclass(frozen=True)
class Passport:
    """A personalised passport's chip: its files by name (``"DG2"``, ``"EF.SOD"`` …), the MRZ
    its BAC keys come from, and the authorities that signed it (none for shared chip files)."""

    files: dict[str, bytes]
    mrz: str
    csca: Authority | None = None
    signer: Authority | None = None
    active_key: rsa.RSAPrivateKey | None = None  # the chip's active authentication key


def personalise(
    face_jpeg: bytes,
    mrz: str | None = None,
    csca: Authority | None = None,
    *,
    active_key: rsa.RSAPrivateKey | None = None,
    dg15_key: rsa.RSAPublicKey | None = None,
    signer: Authority | None = None,
    extra: dict[int, bytes] | None = None,
) -> Passport:
    """A passport whose DG2 holds ``face_jpeg``, DG1 ``mrz`` (default :func:`td3_mrz`), with an
    EF.SOD signed by ``signer`` (default a new document signer under ``csca``, itself a new test
    CSCA by default). With ``active_key`` the chip does active authentication with that key, and
    DG15 holds ``dg15_key`` (default its public half; another key makes a clone's chip).
    ``extra`` adds data groups by number (a DG14 …), signed with the others."""
    mrz = mrz or td3_mrz()
    csca = csca or authority("Test CSCA")
    signer = signer or authority("Test document signer", csca)
    groups = {1: dg1(mrz), 2: dg2(face_jpeg), **(extra or {})}
    if active_key is not None:
        public = dg15_key or active_key.public_key()
        spki = public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        groups[15] = _tlv(0x6F, spki)
    files = {"EF.COM": com(sorted(groups)), "EF.SOD": security_object(groups, signer)}
    files.update({f"DG{number}": data for number, data in groups.items()})
    return Passport(files, mrz, csca, signer, active_key)


def from_folder(folder: Path) -> Passport:
    """A passport carrying the chip files a reader wrote into ``folder`` (as the shared
    ``jmrtd_bsi2008`` set), its MRZ taken from the DG1 there."""
    from impostor.document.chip import read_dg1, read_folder

    files = read_folder(folder).files
    return Passport(dict(files), read_dg1(files["DG1"]))


def write_card(passport: Passport, folder: Path) -> Path:
    """The card's files in ``folder``, each named by its file identifier as the launcher wants."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    for name, data in passport.files.items():
        (folder / f"{FIDS[name]:04X}").write_bytes(data)
    key = _key_file(folder)
    key.unlink(missing_ok=True)
    if passport.active_key is not None:
        numbers = passport.active_key.private_numbers()
        key.write_text(f"{numbers.public_numbers.n:x} {numbers.d:x}\n")
    return folder


def _key_file(folder: Path) -> Path:
    """Where :func:`write_card` keeps the card's active authentication key: beside its files."""
    return folder.with_name(folder.name + ".aa")


def start_card(
    folder: Path, port: int, *, extended: bool = True, host: str = "localhost"
) -> subprocess.Popen[str]:
    """vicc carrying the card in ``folder``, connecting to the vpcd that listens on ``port``."""
    return subprocess.Popen(
        [str(SYSTEM_PYTHON), "-c", LAUNCHER, str(folder), host, str(port), "1" if extended else "0"]
        + ([str(_key_file(folder))] if _key_file(folder).exists() else []),
        env={"PYTHONPATH": str(VSMARTCARD), "PATH": "/usr/bin:/bin"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop_card(process: subprocess.Popen[str], timeout: float = 5.0) -> None:
    """Stop a vicc started by :func:`start_card` (it closes its connection: the card is gone)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)


__all__ = [
    "AID",
    "FIDS",
    "Passport",
    "com",
    "dg1",
    "dg2",
    "from_folder",
    "personalise",
    "start_card",
    "stop_card",
    "td3_mrz",
    "write_card",
]
