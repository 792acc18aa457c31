"""Smart-card readers through the system's PC/SC service (pcscd on Linux and macOS, the Smart
Card service on Windows), called through :mod:`ctypes`, so installing impostor compiles nothing.

The PC/SC library is the one every reader program uses (``libpcsclite.so.1``, ``winscard.dll``,
``PCSC.framework``); it is loaded on first use, never at import. Every wait is bounded: the
service's own timeouts for a card to arrive, and a deadline on each exchange with the card,
so a reader that stops answering gives :class:`CardTimeout` rather than a hang.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any, TypeVar

from impostor.card.apdu import Command, Response
from impostor.errors import CardAbsent, CardTimeout, ChipError, NoReader

__all__ = [
    "PcscChannel",
    "Reader",
    "choose_reader",
    "connect",
    "extended_length_in_atr",
    "list_readers",
    "wait_for_card",
    "wait_for_removal",
]

T = TypeVar("T")

START_PCSCD = (
    "start the PC/SC service: on Debian or Ubuntu `sudo apt install pcscd` and "
    "`sudo systemctl start pcscd.socket`; on Windows start the Smart Card service"
)

# the PC/SC types (DWORD, LONG, the handles) and the ATR buffer: 'unsigned long' in pcsc-lite,
# 32 bits on Windows and macOS
_TYPES: dict[str, tuple[Any, Any, Any, int]] = {
    "darwin": (ctypes.c_uint32, ctypes.c_int32, ctypes.c_int32, 33),
    "win32": (ctypes.c_ulong, ctypes.c_long, ctypes.c_size_t, 36),
}
DWORD, LONG, HANDLE, ATR_SIZE = _TYPES.get(sys.platform, (ctypes.c_ulong, ctypes.c_long, ctypes.c_long, 33))

SCOPE_USER = 0
SHARE_EXCLUSIVE = 1
PROTOCOL_T0, PROTOCOL_T1 = 1, 2
LEAVE_CARD = 0
STATE_UNAWARE, STATE_CHANGED, STATE_UNKNOWN, STATE_UNAVAILABLE = 0x0, 0x2, 0x4, 0x8
STATE_EMPTY, STATE_PRESENT, STATE_MUTE = 0x10, 0x20, 0x200
ATTR_MAXINPUT = 0x0007A007  # the longest command the reader takes (vendor attribute, CCID readers)
INFINITE = 0xFFFFFFFF

# PC/SC result codes, by what they mean for the caller
E_TIMEOUT = 0x8010000A
NO_SERVICE = {0x8010001D, 0x8010001E, 0x80100006}  # no service, service stopped, no memory
NO_READERS = {0x8010002E, 0x80100009, 0x80100017}  # none, unknown reader, reader unavailable
CARD_GONE = {
    0x8010000C,  # no smart card
    0x80100069,  # removed
    0x80100068,  # reset by another program
    0x80100067,  # unpowered
    0x80100066,  # unresponsive
    0x80100003,  # invalid handle: the service dropped the connection with the card
    0x8010002F,  # communication data lost
    0x80100013,  # internal communication error
}
SHARING_VIOLATION = 0x8010000B
NOT_TRANSACTED = 0x80100016  # the card went away, or the reader could not pass the command on
CARD_GONE_GRACE = 1.0  # seconds a driver may take to report a card gone after a failed exchange

MAX_GET_RESPONSES = 300  # 61xx chains longer than 300 × 256 bytes are a card in a loop


class _ReaderState(ctypes.Structure):
    if sys.platform == "darwin":  # Apple's PCSC framework packs its structures to one byte
        _pack_ = 1
    _fields_ = [
        ("reader", ctypes.c_char_p),
        ("user_data", ctypes.c_void_p),
        ("current_state", DWORD),
        ("event_state", DWORD),
        ("atr_length", DWORD),
        ("atr", ctypes.c_ubyte * ATR_SIZE),
    ]


class _IoRequest(ctypes.Structure):
    _fields_ = [("protocol", DWORD), ("length", DWORD)]


_library: Any = None
_library_lock = threading.Lock()


def _load() -> Any:
    """The PC/SC library, loaded once; :class:`NoReader` when the system has none."""
    global _library
    with _library_lock:
        if _library is not None:
            return _library
        if sys.platform == "win32":
            names = ["winscard"]
        elif sys.platform == "darwin":
            names = ["/System/Library/Frameworks/PCSC.framework/PCSC"]
        else:
            names = [ctypes.util.find_library("pcsclite") or "", "libpcsclite.so.1"]
        for name in filter(None, names):
            try:
                library = ctypes.CDLL(name)
                break
            except OSError:
                continue
        else:
            raise NoReader(f"the PC/SC library is not installed (libpcsclite.so.1): {START_PCSCD}")
        suffix = "A" if sys.platform == "win32" else ""
        functions = {
            "SCardEstablishContext": [DWORD, ctypes.c_void_p, ctypes.c_void_p, ctypes.POINTER(HANDLE)],
            "SCardReleaseContext": [HANDLE],
            f"SCardListReaders{suffix}": [HANDLE, ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(DWORD)],
            f"SCardGetStatusChange{suffix}": [HANDLE, DWORD, ctypes.POINTER(_ReaderState), DWORD],
            f"SCardConnect{suffix}": [
                HANDLE, ctypes.c_char_p, DWORD, DWORD, ctypes.POINTER(HANDLE), ctypes.POINTER(DWORD),
            ],
            "SCardDisconnect": [HANDLE, DWORD],
            "SCardTransmit": [
                HANDLE, ctypes.POINTER(_IoRequest), ctypes.c_char_p, DWORD,
                ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(DWORD),
            ],
            "SCardGetAttrib": [HANDLE, DWORD, ctypes.c_char_p, ctypes.POINTER(DWORD)],
        }  # fmt: skip
        for name, arguments in functions.items():
            function = getattr(library, name)
            function.argtypes, function.restype = arguments, LONG
            setattr(library, name.removesuffix(suffix) if suffix else name, function)
        _library = library
        return library


def _code(result: int) -> int:
    return result & 0xFFFFFFFF


def _check(result: int, what: str, reader: str = "") -> None:
    """Turn a PC/SC result into the error a caller can act on."""
    code = _code(result)
    if code == 0:
        return
    where = f" on reader {reader!r}" if reader else ""
    if code in NO_SERVICE:
        raise NoReader(f"the PC/SC service is not running ({what} failed, 0x{code:08X}): {START_PCSCD}")
    if code in NO_READERS:
        raise NoReader(f"no smart-card reader{where} ({what}: 0x{code:08X}): plug one in, or {START_PCSCD}")
    if code in CARD_GONE:
        raise CardAbsent(
            f"the card{where} went away during {what} (0x{code:08X}): lay the document on the reader "
            "again and keep it still until the reading is over"
        )
    if code == E_TIMEOUT:
        raise CardTimeout(f"the reader{where} did not answer {what} in time: try again")
    if code == SHARING_VIOLATION:
        raise NoReader(f"another program holds the card{where}: close it and try again")
    raise ChipError(f"PC/SC {what}{where} failed with code 0x{code:08X}")


class _Context:
    """One PC/SC context, released when the block ends."""

    def __init__(self) -> None:
        self.library = _load()
        self.handle = HANDLE()
        _check(
            self.library.SCardEstablishContext(SCOPE_USER, None, None, ctypes.byref(self.handle)), "connect"
        )

    def __enter__(self) -> _Context:
        return self

    def __exit__(self, *_: object) -> None:
        self.release()

    def release(self) -> None:
        if self.handle.value:
            self.library.SCardReleaseContext(self.handle)
            self.handle = HANDLE()

    def reader_names(self) -> list[str]:
        size = DWORD(0)
        result = _code(self.library.SCardListReaders(self.handle, None, None, ctypes.byref(size)))
        if result in NO_READERS:
            return []
        _check(result, "listing readers")
        buffer = ctypes.create_string_buffer(size.value)
        result = _code(self.library.SCardListReaders(self.handle, None, buffer, ctypes.byref(size)))
        if result in NO_READERS:  # the reader went away between the two calls
            return []
        _check(result, "listing readers")
        return [name.decode("utf-8", "replace") for name in buffer.raw[: size.value].split(b"\0") if name]

    def state(self, name: str, known: int, timeout: float) -> tuple[int, bytes]:
        """Wait up to ``timeout`` seconds for the reader's state to differ from ``known``; return
        the new state and the ATR (empty when no card)."""
        state = _ReaderState(reader=name.encode("utf-8"), current_state=known)
        milliseconds = max(0, min(int(timeout * 1000), INFINITE - 1))
        result = _code(self.library.SCardGetStatusChange(self.handle, milliseconds, ctypes.byref(state), 1))
        if result == E_TIMEOUT:
            return known, b""
        _check(result, "waiting for a card", name)
        return state.event_state & ~STATE_CHANGED, bytes(state.atr[: state.atr_length])


@dataclass(frozen=True)
class Reader:
    """A reader as the PC/SC service lists it: its place in the list (from 0), its name, and
    whether a card lay on it when it was listed."""

    index: int
    name: str
    card_present: bool


def list_readers() -> list[Reader]:
    """The readers the PC/SC service knows, in its order.

    Raises :class:`NoReader` when there is no PC/SC library or service, or no reader at all.
    """
    with _Context() as context:
        readers = []
        for index, name in enumerate(context.reader_names()):
            try:
                state, _ = context.state(name, STATE_UNAWARE, 0)
            except NoReader:  # unplugged while we looked
                continue
            present = bool(state & STATE_PRESENT) and not state & STATE_MUTE
            readers.append(Reader(index, name, present))
    if not readers:
        raise NoReader(f"no smart-card reader is connected: plug one in, or {START_PCSCD}")
    return readers


def choose_reader(which: int | str | None = None) -> Reader:
    """The reader numbered ``which`` (from 0, as ``list_readers`` counts), the first whose name
    contains ``which`` (case ignored), or with ``None`` the first reader holding a card (else the
    first reader). Raises :class:`NoReader` when there is no such reader."""
    readers = list_readers()
    listed = ", ".join(f"{reader.index}: {reader.name}" for reader in readers)
    if which is None:
        return next((reader for reader in readers if reader.card_present), readers[0])
    if isinstance(which, int):
        for reader in readers:
            if reader.index == which:
                return reader
        raise NoReader(f"there is no reader {which}: the readers are {listed}")
    for reader in readers:
        if which.casefold() in reader.name.casefold():
            return reader
    raise NoReader(f"no reader is named like {which!r}: the readers are {listed}")


def wait_for_card(reader: Reader | int | str | None = None, timeout: float = 30.0) -> bytes:
    """Wait up to ``timeout`` seconds for a card on ``reader`` (see :func:`choose_reader`);
    return its ATR. Raises :class:`CardTimeout` when none came, :class:`NoReader` when the
    reader is absent or went away."""
    chosen = reader if isinstance(reader, Reader) else choose_reader(reader)
    deadline = time.monotonic() + timeout
    with _Context() as context:
        state, atr = context.state(chosen.name, STATE_UNAWARE, 0)
        while True:
            if state & STATE_PRESENT and not state & STATE_MUTE:
                return atr
            if state & (STATE_UNKNOWN | STATE_UNAVAILABLE):
                raise NoReader(f"reader {chosen.name!r} went away: plug it in again")
            left = deadline - time.monotonic()
            if left <= 0:
                raise CardTimeout(
                    f"no card was laid on reader {chosen.name!r} within {timeout:g} s: lay the "
                    "document's data page (or its cover, where the chip is) flat on the reader"
                )
            state, atr = context.state(chosen.name, state, left)


def wait_for_removal(reader: Reader | int | str, timeout: float = 30.0) -> None:
    """Wait up to ``timeout`` seconds until no card lies on ``reader`` (the officer has taken
    the document away). Raises :class:`CardTimeout` when the card is still there."""
    chosen = reader if isinstance(reader, Reader) else choose_reader(reader)
    deadline = time.monotonic() + timeout
    with _Context() as context:
        state, _ = context.state(chosen.name, STATE_UNAWARE, 0)
        while state & STATE_PRESENT and not state & STATE_UNKNOWN:
            left = deadline - time.monotonic()
            if left <= 0:
                raise CardTimeout(
                    f"the card is still on reader {chosen.name!r} after {timeout:g} s: take it off"
                )
            state, _ = context.state(chosen.name, state, left)


def extended_length_in_atr(atr: bytes) -> bool:
    """Whether the card's ATR says it takes extended Lc and Le (ISO/IEC 7816-4, the third byte
    of the card capabilities in the historical bytes); False when the ATR does not say."""
    if len(atr) < 2:
        return False
    historical_count = atr[1] & 0x0F
    position, indicator = 1, atr[1]
    while True:  # skip the interface bytes: TA, TB, TC, TD as each TD announces them
        present = indicator >> 4
        position += bin(present).count("1")
        if not present & 0x8 or position >= len(atr):
            break
        indicator = atr[position]
    historical = atr[position + 1 : position + 1 + historical_count]
    if not historical or historical[0] not in (0x00, 0x80):
        return False
    body = historical[1:-3] if historical[0] == 0x00 else historical[1:]  # 00: status at the end
    index = 0
    while index < len(body):
        tag, length = body[index] >> 4, body[index] & 0x0F
        value = body[index + 1 : index + 1 + length]
        if tag == 0x7 and len(value) >= 3:
            return bool(value[2] & 0x40)
        index += 1 + length
    return False


class PcscChannel:
    """A connection to the card on one reader: a :class:`~impostor.card.apdu.Channel`.

    ``exchange`` answers 61xx with GET RESPONSE and 6Cxx by sending again with the Le the card
    asked for, so callers see one response per command. Each exchange must finish within
    ``exchange_timeout`` seconds. ``extended_length`` tells whether both the card (its ATR)
    and the reader (where it says) take extended-length APDUs. Close it, or use it in a
    ``with`` block.
    """

    def __init__(self, reader: Reader, atr: bytes, exchange_timeout: float = 10.0) -> None:
        self.reader = reader
        self.atr = atr
        self.exchange_timeout = exchange_timeout
        # one thread owns the context and the card handle: PC/SC wants both used from one
        # thread at a time, and a thread is what lets the caller stop waiting on a reader
        # that never answers
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pcsc")
        self._broken: str | None = None
        self._context: _Context | None = None
        self._card = HANDLE()
        self._protocol = DWORD(0)
        try:
            self._run(self._connect, "connecting to the card")
            self.extended_length = extended_length_in_atr(atr) and self._reader_takes_extended()
        except BaseException:
            self.close()
            raise

    def _connect(self) -> None:
        self._context = _Context()
        result = self._context.library.SCardConnect(
            self._context.handle,
            self.reader.name.encode("utf-8"),
            SHARE_EXCLUSIVE,
            PROTOCOL_T0 | PROTOCOL_T1,
            ctypes.byref(self._card),
            ctypes.byref(self._protocol),
        )
        try:
            _check(result, "connecting to the card", self.reader.name)
        except ChipError:
            self._context.release()
            raise

    def _reader_takes_extended(self) -> bool:
        def ask() -> int | None:
            assert self._context is not None
            buffer, size = ctypes.create_string_buffer(8), DWORD(8)
            result = self._context.library.SCardGetAttrib(
                self._card, ATTR_MAXINPUT, buffer, ctypes.byref(size)
            )
            if _code(result) != 0 or not 1 <= size.value <= 8:
                return None  # the reader does not say: trust the card
            return int.from_bytes(buffer.raw[: size.value], sys.byteorder)

        longest = self._run(ask, "asking the reader's limits")
        return longest is None or longest == 0 or longest > 261

    def _run(self, call: Callable[[], T], what: str) -> T:
        if self._broken:
            raise CardTimeout(self._broken)
        future = self._worker.submit(call)
        try:
            return future.result(timeout=self.exchange_timeout)
        except FutureTimeout:
            self._broken = (
                f"reader {self.reader.name!r} stopped answering during {what}: take the document "
                "off, lay it on again and start over"
            )
            raise CardTimeout(
                f"reader {self.reader.name!r} did not answer {what} within {self.exchange_timeout:g} s: "
                "take the document off, lay it on again and start over"
            ) from None

    def _transmit(self, raw: bytes) -> bytes:
        def send() -> bytes:
            assert self._context is not None
            request = _IoRequest(self._protocol.value, ctypes.sizeof(_IoRequest))
            buffer = ctypes.create_string_buffer(65536 + 2)
            size = DWORD(len(buffer))
            result = self._context.library.SCardTransmit(
                self._card, ctypes.byref(request), raw, len(raw), None, buffer, ctypes.byref(size)
            )
            if _code(result) == NOT_TRANSACTED:
                self._explain_failed_exchange(len(raw))
            _check(result, "an exchange with the card", self.reader.name)
            if size.value < 2:  # no status word: the card went away before it could answer
                self._explain_failed_exchange(len(raw))
            return buffer.raw[: size.value]

        return self._run(send, "an exchange with the card")

    def _explain_failed_exchange(self, length: int) -> None:
        """pcsc-lite says only 'not transacted' both when the card went away mid-exchange and when
        the reader could not pass the command on; the reader's state tells which."""
        assert self._context is not None
        deadline = time.monotonic() + CARD_GONE_GRACE
        state = STATE_UNAWARE
        while True:  # the driver may need a moment to notice the card has gone
            state, _ = self._context.state(self.reader.name, state, max(0.0, deadline - time.monotonic()))
            if state & (STATE_EMPTY | STATE_UNKNOWN | STATE_UNAVAILABLE | STATE_MUTE):
                raise CardAbsent(
                    f"the card on reader {self.reader.name!r} went away during an exchange: lay the "
                    "document on the reader again and keep it still until the reading is over"
                )
            if time.monotonic() >= deadline:
                break
        raise ChipError(
            f"reader {self.reader.name!r} could not pass a command of {length} bytes to the card "
            "(it may not take extended-length commands): try another reader"
        )

    def exchange(self, command: Command) -> Response:
        """Send ``command``; return the card's whole answer. Raises :class:`CardAbsent` when the
        card went away, :class:`CardTimeout` when the reader did not answer in time."""
        response = Response.from_bytes(self._transmit(command.to_bytes()))
        if response.sw >> 8 == 0x6C:  # wrong Le: the card says how many bytes it has
            wanted = response.sw & 0xFF or 256
            retry = Command(command.cla, command.ins, command.p1, command.p2, command.data, wanted)
            response = Response.from_bytes(self._transmit(retry.to_bytes()))
        data = response.data
        for _ in range(MAX_GET_RESPONSES):
            if response.sw >> 8 != 0x61:
                return Response(data, response.sw)
            more = Command(command.cla & 0x03, 0xC0, 0x00, 0x00, le=response.sw & 0xFF or 256)
            response = Response.from_bytes(self._transmit(more.to_bytes()))
            data += response.data
        raise ChipError(f"the card on {self.reader.name!r} kept answering 'more data': take it off and retry")

    def close(self) -> None:
        """Leave the card as it is and release the reader. Never raises."""

        def disconnect() -> None:
            if self._context is not None:
                if self._card.value:
                    self._context.library.SCardDisconnect(self._card, LEAVE_CARD)
                    self._card = HANDLE()
                self._context.release()

        if not self._broken:
            try:
                self._worker.submit(disconnect).result(timeout=self.exchange_timeout)
            except (FutureTimeout, ChipError):
                pass
        self._worker.shutdown(wait=False)

    def __enter__(self) -> PcscChannel:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def connect(
    reader: Reader | int | str | None = None, *, timeout: float = 30.0, exchange_timeout: float = 10.0
) -> PcscChannel:
    """Wait up to ``timeout`` seconds for a card on ``reader`` (see :func:`choose_reader`), then
    connect to it exclusively. Raises :class:`NoReader`, :class:`CardTimeout` or
    :class:`CardAbsent`."""
    chosen = reader if isinstance(reader, Reader) else choose_reader(reader)
    atr = wait_for_card(chosen, timeout)
    return PcscChannel(chosen, atr, exchange_timeout)
