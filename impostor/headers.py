"""Image headers, read without decoding: format, size, mode, sample depth, EXIF orientation.

A decoder allocates the whole image before anyone can look at it, so the size and the memory an
image will take must come from its header first, and reading a header never touches pixels.
Small parsers here read PNG and WebP by walking their chunks (Pillow decodes a PNG to find EXIF
stored after its pixels, and opens a WebP by allocating two canvases), Radiance HDR and PFM (which OpenCV
decodes and Pillow cannot open), TIFF's first directory (Pillow refuses float samples) and the
sample depth of TIFF; Pillow reads the headers of the other formats the loader takes, with its
plugin called directly so that no process-wide setting (its decompression-bomb guard) is
changed: the caller's pixel limit decides. Data whose header none of them reads is not decoded
at all.

``structure_fault`` checks what a decoder would trust beyond the header: a PNG or WebP chunk
whose declared length runs past the end of the data (OpenCV allocates the length it reads, 4 GB
for a 28 kB file), and a PNG whose compressed pixels are too few for the size it claims.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import io
import re
import struct
from collections.abc import Iterator

__all__ = ["SNIFF_BYTES", "Header", "looks_like_image", "read_header", "structure_fault"]

# every channel a decoder may hand back (OpenCV keeps alpha with IMREAD_UNCHANGED)
_MAX_CHANNELS = 4


@dataclasses.dataclass(frozen=True)
class Header:
    """What the header of an encoded image says.

    ``sample_bytes`` is the size of one channel of one pixel once decoded (1 for 8-bit, 2 for
    16-bit, 4 for float32, 8 for float64); ``orientation`` is EXIF tag 0x0112 (1 = upright);
    ``progressive`` says a JPEG is coded in several scans (its decoder then holds every
    coefficient of the image at once, whatever the scale it decodes at).
    """

    format: str
    width: int
    height: int
    mode: str
    sample_bytes: int = 1
    orientation: int = 1
    progressive: bool = False

    @property
    def pixels(self) -> int:
        """Width times height, in pixels."""
        return self.width * self.height

    @property
    def decoded_bytes(self) -> int:
        """An upper bound on the memory the decoded array takes, in bytes."""
        return self.pixels * _MAX_CHANNELS * self.sample_bytes

    @property
    def codec_bytes(self) -> int:
        """An upper bound on what the decoder itself holds beside the decoded array, in bytes.

        It does not shrink when a JPEG is decoded at a reduced scale: a progressive JPEG's
        coefficients (two bytes a sample of each component) are kept at full size, as are
        OpenJPEG's and libavif's planes (32-bit samples; 16-bit YUV and RGB), the GIF
        decoder's canvas and index map, the RGBE rows of a Radiance file, and smaller buffers
        of the TIFF and WebP decoders.
        Measured on 6-12 MP images with ``bench/fuzz_loader.py --memory``, which fails when
        the estimate falls short; other formats are decoded row by row.
        """
        if self.format == "JPEG":
            components = {"grey": 1, "cmyk": 4}.get(self.mode, 3)
            return self.pixels * components * 2 if self.progressive else 0
        return self.pixels * _CODEC_BYTES_PER_PIXEL.get(self.format, 0)


# what a decoder holds per pixel beside its output, for the formats not decoded row by row
_CODEC_BYTES_PER_PIXEL = {"JPEG2000": 4 * _MAX_CHANNELS, "AVIF": 16, "GIF": 5, "HDR": 4, "TIFF": 2, "WEBP": 1}


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
    """The header of ``data``, or None when no reader knows its format. Never decodes pixels."""
    own = _png(data) or _webp(data) or _radiance(data) or _pfm(data)
    if own is not None:
        return own
    pillow = _pillow(data)
    tiff = _tiff(data) if data[:4] in (b"II*\x00", b"MM\x00*") else None
    if pillow is None:
        return tiff
    if tiff is not None:
        return _with_depth(pillow, tiff.sample_bytes)
    if pillow.format in ("JPEG2000", "AVIF", "PPM"):  # may hold 10-16-bit samples
        return _with_depth(pillow, 2)
    return pillow


def structure_fault(data: bytes) -> str:
    """What in a PNG's or WebP's chunk structure a decoder must not be given, or "".

    A chunk whose declared length runs past the end of the data is refused before any decoder
    sees it: OpenCV reserves the length a chunk declares, so one edited length field in a small
    file would cost gigabytes. So is a PNG whose compressed pixels are too few to hold the size
    its header claims (deflate packs at most 1,032 bytes into one), which a decoder would
    allocate in full before finding the data short. Other formats give "" (their decoders
    bound what they allocate by the header's size, which the caller checks).
    """
    try:
        if data.startswith(_PNG):
            stored = sum(length for kind, _, length in _png_chunks(data) if kind == b"IDAT")
        elif _is_webp(data):
            for _ in _riff_chunks(data):
                pass
            return ""
        else:
            return ""
    except _BadChunk as fault:
        return str(fault)
    if len(data) < 26 or data[12:16] != b"IHDR":
        return ""  # no PNG header to hold the pixels to: ``read_header`` knows no size either
    width, height, depth, colour = struct.unpack_from(">IIBB", data, 16)
    rows = height * (1 + -(-width * depth * _PNG_CHANNELS.get(colour, 1) // 8))  # a filter byte each
    if stored * _DEFLATE_MOST < rows:
        return (
            f"its {stored:,} bytes of compressed pixels cannot hold the {width}×{height} its header "
            f"claims; the file is truncated or forged"
        )
    return ""


def _with_depth(header: Header, sample_bytes: int) -> Header:
    return dataclasses.replace(header, sample_bytes=sample_bytes)


class _BadChunk(ValueError):
    """A chunk's declared length does not fit in the data."""


_PNG = b"\x89PNG\r\n\x1a\n"
_PNG_MAX_LENGTH = 2**31 - 1  # the PNG specification's limit on a chunk's length
_PNG_MODES = {0: "grey", 2: "rgb", 3: "palette", 4: "grey+alpha", 6: "rgba"}
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
_DEFLATE_MOST = 1032  # deflate's largest expansion: a 258-byte match in two bits


def _png_chunks(data: bytes) -> Iterator[tuple[bytes, int, int]]:
    """(type, where its data starts, its length) of each chunk up to IEND; raises ``_BadChunk``."""
    at = len(_PNG)
    while True:
        if at + 8 > len(data):
            raise _BadChunk(f"the data ends at byte {len(data):,}, before the IEND chunk")
        length, kind = struct.unpack_from(">I4s", data, at)
        rest = len(data) - at - 8  # what follows the chunk's length and type
        if length > _PNG_MAX_LENGTH or length + 4 > rest:  # its data, then a 4-byte checksum
            name = kind.decode("latin-1").encode("unicode_escape").decode()
            if length <= rest:
                raise _BadChunk(f"chunk {name!r} at byte {at} is cut short before its checksum")
            raise _BadChunk(f"chunk {name!r} at byte {at} declares {length:,} bytes, but {rest:,} follow")
        yield kind, at + 8, length
        if kind == b"IEND":
            return
        at += 12 + length


def _png(data: bytes) -> Header | None:
    """PNG: size, colour type and depth from IHDR, orientation from an eXIf chunk.

    The chunks are walked, not decoded: Pillow's ``getexif`` decodes the whole image to look for
    an eXIf chunk after the pixels, which for a forged IHDR meant allocating gigabytes.
    """
    if not data.startswith(_PNG) or len(data) < 33 or data[12:16] != b"IHDR":
        return None
    width, height, depth, colour = struct.unpack_from(">IIBB", data, 16)
    if colour not in _PNG_MODES:
        return None
    mode = _PNG_MODES[colour]
    orientation = 1
    try:
        for kind, start, length in _png_chunks(data):
            if kind == b"tRNS" and colour == 3:
                mode = "palette+alpha"
            elif kind == b"eXIf":
                orientation = _exif_orientation(data[start : start + length])
    except _BadChunk:
        pass  # the size is still the header's; ``structure_fault`` tells the caller
    return Header("PNG", width, height, mode, 2 if depth == 16 else 1, orientation)


def _is_webp(data: bytes) -> bool:
    return data[:4] == b"RIFF" and data[8:12] == b"WEBP"


def _riff_chunks(data: bytes) -> Iterator[tuple[bytes, int, int]]:
    """(fourcc, where its data starts, its length) of each chunk of a RIFF file; raises ``_BadChunk``."""
    (declared,) = struct.unpack_from("<I", data, 4)
    if declared + 8 > len(data):
        raise _BadChunk(f"the RIFF header declares {declared:,} bytes, but {len(data) - 8:,} follow")
    end, at = declared + 8, 12
    while at + 8 <= end:
        kind, length = struct.unpack_from("<4sI", data, at)
        if at + 8 + length > end:
            name = kind.decode("latin-1").encode("unicode_escape").decode()
            raise _BadChunk(
                f"chunk {name!r} at byte {at} declares {length:,} bytes, but {end - at - 8:,} follow"
            )
        yield kind, at + 8, length
        at += 8 + length + (length & 1)  # chunks are padded to an even length


def _webp(data: bytes) -> Header | None:
    """WebP: the canvas of an extended file (VP8X), or the frame size of a lossy or lossless one."""
    if not _is_webp(data) or len(data) < 30:  # the longest of the three headers ends at byte 30
        return None
    kind = data[12:16]
    if kind == b"VP8X":
        flags = data[20]
        width = 1 + int.from_bytes(data[24:27], "little")
        height = 1 + int.from_bytes(data[27:30], "little")
        mode = "rgba" if flags & 0x10 else "rgb"
    elif kind == b"VP8L" and data[20] == 0x2F:
        (bits,) = struct.unpack_from("<I", data, 21)
        width, height = 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
        mode = "rgba" if bits >> 28 & 1 else "rgb"
    elif kind == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":
        width, height = (value & 0x3FFF for value in struct.unpack_from("<HH", data, 26))
        mode = "rgb"
    else:
        return None
    orientation = 1
    try:
        for chunk, start, length in _riff_chunks(data):
            if chunk == b"EXIF":
                orientation = _exif_orientation(data[start : start + length])
    except _BadChunk:
        pass
    return Header("WEBP", width, height, mode, 1, orientation)


def _exif_orientation(raw: bytes) -> int:
    """EXIF tag 0x0112 from an EXIF block (with or without its ``Exif\\0\\0`` prefix); 1 if absent."""
    from PIL import Image

    try:
        exif = Image.Exif()
        exif.load(raw)
        orientation = int(exif.get(0x0112, 1))
    except Exception:  # a broken EXIF block must not lose a good image
        return 1
    return orientation if 1 <= orientation <= 8 else 1


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
# the formats the loader takes whose headers Pillow reads (PNG and WebP are read above); no other
# plugin is tried, so data in a format OpenCV does not decode is not opened at all
_PILLOW_FORMATS = ("JPEG", "GIF", "BMP", "TIFF", "JPEG2000", "PPM", "SUN", "AVIF")


@functools.cache
def _pillow_plugins() -> None:
    """Register the plugins of ``_PILLOW_FORMATS`` alone (all of Pillow's take a second to import)."""
    from PIL import Image

    Image.preinit()  # BMP, GIF, JPEG, PPM and PNG
    for module in ("TiffImagePlugin", "Jpeg2KImagePlugin", "SunImagePlugin", "AvifImagePlugin"):
        try:
            importlib.import_module(f"PIL.{module}")
        except ImportError:  # a plugin this Pillow was built without
            pass


def _pillow(data: bytes) -> Header | None:
    from PIL import Image

    _pillow_plugins()
    prefix = data[:16]
    for name in _PILLOW_FORMATS:
        if name not in Image.OPEN:  # a plugin this Pillow was built without
            continue
        factory, accept = Image.OPEN[name]
        verdict = accept(prefix) if accept is not None else True
        if isinstance(verdict, str) or not verdict:  # a string is Pillow's "almost, but no"
            continue
        try:
            # the plugin itself, not ``Image.open``: it reads the header and nothing else, and
            # does not consult the process-wide bomb guard (the caller's pixel limit decides)
            with factory(io.BytesIO(data), "") as image:
                return _pillow_header(image)
        except Exception:  # a plugin's parser tripping over hostile bytes is "not this format"
            continue
    return None


def _pillow_header(image: object) -> Header:
    from PIL import ImageFile

    assert isinstance(image, ImageFile.ImageFile)
    width, height = image.size
    try:
        # every plugin read here keeps EXIF in its header (only PNG's ``getexif`` decodes)
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
        progressive=bool(image.info.get("progressive")),
    )


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
