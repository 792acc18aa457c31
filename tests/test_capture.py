"""Capture stage: every supported way in yields upright RGB uint8 with a findable face,
and every bad input gets its own error class and a one-line message naming it.

Test images are written into ``tmp_path`` from the real faces the fixtures provide (the
astronaut, Grace Hopper, the shared dev photos); nothing is copied into the repository.
"""

from __future__ import annotations

import hashlib
import io
import re
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from impostor import errors
from impostor.errors import ImageNotFound, ImageTooLarge, NotAnImage, UnsupportedImage
from impostor.stages.capture import load_image
from impostor.stages.detect import detect_faces
from impostor.types import FaceBox, LoadedImage

# --- helpers ------------------------------------------------------------------------------


def _iou(a: FaceBox, b: FaceBox) -> float:
    width = min(a.right, b.right) - max(a.left, b.left)
    height = min(a.bottom, b.bottom) - max(a.top, b.top)
    inter = max(width, 0.0) * max(height, 0.0)
    return inter / (a.area + b.area - inter)


def _best_match(rgb: np.ndarray, reference: FaceBox) -> FaceBox:
    """The detected face that overlaps ``reference`` most (JPEG noise can add a faint extra box)."""
    boxes = detect_faces(rgb)
    assert boxes, f"no face found in a {rgb.shape} image that should show one at {reference}"
    return max(boxes, key=lambda box: _iou(box, reference))


def _assert_same_face(rgb: np.ndarray, reference: FaceBox, *, tolerance: float = 4.0) -> None:
    found = _best_match(rgb, reference)
    edges = np.array([found.left, found.top, found.right, found.bottom])
    expected = np.array([reference.left, reference.top, reference.right, reference.bottom])
    assert np.abs(edges - expected).max() <= tolerance, f"face at {found}, expected about {reference}"


def _assert_rgb8(image: LoadedImage, height: int, width: int) -> None:
    pixels = image.pixels
    assert pixels.dtype == np.uint8, pixels.dtype
    assert pixels.shape == (height, width, 3), f"pixels {pixels.shape}, expected {(height, width, 3)}"
    assert pixels.flags.c_contiguous
    assert (image.info.width, image.info.height) == (width, height), image.info


def _encode_pil(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.fixture(scope="module")
def astronaut_face(astronaut: np.ndarray) -> FaceBox:
    boxes = detect_faces(astronaut)
    assert len(boxes) == 1, boxes
    return boxes[0]


@pytest.fixture(scope="module")
def hopper_face(grace_hopper: np.ndarray) -> FaceBox:
    boxes = detect_faces(grace_hopper)
    assert boxes, "no face in the Grace Hopper fixture"
    return boxes[0]


def _grey(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


# --- formats ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("suffix", "fmt", "options", "expected_format"),
    [
        (".jpg", "JPEG", {"quality": 92}, "JPEG"),
        (".png", "PNG", {}, "PNG"),
        (".bmp", "BMP", {}, "BMP"),
        (".tif", "TIFF", {"compression": "tiff_lzw"}, "TIFF"),
        (".webp", "WEBP", {"quality": 90}, "WEBP"),
        (".jp2", "JPEG2000", {}, "JPEG2000"),
        (".j2k", "JPEG2000", {}, "JPEG2000"),  # a bare codestream, as some chip readers export
    ],
)
def test_colour_formats_decode_to_rgb_with_the_face(
    tmp_path: Path,
    astronaut: np.ndarray,
    astronaut_face: FaceBox,
    suffix: str,
    fmt: str,
    options: dict[str, object],
    expected_format: str,
) -> None:
    path = _write(tmp_path / f"astronaut{suffix}", _encode_pil(Image.fromarray(astronaut), fmt, **options))
    image = load_image(path)
    _assert_rgb8(image, 512, 512)
    assert image.info.format == expected_format
    assert image.info.mode == "rgb"
    assert image.info.source == str(path)
    # channel order: lossless formats give the exact pixels, lossy ones stay close
    difference = np.abs(image.pixels.astype(int) - astronaut).mean()
    assert difference < 4.0, f"{fmt}: mean difference {difference:.2f} from the original (channels swapped?)"
    _assert_same_face(image.pixels, astronaut_face)


def test_grey_png_becomes_three_equal_channels(
    tmp_path: Path, grace_hopper: np.ndarray, hopper_face: FaceBox
) -> None:
    grey = _grey(grace_hopper)
    image = load_image(_write(tmp_path / "hopper_grey.png", _encode_pil(Image.fromarray(grey), "PNG")))
    _assert_rgb8(image, *grey.shape)
    assert image.info.mode == "grey" and image.info.is_grey
    for channel in range(3):
        np.testing.assert_array_equal(image.pixels[:, :, channel], grey)
    _assert_same_face(image.pixels, hopper_face, tolerance=8.0)


def test_rgba_png_is_composited_on_white(
    tmp_path: Path, grace_hopper: np.ndarray, hopper_face: FaceBox
) -> None:
    height, width = grace_hopper.shape[:2]
    alpha = np.full((height, width), 255, np.uint8)
    alpha[:, :40] = 0  # a transparent strip, as cut-out portraits have
    alpha[:, 40:60] = 128
    rgba = np.dstack([grace_hopper, alpha])
    image = load_image(_write(tmp_path / "hopper.png", _encode_pil(Image.fromarray(rgba, "RGBA"), "PNG")))
    _assert_rgb8(image, height, width)
    assert image.info.mode == "rgba"
    assert (image.pixels[:, :40] == 255).all(), "fully transparent pixels should be white"
    half = (grace_hopper[:, 40:60].astype(np.float64) * 128 + 255.0 * 127) / 255
    assert np.abs(image.pixels[:, 40:60] - half).max() <= 1.0, "half-transparent pixels blend with white"
    np.testing.assert_array_equal(image.pixels[:, 60:], grace_hopper[:, 60:])
    _assert_same_face(image.pixels, hopper_face)


def test_real_rgba_png_from_the_extras(extras: Path) -> None:
    path = extras / "variants" / "fr_32bit.png"
    with Image.open(path) as original:
        assert original.mode == "RGBA"
        expected = np.asarray(original.convert("RGB"))  # its alpha is opaque throughout
    image = load_image(path)
    _assert_rgb8(image, 1200, 626)
    assert image.info.mode == "rgba" and image.info.bit_depth == 8
    np.testing.assert_array_equal(image.pixels, expected)
    assert len(detect_faces(image.pixels)) == 1


@pytest.mark.parametrize(
    "path", ["Alex_Lacamoire/fr_alex-lacamoire.png", "Lin-Manuel_Miranda/fr_lin-manuel-miranda.png"]
)
def test_real_dev_pngs_with_alpha(faces_dev: Path, path: str) -> None:
    image = load_image(faces_dev / path)
    assert image.info.mode == "rgba"
    assert image.pixels.dtype == np.uint8 and image.pixels.shape[2] == 3
    assert detect_faces(image.pixels), f"no face in {path}"


@pytest.mark.parametrize("transparent", [False, True])
def test_palette_png(
    tmp_path: Path, astronaut: np.ndarray, astronaut_face: FaceBox, transparent: bool
) -> None:
    palette = Image.fromarray(astronaut).quantize(colors=256)
    indices = np.asarray(palette)
    colours = np.asarray(palette.convert("RGB"))
    see_through = int(indices[0, 0])
    options = {"transparency": see_through} if transparent else {}
    image = load_image(_write(tmp_path / "palette.png", _encode_pil(palette, "PNG", **options)))
    _assert_rgb8(image, 512, 512)
    assert image.info.mode == ("palette+alpha" if transparent else "palette")
    if transparent:
        hidden = indices == see_through
        assert 0 < hidden.mean() < 0.2, "the test needs some, but not most, pixels transparent"
        assert (image.pixels[hidden] == 255).all(), "the transparent palette entry should become white"
        np.testing.assert_array_equal(image.pixels[~hidden], colours[~hidden])
    else:
        np.testing.assert_array_equal(image.pixels, colours)
    _assert_same_face(image.pixels, astronaut_face)


def _ramp16() -> np.ndarray:
    """Every 16-bit level, 256 × 256, so truncating or clipping cannot go unnoticed."""
    return np.arange(65536, dtype=np.uint16).reshape(256, 256)


def _expected8(values16: np.ndarray) -> np.ndarray:
    return np.round(values16.astype(np.float64) / 257.0).astype(np.int64)


def test_png_16_bit_grey_is_scaled_not_truncated(
    tmp_path: Path, grace_hopper: np.ndarray, hopper_face: FaceBox
) -> None:
    ramp = _ramp16()
    image = load_image(_write(tmp_path / "ramp16.png", _encode_pil(Image.fromarray(ramp), "PNG")))
    assert image.info.bit_depth == 16 and image.info.mode == "grey"
    error = np.abs(image.pixels[:, :, 0].astype(np.int64) - _expected8(ramp)).max()
    assert error == 0, f"16-bit values should scale by 1/257; off by up to {error}"

    grey16 = (_grey(grace_hopper).astype(np.uint32) * 257).astype(np.uint16)
    image = load_image(_write(tmp_path / "hopper16.png", _encode_pil(Image.fromarray(grey16), "PNG")))
    _assert_rgb8(image, *grey16.shape)
    np.testing.assert_array_equal(image.pixels[:, :, 1], _grey(grace_hopper))
    _assert_same_face(image.pixels, hopper_face, tolerance=8.0)


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_16_bit_colour_is_scaled_not_truncated(
    tmp_path: Path, astronaut: np.ndarray, astronaut_face: FaceBox, suffix: str
) -> None:
    ramp = _ramp16()
    # distinct levels per channel, so a swapped channel order shows too
    rgb16 = np.dstack([ramp, ramp[::-1], ramp.T])
    ok, encoded = cv2.imencode(suffix, np.ascontiguousarray(rgb16[:, :, ::-1]))
    assert ok
    image = load_image(_write(tmp_path / f"ramp16{suffix}", encoded.tobytes()))
    assert image.info.bit_depth == 16 and image.info.mode == "rgb"
    error = np.abs(image.pixels.astype(np.int64) - _expected8(rgb16)).max()
    assert error == 0, f"16-bit colour should scale by 1/257 per channel; off by up to {error}"

    astronaut16 = astronaut.astype(np.uint16) * 257
    ok, encoded = cv2.imencode(suffix, np.ascontiguousarray(astronaut16[:, :, ::-1]))
    image = load_image(_write(tmp_path / f"astronaut16{suffix}", encoded.tobytes()))
    np.testing.assert_array_equal(image.pixels, astronaut)
    _assert_same_face(image.pixels, astronaut_face, tolerance=0.0)


def test_grey_jpeg(tmp_path: Path, grace_hopper: np.ndarray, hopper_face: FaceBox) -> None:
    grey = _grey(grace_hopper)
    image = load_image(_write(tmp_path / "grey.jpg", _encode_pil(Image.fromarray(grey), "JPEG", quality=95)))
    _assert_rgb8(image, *grey.shape)
    assert image.info.is_grey
    _assert_same_face(image.pixels, hopper_face, tolerance=8.0)


# --- bytes and arrays ---------------------------------------------------------------------


def test_bytes_give_the_same_pixels_as_the_path(faces_dev: Path) -> None:
    path = faces_dev / "Barack_Obama" / "fr_obama.jpg"
    data = path.read_bytes()
    from_path = load_image(path)
    from_bytes = load_image(data)
    named = load_image(data, name="obama upload")
    np.testing.assert_array_equal(from_bytes.pixels, from_path.pixels)
    assert from_bytes.info.source == "image bytes" and named.info.source == "obama upload"
    assert from_path.info.sha256 == from_bytes.info.sha256 == hashlib.sha256(data).hexdigest()
    assert (from_path.info.width, from_path.info.height) == (910, 1137)
    assert load_image(bytearray(data)).pixels.shape == from_path.pixels.shape  # type: ignore[arg-type]
    assert load_image(memoryview(data)).pixels.shape == from_path.pixels.shape  # type: ignore[arg-type]
    assert len(detect_faces(from_bytes.pixels)) == 1


def test_str_and_path_are_both_accepted(faces_dev: Path) -> None:
    path = faces_dev / "Eric_Clapton" / "openface_clapton-2.jpg"
    np.testing.assert_array_equal(load_image(str(path)).pixels, load_image(path).pixels)


def test_rgb_uint8_array_is_taken_as_rgb(astronaut: np.ndarray, astronaut_face: FaceBox) -> None:
    image = load_image(astronaut)
    np.testing.assert_array_equal(image.pixels, astronaut)
    assert image.info.format == "array" and image.info.source == "array" and image.info.mode == "rgb"
    assert (image.info.width, image.info.height, image.info.bit_depth) == (512, 512, 8)
    _assert_same_face(image.pixels, astronaut_face, tolerance=0.0)


def test_array_views_are_copied_into_contiguous_pixels(astronaut: np.ndarray) -> None:
    mirrored = astronaut[:, ::-1]  # a negative-stride view, as np.fliplr gives
    image = load_image(mirrored, name="mirror")
    assert image.pixels.flags.c_contiguous
    np.testing.assert_array_equal(image.pixels, mirrored)
    assert image.info.source == "mirror"


@pytest.mark.parametrize(
    "convert",
    [
        pytest.param(lambda a: a.astype(np.uint16) * 257, id="uint16"),
        pytest.param(lambda a: a.astype(np.float32) / 255.0, id="float32"),
        pytest.param(lambda a: a.astype(np.float64) / 255.0, id="float64"),
        pytest.param(lambda a: np.dstack([a, np.full(a.shape[:2], 255, np.uint8)]), id="rgba-opaque"),
    ],
)
def test_array_depths_and_alpha(
    astronaut: np.ndarray, astronaut_face: FaceBox, convert: Callable[[np.ndarray], np.ndarray]
) -> None:
    image = load_image(convert(astronaut))
    _assert_rgb8(image, 512, 512)
    np.testing.assert_array_equal(image.pixels, astronaut)
    _assert_same_face(image.pixels, astronaut_face, tolerance=0.0)


def test_float_array_is_clipped_to_0_1(astronaut: np.ndarray) -> None:
    values = astronaut.astype(np.float64) / 255.0
    values[0, 0] = (-0.5, 1.5, np.nan)
    image = load_image(values)
    assert tuple(image.pixels[0, 0]) == (0, 255, 0)


def test_float_array_in_0_255_is_recognised(astronaut: np.ndarray) -> None:
    image = load_image(astronaut.astype(np.float32))
    np.testing.assert_array_equal(image.pixels, astronaut)


def test_rgba_array_is_composited_on_white(astronaut: np.ndarray) -> None:
    rgba = np.dstack([astronaut, np.full(astronaut.shape[:2], 255, np.uint8)])
    rgba[:100, :, 3] = 0
    image = load_image(rgba)
    assert image.info.mode == "rgba"
    assert (image.pixels[:100] == 255).all()
    np.testing.assert_array_equal(image.pixels[100:], astronaut[100:])


@pytest.mark.parametrize("shape", ["2d", "hw1"])
def test_grey_array(grace_hopper: np.ndarray, hopper_face: FaceBox, shape: str) -> None:
    grey = _grey(grace_hopper)
    image = load_image(grey if shape == "2d" else grey[:, :, None])
    _assert_rgb8(image, *grey.shape)
    assert image.info.mode == "grey"
    assert (image.pixels == grey[:, :, None]).all()
    _assert_same_face(image.pixels, hopper_face, tolerance=8.0)


# --- EXIF orientation ---------------------------------------------------------------------

# the transpose that makes the stored pixels from the upright ones, for each EXIF orientation
_STORE = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,  # stored turned counter-clockwise: the camera was held right side down
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def _exif_jpeg(upright: np.ndarray, orientation: int, **options: object) -> bytes:
    picture = Image.fromarray(upright)
    method = _STORE[orientation]
    stored = picture if method is None else picture.transpose(method)
    exif = Image.Exif()
    exif[0x0112] = orientation
    return _encode_pil(stored, "JPEG", quality=95, exif=exif.tobytes(), **options)


@pytest.fixture(scope="module")
def portrait(astronaut: np.ndarray) -> np.ndarray:
    """The astronaut cropped to 400 × 512, so a missed or wrong quarter turn changes the shape."""
    return np.ascontiguousarray(astronaut[:, 50:450])


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_exif_orientation_turns_the_face_upright(
    tmp_path: Path, portrait: np.ndarray, orientation: int
) -> None:
    reference = _best_match(portrait, FaceBox(130, 80, 220, 170))
    image = load_image(_write(tmp_path / f"turned{orientation}.jpg", _exif_jpeg(portrait, orientation)))
    _assert_rgb8(image, 512, 400)
    assert image.info.exif_orientation == orientation
    assert np.abs(image.pixels.astype(int) - portrait).mean() < 4.0, "pixels are not upright"
    _assert_same_face(image.pixels, reference)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_matches_pillow(portrait: np.ndarray, orientation: int) -> None:
    """Cross-check against Pillow's own ``exif_transpose``, mirrored orientations included."""
    data = _exif_jpeg(portrait, orientation)
    with Image.open(io.BytesIO(data)) as opened:
        expected = np.asarray(ImageOps.exif_transpose(opened).convert("RGB"))
    image = load_image(data)
    assert image.pixels.shape == expected.shape == portrait.shape
    difference = np.abs(image.pixels.astype(int) - expected).mean()
    assert difference < 1.0, f"orientation {orientation}: mean difference {difference:.2f} from Pillow"


def test_broken_exif_does_not_lose_the_image(portrait: np.ndarray) -> None:
    exif = Image.Exif()
    exif[0x0112] = 42  # no such orientation
    data = _encode_pil(Image.fromarray(portrait), "JPEG", quality=95, exif=exif.tobytes())
    image = load_image(data)
    assert image.info.exif_orientation == 1
    assert image.pixels.shape == portrait.shape


# --- reduced-scale JPEG decoding ----------------------------------------------------------


def test_large_jpeg_is_decoded_at_reduced_scale(
    tmp_path: Path, astronaut: np.ndarray, astronaut_face: FaceBox
) -> None:
    large = cv2.resize(astronaut, (2048, 2048), interpolation=cv2.INTER_CUBIC)
    path = _write(tmp_path / "large.jpg", _encode_pil(Image.fromarray(large), "JPEG", quality=90))
    image = load_image(path, analysis_side=512)
    assert image.info.decode_scale == 4
    assert (image.info.width, image.info.height) == (2048, 2048), "info keeps the original size"
    assert image.pixels.shape == (512, 512, 3), "pixels are decoded at a quarter of the size"
    _assert_same_face(image.pixels, astronaut_face)
    # nothing smaller than the analysis side: this one cannot be reduced
    assert load_image(path, analysis_side=1500).info.decode_scale == 1


def test_large_jpeg_reduced_and_turned(tmp_path: Path, portrait: np.ndarray) -> None:
    large = cv2.resize(portrait, (1600, 2048), interpolation=cv2.INTER_CUBIC)
    image = load_image(_exif_jpeg(large, 6), analysis_side=400)
    assert image.info.decode_scale == 4 and image.info.exif_orientation == 6
    assert (image.info.width, image.info.height) == (1600, 2048), "size is reported upright"
    assert image.pixels.shape == (512, 400, 3)
    _assert_same_face(image.pixels, _best_match(portrait, FaceBox(130, 80, 220, 170)), tolerance=6.0)


@pytest.mark.parametrize("scale", [1, 2, 4, 8])
@pytest.mark.parametrize("kind", ["colour", "grey", "progressive", "cmyk", "odd size"])
def test_every_jpeg_decodes_to_opencvs_pixels(
    tmp_path: Path, astronaut: np.ndarray, kind: str, scale: int
) -> None:
    """Whole JPEGs take one strict decoding, the rest OpenCV's: both give OpenCV's pixels."""
    picture = Image.fromarray(astronaut[:509, :381] if kind == "odd size" else astronaut)
    if kind == "grey":
        picture = picture.convert("L")
    elif kind == "cmyk":
        picture = picture.convert("CMYK")
    data = _encode_pil(picture, "JPEG", quality=90, progressive=kind == "progressive")
    image = load_image(_write(tmp_path / "picture.jpg", data), analysis_side=max(picture.size) // scale)
    assert image.info.decode_scale == scale and image.info.damage == ""
    flags = {1: cv2.IMREAD_COLOR, 2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4}
    expected = cv2.imdecode(np.frombuffer(data, np.uint8), flags.get(scale, cv2.IMREAD_REDUCED_COLOR_8))
    np.testing.assert_array_equal(image.pixels, expected[:, :, ::-1])


def test_real_large_photo_uses_the_default_analysis_side(faces_dev: Path) -> None:
    path = faces_dev / "Scarlett_Johansson" / "deepface_img49.jpg"  # 4352 × 2903
    image = load_image(path)
    assert (image.info.width, image.info.height) == (4352, 2903)
    assert image.info.decode_scale == 2
    height, width = image.pixels.shape[:2]
    assert (width, height) == (2176, 1452), "libjpeg rounds a halved side up"
    assert detect_faces(image.pixels), "no face in the reduced decode"


# --- bad inputs ---------------------------------------------------------------------------


def _assert_error(kind: type[errors.ImpostorError], source: object, naming: str, **options: object) -> str:
    with pytest.raises(kind) as caught:
        load_image(source, **options)  # type: ignore[arg-type]
    assert type(caught.value) is kind, f"expected exactly {kind.__name__}, got {type(caught.value).__name__}"
    message = str(caught.value)
    assert "\n" not in message, f"message is not one line: {message!r}"
    assert naming in message, f"message {message!r} does not name {naming!r}"
    return message


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nobody.jpg"
    _assert_error(ImageNotFound, path, str(path))
    _assert_error(ImageNotFound, str(path), "nobody.jpg")


def test_folder_is_not_an_image_file(tmp_path: Path) -> None:
    message = _assert_error(ImageNotFound, tmp_path, str(tmp_path))
    assert "folder" in message


def test_empty_file(tmp_path: Path) -> None:
    path = _write(tmp_path / "empty.jpg", b"")
    assert "empty" in _assert_error(NotAnImage, path, str(path))
    _assert_error(NotAnImage, b"", "image bytes")


def test_text_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("passport number: X1234567\n" * 20, encoding="utf-8")
    _assert_error(NotAnImage, path, str(path))


def test_random_bytes(tmp_path: Path) -> None:
    noise = np.random.default_rng(7).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    path = _write(tmp_path / "noise.jpg", noise)
    _assert_error(NotAnImage, path, str(path))
    _assert_error(NotAnImage, noise, "upload 7", name="upload 7")


@pytest.mark.parametrize("keep", [0.05, 0.5, 0.95])
@pytest.mark.parametrize("progressive", [False, True])
def test_truncated_jpeg(tmp_path: Path, astronaut: np.ndarray, keep: float, progressive: bool) -> None:
    data = _encode_pil(Image.fromarray(astronaut), "JPEG", quality=90, progressive=progressive)
    path = _write(tmp_path / "cut.jpg", data[: int(len(data) * keep)])
    message = _assert_error(NotAnImage, path, str(path))
    assert "JPEG" in message and "truncated" in message


def test_truncated_real_photo(tmp_path: Path, faces_dev: Path) -> None:
    data = (faces_dev / "Jeff_Bezos" / "deepface_img21.jpg").read_bytes()
    path = _write(tmp_path / "cut.jpg", data[: len(data) * 3 // 4])
    _assert_error(NotAnImage, path, str(path))


def test_truncated_png(tmp_path: Path, astronaut: np.ndarray) -> None:
    data = _encode_pil(Image.fromarray(astronaut), "PNG")
    path = _write(tmp_path / "cut.png", data[: len(data) // 2])
    _assert_error(NotAnImage, path, str(path))


def _png_claiming(width: int, height: int) -> bytes:
    """A valid 40 × 40 PNG whose IHDR says ``width`` × ``height`` (CRC recomputed)."""
    data = _encode_pil(Image.new("RGB", (40, 40), (128, 128, 128)), "PNG")
    assert data[12:16] == b"IHDR"
    body = struct.pack(">II", width, height) + data[24:29]
    crc = struct.pack(">I", zlib.crc32(b"IHDR" + body) & 0xFFFFFFFF)
    return data[:16] + body + crc + data[33:]


def _jpeg_claiming(width: int, height: int) -> bytes:
    """A valid small baseline JPEG whose SOF0 header says ``width`` × ``height``."""
    data = _encode_pil(Image.new("RGB", (40, 40), (128, 128, 128)), "JPEG")
    sof = data.index(b"\xff\xc0")
    # marker, length (2), precision (1), then height and width (2 bytes each, big-endian)
    return data[: sof + 5] + struct.pack(">HH", height, width) + data[sof + 9 :]


def _bmp_claiming(width: int, height: int) -> bytes:
    data = _encode_pil(Image.new("RGB", (40, 40), (128, 128, 128)), "BMP")
    return data[:18] + struct.pack("<ii", width, height) + data[26:]


@pytest.mark.parametrize(
    ("build", "width", "height"),
    [
        (_png_claiming, 30000, 30000),
        (_jpeg_claiming, 30000, 30000),
        (_bmp_claiming, 30000, 30000),
        (_png_claiming, 10000, 10000),  # under Pillow's own guard: our limit alone refuses it
        (_jpeg_claiming, 65000, 1000),
    ],
)
def test_huge_header_is_refused_before_decoding(
    tmp_path: Path, build: Callable[[int, int], bytes], width: int, height: int
) -> None:
    path = _write(tmp_path / "huge.img", build(width, height))
    _assert_error(ImageTooLarge, path, str(path))


def test_patched_headers_claim_the_size() -> None:
    """The crafted files are what they say: Pillow reads the claimed size from each header."""
    import warnings

    for build in (_png_claiming, _jpeg_claiming, _bmp_claiming):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(build(9000, 7000))) as opened:
                assert opened.size == (9000, 7000), build.__name__


def test_pixel_limit_applies_to_files_bytes_and_arrays(tmp_path: Path, astronaut: np.ndarray) -> None:
    data = _encode_pil(Image.fromarray(astronaut), "PNG")
    path = _write(tmp_path / "astronaut.png", data)
    message = _assert_error(ImageTooLarge, path, str(path), max_pixels=100_000)
    assert "512×512" in message and "0.262 megapixels" in message and "limit of 0.1" in message, message
    _assert_error(ImageTooLarge, data, "image bytes", max_pixels=100_000)
    _assert_error(ImageTooLarge, astronaut, "array", max_pixels=100_000)
    assert load_image(astronaut, max_pixels=512 * 512).pixels.shape == (512, 512, 3), "the limit is inclusive"


def test_tiny_image_is_unsupported(tmp_path: Path, astronaut: np.ndarray) -> None:
    tiny = np.ascontiguousarray(astronaut[200:210, 200:210])
    path = _write(tmp_path / "tiny.png", _encode_pil(Image.fromarray(tiny), "PNG"))
    message = _assert_error(UnsupportedImage, path, str(path))
    assert "10×10" in message
    _assert_error(UnsupportedImage, tiny, "array")
    _assert_error(UnsupportedImage, astronaut[:20], "thin strip", name="thin strip")


@pytest.mark.parametrize(
    "shape",
    [(512,), (4, 64, 64, 3), (64, 64, 2), (64, 64, 5), (0, 64, 3)],
    ids=["1-d", "4-d", "2-channels", "5-channels", "empty"],
)
def test_bad_array_shapes(shape: tuple[int, ...]) -> None:
    _assert_error(UnsupportedImage, np.zeros(shape, np.uint8), "frame", name="frame")


@pytest.mark.parametrize("dtype", [np.int32, np.int8, np.complex64])
def test_bad_array_types(dtype: type) -> None:
    message = _assert_error(UnsupportedImage, np.zeros((64, 64, 3), dtype), "array")
    assert np.dtype(dtype).name in message


def test_other_sources_are_a_type_error() -> None:
    with pytest.raises(TypeError, match="int"):
        load_image(12)  # type: ignore[arg-type]


def test_exit_codes_are_distinct_and_documented() -> None:
    """Each error class has its own exit code, one the README's table documents."""
    from impostor.cli.common import EXIT_CODES, exit_code

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    table = readme.split("#### Exit codes", 1)[1].split("###", 1)[0]
    documented = {int(code) for code in re.findall(r"\| (\d+) \|", table)}
    leaves = [getattr(errors, name) for name in errors.__all__ if name not in ("ImpostorError", "InputError")]
    leaves = [kind for kind in leaves if isinstance(kind, type)]
    codes = [exit_code(kind("x")) for kind in leaves]
    assert len(set(codes)) == len(codes), f"exit codes are not distinct: {codes}"
    assert set(codes) <= documented, f"undocumented exit codes: {set(codes) - documented}"
    # 0, 1 and 3 are decisions (MATCH, NO_MATCH, REFER); 2 is a usage error, which ConfigError is
    assert not set(codes) & {0, 1, 3}
    assert exit_code(errors.ConfigError("x")) == 2 and exit_code(RuntimeError("bug")) == 70
    assert set(EXIT_CODES) >= set(leaves)
    assert all(issubclass(kind, errors.ImpostorError) for kind in leaves)
    for kind in (ImageNotFound, NotAnImage, ImageTooLarge, UnsupportedImage):
        assert issubclass(kind, errors.InputError)


def test_padding_in_the_header_does_not_hide_damage_further_on() -> None:
    from impostor.stages.capture import _jpeg_damage

    whole = (Path(__file__).resolve().parent.parent / "samples" / "live_genuine.jpg").read_bytes()
    cut = whole[: len(whole) * 2 // 3]  # the picture's data ends early: libjpeg fills in grey
    assert _jpeg_damage(cut)
    app0_end = 4 + int.from_bytes(cut[4:6], "big")  # SOI, then APP0's marker and length
    padded = cut[:app0_end] + b"\x00\x00" + cut[app0_end:]  # the padding some cameras write
    assert _jpeg_damage(padded), "the header's padding hid the damage after it"
    assert not _jpeg_damage(whole[:app0_end] + b"\x00\x00" + whole[app0_end:])  # padding alone is fine
