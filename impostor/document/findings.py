"""What reading a document found that an officer should know, each with what to do.

A finding has a ``code`` (the pages' catalogues translate it, filling in its ``values``), a
severity and an English ``message`` for the command line:

- **alert**: the document itself needs examining (a check digit, an expired document, a chip
  that fails passive authentication, a ghost image of someone else); a face MATCH becomes a
  REFER;
  an MRZ that cannot be read, a chip that cannot be authenticated are alerts too, because what
  cannot be checked must not clear anyone;
- **warning**: something else could not be checked (no portrait on a page);
- **note**: for the record (a correction made to an OCR read, a step not done).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

from impostor.document import chip, codes, sod
from impostor.document.mrz import Mrz, name_start, parse
from impostor.errors import DocumentError

__all__ = [
    "CODES",
    "Finding",
    "Severity",
    "authentication_findings",
    "chip_check_finding",
    "chip_completeness_findings",
    "chip_unreadable_finding",
    "ghost_chip_finding",
    "ghost_finding",
    "mrz_findings",
    "substitution_finding",
]

# every finding's code, for the pages' catalogues
CODES = (
    "mrz_check_digit",
    "document_expired",
    "expiry_unreadable",
    "unknown_state_code",
    "specimen_state_code",
    "mrz_corrected",
    "mrz_name_doubted",
    "mrz_composite_corrected",
    "mrz_unreadable",
    "nothing_read",
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
    "chip_no_dg1",
    "chip_not_in_com",
    "chip_com_unreadable",
    "chip_portrait_not_signed",
    "chip_not_authenticated",
    "chip_dg1_unreadable",
    "chip_no_sod",
    "chip_sod_unreadable",
    "chip_mrz_differs",
    "chip_unreadable",
    "chip_active_failed",
    "chip_authentication_failed",
    "portrait_substituted",
    "portrait_matches_chip",
    "portrait_chip_unchecked",
    "ghost_chip_differs",
    "ghost_chip_unconfirmed",
    "ghost_chip_matches",
    "ghost_chip_unchecked",
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
        """The finding as JSON-ready fields: code, severity, message and its values."""
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
    findings += _doubt_findings(found)
    return findings


def _doubt_findings(found: Mrz) -> list[Finding]:
    """What no check digit can settle: name letters the reader doubted, and a composite digit
    that fails only because of a character the reader corrected (with every character as the
    OCR read it, the composite holds)."""
    findings = []
    row, start = name_start(found.layout)
    if found.doubts:
        doubted = {doubt.column for doubt in found.doubts}
        marked = "".join(
            f"[{char}]" if column in doubted else char for column, char in enumerate(found.lines[row])
        )[start:]
        name = marked.rstrip("<").replace("<<", ", ").replace("<", " ").strip()
        findings.append(
            Finding(
                "mrz_name_doubted",
                "warning",
                f"{len(doubted)} letter(s) of the name were read with doubt ({name}); names have no "
                "check digit: compare the name with the page",
                {"count": str(len(doubted)), "name": name},
            )
        )
    covered = [c for c in found.corrections if c.line != row]  # the names are outside the composite
    if "composite" in found.failing and covered:
        as_read = [list(line) for line in found.lines]
        for correction in covered:
            as_read[correction.line][correction.column] = correction.read
        try:
            holds = "composite" not in parse(tuple("".join(line) for line in as_read)).failing
        except DocumentError:
            holds = False
        if holds:
            changes = ", ".join(f"{c.read}→{c.kept}" for c in covered)
            findings.append(
                Finding(
                    "mrz_composite_corrected",
                    "warning",
                    f"the composite check digit fails only because of the reader's corrections ({changes}): "
                    "compare those characters with the page",
                    {"changes": changes},
                )
            )
    return findings


def authentication_findings(result: sod.Authentication) -> list[Finding]:
    """A failed step of passive authentication is an alert, and so is a chain not checked."""
    findings = []
    for step in result.steps:
        if step.status == sod.FAILED:
            message = f"passive authentication failed ({step.name}): {step.detail}"
            findings.append(
                Finding(_AUTHENTICATION_CODES[step.name], "alert", message, {"detail": step.detail})
            )
        elif step.status == sod.NOT_DONE and step.name == "chain":
            # a forger signs his own EF.SOD with a signer of his own: hashes and signature
            # verify against the certificate he put inside it, so only the chain proves anything
            message = "the chip's signer was not checked against a CSCA, so the chip is not proven genuine"
            message += ": give --csca"
            findings.append(Finding("chip_chain_not_checked", "alert", message))
    return findings


def chip_completeness_findings(files: chip.ChipFiles) -> list[Finding]:
    """What a chip's files lack: EF.SOD, DG1 or DG2 (each an alert: a chip that cannot be
    authenticated, or whose holder or portrait is missing, must not clear anyone), and data
    groups that EF.COM, the chip's own list of its files, does not name."""
    findings = []
    if files.get("EF.SOD") is None:
        message = "no EF.SOD among the chip files: the chip's data cannot be authenticated"
        findings.append(Finding("chip_no_sod", "alert", message))
    if files.get("DG1") is None:
        message = "no DG1 among the chip files: the chip's MRZ (holder, expiry) cannot be checked"
        findings.append(Finding("chip_no_dg1", "alert", message))
    if files.get("DG2") is None:
        findings.append(
            Finding("chip_no_dg2", "alert", "no DG2 among the chip files: the chip gives no portrait")
        )
    com = files.get("EF.COM")
    if com is not None:
        try:
            listed = set(chip.read_com(com)[1])
        except DocumentError as error:
            findings.append(Finding("chip_com_unreadable", "warning", f"EF.COM cannot be read: {error}"))
        else:
            present = sorted(int(name[2:]) for name in files.files if name.startswith("DG"))
            for number in (n for n in present if n not in listed):
                message = f"DG{number} is among the chip files but EF.COM does not list it: examine the chip"
                findings.append(Finding("chip_not_in_com", "alert", message, {"group": f"DG{number}"}))
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


def ghost_chip_finding(number: int, distance: float | None, accept: float, reject: float) -> Finding:
    """What comparing secondary image ``number`` with the chip's portrait found: as
    :func:`ghost_finding`, against the portrait the issuer signed rather than the printed one."""
    where = {"image": str(number)}
    name = f"secondary image {number} (ghost image)"
    if distance is None:
        return Finding(
            "ghost_chip_unchecked", "note", f"{name}: its face could not be compared with the chip's", where
        )
    if distance > reject:
        message = f"{name} does not show the person in the chip's portrait: examine the document"
        return Finding("ghost_chip_differs", "alert", message, where)
    if distance > accept:
        message = f"{name} could not be confirmed as the chip portrait's person: look at it"
        return Finding("ghost_chip_unconfirmed", "warning", message, where)
    return Finding("ghost_chip_matches", "note", f"{name} matches the chip's portrait", where)


def substitution_finding(distance: float | None, alert: bool, alert_distance: float) -> Finding:
    """What comparing the page's printed portrait with the chip's found: ``distance`` between
    them (None when a face was missing on either), ``alert`` the substitution rule's answer
    (``impostor.pipeline.substitution``: above ``alert_distance``, not the same photo).

    A page whose portrait is not the chip's is the classic forgery (another person's photo on a
    genuine page): an alert, which leads the reasons and keeps a MATCH a REFER."""
    if distance is None:
        message = (
            "the printed portrait could not be compared with the chip's (no face on one): look at the page"
        )
        return Finding("portrait_chip_unchecked", "warning", message)
    values = {"distance": f"{distance:.3f}", "alert_distance": f"{alert_distance:.3f}"}
    if alert:
        message = (
            "the printed portrait is not the chip's (the photo on the page may have been replaced): "
            "examine the document"
        )
        return Finding("portrait_substituted", "alert", message, values)
    return Finding("portrait_matches_chip", "note", "the printed portrait is the chip's", values)


def chip_unreadable_finding(why: str) -> Finding:
    """A chip that was tried and could not be read or opened (``why``, the reader's message):
    the printed portrait decides instead, and the document needs a look (a chip can be broken
    on purpose to hide what it holds)."""
    message = f"the chip could not be read ({why}): the printed portrait was compared; examine the document"
    return Finding("chip_unreadable", "alert", message, {"detail": why})


def chip_check_finding(check: str, detail: str) -> Finding:
    """A failed active (``check`` ``"active"``) or chip (``"chip"``) authentication: the chip
    did not prove it holds the issuer's key, as a copy of a genuine chip's files cannot.
    ``detail`` is the check's own account."""
    code, name = {
        "active": ("chip_active_failed", "active authentication"),
        "chip": ("chip_authentication_failed", "chip authentication"),
    }[check]
    message = f"the chip failed {name} ({detail}): it may be a copy; examine the document"
    return Finding(code, "alert", message, {"detail": detail})
