"""PACE, password authenticated connection establishment (ICAO Doc 9303 part 11 §4.4).

The chip lists what it offers in EF.CardAccess (PACEInfo: a protocol OID naming the mapping and
the cipher, and a standardized domain parameter ID naming the curve). The terminal then runs, in
GENERAL AUTHENTICATE steps::

    1. the chip sends a nonce encrypted under K_pi = KDF(password, 3); the terminal decrypts it
    2. generic mapping: both send ephemeral keys, H = their ECDH point, G~ = s·G + H
    3. key agreement on the mapped generator G~: K = x(ECDH), KSenc/KSmac = KDF(K, 1 / 2)
    4. each sends a MAC over the other's public key (the authentication tokens) and checks the
       one it receives

A wrong password shows at step 4: the chip refuses the terminal's token, or its own token does not
check out. Implemented: ECDH generic mapping on the NIST and Brainpool curves of the standardized
table, with 3DES or AES-128/192/256; the password is the MRZ or the card access number. The
point arithmetic on a mapped generator is python-ecdsa's (``cryptography`` only knows named
generators); it is not constant-time, which matters little for keys used once and thrown away.
"""

from __future__ import annotations

import dataclasses
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from asn1crypto import core
from ecdsa import curves as ec_curves
from ecdsa.ellipticcurve import INFINITY, AbstractPoint, Point

from impostor.card.apdu import Channel, Command, Response
from impostor.card.keys import (
    AES128,
    AES192,
    AES256,
    KDF_PASSWORD,
    TDES,
    Algorithm,
    can_password,
    decrypt,
    derive_key,
    mac,
    mrz_password,
    pad,
    session_keys,
)
from impostor.card.sm import SecureChannel, data_objects, encode_tlv
from impostor.errors import AccessDenied, ChipError

__all__ = [
    "CURVES",
    "PaceInfo",
    "authentication_token",
    "choose_pace",
    "map_generator",
    "open_pace",
    "pace_infos",
    "random_scalar",
]

ID_PACE = "0.4.0.127.0.7.2.2.4"
MAPPINGS = {1: "DH-GM", 2: "ECDH-GM", 3: "DH-IM", 4: "ECDH-IM", 6: "ECDH-CAM"}
CIPHERS = {1: TDES, 2: AES128, 3: AES192, 4: AES256}
SUPPORTED_MAPPINGS = ("ECDH-GM",)

# Doc 9303 part 11 §9.5.1, standardized domain parameters: the elliptic-curve IDs
# (0-2 are RFC 5114 MODP groups for DH mapping, 3-7 and 19-31 reserved)
CURVES: dict[int, ec_curves.Curve] = {
    8: ec_curves.NIST192p,
    9: ec_curves.BRAINPOOLP192r1,
    10: ec_curves.NIST224p,
    11: ec_curves.BRAINPOOLP224r1,
    12: ec_curves.NIST256p,
    13: ec_curves.BRAINPOOLP256r1,
    14: ec_curves.BRAINPOOLP320r1,
    15: ec_curves.NIST384p,
    16: ec_curves.BRAINPOOLP384r1,
    17: ec_curves.BRAINPOOLP512r1,
    18: ec_curves.NIST521p,
}

PASSWORD_MRZ = 0x01
PASSWORD_CAN = 0x02
INS_MSE = 0x22
INS_GENERAL_AUTHENTICATE = 0x86
CLA_CHAINING = 0x10  # every GENERAL AUTHENTICATE but the last is "more to come"
TAG_DYNAMIC = 0x7C
TAG_NONCE = 0x80
TAG_MAP_IFD, TAG_MAP_IC = 0x81, 0x82
TAG_KEY_IFD, TAG_KEY_IC = 0x83, 0x84
TAG_TOKEN_IFD, TAG_TOKEN_IC = 0x85, 0x86
TAG_PUBLIC_KEY = 0x7F49
TAG_OID = 0x06
TAG_EC_POINT = 0x86
# answers that mean "wrong password" (or a password blocked after too many tries: 63C0, 6983)
REFUSALS = (0x6300, 0x6982, 0x6983, 0x6984)


@dataclass(frozen=True)
class PaceInfo:
    """One PACEInfo of EF.CardAccess: the protocol OID, what it names, and the domain parameters.

    ``mapping`` is ``"ECDH-GM"``, ``"DH-GM"``, ``"ECDH-IM"`` …; ``algorithm`` the secure messaging
    cipher suite; ``parameter_id`` the standardized domain parameter ID, or ``None`` when the file
    does not give one (then the chip holds its own parameters, which this reader cannot use).
    ``ambiguous`` says the file offers more than one set of domain parameters, so MSE:Set AT must
    name this one (§4.4.4.1; otherwise the standard leaves the ID out).
    """

    protocol: str
    version: int
    parameter_id: int | None
    mapping: str
    algorithm: Algorithm
    ambiguous: bool = False

    @property
    def supported(self) -> bool:
        """Whether :func:`open_pace` can run this one: ECDH generic mapping on a curve of the table."""
        return self.mapping in SUPPORTED_MAPPINGS and self.parameter_id in CURVES


class SecurityInfo(core.Sequence):
    """One SecurityInfo of EF.CardAccess or DG14 (Doc 9303 part 11 §9.2): a protocol and its data."""

    _fields = [
        ("protocol", core.ObjectIdentifier),
        ("required_data", core.Any),
        ("optional_data", core.Any, {"optional": True}),
    ]


class SecurityInfos(core.SetOf):
    """The SET OF SecurityInfo that EF.CardAccess, EF.CardSecurity and DG14 hold."""

    _child_spec = SecurityInfo


def pace_infos(card_access: bytes) -> tuple[PaceInfo, ...]:
    """Every PACEInfo in the bytes of EF.CardAccess (a DER SET OF SecurityInfo), in file order.

    SecurityInfos of other protocols (chip authentication, terminal authentication …) are skipped.
    Raises :class:`ChipError` when the file is not DER SecurityInfos.
    """
    try:
        infos = SecurityInfos.load(card_access, strict=True)
        found = []
        for info in infos:
            protocol = info["protocol"].dotted
            parts = protocol.split(".")
            if not protocol.startswith(ID_PACE + ".") or len(parts) != 11:
                continue
            mapping = MAPPINGS.get(int(parts[9]))
            algorithm = CIPHERS.get(int(parts[10]))
            if mapping is None or algorithm is None:
                continue
            version = int(info["required_data"].parse(core.Integer).native)
            optional = info["optional_data"]
            parameter_id = None
            if isinstance(optional, core.Any):  # absent, it is a Void
                parameter_id = int(optional.parse(core.Integer).native)
            found.append(PaceInfo(protocol, version, parameter_id, mapping, algorithm))
    except (ValueError, TypeError, KeyError) as error:
        raise ChipError(
            f"EF.CardAccess is not a list of SecurityInfos ({error}); the chip file is damaged"
        ) from error
    if len({info.parameter_id for info in found}) > 1:
        found = [dataclasses.replace(info, ambiguous=True) for info in found]
    return tuple(found)


def choose_pace(card_access: bytes) -> PaceInfo | None:
    """The first PACEInfo in EF.CardAccess that :func:`open_pace` can run, or ``None`` (then BAC)."""
    for info in pace_infos(card_access):
        if info.supported and info.version == 2:
            return info
    return None


def _field_bytes(curve: ec_curves.Curve) -> int:
    return (curve.curve.p().bit_length() + 7) // 8


def _encode_point(curve: ec_curves.Curve, point: AbstractPoint) -> bytes:
    size = _field_bytes(curve)
    return b"\x04" + int(point.x()).to_bytes(size, "big") + int(point.y()).to_bytes(size, "big")


def _decode_point(curve: ec_curves.Curve, data: bytes, whose: str) -> Point:
    size = _field_bytes(curve)
    if len(data) != 1 + 2 * size or data[0] != 0x04:
        raise ChipError(f"the chip's {whose} is not an uncompressed point on {curve.name}")
    x = int.from_bytes(data[1 : 1 + size], "big")
    y = int.from_bytes(data[1 + size :], "big")
    p = curve.curve.p()
    # a point off the curve would let a false chip learn our private key bit by bit
    if not (x < p and y < p and curve.curve.contains_point(x, y)):
        raise ChipError(f"the chip's {whose} is not a point on {curve.name}: refusing it")
    return Point(curve.curve, x, y, curve.order)


def map_generator(curve: ec_curves.Curve, nonce: bytes, shared: AbstractPoint) -> AbstractPoint:
    """Generic mapping (§4.4.3.3.1): the new generator G~ = s·G + H.

    ``nonce`` is the decrypted nonce s (as a big-endian number), ``shared`` the ECDH point H of
    the mapping keys. Raises :class:`ChipError` when G~ is the point at infinity.
    """
    mapped = int.from_bytes(nonce, "big") * curve.generator + shared
    if mapped == INFINITY:
        raise ChipError("PACE mapping gave the point at infinity: the chip's mapping key is forged")
    return mapped


def authentication_token(algorithm: Algorithm, mac_key: bytes, protocol: str, point: bytes) -> bytes:
    """The authentication token over the other side's ephemeral public key (§4.4.3.4).

    The MAC of the public key data object ``7F49 { 06 protocol OID, 86 point }`` under KSmac;
    3DES pads it first, AES-CMAC takes it as it is.
    """
    oid = core.ObjectIdentifier(protocol).dump()[2:]
    data = encode_tlv(TAG_PUBLIC_KEY, encode_tlv(TAG_OID, oid) + encode_tlv(TAG_EC_POINT, point))
    return mac(algorithm, mac_key, data if algorithm.is_aes else pad(data, algorithm.block_size))


def random_scalar(order: int) -> int:
    """A private key for a curve of ``order``: uniform in 1..order-1, from :mod:`secrets`."""
    return secrets.randbelow(order - 1) + 1


def _step(channel: Channel, inner: bytes, want: int, step: str, *, last: bool = False) -> bytes:
    command = Command(
        0x00 if last else CLA_CHAINING,
        INS_GENERAL_AUTHENTICATE,
        0x00,
        0x00,
        encode_tlv(TAG_DYNAMIC, inner),
        le=256,
    )
    answer = channel.exchange(command)
    if not answer.ok:
        raise _refused(answer, step)
    outer = data_objects(answer.data)
    if len(outer) != 1 or outer[0][0] != TAG_DYNAMIC:
        raise ChipError(f"the chip's answer to PACE {step} is not a dynamic authentication data object")
    for tag, value, _ in data_objects(outer[0][1]):
        if tag == want:
            return value
    raise ChipError(f"the chip's answer to PACE {step} lacks the data object {want:02X}")


def _refused(answer: Response, step: str) -> AccessDenied | ChipError:
    if answer.sw in REFUSALS or (answer.sw & 0xFFF0) == 0x63C0:
        return AccessDenied(
            f"the chip refused PACE at {step} (status {answer.sw:04X}): the MRZ or card access "
            "number given does not open this chip; check it and try again"
        )
    return ChipError(f"the chip answered PACE {step} with status {answer.sw:04X}, which PACE does not expect")


def open_pace(
    channel: Channel,
    info: PaceInfo,
    *,
    mrz_info: str | None = None,
    can: str | None = None,
    private_key: Callable[[int], int] = random_scalar,
) -> SecureChannel:
    """Run PACE on ``channel`` as ``info`` says; return the secure channel it opens.

    Give exactly one password: ``mrz_info`` (what :func:`impostor.card.keys.mrz_information`
    builds) or ``can``, the card access number. ``private_key(order)`` returns an ephemeral
    private key in 1..order-1; it is called for the mapping key, then the key agreement key
    (tests pass the worked example's). Raises :class:`AccessDenied` when the chip refuses the
    password or its token does not check out, :class:`ChipError` when ``info`` is not supported
    or the chip answers out of protocol, and whatever ``channel`` raises.
    """
    if (mrz_info is None) == (can is None):
        raise AccessDenied("PACE needs one password: the MRZ information or the card access number")
    if not info.supported or info.parameter_id is None:
        raise ChipError(
            f"PACE {info.mapping} with domain parameters {info.parameter_id} is not supported here; "
            "use BAC if the chip offers it"
        )
    curve = CURVES[info.parameter_id]
    algorithm = info.algorithm
    if mrz_info is not None:
        password, reference = mrz_password(mrz_info), PASSWORD_MRZ
    else:
        password, reference = can_password(can or ""), PASSWORD_CAN

    oid = core.ObjectIdentifier(info.protocol).dump()[2:]
    template = encode_tlv(0x80, oid) + encode_tlv(0x83, bytes((reference,)))
    if info.ambiguous:
        template += encode_tlv(0x84, bytes((info.parameter_id,)))
    answer = channel.exchange(Command(0x00, INS_MSE, 0xC1, 0xA4, template))
    if not answer.ok:
        raise _refused(answer, "MSE:Set AT")

    encrypted = _step(channel, b"", TAG_NONCE, "step 1 (nonce)")
    if not encrypted or len(encrypted) % algorithm.block_size:
        raise ChipError(f"the chip's encrypted PACE nonce is {len(encrypted)} bytes, not whole blocks")
    nonce = decrypt(algorithm, derive_key(password, KDF_PASSWORD, algorithm), encrypted)

    map_key = private_key(curve.order)
    map_public = _encode_point(curve, map_key * curve.generator)
    chip_map = _decode_point(
        curve,
        _step(channel, encode_tlv(TAG_MAP_IFD, map_public), TAG_MAP_IC, "step 2 (mapping)"),
        "mapping key",
    )
    generator = map_generator(curve, nonce, map_key * chip_map)

    agreement_key = private_key(curve.order)
    public = _encode_point(curve, agreement_key * generator)
    chip_public_bytes = _step(channel, encode_tlv(TAG_KEY_IFD, public), TAG_KEY_IC, "step 3 (key agreement)")
    chip_public = _decode_point(curve, chip_public_bytes, "ephemeral key")
    if chip_public_bytes == public:
        raise ChipError("the chip sent back our own PACE key: a reflection, not a chip")
    shared = agreement_key * chip_public
    if shared == INFINITY:
        raise ChipError("PACE key agreement gave the point at infinity: the chip's key is forged")
    secret = int(shared.x()).to_bytes(_field_bytes(curve), "big")
    keys = session_keys(secret, algorithm)

    token = authentication_token(algorithm, keys.mac, info.protocol, chip_public_bytes)
    chip_token = _step(channel, encode_tlv(TAG_TOKEN_IFD, token), TAG_TOKEN_IC, "step 4 (tokens)", last=True)
    expected = authentication_token(algorithm, keys.mac, info.protocol, public)
    if not hmac.compare_digest(chip_token, expected):
        raise AccessDenied(
            "the chip's PACE token does not check out: the password does not match this chip, or "
            "another device answered; check the MRZ or card access number and try again"
        )
    return SecureChannel(channel, keys)
