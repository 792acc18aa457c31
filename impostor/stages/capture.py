"""Capture: turn a path, bytes, an array, a camera or a video clip into upright RGB pixels.

Still images are checked before they are decoded, because a decoder allocates the whole image
first: only regular files are read, and no more than the file-size limit of them; the header
(``impostor.headers``) gives the size and the sample depth, and an image over the pixel limit,
or one whose decoding would take more memory than the decoding budget, is refused without
allocating it. The budget is one per process (``impostor.budget``): a decode reserves what it
will take, its decoder's own buffers included, and waits while the decodes running beside it
leave too little. A chunk whose declared length runs past the end of the file is refused
before a decoder trusts it. Data whose header no reader knows is not decoded at all, and
whatever a decoder raises becomes "not an image". Large JPEGs are decoded at 1/2, 1/4 or 1/8
scale in the DCT domain (several times faster than a full decode and a resize), as long as the
longer side stays above the ``analysis_side`` setting; a JPEG whose entropy-coded data is
damaged still decodes (libjpeg fills what it lost with grey) but says so in
``ImageInfo.damage``, so that the decision can refer it instead of trusting half a face. EXIF
orientation is applied here, once, so every later stage sees the face the right way up.
"""

from __future__ import annotations

import functools
import hashlib
import math
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from impostor import settings
from impostor.budget import DECODING
from impostor.errors import (
    CaptureError,
    ImageNotFound,
    ImageTooLarge,
    NotAnImage,
    UnsupportedImage,
)
from impostor.files import FileTooLarge, NotARegularFile, read_bounded
from impostor.headers import Header, read_header, structure_fault
from impostor.types import ImageInfo, LoadedImage

__all__ = ["ImageSource", "load_image", "open_stream", "Frame"]

ImageSource = str | Path | bytes | bytearray | memoryview | NDArray[np.generic]

MIN_SIDE = 32  # below this no detector can find a face, so say so up front


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
        label = name or str(source)
        return _from_bytes(read_file(source, label), label, limit, side)
    raise TypeError(f"cannot read an image from {type(source).__name__}: give a path, bytes or array")


def read_file(path: str | Path, label: str | None = None, *, max_bytes: int | None = None) -> bytes:
    """The bytes of a regular file of at most ``max_bytes`` (the ``max_file_mb`` setting).

    A FIFO, a device such as /dev/zero, a folder or a file over the limit is refused before it
    is read (``ImageNotFound`` or ``ImageTooLarge``), so that nothing blocks or fills memory.
    """
    label = label or str(path)
    cap = int(max_bytes if max_bytes is not None else float(settings.get("max_file_mb")) * 2**20)
    try:
        return read_bounded(path, cap)
    except FileNotFoundError:
        raise ImageNotFound(f"{label}: no such file") from None
    except IsADirectoryError:
        raise ImageNotFound(f"{label}: is a folder, not an image file") from None
    except NotARegularFile:
        raise ImageNotFound(f"{label}: is not a regular file (a pipe or a device); give an image") from None
    except FileTooLarge as exc:
        raise ImageTooLarge(
            f"{label}: {exc.size / 2**20:.3g} MB, over the file size limit of {cap / 2**20:.3g} MB; "
            "give a smaller file or raise IMPOSTOR_MAX_FILE_MB"
        ) from None
    except OSError as exc:
        raise ImageNotFound(f"{label}: cannot be read ({exc.strerror or exc})") from None


_REDUCED = {2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4, 8: cv2.IMREAD_REDUCED_COLOR_8}


def _from_bytes(data: bytes, label: str, limit: int, side: int) -> LoadedImage:
    if not data:
        raise NotAnImage(f"{label}: the file is empty")
    header = read_header(data)
    if header is None:
        raise NotAnImage(f"{label}: not an image (no known image format)")
    _check_size(header.width, header.height, label, limit)
    if min(header.width, header.height) < 1:
        raise NotAnImage(f"{label}: the {header.format} header gives no size")
    fault = structure_fault(data)
    if fault:
        raise NotAnImage(f"{label}: the {header.format} data is corrupt ({fault})")
    scale = 1
    if header.format == "JPEG":
        longest = max(header.width, header.height)
        scale = next((s for s in (8, 4, 2) if longest // s >= side), 1)
    needed, budget = _decode_cost(data, header, scale, label)
    # the process's decodes share the budget: this one waits for room beside those running
    with DECODING.reserve(needed, budget):
        return _decode_upright(data, header, scale, label)


def _decode_upright(data: bytes, header: Header, scale: int, label: str) -> LoadedImage:
    damage = None
    whole = _strict_jpeg(data, header, scale) if header.format == "JPEG" else None
    if whole is not None:  # a whole JPEG, decoded once (the common case)
        rgb, bit_depth = whole, 8
    else:
        # damaged, CMYK or otherwise unusual: OpenCV decodes whatever it can, and a strict
        # re-read beside it (both release Python's lock) says what was lost
        damage = _checker().submit(_jpeg_damage, data) if header.format == "JPEG" else None
        decoded = _decode(data, header, scale, label)
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
        damage=damage.result() if damage is not None else "",
    )
    return LoadedImage(pixels=rgb, info=info)


def _decode_cost(data: bytes, header: Header, scale: int, label: str) -> tuple[int, int]:
    """The bytes decoding takes, and the ``decode_memory_mb`` budget; refuses what exceeds it."""
    budget = int(settings.get("decode_memory_mb")) * 1024 * 1024
    # the decoded array and the 8-bit RGB copy made of it, what the decoder holds beside them,
    # the blocks a conversion works in, and the encoded data, which a decoder may copy
    needed = (header.decoded_bytes + header.pixels * 3) // (scale * scale) + header.codec_bytes + len(data)
    if header.sample_bytes > 1 or header.mode not in ("grey", "rgb", "palette", "cmyk"):
        needed += _CONVERSION_BLOCKS * _BLOCK_BYTES
    if needed > budget:
        raise ImageTooLarge(
            f"{label}: a {header.width}×{header.height} {header.format} of {8 * header.sample_bytes}-bit "
            f"samples needs about {needed / 2**20:,.0f} MB to decode, over the budget of "
            f"{budget / 2**20:,.0f} MB; resize it or raise IMPOSTOR_DECODE_MEMORY_MB"
        )
    return needed, budget


def _decode(data: bytes, header: Header, scale: int, label: str) -> NDArray[np.generic]:
    """Decode with OpenCV; every failure of the decoder's is "not an image", never a crash."""
    buffer = np.frombuffer(data, dtype=np.uint8)
    try:
        if scale > 1:
            decoded = cv2.imdecode(buffer, _REDUCED[scale] | cv2.IMREAD_IGNORE_ORIENTATION)
        else:
            # UNCHANGED keeps 16-bit depth and alpha, which we convert deliberately below; it also
            # ignores EXIF orientation, which we apply ourselves for every format alike.
            decoded = cv2.imdecode(buffer, cv2.IMREAD_UNCHANGED)
    except (cv2.error, MemoryError, ValueError, OverflowError, SystemError) as exc:
        reason = str(exc).strip().splitlines()[-1][:120] if str(exc).strip() else type(exc).__name__
        raise NotAnImage(f"{label}: the {header.format} data cannot be decoded ({reason})") from None
    if decoded is None or decoded.size == 0:
        raise NotAnImage(f"{label}: the {header.format} data is truncated or corrupt")
    if decoded.ndim == 3 and decoded.shape[2] not in (1, 2, 3, 4):
        raise UnsupportedImage(f"{label}: {decoded.shape[2]} colour channels are not supported")
    return decoded


def _strict_jpeg(data: bytes, header: Header, scale: int) -> NDArray[np.uint8] | None:
    """RGB pixels of a whole 8-bit JPEG at 1/``scale``, or None for anything else.

    libjpeg-turbo in strict mode turns every warning into an error, so a picture it decodes is
    known to be whole: one decoding instead of OpenCV's and a separate damage check (the same
    pixels, exactly: both use libjpeg-turbo's accurate DCT and smooth upsampling). A damaged or
    CMYK JPEG, or a size the decoder would round differently, returns None for the slow path.
    """
    import simplejpeg

    if header.sample_bytes != 1 or header.mode not in ("rgb", "grey"):
        return None
    rows, columns = -(-header.height // scale), -(-header.width // scale)
    try:
        pixels = simplejpeg.decode_jpeg(
            data, colorspace="RGB", strict=True, min_factor=scale, min_height=rows, min_width=columns
        )
    except Exception:  # damage, or a JPEG libjpeg-turbo's simple interface does not take
        return None
    if pixels.shape != (rows, columns, 3):
        return None
    return np.asarray(pixels, dtype=np.uint8)


@functools.cache
def _checker() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=2, thread_name_prefix="impostor-jpeg-check")


def _jpeg_damage(data: bytes) -> str:
    """What libjpeg reported while decoding, when the picture lost data; "" when it is whole.

    A small, strict decode (1/8 scale: a few milliseconds) turns libjpeg's warnings into
    errors. "Extraneous bytes before marker" is padding only where some cameras write it, between
    the header's segments; after the picture's data (before a restart marker or the end, or
    between the scans of a progressive JPEG) it means the decoder finished the picture
    somewhere else than its data ends: corrupt data, decoded into shifted or garbled blocks.
    """
    import simplejpeg

    try:
        simplejpeg.decode_jpeg(data, strict=True, min_factor=8, min_height=1, min_width=1)
    except ValueError as exc:
        message = str(exc).strip()
        if "extraneous bytes" in message:
            # libjpeg stops at its first warning: padding in the header would hide damage
            # further on, so the picture is decoded again with the padding taken out
            header_end = _header_end_without_padding(data)
            if header_end is not None:
                return _jpeg_damage(header_end)
        return message[:120] or "the JPEG data is damaged"
    except Exception:  # a decoder that cannot even start: OpenCV decoded it, so say so mildly
        return ""
    return ""


def _header_end_without_padding(data: bytes) -> bytes | None:
    """The JPEG with the bytes that are no marker between its header's segments taken out;
    None when there are none (the padding libjpeg met is then after the picture's data)."""
    kept, at, found = bytearray(data[:2]), 2, False  # after SOI
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            found, at = True, at + 1  # padding some cameras write between segments
            continue
        marker = data[at + 1]
        if marker == 0xFF:  # fill bytes before a marker are allowed
            kept.append(0xFF)
            at += 1
            continue
        if marker == 0xDA:  # the first scan: the header ends here
            return bytes(kept + data[at:]) if found else None
        end = at + 2 + int.from_bytes(data[at + 2 : at + 4], "big")
        kept += data[at:end]
        at = end
    return None


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


_BLOCK_BYTES = 8 * 2**20  # rows converted at a time: bounds the float temporaries of a conversion
_CONVERSION_BLOCKS = 3  # the most blocks' worth a conversion holds at once (float input, measured)
_SUPPORTED = (np.uint8, np.uint16, np.float32, np.float64, np.bool_)


def _to_rgb8(array: NDArray[np.generic], label: str, *, bgr: bool) -> NDArray[np.uint8]:
    """Any depth and channel count to RGB uint8; alpha is composited onto white.

    Conversions that need wider temporaries run over blocks of rows, so the memory they take
    beyond the input and the output stays under ``_CONVERSION_BLOCKS`` × ``_BLOCK_BYTES``
    whatever the image's size.
    """
    if array.dtype.type not in _SUPPORTED:
        raise UnsupportedImage(f"{label}: pixel type {array.dtype} is not supported; save it as 8- or 16-bit")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    channels = 1 if array.ndim == 2 else array.shape[2]
    if channels not in (1, 2, 3, 4):
        raise UnsupportedImage(f"{label}: {channels} colour channels are not supported")
    if array.dtype == np.uint8 and channels in (1, 3):  # the common cases: one exact pass
        if channels == 1:
            return np.asarray(cv2.cvtColor(np.ascontiguousarray(array), cv2.COLOR_GRAY2RGB))
        if bgr:  # OpenCV's swap: the same pixels as a numpy flip and copy, in a third of the time
            return np.asarray(cv2.cvtColor(np.ascontiguousarray(array), cv2.COLOR_BGR2RGB))
        return np.ascontiguousarray(array, dtype=np.uint8)
    top = 1.0
    if array.dtype.kind == "f" and array.size:
        # floats are 0-1 by convention, but 0-255 floats are common enough to recognise;
        # a stray value just above 1 is an overshoot of a 0-1 image, not a 0-255 one
        top = 255.0 if _block_max(array) > 2.0 else 1.0
    height, width = array.shape[:2]
    out = np.empty((height, width, 3), dtype=np.uint8)
    rows = max(1, _BLOCK_BYTES // max(1, width * channels * 8))
    for start in range(0, height, rows):
        out[start : start + rows] = _block_to_rgb8(array[start : start + rows], top, bgr)
    return out


def _block_max(array: NDArray[np.generic]) -> float:
    """The largest finite value of a float array, block by block (no full-size temporary)."""
    rows = max(1, _BLOCK_BYTES // max(1, array[0].size * 8))
    best = 0.0
    for start in range(0, array.shape[0], rows):
        block = np.nan_to_num(array[start : start + rows], nan=0.0, posinf=0.0, neginf=0.0)
        best = max(best, float(block.max()) if block.size else 0.0)
    return best


def _block_to_rgb8(block: NDArray[Any], top: float, bgr: bool) -> NDArray[np.uint8]:
    if block.dtype == np.uint8:
        eight = block
    elif block.dtype == np.uint16:
        eight = ((block.astype(np.uint32) + 128) // 257).astype(np.uint8)
    elif block.dtype == np.bool_:
        eight = block.astype(np.uint8) * 255
    else:
        values = np.nan_to_num(block.astype(np.float64, copy=False), nan=0.0, posinf=top, neginf=0.0)
        eight = (np.clip(values / top, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    if eight.ndim == 2:
        return np.repeat(eight[:, :, None], 3, axis=2)
    channels = eight.shape[2]
    if channels == 2:  # grey + alpha
        grey = eight[:, :, :1].astype(np.float32)
        alpha = eight[:, :, 1:2].astype(np.float32) / 255.0
        flat = (grey * alpha + 255.0 * (1.0 - alpha) + 0.5).astype(np.uint8)
        return np.repeat(flat, 3, axis=2)
    if channels == 4:
        colour = eight[:, :, :3].astype(np.float32)
        alpha = eight[:, :, 3:4].astype(np.float32) / 255.0
        eight = (colour * alpha + 255.0 * (1.0 - alpha) + 0.5).astype(np.uint8)
    return eight[:, :, ::-1] if bgr else eight


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
    """One frame of a camera or clip: its number from 0, its time, its RGB pixels."""

    index: int
    time_ms: float
    pixels: NDArray[np.uint8]  # RGB

    def image(self, label: str) -> LoadedImage:
        """The frame as an image named ``label`` (its SHA-256 taken over the pixels: a frame
        has no file)."""
        height, width = self.pixels.shape[:2]
        info = ImageInfo(
            source=label,
            width=width,
            height=height,
            format="video frame",
            mode="rgb",
            bit_depth=8,
            exif_orientation=1,
            decode_scale=1,
            sha256=hashlib.sha256(self.pixels.tobytes()).hexdigest(),
        )
        return LoadedImage(self.pixels, info)


@contextmanager
def open_stream(source: int | str | Path, *, seconds: float | None = None) -> Iterator[Iterator[Frame]]:
    """Frames from a camera (an int index) or a video file, for at most ``seconds``.

    Use as a context manager; the device is released on every way out, errors included.
    For a file the window is measured in the clip's own time; for a camera, on the wall clock.
    Raises ``CaptureError`` if the source cannot be opened.
    """
    window = float(seconds if seconds is not None else settings.get("capture_seconds"))
    if not (math.isfinite(window) and window > 0):
        raise CaptureError(f"{source}: the capture window must be a positive number of seconds, not {window}")
    is_camera = isinstance(source, int)
    if isinstance(source, int) and not 0 <= source <= _MAX_CAMERA:
        # OpenCV takes a negative index as "any camera" on some backends and crashes on others
        raise CaptureError(f"camera {source}: no such camera; cameras are numbered from 0 to {_MAX_CAMERA}")
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


_MAX_CAMERA = 99


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
