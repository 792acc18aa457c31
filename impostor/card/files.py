"""Reading an eMRTD's files (ICAO Doc 9303 part 10) through any :class:`~impostor.card.apdu.Channel`.

The same calls read in the clear and under BAC or PACE secure messaging: they only build
SELECT and READ BINARY commands and hand them to the channel. A file's length comes from its
first TLV bytes, and a file declaring more than ``max_size`` bytes is refused before the rest
is read, so a hostile chip cannot make the reader fill memory or read for minutes.
"""

from __future__ import annotations

from collections.abc import Callable

from impostor.card.apdu import (
    SW_FILE_NOT_FOUND,
    SW_SECURITY_NOT_SATISFIED,
    SW_WRONG_LENGTH,
    Channel,
    Command,
    Response,
)
from impostor.errors import AccessDenied, ChipError

__all__ = [
    "EMRTD_AID",
    "FIDS",
    "MAX_FILE_SIZE",
    "Progress",
    "read_card_access",
    "read_file",
    "read_optional",
    "select_application",
    "select_file",
]

EMRTD_AID = bytes.fromhex("A0000002471001")
# file identifiers (Doc 9303 part 10, section 3.6): EF.CardAccess lies in the master file and
# is read before the application is selected; the others lie in the eMRTD application
FIDS = {"EF.CardAccess": 0x011C, "EF.COM": 0x011E, "EF.SOD": 0x011D}
FIDS.update({f"DG{number}": 0x0100 + number for number in range(1, 17)})
MAX_FILE_SIZE = 1 << 20  # a DG2 is 15-60 KB; nothing on a chip comes near a megabyte
HEADER_BYTES = 8  # enough for a two-byte tag and a length of up to four bytes
# 0xDF plain bytes still fit one short response once secure messaging has padded them, added
# its tags and an 8-byte MAC; 0x0F00 under extended length is far below what a reader buffers
SHORT_CHUNK = 0xDF
EXTENDED_CHUNK = 0x0F00
LARGEST_PLAIN_OFFSET = 0x7FFF  # READ BINARY's P1-P2 offset has 15 bits; beyond, the odd INS B1
# file not found, incorrect data, wrong P1-P2: how chips say a file is not there
NOT_THERE = (SW_FILE_NOT_FOUND, 0x6A80, 0x6A86)

Progress = Callable[[int, int], None]
"""Called as ``progress(bytes_read, bytes_total)`` after each chunk of a file."""


def _status(response: Response, what: str) -> None:
    """Raise the error a status word means for ``what``; return when it says OK."""
    if response.ok:
        return
    if response.sw == SW_SECURITY_NOT_SATISFIED:
        raise AccessDenied(f"the chip refuses {what} without access control: give the MRZ or the CAN")
    if response.sw == SW_FILE_NOT_FOUND:
        raise ChipError(f"the chip has no file for {what}")
    raise ChipError(f"the chip answered {response.sw:04X} to {what}")


def select_application(channel: Channel) -> None:
    """Select the eMRTD application (AID A0000002471001). Raises :class:`ChipError` when the
    card is not a travel document's chip."""
    response = channel.exchange(Command(0x00, 0xA4, 0x04, 0x0C, EMRTD_AID))
    if response.sw == SW_FILE_NOT_FOUND:
        raise ChipError(
            "the card on the reader holds no travel document application: is it a passport or ID card?"
        )
    _status(response, "selecting the travel document application")


def select_file(channel: Channel, name: str) -> None:
    """Select the elementary file ``name`` (a key of :data:`FIDS`) in the current folder.
    Raises :class:`ChipError` when the chip has no such file, :class:`AccessDenied` when it
    wants access control first."""
    if name not in FIDS:
        raise ChipError(f"unknown chip file {name!r}: one of {', '.join(FIDS)}")
    response = channel.exchange(Command(0x00, 0xA4, 0x02, 0x0C, FIDS[name].to_bytes(2, "big")))
    _status(response, f"selecting {name}")


def _declared_length(header: bytes, name: str) -> int:
    """The total length of a file from its first TLV bytes (tag, length, value)."""
    if len(header) < 2:
        raise ChipError(f"{name} on the chip is {len(header)} byte(s) long: too short to be a file")
    position = 2 if header[0] & 0x1F == 0x1F else 1
    if position >= len(header):
        raise ChipError(f"{name} on the chip is cut off inside its first tag")
    first = header[position]
    if first < 0x80:
        return position + 1 + first
    size = first & 0x7F
    if not 1 <= size <= 4 or position + 1 + size > len(header):
        raise ChipError(f"{name} on the chip declares its length in a form no chip file uses")
    return position + 1 + size + int.from_bytes(header[position + 1 : position + 1 + size], "big")


def _read_binary(channel: Channel, offset: int, count: int, name: str) -> bytes | None:
    """``count`` bytes of the selected file from ``offset``; ``None`` when the card refuses
    that length (6700), so the caller can ask for less."""
    if offset <= LARGEST_PLAIN_OFFSET:
        command = Command(0x00, 0xB0, offset >> 8, offset & 0xFF, le=count)
    else:  # the offset travels in a data object 54 and the answer comes wrapped in a 53
        command = Command(0x00, 0xB1, 0x00, 0x00, b"\x54\x03" + offset.to_bytes(3, "big"), le=count + 4)
    response = channel.exchange(command)
    if response.sw == SW_WRONG_LENGTH:
        return None
    _status(response, f"reading {name}")
    if command.ins == 0xB0:
        return response.data
    data = response.data
    if len(data) < 2 or data[0] != 0x53:
        raise ChipError(
            f"the chip answered reading {name} beyond 32 KB without the 53 object around the data"
        )
    size = data[1] & 0x7F if data[1] & 0x80 else 0
    start = 2 + size
    length = int.from_bytes(data[2:start], "big") if size else data[1]
    return data[start : start + length]


def _read_selected(
    channel: Channel, name: str, extended: bool, max_size: int, progress: Progress | None
) -> bytes:
    header = _read_binary(channel, 0, HEADER_BYTES, name)
    if header is None:
        raise ChipError(f"the chip refused to read the first {HEADER_BYTES} bytes of {name}")
    total = _declared_length(header, name)
    if total > max_size:
        raise ChipError(
            f"{name} on the chip declares {total} bytes, more than the {max_size} any chip file needs: "
            "the chip is damaged or not a genuine travel document"
        )
    data = bytearray(header[:total])
    chunk = EXTENDED_CHUNK if extended else SHORT_CHUNK
    if progress:
        progress(len(data), total)
    while len(data) < total:
        piece = _read_binary(channel, len(data), min(chunk, total - len(data)), name)
        if piece is None:
            if chunk == SHORT_CHUNK:
                raise ChipError(f"the chip refused to read {name} in chunks of {chunk} bytes")
            chunk = SHORT_CHUNK  # the card takes no extended length after all
            continue
        if not piece:
            raise ChipError(f"{name} on the chip ends after {len(data)} of its {total} bytes")
        data += piece[: total - len(data)]
        if progress:
            progress(len(data), total)
    return bytes(data)


def read_file(
    channel: Channel,
    name: str,
    *,
    extended: bool = False,
    max_size: int = MAX_FILE_SIZE,
    progress: Progress | None = None,
) -> bytes:
    """The whole file ``name`` (a key of :data:`FIDS`) of the current application.

    Reads in chunks of 0xDF bytes, or of 0x0F00 when ``extended`` (give it only when reader and
    card both take extended-length APDUs; a card that answers 6700 is read in short chunks).
    Calls ``progress(read, total)`` after each chunk. Raises :class:`ChipError` for a file
    that is missing, declares more than ``max_size`` bytes, or ends before its declared
    length; :class:`AccessDenied` when the chip wants access control first; and whatever the
    channel raises (:class:`CardAbsent`, :class:`CardTimeout`).
    """
    select_file(channel, name)
    return _read_selected(channel, name, extended, max_size, progress)


def read_optional(
    channel: Channel,
    name: str,
    *,
    extended: bool = False,
    max_size: int = MAX_FILE_SIZE,
    progress: Progress | None = None,
) -> bytes | None:
    """Like :func:`read_file`, but ``None`` when the chip has no such file (DG14, DG15,
    EF.CardAccess …)."""
    if name not in FIDS:
        raise ChipError(f"unknown chip file {name!r}: one of {', '.join(FIDS)}")
    response = channel.exchange(Command(0x00, 0xA4, 0x02, 0x0C, FIDS[name].to_bytes(2, "big")))
    if response.sw in NOT_THERE:
        return None
    _status(response, f"selecting {name}")
    return _read_selected(channel, name, extended, max_size, progress)


def read_card_access(channel: Channel, max_size: int = 4096) -> bytes | None:
    """EF.CardAccess from the master file, read in the clear before the eMRTD application is
    selected; ``None`` when the chip has none (then it offers BAC only, not PACE)."""
    return read_optional(channel, "EF.CardAccess", max_size=max_size)
