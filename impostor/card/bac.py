"""Basic access control (ICAO Doc 9303 part 11 §4.3): opening a chip with its MRZ.

The terminal proves it read the MRZ: both sides derive Kenc and Kmac from the document number,
birth date and expiry (with their check digits), exchange nonces and key halves encrypted and
MACed under them (GET CHALLENGE, then EXTERNAL AUTHENTICATE), and derive the session keys of
3DES secure messaging from the two key halves. Appendix D of part 11 walks through one run.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable
from dataclasses import dataclass, field

from impostor.card.apdu import Channel, Command, Response
from impostor.card.keys import (
    KDF_ENC,
    KDF_MAC,
    TDES,
    SessionKeys,
    decrypt,
    derive_key,
    encrypt,
    mac,
    mrz_password,
    pad,
    session_keys,
)
from impostor.card.sm import SecureChannel
from impostor.errors import AccessDenied, ChipError

__all__ = ["BacKeys", "bac_keys", "open_bac", "session_from_answer"]

INS_GET_CHALLENGE = 0x84
INS_EXTERNAL_AUTHENTICATE = 0x82
NONCE_LENGTH = 8
KEY_HALF_LENGTH = 16
# what chips answer a wrong MRZ with: authentication failed (6300), security status not
# satisfied (6982), or BAC's own "conditions of use" refusal (6985); 6A80/6A88 also occur, and
# 6988 (our cryptogram's MAC did not check out under the card's keys: vicc, some real chips)
REFUSALS = (0x6300, 0x6982, 0x6985, 0x6988, 0x6A80, 0x6A88)


@dataclass(frozen=True)
class BacKeys:
    """The document basic access keys: the seed from the MRZ and the two 3DES keys made from it."""

    seed: bytes = field(repr=False)  # the MRZ's keys open the chip: kept out of logs
    enc: bytes = field(repr=False)
    mac: bytes = field(repr=False)


def bac_keys(mrz_info: str) -> BacKeys:
    """Kseed (the first 16 bytes of SHA-1 of the MRZ information), Kenc and Kmac.

    ``mrz_info`` is what :func:`impostor.card.keys.mrz_information` builds.
    """
    seed = mrz_password(mrz_info)[:16]
    return BacKeys(seed, derive_key(seed, KDF_ENC, TDES), derive_key(seed, KDF_MAC, TDES))


def _refused(response: Response, step: str) -> AccessDenied | ChipError:
    if response.sw in REFUSALS or (response.sw & 0xFFF0) == 0x63C0:
        return AccessDenied(
            f"the chip refused BAC at {step} (status {response.sw:04X}): the document number, birth "
            "date or expiry does not match this chip; check the MRZ fields and try again"
        )
    return ChipError(f"the chip answered {step} with status {response.sw:04X}, which BAC does not expect")


def open_bac(
    channel: Channel, mrz_info: str, *, random: Callable[[int], bytes] = os.urandom
) -> SecureChannel:
    """Run BAC on ``channel`` with the keys of ``mrz_info``; return the secure channel it opens.

    ``random(n)`` gives n random bytes: the terminal's nonce RND.IFD, then its key half K.IFD
    (tests pass the worked example's). Raises :class:`AccessDenied` when the chip refuses the
    keys or its answer does not check out under them (the MRZ is wrong), :class:`ChipError` when
    it answers out of protocol, and whatever ``channel`` raises.
    """
    keys = bac_keys(mrz_info)
    challenge = channel.exchange(Command(0x00, INS_GET_CHALLENGE, 0x00, 0x00, le=NONCE_LENGTH))
    if not challenge.ok:
        raise _refused(challenge, "GET CHALLENGE")
    rnd_ic = challenge.data
    if len(rnd_ic) != NONCE_LENGTH:
        raise ChipError(
            f"the chip's challenge is {len(rnd_ic)} bytes, not {NONCE_LENGTH}: it does not do BAC"
        )
    rnd_ifd = random(NONCE_LENGTH)
    k_ifd = random(KEY_HALF_LENGTH)
    e_ifd = encrypt(TDES, keys.enc, rnd_ifd + rnd_ic + k_ifd)
    m_ifd = mac(TDES, keys.mac, pad(e_ifd, TDES.block_size))
    answer = channel.exchange(
        Command(0x00, INS_EXTERNAL_AUTHENTICATE, 0x00, 0x00, e_ifd + m_ifd, le=len(e_ifd) + len(m_ifd))
    )
    if not answer.ok:
        raise _refused(answer, "EXTERNAL AUTHENTICATE")
    session = session_from_answer(keys, rnd_ifd, rnd_ic, k_ifd, answer.data)
    return SecureChannel(channel, session)


def session_from_answer(
    keys: BacKeys, rnd_ifd: bytes, rnd_ic: bytes, k_ifd: bytes, answer: bytes
) -> SessionKeys:
    """The session keys and starting SSC from the chip's answer to EXTERNAL AUTHENTICATE.

    ``answer`` is E.IC || M.IC (40 bytes). Raises :class:`AccessDenied` when its MAC or the nonces
    inside do not match: the chip holds other keys, so the MRZ used is not this chip's.
    """
    if len(answer) != 40:
        raise ChipError(f"the chip's EXTERNAL AUTHENTICATE answer is {len(answer)} bytes, not 40")
    e_ic, m_ic = answer[:32], answer[32:]
    if not hmac.compare_digest(mac(TDES, keys.mac, pad(e_ic, TDES.block_size)), m_ic):
        raise AccessDenied(
            "the chip's BAC answer does not carry the MAC of these MRZ keys: the document number, "
            "birth date or expiry does not match this chip"
        )
    plain = decrypt(TDES, keys.enc, e_ic)
    if not hmac.compare_digest(plain[:8], rnd_ic) or not hmac.compare_digest(plain[8:16], rnd_ifd):
        raise AccessDenied(
            "the chip's BAC answer does not return our nonces: it is not answering this session"
        )
    k_ic = plain[16:32]
    seed = bytes(a ^ b for a, b in zip(k_ifd, k_ic, strict=True))
    return session_keys(seed, TDES, ssc=rnd_ic[4:] + rnd_ifd[4:])
