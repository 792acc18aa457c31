"""Secure messaging (ICAO Doc 9303 part 11 §9.8): a channel that encrypts and MACs every APDU.

After BAC or PACE every command goes to the chip wrapped and every answer comes back wrapped::

    command   CLA|0C INS P1 P2  [DO'87' 01||E(data) | DO'85' E(data)]  [DO'97' Le]  DO'8E' MAC
    response  [DO'87' 01||E(data) | DO'85' E(data)]  DO'99' SW  DO'8E' MAC  SW

The MAC covers the send sequence counter (SSC) and everything before DO'8E'; the SSC goes up by
one for each command and each response, so a replayed, reordered or relayed-and-altered answer
fails its MAC. 3DES uses a zero IV and the retail MAC; AES encrypts each message with
IV = E(KSenc, SSC) and MACs with AES-CMAC cut to 8 bytes.
"""

from __future__ import annotations

import hmac

from impostor.card.apdu import Channel, Command, Response
from impostor.card.keys import SessionKeys, decrypt, encrypt, mac, pad, unpad
from impostor.errors import ChipError

__all__ = ["SecureChannel", "data_objects", "encode_tlv"]

SM_CLA_BITS = 0x0C  # ISO/IEC 7816-4: "proprietary SM, header authenticated"
TAG_ENCRYPTED_PADDED = 0x87  # padding indicator byte, then the cryptogram (even INS)
TAG_ENCRYPTED = 0x85  # the cryptogram alone (odd INS, whose data is BER-TLV already)
TAG_LE = 0x97
TAG_STATUS = 0x99
TAG_MAC = 0x8E
PADDING_INDICATOR = 0x01  # "padded as ISO/IEC 9797-1 method 2"


def _length(size: int) -> bytes:
    if size < 0x80:
        return bytes((size,))
    octets = (size.bit_length() + 7) // 8
    return bytes((0x80 | octets,)) + size.to_bytes(octets, "big")


def encode_tlv(tag: int, value: bytes) -> bytes:
    """One BER-TLV data object: ``tag`` as its bytes read as a number (``0x87``, ``0x7F49``), the
    length in the short or long form, then ``value``."""
    return tag.to_bytes(max(1, (tag.bit_length() + 7) // 8), "big") + _length(len(value)) + value


def data_objects(data: bytes) -> list[tuple[int, bytes, bytes]]:
    """The data objects in a chip's answer as (tag, value, whole encoding), one after another.

    One-byte tags only, which is all secure messaging and PACE use. Raises :class:`ChipError` for
    a cut-off object or a bad length."""
    found = []
    position = 0
    while position < len(data):
        start = position
        tag = data[position]
        if position + 1 >= len(data):
            raise ChipError(f"the chip's answer is cut off in the data object at byte {start}")
        length = data[position + 1]
        position += 2
        if length > 0x80:
            octets = length & 0x7F
            if octets > 3 or position + octets > len(data):
                raise ChipError(f"the chip's answer has a bad length at byte {start}")
            length = int.from_bytes(data[position : position + octets], "big")
            position += octets
        elif length == 0x80:
            raise ChipError(f"the chip's answer has an indefinite length at byte {start}")
        if position + length > len(data):
            raise ChipError(
                f"the chip's answer claims {length} bytes at byte {start} but only "
                f"{len(data) - position} are left"
            )
        found.append((tag, data[position : position + length], data[start : position + length]))
        position += length
    return found


class SecureChannel:
    """A :class:`~impostor.card.apdu.Channel` that wraps every command in secure messaging.

    ``inner`` is the channel to the card (the reader); ``keys`` are the session keys and the
    starting send sequence counter that BAC or PACE agreed. The channel keeps the counter; after
    an answer fails its MAC check the session is over (the chip has dropped it too) and every
    further exchange raises :class:`ChipError` until access control is run again.
    """

    def __init__(self, inner: Channel, keys: SessionKeys) -> None:
        self.inner = inner
        self.keys = keys
        self._ssc = int.from_bytes(keys.ssc, "big")
        self._broken: str | None = None

    @property
    def ssc(self) -> bytes:
        """The send sequence counter's current value, as many bytes as a cipher block."""
        size = self.keys.algorithm.block_size
        return (self._ssc % (1 << (8 * size))).to_bytes(size, "big")

    def _next_ssc(self) -> bytes:
        self._ssc += 1
        return self.ssc

    def _iv(self, ssc: bytes) -> bytes | None:
        if not self.keys.algorithm.is_aes:
            return None  # 3DES secure messaging runs CBC from a zero IV
        return encrypt(self.keys.algorithm, self.keys.enc, ssc)

    def _mac(self, message: bytes) -> bytes:
        return mac(self.keys.algorithm, self.keys.mac, pad(message, self.keys.algorithm.block_size))

    def wrap(self, command: Command) -> Command:
        """The protected form of ``command``; advances the send sequence counter by one.

        Raises :class:`ChipError` when ``command`` already carries secure messaging bits.
        """
        if command.cla & SM_CLA_BITS:
            raise ChipError(f"command CLA {command.cla:02X} is already marked as secure messaging")
        block = self.keys.algorithm.block_size
        cla = command.cla | SM_CLA_BITS
        ssc = self._next_ssc()
        objects = b""
        if command.data:
            cryptogram = encrypt(self.keys.algorithm, self.keys.enc, pad(command.data, block), self._iv(ssc))
            if command.ins & 1:
                objects += encode_tlv(TAG_ENCRYPTED, cryptogram)
            else:
                objects += encode_tlv(TAG_ENCRYPTED_PADDED, bytes((PADDING_INDICATOR,)) + cryptogram)
        if command.le is not None:
            # Le keeps the form the plain command would have had: one byte, or two when extended
            size = 2 if command.needs_extended else 1
            objects += encode_tlv(TAG_LE, (command.le % (1 << (8 * size))).to_bytes(size, "big"))
        header = pad(bytes((cla, command.ins, command.p1, command.p2)), block)
        data = objects + encode_tlv(TAG_MAC, self._mac(ssc + header + objects))
        extended = command.needs_extended or len(data) >= 256
        return Command(
            cla, command.ins, command.p1, command.p2, data, le=65536 if extended else 256, extended=extended
        )

    def unwrap(self, response: Response) -> Response:
        """The plain answer inside a protected ``response``; advances the counter by one.

        An error status with no data (the chip refusing in the clear, e.g. 6A82 or 6987) comes back
        as it is. Raises :class:`ChipError` when a success has no secure messaging, when DO'99' or
        DO'8E' is missing, or when the MAC does not match: the answer was altered on its way,
        which is a relay or a card swapped in the middle of the read.
        """
        ssc = self._next_ssc()
        if not response.data:
            if response.ok:
                raise ChipError(
                    f"the chip answered {response.sw:04X} without secure messaging inside a "
                    "protected session: possibly a relay or a card swap; read the chip again"
                )
            return response
        objects = data_objects(response.data)
        macs = [value for tag, value, _ in objects if tag == TAG_MAC]
        statuses = [value for tag, value, _ in objects if tag == TAG_STATUS]
        if len(macs) != 1 or len(statuses) != 1 or len(statuses[0]) != 2:
            raise ChipError(
                "the chip's answer lacks its status (DO'99') or MAC (DO'8E'): "
                "possibly a relay or a card swap; read the chip again"
            )
        covered = b"".join(raw for tag, _, raw in objects if tag != TAG_MAC)
        if not hmac.compare_digest(self._mac(ssc + covered), macs[0]):
            raise ChipError(
                "the chip's answer failed its MAC check: possibly a relay or a card swapped in the "
                "middle of the read; put the document back on the reader and read it again"
            )
        data = b""
        for tag, value, _ in objects:
            if tag == TAG_ENCRYPTED_PADDED:
                if not value or value[0] != PADDING_INDICATOR:
                    raise ChipError("the chip's encrypted answer has an unknown padding indicator")
                value = value[1:]
            elif tag != TAG_ENCRYPTED:
                continue
            data = unpad(decrypt(self.keys.algorithm, self.keys.enc, value, self._iv(ssc)))
        return Response(data, int.from_bytes(statuses[0], "big"))

    def exchange(self, command: Command) -> Response:
        """Send ``command`` protected through the inner channel and return the plain answer.

        Raises what the inner channel raises, and :class:`ChipError` as :meth:`unwrap` says; after
        a MAC failure, every later call raises too.
        """
        if self._broken:
            raise ChipError(self._broken)
        protected = self.wrap(command)
        answer = self.inner.exchange(protected)
        try:
            return self.unwrap(answer)
        except ChipError as error:
            self._broken = f"secure messaging ended after an earlier failure ({error}); run BAC or PACE again"
            raise
