"""What reading a document found that an officer should know, each with what to do.

A finding has a ``code`` (the pages' catalogues translate it, filling in its ``values``), a
severity and an English ``message`` for the command line:

- **alert**: the document itself needs examining (a check digit, an expired document, a chip
  that fails passive authentication, a ghost image of someone else); a face MATCH becomes a
  REFER;
- **warning**: something could not be checked (the MRZ could not be read, no portrait);
- **note**: for the record (a correction made to an OCR read, a step not done).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

from impostor.document import codes, sod
from impostor.document.mrz import Mrz

__all__ = ["CODES", "Finding", "Severity", "authentication_findings", "ghost_finding", "mrz_findings"]

# every finding's code, for the pages' catalogues
CODES = (
    "mrz_check_digit",
    "document_expired",
    "expiry_unreadable",
    "unknown_state_code",
    "specimen_state_code",
    "mrz_corrected",
    "mrz_unreadable",
    "no_portrait",
    "ghost_matches",
    "ghost_unconfirmed",
    "ghost_differs",
    "ghost_unchecked",
    "chip_hash_mismatch",
    "chip_signature_failed",
    "chip_chain_failed",
    "chip_chain_not_checked",
    "chip_portrait_unreadable",
    "chip_no_dg2",
    "chip_not_authenticated",
    "chip_dg1_unreadable",
    "chip_no_sod",
    "chip_sod_unreadable",
    "chip_mrz_differs",
)

Severity = Literal["alert", "warning", "note"]

FIELD_NAMES = {
    "document_number": "document number",
    "date_of_birth": "date of birth",
    "date_of_expiry": "date of expiry",
    "optional_data": "optional data",
    "composite": "composite (whole MRZ)",
}
_AUTHENTICATION_CODES = {
    "hashes": "chip_hash_mismatch",
    "signature": "chip_signature_failed",
    "chain": "chip_chain_failed",
}


@dataclass(frozen=True)
class Finding:
    """One thing found: ``code``, ``severity``, ``message`` (English) and ``values`` for the
    catalogues' text."""

    code: str
    severity: Severity
    message: str
    values: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {"code": self.code, "severity": self.severity, "message": self.message, "values": self.values}


def mrz_findings(found: Mrz, today: dt.date, *, chip: bool = False) -> list[Finding]:
    """What an MRZ says that needs acting on: failing check digits, an expired document,
    unknown state codes, corrections made to an OCR read."""
    where = " (chip)" if chip else ""
    findings = [
        Finding(
            "mrz_check_digit",
            "alert",
            f"MRZ check digit wrong on the {FIELD_NAMES[name]}{where}: examine the document",
            {"field": name},
        )
        for name in found.failing
    ]
    expiry = found.expiry_date
    if expiry is not None and expiry < today:
        date = expiry.isoformat()
        findings.append(
            Finding("document_expired", "alert", f"the document expired on {date}{where}", {"date": date})
        )
    elif expiry is None:
        findings.append(
            Finding(
                "expiry_unreadable",
                "warning",
                f"the MRZ's expiry date {found.expiry!r} is not a date{where}: examine the document",
                {"value": found.expiry},
            )
        )
    for role, code in (("issuing_state", found.issuing_state), ("nationality", found.nationality)):
        if not codes.known(code):
            what = f"the {role.replace('_', ' ')} code {code!r}"
            message = f"{what} is not an ICAO code{where}: examine the document"
            findings.append(Finding("unknown_state_code", "alert", message, {"role": role, "code": code}))
        elif code in codes.SPECIMEN:
            findings.append(
                Finding("specimen_state_code", "note", f"{code} is ICAO's specimen state", {"code": code})
            )
    # a digit read where a letter must stand is routine; a character chosen because only it
    # makes the check digits hold, or a state code known, is worth a look at the page
    decided = [c for c in found.corrections if c.why.startswith("the only reading")]
    if decided:
        changes = ", ".join(f"{c.read}→{c.kept}" for c in decided)
        findings.append(
            Finding(
                "mrz_corrected",
                "note",
                f"{len(decided)} character(s) of the MRZ read were decided by its check digits or state codes"
                f" ({changes}): compare the MRZ with the page",
                {"count": str(len(decided)), "changes": changes},
            )
        )
    return findings


def authentication_findings(result: sod.Authentication) -> list[Finding]:
    """A failed step of passive authentication is an alert; a chain not checked, a note."""
    findings = []
    for step in result.steps:
        if step.status == sod.FAILED:
            message = f"passive authentication failed ({step.name}): {step.detail}"
            findings.append(
                Finding(_AUTHENTICATION_CODES[step.name], "alert", message, {"detail": step.detail})
            )
        elif step.status == sod.NOT_DONE and step.name == "chain":
            message = "the document signer was not checked against a CSCA: give --csca"
            findings.append(Finding("chip_chain_not_checked", "note", message))
    return findings


def ghost_finding(number: int, distance: float | None, accept: float, reject: float) -> Finding:
    """What comparing secondary image ``number`` with the main portrait found (``distance`` is
    their embedding distance, None when a face was missing; ``accept`` and ``reject`` are the
    profile's thresholds)."""
    where = {"image": str(number)}
    name = f"secondary image {number} (ghost image)"
    if distance is None:
        return Finding("ghost_unchecked", "note", f"{name}: its face could not be compared", where)
    if distance > reject:
        message = f"{name} does not show the person in the main portrait: examine the document"
        return Finding("ghost_differs", "alert", message, where)
    if distance > accept:
        message = f"{name} could not be confirmed as the main portrait's person: look at it"
        return Finding("ghost_unconfirmed", "warning", message, where)
    return Finding("ghost_matches", "note", f"{name} matches the main portrait", where)
