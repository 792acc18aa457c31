"""Opening a passport's chip: PACE where EF.CardAccess offers it, else BAC (Doc 9303 part 11 §4.2).

The MRZ the OCR read may be wrong in a character or two; the OCR knows its doubtful characters
and offers alternative readings. :func:`open_chip` tries at most :data:`MAX_TRIES` of them, in
order, and then gives up with an :class:`AccessDenied` that says how many were tried, so the
officer types the three fields. Neither BAC nor PACE with the MRZ or the CAN counts failed tries
against the chip, so a few wrong tries never lock it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from impostor.card.apdu import Channel, Command
from impostor.card.bac import open_bac
from impostor.card.pace import choose_pace, open_pace, random_scalar
from impostor.card.sm import SecureChannel
from impostor.errors import AccessDenied, CardAbsent, CardTimeout, ChipError, NoReader

__all__ = ["EMRTD_AID", "MAX_TRIES", "open_chip", "select_emrtd"]

EMRTD_AID = bytes.fromhex("A0000002471001")
MAX_TRIES = 3


def select_emrtd(channel: Channel) -> None:
    """Select the eMRTD application (the LDS1 files) on ``channel``, in the clear or protected.

    Raises :class:`ChipError` when the card has no eMRTD application: it is not a passport chip.
    """
    answer = channel.exchange(Command(0x00, 0xA4, 0x04, 0x0C, EMRTD_AID))
    if not answer.ok:
        raise ChipError(
            f"the card refused to select the passport application (status {answer.sw:04X}): it is "
            "not an electronic travel document, or it lies badly on the reader"
        )


def open_chip(
    channel: Channel,
    *,
    mrz_candidates: Sequence[str] = (),
    can: str | None = None,
    card_access: bytes | None = None,
    random: Callable[[int], bytes] = os.urandom,
    private_key: Callable[[int], int] = random_scalar,
) -> SecureChannel:
    """Open the chip on ``channel`` and select its eMRTD application under secure messaging.

    ``mrz_candidates`` are MRZ information strings (:func:`impostor.card.keys.mrz_information`),
    the OCR's best reading first; only the first :data:`MAX_TRIES` are tried. ``can`` is the card
    access number, tried first when given (it only works with PACE). ``card_access`` is the
    content of EF.CardAccess, or ``None`` when the chip has none (then BAC). PACE runs when the
    file offers a PACEInfo this reader supports; if PACE fails for another reason than a wrong
    password, BAC is tried with the same readings. ``random`` and ``private_key`` are BAC's and
    PACE's randomness (tests pass fixed values).

    Raises :class:`AccessDenied` when no password opens the chip (the message says how many were
    tried), and what the channel raises (:class:`CardAbsent`, :class:`CardTimeout` …) at once.
    """
    candidates = list(mrz_candidates)[:MAX_TRIES]
    if not candidates and not can:
        raise AccessDenied("no MRZ and no card access number to open the chip with: read the page first")
    info = choose_pace(card_access) if card_access else None
    if info is not None:
        passwords: list[tuple[str | None, str | None]] = [(None, can)] if can else []
        passwords += [(candidate, None) for candidate in candidates]
        try:
            for mrz_info, password in passwords:
                try:
                    secure = open_pace(
                        channel, info, mrz_info=mrz_info, can=password, private_key=private_key
                    )
                except AccessDenied:
                    continue
                select_emrtd(secure)
                return secure
            raise AccessDenied(_none_opened("PACE", len(candidates), bool(can)))
        except (NoReader, CardAbsent, CardTimeout, AccessDenied):
            raise
        except ChipError:
            pass  # PACE itself failed, not a password: BAC may still open the chip
    if not candidates:
        raise AccessDenied(
            "a card access number only opens chips that offer PACE, and this one does not: "
            "give the MRZ (document number, birth date, expiry) instead"
        )
    select_emrtd(channel)
    for mrz_info in candidates:
        try:
            return open_bac(channel, mrz_info, random=random)
        except AccessDenied:
            continue
    raise AccessDenied(_none_opened("BAC", len(candidates), False))


def _none_opened(protocol: str, readings: int, can: bool) -> str:
    tried = [f"{readings} MRZ reading{'s' if readings != 1 else ''}"] if readings else []
    if can:
        tried.insert(0, "the card access number")
    return (
        f"{protocol} failed with each password tried ({' and '.join(tried)}): the chip accepted "
        "none; type or correct the document number, birth date and expiry (or the card access "
        "number) from the document and try again"
    )
