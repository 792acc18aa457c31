"""Shared fixtures: real faces from ../shared/data and from packages, and one warm verifier.

Tests that need ``../shared/data`` (or ``IMPOSTOR_DATA``) fail when it is missing under CI
(``CI=true``) and are skipped with a clear message elsewhere. Browser tests use Debian's
Chromium; where it is missing and the run may install system packages (root with apt-get), the
``chromium`` fixture installs it, so ``uv run pytest`` on a fresh machine needs nothing else.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
import pytest

from impostor import settings
from impostor.pipeline.verifier import Verifier

if TYPE_CHECKING:
    from tests.card.conftest import PcscStack

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = Path(str(settings.get("data_dir")))
    if not (path / "faces-dev").is_dir():
        message = f"real face data not found at {path}: set IMPOSTOR_DATA to the shared data folder"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def faces_dev(data_dir: Path) -> Path:
    return data_dir / "faces-dev"


@pytest.fixture(scope="session")
def extras(data_dir: Path) -> Path:
    return data_dir / "faces-dev-extras"


CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium for browser tests, installed with apt-get when missing and allowed."""
    if not CHROMIUM.exists() and shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        print("\ninstalling Debian's chromium for the browser tests (apt-get)", flush=True)
        for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
            subprocess.run(
                command,
                check=False,
                capture_output=True,
                env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            )
    if not CHROMIUM.exists():
        message = f"Chromium not found at {CHROMIUM}: install Debian's chromium package for the browser tests"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """Eileen Collins (NASA, public domain), RGB 512 × 512, shipped inside scikit-image."""
    from skimage import data

    return np.ascontiguousarray(data.astronaut())


@pytest.fixture(scope="session")
def grace_hopper() -> np.ndarray:
    """Grace Hopper (public domain), RGB 600 × 512, shipped inside matplotlib."""
    import matplotlib.cbook

    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as handle:
        encoded = np.frombuffer(handle.read(), dtype=np.uint8)
    return cv2.cvtColor(cv2.imdecode(encoded, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


@pytest.fixture(scope="session")
def verifier() -> Verifier:
    """One verifier with the shipped profile, shared so models load once per test run."""
    return Verifier()


@pytest.fixture(scope="session")
def embedding_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One embedding cache for the whole run: faces-dev is embedded once, then answered from it.

    Every test that embeds a data set with the default pipeline (benchmark, calibrate, practice
    build) goes through it; tests of the embedding itself use their own or none.
    """
    return tmp_path_factory.mktemp("embeddings") / "embeddings.sqlite"


@pytest.fixture(autouse=True)
def cache_setting(embedding_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands that use the IMPOSTOR_CACHE folder use the run's shared cache, never the user's."""
    monkeypatch.setenv("IMPOSTOR_CACHE", str(embedding_cache.parent))


@pytest.fixture(autouse=True)
def audit_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The audit log of this test: never the user's own (``compare`` logs by default)."""
    path = tmp_path / "audit.sqlite"
    monkeypatch.setenv("IMPOSTOR_AUDIT_DB", str(path))
    return path


@pytest.fixture(scope="session")
def pcsc_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PcscStack]:
    """A real PC/SC stack for the chip tests: pcscd with vsmartcard's virtual reader, started
    once for the whole session (one pcscd per machine), installed with apt-get when missing."""
    from tests.card.conftest import start_stack

    yield from start_stack(tmp_path_factory)
