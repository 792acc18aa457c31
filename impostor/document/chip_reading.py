"""A chip's files read whole, as :func:`impostor.document.reading.read_document` adds them to a
document: its MRZ (DG1), passive authentication (EF.SOD), and its portrait (DG2), decoded only
once its hash is checked, with what an officer should know as findings.

A chip that cannot be authenticated is an alert, never a note: a forger's easiest move is to
leave out what would give him away (EF.SOD, a DG1 that says the passport expired, a file EF.COM
does not list). The portrait is never decoded when it differs from what was signed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509

from impostor.document import chip, mrz, sod
from impostor.document.findings import (
    Finding,
    authentication_findings,
    chip_completeness_findings,
    mrz_findings,
)
from impostor.document.mrz import Mrz
from impostor.errors import DocumentError, ImpostorError
from impostor.stages.capture import load_image
from impostor.types import LoadedImage

__all__ = ["ChipReading", "read_chip"]


@dataclass(frozen=True, eq=False)
class ChipReading:
    """What a chip's files gave: DG1's MRZ (``printed``, None when absent or unreadable), passive
    authentication (None without a readable EF.SOD), DG2's portrait still encoded and decoded
    (``image``; None when it cannot be used or was not the one signed), and the findings."""

    printed: Mrz | None
    authentication: sod.Authentication | None
    portrait: chip.ChipPortrait | None
    image: LoadedImage | None
    findings: tuple[Finding, ...]


def read_chip(
    files: chip.ChipFiles | None,
    dg2: bytes | None,
    source: str,
    trusted: list[x509.Certificate] | None,
    today: dt.date,
) -> ChipReading:
    """Read ``files`` (a chip's, or None for a lone ``dg2``) as ``source`` names it in messages,
    checking the chain against the ``trusted`` CSCAs and expiry against ``today``."""
    findings: list[Finding] = []
    if files is None:
        message = "a DG2 alone cannot be authenticated: read the chip's files with EF.SOD"
        findings.append(Finding("chip_not_authenticated", "alert", message))
        found, image = _chip_portrait(dg2, source, findings)
        return ChipReading(None, None, found, image, tuple(findings))
    findings += chip_completeness_findings(files)
    printed = None
    dg1 = files.get("DG1")
    if dg1 is not None:
        try:
            printed = mrz.parse(chip.read_dg1(dg1))
        except DocumentError as error:
            findings.append(
                Finding("chip_dg1_unreadable", "alert", f"the chip's MRZ cannot be read: {error}")
            )
        else:
            findings += mrz_findings(printed, today, chip=True)
    authentication = None
    security = files.get("EF.SOD")
    if security is not None:
        groups = {int(name[2:]): data for name, data in files.files.items() if name.startswith("DG")}
        try:
            authentication = sod.authenticate(security, groups, csca=trusted)
        except DocumentError as error:
            findings.append(Finding("chip_sod_unreadable", "alert", f"EF.SOD cannot be read: {error}"))
        else:
            findings += authentication_findings(authentication)
    found = image = None
    if dg2 is None:
        pass  # chip_completeness_findings has said so
    elif authentication is not None and not authentication.verified(2):
        message = "the chip's portrait (DG2) is not the one the issuer signed: it was not decoded"
        findings.append(Finding("chip_portrait_not_signed", "alert", message))
    else:
        found, image = _chip_portrait(dg2, source, findings)
    return ChipReading(printed, authentication, found, image, tuple(findings))


def _chip_portrait(
    dg2: bytes | None, source: str, findings: list[Finding]
) -> tuple[chip.ChipPortrait | None, LoadedImage | None]:
    """DG2's portrait decoded, within a chip's size; a finding when it cannot be used."""
    if dg2 is None:
        return None, None
    try:
        found = chip.read_dg2(dg2)[0]
        # a chip holds a portrait of at most a few hundred thousand pixels: a header claiming
        # more is a decompression bomb, refused before the decoder allocates it
        image = load_image(found.image, name=f"{source} (DG2 portrait)", max_pixels=chip.MAX_PORTRAIT_PIXELS)
    except ImpostorError as error:
        message = f"the chip's portrait cannot be used: {error}"
        findings.append(Finding("chip_portrait_unreadable", "alert", message))
        return None, None
    return found, image
