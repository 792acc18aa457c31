"""Reading a passport's chip end to end: access, files, then authentication in Doc 9303's order.

:func:`read_passport` takes a channel to the card (a reader's, or any other) and does what an
inspection system does (Doc 9303 part 11 §7 and part 12):

1. EF.CardAccess in the clear, then access control: PACE where it is offered, else BAC, over
   at most three readings of the MRZ (or the CAN);
2. EF.COM, EF.SOD, DG1, DG2 (with progress), and DG14 and DG15 where the chip has them;
3. passive authentication of every group read (EF.SOD's hashes, its signature, the chain to a
   trusted CSCA, the CSCA's country against the MRZ's issuing state);
4. active authentication (DG15) and chip authentication (DG14), each counted only after step 3
   passed in full with DG14/DG15 among the verified groups.

:func:`write_folder` writes what was read under names :func:`impostor.document.chip.read_folder`
takes, so ``impostor document --chip DIR`` and ``impostor compare DIR LIVE`` read it; the folder
appears whole or not at all.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509

from impostor.card import authenticity, files
from impostor.card.access import MAX_TRIES, open_chip
from impostor.card.apdu import Channel, Command, Response
from impostor.card.authenticity import ChipCheck
from impostor.card.keys import mrz_information
from impostor.card.pace import choose_pace
from impostor.card.sm import SecureChannel
from impostor.document import mrz, sod
from impostor.document.chip import read_dg2
from impostor.errors import AccessDenied, ChipError, DocumentError, OutputError

__all__ = [
    "FILE_NAMES",
    "ChipRead",
    "FileProgress",
    "check_target",
    "mrz_keys",
    "read_passport",
    "write_folder",
]

# what write_folder names each file: the names JMRTD and most readers give them
FILE_NAMES = {
    "EF.CardAccess": "EF_CardAccess.bin",
    "EF.COM": "EF_COM.bin",
    "EF.SOD": "EF_SOD.bin",
    "DG1": "DG1.bin",
    "DG2": "DG2.bin",
    "DG14": "DG14.bin",
    "DG15": "DG15.bin",
}
SUMMARY = "chip-read.json"
REQUIRED = ("EF.SOD", "DG1", "DG2")
OPTIONAL = ("EF.COM", "DG14", "DG15")

FileProgress = Callable[[str, int, int], None]
"""Called as ``progress(file_name, bytes_read, bytes_total)`` while each file arrives."""


@dataclass(frozen=True)
class ChipRead:
    """What one reading of a chip gave.

    ``access`` names the protocol that opened the chip (``"BAC"``, ``"PACE ECDH-GM AES-128"``),
    ``password`` what opened it (``"MRZ reading 2"``, ``"CAN"``), ``tries`` how many passwords
    were tried. ``files`` are the files read by name (``"DG2"``, ``"EF.SOD"`` …); ``missing`` the
    optional ones the chip does not have. ``passive`` is passive authentication (``None`` when
    EF.SOD could not be read: ``passive_error`` says why); ``active`` and ``chip`` are the
    other two checks as they count (:func:`impostor.card.authenticity.counted`).
    """

    access: str
    password: str
    tries: int
    files: dict[str, bytes] = field(repr=False)
    missing: tuple[str, ...]
    passive: sod.Authentication | None
    active: ChipCheck
    chip: ChipCheck
    timings_ms: dict[str, float]
    passive_error: str = ""
    reader: str = ""

    @property
    def genuine(self) -> bool:
        """Whether the chip is proven: passive authentication passed in full, and chip or active
        authentication passed where the chip offers either (a chip without both is proven by
        passive authentication alone, which a clone also passes)."""
        if self.passive is None or any(step.status != sod.PASSED for step in self.passive.steps):
            return False
        offered = [check for check in (self.active, self.chip) if check.status != authenticity.NOT_DONE]
        return all(check.status == authenticity.PASSED for check in offered)

    def to_dict(self) -> dict[str, Any]:
        """The reading as JSON-ready values: no file contents, their sizes and SHA-256 only."""
        portrait: dict[str, Any] = {}
        try:
            first = read_dg2(self.files["DG2"])[0]
            portrait = {"codec": first.codec, "bytes": len(first.image), "declared_size": first.declared_size}
        except (DocumentError, KeyError, IndexError):
            portrait = {"codec": None}
        passive = None
        if self.passive is not None:
            passive = {
                "passed": self.passive.passed,
                "hash_algorithm": self.passive.hash_algorithm,
                "steps": [
                    {"name": s.name, "status": s.status, "detail": s.detail} for s in self.passive.steps
                ],
                "groups": {f"DG{number}": status for number, status in self.passive.groups.items()},
            }
        return {
            "reader": self.reader,
            "access": self.access,
            "password": self.password,
            "tries": self.tries,
            "files": {
                name: {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
                for name, data in self.files.items()
            },
            "missing": list(self.missing),
            "portrait": portrait,
            "passive_authentication": passive,
            "passive_authentication_error": self.passive_error or None,
            "active_authentication": self.active.to_dict(),
            "chip_authentication": self.chip.to_dict(),
            "genuine": self.genuine,
            "timings_ms": {name: round(value, 1) for name, value in self.timings_ms.items()},
        }


class _Watch:
    """A channel that passes everything on and counts the access attempts it sees: each PACE
    try opens with MSE:Set AT for PACE, each BAC try with a plain GET CHALLENGE."""

    def __init__(self, inner: Channel) -> None:
        self.inner = inner
        self.pace = 0
        self.bac = 0

    def exchange(self, command: Command) -> Response:
        if command.cla & 0x0C == 0:  # secure messaging hides what a protected command is
            if command.ins == 0x22 and (command.p1, command.p2) == (0xC1, 0xA4):
                self.pace += 1
            elif command.ins == 0x84:
                self.bac += 1
        return self.inner.exchange(command)


def mrz_keys(text: str) -> str:
    """The MRZ information BAC and PACE take (document number, birth date, expiry with their
    check digits) from an MRZ's lines (TD1, TD2 or TD3, joined by newlines).

    Raises :class:`AccessDenied` when the text is no MRZ, saying what to give instead.
    """
    try:
        found = mrz.parse(text.replace("\\n", "\n").strip())
    except DocumentError as error:
        raise AccessDenied(
            f"the MRZ given cannot open a chip: {error}; give both (or all three) lines, or the "
            "document number, birth date and expiry"
        ) from None
    printed = next((check.printed for check in found.checks if check.field == "document_number"), None)
    return mrz_information(found.document_number, found.birth, found.expiry, number_check=printed)


def _access_name(
    card_access: bytes | None, watch: _Watch, candidates: Sequence[str], can: str | None
) -> tuple[str, str, int]:
    """The protocol that opened the chip, the password that did, and how many were tried."""
    if watch.bac:
        return "BAC", f"MRZ reading {watch.bac}", watch.pace + watch.bac
    info = choose_pace(card_access) if card_access else None
    name = f"PACE {info.mapping} {info.algorithm.name}" if info else "PACE"
    passwords = (["CAN"] if can else []) + [f"MRZ reading {n}" for n in range(1, len(candidates) + 1)]
    return name, passwords[max(0, min(watch.pace, len(passwords)) - 1)], watch.pace


def read_passport(
    channel: Channel,
    *,
    mrz_candidates: Sequence[str] = (),
    can: str | None = None,
    progress: FileProgress | None = None,
    csca: list[x509.Certificate] | None = None,
    extended: bool | None = None,
) -> ChipRead:
    """Open the chip on ``channel``, read its files and authenticate them, in that order.

    ``mrz_candidates`` are MRZ information strings (:func:`mrz_keys`,
    :func:`impostor.card.keys.mrz_information`), the best reading first; ``can`` the card access
    number. ``progress(name, read, total)`` follows every file (DG2 is the long one). ``csca``
    are the trusted CSCA certificates for the chain; without them passive authentication is
    not complete, and chip and active authentication do not count. ``extended`` reads with
    extended-length APDUs (default: what the channel says, ``PcscChannel.extended_length``).

    Raises :class:`AccessDenied` when no password opens the chip, :class:`ChipError` when a
    required file (EF.SOD, DG1, DG2) is missing or unreadable, and what the reader raises
    (:class:`CardAbsent`, :class:`CardTimeout`, :class:`NoReader`). A failed authentication is
    a result, not an error.
    """
    timings: dict[str, float] = {}
    started = clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = (now - clock) * 1000
        clock = now

    card_access = files.read_card_access(channel)
    watch = _Watch(channel)
    secure = open_chip(watch, mrz_candidates=mrz_candidates, can=can, card_access=card_access)
    access, password, tries = _access_name(card_access, watch, list(mrz_candidates)[:MAX_TRIES], can)
    lap("access")
    read = {"EF.CardAccess": card_access} if card_access else {}
    wide = bool(getattr(channel, "extended_length", False)) if extended is None else extended
    for name in (*OPTIONAL[:1], *REQUIRED, *OPTIONAL[1:]):
        follow = (lambda done, total, name=name: progress(name, done, total)) if progress else None
        reader = files.read_file if name in REQUIRED else files.read_optional
        data = reader(secure, name, extended=wide, progress=follow)
        if data is not None:
            read[name] = data
        lap(name)
    missing = tuple(name for name in OPTIONAL if name not in read)
    passive, passive_error = _passive(read, csca)
    lap("passive")
    active, chip = _active_and_chip(secure, read, passive, timings)
    timings["total"] = (time.perf_counter() - started) * 1000
    return ChipRead(
        access, password, tries, read, missing, passive, active, chip, timings, passive_error,
        reader=getattr(getattr(channel, "reader", None), "name", ""),
    )  # fmt: skip


def _passive(
    read: dict[str, bytes], csca: list[x509.Certificate] | None
) -> tuple[sod.Authentication | None, str]:
    groups = {int(name[2:]): data for name, data in read.items() if name.startswith("DG")}
    try:
        return sod.authenticate(read["EF.SOD"], groups, csca=csca), ""
    except DocumentError as error:
        return None, str(error)


def _active_and_chip(
    secure: SecureChannel,
    read: dict[str, bytes],
    passive: sod.Authentication | None,
    timings: dict[str, float],
) -> tuple[ChipCheck, ChipCheck]:
    """Active authentication, then chip authentication (which changes the session's keys, so it
    goes last), each as it counts after ``passive``; their times go into ``timings``.

    A damaged DG14 or DG15, or a session that breaks during either, is a failed check, not the
    loss of the files read; a card taken away or a reader that stops answering still raises.
    """
    dg14, dg15 = read.get("DG14"), read.get("DG15")
    active = ChipCheck(authenticity.ACTIVE, authenticity.NOT_DONE, "the chip has no DG15")
    chip = ChipCheck(authenticity.CHIP, authenticity.NOT_DONE, "the chip has no DG14")
    clock = time.perf_counter()
    if dg15 is not None:
        try:
            active = authenticity.counted(authenticity.active_authenticate(secure, dg15, dg14), passive, 15)
        except ChipError as error:
            if type(error) is not ChipError:
                raise
            active = ChipCheck(authenticity.ACTIVE, authenticity.FAILED, str(error))
        timings["active"] = (time.perf_counter() - clock) * 1000
    clock = time.perf_counter()
    if dg14 is not None:
        try:
            chip = authenticity.counted(authenticity.chip_authenticate(secure, dg14)[0], passive, 14)
        except ChipError as error:
            if type(error) is not ChipError:
                raise
            chip = ChipCheck(authenticity.CHIP, authenticity.FAILED, str(error))
        timings["chip"] = (time.perf_counter() - clock) * 1000
    return active, chip


def _replaceable(folder: Path) -> bool:
    """Whether every entry of ``folder`` is a file :func:`write_folder` writes (so ``force`` may
    replace it without taking anything else with it)."""
    ours = {*FILE_NAMES.values(), SUMMARY}
    return all(entry.is_file() and entry.name in ours for entry in folder.iterdir())


def check_target(out: Path, *, force: bool = False) -> Path:
    """``out`` (with ``~`` expanded) when :func:`write_folder` may write there; call it before
    reading a chip, so a folder that would be refused is refused before the officer waits.

    Raises :class:`OutputError` as :func:`write_folder` says.
    """
    out = out.expanduser()
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out} is a file: give a folder for the chip's files")
    if out.is_dir() and any(out.iterdir()):
        if not force:
            raise OutputError(f"{out} is not empty: give an empty or new folder, or --force to replace it")
        if not _replaceable(out):
            raise OutputError(
                f"{out} holds files that no chip reading wrote: --force replaces only a folder of an "
                "earlier reading; give another folder"
            )
    return out


def write_folder(chip_read: ChipRead, out: Path, *, force: bool = False) -> Path:
    """Write the files of ``chip_read`` into the folder ``out`` (named as :data:`FILE_NAMES`,
    with a ``chip-read.json`` summary), and return it.

    The files are written to a temporary folder beside ``out`` and renamed into place, so the
    folder appears whole or not at all. Raises :class:`OutputError` when ``out`` is a file, or
    a folder that is not empty (unless ``force``, which replaces a folder holding only what an
    earlier reading wrote), or cannot be written.
    """
    out = check_target(out, force=force)
    aside = None
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
        try:
            for name, data in chip_read.files.items():
                (staging / FILE_NAMES[name]).write_bytes(data)
            (staging / SUMMARY).write_text(json.dumps(chip_read.to_dict(), indent=2) + "\n", encoding="utf-8")
            if out.exists():
                aside = out.with_name(f".{out.name}-old-{os.getpid()}")
                out.rename(aside)
            staging.rename(out)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            if aside is not None and not out.exists():
                aside.rename(out)
            raise
    except OSError as error:
        raise OutputError(f"{out}: the chip's files cannot be written ({error.strerror or error})") from None
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)
    return out
