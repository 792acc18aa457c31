"""Quality report on real faces: a sharp frontal dev photo passes, and each way of spoiling it
(blur, dark, over-exposed, small, tilted, grey, heavy JPEG, a second face) fails the matching
measure with advice for the officer. Scores are checked on synthetic values; the command
through ``CliRunner``."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from impostor.cli import main
from impostor.pipeline.verifier import Verifier
from impostor.stages.capture import load_image
from impostor.stages.quality import QualityReport, assess, default_limits, score
from impostor.types import LoadedImage

FRONTAL = "Barack_Obama/fr_obama.jpg"  # 1137 × 910, eyes 105 px apart, sharp and evenly lit


def _report(verifier: Verifier, source: object, side: str = "live", **limits: float) -> QualityReport:
    located = verifier.locate(source, side)  # type: ignore[arg-type]
    assert located.boxes and located.landmarks is not None, "no face found"
    return assess(located.image, list(located.boxes), located.landmarks, side=side, limits=limits)  # type: ignore[arg-type]


def _jpeg(rgb: np.ndarray, quality: int) -> bytes:
    ok, encoded = cv2.imencode(
        ".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality]
    )
    assert ok
    return encoded.tobytes()


@pytest.fixture(scope="module")
def frontal(faces_dev: Path) -> np.ndarray:
    return load_image(faces_dev / FRONTAL).pixels


def _failed(report: QualityReport) -> set[str]:
    return {measure.name for measure in report.failures}


def test_sharp_frontal_photo_passes(verifier: Verifier, frontal: np.ndarray) -> None:
    report = _report(verifier, frontal)
    assert report.passed, [m.advice for m in report.failures]
    assert report.failures == ()
    assert all(0.0 <= m.score <= 100.0 for m in report.measures)
    assert report.measure("single_face").value == 1
    assert abs(report.measure("roll").value) < 5 and abs(report.measure("yaw").value) < 10


def test_astronaut_is_assessed(verifier: Verifier, astronaut: np.ndarray) -> None:
    report = _report(verifier, astronaut, side="document")
    assert report.measure("inter_eye_distance").value > 40
    assert report.measure("colour").passed
    assert report.measure("compression").passed


@pytest.mark.parametrize(
    ("spoil", "measure", "advice"),
    [
        (lambda rgb: cv2.GaussianBlur(rgb, (0, 0), 5), "sharpness", "too blurred: take it again"),
        (lambda rgb: (rgb * 0.3).astype(np.uint8), "luminance_mean", "too dark: add light or face the light"),
        (
            lambda rgb: np.clip(rgb.astype(np.int32) * 5 // 2, 0, 255).astype(np.uint8),
            "overexposure",
            "too bright",
        ),
        (
            lambda rgb: cv2.resize(rgb, None, fx=0.4, fy=0.4, interpolation=cv2.INTER_AREA),
            "inter_eye_distance",
            "ask the traveller to step closer",
        ),
        (
            lambda rgb: cv2.warpAffine(
                rgb,
                cv2.getRotationMatrix2D((rgb.shape[1] / 2, rgb.shape[0] / 2), 30, 1.0),
                (rgb.shape[1], rgb.shape[0]),
                borderMode=cv2.BORDER_REPLICATE,
            ),
            "roll",
            "ask the traveller to face the camera",
        ),
        (lambda rgb: np.hstack([rgb, rgb]), "single_face", "2 faces in view"),
    ],
    ids=["blurred", "dark", "over-exposed", "small", "tilted-30", "two-faces"],
)
def test_spoiled_photo_fails_its_measure(
    verifier: Verifier, frontal: np.ndarray, spoil: object, measure: str, advice: str
) -> None:
    report = _report(verifier, np.ascontiguousarray(spoil(frontal)))  # type: ignore[operator]
    assert not report.passed
    assert measure in _failed(report), report.to_dict()
    assert advice in report.measure(measure).advice
    assert report.measure(measure).score < 50


def test_tilt_reads_as_roll_of_about_thirty_degrees(verifier: Verifier, frontal: np.ndarray) -> None:
    height, width = frontal.shape[:2]
    turn = cv2.getRotationMatrix2D((width / 2, height / 2), 30, 1.0)
    tilted = cv2.warpAffine(frontal, turn, (width, height), borderMode=cv2.BORDER_REPLICATE)
    assert abs(abs(_report(verifier, tilted).measure("roll").value) - 30) < 4
    assert "head tilted about 3" in _report(verifier, tilted).measure("roll").advice


def test_small_document_portrait_advises_chip_photo(verifier: Verifier, frontal: np.ndarray) -> None:
    small = cv2.resize(frontal, None, fx=0.4, fy=0.4, interpolation=cv2.INTER_AREA)
    measure = _report(verifier, small, side="document").measure("inter_eye_distance")
    assert not measure.passed and measure.limit == default_limits()["document_min_inter_eye_px"]
    assert "smaller than 60 px between the eyes" in measure.advice and "use the chip photo" in measure.advice


def test_grey_image_is_reported_grey(verifier: Verifier, frontal: np.ndarray) -> None:
    report = _report(verifier, cv2.cvtColor(frontal, cv2.COLOR_RGB2GRAY))
    assert report.measure("colour").value == 0.0
    assert _failed(report) == {"colour"}
    assert "grey-scale" in report.measure("colour").advice


def test_heavy_jpeg_scores_worse_on_compression(verifier: Verifier, frontal: np.ndarray) -> None:
    fine = _report(verifier, _jpeg(frontal, 95)).measure("compression")
    coarse = _report(verifier, _jpeg(frontal, 5)).measure("compression")
    assert coarse.value > fine.value and coarse.score < fine.score
    assert fine.passed and not coarse.passed


def test_profile_limits_override_defaults(verifier: Verifier, frontal: np.ndarray) -> None:
    strict = _report(verifier, frontal, min_sharpness=1e6)
    assert _failed(strict) == {"sharpness"} and strict.measure("sharpness").limit == 1e6
    # a side-prefixed limit wins over the plain one, and applies to that side only
    located = verifier.locate(frontal, "live")
    assert located.landmarks is not None
    limits = {"min_luminance_mean": 0.0, "live_min_luminance_mean": 250.0}
    live = assess(located.image, located.boxes, located.landmarks, side="live", limits=limits)
    document = assess(located.image, located.boxes, located.landmarks, side="document", limits=limits)
    assert not live.measure("luminance_mean").passed
    assert document.measure("luminance_mean").passed


def test_assess_rejects_bad_arguments(verifier: Verifier, frontal: np.ndarray) -> None:
    located = verifier.locate(frontal, "live")
    assert located.landmarks is not None
    with pytest.raises(ValueError, match="'passport'"):
        assess(located.image, located.boxes, located.landmarks, side="passport", limits={})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least one face box"):
        assess(located.image, [], located.landmarks, side="live", limits={})


@pytest.mark.parametrize(
    ("name", "low", "high", "rising"),
    [
        ("inter_eye_distance", 0, 500, True),
        ("sharpness", 0, 5000, True),
        ("underexposure", 0, 1, False),
        ("overexposure", 0, 1, False),
        ("luminance_mean", 0, 255, True),
        ("dynamic_range", 0, 255, True),
        ("illumination_uniformity", 0, 1, True),
        ("yaw", 0, 90, False),
        ("pitch", 0, 90, False),
        ("roll", 0, 180, False),
        ("single_face", 1, 10, False),
        ("compression", 0.5, 10, False),
        ("colour", 0, 100, True),
        ("border_margin", 0, 2, True),
        ("head_size", 0, 1, True),
        ("corruption", 0, 200, False),
        ("palette", -20, 20, False),
    ],
)
def test_scores_are_bounded_and_monotone(name: str, low: float, high: float, rising: bool) -> None:
    scores = np.array([score(name, value) for value in np.linspace(low, high, 200)])
    assert np.all((scores >= 0) & (scores <= 100))
    steps = np.diff(scores) if rising else -np.diff(scores)
    assert np.all(steps >= 0)
    assert scores[0] != scores[-1]


def test_pose_angles_are_signed_by_mirror(verifier: Verifier, frontal: np.ndarray) -> None:
    height, width = frontal.shape[:2]
    turn = cv2.getRotationMatrix2D((width / 2, height / 2), 20, 1.0)
    tilted = cv2.warpAffine(frontal, turn, (width, height), borderMode=cv2.BORDER_REPLICATE)
    roll = _report(verifier, tilted).measure("roll").value
    mirrored = _report(verifier, np.ascontiguousarray(tilted[:, ::-1])).measure("roll").value
    assert roll * mirrored < 0 and abs(roll + mirrored) < 3


def test_report_to_dict_is_json(verifier: Verifier, frontal: np.ndarray) -> None:
    data = json.loads(json.dumps(_report(verifier, frontal).to_dict()))
    assert data["passed"] is True and data["side"] == "live"
    assert {m["name"] for m in data["measures"]} >= {"sharpness", "yaw", "pitch", "roll", "colour"}


# -- the command --------------------------------------------------------------------------------


def _write(path: Path, rgb: np.ndarray) -> Path:
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return path


def test_cli_passes_good_photo(faces_dev: Path) -> None:
    result = CliRunner().invoke(main, ["quality", str(faces_dev / FRONTAL)])
    assert result.exit_code == 0, result.output
    assert "PASS" in result.output and "sharpness" in result.output
    assert "Traceback" not in result.output


def test_cli_refers_blurred_photo_as_json(tmp_path: Path, frontal: np.ndarray) -> None:
    path = _write(tmp_path / "blurred.png", cv2.GaussianBlur(frontal, (0, 0), 5))
    result = CliRunner().invoke(main, ["quality", str(path), "--json", "--side", "live"])
    assert result.exit_code == 3, result.output
    data = json.loads(result.output)
    assert "sharpness" in data["failures"] and data["image"]["format"]
    assert any("too blurred" in advice for advice in data["advice"])


def test_cli_no_face_exits_11(tmp_path: Path) -> None:
    path = _write(tmp_path / "wall.png", np.full((96, 96, 3), 128, dtype=np.uint8))
    result = CliRunner().invoke(main, ["quality", str(path)])
    assert result.exit_code == 11, result.output
    assert "NoFaceFound" in result.output and "Traceback" not in result.output


def test_cli_bad_file_uses_usual_exit_codes(tmp_path: Path) -> None:
    missing = CliRunner().invoke(main, ["quality", str(tmp_path / "nothing.jpg"), "--json"])
    assert missing.exit_code == 4, missing.output
    assert json.loads(missing.output.splitlines()[0])["error"]["type"] == "ImageNotFound"
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"not an image")
    assert CliRunner().invoke(main, ["quality", str(junk)]).exit_code == 5


def test_loaded_image_from_grey_array_is_grey() -> None:
    image = load_image(np.zeros((64, 64), dtype=np.uint8))
    assert isinstance(image, LoadedImage) and image.info.is_grey


def test_the_fast_measures_equal_their_plain_numpy_definitions() -> None:
    """Dynamic range is read off a histogram and colour spread off OpenCV's absdiff: on faces
    flat, noisy and tiny they equal numpy's percentile and mean of absolute differences."""
    from impostor.stages.quality import colour_spread, dynamic_range
    from impostor.types import FaceBox

    rng = np.random.default_rng(7)
    for trial in range(200):
        height, width = (int(n) for n in rng.integers(2, 80, 2))
        face = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        if trial % 4 == 0:
            face[:] = rng.integers(0, 256)
        box = FaceBox(0, 0, width, height, 1.0)
        luma = cv2.cvtColor(face, cv2.COLOR_RGB2GRAY)
        low, high = np.percentile(luma, [5, 95])
        assert dynamic_range(face, box) == pytest.approx(high - low, abs=1e-9)
        wide = face.astype(np.int16)
        pairs = [(0, 1), (1, 2), (0, 2)]
        spread = sum(float(np.abs(wide[..., a] - wide[..., b]).mean()) for a, b in pairs) / 3
        assert colour_spread(face, box) == pytest.approx(spread, abs=1e-9)


# -- corruption: a JPEG band shifted in colour from one block on ---------------------------------


def test_block_shift_is_quiet_on_every_whole_faces_dev_jpeg(faces_dev: Path) -> None:
    from impostor.stages.quality import block_shift

    limit = default_limits()["max_block_shift"]
    photos = sorted(faces_dev.glob("*/*.jp*g"))
    assert len(photos) > 50
    for path in photos:
        image = load_image(path)
        shift = block_shift(image.pixels, 8 // image.info.decode_scale, image.info.exif_orientation)
        assert shift <= limit, (path.name, shift)


def test_block_shift_finds_a_staircase_on_the_stored_grid_whatever_the_orientation() -> None:
    from impostor.stages.quality import block_shift

    rng = np.random.default_rng(3)
    smooth = cv2.GaussianBlur(rng.integers(0, 256, (96, 128, 3)).astype(np.uint8), (0, 0), 4)
    photo = np.clip(smooth.astype(np.int16) * 3 - 200, 0, 255).astype(np.uint8)
    damaged = photo.astype(np.int16)
    damaged[32:40, 40:] += np.array([0, 50, 0], dtype=np.int16)  # from block (4, 5) on, greener
    damaged[40:] += np.array([0, 50, 0], dtype=np.int16)
    damaged = np.clip(damaged, 0, 255).astype(np.uint8)
    assert block_shift(photo) < 5
    assert block_shift(damaged) > 20
    # a straight step along a whole row (padding above a photo) is not a staircase
    padded = photo.copy()
    padded[:16] = 0
    assert block_shift(padded) < 5
    # capture turned the pixels upright (EXIF 6: a quarter turn clockwise); the grid is the file's
    upright = np.ascontiguousarray(cv2.rotate(damaged, cv2.ROTATE_90_CLOCKWISE))
    assert block_shift(upright, orientation=6) == pytest.approx(block_shift(damaged))
    assert block_shift(upright) < 5


# -- drawings: the palette measure weighs every clue of a drawn face -----------------------------


def _drawings() -> object:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    import bench_presentation

    return bench_presentation


@pytest.mark.parametrize("make", ["posterised", "stylized", "pencil"])
def test_drawings_of_a_photo_fail_the_palette_measure(
    verifier: Verifier, frontal: np.ndarray, make: str
) -> None:
    # the cartoon posterised to 8 levels with ±6 noise, and cv2.stylization, both passed as photos
    drawn = getattr(_drawings(), make)(frontal)
    report = _report(verifier, np.ascontiguousarray(drawn))
    assert "palette" in _failed(report), report.measure("palette")
    assert "looks like a drawing" in report.measure("palette").advice


def test_a_grey_chip_portrait_is_not_called_a_drawing(verifier: Verifier, data_dir: Path) -> None:
    from impostor.document.chip import read_dg2

    # the Dutch 2006 test passport's JPEG 2000 portrait: grey, stored in three equal channels
    chip = data_dir / "documents" / "chip" / "jmrtd_loes2006" / "ef0102.bin"
    portrait = read_dg2(chip.read_bytes())[0]
    report = _report(verifier, portrait.image)
    assert report.measure("palette").passed, report.measure("palette")
    assert not report.measure("colour").passed  # grey: that is the colour measure's to say


def test_the_drawing_model_ships_with_its_features() -> None:
    from impostor.stages.quality import DRAWING_FEATURES, drawing_model

    model = drawing_model()
    assert len(model.weights) == len(DRAWING_FEATURES) and all(s > 0 for s in model.scale)
    assert "max_drawing_score" in default_limits()


def test_the_colour_chip_portraits_used_as_live_photos_are_not_called_drawings(
    verifier: Verifier, data_dir: Path
) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    from bench_presentation import chip_portraits

    # a genuine chip portrait, smooth and JPEG-compressed, was refused as a drawing (issue 23)
    judged = 0
    for portrait in chip_portraits(data_dir / "documents" / "chip"):
        located = verifier.locate(portrait, "live")
        if not located.boxes or located.landmarks is None:
            continue  # a portrait without a face is refused for that, not for this
        report = assess(located.image, list(located.boxes), located.landmarks, side="live")
        assert report.measure("palette").passed, report.measure("palette")
        judged += report.measure("colour").passed
    assert judged >= 2, "the colour chip portraits were not judged"


@pytest.mark.parametrize("name", ["live_genuine.jpg", "live_genuine_dim.jpg", "live_impostor.jpg"])
def test_the_sample_photos_are_not_called_drawings(verifier: Verifier, name: str) -> None:
    # live_impostor.jpg is a grainy scan: its grain is not a drawing's noise
    report = _report(verifier, Path(__file__).resolve().parent.parent / "samples" / name)
    assert report.measure("palette").passed, report.measure("palette")


def test_sensor_noise_is_the_clue_that_a_smoothed_face_lacks() -> None:
    from impostor.stages.quality import DRAWING_FEATURES, drawing_features
    from impostor.types import FaceBox

    # smooth shading with one dark edge, as an edge-preserving filter leaves it; then with noise
    ramp = np.tile(np.linspace(90, 170, 120, dtype=np.float32), (120, 1))
    ramp[:, 60:63] = 40
    smooth = np.repeat(ramp[..., None], 3, axis=2) * np.array([1.0, 0.85, 0.7], dtype=np.float32)
    noisy = smooth + np.random.default_rng(0).normal(0, 3, smooth.shape[:2])[..., None]
    box = FaceBox(0, 0, 120, 120, 1.0)
    drawn, photo = (drawing_features(np.clip(a, 0, 255).astype(np.uint8), box) for a in (smooth, noisy))
    clue = dict(zip(DRAWING_FEATURES, zip(drawn, photo, strict=True), strict=True))
    assert clue["noise_in_flat"][0] < clue["noise_in_flat"][1]
    assert clue["unchanged_by_median"][0] > clue["unchanged_by_median"][1]
    assert clue["planar_share"][0] > clue["planar_share"][1]
