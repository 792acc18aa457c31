"""A real PC/SC stack for the reader tests: Debian's pcscd with the vpcd virtual reader driver,
and vicc (``python3-virtualsmartcard``) as the card.

Where a part is missing and the run may install system packages (root with apt-get), the
``pcsc_stack`` fixture installs it, as the ``chromium`` fixture does for the browser tests.
It starts its own pcscd in the foreground (stopped at the end of the run) with a reader
configuration of its own, so vpcd listens on a free port; when a pcscd is already running it
uses that one, if vpcd is loaded in it. Under CI (``CI=true``) a missing part fails the tests;
elsewhere they are skipped with the reason.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.card import virtual

PACKAGES = ["pcscd", "vsmartcard-vpcd", "python3-virtualsmartcard", "python3-pycryptodome"]
VPCD_DRIVER = Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so")
VPCD_CONFIG = Path("/etc/reader.conf.d/vpcd")
PCSCD_SOCKET = Path("/run/pcscd/pcscd.comm")
DEFAULT_VPCD_PORT = 35963


def _missing_parts() -> list[str]:
    missing = []
    if not shutil.which("pcscd") and not Path("/usr/sbin/pcscd").exists():
        missing.append("pcscd")
    if not VPCD_DRIVER.exists():
        missing.append("vsmartcard-vpcd")
    if not (virtual.VSMARTCARD / "virtualsmartcard" / "VirtualSmartcard.py").exists():
        missing.append("python3-virtualsmartcard")
    if not Path("/usr/lib/python3/dist-packages/Cryptodome").is_dir():
        missing.append("python3-pycryptodome")  # vicc needs it and Debian does not say so
    return missing


def _unavailable(message: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def _install(missing: list[str]) -> None:
    if not (shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0):
        return
    print(f"\ninstalling Debian's {', '.join(missing)} for the reader tests (apt-get)", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=False, capture_output=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=False, capture_output=True, env=env)


def _service_running() -> bool:
    if not PCSCD_SOCKET.exists():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1)
        try:
            probe.connect(str(PCSCD_SOCKET))
        except OSError:
            return False
    return True


def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _free_port() -> int:
    """A port with the next one free too: vpcd opens two readers, on ``port`` and ``port + 1``."""
    for _ in range(50):
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            port = first.getsockname()[1]
        if port < 65535 and not _listening(port + 1):
            return int(port)
    raise RuntimeError("no two free neighbouring ports for vpcd")


@dataclass(frozen=True)
class PcscStack:
    """A running pcscd with vpcd's two readers: the port vicc connects to for the first (the
    second is on the next port), their names, and where this run keeps its card folders.

    The first reader carries the session's personalised passport; tests that need another
    card put it on the second and take it away when done.
    """

    port: int
    readers: tuple[str, str]
    folder: Path


def start_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PcscStack]:
    """pcscd with the vpcd driver, installed with apt-get when missing and allowed: the body of
    the session's one ``pcsc_stack`` fixture (``tests/conftest.py``), which the chip tests and
    the station's share, since a machine has one pcscd."""
    missing = _missing_parts()
    if missing:
        _install(missing)
        missing = _missing_parts()
    if missing:
        _unavailable(
            f"the virtual card stack is incomplete (missing {', '.join(missing)}): "
            f"apt-get install {' '.join(PACKAGES)}"
        )
    folder = tmp_path_factory.mktemp("pcsc")
    daemon: subprocess.Popen[bytes] | None = None
    if _service_running():
        port = DEFAULT_VPCD_PORT
        if not _listening(port):
            _unavailable(
                "a pcscd is already running without the vpcd reader (nothing listens on port "
                f"{port}): restart it after installing vsmartcard-vpcd, or stop it so the tests "
                "start their own"
            )
    else:
        port = _free_port()
        config = folder / "reader.conf.d"
        config.mkdir()
        (config / "vpcd").write_text(
            f'FRIENDLYNAME "Virtual PCD"\nDEVICENAME /dev/null:{port}\n'
            f"LIBPATH {VPCD_DRIVER}\nCHANNELID {port}\n"
        )
        log = (folder / "pcscd.log").open("wb")
        pcscd = shutil.which("pcscd") or "/usr/sbin/pcscd"
        daemon = subprocess.Popen([pcscd, "--foreground", "--config", str(config)], stdout=log, stderr=log)
        deadline = time.monotonic() + 10
        while not (_service_running() and _listening(port)):
            if daemon.poll() is not None or time.monotonic() > deadline:
                daemon.kill()
                _unavailable(f"pcscd did not start: {(folder / 'pcscd.log').read_text()[-2000:]}")
            time.sleep(0.05)
    from impostor.card import pcsc

    names = [reader.name for reader in pcsc.list_readers()]
    readers = [name for name in names if name.startswith("Virtual PCD")]
    if len(readers) < 2:
        _unavailable(f"pcscd lists fewer than two vpcd readers (it lists {names})")
    try:
        yield PcscStack(port, (readers[0], readers[1]), folder)
    finally:
        if daemon is not None:
            daemon.terminate()
            try:
                daemon.wait(10)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait(10)


@dataclass(frozen=True)
class RunningCard:
    """A vicc carrying ``passport`` on the stack's first vpcd reader."""

    passport: virtual.Passport
    process: subprocess.Popen[str]
    reader: str

    def stop(self) -> None:
        """Take the card away, and wait until pcscd has seen it go (it polls vpcd)."""
        from impostor.card import pcsc

        if self.process.poll() is None:
            virtual.stop_card(self.process)
            pcsc.wait_for_removal(self.reader, timeout=5)


def insert(
    stack: PcscStack, passport: virtual.Passport, name: str, *, slot: int = 1, extended: bool = True
) -> RunningCard:
    """Start vicc with ``passport`` on reader ``slot`` (0 or 1) and wait until pcscd sees the
    card; the caller stops it."""
    from impostor.card import pcsc
    from impostor.errors import CardTimeout

    folder = virtual.write_card(passport, stack.folder / name)
    process = virtual.start_card(folder, stack.port + slot, extended=extended)
    reader = stack.readers[slot]
    try:
        pcsc.wait_for_card(reader, timeout=10)
    except CardTimeout:
        virtual.stop_card(process)
        _, errors = process.communicate()
        pytest.fail(f"vicc did not come up on {reader!r}: {errors[-2000:]}")
    return RunningCard(passport, process, reader)


@pytest.fixture(scope="session")
def face_jpeg(data_dir: Path) -> bytes:
    """An LFW face (250 × 250 JPEG) to personalise the virtual passport with."""
    return (data_dir / "lfw" / "lfw" / "Aaron_Eckhart" / "Aaron_Eckhart_0001.jpg").read_bytes()


@pytest.fixture(scope="session")
def passport(face_jpeg: bytes) -> virtual.Passport:
    """A passport of our own: LFW face in DG2, a TD3 MRZ in DG1, an EF.SOD under a test CSCA."""
    return virtual.personalise(face_jpeg)


@pytest.fixture(scope="module")
def card(pcsc_stack: PcscStack, passport: virtual.Passport) -> Iterator[RunningCard]:
    """The personalised passport on the first virtual reader for a module's tests (with extended
    length); taken off after them, so the station's tests find that reader free."""
    running = insert(pcsc_stack, passport, "personalised", slot=0)
    yield running
    running.stop()
