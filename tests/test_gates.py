"""Quality gates in decisions, on real faces: a poor live shot is REFERred with what to do."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from impostor.cli import main
from impostor.pipeline.verifier import Verifier
from impostor.records.audit import AuditLog
from impostor.services.comparison import Comparer
from impostor.stages.capture import load_image
from impostor.types import Decision, RGBImage, Verdict

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
DOCUMENT = SAMPLES / "document.png"
GENUINE = SAMPLES / "live_genuine.jpg"  # the document's holder, sharp and frontal, 63 px between the eyes


def codes(verdict: Verdict) -> list[str]:
    return [reason.code for reason in verdict.reasons]


@pytest.fixture(scope="module")
def live() -> RGBImage:
    bgr = cv2.imread(str(GENUINE))
    assert bgr is not None
    return np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))


def blurred(rgb: RGBImage) -> RGBImage:
    return np.asarray(cv2.GaussianBlur(rgb, (0, 0), 3.0), dtype=np.uint8)


def darkened(rgb: RGBImage) -> RGBImage:
    return np.asarray(np.clip(rgb * 0.2, 0, 255), dtype=np.uint8)


def over_exposed(rgb: RGBImage) -> RGBImage:
    return np.asarray(np.clip(rgb.astype(np.float64) * 1.8, 0, 255), dtype=np.uint8)


def shrunk(rgb: RGBImage) -> RGBImage:
    # 0.6× puts ~38 px between the eyes, under the live limit of 50, still findable by HOG
    return np.asarray(cv2.resize(rgb, None, fx=0.6, fy=0.6, interpolation=cv2.INTER_AREA), dtype=np.uint8)


def rolled(rgb: RGBImage) -> RGBImage:
    height, width = rgb.shape[:2]
    turn = cv2.getRotationMatrix2D((width / 2, height / 2), 30, 1.0)
    return np.asarray(
        cv2.warpAffine(rgb, turn, (width, height), borderMode=cv2.BORDER_REPLICATE), dtype=np.uint8
    )


def test_sharp_frontal_live_shot_passes_and_matches(verifier: Verifier) -> None:
    verdict = verifier.verify(DOCUMENT, GENUINE)
    assert verdict.live.quality is not None and verdict.live.quality.passed, verdict.live.quality
    assert verdict.document.quality is not None and verdict.document.quality.passed
    assert verdict.decision is Decision.MATCH, codes(verdict)
    assert verdict.to_dict()["live"]["quality"]["passed"] is True  # type: ignore[index]


@pytest.mark.parametrize(
    ("spoil", "code"),
    [
        (blurred, "live_sharpness"),
        (darkened, "live_luminance_mean"),
        (over_exposed, "live_overexposure"),
        (shrunk, "live_inter_eye_distance"),
        (rolled, "live_roll"),
    ],
)
def test_poor_live_shot_is_referred_with_its_reason(
    verifier: Verifier, live: RGBImage, spoil: Callable[[RGBImage], RGBImage], code: str
) -> None:
    verdict = verifier.verify(DOCUMENT, spoil(live))
    assert verdict.live.face is not None, "the spoilt face must still be found for its gate to be tested"
    assert verdict.decision is Decision.REFER, codes(verdict)
    assert code in codes(verdict), codes(verdict)
    reason = next(reason for reason in verdict.reasons if reason.code == code)
    assert reason.side == "live" and reason.message


def test_blurred_right_person_is_refer_not_no_match(verifier: Verifier, live: RGBImage) -> None:
    # heavy blur pushes the right person's distance up; the gate must say "take it again",
    # never send the holder away as NO_MATCH
    verdict = verifier.verify(DOCUMENT, np.asarray(cv2.GaussianBlur(live, (0, 0), 5.0), dtype=np.uint8))
    assert verdict.decision is Decision.REFER, (verdict.distance, codes(verdict))
    assert "live_sharpness" in codes(verdict)
    assert "different_person" not in codes(verdict)


def test_compare_writes_one_audit_record(tmp_path: Path) -> None:
    db = tmp_path / "counter.sqlite"
    args = ["compare", str(DOCUMENT), str(GENUINE), "--audit-db", str(db)]
    result = CliRunner().invoke(main, [*args, "--station", "gate 4", "--operator", "officer 17"])
    assert result.exit_code == 0, result.output
    with AuditLog(db) as log:
        records = list(log.records())
    assert len(records) == 1
    record = records[0]
    assert (record.station, record.operator, record.decision) == ("gate 4", "officer 17", "MATCH")
    assert record.quality is not None
    assert record.quality["live"]["passed"] is True  # type: ignore[index]
    assert record.quality["document"]["side"] == "document"  # type: ignore[index]


def test_compare_logs_to_the_setting_by_default_and_not_with_no_audit(audit_db: Path) -> None:
    assert CliRunner().invoke(main, ["compare", str(DOCUMENT), str(GENUINE), "--no-audit"]).exit_code == 0
    assert not audit_db.exists() or not list(AuditLog(audit_db).records())
    result = CliRunner().invoke(main, ["compare", str(DOCUMENT), str(GENUINE)])
    assert result.exit_code == 0, result.output
    with AuditLog(audit_db) as log:
        records = list(log.records())
    assert len(records) == 1 and records[0].station and records[0].operator


def test_the_comparison_service_logs_every_verdict(verifier: Verifier, tmp_path: Path) -> None:
    with AuditLog(tmp_path / "log.sqlite") as log:
        comparer = Comparer(audit=log, station="gate 1", verifiers={"portrait": verifier})
        comparer.compare_photos(DOCUMENT, GENUINE, operator="officer 2")
        comparer.compare_photos(DOCUMENT, SAMPLES / "live_impostor.jpg", operator="officer 2")
        assert [record.decision for record in log.records()] == ["MATCH", "NO_MATCH"]
        assert [record.station for record in log.records()] == ["gate 1"] * 2
        assert log.verify().ok
    with pytest.raises(ValueError, match="station"):
        Comparer(audit=log)


def test_stream_stops_at_the_first_frame_that_passes(
    verifier: Verifier, astronaut: RGBImage, tmp_path: Path
) -> None:
    def zoomed(scale: float) -> RGBImage:
        big = cv2.resize(astronaut, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
        return np.ascontiguousarray(big[:640, :640])

    # two blurred frames, then a sharp one that passes (64 px between the eyes), then closer,
    # better-scoring frames the capture must never wait for
    frames = [blurred(zoomed(1.5))] * 2 + [zoomed(1.5)] + [zoomed(1.8)] * 12
    clip = tmp_path / "sharp.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter.fourcc(*"MJPG"), 10.0, (640, 640))
    assert writer.isOpened()
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    document = cv2.resize(astronaut[20:340, 90:340], (375, 480), interpolation=cv2.INTER_CUBIC)
    verdict = verifier.verify_stream(document, clip, seconds=60)
    assert verdict.decision is Decision.MATCH, (verdict.distance, codes(verdict))
    assert verdict.live.image.info.source.endswith(" frame 2"), verdict.live.image.info.source


# -- damaged JPEGs: random bits flipped in the entropy-coded data --------------------------------


def flipped(data: bytes, bits: int, seed: int) -> bytes:
    """``data`` with ``bits`` random bits flipped in the scan's entropy-coded data, making or
    breaking no marker (as ``bench/bench_damage.py`` does)."""
    rng = random.Random(seed)
    start = data.index(b"\xff\xda")
    start += 2 + int.from_bytes(data[start + 2 : start + 4], "big")
    end = data.rindex(b"\xff\xd9")
    copy = bytearray(data)
    for _ in range(bits):
        while True:
            at = rng.randrange(start, end)
            new = copy[at] ^ (1 << rng.randrange(8))
            if 0xFF not in (copy[at], new, copy[at - 1]):
                copy[at] = new
                break
    return bytes(copy)


# seeds whose three flips libjpeg decodes without a word: a band shifted in colour from one
# block on, over a third to four fifths of the picture; each was a MATCH with no reason
@pytest.mark.parametrize("seed", [38, 41, 45, 48, 50, 54])
def test_silently_corrupt_live_jpeg_is_referred(verifier: Verifier, seed: int) -> None:
    damaged = flipped(GENUINE.read_bytes(), 3, seed)
    assert load_image(damaged).info.damage == "", "libjpeg said nothing: the pixels must tell"
    verdict = verifier.verify(DOCUMENT, damaged)
    assert verdict.decision is Decision.REFER, (verdict.probability, codes(verdict))
    reason = next(reason for reason in verdict.reasons if reason.code == "live_corruption")
    assert reason.side == "live" and "corrupt" in reason.message and "take it again" in reason.message


# seeds after which libjpeg finishes the picture 57 bytes before the data ends ("extraneous
# bytes before marker 0xd9"), which was waved through as camera padding: MATCH, no reason
@pytest.mark.parametrize("seed", [2, 23])
def test_bytes_left_over_after_the_picture_are_damage(verifier: Verifier, seed: int) -> None:
    damaged = flipped(GENUINE.read_bytes(), 3, seed)
    assert "extraneous bytes before marker 0xd9" in load_image(damaged).info.damage
    verdict = verifier.verify(DOCUMENT, damaged)
    assert verdict.decision is Decision.REFER, codes(verdict)
    assert "live_damaged" in codes(verdict)


def test_padding_between_header_segments_is_not_damage(verifier: Verifier) -> None:
    # some cameras pad between the header's segments: libjpeg warns, but no pixel is lost
    data = GENUINE.read_bytes()
    after_app0 = 4 + int.from_bytes(data[4:6], "big")
    padded = data[:after_app0] + b"\x00" * 6 + data[after_app0:]
    image = load_image(padded)
    assert image.info.damage == ""
    assert np.array_equal(image.pixels, load_image(data).pixels)
    assert verifier.verify(DOCUMENT, padded).decision is Decision.MATCH


# -- drawings held up to the camera ---------------------------------------------------------------


@pytest.mark.parametrize("make", ["posterised", "stylized"])
def test_a_drawing_of_the_holder_is_referred_not_matched(
    verifier: Verifier, live: RGBImage, make: str
) -> None:
    # a cartoon posterised to 8 levels with ±6 noise, and cv2.stylization: each was a MATCH at p >= 0.99
    import sys

    sys.path.insert(0, str(SAMPLES.parent / "bench"))
    import bench_presentation

    verdict = verifier.verify(DOCUMENT, getattr(bench_presentation, make)(live))
    assert verdict.decision is Decision.REFER, (verdict.probability, codes(verdict))
    assert "live_palette" in codes(verdict)
