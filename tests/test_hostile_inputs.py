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
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from impostor.cli import main
from impostor.errors import CaptureError, ImageNotFound, ImageTooLarge, NotAnImage, ProfileError
from impostor.pipeline.profile import load_profile
from impostor.pipeline.verifier import Verifier
from impostor.stages.capture import load_image, open_stream
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
        "import resource, sys; from impostor.stages.capture import load_image; "
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


def test_no_pass_is_repeated_and_the_cnn_never_sees_a_large_copy() -> None:
    """Each pass on a faceless image looks at something new, and the CNN's copies stay within
    the search size (its memory grows with the pixels). The passes are the real ones, watched."""
    from impostor.engine.detectors import Detector, Effort, Pass, detector_named
    from impostor.stages import detect

    seen: list[tuple[str, tuple[int, ...], int]] = []

    class Watched:
        """A real detector that notes each look it takes (the ``Detector`` seam)."""

        def __init__(self, real: Detector) -> None:
            self.real, self.name, self.fast = real, real.name, real.fast
            self.margin_scores = real.margin_scores

        def passes(self, effort: Effort, side: int, longest: int) -> list[Pass]:
            return self.real.passes(effort, side, longest)

        def find(self, image: np.ndarray, upsample: int) -> Any:
            seen.append((self.name, image.shape[:2], upsample))
            return self.real.find(image, upsample)

    for shape in ((240, 320, 3), (3000, 4000, 3)):
        for detector in ("hog", "cnn"):
            for effort in detect.EFFORTS:
                seen.clear()
                pixels = np.zeros(shape, np.uint8)
                watched = Watched(detector_named(detector))
                assert detect.detect_faces(pixels, detector=watched, effort=effort) == []
                assert len(seen) == len(set(seen)), (detector, effort, seen)
                # HOG's own passes have nothing to do for the CNN (which always looks at colour)
                idle = effort in ("colour", "small") and detector == "cnn"
                assert bool(seen) != idle, (detector, effort, seen)
                if detector == "cnn":
                    assert all(max(size) <= 640 for _, size, _ in seen), seen


# -- a few bytes that claim gigabytes ------------------------------------------------------------

SIDE = 12_000  # 144 MP: over the 60 MP limit; as an RGBA raster, 576 MB had anything allocated it
FAST, SMALL = 0.1, 50 * 2**20  # the goal: refused within 100 ms and 50 MB


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def huge_headers(side: int = SIDE) -> dict[str, bytes]:
    """A file of a few dozen bytes per format the loader takes, whose header claims side × side."""
    png = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 6, 0, 0, 0))
    png += _png_chunk(b"IDAT", zlib.compress(b"")) + _png_chunk(b"IEND", b"")
    components = b"\x01\x11\x00\x02\x11\x00\x03\x11\x00"
    jpeg = b"\xff\xd8\xff\xc2" + struct.pack(">HBHHB", 17, 8, side, side, 3) + components + b"\xff\xd9"
    gif = b"GIF89a" + struct.pack("<HHBBB", side, side, 0, 0, 0) + b"\x2c"
    gif += struct.pack("<HHHHB", 0, 0, side, side, 0) + b"\x02\x02\x44\x01\x00\x3b"
    bmp = (
        b"BM"
        + struct.pack("<IHHI", 58, 0, 0, 54)
        + struct.pack("<IiiHHIIiiII", 40, side, side, 1, 24, 0, 0, 0, 0, 0, 0)
    )
    entries = [
        (256, 4, side),
        (257, 4, side),
        (258, 3, 8),
        (262, 3, 2),
        (273, 4, 8),
        (277, 3, 3),
        (279, 4, 4),
    ]
    tiff = b"II*\x00" + struct.pack("<I", 12) + bytes(4) + struct.pack("<H", len(entries))
    tiff += b"".join(struct.pack("<HHII", tag, kind, 1, value) for tag, kind, value in entries) + bytes(4)
    canvas = (side - 1).to_bytes(3, "little") * 2
    webp_body = b"WEBP" + b"VP8X" + struct.pack("<I", 10) + bytes(4) + canvas
    webp_body += (
        b"VP8L"
        + struct.pack("<I", 6)
        + b"\x2f"
        + ((side - 1) | (side - 1) << 14).to_bytes(4, "little")
        + b"\x00"
    )
    siz = struct.pack(">HHIIIIIIIIH", 41, 0, side, side, 0, 0, side, side, 0, 0, 3) + b"\x07\x01\x01" * 3
    j2k = b"\xff\x4f\xff\x51" + siz + b"\xff\xd9"
    box = lambda kind, body: struct.pack(">I", 8 + len(body)) + kind + body  # noqa: E731
    jp2 = box(b"jP  ", b"\r\n\x87\n") + box(b"ftyp", b"jp2 \x00\x00\x00\x00jp2 ")
    jp2 += box(b"jp2h", box(b"ihdr", struct.pack(">IIHBBBB", side, side, 3, 7, 7, 0, 0))) + box(b"jp2c", j2k)
    sun = struct.pack(">8I", 0x59A66A95, side, side, 24, 0, 1, 0, 0)
    return {
        "png": png,
        "jpeg": jpeg,
        "gif": gif,
        "bmp": bmp,
        "tiff": tiff,
        "webp": b"RIFF" + struct.pack("<I", len(webp_body)) + webp_body,
        "j2k": j2k,
        "jp2": jp2,
        "ppm": b"P6\n%d %d\n255\n" % (side, side) + bytes(16),
        "pgm16": b"P5\n%d %d\n65535\n" % (side, side) + bytes(16),
        "pfm": b"PF\n%d %d\n-1.0\n" % (side, side) + bytes(16),
        "hdr": b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y %d +X %d\n" % (side, side) + bytes(16),
        "sun": sun + bytes(16),
    }


# in the measured child, every allocation is written to (as in a station whose heap has served a
# while, where the allocator must clear what it hands out): memory reserved is memory used
TOUCHED = {"MALLOC_PERTURB_": "165"}

# resident memory: the peak is reset before each measure (Linux: 5 to clear_refs), so that the
# imports' own peak does not hide what follows
RESIDENT = """
import re
def resident(key):
    return int(re.search(key + r":\\s+(\\d+)", open("/proc/self/status").read()).group(1)) * 1024
def reset_peak():
    with open("/proc/self/clear_refs", "w") as peak:
        peak.write("5")
    return resident("VmRSS")
"""

MEASURE = (
    RESIDENT
    + """
import json, sys, time, tracemalloc
from impostor.stages.capture import load_image
from impostor.errors import ImpostorError
load_image(sys.argv[1])  # imports and first-use costs are not the input's
found = {}
for path in sys.argv[2:]:
    data = open(path, "rb").read()
    tracemalloc.start()
    before = reset_peak()
    started = time.perf_counter()
    try:
        load_image(data, name=path)
        outcome = "read"
    except ImpostorError as error:
        outcome = f"{type(error).__name__}: {error}"
    seconds = time.perf_counter() - started
    grown = resident("VmHWM") - before
    found[path] = [outcome, seconds, max(grown, tracemalloc.get_traced_memory()[1])]
    tracemalloc.stop()
print(json.dumps(found))
"""
)


def measured_loads(paths: list[Path]) -> dict[str, tuple[str, float, int]]:
    """``load_image`` of each file in a fresh child: (outcome, seconds, bytes of memory it took)."""
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(GENUINE), *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **TOUCHED},
    )
    assert done.returncode == 0, done.stderr
    return {Path(path).name: tuple(row) for path, row in json.loads(done.stdout).items()}


def test_a_huge_header_is_refused_at_once_in_every_format(tmp_path: Path) -> None:
    """A 65-byte PNG claiming 100000² took 28-84 s and 9.5 GB: Pillow decoded it to look for EXIF."""
    paths = []
    for name, data in huge_headers().items():
        paths.append(tmp_path / f"huge.{name}")
        paths[-1].write_bytes(data)
        assert len(data) < 200
    for name, (outcome, seconds, grown) in measured_loads(paths).items():
        assert outcome.startswith("ImageTooLarge: ") and "megapixels" in outcome, (name, outcome)
        assert seconds < FAST and grown < SMALL, (name, f"{seconds * 1000:.0f} ms", f"{grown / 2**20:.0f} MB")


def _peak_rss_of(arguments: list[str]) -> tuple[int, str, int]:
    """Run the command line in a child; its exit code, stderr and peak resident memory in bytes."""
    child = subprocess.Popen(
        [sys.executable, "-c", "from impostor.cli import main; main()", *arguments],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **TOUCHED},
    )
    assert child.stderr is not None
    stderr = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    return child.returncode, stderr, usage.ru_maxrss * 1024


def test_a_huge_png_header_costs_the_command_line_nothing(tmp_path: Path) -> None:
    huge, small = tmp_path / "huge.png", tmp_path / "small.png"
    huge.write_bytes(huge_headers()["png"])
    cv2.imwrite(str(small), np.full((8, 8), 128, np.uint8))
    code, stderr, peak = _peak_rss_of(["quality", str(huge)])
    assert code == 6, stderr
    assert one_line(stderr).startswith("ImageTooLarge: ") and "IMPOSTOR_MAX_PIXELS" in stderr
    # the same command refusing an 8 × 8 image it decoded: the forged size adds nothing to it
    small_code, small_stderr, small_peak = _peak_rss_of(["quality", str(small)])
    assert small_code == 7, small_stderr
    assert peak < small_peak + SMALL, (peak / 2**20, small_peak / 2**20)


SERVE = """
import sys, uvicorn
from pathlib import Path
from impostor.station.app import create_app
from impostor.station.service import StationConfig
folder, port = Path(sys.argv[1]), int(sys.argv[2])
config = StationConfig(accounts=folder / "station.sqlite", audit_db=folder / "audit.sqlite", warm=False)
uvicorn.run(create_app(config), host="127.0.0.1", port=port, log_level="warning")
"""


def _high_water(pid: int) -> int:
    """The most resident memory process ``pid`` has held, in bytes (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def test_a_huge_header_is_a_413_at_once_over_http(tmp_path: Path) -> None:
    """The station, in its own process, answers each forged header with the catalogue's 413 within
    100 ms, its peak memory unmoved; /api/v1/quality and a page sent as the document alike."""
    import httpx

    from impostor.station.accounts import Accounts
    from tests.servers import free_port

    key = Accounts(tmp_path / "station.sqlite").add_key("gate-1")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", SERVE, str(tmp_path), str(port)],
        env={**os.environ, **TOUCHED},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}", headers={"X-API-Key": key}, timeout=60
        ) as client:
            for _ in range(600):
                try:
                    if client.get("/api/v1/health").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            bombs = huge_headers()
            client.post("/api/v1/quality", files={"image": ("warm.png", bombs["png"])})  # first-use costs
            before = _high_water(server.pid)
            for name, data in bombs.items():
                fastest = math.inf
                for _ in range(3):  # the fastest of three: a shared machine's pauses are not the input's
                    started = time.perf_counter()
                    reply = client.post("/api/v1/quality", files={"image": (f"huge.{name}", data)})
                    fastest = min(fastest, time.perf_counter() - started)
                    assert reply.status_code == 413, (name, reply.text)
                    assert reply.json()["error"]["code"] == "too_large", (name, reply.text)
                assert fastest < FAST, (name, f"{fastest * 1000:.0f} ms")
            page = client.post(
                "/api/v1/verify",
                files={"document": ("page.png", bombs["png"]), "live": ("live.jpg", GENUINE.read_bytes())},
            )
            assert page.status_code == 413 and page.json()["error"]["code"] == "too_large", page.text
            grown = _high_water(server.pid) - before
            assert grown < SMALL, f"{grown / 2**20:.0f} MB"
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_a_png_chunk_longer_than_its_file_is_refused_before_any_decoder_sees_it(tmp_path: Path) -> None:
    """OpenCV reserved the length IDAT declares: 4.2 GB for the document sample edited to say 0xFFFFFF7F."""
    data = bytearray(DOCUMENT.read_bytes())
    at = 8
    while data[at + 4 : at + 8] != b"IDAT":
        at += 12 + int.from_bytes(data[at : at + 4], "big")
    data[at : at + 4] = (0xFFFFFF7F).to_bytes(4, "big")
    path = tmp_path / "long_idat.png"
    path.write_bytes(bytes(data))
    outcome, seconds, grown = measured_loads([path])[path.name]
    assert seconds < FAST and grown < SMALL, (f"{seconds * 1000:.0f} ms", f"{grown / 2**20:.0f} MB")
    assert outcome.startswith("NotAnImage: ") and "'IDAT'" in outcome, outcome
    assert "declares 4,294,967,167 bytes" in outcome, outcome
    result = CliRunner().invoke(main, ["quality", str(path)])
    assert result.exit_code == 5 and one_line(result.stderr).startswith("NotAnImage: "), result.output


@pytest.mark.parametrize("kind", ["PNG", "WEBP"])
def test_exif_orientation_is_read_from_the_chunks_without_decoding(kind: str) -> None:
    """PNG and WebP headers are read by walking their chunks; EXIF found there still turns the photo
    (a PNG's eXIf may follow its pixels, which is why Pillow decoded the whole image to find it)."""
    import io

    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: the stored image is 80 wide and 40 high
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((40, 80, 3), np.uint8)).save(buffer, format=kind, exif=exif.tobytes())
    image = load_image(buffer.getvalue())
    assert image.info.exif_orientation == 6 and image.pixels.shape == (80, 40, 3)


def test_a_png_too_small_for_the_size_it_claims_is_refused_before_decoding(tmp_path: Path) -> None:
    """Under the pixel limit, a forged IHDR still made the decoder allocate its raster first."""
    path = tmp_path / "forged.png"
    png = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", 7000, 7000, 8, 6, 0, 0, 0))
    path.write_bytes(png + _png_chunk(b"IDAT", zlib.compress(bytes(5000), 9)) + _png_chunk(b"IEND", b""))
    outcome, seconds, grown = measured_loads([path])[path.name]
    assert seconds < FAST and grown < SMALL, (f"{seconds * 1000:.0f} ms", f"{grown / 2**20:.0f} MB")
    assert outcome.startswith("NotAnImage: ") and "cannot hold the 7000×7000" in outcome, outcome
    # the most compressible real images are still read: deflate's limit is never reached
    flat = tmp_path / "flat.png"
    cv2.imwrite(str(flat), np.zeros((3000, 4000), np.uint8), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    assert load_image(flat).pixels.shape == (3000, 4000, 3)


PARALLEL = (
    RESIDENT
    + """
import json, sys, threading, tracemalloc
from impostor.stages.capture import load_image
load_image(sys.argv[1])
tracemalloc.start()
before = reset_peak()
kept = []
sides = [threading.Thread(target=lambda path=path: kept.append(load_image(path))) for path in sys.argv[2:]]
for side in sides:
    side.start()
for side in sides:
    side.join()
grown = resident("VmHWM") - before
print(json.dumps([len(kept), tracemalloc.get_traced_memory()[1], grown]))
"""
)


def test_the_decoding_budget_is_one_for_the_whole_process(tmp_path: Path) -> None:
    """Both sides of a comparison decode at once: two images each within the budget together took
    twice it (a float TIFF and a 60 MP 16-bit PNG: 1,578 MB against 1,024)."""
    paths = [tmp_path / "first.png", tmp_path / "second.png"]
    for k, path in enumerate(paths):
        cv2.imwrite(str(path), np.full((3000, 4000, 4), k, dtype=np.uint16))
    budget = 256
    done = subprocess.run(
        [sys.executable, "-c", PARALLEL, str(GENUINE), *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "IMPOSTOR_DECODE_MEMORY_MB": str(budget)},
    )
    assert done.returncode == 0, done.stderr
    read, traced, grown = json.loads(done.stdout)
    assert read == 2  # each fits the budget: the second waits for the first, neither is refused
    # what was allocated at once (numpy and OpenCV's arrays), and the process's resident peak, which
    # also holds what each thread's allocator keeps of its freed blocks
    assert traced < budget * 2**20, traced / 2**20
    assert grown < (budget + 32) * 2**20, grown / 2**20


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
