"""The ONNX engine against dlib itself: the same embeddings on real faces, the same decisions on
every faces-dev pair, a weights file that is not dlib's face network refused in one line, and a
cached graph rebuilt when its weights file changes."""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from impostor import weights
from impostor.cli import main
from impostor.embed import DlibEmbedder, OnnxEmbedder
from impostor.errors import ModelFileError
from impostor.pipeline import Verifier
from impostor.profile import load_profile
from impostor.resnet_dat import read_network
from impostor.resnet_onnx import RESNET_FILE, graph_file


@pytest.fixture(scope="module")
def faces(faces_dev: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each faces-dev photo's embedding by ONNX Runtime and by dlib."""
    with (faces_dev / "pairs_all.csv").open(newline="") as handle:
        names = sorted({name for row in csv.DictReader(handle) for name in (row["a"], row["b"])})
    locator = Verifier(embedder=DlibEmbedder())
    chips = {name: locator.locate(faces_dev / name, "face").chip for name in names}
    found = [name for name, chip in chips.items() if chip is not None]
    ours = OnnxEmbedder().embed([chips[name] for name in found])
    theirs = DlibEmbedder().embed([chips[name] for name in found])
    return {name: (ours[i], theirs[i]) for i, name in enumerate(found)}


def test_onnx_embeddings_equal_dlibs_on_real_faces(faces: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
    assert len(faces) >= 50
    worst = max(float(np.abs(ours - theirs).max()) for ours, theirs in faces.values())
    assert worst <= 1e-5, worst


def test_every_faces_dev_pair_gets_the_same_decision_with_either_engine(
    faces: dict[str, tuple[np.ndarray, np.ndarray]], faces_dev: Path
) -> None:
    profile = load_profile()

    def decision(distance: float) -> str:
        if distance <= profile.accept_distance:
            return "MATCH"
        return "NO_MATCH" if distance > profile.reject_distance else "REFER"

    with (faces_dev / "pairs_all.csv").open(newline="") as handle:
        pairs = [
            (row["a"], row["b"]) for row in csv.DictReader(handle) if row["a"] in faces and row["b"] in faces
        ]
    assert len(pairs) > 3000
    for engine in (0, 1):
        distances = [float(np.linalg.norm(faces[a][engine] - faces[b][engine])) for a, b in pairs]
        if engine == 0:
            onnx = [decision(d) for d in distances]
        else:
            assert onnx == [decision(d) for d in distances]


def _copy(tmp_path: Path) -> tuple[Path, bytes]:
    source = weights.model_path(RESNET_FILE)
    copy = tmp_path / RESNET_FILE
    shutil.copy(source, copy)
    return copy, copy.read_bytes()


def test_a_file_that_is_not_the_network_is_refused_in_one_line(tmp_path: Path) -> None:
    copy, data = _copy(tmp_path)
    broken = {
        "truncated": (data[:-100], "ends"),
        "trailing bytes": (data + b"\x00", "bytes after the last layer"),
        "renamed layer": (
            data.replace(b"\x01\x07affine_", b"\x01\x07affinx_", 1),
            "'affinx_' where 'affine_'",
        ),
        # the first convolution's stride, 2 → 1: another network, though every layer parses
        "another stride": (
            data.replace(
                b"\x01 \x01\x07\x01\x07\x01\x02\x01\x02", b"\x01 \x01\x07\x01\x07\x01\x01\x01\x01", 1
            ),
            "not (32, 7, 2, 0)",
        ),
        "empty": (b"", "ends early"),
    }
    for what, (content, message) in broken.items():
        copy.write_bytes(content)
        with pytest.raises(ModelFileError, match=re.escape(message)) as raised:
            read_network(copy)
        assert "\n" not in str(raised.value), what
    for foreign in ("shape_predictor_5_face_landmarks.dat", "mmod_human_face_detector.dat"):
        with pytest.raises(ModelFileError, match="not dlib's face network"):
            read_network(weights.model_path(foreign))


def test_a_cached_graph_is_rebuilt_when_its_weights_file_changes(tmp_path: Path) -> None:
    copy, data = _copy(tmp_path)
    first = graph_file(copy)
    assert graph_file(copy) == first  # the cache answers
    # one weight changed, deep in the last layer: the same network, other numbers
    changed = bytearray(data)
    changed[-500] ^= 0x01
    copy.write_bytes(bytes(changed))
    second = graph_file(copy)
    assert second != first and second.is_file()


def test_the_models_commands(tmp_path: Path) -> None:
    runner = CliRunner()
    built = runner.invoke(main, ["models", "build"])
    assert built.exit_code == 0 and ".onnx" in built.output
    checked = runner.invoke(main, ["models", "check"])
    assert checked.exit_code == 0 and "the engines agree on 8 faces" in checked.output


def test_a_device_without_cuda_is_one_line_and_cpu_says_its_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    import onnxruntime

    monkeypatch.setenv("IMPOSTOR_DEVICE", "auto")  # --device sets it for the process: restored after
    runner = CliRunner()
    checked = runner.invoke(main, ["models", "check", "--device", "cpu", "--json"])
    assert checked.exit_code == 0, checked.output
    assert '"onnx_provider": "CPUExecutionProvider"' in checked.output
    if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
        refused = subprocess.run(
            [str(Path(sys.executable).with_name("impostor")), "models", "check", "--device", "cuda"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert refused.returncode == 2 and refused.stderr.count("\n") == 1
        assert "impostor[gpu]" in refused.stderr
