"""Image headers, read without decoding: format, size, mode, sample depth, EXIF orientation.

A decoder allocates the whole image before anyone can look at it, so the size and the memory an
image will take must come from its header first. Pillow reads the headers of the formats it
knows; small parsers here read what it cannot or does not tell: Radiance HDR and PFM (which
OpenCV decodes and Pillow cannot open), TIFF's first directory (Pillow refuses float samples) and
the sample depth of PNG and TIFF (Pillow calls a 16-bit RGBA PNG plain "RGBA"). Data whose header
none of them reads is not decoded at all.
"""

from __future__ import annotations

import io
import re
import struct
import threading
import warnings
from dataclasses import dataclass

__all__ = ["SNIFF_BYTES", "Header", "looks_like_image", "read_header"]

# every channel a decoder may hand back (OpenCV keeps alpha with IMREAD_UNCHANGED)
_MAX_CHANNELS = 4
_pillow_lock = threading.Lock()


@dataclass(frozen=True)
class Header:
    """What the header of an encoded image says.

    ``sample_bytes`` is the size of one channel of one pixel once decoded (1 for 8-bit, 2 for
    16-bit, 4 for float32, 8 for float64); ``orientation`` is EXIF tag 0x0112 (1 = upright).
    """

    format: str
    width: int
    height: int
    mode: str
    sample_bytes: int = 1
    orientation: int = 1

    @property
    def pixels(self) -> int:
        return self.width * self.height

    @property
    def decoded_bytes(self) -> int:
        """An upper bound on the memory the decoded array takes, in bytes."""
        return self.pixels * _MAX_CHANNELS * self.sample_bytes


SNIFF_BYTES = 16  # how much of a file ``looks_like_image`` needs

_SIGNATURES = (
    b"\xff\xd8\xff",  # JPEG
    b"\x89PNG\r\n\x1a\n",
    b"GIF87a",
    b"GIF89a",
    b"BM",  # Windows bitmap
    b"II*\x00",  # TIFF, little-endian
    b"MM\x00*",  # TIFF, big-endian
    b"\x00\x00\x00\x0cjP  ",  # JPEG 2000 (JP2)
    b"\xff\x4f\xff\x51",  # JPEG 2000 codestream
    b"#?RADIANCE",
    b"#?RGBE",
    b"\x59\xa6\x6a\x95",  # Sun raster
)


def looks_like_image(head: bytes) -> bool:
    """Whether the first bytes of a file (``SNIFF_BYTES`` suffice) start an image format we read.

    A file is judged by its content, as the loader judges it, not by its name: ORL's ``.pgm``
    and Yale's ``.gif`` files are images, a ``.jpg`` holding text is not.
    """
    if head.startswith(_SIGNATURES):
        return True
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return True
    if head[4:8] == b"ftyp" and head[8:12] in (b"avif", b"avis", b"heic", b"mif1"):
        return True
    # Netpbm (P1-P6) and PFM: a two-letter magic number, then white space
    return (
        len(head) >= 3
        and head[:2] in (b"P1", b"P2", b"P3", b"P4", b"P5", b"P6", b"PF", b"Pf")
        and head[2:3].isspace()
    )


def read_header(data: bytes) -> Header | None:
    """The header of ``data``, or None when no reader knows its format."""
    own = _radiance(data) or _pfm(data)
    if own is not None:
        return own
    pillow = _pillow(data)
    tiff = _tiff(data) if data[:4] in (b"II*\x00", b"MM\x00*") else None
    if pillow is None:
        return tiff
    if pillow.format == "PNG" and len(data) >= 26:
        return _with_depth(pillow, 2 if data[24] == 16 else 1)
    if tiff is not None:
        return _with_depth(pillow, tiff.sample_bytes)
    if pillow.format in ("JPEG2000", "AVIF", "PPM"):  # may hold 10-16-bit samples
        return _with_depth(pillow, 2)
    return pillow


def _with_depth(header: Header, sample_bytes: int) -> Header:
    return Header(header.format, header.width, header.height, header.mode, sample_bytes, header.orientation)


_PIL_MODES = {
    "1": "grey",
    "L": "grey",
    "LA": "grey+alpha",
    "I": "grey",
    "I;16": "grey",
    "I;16B": "grey",
    "I;16L": "grey",
    "F": "grey",
    "P": "palette",
    "PA": "palette+alpha",
    "RGB": "rgb",
    "RGBA": "rgba",
    "CMYK": "cmyk",
    "YCbCr": "rgb",
}
_PIL_SAMPLE_BYTES = {"I": 4, "F": 4, "I;16": 2, "I;16B": 2, "I;16L": 2}


def _pillow(data: bytes) -> Header | None:
    from PIL import Image, UnidentifiedImageError

    with _pillow_lock, warnings.catch_warnings():
        # our own pixel limit decides, not Pillow's bomb guard (it would quote its own limit)
        warnings.simplefilter("ignore")
        guard, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
        try:
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                try:
                    orientation = int(image.getexif().get(0x0112, 1))
                except Exception:  # a broken EXIF block must not lose a good image
                    orientation = 1
                mode = _PIL_MODES.get(image.mode, image.mode.lower())
                if image.mode == "P" and "transparency" in image.info:
                    mode = "palette+alpha"
                return Header(
                    image.format or "unknown",
                    int(width),
                    int(height),
                    mode,
                    _PIL_SAMPLE_BYTES.get(image.mode, 1),
                    orientation if 1 <= orientation <= 8 else 1,
                )
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError, RuntimeError, struct.error):
            return None
        except Exception:  # a plugin's parser tripping over hostile bytes is still "unknown"
            return None
        finally:
            Image.MAX_IMAGE_PIXELS = guard


_RADIANCE_SIZE = re.compile(rb"^([-+])([XY]) (\d{1,9}) ([-+])([XY]) (\d{1,9})$")


def _radiance(data: bytes) -> Header | None:
    """Radiance RGBE (.hdr): text lines up to a blank one, then ``-Y height +X width``."""
    if not (data.startswith(b"#?RADIANCE") or data.startswith(b"#?RGBE")):
        return None
    head = data[:8192]
    end = head.find(b"\n\n")
    if end < 0:
        return None
    line = head[end + 2 :].split(b"\n", 1)[0].strip()
    match = _RADIANCE_SIZE.match(line)
    if match is None or match.group(2) == match.group(5):
        return None
    first, second = int(match.group(3)), int(match.group(6))
    height, width = (first, second) if match.group(2) == b"Y" else (second, first)
    return Header("HDR", width, height, "rgb", 4)


_PFM = re.compile(rb"^(PF|Pf)\s+(\d{1,9})\s+(\d{1,9})\s+(\S+)\s")


def _pfm(data: bytes) -> Header | None:
    """Portable float map: ``PF`` (colour) or ``Pf`` (grey), width, height, scale, float32 data."""
    match = _PFM.match(data[:256])
    if match is None:
        return None
    return Header(
        "PFM", int(match.group(2)), int(match.group(3)), "rgb" if match.group(1) == b"PF" else "grey", 4
    )


def _tiff(data: bytes) -> Header | None:
    """Width, height, samples and bits per sample from a TIFF's first image directory."""
    order = "<" if data[:2] == b"II" else ">"
    fields: dict[int, tuple[int, int, int]] = {}  # tag: (type, count, where its value starts)
    try:
        (offset,) = struct.unpack_from(order + "I", data, 4)
        (count,) = struct.unpack_from(order + "H", data, offset)
        for k in range(min(count, 512)):
            at = offset + 2 + 12 * k
            tag, kind, items = struct.unpack_from(order + "HHI", data, at)
            size = {3: 2, 4: 4}.get(kind, 0) * items
            # a value of four bytes or fewer sits in the field; a longer one at the offset there
            where = at + 8 if size <= 4 else struct.unpack_from(order + "I", data, at + 8)[0]
            fields[tag] = (kind, items, where)

        def first(tag: int, default: int) -> int:
            if tag not in fields or fields[tag][0] not in (3, 4):
                return default
            kind, _, where = fields[tag]
            return int(struct.unpack_from(order + ("H" if kind == 3 else "I"), data, where)[0])

        width, height = first(256, 0), first(257, 0)
        samples, bits = max(1, first(277, 1)), first(258, 8)
    except struct.error:
        return None
    if width <= 0 or height <= 0:
        return None
    mode = {1: "grey", 2: "grey+alpha", 3: "rgb"}.get(samples, "rgba")
    return Header("TIFF", width, height, mode, max(1, -(-bits // 8)))
