"""Command and response APDUs (ISO/IEC 7816-4), and the one seam every layer talks through.

A :class:`Channel` exchanges one :class:`Command` for one :class:`Response`. The PC/SC reader
is a channel; secure messaging is a channel wrapped around another; the file reader only ever
sees a channel, so it reads the same way in the clear and under BAC or PACE.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from impostor.errors import ChipError

__all__ = [
    "Channel",
    "Command",
    "Response",
    "SW_OK",
    "SW_SECURITY_NOT_SATISFIED",
    "SW_FILE_NOT_FOUND",
    "SW_WRONG_LENGTH",
    "SW_END_OF_FILE",
]

SW_OK = 0x9000
SW_END_OF_FILE = 0x6282  # fewer bytes than asked for: the end of the file was reached
SW_WRONG_LENGTH = 0x6700
SW_SECURITY_NOT_SATISFIED = 0x6982
SW_FILE_NOT_FOUND = 0x6A82

SHORT_LIMIT = 256  # Lc up to 255, Le up to 256 in the short form
EXTENDED_LIMIT = 65536


@dataclass(frozen=True)
class Command:
    """One command APDU.

    ``le`` is the number of bytes expected back: ``None`` for none, 256 (short) or 65536
    (extended) for "as many as there are". The encoding picks the extended form only when
    ``data`` or ``le`` does not fit the short one, or when ``extended`` asks for it.
    """

    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes = b""
    le: int | None = None
    extended: bool = False

    def __post_init__(self) -> None:
        for name in ("cla", "ins", "p1", "p2"):
            value = getattr(self, name)
            if not 0 <= value <= 0xFF:
                raise ChipError(f"APDU {name} {value!r} is not one byte")
        if len(self.data) >= EXTENDED_LIMIT:
            raise ChipError(f"APDU data of {len(self.data)} bytes does not fit even an extended APDU")
        if self.le is not None and not 1 <= self.le <= EXTENDED_LIMIT:
            raise ChipError(f"APDU Le {self.le!r} is outside 1..65536")

    @property
    def needs_extended(self) -> bool:
        """Whether this command only fits the extended length form."""
        return (
            self.extended or len(self.data) >= SHORT_LIMIT or (self.le is not None and self.le > SHORT_LIMIT)
        )

    def to_bytes(self) -> bytes:
        """The command as sent to the card (cases 1-4, short or extended)."""
        header = bytes((self.cla, self.ins, self.p1, self.p2))
        if not self.needs_extended:
            body = b""
            if self.data:
                body += bytes((len(self.data),)) + self.data
            if self.le is not None:
                body += bytes((self.le % SHORT_LIMIT,))
            return header + body
        body = b""
        if self.data:
            body += b"\x00" + len(self.data).to_bytes(2, "big") + self.data
        if self.le is not None:
            le = (self.le % EXTENDED_LIMIT).to_bytes(2, "big")
            body += le if self.data else b"\x00" + le
        return header + body


@dataclass(frozen=True)
class Response:
    """One response APDU: its data field and its two status bytes as one number (0x9000 = OK)."""

    data: bytes
    sw: int

    @classmethod
    def from_bytes(cls, raw: bytes) -> Response:
        """Split a raw response into data and status word."""
        if len(raw) < 2:
            raise ChipError(f"the card answered {len(raw)} byte(s), fewer than a status word")
        return cls(data=bytes(raw[:-2]), sw=int.from_bytes(raw[-2:], "big"))

    def to_bytes(self) -> bytes:
        """The response as the card sends it."""
        return self.data + self.sw.to_bytes(2, "big")

    @property
    def ok(self) -> bool:
        """Whether the status word says the command succeeded (9000, or 6282 end of file)."""
        return self.sw in (SW_OK, SW_END_OF_FILE)


class Channel(Protocol):
    """Anything that sends a command to the card and returns its answer."""

    def exchange(self, command: Command) -> Response:
        """Send ``command``; return the card's response. Raises :class:`ChipError` subclasses."""
        ...
