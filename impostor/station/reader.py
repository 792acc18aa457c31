"""The station's chip reader: one reading of the chip of the document on it, with its progress.

A :class:`ChipJob` is one reading for one traveller. It runs in a thread of its own (the reader
waits for a card and for each answer, seconds in all) while the page asks for its
:meth:`~ChipJob.progress` a few times a second. Every wait is bounded: the card must be on the
reader within the station's ``chip_wait_seconds``, and each exchange with it within the reader
layer's own deadline (``impostor.card.pcsc``), so a job always ends, done or failed.

A failure is a catalogue code the page puts into words (:data:`FAILURES`), never a traceback:
no reader, no card, the card taken away, no answer, the keys refused, a chip that cannot be read.
Only the keys' refusal asks the officer for something: the three fields typed from the page (or
the card access number), which the next job tries instead of the MRZ read.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from impostor import errors

if TYPE_CHECKING:
    from cryptography import x509

    from impostor.card.passport import ChipRead
    from impostor.document.correct import Options
    from impostor.document.mrz import Mrz

__all__ = [
    "FAILURES",
    "ChipJob",
    "ChipKeys",
    "ChipProgress",
    "Stage",
    "keys_from_mrz",
    "typed_keys",
]

Stage = Literal["waiting", "opening", "reading", "checking", "done", "failed"]
RUNNING: frozenset[Stage] = frozenset({"waiting", "opening", "reading", "checking"})
# the catalogue code of each reader error (a subclass takes its nearest listed ancestor's); a
# timeout while waiting for the card is "no card", during the reading "no answer"
FAILURES: dict[type[errors.ImpostorError], str] = {
    errors.NoReader: "chip_no_reader",
    errors.CardAbsent: "chip_card_removed",
    errors.CardTimeout: "chip_timeout",
    errors.AccessDenied: "chip_access_denied",
    errors.ChipError: "chip_unreadable",
    errors.ImpostorError: "chip_unreadable",
}


@dataclass(frozen=True)
class ChipKeys:
    """What a chip is opened with: MRZ information strings, best first (at most three are
    tried: ``impostor.card.access.MAX_TRIES``), and a card access number (PACE only).
    ``typed`` says the officer typed them (a refusal then is not the OCR's fault)."""

    mrz: tuple[str, ...]
    can: str | None = None
    typed: bool = False


def keys_from_mrz(found: Mrz | None, options: Options | None = None) -> ChipKeys:
    """The keys a page's MRZ gives: its reading and, where the OCR doubted a character of the
    three fields (``options``, the OCR's readings of each character), the likeliest other
    readings whose check digits hold (``impostor.card.candidates``). No keys without an MRZ:
    the officer types them."""
    if found is None:
        return ChipKeys(())
    from impostor.card.candidates import access_candidates

    try:
        return ChipKeys(tuple(access_candidates(found, options)))
    except errors.ImpostorError:  # an MRZ whose dates are no dates: nothing to try
        return ChipKeys(())


def typed_keys(number: str, birth: str, expiry: str, can: str) -> ChipKeys:
    """The keys the officer typed: the document number, birth date and expiry (YYMMDD) from the
    page, or the card access number. Raises ``AccessDenied`` for fields that cannot be a key,
    saying which."""
    from impostor.card.keys import mrz_information

    can = can.strip()
    if can:
        if not (can.isdigit() and len(can) == 6):
            raise errors.AccessDenied("the card access number is the 6 digits printed on the document")
        return ChipKeys((), can, typed=True)
    number = number.strip().upper().replace(" ", "")
    for name, value in (("birth date", birth), ("expiry", expiry)):
        if not (value.strip().isdigit() and len(value.strip()) == 6):
            raise errors.AccessDenied(f"the {name} is 6 digits, year month day (YYMMDD)")
    if not 1 <= len(number) <= 20 or not number.isalnum():
        raise errors.AccessDenied("the document number is letters and digits, as printed on the page")
    return ChipKeys((mrz_information(number, birth.strip(), expiry.strip()),), typed=True)


@dataclass(frozen=True)
class ChipProgress:
    """Where a reading is: its ``stage``, the file arriving and how much of it (bytes), the
    seconds since it started, and when it failed, the catalogue ``code`` and the reader's
    ``message`` (English, for the console and the API)."""

    stage: Stage
    file: str
    done: int
    total: int
    seconds: float
    code: str = ""
    message: str = ""

    def to_dict(self) -> dict[str, object]:
        """The progress as the page reads it."""
        return {
            "stage": self.stage,
            "file": self.file,
            "done": self.done,
            "total": self.total,
            "seconds": round(self.seconds, 1),
            "code": self.code or None,
            "message": self.message or None,
        }


class ChipJob:
    """One reading of the chip on ``reader`` (a number or part of a name) with ``keys``; the
    card must be on it within ``wait_seconds``. :meth:`run` does it (in the job's thread);
    :meth:`progress` is safe to ask from any other."""

    def __init__(self, reader: str, keys: ChipKeys, wait_seconds: float) -> None:
        self.reader, self.keys, self.wait_seconds = reader, keys, wait_seconds
        self.started = time.monotonic()
        self.ended = threading.Event()
        self._lock = threading.Lock()
        self._stage: Stage = "waiting"
        self._file, self._done, self._total = "", 0, 0
        self._code = self._message = ""

    @property
    def running(self) -> bool:
        """Whether the job has not ended yet."""
        return not self.ended.is_set()

    def progress(self) -> ChipProgress:
        """Where the job is now."""
        with self._lock:
            seconds = time.monotonic() - self.started
            return ChipProgress(
                self._stage, self._file, self._done, self._total, seconds, self._code, self._message
            )

    def moved(self, stage: Stage, file: str | None = None, done: int = 0, total: int = 0) -> None:
        """The job has reached ``stage`` (with ``file`` arriving, ``done`` of ``total`` bytes;
        without a file, the last one's progress stays)."""
        with self._lock:
            self._stage = stage
            if file is not None:
                self._file, self._done, self._total = file, done, total

    def finish(self) -> None:
        """The job is done: its result has been applied (the last file's progress stays)."""
        self.moved("done")
        self.ended.set()

    def fail(self, error: errors.ImpostorError) -> None:
        """The job ended on ``error``: its catalogue code and message are kept for the page."""
        with self._lock:
            code = next(
                (FAILURES[kind] for kind in type(error).__mro__ if kind in FAILURES), "chip_unreadable"
            )
            if code == "chip_timeout" and self._stage == "waiting":
                code = "chip_no_card"
            if code == "chip_access_denied" and self.keys.typed:
                code = "chip_typed_refused"
            elif code == "chip_access_denied" and not self.keys.mrz:
                code = "chip_no_keys"
            self._stage, self._code, self._message = "failed", code, str(error)
        self.ended.set()

    def read(self, csca: list[x509.Certificate] | None) -> ChipRead:
        """Wait for the card, open the chip and read its files, following the progress; the
        reading (``impostor.card.passport.read_passport``). Raises what the reader raises
        (``NoReader``, ``CardTimeout``, ``CardAbsent``, ``AccessDenied``, ``ChipError``)."""
        from impostor.card import pcsc
        from impostor.card.passport import read_passport

        which: int | str = int(self.reader) if self.reader.isdigit() else self.reader
        if not self.keys.mrz and not self.keys.can:
            raise errors.AccessDenied("no MRZ was read from the page: type the three fields")
        with pcsc.connect(which, timeout=self.wait_seconds) as channel:
            self.moved("opening")
            return read_passport(
                channel,
                mrz_candidates=self.keys.mrz,
                can=self.keys.can,
                progress=lambda name, done, total: self.moved("reading", name, done, total),
                csca=csca,
            )
