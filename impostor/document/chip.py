"""The files a chip reader writes (ICAO 9303 part 10): EF.COM, DG1's MRZ and DG2's portrait.

DG2 nests the portrait as ``75`` → ``7F61`` (biometric group, with a count ``02``) → ``7F60``
(one template per image) → ``A1`` (the CBEFF header: format owner ``87``, format type ``88``) and
the biometric data block: ``5F2E`` holding an ISO/IEC 19794-5 record (``FAC\\0``, format type
0008), or ``7F2E`` holding an ISO/IEC 39794-5 one (format type 002A). The image inside is JPEG
or JPEG 2000; its codec is told from its first bytes, because headers have been seen to declare
the other one, and its size from the codec, because headers have been seen to declare another.

A folder is read by content, not by file name: each file's first tag says what it is (readers
name them ``DG2.bin``, ``EF_DG2.bin``, ``ef0102.bin`` …).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from impostor.document import tlv
from impostor.errors import DocumentError
from impostor.files import FileTooLarge, NotARegularFile, read_bounded

__all__ = ["ChipFiles", "ChipPortrait", "read_com", "read_dg1", "read_dg2", "read_folder"]

# the first tag of each file, and its name (ICAO 9303 part 10, table 34)
FILES = {0x60: "EF.COM", 0x61: "DG1", 0x75: "DG2", 0x77: "EF.SOD"}
DATA_GROUP_TAGS = {
    0x61: 1,
    0x75: 2,
    0x63: 3,
    0x76: 4,
    0x65: 5,
    0x66: 6,
    0x67: 7,
    0x68: 8,
    0x69: 9,
    0x6A: 10,
    0x6B: 11,
    0x6C: 12,
    0x6D: 13,
    0x6E: 14,
    0x6F: 15,
    0x70: 16,
}
CHIP_SUFFIXES = {".bin", ".dat", ""}
MAX_FILE_BYTES = 1 << 20  # a DG2 is 15-60 KB; nothing on a chip comes near a megabyte
# ICAO's portraits are about 413 × 531 px (0.2 MP); a 19794-5 full-frontal image at 300 dpi is
# under 1 MP. Four megapixels leaves room for any chip and none for a decompression bomb.
MAX_PORTRAIT_PIXELS = 4_000_000
JPEG = b"\xff\xd8\xff"
JP2 = b"\x00\x00\x00\x0cjP  \r\n\x87\n"
J2K = b"\xff\x4f\xff\x51"
FACE_IMAGE_TYPES = {0: "basic", 1: "full frontal", 2: "token frontal"}


@dataclass(frozen=True)
class ChipPortrait:
    """A portrait from DG2 (or a bare face record), still encoded.

    ``codec`` is what the bytes are ("JPEG" or "JPEG 2000"); ``declared_size`` is the width and
    height the record's header gives (None for 39794-5, which may omit them), which the decoded
    image need not match.
    """

    image: bytes
    codec: str
    record_format: str  # "ISO/IEC 19794-5" or "ISO/IEC 39794-5"
    declared_size: tuple[int, int] | None = None
    face_image_type: str = ""


@dataclass(frozen=True)
class ChipFiles:
    """What a folder of chip files holds: each file's bytes by name (``"DG2"``, ``"EF.SOD"`` …)
    and the paths they came from."""

    files: dict[str, bytes]
    paths: dict[str, Path]

    def get(self, name: str) -> bytes | None:
        """The bytes of the chip file ``name`` (``"DG1"``, ``"DG2"``, ``"SOD"`` ...); None when not read."""
        return self.files.get(name)


def _codec(image: bytes, label: str) -> str:
    if image.startswith(JPEG):
        return "JPEG"
    if image.startswith(JP2) or image.startswith(J2K):
        return "JPEG 2000"
    start = image[:4].hex(" ").upper() or "nothing"
    raise DocumentError(f"{label}: the portrait is neither JPEG nor JPEG 2000 (it starts {start})")


def read_com(data: bytes, label: str = "EF.COM") -> tuple[str, list[int]]:
    """The LDS version (``"0107"``) and the data groups EF.COM lists."""
    com = tlv.one(data, 0x60, label)
    version = tlv.child(com, 0x5F01, label).value.decode("ascii", "replace")
    listed = tlv.child(com, 0x5C, label).value
    return version, [DATA_GROUP_TAGS[tag] for tag in listed if tag in DATA_GROUP_TAGS]


def read_dg1(data: bytes, label: str = "DG1") -> str:
    """The MRZ text in DG1, its lines joined by newlines (44, 36 or 30 characters each)."""
    text = tlv.child(tlv.one(data, 0x61, label), 0x5F1F, label).value
    try:
        mrz = text.decode("ascii")
    except UnicodeDecodeError:
        raise DocumentError(f"{label}: the MRZ holds bytes that are not text") from None
    width = {90: 30, 72: 36, 88: 44}.get(len(mrz))
    if width is None:
        raise DocumentError(f"{label}: an MRZ of {len(mrz)} characters (90, 72 or 88 expected)")
    return "\n".join(mrz[i : i + width] for i in range(0, len(mrz), width))


def read_dg2(data: bytes, label: str = "DG2") -> list[ChipPortrait]:
    """The portraits in a DG2, or in a bare 19794-5 or 39794-5 face record; at least one.

    Raises :class:`DocumentError` for a file that is cut off, of an unknown format, or whose
    image is neither JPEG nor JPEG 2000.
    """
    if data.startswith(b"FAC\x00"):
        return _iso19794(data, label)
    if data[:1] in (b"\xa1", b"\x65"):
        return [_iso39794(data, label)]
    group = tlv.one(data, 0x75, label)
    biometric = tlv.child(group, 0x7F61, label)
    portraits: list[ChipPortrait] = []
    for template in tlv.children(biometric, label):
        if template.tag != 0x7F60:
            continue
        for block in tlv.children(template, label):
            if block.tag == 0x5F2E:
                portraits += _iso19794(block.value, label)
            elif block.tag == 0x7F2E:
                portraits.append(_iso39794(block.value, label))
            elif block.tag not in (0xA1, 0xA2):
                raise DocumentError(f"{label}: an unknown biometric data block (tag {block.tag:X})")
    if not portraits:
        raise DocumentError(f"{label}: holds no face record")
    return portraits


def _iso19794(record: bytes, label: str) -> list[ChipPortrait]:
    """The images of an ISO/IEC 19794-5 record: a 14-byte header, then per image a 20-byte
    facial block header, 8 bytes per feature point, 12 bytes of image information, the image."""
    if not record.startswith(b"FAC\x00") or len(record) < 14:
        opening = record[:4].hex(" ").upper() or "nothing"
        raise DocumentError(f"{label}: the face record is not ISO/IEC 19794-5 (it starts {opening})")
    declared = int.from_bytes(record[8:12], "big")
    if declared > len(record):
        raise DocumentError(
            f"{label}: the face record claims {declared} bytes but holds {len(record)}: it is cut off"
        )
    count = int.from_bytes(record[12:14], "big")
    position, portraits = 14, []
    for _ in range(count):
        if position + 32 > len(record):
            raise DocumentError(f"{label}: the face record is cut off inside an image's header")
        length = int.from_bytes(record[position : position + 4], "big")
        points = int.from_bytes(record[position + 4 : position + 6], "big")
        info = position + 20 + 8 * points
        start, end = info + 12, position + length
        if length < 32 or end > len(record) or start > end:
            raise DocumentError(f"{label}: an image block of {length} bytes does not fit the record")
        image = record[start:end]
        width = int.from_bytes(record[info + 2 : info + 4], "big")
        height = int.from_bytes(record[info + 4 : info + 6], "big")
        kind = FACE_IMAGE_TYPES.get(record[info], f"type {record[info]}")
        portraits.append(ChipPortrait(image, _codec(image, label), "ISO/IEC 19794-5", (width, height), kind))
        position = end
    if not portraits:
        raise DocumentError(f"{label}: the face record holds no image")
    return portraits


def _iso39794(record: bytes, label: str) -> ChipPortrait:
    """The image of an ISO/IEC 39794-5 record (DER): the face image data block ``65`` →
    representation blocks ``A1`` → ``30`` → image representation ``A1`` → 2D ``A0`` → ``A0`` →
    image data ``80``."""
    top = tlv.one(record, record[0], label)
    block = tlv.child(top, 0x65, label) if top.tag == 0xA1 else top
    path = (0xA1, 0x30, 0xA1, 0xA0, 0xA0, 0x80)
    item = block
    for tag in path:
        item = tlv.child(item, tag, label)
    image = item.value
    return ChipPortrait(image, _codec(image, label), "ISO/IEC 39794-5")


def _file_name(path: Path, data: bytes) -> str | None:
    """What a chip file is, from its first tag: when the file is exactly that one item, or
    when it is named as readers name chip files (``.bin``, ``.dat``, no extension), so that a
    cut-off DG2 is read, and refused with its reason, rather than passed over."""
    name = FILES.get(data[0]) or (f"DG{DATA_GROUP_TAGS[data[0]]}" if data[0] in DATA_GROUP_TAGS else None)
    if name is None:
        return None
    if path.suffix.lower() in CHIP_SUFFIXES:
        return name
    try:
        item = tlv.one(data, data[0], name)
    except DocumentError:
        return None
    return name if item.end == len(data) else None


def read_folder(folder: Path, label: str | None = None) -> ChipFiles:
    """The chip files in ``folder``, each recognised by its first tag; other files and
    sub-folders are ignored.

    Raises :class:`DocumentError` when two files claim the same data group, when an entry is a
    pipe, a device or a socket (a reader writes files; such an entry is never skipped in
    silence, since a file left out can hide what would give a forgery away), or when no file
    is a chip file.
    """
    label = label or str(folder)
    files: dict[str, bytes] = {}
    paths: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.is_dir():
            continue
        try:
            data = read_bounded(path, MAX_FILE_BYTES)
        except FileTooLarge:
            continue  # no chip file comes near the limit: another kind of file
        except NotARegularFile:
            raise DocumentError(
                f"{label}: {path.name} is not a regular file (a pipe, a device or a socket); "
                "give a folder of the files a chip reader wrote"
            ) from None
        except OSError as exc:
            raise DocumentError(f"{label}: {path.name} cannot be read ({exc.strerror or exc})") from None
        if len(data) < 2:
            continue
        name = _file_name(path, data)
        if name is None:
            continue
        if name in files:
            raise DocumentError(f"{label}: both {paths[name].name} and {path.name} hold {name}; keep one")
        files[name], paths[name] = data, path
    if not files:
        raise DocumentError(
            f"{label}: no chip file here (EF.COM, DG1, DG2 or EF.SOD, as a reader writes them)"
        )
    return ChipFiles(files, paths)
