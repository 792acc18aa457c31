"""The built wheel works where a new user installs it: a fresh virtual environment, another folder.

The wheel is built with uv (the project's own tool) and installed as a newcomer installs it:
plain ``pip install`` in a fresh ``python -m venv``, with no override, which must compile
nothing (dlib comes prebuilt as ``dlib-bin``; ``face_recognition``, whose dlib is a source
build, is only the benchmarks' baseline). The installed ``impostor`` command then compares the
bundled samples from a folder outside the checkout, so nothing can be found by accident in the
working tree.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _uv() -> str:
    found = shutil.which("uv")
    if found is None:
        pytest.fail("uv is not on PATH: the README's set-up installs it (pip install uv)")
    return found


def _run(*command: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    # a clean environment: no VIRTUAL_ENV of the test run's own, no project settings
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "IMPOSTOR_", "UV_PROJECT"))
    }
    result = subprocess.run(
        [str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, f"{command}:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    _run(_uv(), "build", "--wheel", "--out-dir", out, ROOT, cwd=ROOT)
    (built,) = out.glob("impostor-*.whl")
    return built


def test_the_wheel_holds_the_package_and_its_data_only(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names}
    assert tops == {"impostor", next(t for t in tops if t.endswith(".dist-info"))}, tops
    for data in (
        "impostor/data/default_profile.json",
        "impostor/data/document_profile.json",
        "impostor/data/limits.json",
        "impostor/data/chip_profile.json",
        "impostor/data/substitution.json",
        "impostor/practice/locales/es.json",
        "impostor/practice/static/index.html",
        "impostor/station/static/index.html",
        "impostor/web/static/kit.js",
        "impostor/web/static/kit.css",
        "impostor/practice/norms.json",
    ):
        assert data in names, f"{data} is missing from the wheel"
    entry_points = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt")))
    assert b"impostor = impostor.cli:main" in entry_points


def test_plain_pip_installs_the_wheel_without_compiling_and_it_compares_the_samples(
    wheel: Path, tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    installed = _run(python, "-m", "pip", "install", "--no-input", wheel, cwd=tmp_path)
    said = installed.stdout + installed.stderr
    assert "Building wheel for dlib" not in said and "cmake" not in said.lower(), said[-2000:]
    listed = _run(python, "-m", "pip", "list", "--format", "freeze", cwd=tmp_path).stdout.lower()
    names = {line.split("==")[0] for line in listed.splitlines()}
    assert "dlib-bin" in names and "dlib" not in names and "face-recognition" not in names, names
    # a counter PC or a server has no use for OpenCV's windows (and their Qt and X libraries)
    assert "opencv-python-headless" in names and "opencv-python" not in names, names
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for name in ("document.png", "live_genuine.jpg"):
        shutil.copy(ROOT / "samples" / name, elsewhere / name)
    result = _run(
        venv / "bin" / "impostor", "compare", "document.png", "live_genuine.jpg", "--no-audit", cwd=elsewhere
    )
    assert result.stdout.startswith("MATCH"), result.stdout
    assert "profile default" in result.stdout
    # Dask is an extra: without it, a cluster run says what to install, in one line
    for person, name in (("collins", "document.png"), ("collins", "live_genuine.jpg"), ("hopper", "h.jpg")):
        (elsewhere / "people" / person).mkdir(parents=True, exist_ok=True)
        shutil.copy(
            ROOT / "samples" / ("live_impostor.jpg" if person == "hopper" else name),
            elsewhere / "people" / person / name,
        )
    cluster = subprocess.run(
        [
            venv / "bin" / "impostor",
            "benchmark",
            "people",
            "--scheduler",
            "tcp://127.0.0.1:9",
            "--no-cache",
            "--out",
            "out",
        ],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert cluster.returncode == 13 and "impostor[cluster]" in cluster.stderr, cluster.stderr
    assert "Traceback" not in cluster.stderr
