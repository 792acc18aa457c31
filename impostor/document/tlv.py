"""BER-TLV, the encoding of every file on a travel document's chip (ICAO 9303 part 10).

A chip file is a tree of tag-length-value items. Lengths are read strictly: an item that claims
more bytes than are left, an indefinite length, or a length of more than four bytes is refused
with a :class:`DocumentError` that names the file and the offset, so that a cut-off or forged
file can never make a reader look past its end.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from impostor.errors import DocumentError

__all__ = ["Item", "items", "one", "child", "children"]


@dataclass(frozen=True)
class Item:
    """One TLV item: its tag as an integer (``0x7F61``), where its value lies in ``data``."""

    tag: int
    data: bytes
    start: int  # of the value
    end: int  # of the value, exclusive
    offset: int  # of the tag

    @property
    def value(self) -> bytes:
        """The item's value bytes, without its tag and length."""
        return self.data[self.start : self.end]


def _read(data: bytes, offset: int, end: int, label: str) -> Item:
    position = offset
    if position >= end:
        raise DocumentError(f"{label}: ends where an item should start (offset {offset})")
    tag = data[position]
    position += 1
    if tag & 0x1F == 0x1F:  # the tag number continues while the top bit is set
        while True:
            if position >= end or position - offset > 3:
                raise DocumentError(f"{label}: a tag at offset {offset} is cut off or too long")
            tag = (tag << 8) | data[position]
            position += 1
            if not data[position - 1] & 0x80:
                break
    if position >= end:
        raise DocumentError(f"{label}: the item at offset {offset} has no length")
    length = data[position]
    position += 1
    if length == 0x80:
        raise DocumentError(f"{label}: the item at offset {offset} has an indefinite length")
    if length > 0x80:
        size = length & 0x7F
        if size > 4 or position + size > end:
            raise DocumentError(f"{label}: the length of the item at offset {offset} is cut off or too long")
        length = int.from_bytes(data[position : position + size], "big")
        position += size
    if position + length > end:
        raise DocumentError(
            f"{label}: the item at offset {offset} (tag {tag:X}) claims {length} bytes but only "
            f"{end - position} are left: the file is cut off"
        )
    return Item(tag, data, position, position + length, offset)


def items(data: bytes, label: str, start: int = 0, end: int | None = None) -> Iterator[Item]:
    """The items one after another in ``data[start:end]``."""
    end = len(data) if end is None else end
    position = start
    while position < end:
        item = _read(data, position, end, label)
        yield item
        position = item.end


def one(data: bytes, tag: int, label: str) -> Item:
    """The single item a whole file is, which must carry ``tag``."""
    item = _read(data, 0, len(data), label)
    if item.tag != tag:
        raise DocumentError(f"{label}: starts with tag {item.tag:X}, not {tag:X}")
    return item


def children(item: Item, label: str) -> list[Item]:
    """The items inside a constructed item."""
    return list(items(item.data, label, item.start, item.end))


def child(item: Item, tag: int, label: str) -> Item:
    """The first item with ``tag`` inside ``item``; a :class:`DocumentError` when there is none."""
    for found in items(item.data, label, item.start, item.end):
        if found.tag == tag:
            return found
    raise DocumentError(f"{label}: no item with tag {tag:X} inside the item of tag {item.tag:X}")
