"""Capture: turn a path, bytes, an array, a camera or a video clip into upright RGB pixels.

Still images are checked before they are decoded: the header gives the size, and anything over
the pixel limit is refused without allocating it. Large JPEGs are decoded at 1/2, 1/4 or 1/8
scale in the DCT domain (several times faster than a full decode and a resize), as long as the
longer side stays above the ``analysis_side`` setting. EXIF orientation is applied here, once,
so every later stage sees the face the right way up.
"""

from __future__ import annotations

import hashlib
import io
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from impostor import settings
from impostor.errors import (
    CaptureError,
    ImageNotFound,
    ImageTooLarge,
    NotAnImage,
    UnsupportedImage,
)
from impostor.types import ImageInfo, LoadedImage

__all__ = ["ImageSource", "load_image", "open_stream", "Frame"]

ImageSource = str | Path | bytes | bytearray | memoryview | NDArray[np.generic]

MIN_SIDE = 32  # below this no detector can find a face, so say so up front


@dataclass(frozen=True)
class _Header:
    format: str
    width: int
    height: int
    mode: str
    orientation: int


def load_image(
    source: ImageSource,
    *,
    name: str | None = None,
    max_pixels: int | None = None,
    analysis_side: int | None = None,
) -> LoadedImage:
    """Read an image into upright RGB ``uint8`` pixels.

    ``source`` is a path, the encoded bytes of a file, or an array: arrays are taken as RGB
    (``(h, w)`` grey, ``(h, w, 3)`` RGB or ``(h, w, 4)`` RGBA; ``uint8``, ``uint16`` or float in
    0-1, or 0-255 when values exceed 2), the convention of ``face_recognition.load_image_file``.
    ``name`` labels the image in messages. Raises ``ImageNotFound``, ``NotAnImage``,
    ``ImageTooLarge`` or ``UnsupportedImage``.
    """
    limit = int(max_pixels if max_pixels is not None else settings.get("max_pixels"))
    side = int(analysis_side if analysis_side is not None else settings.get("analysis_side"))
    if isinstance(source, np.ndarray):
        return _from_array(source, name or "array", limit)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _from_bytes(bytes(source), name or "image bytes", limit, side)
    if isinstance(source, (str, Path)):
        path = Path(source)
        label = name or str(source)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise ImageNotFound(f"{label}: no such file") from None
        except IsADirectoryError:
            raise ImageNotFound(f"{label}: is a folder, not an image file") from None
        except OSError as exc:
            raise ImageNotFound(f"{label}: cannot be read ({exc.strerror or exc})") from None
        return _from_bytes(data, label, limit, side)
    raise TypeError(f"cannot read an image from {type(source).__name__}: give a path, bytes or array")


def _from_bytes(data: bytes, label: str, limit: int, side: int) -> LoadedImage:
    if not data:
        raise NotAnImage(f"{label}: the file is empty")
    header = _read_header(data, label)
    if header is not None:
        _check_size(header.width, header.height, label, limit)
    buffer = np.frombuffer(data, dtype=np.uint8)
    scale = 1
    if header is not None and header.format == "JPEG":
        longest = max(header.width, header.height)
        scale = next((s for s in (8, 4, 2) if longest // s >= side), 1)
    if scale > 1:
        flag = {2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4, 8: cv2.IMREAD_REDUCED_COLOR_8}
        decoded = cv2.imdecode(buffer, flag[scale] | cv2.IMREAD_IGNORE_ORIENTATION)
    else:
        # UNCHANGED keeps 16-bit depth and alpha, which we convert deliberately below; it also
        # ignores EXIF orientation, which we apply ourselves for every format alike.
        decoded = cv2.imdecode(buffer, cv2.IMREAD_UNCHANGED)
    if decoded is None or decoded.size == 0:
        if header is None:
            raise NotAnImage(f"{label}: not an image (no known image format)")
        raise NotAnImage(f"{label}: the {header.format} data is truncated or corrupt")
    if header is None:
        height, width = decoded.shape[:2]
        _check_size(width, height, label, limit)
        header = _Header("unknown", width, height, _mode_of(decoded), 1)
    bit_depth = 8 * decoded.dtype.itemsize
    rgb = _to_rgb8(decoded, label, bgr=True)
    rgb = _apply_orientation(rgb, header.orientation)
    _check_usable(rgb, label)
    # report the size upright, as the pixels are: orientations 5-8 swap width and height
    turned = header.orientation in (5, 6, 7, 8)
    info = ImageInfo(
        source=label,
        width=header.height if turned else header.width,
        height=header.width if turned else header.height,
        format=header.format,
        mode=header.mode,
        bit_depth=bit_depth,
        exif_orientation=header.orientation,
        decode_scale=scale,
        sha256=hashlib.sha256(data).hexdigest(),
    )
    return LoadedImage(pixels=rgb, info=info)


def _from_array(array: NDArray[np.generic], label: str, limit: int) -> LoadedImage:
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 3, 4)):
        raise UnsupportedImage(
            f"{label}: array of shape {array.shape} is not an image; expected (h, w), (h, w, 3) or (h, w, 4)"
        )
    height, width = array.shape[:2]
    _check_size(width, height, label, limit)
    rgb = _to_rgb8(np.ascontiguousarray(array), label, bgr=False)
    _check_usable(rgb, label)
    info = ImageInfo(
        source=label,
        width=width,
        height=height,
        format="array",
        mode=_mode_of(array),
        bit_depth=8 * array.dtype.itemsize,
        exif_orientation=1,
        decode_scale=1,
        sha256=hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest(),
    )
    return LoadedImage(pixels=rgb, info=info)


def _read_header(data: bytes, label: str) -> _Header | None:
    """Format, size, mode and EXIF orientation from the header alone; None if unrecognised."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            # Pillow's own bomb guard warns or raises on large images; our limit decides.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                try:
                    orientation = int(image.getexif().get(0x0112, 1))
                except Exception:  # a broken EXIF block must not lose a good image
                    orientation = 1
                mode = _PIL_MODES.get(image.mode, image.mode.lower())
                if image.mode == "P" and "transparency" in image.info:
                    mode = "palette+alpha"
                return _Header(
                    image.format or "unknown",
                    width,
                    height,
                    mode,
                    orientation if 1 <= orientation <= 8 else 1,
                )
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge(f"{label}: {exc}") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return None


_PIL_MODES = {
    "1": "grey",
    "L": "grey",
    "LA": "grey+alpha",
    "I": "grey",
    "I;16": "grey",
    "I;16B": "grey",
    "F": "grey",
    "P": "palette",
    "RGB": "rgb",
    "RGBA": "rgba",
    "CMYK": "cmyk",
    "YCbCr": "rgb",
}


def _mode_of(array: NDArray[np.generic]) -> str:
    if array.ndim == 2 or array.shape[2] == 1:
        return "grey"
    return "rgba" if array.shape[2] == 4 else "rgb"


def _check_size(width: int, height: int, label: str, limit: int) -> None:
    if width * height > limit:
        raise ImageTooLarge(
            f"{label}: {width}×{height} is {width * height / 1e6:.3g} megapixels, over the limit of "
            f"{limit / 1e6:.3g}; resize it or raise IMPOSTOR_MAX_PIXELS"
        )


def _check_usable(rgb: NDArray[np.uint8], label: str) -> None:
    height, width = rgb.shape[:2]
    if min(height, width) < MIN_SIDE:
        raise UnsupportedImage(f"{label}: only {width}×{height} pixels, too small to hold a face")


def _to_rgb8(array: NDArray[np.generic], label: str, *, bgr: bool) -> NDArray[np.uint8]:
    """Any depth and channel count to RGB uint8; alpha is composited onto white."""
    if array.dtype == np.uint8:
        eight = array
    elif array.dtype == np.uint16:
        eight = ((array.astype(np.uint32) + 128) // 257).astype(np.uint8)
    elif array.dtype in (np.float32, np.float64):
        values = np.nan_to_num(array)
        # floats are 0-1 by convention, but 0-255 floats are common enough to recognise;
        # a stray value just above 1 is an overshoot of a 0-1 image, not a 0-255 one
        top = 255.0 if values.size and float(values.max()) > 2.0 else 1.0
        eight = (np.clip(values / top, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    elif array.dtype == np.bool_:
        eight = array.astype(np.uint8) * 255
    else:
        raise UnsupportedImage(f"{label}: pixel type {array.dtype} is not supported; save it as 8- or 16-bit")
    if eight.ndim == 3 and eight.shape[2] == 1:
        eight = eight[:, :, 0]
    if eight.ndim == 2:
        return np.ascontiguousarray(np.repeat(eight[:, :, None], 3, axis=2))
    channels = eight.shape[2]
    if channels == 2:  # grey + alpha
        grey = eight[:, :, :1].astype(np.float32)
        alpha = eight[:, :, 1:2].astype(np.float32) / 255.0
        flat = (grey * alpha + 255.0 * (1.0 - alpha) + 0.5).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(flat, 3, axis=2))
    if channels == 4:
        colour = eight[:, :, :3].astype(np.float32)
        alpha = eight[:, :, 3:4].astype(np.float32) / 255.0
        eight = (colour * alpha + 255.0 * (1.0 - alpha) + 0.5).astype(np.uint8)
    elif channels != 3:
        raise UnsupportedImage(f"{label}: {channels} colour channels are not supported")
    return np.ascontiguousarray(eight[:, :, ::-1] if bgr else eight)


def _apply_orientation(rgb: NDArray[np.uint8], orientation: int) -> NDArray[np.uint8]:
    """Turn the pixels as EXIF tag 0x0112 says the camera was held."""
    if orientation in (2, 4, 5, 7):
        rgb = cv2.flip(rgb, 1)
        orientation = {2: 1, 4: 3, 5: 8, 7: 6}[orientation]
    if orientation == 3:
        rgb = cv2.rotate(rgb, cv2.ROTATE_180)
    elif orientation == 6:
        rgb = cv2.rotate(rgb, cv2.ROTATE_90_CLOCKWISE)
    elif orientation == 8:
        rgb = cv2.rotate(rgb, cv2.ROTATE_90_COUNTERCLOCKWISE)
    return np.ascontiguousarray(rgb)


# --- cameras and clips --------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Frame:
    index: int
    time_ms: float
    pixels: NDArray[np.uint8]  # RGB


@contextmanager
def open_stream(source: int | str | Path, *, seconds: float | None = None) -> Iterator[Iterator[Frame]]:
    """Frames from a camera (an int index) or a video file, for at most ``seconds``.

    Use as a context manager; the device is released on every way out, errors included.
    For a file the window is measured in the clip's own time; for a camera, on the wall clock.
    Raises ``CaptureError`` if the source cannot be opened.
    """
    window = float(seconds if seconds is not None else settings.get("capture_seconds"))
    is_camera = isinstance(source, int)
    target: int | str = source if isinstance(source, int) else str(source)
    if isinstance(target, str) and not Path(target).is_file():
        raise CaptureError(f"{source}: no such video file")
    capture = _quietly_open(target)
    try:
        if not capture.isOpened():
            what = f"camera {source}" if is_camera else f"{source}"
            raise CaptureError(f"{what}: cannot be opened; check the device or the file's format")
        yield _frames(capture, window, is_camera)
    finally:
        capture.release()


def _quietly_open(source: int | str) -> cv2.VideoCapture:
    # OpenCV logs every backend it tries (a dozen lines, one reading "raised OpenCV exception")
    # for a camera that is not there; the CaptureError we raise says it in one line instead.
    level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    try:
        return cv2.VideoCapture(source)
    finally:
        cv2.utils.logging.setLogLevel(level)


def _frames(capture: cv2.VideoCapture, window: float, is_camera: bool) -> Iterator[Frame]:
    start = time.monotonic()
    index = 0
    while True:
        ok, bgr = capture.read()
        if not ok or bgr is None:
            return
        stamp = (time.monotonic() - start) * 1000 if is_camera else capture.get(cv2.CAP_PROP_POS_MSEC)
        if stamp > window * 1000 and index > 0:
            return
        yield Frame(index=index, time_ms=float(stamp), pixels=_to_rgb8(bgr, "frame", bgr=True))
        index += 1
