"""Reading a travel document as an examiner does: the page, its MRZ, the chip and its signature.

Modules, by job::

    mrz      the MRZ's layouts, fields and check digits; look-alike correction for OCR reads
    ocr      finding the MRZ on a page image and reading it
    glyphs   the OCR-B glyph classifier: a character cell, and the networks that name it
    page     the portraits on a data page: the main one cut to ICAO proportions, ghost images
    tlv      BER-TLV, the encoding of a chip's files, read strictly
    chip     EF.COM, DG1's MRZ, DG2's portrait (ISO/IEC 19794-5 and 39794-5)
    sod      passive authentication: data group hashes, the signer's signature, the CSCA chain
    chip_reading  a chip's files read whole: completeness, DG1, passive authentication, DG2
    reading  one document read whole, with findings an officer can act on

Importing this package loads nothing heavy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from impostor.document.reading import DocumentReading, Finding, read_document

__all__ = ["DocumentReading", "Finding", "read_document"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from impostor.document import reading

        return getattr(reading, name)
    raise AttributeError(name)
