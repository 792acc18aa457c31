"""The ONNX engine against dlib itself: the same embeddings on real faces, the same decisions on
every faces-dev pair, the CNN face detector's same boxes and confidences, a weights file that is
not the network expected refused in one line, and a cached graph rebuilt when its file changes."""

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

from impostor.cli import main
from impostor.engine import weights
from impostor.engine.mmod_dat import read_detector
from impostor.engine.mmod_onnx import DETECTOR_FILE
from impostor.engine.mmod_onnx import graph_file as detector_graph
from impostor.engine.resnet_dat import read_network
from impostor.engine.resnet_onnx import RESNET_FILE, graph_file
from impostor.errors import ModelFileError
from impostor.pipeline.profile import load_profile
from impostor.pipeline.verifier import Verifier
from impostor.qa.engines import compare_detectors
from impostor.stages.capture import load_image
from impostor.stages.embed import DlibEmbedder, OnnxEmbedder


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


# LFW View 2 photos on which HOG finds no face and the CNN does (shadowed, turned, blurred)
HOG_MISSES = ("Chan_Ho_Park/Chan_Ho_Park_0001.jpg", "Jane_Fonda/Jane_Fonda_0002.jpg")


def test_the_onnx_cnn_detector_finds_what_dlibs_finds(faces_dev: Path, data_dir: Path) -> None:
    """The same boxes to the pixel and confidences to 1e-3 on real photos, searched as they
    are and upsampled once (a different pyramid, and dlib's rounding back down)."""
    photos = sorted(faces_dev.glob("*/*.jpg"))[::11]
    upright = compare_detectors([load_image(path).pixels for path in photos])
    assert upright.images >= 8 and upright.faces >= upright.images - 1, upright
    assert upright.agrees, upright
    lfw = data_dir / "lfw" / "lfw"
    enlarged = compare_detectors([load_image(lfw / name).pixels for name in HOG_MISSES], upsample=1)
    assert enlarged.faces >= 2 and enlarged.agrees, enlarged
    assert upright.onnx_ms * 5 < upright.dlib_ms, upright


def test_the_cnn_finds_the_faces_hog_misses_in_every_search(data_dir: Path) -> None:
    verifier = Verifier(flip=False)
    for name in HOG_MISSES:
        image = load_image(data_dir / "lfw" / "lfw" / name)
        assert not Verifier(detector="hog").locate(image, "face", search="thorough").boxes, name
        for search in ("exhaustive", "thorough"):
            located = verifier.locate(image, "live", search=search)  # type: ignore[arg-type]
            assert located.detector == "cnn" and located.chip is not None, (name, search)


def _copy(tmp_path: Path, name: str = RESNET_FILE) -> tuple[Path, bytes]:
    source = weights.model_path(name)
    copy = tmp_path / name
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


def test_a_file_that_is_not_the_detector_is_refused_in_one_line(tmp_path: Path) -> None:
    copy, data = _copy(tmp_path, DETECTOR_FILE)
    broken = {
        "truncated": (data[:-100], "ends"),
        "trailing bytes": (data + b"\x00", "bytes after the last layer"),
        "renamed layer": (
            data.replace(b"\x01\x07bn_con2", b"\x01\x07bn_conX", 1),
            "'bn_conX' where 'bn_con2'",
        ),
        # the detection window, 80 × 80 → 80 × 81: every layer would still parse
        "another window": (data.replace(b"\x01\x01\x01P\x01P", b"\x01\x01\x01P\x01Q", 1), "80×81, not 80×80"),
        "empty": (b"", "ends early"),
    }
    for what, (content, message) in broken.items():
        copy.write_bytes(content)
        with pytest.raises(ModelFileError, match=re.escape(message)) as raised:
            read_detector(copy)
        assert "\n" not in str(raised.value), what
    for foreign in ("shape_predictor_5_face_landmarks.dat", RESNET_FILE):
        with pytest.raises(ModelFileError, match="not dlib's CNN face detector"):
            read_detector(weights.model_path(foreign))
    network = read_detector(weights.model_path(DETECTOR_FILE))
    assert network.window == (80, 80) and len(network.layers) == 7


def test_a_cached_detector_graph_is_rebuilt_when_its_file_changes(tmp_path: Path) -> None:
    copy, data = _copy(tmp_path, DETECTOR_FILE)
    first = detector_graph(copy)
    assert detector_graph(copy) == first
    changed = bytearray(data)
    changed[-2000] ^= 0x01  # a weight of the last convolution
    copy.write_bytes(bytes(changed))
    assert detector_graph(copy) != first


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
    assert "the CNN face detectors agree on 8 photos" in checked.output


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


def test_jitters_run_in_the_onnx_engine_the_same_every_time(faces_dev: Path) -> None:
    """Jittered copies are drawn alike for every chip and every call, the mean of their
    embeddings stays near the chip's own, and 0 and 1 mean the chip as it is (as in dlib)."""
    from impostor.stages.embed import jittered

    chip = Verifier(detector="hog").locate(faces_dev / "Barack_Obama" / "fr_obama.jpg", "face").chip
    assert chip is not None
    copies = jittered(chip, 5)
    assert len(copies) == 5 and all(c.shape == chip.shape and c.dtype == np.uint8 for c in copies)
    assert all(np.array_equal(a, b) for a, b in zip(copies, jittered(chip, 5), strict=True))
    assert len({c.tobytes() for c in copies}) == 5
    engine = OnnxEmbedder()
    plain = engine.embed([chip])
    assert np.array_equal(engine.embed([chip], 1), plain) and np.array_equal(engine.embed([chip], 0), plain)
    mean = engine.embed([chip, chip], 5)
    assert np.array_equal(mean[0], mean[1])
    assert 0.0 < float(np.linalg.norm(mean[0] - plain[0])) < 0.25


def test_a_detector_is_chosen_once_by_name_and_a_verifier_takes_one(faces_dev: Path) -> None:
    """Each backend is one class behind the ``Detector`` interface; a verifier given the object
    finds what the name finds, and a name or object that is no detector is refused at once."""
    from impostor.engine.detectors import CnnDetector, Detector, HogDetector, detector_named

    hog, cnn = detector_named("hog"), detector_named("cnn")
    assert isinstance(hog, HogDetector) and isinstance(cnn, CnnDetector)
    assert isinstance(hog, Detector) and isinstance(cnn, Detector)
    assert (hog.name, hog.fast, hog.margin_scores) == ("hog", True, True)
    assert (cnn.name, cnn.fast, cnn.margin_scores) == ("cnn", False, False)
    refused: tuple[object, ...] = ("auto", "sift", None)
    for bad in refused:
        with pytest.raises(ValueError, match="detector must be one of hog, cnn"):
            detector_named(bad)  # type: ignore[arg-type]
    for bad in ("sift", None, 3):
        with pytest.raises(ValueError, match="detector must be 'hog', 'cnn' or 'auto'"):
            Verifier(detector=bad)  # type: ignore[arg-type]
    photo = faces_dev / "Barack_Obama" / "fr_obama.jpg"
    by_name, by_object = Verifier(detector="hog"), Verifier(detector=HogDetector())
    assert by_name.detector == by_object.detector == "hog" and Verifier().detector == "auto"
    named, given = by_name.locate(photo, "face"), by_object.locate(photo, "face")
    assert named.boxes == given.boxes and given.detector == "hog"
    assert given.chip is not None and named.chip is not None and np.array_equal(named.chip, given.chip)
