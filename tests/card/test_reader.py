"""The reader layer and the file reader through a real pcscd, the vpcd virtual reader and vicc."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from impostor.card import files, pcsc
from impostor.card.apdu import Channel, Command, Response
from impostor.document.chip import read_dg1, read_dg2
from impostor.errors import CardAbsent, CardTimeout, ChipError, NoReader
from tests.card import virtual
from tests.card.conftest import PcscStack, RunningCard, insert

SHARED_CHIP = "documents/chip/jmrtd_bsi2008"


class Counting:
    """A channel that passes every command on and keeps them, to count what was sent."""

    def __init__(self, inner: Channel) -> None:
        self.inner = inner
        self.sent: list[Command] = []

    def exchange(self, command: Command) -> Response:
        self.sent.append(command)
        return self.inner.exchange(command)


def read_all(channel: Channel, names: list[str], *, extended: bool) -> dict[str, bytes]:
    files.select_application(channel)
    return {name: files.read_file(channel, name, extended=extended) for name in names}


def test_lists_the_virtual_readers_and_the_card_on_the_first(
    pcsc_stack: PcscStack, card: RunningCard
) -> None:
    readers = {reader.name: reader for reader in pcsc.list_readers()}
    assert readers[pcsc_stack.readers[0]].card_present
    assert not readers[pcsc_stack.readers[1]].card_present
    assert pcsc.choose_reader().name == pcsc_stack.readers[0]  # the first reader with a card
    assert pcsc.choose_reader(readers[pcsc_stack.readers[1]].index).name == pcsc_stack.readers[1]
    assert pcsc.choose_reader("virtual pcd 00 01").name == pcsc_stack.readers[1]


def test_an_unknown_reader_is_refused_with_the_list(pcsc_stack: PcscStack) -> None:
    with pytest.raises(NoReader, match="Virtual PCD"):
        pcsc.choose_reader("no such reader")
    with pytest.raises(NoReader, match="there is no reader 99"):
        pcsc.choose_reader(99)


def test_waiting_on_an_empty_reader_times_out(pcsc_stack: PcscStack) -> None:
    started = time.monotonic()
    with pytest.raises(CardTimeout, match="within 0.5 s"):
        pcsc.wait_for_card(pcsc_stack.readers[1], timeout=0.5)
    assert time.monotonic() - started < 2


def test_reads_the_personalised_passport(card: RunningCard, face_jpeg: bytes) -> None:
    seen: list[tuple[int, int]] = []
    with pcsc.connect(card.reader, timeout=5) as channel:
        assert channel.extended_length  # vicc's ATR announces it, vpcd does not say otherwise
        assert files.read_card_access(channel) is None  # no PACE on this card: BAC only
        files.select_application(channel)
        read = {name: files.read_file(channel, name, extended=True) for name in ("EF.COM", "DG1", "EF.SOD")}
        read["DG2"] = files.read_file(
            channel, "DG2", extended=True, progress=lambda n, t: seen.append((n, t))
        )
        assert files.read_optional(channel, "DG14") is None
    assert read == card.passport.files
    assert read_dg1(read["DG1"]) == card.passport.mrz
    assert read_dg2(read["DG2"])[0].image == face_jpeg
    total = len(read["DG2"])
    assert seen[0] == (files.HEADER_BYTES, total) and seen[-1] == (total, total)
    assert [n for n, _ in seen] == sorted(n for n, _ in seen)
    assert len(seen) == 1 + -(-(total - files.HEADER_BYTES) // files.EXTENDED_CHUNK)


def test_short_chunks_read_the_same_bytes(card: RunningCard) -> None:
    with pcsc.connect(card.reader, timeout=5) as reader:
        channel = Counting(reader)
        files.select_application(channel)
        dg2 = files.read_file(channel, "DG2", extended=False)
    assert dg2 == card.passport.files["DG2"]
    reads = [command for command in channel.sent if command.ins == 0xB0]
    assert all(command.le is not None and command.le <= files.SHORT_CHUNK for command in reads[1:])
    assert not any(command.needs_extended for command in channel.sent)


def test_answers_with_more_data_are_fetched_with_get_response(card: RunningCard) -> None:
    # asked for 4 bytes of its 8-byte challenge, vicc answers them with 6104: 4 more wait
    with pcsc.connect(card.reader, timeout=5) as reader:
        channel = Counting(reader)
        response = channel.exchange(Command(0x00, 0x84, 0x00, 0x00, le=4))
    assert response.sw == 0x9000 and len(response.data) == 8
    # (vicc cannot be asked for a file's control information instead: it crashes building it)


def test_a_file_declaring_too_much_is_refused_before_reading_it(card: RunningCard) -> None:
    with pcsc.connect(card.reader, timeout=5) as reader:
        channel = Counting(reader)
        files.select_application(channel)
        with pytest.raises(ChipError, match="declares"):
            files.read_file(channel, "DG2", max_size=1000)
    assert len([command for command in channel.sent if command.ins == 0xB0]) == 1  # the header only


def test_reads_the_shared_chip_files_on_a_card_without_extended_length(
    pcsc_stack: PcscStack, data_dir: Path
) -> None:
    passport = virtual.from_folder(data_dir / SHARED_CHIP)
    running = insert(pcsc_stack, passport, "jmrtd_bsi2008", extended=False)
    try:
        with pcsc.connect(running.reader, timeout=5) as channel:
            assert not channel.extended_length
            read = read_all(channel, sorted(passport.files), extended=channel.extended_length)
    finally:
        running.stop()
    assert read == passport.files


def test_a_card_pulled_away_mid_read_is_reported_promptly(
    pcsc_stack: PcscStack, passport: virtual.Passport
) -> None:
    running = insert(pcsc_stack, passport, "pulled", extended=False)
    try:
        with pcsc.connect(running.reader, timeout=5, exchange_timeout=5) as channel:
            files.select_application(channel)

            def pull(done: int, total: int) -> None:
                if done > files.HEADER_BYTES:  # a first chunk has arrived: take the card away
                    running.stop()

            started = time.monotonic()
            with pytest.raises(CardAbsent):
                files.read_file(channel, "DG2", progress=pull)
            assert time.monotonic() - started < 6
    finally:
        running.stop()


def test_reads_under_basic_access_control(card: RunningCard) -> None:
    bac = pytest.importorskip("impostor.card.bac")
    keys = pytest.importorskip("impostor.card.keys")
    line = card.passport.mrz.splitlines()[1]
    information = keys.mrz_information(line[0:9], line[13:19], line[21:27])
    with pcsc.connect(card.reader, timeout=5) as reader:
        files.select_application(reader)
        secure = bac.open_bac(reader, information)
        assert files.read_file(secure, "DG1") == card.passport.files["DG1"]
        assert files.read_file(secure, "DG2", extended=reader.extended_length) == card.passport.files["DG2"]


def test_reads_a_portrait_beyond_32_kb(pcsc_stack: PcscStack, face_jpeg: bytes) -> None:
    # READ BINARY's offset stops at 32767: beyond it the file is read with B1 and an offset object
    image = cv2.imdecode(np.frombuffer(face_jpeg, np.uint8), cv2.IMREAD_COLOR)
    large = cv2.imencode(".jpg", cv2.resize(image, (720, 720)), [cv2.IMWRITE_JPEG_QUALITY, 97])[1].tobytes()
    assert len(large) > 40_000
    passport = virtual.personalise(large)
    running = insert(pcsc_stack, passport, "large", extended=False)
    try:
        with pcsc.connect(running.reader, timeout=5) as reader:
            channel = Counting(reader)
            files.select_application(channel)
            dg2 = files.read_file(channel, "DG2")
    finally:
        running.stop()
    assert dg2 == passport.files["DG2"]
    assert any(command.ins == 0xB1 for command in channel.sent)


def test_a_reader_that_stops_answering_times_out(pcsc_stack: PcscStack, passport: virtual.Passport) -> None:
    running = insert(pcsc_stack, passport, "frozen", extended=False)
    try:
        with pcsc.connect(running.reader, timeout=5, exchange_timeout=1) as channel:
            files.select_application(channel)
            running.process.send_signal(signal.SIGSTOP)  # the card hangs: pcscd waits on it for ever
            started = time.monotonic()
            with pytest.raises(CardTimeout, match="within 1 s"):
                files.read_file(channel, "DG1")
            assert time.monotonic() - started < 2
            with pytest.raises(CardTimeout):  # the channel stays closed rather than wait again
                files.read_file(channel, "DG1")
    finally:
        running.process.send_signal(signal.SIGCONT)
        running.stop()
