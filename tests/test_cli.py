"""The command line through click's runner: decisions, exit codes, JSON, pictures and errors."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner, Result

from impostor.cli import main
from impostor.types import RGBImage

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
DOCUMENT = str(SAMPLES / "document.png")
GENUINE = str(SAMPLES / "live_genuine.jpg")


def compare(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    """Run ``impostor compare``; whatever happens, no traceback reaches the officer."""
    result = CliRunner().invoke(main, ["compare", *map(str, args)], env=env)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def one_line_error(result: Result, kind: str) -> str:
    """The error message on stderr: exactly one line, ``Kind: message``."""
    message = result.stderr.strip()
    assert message.startswith(f"{kind}: "), result.output
    assert "\n" not in message, result.output
    return message


def write_rgb(path: Path, rgb: RGBImage) -> Path:
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return path


# -- decisions -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("live", "decision", "code"),
    [
        ("live_genuine.jpg", "MATCH", 0),
        ("live_impostor.jpg", "NO_MATCH", 1),
        ("live_two_faces.jpg", "REFER", 3),
    ],
)
def test_compare_samples(live: str, decision: str, code: int) -> None:
    result = compare(DOCUMENT, SAMPLES / live)
    assert result.exit_code == code, result.output
    first = result.stdout.splitlines()[0]
    assert first.split()[0] == decision
    assert "profile default" in result.stdout
    assert result.stderr == ""


def test_refer_lists_its_reasons() -> None:
    result = compare(DOCUMENT, SAMPLES / "live_two_faces.jpg")
    assert result.exit_code == 3, result.output
    assert "reasons:" in result.stdout
    assert "more than one face in view" in result.stdout
    assert "2 faces in view" in result.stdout


def test_no_face_is_a_refer_not_an_error(tmp_path: Path) -> None:
    ramp = np.tile(np.linspace(0, 255, 128).astype(np.uint8), (96, 1))  # small: every rotation and the CNN
    wall = write_rgb(tmp_path / "wall.png", np.dstack([ramp, ramp, ramp]))
    result = compare(DOCUMENT, wall)
    assert result.exit_code == 3, result.output
    assert "no face found" in result.stdout


def test_json_is_one_object_with_the_fields() -> None:
    result = compare(DOCUMENT, GENUINE, "--json")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["decision"] == "MATCH"
    assert 0.5 < record["probability"] <= 1.0
    assert 0.0 <= record["distance"] <= record["thresholds"]["accept_distance"]
    assert record["reasons"] == [] and record["reason_codes"] == []
    for side in ("document", "live"):
        assert record[side]["box"]["width"] > 0
        assert len(record[side]["landmarks"]) == 5
        assert record[side]["face_size_px"]["inter_eye_distance"] > 0
    assert record["live"]["image"]["source"] == GENUINE
    assert set(record["profile"]) >= {"name", "version"}
    assert "total" in record["timings_ms"]


def test_json_refer_carries_reason_codes() -> None:
    result = compare(DOCUMENT, SAMPLES / "live_two_faces.jpg", "--json")
    assert result.exit_code == 3, result.output
    record = json.loads(result.stdout)
    assert record["decision"] == "REFER"
    assert "live_multiple_faces" in record["reason_codes"]
    assert all(isinstance(reason, str) for reason in record["reasons"])


def test_composite_is_written(tmp_path: Path) -> None:
    target = tmp_path / "out.png"
    result = compare(DOCUMENT, GENUINE, "--composite", target)
    assert result.exit_code == 0, result.output
    assert f"composite written to {target}" in result.stdout
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    picture = cv2.imread(str(target))
    assert picture is not None and picture.shape[1] == 640


# -- live images in other forms ------------------------------------------------------------


def test_live_image_formats_from_the_astronaut(astronaut: RGBImage, tmp_path: Path) -> None:
    # enlarged 1.5×: at 512 px her eyes are 43 px apart, under the live photo's 50 px minimum
    astronaut = cv2.resize(astronaut, None, fx=1.5, fy=1.5, interpolation=cv2.INTER_CUBIC)
    grey = cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY)
    alpha = np.full(astronaut.shape[:2], 255, dtype=np.uint8)
    alpha[:40] = 0  # a transparent strip at the top, well above the face
    forms = {
        "grey.png": (grey, "grey", 8),
        "rgba.png": (np.dstack([astronaut[:, :, ::-1], alpha]), "rgba", 8),  # OpenCV writes BGRA
        "rgb16.png": (astronaut[:, :, ::-1].astype(np.uint16) * 257, "rgb", 16),
        "grey16.png": (grey.astype(np.uint16) * 257, "grey", 16),
    }
    for name, (pixels, mode, depth) in forms.items():
        path = tmp_path / name
        assert cv2.imwrite(str(path), pixels)
        result = compare(DOCUMENT, path, "--json")
        record = json.loads(result.stdout)
        if mode == "grey":
            # read and compared, but a grey live photo fails its colour gate: take it again
            assert result.exit_code == 3, (name, result.output)
            assert record["reason_codes"] == ["live_colour"], name
        else:
            assert result.exit_code == 0, (name, result.output)
            assert record["decision"] == "MATCH", name
        assert (record["live"]["image"]["mode"], record["live"]["image"]["bit_depth"]) == (mode, depth), name


# -- errors and their exit codes -----------------------------------------------------------


def test_missing_image_exits_4(tmp_path: Path) -> None:
    result = compare(DOCUMENT, tmp_path / "nobody.jpg")
    assert result.exit_code == 4, result.output
    assert "nobody.jpg" in one_line_error(result, "ImageNotFound")
    result = compare(tmp_path / "no_document.png", GENUINE)
    assert result.exit_code == 4, result.output


def test_text_file_exits_5(tmp_path: Path) -> None:
    notes = tmp_path / "notes.jpg"
    notes.write_text("not a photograph\n")
    result = compare(DOCUMENT, notes)
    assert result.exit_code == 5, result.output
    one_line_error(result, "NotAnImage")


def test_oversize_image_exits_6() -> None:
    result = compare(DOCUMENT, GENUINE, env={"IMPOSTOR_MAX_PIXELS": "10000"})
    assert result.exit_code == 6, result.output
    assert "IMPOSTOR_MAX_PIXELS" in one_line_error(result, "ImageTooLarge")


def test_tiny_image_exits_7(tmp_path: Path) -> None:
    tiny = write_rgb(tmp_path / "tiny.png", np.full((10, 10, 3), 128, dtype=np.uint8))
    result = compare(DOCUMENT, tiny)
    assert result.exit_code == 7, result.output
    assert "10×10" in one_line_error(result, "UnsupportedImage")


def test_missing_video_exits_8(tmp_path: Path) -> None:
    result = compare(DOCUMENT, "--video", tmp_path / "clip.avi")
    assert result.exit_code == 8, result.output
    one_line_error(result, "CaptureError")


@pytest.mark.parametrize(
    "content",
    ['{"schema": "impostor.profile/1", "name": "broken"}', "not json at all", None],
    ids=["missing-fields", "not-json", "missing-file"],
)
def test_bad_profile_exits_9(tmp_path: Path, content: str | None) -> None:
    profile = tmp_path / "profile.json"
    if content is not None:
        profile.write_text(content)
    result = compare(DOCUMENT, GENUINE, "--profile", profile)
    assert result.exit_code == 9, result.output
    assert str(profile) in one_line_error(result, "ProfileError")
    assert result.stdout == ""


def test_composite_to_a_missing_folder_exits_10(tmp_path: Path) -> None:
    result = compare(DOCUMENT, GENUINE, "--composite", tmp_path / "missing" / "out.png")
    assert result.exit_code == 10, result.output
    one_line_error(result, "OutputError")
    assert not (tmp_path / "missing").exists()


@pytest.mark.parametrize(
    "args",
    [
        [DOCUMENT, GENUINE, "--video", GENUINE],
        [DOCUMENT],
        [DOCUMENT, GENUINE, "--camera", "0"],
    ],
    ids=["live-and-video", "neither", "live-and-camera"],
)
def test_one_live_source_exactly_or_exit_2(args: list[str]) -> None:
    result = compare(*args)
    assert result.exit_code == 2, result.output
    assert "exactly one of LIVE, --camera INDEX or --video FILE" in result.output


def test_a_chip_is_a_folder_or_a_reader_for_one_document(tmp_path: Path) -> None:
    both = compare(DOCUMENT, GENUINE, "--chip", tmp_path, "--chip-reader", "0", "--no-audit")
    assert both.exit_code == 2 and "not both" in both.output, both.output
    listed = compare("--pairs", tmp_path / "list.csv", "--out", tmp_path / "out.csv", "--chip", tmp_path)
    assert listed.exit_code == 2 and "not --pairs" in listed.output, listed.output
    missing = compare(DOCUMENT, GENUINE, "--chip", tmp_path / "no-such-folder", "--no-audit")
    assert missing.exit_code == 2, missing.output


def test_a_folder_with_no_chip_file_is_a_document_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a chip")
    result = compare(DOCUMENT, GENUINE, "--chip", tmp_path, "--no-audit")
    assert result.exit_code == 19, result.output
    assert "no chip file here" in one_line_error(result, "DocumentError")


def test_bad_option_value_exits_2() -> None:
    result = compare(DOCUMENT, GENUINE, "--detector", "magic")
    assert result.exit_code == 2, result.output


def test_json_errors_are_json(tmp_path: Path) -> None:
    result = compare(DOCUMENT, tmp_path / "nobody.jpg", "--json")
    assert result.exit_code == 4, result.output
    error = json.loads(result.stdout)["error"]
    assert error["type"] == "ImageNotFound"
    assert error["exit_code"] == 4
    assert "nobody.jpg" in error["message"]
    one_line_error(result, "ImageNotFound")  # and still one line for a person watching stderr


def test_help_names_the_live_sources() -> None:
    result = CliRunner().invoke(main, ["compare", "--help"])
    assert result.exit_code == 0, result.output
    assert "--video" in result.output and "--camera" in result.output


# -- the installed command -----------------------------------------------------------------


def test_console_script_is_wired() -> None:
    script = Path(sys.executable).parent / "impostor"
    assert script.is_file(), f"{script} missing: run `uv sync`"
    done = subprocess.run(
        [str(script), "compare", "samples/document.png", "samples/live_genuine.jpg"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("MATCH")
    assert "Traceback" not in done.stderr


# -- every file a command reads is a regular file of bounded size --------------------------


def run_bounded(*args: str | Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """The command line in a child process held to a deadline and 3 GB of address space, so that a
    read that blocks on a FIFO or never ends on a device fails the test instead of the machine."""

    def limit_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))

    return subprocess.run(
        [sys.executable, "-c", "from impostor.cli import main; main()", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        preexec_fn=limit_memory,
    )


@pytest.fixture(params=["fifo", "/dev/zero"])
def unreadable(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """A path no command may read: a FIFO nobody writes to (it would block), or /dev/zero (endless)."""
    if request.param == "fifo":
        os.mkfifo(tmp_path / "list.csv")
        return tmp_path / "list.csv"
    return Path(request.param)


@pytest.mark.parametrize(
    ("command", "code", "kind"),
    [
        (["compare", "--pairs", "PATH", "--out", "OUT/decisions.csv", "--no-audit"], 12, "DatasetError"),
        (["benchmark", "--pairs", "PATH", "--out", "OUT/report", "--quiet"], 12, "DatasetError"),
        (["benchmark", "DEV", "--pairs", "PATH", "--out", "OUT/report", "--quiet"], 12, "DatasetError"),
        (
            [
                "calibrate",
                "DEV",
                "--pairs",
                "DEV/pairs.csv",
                "--heldout-pairs",
                "PATH",
                "--out",
                "OUT/p.json",
            ],
            12,
            "DatasetError",
        ),
        (["document", DOCUMENT, "--csca", "PATH"], 19, "DocumentError"),
    ],
    ids=["compare-pairs", "benchmark-pairs-alone", "benchmark-pairs", "calibrate-heldout", "document-csca"],
)
def test_a_fifo_or_a_device_as_a_path_option_is_refused_at_once(
    unreadable: Path, faces_dev: Path, tmp_path: Path, command: list[str], code: int, kind: str
) -> None:
    words = [
        word.replace("PATH", str(unreadable)).replace("OUT", str(tmp_path)).replace("DEV", str(faces_dev))
        for word in command
    ]
    done = run_bounded(*words)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == code, done.stderr
    assert len(lines) == 1 and lines[0].startswith(f"{kind}: "), done.stderr
    assert "not a regular file" in lines[0] and str(unreadable) in lines[0], lines[0]


def test_a_fifo_as_a_tls_file_is_refused_at_once(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "station.pem")
    fifo = str(tmp_path / "station.pem")
    done = run_bounded("station", "--certfile", fifo, "--keyfile", fifo, "--db", tmp_path / "s.sqlite")
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "not a regular file" in done.stderr, done.stderr
