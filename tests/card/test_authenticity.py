"""Active and chip authentication (Doc 9303 part 11 §6) against chips simulated here with keys
made here: vicc's INTERNAL AUTHENTICATE is a PyCrypto call PyCryptodome lacks (the launcher in
``virtual`` replaces it; see test_passport) and its ePass has no chip authentication. The chip's
side signs and agrees keys with ``cryptography``; the reader's side verifies with its own code."""

from __future__ import annotations

import hashlib
import os

import pytest
from asn1crypto import core
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from impostor.card import authenticity
from impostor.card.apdu import Command, Response
from impostor.card.keys import (
    AES128,
    AES192,
    AES256,
    TDES,
    Algorithm,
    SessionKeys,
    decrypt,
    encrypt,
    mac,
    pad,
    session_keys,
    unpad,
)
from impostor.card.sm import SecureChannel, data_objects, encode_tlv
from impostor.document import sod
from tests.card import virtual
from tests.document.signing import authority, security_object


def _spki(public: rsa.RSAPublicKey | ec.EllipticCurvePublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _dg15(public: rsa.RSAPublicKey | ec.EllipticCurvePublicKey) -> bytes:
    return virtual._tlv(0x6F, _spki(public))


def _dg14(infos: list[bytes]) -> bytes:
    return virtual._tlv(0x6E, virtual._tlv(0x31, b"".join(infos)))


def _aa_info(algorithm: str) -> bytes:
    body = core.ObjectIdentifier(authenticity.ID_AA).dump() + core.Integer(1).dump()
    return virtual._tlv(0x30, body + core.ObjectIdentifier(algorithm).dump())


class SigningChip:
    """A chip that answers INTERNAL AUTHENTICATE, signing as Doc 9303 part 11 §6.1 says."""

    def __init__(self, key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, trailer: bytes = b"\xbc") -> None:
        self.key = key
        self.trailer = trailer

    def exchange(self, command: Command) -> Response:
        assert command.ins == 0x88 and len(command.data) == 8
        if isinstance(self.key, ec.EllipticCurvePrivateKey):
            r, s = decode_dss_signature(self.key.sign(command.data, ec.ECDSA(hashes.SHA256())))
            size = (self.key.curve.key_size + 7) // 8
            return Response(r.to_bytes(size, "big") + s.to_bytes(size, "big"), 0x9000)
        numbers = self.key.private_numbers()
        n, size = numbers.public_numbers.n, (self.key.key_size + 7) // 8
        digest = hashlib.sha1 if self.trailer == b"\xbc" else hashlib.sha256
        recovered = os.urandom(size - 1 - digest().digest_size - len(self.trailer))
        block = b"\x6a" + recovered + digest(recovered + command.data).digest() + self.trailer
        signature = pow(int.from_bytes(block, "big"), numbers.d, n)
        return Response(min(signature, n - signature).to_bytes(size, "big"), 0x9000)


@pytest.mark.parametrize("trailer", [b"\xbc", b"\x34\xcc"], ids=["sha1-bc", "sha256-34cc"])
def test_active_authentication_with_rsa_message_recovery(trailer: bytes) -> None:
    key = rsa.generate_private_key(65537, 1024)
    check = authenticity.active_authenticate(SigningChip(key, trailer), _dg15(key.public_key()))
    assert check.status == "passed", check.detail
    clone = rsa.generate_private_key(65537, 1024)  # the files copied, the key its own
    check = authenticity.active_authenticate(SigningChip(clone, trailer), _dg15(key.public_key()))
    assert check.status == "failed" and "clone" in check.detail


def test_active_authentication_with_ecdsa_and_the_hash_dg14_names() -> None:
    key = ec.generate_private_key(ec.BrainpoolP256R1())
    dg14 = _dg14([_aa_info("0.4.0.127.0.7.1.1.4.1.3")])  # ecdsa-plain-SHA256
    check = authenticity.active_authenticate(SigningChip(key), _dg15(key.public_key()), dg14)
    assert check.status == "passed", check.detail
    other = ec.generate_private_key(ec.BrainpoolP256R1())
    assert (
        authenticity.active_authenticate(SigningChip(other), _dg15(key.public_key()), dg14).status == "failed"
    )
    no_hash = authenticity.active_authenticate(SigningChip(key), _dg15(key.public_key()))
    assert no_hash.status == "failed" and "names no hash" in no_hash.detail


def test_a_pass_counts_only_after_passive_authentication_passed_in_full(face_jpeg: bytes) -> None:
    key = rsa.generate_private_key(65537, 1024)
    passport = virtual.personalise(face_jpeg)
    assert passport.csca is not None and passport.signer is not None
    dg15 = _dg15(key.public_key())
    groups = {1: passport.files["DG1"], 2: passport.files["DG2"], 15: dg15}
    check = authenticity.active_authenticate(SigningChip(key), dg15)
    genuine = sod.authenticate(
        security_object(groups, passport.signer), groups, csca=[passport.csca.certificate]
    )
    assert authenticity.counted(check, genuine, 15).status == "passed"
    # a clone with its own keys, its own DG15 and an EF.SOD of its own making: AA passes, PA does not
    forger = authority("Forger's CSCA")
    forged = security_object(groups, authority("Forger's signer", forger))
    cloned = sod.authenticate(forged, groups, csca=[passport.csca.certificate])
    result = authenticity.counted(check, cloned, 15)
    assert result.status == "not counted" and result.detail.startswith("not counted: passive authentication")
    # the chain not checked, or DG15 not among the signed groups: not counted either
    unchained = sod.authenticate(security_object(groups, passport.signer), groups)
    assert authenticity.counted(check, unchained, 15).status == "not counted"
    unsigned = {1: groups[1], 2: groups[2]}
    partial = sod.authenticate(
        security_object(unsigned, passport.signer), groups, csca=[passport.csca.certificate]
    )
    assert "DG15" in authenticity.counted(check, partial, 15).detail
    # a failure is reported as it is
    failed = authenticity.active_authenticate(SigningChip(rsa.generate_private_key(65537, 1024)), dg15)
    assert authenticity.counted(failed, unchained, 15).status == "failed"


def test_dg14_is_read_for_its_chip_authentication_keys_and_infos() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    public_key_info = virtual._tlv(
        0x30,
        core.ObjectIdentifier(authenticity.ID_PK_ECDH).dump()
        + _spki(key.public_key())
        + core.Integer(7).dump(),
    )
    ca_info = virtual._tlv(
        0x30,
        core.ObjectIdentifier(authenticity.ID_CA_ECDH + ".2").dump()
        + core.Integer(1).dump()
        + core.Integer(7).dump(),
    )
    infos = authenticity.read_dg14(_dg14([public_key_info, ca_info, _aa_info("1.2.840.10045.4.3.2")]))
    assert set(infos.keys) == {7} and infos.protocols == ((authenticity.ID_CA_ECDH + ".2", 7),)
    assert infos.aa_algorithm == "1.2.840.10045.4.3.2"


class ChipUnderSecureMessaging:
    """A chip's side of secure messaging and chip authentication: it unwraps each command with
    its keys, answers SELECT, MSE and GENERAL AUTHENTICATE, and after chip authentication
    switches to keys agreed with its own static key (``cryptography``'s ECDH)."""

    def __init__(self, keys: SessionKeys, static: ec.EllipticCurvePrivateKey) -> None:
        self.keys = keys
        self.ssc = int.from_bytes(keys.ssc, "big")
        self.static = static
        self.pending: SessionKeys | None = None
        self.algorithm = keys.algorithm

    def _mac(self, ssc: bytes, message: bytes) -> bytes:
        return mac(self.keys.algorithm, self.keys.mac, pad(ssc + message, self.keys.algorithm.block_size))

    def _ssc(self) -> bytes:
        self.ssc += 1
        return self.ssc.to_bytes(self.keys.algorithm.block_size, "big")

    def _iv(self, ssc: bytes) -> bytes | None:
        return encrypt(self.keys.algorithm, self.keys.enc, ssc) if self.keys.algorithm.is_aes else None

    def _agree(self, point: bytes, algorithm: Algorithm) -> None:
        public = ec.EllipticCurvePublicKey.from_encoded_point(self.static.curve, point)
        self.pending = session_keys(self.static.exchange(ec.ECDH(), public), algorithm)

    def _answer(self, command: Command, data: bytes) -> tuple[bytes, int]:
        if command.ins == 0xA4:
            return b"", 0x9000
        objects = {tag: value for tag, value, _ in data_objects(data)}
        if command.ins == 0x22 and command.p2 == 0xA6:  # MSE:Set KAT: 3DES chip authentication
            self._agree(objects[0x91], TDES)
        elif command.ins == 0x22 and command.p2 == 0xA4:  # MSE:Set AT: AES, the key comes next
            self.algorithm = {b"\x02": AES128, b"\x03": AES192, b"\x04": AES256}[objects[0x80][-1:]]
        elif command.ins == 0x86:
            self._agree(dict((t, v) for t, v, _ in data_objects(objects[0x7C]))[0x80], self.algorithm)
            return b"\x7c\x00", 0x9000
        else:
            return b"", 0x6D00
        return b"", 0x9000

    def exchange(self, command: Command) -> Response:
        block = self.keys.algorithm.block_size
        ssc = self._ssc()
        found = data_objects(command.data)
        covered = b"".join(raw for tag, _, raw in found if tag != 0x8E)
        header = pad(bytes((command.cla, command.ins, command.p1, command.p2)), block)
        if self._mac(ssc, header + covered) != dict((t, v) for t, v, _ in found)[0x8E]:
            return Response(b"", 0x6988)  # not our keys: the terminal's, or a clone's
        cryptogram = dict((t, v) for t, v, _ in found).get(0x87, b"\x01")[1:]
        plain = (
            unpad(decrypt(self.keys.algorithm, self.keys.enc, cryptogram, self._iv(ssc)))
            if cryptogram
            else b""
        )
        data, sw = self._answer(command, plain)
        ssc = self._ssc()
        body = b""
        if data:
            body += encode_tlv(
                0x87, b"\x01" + encrypt(self.keys.algorithm, self.keys.enc, pad(data, block), self._iv(ssc))
            )
        body += encode_tlv(0x99, sw.to_bytes(2, "big"))
        answer = Response(body + encode_tlv(0x8E, self._mac(ssc, body)), 0x9000)
        if self.pending is not None:  # the answer goes under the old keys, what follows under the new
            self.keys, self.pending = self.pending, None
            self.ssc = 0
        return answer


def _ca_dg14(public: ec.EllipticCurvePublicKey, cipher: int | None) -> bytes:
    key_info = virtual._tlv(0x30, core.ObjectIdentifier(authenticity.ID_PK_ECDH).dump() + _spki(public))
    infos = [key_info]
    if cipher is not None:
        oid = core.ObjectIdentifier(f"{authenticity.ID_CA_ECDH}.{cipher}").dump()
        infos.append(virtual._tlv(0x30, oid + core.Integer(1).dump()))
    return _dg14(infos)


@pytest.mark.parametrize(
    ("cipher", "curve"),
    [(None, ec.SECP256R1()), (1, ec.BrainpoolP256R1()), (2, ec.SECP256R1()), (4, ec.BrainpoolP384R1())],
    ids=["3des-no-info", "3des", "aes128", "aes256"],
)
def test_chip_authentication_agrees_new_keys_with_the_chips_static_key(
    cipher: int | None, curve: ec.EllipticCurve
) -> None:
    bac = session_keys(os.urandom(16), TDES, ssc=os.urandom(8))
    static = ec.generate_private_key(curve)
    dg14 = _ca_dg14(static.public_key(), cipher)
    chip = ChipUnderSecureMessaging(bac, static)
    check, fresh = authenticity.chip_authenticate(SecureChannel(chip, bac), dg14)
    assert check.status == "passed", check.detail
    assert fresh.keys.algorithm is chip.keys.algorithm is {None: TDES, 1: TDES, 2: AES128, 4: AES256}[cipher]
    assert fresh.exchange(Command(0x00, 0xA4, 0x02, 0x0C, b"\x01\x01")).ok  # reading goes on under them
    # a clone: DG14 copied, the static key its own
    clone = ChipUnderSecureMessaging(bac, ec.generate_private_key(curve))
    check, _ = authenticity.chip_authenticate(SecureChannel(clone, bac), dg14)
    assert check.status == "failed" and "private key" in check.detail


def test_a_chip_authentication_pass_counts_only_after_passive_authentication(face_jpeg: bytes) -> None:
    bac = session_keys(os.urandom(16), TDES, ssc=os.urandom(8))
    static = ec.generate_private_key(ec.SECP256R1())
    dg14 = _ca_dg14(static.public_key(), 2)
    check, _ = authenticity.chip_authenticate(SecureChannel(ChipUnderSecureMessaging(bac, static), bac), dg14)
    passport = virtual.personalise(face_jpeg)
    assert passport.csca is not None and passport.signer is not None
    groups = {1: passport.files["DG1"], 2: passport.files["DG2"], 14: dg14}
    genuine = sod.authenticate(
        security_object(groups, passport.signer), groups, csca=[passport.csca.certificate]
    )
    assert authenticity.counted(check, genuine, 14).status == "passed"
    forged = sod.authenticate(
        security_object(groups, authority("DS", authority("Forger"))),
        groups,
        csca=[passport.csca.certificate],
    )
    assert authenticity.counted(check, forged, 14).status == "not counted"
