"""The camera and video path without a webcam: clips written here from real faces, read back by OpenCV."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from impostor.cli import main
from impostor.errors import CaptureError
from impostor.pipeline.verifier import Verifier
from impostor.stages.capture import open_stream
from impostor.stages.detect import detect_faces
from impostor.stages.quality import sharpness
from impostor.types import Decision, RGBImage

ROOT = Path(__file__).resolve().parent.parent
DOCUMENT = ROOT / "samples" / "document.png"

WIDTH, HEIGHT, FPS = 640, 480, 10
MARK_BITS, MARK_CELL = 6, 16  # the frame index, as black/white squares along the top-right edge

# the astronaut clip, frame by frame: a bare wall while the traveller steps in, the face out of
# focus, a few sharp frames, motion blur as they move, and the wall again
WALL, BLURRED, SHARP = "wall", "blurred", "sharp"
ASTRONAUT_SCRIPT = [WALL] * 3 + [BLURRED] * 5 + [SHARP] * 4 + [BLURRED] * 4 + [WALL] * 2
SHARP_FRAMES = {index for index, kind in enumerate(ASTRONAUT_SCRIPT) if kind == SHARP}


def wall() -> RGBImage:
    """A plain, softly lit background with a little sensor noise: no face anywhere."""
    across = np.linspace(90, 170, WIDTH, dtype=np.float32)
    down = np.linspace(0, 30, HEIGHT, dtype=np.float32)
    ramp = across[None, :] + down[:, None]
    noise = np.random.default_rng(7).normal(0, 3, (HEIGHT, WIDTH)).astype(np.float32)
    grey = np.clip(ramp + noise, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(np.dstack([grey, grey, (grey * 0.95).astype(np.uint8)]))


def in_view(person: RGBImage, shift: int) -> RGBImage:
    """``person`` standing in front of the wall, ``shift`` pixels right of the left edge."""
    frame = wall()
    scale = HEIGHT / person.shape[0]
    body = cv2.resize(person, (round(person.shape[1] * scale), HEIGHT), interpolation=cv2.INTER_AREA)
    width = min(body.shape[1], WIDTH - shift - MARK_BITS * MARK_CELL)
    frame[:, shift : shift + width] = body[:, :width]
    return frame


def mark(frame: RGBImage, index: int) -> RGBImage:
    """Write ``index`` into the frame's top-right corner, where no face is and MJPG keeps it."""
    marked = frame.copy()
    for bit in range(MARK_BITS):
        x = WIDTH - (bit + 1) * MARK_CELL
        marked[:MARK_CELL, x : x + MARK_CELL] = 255 if index >> bit & 1 else 0
    return marked


def read_mark(frame: RGBImage) -> int:
    centre = MARK_CELL // 2
    return sum(
        1 << bit
        for bit in range(MARK_BITS)
        if frame[centre, WIDTH - (bit + 1) * MARK_CELL + centre].mean() > 128
    )


def write_clip(path: Path, frames: Iterable[RGBImage]) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), FPS, (WIDTH, HEIGHT))
    assert writer.isOpened(), f"OpenCV cannot write MJPG to {path}"
    try:
        for index, frame in enumerate(frames):
            writer.write(cv2.cvtColor(mark(frame, index), cv2.COLOR_RGB2BGR))
    finally:
        writer.release()
    return path


def frame_index(label: str) -> int:
    """The index in a frame's label, ``"<clip> frame <n>"``."""
    return int(label.rsplit(" frame ", 1)[1])


def open_handles(path: Path) -> list[str]:
    """This process's open file descriptors on ``path`` (Linux's /proc)."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == str(path):
                found.append(fd)
        except OSError:  # closed between listing and reading
            continue
    return found


needs_proc = pytest.mark.skipif(
    not Path("/proc/self/fd").is_dir(), reason="needs Linux's /proc to see open files"
)


@pytest.fixture(scope="module")
def clips(
    tmp_path_factory: pytest.TempPathFactory, astronaut: RGBImage, grace_hopper: RGBImage
) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("clips")
    # framed as a counter webcam frames a traveller: lower down, a badge on her suit can pass
    # HOG's zero threshold as a faint second "face" once MJPG has compressed it
    head_and_shoulders = astronaut[:320, 60:420]
    astronaut_frames = []
    for index, kind in enumerate(ASTRONAUT_SCRIPT):
        if kind == WALL:
            astronaut_frames.append(wall())
            continue
        frame = in_view(head_and_shoulders, 40 + 6 * index)
        if kind == BLURRED:  # out of focus as she steps in, then moving
            frame = np.asarray(cv2.GaussianBlur(frame, (0, 0), 4.0 if index < 8 else 2.5), dtype=np.uint8)
        astronaut_frames.append(frame)
    empty = folder / "empty.avi"
    empty.write_bytes(b"")
    corrupt = folder / "corrupt.avi"
    corrupt.write_bytes(b"RIFF\x00\x10\x00\x00AVI LIST" + np.random.default_rng(3).bytes(4096))
    return {
        "astronaut": write_clip(folder / "astronaut.avi", astronaut_frames),
        "hopper": write_clip(folder / "hopper.avi", [in_view(grace_hopper, 60 + 4 * i) for i in range(8)]),
        "wall": write_clip(folder / "wall.avi", [wall() for _ in range(6)]),
        "empty": empty,
        "corrupt": corrupt,
    }


def test_clip_written_here_reads_back(clips: dict[str, Path]) -> None:
    with open_stream(clips["astronaut"], seconds=60) as frames:
        read = list(frames)
    assert len(read) == len(ASTRONAUT_SCRIPT)
    assert [read_mark(frame.pixels) for frame in read] == list(range(len(ASTRONAUT_SCRIPT)))
    assert read[1].time_ms == pytest.approx(1000 / FPS)
    assert read[0].pixels.shape == (HEIGHT, WIDTH, 3) and read[0].pixels.dtype == np.uint8


def test_astronaut_clip_matches_on_a_sharp_frame(verifier: Verifier, clips: dict[str, Path]) -> None:
    verdict = verifier.verify_stream(DOCUMENT, clips["astronaut"], seconds=60)
    assert verdict.decision is Decision.MATCH, (verdict.distance, [r.code for r in verdict.reasons])
    chosen = verdict.live.image
    index = frame_index(chosen.info.source)
    assert read_mark(chosen.pixels) == index  # the label names the frame whose pixels we got
    assert index in SHARP_FRAMES, f"picked frame {index} ({ASTRONAUT_SCRIPT[index]})"
    assert chosen.info.source.startswith(str(clips["astronaut"]))
    assert "live_capture" in verdict.timings_ms


def test_blurred_frames_hold_faces_too(clips: dict[str, Path]) -> None:
    # so that picking a sharp frame above was a choice, not the only face on offer
    found: dict[str, list[float]] = {WALL: [], BLURRED: [], SHARP: []}
    with open_stream(clips["astronaut"], seconds=60) as frames:
        for frame in frames:
            boxes = detect_faces(frame.pixels)
            if boxes:
                found[ASTRONAUT_SCRIPT[frame.index]].append(sharpness(frame.pixels, boxes[0]))
    assert found[WALL] == []
    assert len(found[BLURRED]) >= 5 and len(found[SHARP]) == len(SHARP_FRAMES)
    assert min(found[SHARP]) > 3 * max(found[BLURRED])


def test_hopper_clip_does_not_match(verifier: Verifier, clips: dict[str, Path]) -> None:
    verdict = verifier.verify_stream(DOCUMENT, clips["hopper"], seconds=60)
    assert verdict.decision is Decision.NO_MATCH, (verdict.distance, [r.code for r in verdict.reasons])


def test_clip_against_a_document_made_here(
    verifier: Verifier, clips: dict[str, Path], astronaut: RGBImage
) -> None:
    # a colour passport-style crop of the same photo: head and shoulders on a plain ground
    # (375 × 480 puts ~64 px between the eyes: over the document portrait's 60 px minimum)
    portrait = cv2.resize(astronaut[20:340, 90:340], (375, 480), interpolation=cv2.INTER_CUBIC)
    verdict = verifier.verify_stream(portrait, clips["astronaut"], seconds=60)
    assert verdict.decision is Decision.MATCH, (verdict.distance, [r.code for r in verdict.reasons])


def test_clip_without_a_face_refers(verifier: Verifier, clips: dict[str, Path]) -> None:
    verdict = verifier.verify_stream(DOCUMENT, clips["wall"], seconds=60)
    assert verdict.decision is Decision.REFER
    assert [reason.code for reason in verdict.reasons] == ["live_no_face"]
    assert verdict.probability is None and verdict.live.face is None


def test_only_the_window_is_watched(verifier: Verifier, clips: dict[str, Path]) -> None:
    # 0.25 s of a 10 fps clip is its first three frames: the bare wall
    verdict = verifier.verify_stream(DOCUMENT, clips["astronaut"], seconds=0.25)
    assert verdict.decision is Decision.REFER
    assert [reason.code for reason in verdict.reasons] == ["live_no_face"]


@pytest.mark.parametrize("name", ["empty", "corrupt"])
def test_unusable_clip_raises_capture_error(verifier: Verifier, clips: dict[str, Path], name: str) -> None:
    with pytest.raises(CaptureError, match=name):
        verifier.verify_stream(DOCUMENT, clips[name])


def test_missing_clip_raises_capture_error(verifier: Verifier, tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match="no such video file"):
        verifier.verify_stream(DOCUMENT, tmp_path / "never_recorded.avi")


# -- through the command line --------------------------------------------------------------


def test_cli_video_decisions(clips: dict[str, Path]) -> None:
    for name, code, decision in (("astronaut", 0, "MATCH"), ("hopper", 1, "NO_MATCH"), ("wall", 3, "REFER")):
        result = CliRunner().invoke(
            main, ["compare", str(DOCUMENT), "--video", str(clips[name]), "--seconds", "60"]
        )
        assert result.exit_code == code, result.output
        assert result.stdout.startswith(decision), result.output
        assert f"{clips[name]} frame " in result.stdout  # which frame was used


@pytest.mark.parametrize("name", ["empty", "corrupt"])
def test_cli_unusable_clip_exits_8(clips: dict[str, Path], name: str) -> None:
    result = CliRunner().invoke(main, ["compare", str(DOCUMENT), "--video", str(clips[name])])
    assert result.exit_code == 8, result.output
    message = result.stderr.strip()
    assert message.startswith("CaptureError: ") and "\n" not in message, result.output
    assert "Traceback" not in result.output


def test_cli_missing_camera_exits_8() -> None:
    result = CliRunner().invoke(main, ["compare", str(DOCUMENT), "--camera", "99"])
    assert result.exit_code == 8, result.output
    assert result.stderr.strip().startswith("CaptureError: camera 99: cannot be opened"), result.output


def test_missing_camera_says_one_line_in_a_real_process() -> None:
    # OpenCV writes its own diagnostics straight to the process's stderr, which the click
    # runner cannot see: only a real process shows what the officer would read
    done = subprocess.run(
        [str(Path(sys.executable).parent / "impostor"), "compare", str(DOCUMENT), "--camera", "99"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 8, done.stdout + done.stderr
    assert done.stderr.strip().splitlines() == [
        "CaptureError: camera 99: cannot be opened; check the device or the file's format"
    ]
    assert done.stdout == ""


# -- the device is given back --------------------------------------------------------------


@needs_proc
def test_verify_stream_releases_the_clip(verifier: Verifier, clips: dict[str, Path], tmp_path: Path) -> None:
    clip = tmp_path / "own.avi"
    clip.write_bytes(clips["hopper"].read_bytes())
    verifier.verify_stream(DOCUMENT, clip, seconds=60)
    assert open_handles(clip) == []
    with open_stream(clip, seconds=60) as frames:
        assert sum(1 for _ in frames) == 8
    clip.unlink()
    assert not clip.exists()


@needs_proc
def test_open_stream_releases_on_an_exception(clips: dict[str, Path]) -> None:
    clip = clips["astronaut"]
    with pytest.raises(RuntimeError, match="officer pressed cancel"):
        with open_stream(clip, seconds=60) as frames:
            next(frames)
            assert open_handles(clip) != []  # so the check below can see a leak
            raise RuntimeError("officer pressed cancel")
    assert open_handles(clip) == []
    with open_stream(clip, seconds=60) as frames:
        assert [frame.index for frame in frames] == list(range(len(ASTRONAUT_SCRIPT)))


@needs_proc
def test_open_stream_releases_when_abandoned_midway(clips: dict[str, Path]) -> None:
    clip = clips["astronaut"]
    with open_stream(clip, seconds=60) as frames:
        for frame in frames:
            if frame.index == 2:
                break
    assert open_handles(clip) == []
