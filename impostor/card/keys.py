"""Keys and block ciphers of chip access control (ICAO Doc 9303 part 11, §9.7 and §9.8).

One :class:`Algorithm` per cipher suite the chip may offer: two-key 3DES with the retail MAC
(BAC, and PACE's ``3DES-CBC-CBC``), and AES-128/192/256 with a CMAC cut to 8 bytes. The key
derivation function turns a shared secret into keys for either; the MRZ password (the document
number, birth date and expiry with their check digits) feeds both BAC and PACE.

Everything here is a plain function of bytes: no state, no card. The MACs work on data their
caller has padded already (Doc 9303 pads the MAC input itself in every place it uses one, except
the AES authentication token of PACE, which CMAC pads).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import cmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from impostor.document.mrz import check_digit
from impostor.errors import AccessDenied, ChipError

__all__ = [
    "AES128",
    "AES192",
    "AES256",
    "KDF_ENC",
    "KDF_MAC",
    "KDF_PASSWORD",
    "TDES",
    "Algorithm",
    "SessionKeys",
    "adjust_parity",
    "can_password",
    "decrypt",
    "derive_key",
    "encrypt",
    "mac",
    "mrz_information",
    "mrz_password",
    "pad",
    "session_keys",
    "unpad",
]

# the counters of §9.7.1: which key the derivation function makes
KDF_ENC = 1
KDF_MAC = 2
KDF_PASSWORD = 3


@dataclass(frozen=True)
class Algorithm:
    """A secure messaging cipher suite: its name, key length in bytes and block size in bytes."""

    name: str
    key_length: int
    block_size: int

    @property
    def is_aes(self) -> bool:
        """Whether the suite is AES (CMAC, IV from the SSC) rather than 3DES (retail MAC, zero IV)."""
        return self.name.startswith("AES")


TDES = Algorithm("3DES", 16, 8)
AES128 = Algorithm("AES-128", 16, 16)
AES192 = Algorithm("AES-192", 24, 16)
AES256 = Algorithm("AES-256", 32, 16)


@dataclass(frozen=True)
class SessionKeys:
    """The keys of one secure messaging session and the send sequence counter it starts from.

    ``ssc`` is the counter's starting value as the standard writes it: 8 bytes for 3DES (BAC takes
    it from the two nonces), 16 zero bytes for AES after PACE.
    """

    algorithm: Algorithm
    enc: bytes = field(repr=False)  # kept out of logs and tracebacks
    mac: bytes = field(repr=False)
    ssc: bytes

    def __post_init__(self) -> None:
        for name, key in (("encryption", self.enc), ("MAC", self.mac)):
            if len(key) != self.algorithm.key_length:
                raise ChipError(
                    f"a {self.algorithm.name} {name} key must be {self.algorithm.key_length} bytes, "
                    f"not {len(key)}"
                )
        if len(self.ssc) != self.algorithm.block_size:
            raise ChipError(
                f"a {self.algorithm.name} send sequence counter is {self.algorithm.block_size} bytes, "
                f"not {len(self.ssc)}"
            )


def adjust_parity(key: bytes) -> bytes:
    """``key`` with each byte's lowest bit set so that the byte has an odd number of ones (DES)."""
    out = bytearray()
    for byte in key:
        high = byte & 0xFE
        out.append(high | (bin(high).count("1") + 1) % 2)
    return bytes(out)


def derive_key(secret: bytes, counter: int, algorithm: Algorithm) -> bytes:
    """The key derivation function of Doc 9303 part 11 §9.7.1: ``H(secret || counter)`` cut to size.

    ``counter`` is :data:`KDF_ENC`, :data:`KDF_MAC` or :data:`KDF_PASSWORD` (a 32-bit big-endian
    number). SHA-1 serves 3DES and AES-128, SHA-256 the longer AES keys. A 3DES key is the first
    16 bytes with the DES parity bits set (keys 1 and 2 of two-key 3DES).
    """
    data = secret + counter.to_bytes(4, "big")
    if algorithm is TDES:
        return adjust_parity(hashlib.sha1(data).digest()[:16])
    if algorithm.key_length == 16:
        return hashlib.sha1(data).digest()[:16]
    return hashlib.sha256(data).digest()[: algorithm.key_length]


def session_keys(secret: bytes, algorithm: Algorithm, ssc: bytes | None = None) -> SessionKeys:
    """The encryption and MAC keys derived from ``secret``, with ``ssc`` (zeros when ``None``)."""
    return SessionKeys(
        algorithm,
        derive_key(secret, KDF_ENC, algorithm),
        derive_key(secret, KDF_MAC, algorithm),
        ssc if ssc is not None else bytes(algorithm.block_size),
    )


def mrz_information(
    document_number: str, birth_date: str, expiry_date: str, *, number_check: str | None = None
) -> str:
    """The MRZ information BAC and PACE take their keys from (Doc 9303 part 11 §9.7, the
    document basic access keys).

    ``document_number`` as printed, without fillers (``"L898902C"``); a number shorter than 9
    characters is padded with ``<`` to 9, and the check digit is computed over the padded field.
    A longer number (TD1 and TD2 cards put characters 10 and on in the optional data) is used
    whole, followed by its check digit; issuers disagree on how that digit is summed, so pass the
    printed one as ``number_check`` when you have it (a short number's digit is always computed).
    ``birth_date`` and ``expiry_date`` are ``YYMMDD`` and get their check digits. Raises
    :class:`AccessDenied` for a field that cannot be one (wrong length, a character outside the
    MRZ alphabet).
    """
    number = document_number.strip().upper().rstrip("<")
    if not number or any(char not in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ<" for char in number):
        raise AccessDenied(
            f"document number {document_number!r} cannot open a chip: it must be MRZ characters "
            "(A-Z, 0-9, '<'); check the MRZ or type the number as printed"
        )
    for name, date in (("birth date", birth_date), ("expiry date", expiry_date)):
        if len(date) != 6 or not date.isdigit():
            raise AccessDenied(f"{name} {date!r} cannot open a chip: it must be six digits YYMMDD")
    field = number.ljust(9, "<")
    check = number_check if number_check is not None and len(number) > 9 else check_digit(field)
    if len(check) != 1 or not check.isdigit():
        raise AccessDenied(f"document number check digit {check!r} is not a digit")
    return field + check + birth_date + check_digit(birth_date) + expiry_date + check_digit(expiry_date)


def mrz_password(mrz_info: str) -> bytes:
    """The PACE password from the MRZ, and BAC's key seed source: ``SHA-1(MRZ information)``."""
    return hashlib.sha1(mrz_info.encode("ascii")).digest()


def can_password(can: str) -> bytes:
    """The PACE password from a card access number (the digits printed on the card), as bytes.

    Raises :class:`AccessDenied` when ``can`` is not digits (it is six on most cards).
    """
    if not can or not can.isdigit() or not can.isascii():
        raise AccessDenied(f"card access number {can!r} must be digits only, as printed on the card")
    return can.encode("ascii")


def pad(data: bytes, block_size: int) -> bytes:
    """ISO/IEC 9797-1 padding method 2: a 0x80 byte, then zeros up to a whole block."""
    padded = data + b"\x80"
    return padded + bytes(-len(padded) % block_size)


def unpad(data: bytes) -> bytes:
    """Remove padding method 2; raises :class:`ChipError` when the padding is not there."""
    stripped = data.rstrip(b"\x00")
    if not stripped.endswith(b"\x80"):
        raise ChipError("the chip's encrypted answer is not padded as ISO/IEC 9797-1 method 2 says")
    return stripped[:-1]


def _cipher(algorithm: Algorithm, key: bytes, iv: bytes) -> Cipher[modes.CBC]:
    if algorithm is TDES:
        # two-key 3DES: K1 K2 K1
        return Cipher(TripleDES(key + key[:8]), modes.CBC(iv))
    return Cipher(algorithms.AES(key), modes.CBC(iv))


def _whole_blocks(data: bytes, algorithm: Algorithm, what: str) -> None:
    if len(data) % algorithm.block_size:
        raise ChipError(
            f"{what} of {len(data)} bytes is not whole {algorithm.block_size}-byte {algorithm.name} blocks"
        )


def encrypt(algorithm: Algorithm, key: bytes, data: bytes, iv: bytes | None = None) -> bytes:
    """CBC encryption of ``data`` (whole blocks) under ``key``; the IV is zeros unless given."""
    _whole_blocks(data, algorithm, "data to encrypt")
    encryptor = _cipher(algorithm, key, iv or bytes(algorithm.block_size)).encryptor()
    return encryptor.update(data) + encryptor.finalize()


def decrypt(algorithm: Algorithm, key: bytes, data: bytes, iv: bytes | None = None) -> bytes:
    """CBC decryption of ``data`` (whole blocks) under ``key``; the IV is zeros unless given."""
    _whole_blocks(data, algorithm, "a cryptogram")
    decryptor = _cipher(algorithm, key, iv or bytes(algorithm.block_size)).decryptor()
    return decryptor.update(data) + decryptor.finalize()


def mac(algorithm: Algorithm, key: bytes, data: bytes) -> bytes:
    """The 8-byte MAC of ``data`` under ``key``.

    3DES: ISO/IEC 9797-1 MAC algorithm 3 (the retail MAC: single-DES CBC with K1, then the last
    block decrypted with K2 and encrypted with K1) over ``data``, which must already be padded.
    AES: AES-CMAC, its first 8 bytes (CMAC pads a partial block itself).
    """
    if algorithm.is_aes:
        signer = cmac.CMAC(algorithms.AES(key))
        signer.update(data)
        return signer.finalize()[:8]
    _whole_blocks(data, algorithm, "data to MAC")
    k1, k2 = key[:8], key[8:16]
    # single DES is 3DES with one key three times
    chained = Cipher(TripleDES(k1 * 3), modes.CBC(bytes(8))).encryptor()
    last = (chained.update(data) + chained.finalize())[-8:]
    undone = Cipher(TripleDES(k2 * 3), modes.ECB()).decryptor().update(last)
    return Cipher(TripleDES(k1 * 3), modes.ECB()).encryptor().update(undone)
