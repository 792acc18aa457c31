"""What a hostile or careless user feeds the tool: every input here is one a review found to
crash, hang, exhaust memory or pass silently, written by the test itself.

Each is expected to end in the error catalogue (a one-line ``Type: message`` and its exit code)
or in a REFER with a reason, never in a traceback, a signal or an allocation of gigabytes.
Commands that could crash the interpreter run in a child process.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from impostor.capture import load_image, open_stream
from impostor.cli import main
from impostor.errors import CaptureError, ImageNotFound, ImageTooLarge, NotAnImage, ProfileError
from impostor.pipeline import Verifier
from impostor.profile import load_profile
from impostor.types import Decision

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
DOCUMENT = SAMPLES / "document.png"
GENUINE = SAMPLES / "live_genuine.jpg"


def run_cli(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The command line in a child process: a crash there is an exit code here, not a dead run."""
    return subprocess.run(
        [sys.executable, "-c", "from impostor.cli import main; main()", *map(str, args), "--no-audit"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {lines}"
    return lines[0]


# -- crashes and runaway resources ---------------------------------------------------------------


@pytest.mark.parametrize("shape", [(32, 3000), (3000, 32)], ids=["wide", "tall"])
def test_a_thin_image_is_a_refer_not_a_crash(tmp_path: Path, shape: tuple[int, int]) -> None:
    # 32 px passes the size minimum; shrunk to 7 × 640 for detection it crashed dlib's CNN
    path = tmp_path / "thin.png"
    cv2.imwrite(str(path), np.full(shape, 128, dtype=np.uint8))
    result = run_cli("compare", DOCUMENT, path)
    assert result.returncode == 3, result.stderr
    assert "no face found" in result.stdout


def test_a_negative_camera_index_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["compare", str(DOCUMENT), "--camera", "-1"])
    assert result.exit_code == 2
    assert one_line(result.stderr).startswith("UsageError: ") and "--camera" in result.stderr
    with pytest.raises(CaptureError, match="no such camera"), open_stream(-1):
        pass


def test_decoding_holds_to_the_memory_budget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 16-bit RGBA PNG of 16 MP (a few kilobytes) took gigabytes in wide temporaries."""
    path = tmp_path / "wide16.png"
    cv2.imwrite(str(path), np.zeros((4000, 4000, 4), dtype=np.uint16))
    assert path.stat().st_size < 200_000
    code = (
        "import resource, sys; from impostor.capture import load_image; "
        "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss; "
        f"image = load_image({str(path)!r}); "
        "print(base, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    before, after = (int(v) * 1024 for v in done.stdout.split())
    decoded, output = 4000 * 4000 * 4 * 2, 4000 * 4000 * 3
    # the decoded array, its 8-bit copy and bounded blocks; not several wide copies
    assert after - before < decoded + output + 100 * 2**20, (after - before) / 2**20
    monkeypatch.setenv("IMPOSTOR_DECODE_MEMORY_MB", "64")
    with pytest.raises(ImageTooLarge, match="IMPOSTOR_DECODE_MEMORY_MB"):
        load_image(path)


def test_a_float64_tiff_is_measured_from_its_header(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Pillow cannot read this header; OpenCV decodes it to 8 bytes a sample
    path = tmp_path / "float.tiff"
    cv2.imwrite(str(path), np.random.default_rng(0).random((1000, 1000, 4)))
    monkeypatch.setenv("IMPOSTOR_DECODE_MEMORY_MB", "16")
    with pytest.raises(ImageTooLarge, match="64-bit samples"):
        load_image(path)
    monkeypatch.setenv("IMPOSTOR_DECODE_MEMORY_MB", "1024")
    assert load_image(path).pixels.shape == (1000, 1000, 3)


@pytest.mark.parametrize("side", [40000, 30000])
def test_an_hdr_header_is_checked_before_decoding(tmp_path: Path, side: int) -> None:
    path = tmp_path / "huge.hdr"
    path.write_bytes(b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y %d +X %d\n" % (side, side) + bytes(512))
    with pytest.raises(ImageTooLarge, match="megapixels"):
        load_image(path)


def test_a_real_hdr_still_reads(tmp_path: Path) -> None:
    path = tmp_path / "small.hdr"
    cv2.imwrite(str(path), np.random.default_rng(1).random((64, 80, 3)).astype(np.float32))
    assert load_image(path).pixels.shape == (64, 80, 3)


def test_a_fifo_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    with pytest.raises(ImageNotFound, match="not a regular file"):
        load_image(fifo)  # would block forever waiting for a writer


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_devices_are_refused_as_images_and_as_profiles(device: str) -> None:
    with pytest.raises(ImageNotFound, match="not a regular file"):
        load_image(device)
    with pytest.raises(ProfileError, match="not a profile file"):
        load_profile(device)


def test_files_over_the_size_limit_are_refused_before_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "big.jpg"
    path.write_bytes(GENUINE.read_bytes() + bytes(3 * 2**20))
    monkeypatch.setenv("IMPOSTOR_MAX_FILE_MB", "1")
    with pytest.raises(ImageTooLarge, match="IMPOSTOR_MAX_FILE_MB"):
        load_image(path)


def test_no_pass_is_repeated_and_the_cnn_never_sees_a_large_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each pass on a faceless image looks at something new, and the CNN's copies stay within
    the search size (its memory grows with the pixels). The passes are the real ones, watched."""
    from impostor import detect

    seen: list[tuple[str, tuple[int, ...], int]] = []
    real = detect._run

    def watched(image: np.ndarray, detector: str, upsample: int) -> list[object]:
        seen.append((detector, image.shape[:2], upsample))
        return real(image, detector, upsample)  # type: ignore[arg-type]

    monkeypatch.setattr(detect, "_run", watched)
    for shape in ((240, 320, 3), (3000, 4000, 3)):
        for detector in ("hog", "cnn"):
            for effort in detect.EFFORTS:
                seen.clear()
                pixels = np.zeros(shape, np.uint8)
                assert detect.detect_faces(pixels, detector=detector, effort=effort) == []  # type: ignore[arg-type]
                assert len(seen) == len(set(seen)), (detector, effort, seen)
                # HOG's own passes have nothing to do for the CNN (which always looks at colour)
                idle = effort in ("colour", "small") and detector == "cnn"
                assert bool(seen) != idle, (detector, effort, seen)
                if detector == "cnn":
                    assert all(max(size) <= 640 for _, size, _ in seen), seen


# -- silent nonsense -----------------------------------------------------------------------------


def damaged_jpeg(tmp_path: Path) -> Path:
    """The genuine sample with its entropy-coded data scrambled half-way: the bottom comes out grey."""
    data = bytearray(GENUINE.read_bytes())
    middle = len(data) // 2
    for k in range(middle, middle + 60):
        data[k] = (data[k] * 7 + 13) % 256
    path = tmp_path / "damaged.jpg"
    path.write_bytes(bytes(data))
    return path


def test_a_damaged_jpeg_is_a_refer_with_its_reason_and_is_audited(tmp_path: Path) -> None:
    path = damaged_jpeg(tmp_path)
    assert load_image(path).info.damage.startswith("Corrupt JPEG data")
    assert load_image(GENUINE).info.damage == ""
    db = tmp_path / "audit.sqlite"
    result = CliRunner().invoke(main, ["compare", str(DOCUMENT), str(path), "--json", "--audit-db", str(db)])
    assert result.exit_code == 3, result.output
    record = json.loads(result.stdout)
    assert record["decision"] == "REFER" and "live_damaged" in record["reason_codes"]
    assert record["live"]["image"]["damage"]
    export = CliRunner().invoke(main, ["audit", "export", "--db", str(db), "--format", "json"])
    assert "live_damaged" in export.stdout


def test_the_dev_photos_are_not_called_damaged(faces_dev: Path) -> None:
    for photo in sorted(faces_dev.glob("*/*.jpg")):
        assert load_image(photo).info.damage == "", photo


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("IMPOSTOR_MAX_PIXELS", "abc", "is not a whole number"),
        ("IMPOSTOR_MAX_PIXELS", "-1", "out of range"),
        ("IMPOSTOR_MAX_PIXELS", "1e2", "out of range"),
        ("IMPOSTOR_DETECT_SIDE", "0", "out of range"),
        ("IMPOSTOR_ANALYSIS_SIDE", "12.5", "is not a whole number"),
        ("IMPOSTOR_CAPTURE_SECONDS", "inf", "is not a number"),
        ("IMPOSTOR_CAPTURE_SECONDS", "nan", "is not a number"),
        ("IMPOSTOR_DECODE_MEMORY_MB", "0", "out of range"),
    ],
)
def test_a_bad_setting_is_a_usage_error_naming_it(variable: str, value: str, words: str) -> None:
    extra = ["--video", str(GENUINE)] if variable == "IMPOSTOR_CAPTURE_SECONDS" else [str(GENUINE)]
    result = CliRunner().invoke(main, ["compare", str(DOCUMENT), *extra, "--no-audit"], env={variable: value})
    assert result.exit_code == 2, result.output
    line = one_line(result.stderr)
    assert line.startswith(f"ConfigError: {variable}=") and words in line


def test_1e9_is_a_fine_way_to_write_a_number(monkeypatch: pytest.MonkeyPatch) -> None:
    from impostor import settings

    monkeypatch.setenv("IMPOSTOR_MAX_PIXELS", "1e9")
    assert settings.get("max_pixels") == 1_000_000_000


def test_seconds_must_be_a_finite_number() -> None:
    result = CliRunner().invoke(main, ["compare", str(DOCUMENT), "--video", str(GENUINE), "--seconds", "nan"])
    assert result.exit_code == 2 and one_line(result.stderr).startswith("UsageError: ")


HUGE = 1e308  # a threshold that accepts every face in the world
NESTED = {"method": "isotonic", "x": [[0.2], [0.4]], "y": [[1.0], [0.0]]}


def _profile(tmp_path: Path, change: object) -> Path:
    data = json.loads(Path(load_profile().path).read_text())
    assert callable(change)
    change(data)
    path = tmp_path / "profile.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda d: d["limits"].update(min_sharpnes=40), "unknown limit 'min_sharpnes'"),
        (lambda d: d["limits"].update(min_sharpness=-1), "never negative"),
        (lambda d: d["thresholds"].update(accept_distance=HUGE, reject_distance=HUGE), "<= 4"),
        (lambda d: d["calibration"].update(coef=-(10**400)), "'coef'"),
        (lambda d: d.update(calibration=NESTED), "numbers"),
    ],
    ids=["typo", "negative", "threshold 1e308", "10**400", "nested isotonic"],
)
def test_an_unsafe_profile_is_refused(tmp_path: Path, change: object, words: str) -> None:
    with pytest.raises(ProfileError, match=words.replace("'", ".").replace("*", ".")):
        load_profile(_profile(tmp_path, change))


def test_a_deeply_nested_profile_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 200_000 + "]" * 200_000)
    with pytest.raises(ProfileError, match="nested too deeply"):
        load_profile(path)


def test_reading_the_audit_log_never_creates_one(tmp_path: Path) -> None:
    typo = tmp_path / "audti.sqlite"
    for command in (["verify"], ["export"], ["stats"]):
        result = CliRunner().invoke(main, ["audit", *command, "--db", str(typo)])
        assert result.exit_code == 14, result.output
        assert "no such audit log" in one_line(result.stderr)
    assert not typo.exists()


def test_usage_errors_are_one_line_and_json_under_json() -> None:
    result = CliRunner().invoke(main, ["compare", str(DOCUMENT), "--json"])
    assert result.exit_code == 2
    assert one_line(result.stderr).startswith("UsageError: give exactly one of LIVE")
    assert json.loads(result.stdout)["error"]["type"] == "UsageError"


def test_library_chatter_stays_off_stderr(tmp_path: Path) -> None:
    """libjpeg's warning about the damaged file used to reach stderr beside our output."""
    result = run_cli("compare", DOCUMENT, damaged_jpeg(tmp_path))
    assert result.returncode == 3
    assert result.stderr == "", result.stderr


def test_verify_refers_a_damaged_live_photo(verifier: Verifier, tmp_path: Path) -> None:
    verdict = verifier.verify(DOCUMENT, damaged_jpeg(tmp_path))
    assert verdict.decision is Decision.REFER
    assert "live_damaged" in [reason.code for reason in verdict.reasons]


def test_not_a_number_anywhere_in_a_float_image_is_handled() -> None:
    pixels = np.full((64, 64, 3), math.nan, dtype=np.float32)
    pixels[10:20] = np.inf
    image = load_image(pixels)
    assert image.pixels.dtype == np.uint8 and image.pixels.shape == (64, 64, 3)


def test_truncated_png_is_not_an_image(tmp_path: Path) -> None:
    ok, encoded = cv2.imencode(".png", np.full((64, 64, 3), 90, np.uint8))
    path = tmp_path / "cut.png"
    path.write_bytes(encoded.tobytes()[:60])
    with pytest.raises(NotAnImage):
        load_image(path)


def test_a_cartoon_held_up_is_a_refer_not_a_no_match(tmp_path: Path) -> None:
    """A cartoon passed every quality measure and got NO_MATCH; its few flat colours tell."""
    import sys as _sys

    _sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    from bench_presentation import cartoon

    drawn = tmp_path / "cartoon.png"
    pixels = load_image(GENUINE).pixels
    cv2.imwrite(str(drawn), cv2.cvtColor(cartoon(pixels), cv2.COLOR_RGB2BGR))
    result = CliRunner().invoke(main, ["compare", str(DOCUMENT), str(drawn), "--json", "--no-audit"])
    assert result.exit_code == 3, result.output
    record = json.loads(result.stdout)
    assert "live_palette" in record["reason_codes"]
    assert any("drawing" in reason for reason in record["reasons"])
    genuine = CliRunner().invoke(main, ["compare", str(DOCUMENT), str(GENUINE), "--json", "--no-audit"])
    assert "live_palette" not in json.loads(genuine.stdout)["reason_codes"]


def test_no_dev_photo_looks_drawn(verifier: Verifier, faces_dev: Path) -> None:
    for photo in sorted(faces_dev.glob("*/*.jpg"))[::4]:
        try:
            _, report = verifier.quality(photo, "live")
        except Exception:  # noqa: BLE001 - a photo without a face says nothing here
            continue
        assert report.measure("palette").passed, (photo, report.measure("palette").value)
