"""Is the chip genuine, not a copy? Chip and active authentication (ICAO Doc 9303 part 11 §6).

Passive authentication proves the files are the ones the issuer signed, but files copy: a clone
carries them byte for byte. Only a genuine chip holds the private key whose public half the
issuer signed into DG14 (chip authentication) or DG15 (active authentication):

- **active authentication** (DG15): the chip signs an 8-byte challenge of ours with INTERNAL
  AUTHENTICATE: RSA with ISO/IEC 9796-2 scheme 1 (message recovery), or ECDSA with a plain
  signature and the hash DG14's ActiveAuthenticationInfo names;
- **chip authentication** (DG14): an ECDH key agreement with the chip's static key gives new
  secure messaging keys (MSE:Set KAT for 3DES, MSE:Set AT and GENERAL AUTHENTICATE for AES);
  the chip is proven when the next protected exchange succeeds under them.

Either proves the chip holds the key of the DG14 or DG15 on it, which a clone made with its own
keys and its own DG14/DG15 does too. So a pass counts only after passive authentication passed
in full (hashes, signature and the chain to a trusted CSCA) with DG14/DG15 among the verified
groups: :func:`counted` says so. A failure is reported as it is.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable
from dataclasses import dataclass, replace

import ecdsa
from asn1crypto import core, keys
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_der_public_key
from ecdsa.util import sigdecode_der, sigdecode_string

from impostor.card.apdu import Channel, Command
from impostor.card.keys import AES128, AES192, AES256, TDES, Algorithm, session_keys
from impostor.card.pace import SecurityInfos, random_scalar
from impostor.card.sm import SecureChannel, encode_tlv
from impostor.document import sod, tlv
from impostor.errors import ChipError, DocumentError

__all__ = [
    "ACTIVE",
    "CHIP",
    "ChipCheck",
    "Dg14",
    "active_authenticate",
    "chip_authenticate",
    "counted",
    "read_dg14",
]

ACTIVE, CHIP = "active authentication", "chip authentication"
PASSED, FAILED, NOT_DONE, NOT_COUNTED = "passed", "failed", "not done", "not counted"
ID_PK_ECDH = "0.4.0.127.0.7.2.2.1.2"
ID_CA_ECDH = "0.4.0.127.0.7.2.2.3.2"  # .1 3DES, .2/.3/.4 AES-128/192/256
ID_AA = "2.23.136.1.1.5"
EC_PUBLIC_KEY = "1.2.840.10045.2.1"
CA_CIPHERS = {1: TDES, 2: AES128, 3: AES192, 4: AES256}
# the hash of an ECDSA active authentication, by the signature algorithm DG14 names: BSI
# TR-03111's plain signatures, and ANSI X9.62's
AA_HASHES = {
    "0.4.0.127.0.7.1.1.4.1.1": "sha1",
    "0.4.0.127.0.7.1.1.4.1.2": "sha224",
    "0.4.0.127.0.7.1.1.4.1.3": "sha256",
    "0.4.0.127.0.7.1.1.4.1.4": "sha384",
    "0.4.0.127.0.7.1.1.4.1.5": "sha512",
    "1.2.840.10045.4.1": "sha1",
    "1.2.840.10045.4.3.1": "sha224",
    "1.2.840.10045.4.3.2": "sha256",
    "1.2.840.10045.4.3.3": "sha384",
    "1.2.840.10045.4.3.4": "sha512",
}
# ISO/IEC 9796-2's trailer: BC is SHA-1 implied; xxCC names the hash (ISO/IEC 10118-3 numbers)
TRAILER_HASHES = {0x33: "sha1", 0x34: "sha256", 0x35: "sha512", 0x36: "sha384", 0x38: "sha224"}
CHALLENGE_LENGTH = 8


@dataclass(frozen=True)
class ChipCheck:
    """The outcome of chip or active authentication.

    ``status`` is ``passed``, ``failed``, ``not done`` (the chip offers no such protocol, or
    one this reader does not run) or ``not counted`` (it passed, but passive authentication did
    not, so the pass proves nothing: see :func:`counted`); ``detail`` says why.
    """

    name: str
    status: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        """The check as JSON-ready values."""
        return {"name": self.name, "status": self.status, "detail": self.detail}


@dataclass(frozen=True)
class Dg14:
    """What DG14 offers: chip authentication keys by key ID (``None`` when there is one key
    without an ID) as SubjectPublicKeyInfo bytes, the chip authentication protocol OIDs with
    their key IDs, and the signature algorithm OID of active authentication (``None``: not given)."""

    keys: dict[int | None, tuple[str, bytes]]
    protocols: tuple[tuple[str, int | None], ...]
    aa_algorithm: str | None


def read_dg14(dg14: bytes, label: str = "DG14") -> Dg14:
    """The chip and active authentication infos in DG14 (tag 6E, a SET OF SecurityInfo).

    Raises :class:`ChipError` when the file is not SecurityInfos.
    """
    found: dict[int | None, tuple[str, bytes]] = {}
    protocols: list[tuple[str, int | None]] = []
    aa_algorithm = None
    try:
        for info in SecurityInfos.load(tlv.one(dg14, 0x6E, label).value, strict=True):
            protocol = info["protocol"].dotted
            optional = info["optional_data"]
            if protocol.startswith("0.4.0.127.0.7.2.2.1."):  # ChipAuthenticationPublicKeyInfo
                key_id = int(optional.parse(core.Integer).native) if isinstance(optional, core.Any) else None
                found[key_id] = (protocol, info["required_data"].dump())
            elif protocol.startswith("0.4.0.127.0.7.2.2.3."):  # ChipAuthenticationInfo
                key_id = int(optional.parse(core.Integer).native) if isinstance(optional, core.Any) else None
                protocols.append((protocol, key_id))
            elif protocol == ID_AA and isinstance(optional, core.Any):
                aa_algorithm = optional.parse(core.ObjectIdentifier).dotted
    except (ValueError, TypeError, KeyError, DocumentError) as error:
        raise ChipError(
            f"{label} is not a list of SecurityInfos ({error}); the chip file is damaged"
        ) from None
    return Dg14(found, tuple(protocols), aa_algorithm)


def _verifying_key(spki: bytes, hashfunc: Callable[..., object] = hashlib.sha1) -> ecdsa.VerifyingKey:
    """An elliptic-curve public key from SubjectPublicKeyInfo bytes, named or explicit curve
    (BSI's early chips give the curve's parameters in full, which ``cryptography`` refuses).
    DG14 may name the algorithm id-PK-ECDH rather than id-ecPublicKey: read it as the latter."""
    info = keys.PublicKeyInfo.load(spki)
    if info["algorithm"]["algorithm"].dotted != EC_PUBLIC_KEY:
        info = keys.PublicKeyInfo(
            {
                "algorithm": {"algorithm": "ec", "parameters": info["algorithm"]["parameters"]},
                "public_key": info["public_key"],
            }
        )
        spki = info.dump()
    return ecdsa.VerifyingKey.from_der(spki, hashfunc=hashfunc)


def _recovers(public: rsa.RSAPublicKey, challenge: bytes, signature: bytes) -> str | None:
    """Why ``signature`` is no ISO/IEC 9796-2 scheme 1 signature over ``challenge`` (the
    message's unrecovered part); ``None`` when it is one."""
    numbers = public.public_numbers()
    size = (numbers.n.bit_length() + 7) // 8
    value = int.from_bytes(signature, "big")
    if not 0 < value < numbers.n:
        return "the signature is not a number below the key's modulus"
    recovered = pow(value, numbers.e, numbers.n)
    # the signer may send J^d or n - J^d, whichever is smaller (ISO/IEC 9796-2)
    for block in (recovered.to_bytes(size, "big"), (numbers.n - recovered).to_bytes(size, "big")):
        if block[-1] == 0xBC:
            algorithm, trailer = "sha1", 1
        elif block[-1] == 0xCC and block[-2] in TRAILER_HASHES:
            algorithm, trailer = TRAILER_HASHES[block[-2]], 2
        else:
            continue
        length = hashlib.new(algorithm).digest_size
        if block[0] != 0x6A or size < 1 + length + trailer:
            return "the recovered message does not open with 6A (partial recovery)"
        recovered_part = block[1 : size - trailer - length]
        digest = block[size - trailer - length : size - trailer]
        if hmac.compare_digest(hashlib.new(algorithm, recovered_part + challenge).digest(), digest):
            return None
        return f"the {algorithm.upper()} hash in the signature is not that of our challenge"
    return "the recovered message ends in no ISO/IEC 9796-2 trailer: the key does not match"


def _verifies(dg15: bytes, dg14: Dg14 | None, challenge: bytes, signature: bytes) -> str | None:
    """Why ``signature`` does not prove the key of ``dg15``; ``None`` when it does."""
    spki = tlv.one(dg15, 0x6F, "DG15").value
    try:
        public = load_der_public_key(spki)
    except (ValueError, TypeError):
        public = None  # an elliptic curve given by its parameters: python-ecdsa reads those
    if isinstance(public, rsa.RSAPublicKey):
        return _recovers(public, challenge, signature)
    algorithm = dg14.aa_algorithm if dg14 else None
    if algorithm not in AA_HASHES:
        return "DG14 names no hash for an ECDSA active authentication (ActiveAuthenticationInfo)"
    hashfunc = getattr(hashlib, AA_HASHES[algorithm])
    try:
        key = _verifying_key(spki, hashfunc)
    except (ValueError, ecdsa.der.UnexpectedDER, ecdsa.MalformedPointError) as error:
        return f"DG15's public key is neither RSA nor a readable elliptic-curve key ({error})"
    plain = len(signature) == 2 * key.curve.baselen
    try:
        key.verify(signature, challenge, hashfunc, sigdecode=sigdecode_string if plain else sigdecode_der)
    except (ecdsa.BadSignatureError, ecdsa.der.UnexpectedDER, AssertionError):
        return "the ECDSA signature does not verify with DG15's key"
    return None


def active_authenticate(
    channel: Channel,
    dg15: bytes,
    dg14: bytes | None = None,
    *,
    random: Callable[[int], bytes] = os.urandom,
) -> ChipCheck:
    """Active authentication: the chip signs a random 8-byte challenge with the private key of
    the public key in ``dg15``; ``dg14`` names the hash of an ECDSA key.

    Returns the raw outcome (``passed`` or ``failed``); :func:`counted` decides whether it
    counts. Raises what ``channel`` raises (:class:`CardAbsent` …), and :class:`ChipError` when
    DG15 or DG14 cannot be read.
    """
    try:
        infos = read_dg14(dg14) if dg14 is not None else None
        tlv.one(dg15, 0x6F, "DG15")
    except DocumentError as error:
        raise ChipError(f"DG15 cannot be read ({error}); the chip file is damaged") from None
    challenge = random(CHALLENGE_LENGTH)
    answer = channel.exchange(Command(0x00, 0x88, 0x00, 0x00, challenge, le=256))
    if not answer.ok or not answer.data:
        return ChipCheck(ACTIVE, FAILED, f"the chip refused to sign our challenge (status {answer.sw:04X})")
    reason = _verifies(dg15, infos, challenge, answer.data)
    if reason is not None:
        return ChipCheck(ACTIVE, FAILED, f"{reason}: this chip does not hold DG15's private key (a clone?)")
    return ChipCheck(
        ACTIVE, PASSED, "the chip signed our challenge with the private key of DG15's public key"
    )


def _ca_protocol(infos: Dg14) -> tuple[str, Algorithm, int | None, bytes] | None:
    """The first ECDH chip authentication this reader runs: its protocol OID, cipher, key ID
    and the key's SubjectPublicKeyInfo; ``None`` when DG14 offers none."""
    offered = list(infos.protocols)
    if not offered and len(infos.keys) == 1:  # no ChipAuthenticationInfo: 3DES (Doc 9303 §9.2.5)
        offered = [(ID_CA_ECDH + ".1", next(iter(infos.keys)))]
    for protocol, key_id in offered:
        cipher = CA_CIPHERS.get(int(protocol.rsplit(".", 1)[1]))
        if not protocol.startswith(ID_CA_ECDH + ".") or cipher is None:
            continue
        key = infos.keys.get(key_id)
        if key is None and len(infos.keys) == 1:  # one key: the info need not name it
            key = next(iter(infos.keys.values()))
        if key is not None and key[0] == ID_PK_ECDH:
            return protocol, cipher, key_id, key[1]
    return None


def chip_authenticate(
    channel: SecureChannel, dg14: bytes, *, private_key: Callable[[int], int] = random_scalar
) -> tuple[ChipCheck, SecureChannel]:
    """Chip authentication with the chip's static ECDH key in ``dg14``, on the open session.

    Returns the outcome and the channel to go on with: the new session when the chip answered
    under the new keys, else ``channel`` (which may be broken after a failure). Raises what the
    reader raises (:class:`CardAbsent` …) and :class:`ChipError` when DG14 cannot be read.
    """
    chosen = _ca_protocol(read_dg14(dg14))
    if chosen is None:
        return ChipCheck(CHIP, NOT_DONE, "DG14 offers no ECDH chip authentication this reader runs"), channel
    protocol, algorithm, key_id, spki = chosen
    try:
        chip_key = _verifying_key(spki)
    except (ValueError, ecdsa.der.UnexpectedDER, ecdsa.MalformedPointError) as error:
        raise ChipError(f"DG14's chip authentication key cannot be read ({error})") from None
    mine = ecdsa.SigningKey.from_secret_exponent(private_key(chip_key.curve.order), chip_key.curve)
    public = mine.get_verifying_key().to_string("uncompressed")
    secret = ecdsa.ECDH(chip_key.curve, mine, chip_key).generate_sharedsecret_bytes()
    reference = b""
    if key_id is not None:  # a chip with several keys must be told which one
        reference = encode_tlv(0x84, key_id.to_bytes(max(1, (key_id.bit_length() + 7) // 8), "big"))
    if algorithm is TDES:
        answer = channel.exchange(Command(0x00, 0x22, 0x41, 0xA6, encode_tlv(0x91, public) + reference))
    else:
        oid = core.ObjectIdentifier(protocol).dump()[2:]
        answer = channel.exchange(Command(0x00, 0x22, 0x41, 0xA4, encode_tlv(0x80, oid) + reference))
        if answer.ok:
            step = encode_tlv(0x7C, encode_tlv(0x80, public))
            answer = channel.exchange(Command(0x00, 0x86, 0x00, 0x00, step, le=256))
    if not answer.ok:
        return ChipCheck(
            CHIP, FAILED, f"the chip refused chip authentication (status {answer.sw:04X})"
        ), channel
    fresh = SecureChannel(channel.inner, session_keys(secret, algorithm))
    try:  # the proof: the chip answers under keys only DG14's private key could give it
        proof = fresh.exchange(Command(0x00, 0xA4, 0x02, 0x0C, b"\x01\x1e"))
    except ChipError as error:
        if type(error) is not ChipError:
            raise  # the card went away, or the reader stopped: not the chip's answer
        return ChipCheck(
            CHIP, FAILED, "the chip did not answer under the agreed keys: it does not hold DG14's private key"
        ), channel
    if not proof.ok:  # 6987/6988: our command's MAC did not check out under the chip's keys
        return ChipCheck(
            CHIP,
            FAILED,
            f"the chip refused the first command under the agreed keys (status {proof.sw:04X}): "
            "it does not hold DG14's private key",
        ), fresh
    return ChipCheck(
        CHIP, PASSED, f"ECDH with DG14's key, {algorithm.name} secure messaging from now on"
    ), fresh


def counted(check: ChipCheck, passive: sod.Authentication | None, group: int) -> ChipCheck:
    """``check`` as it counts: a pass stays a pass only when passive authentication passed in
    full (no step failed or not done) and data group ``group`` (14 or 15) is among the verified
    ones; otherwise it is ``not counted``, because a cloned chip with its own keys passes too.
    A failure or a check not done is returned as it is."""
    if check.status != PASSED:
        return check
    if passive is None:
        why = "the chip has no EF.SOD"
    elif not passive.verified(group):
        why = f"DG{group} is not among the groups EF.SOD verifies"
    else:
        undone = [f"{step.name} {step.status}" for step in passive.steps if step.status != sod.PASSED]
        if not undone:
            return check
        why = ", ".join(undone)
    return replace(
        check,
        status=NOT_COUNTED,
        detail=f"not counted: passive authentication did not pass ({why}); a cloned chip with keys "
        f"of its own passes {check.name} too",
    )
