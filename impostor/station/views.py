"""What the officers' page is shown of a traveller: the document and its reading, the verdict in
the page's terms (reason codes and the document's findings, which the catalogues put into
words), the chip read at the counter (its three checks, which portrait decides), and the faces
side by side at one scale (``impostor.pipeline.portrait``).
"""

from __future__ import annotations

from typing import Any

from impostor.document import DocumentReading, Finding
from impostor.pipeline.portrait import portrait_jpeg
from impostor.pipeline.verifier import Located
from impostor.station.sessions import Traveller
from impostor.types import Decision, Verdict

__all__ = [
    "PRESENTATION_ATTACKS",
    "chip_view",
    "document_view",
    "face_url",
    "reading_view",
    "retake",
    "show",
    "verdict_view",
]


def show(traveller: Traveller, side: str, located: Located) -> None:
    """Put ``located``'s face on the page as ``side`` (a new version: the page never shows a stale one)."""
    traveller.version += 1
    traveller.faces[side] = portrait_jpeg(located)


def face_url(traveller: Traveller, side: str) -> str | None:
    """Where the page fetches the face of ``side`` (None before there is one)."""
    return f"/counter/faces/{side}?v={traveller.version}" if side in traveller.faces else None


def document_view(traveller: Traveller) -> dict[str, Any]:
    """The traveller's document as the page shows it: whether its printed face was found and
    passed its gates, why not (reason codes), where it came from, its face's URL, its reading
    (with its chip's, once read) and which portrait decides."""
    located = traveller.document
    assert located is not None
    codes = []
    if located.landmarks is None:
        codes.append("document_no_face")
    if located.rotated:
        codes.append("document_rotated")
    if located.image.info.damage:
        codes.append("document_damaged")
    if located.quality is not None:
        codes += [f"document_{measure.name}" for measure in located.quality.failures]
    passed = located.landmarks is not None and located.quality is not None and located.quality.passed
    return {
        "face": located.landmarks is not None,
        "passed": passed and not located.image.info.damage,
        "reason_codes": codes,
        "rotated_degrees": located.rotated,
        "source": traveller.document_source,
        "name": traveller.document_name,
        "image": face_url(traveller, "document"),
        "reading": reading_view(traveller.reading),
        "portrait": traveller.side.portrait if traveller.side is not None else None,
    }


def chip_view(traveller: Traveller) -> dict[str, Any] | None:
    """What the page shows of the chip read from the reader: how it was opened, its portrait's
    URL, its three checks (passive, active and chip authentication, each ``passed``,
    ``failed``, ``incomplete``, ``not_done``, ``not_counted`` or ``not_read``) and whether its
    portrait decides. None before a chip was read."""
    chip_read, side = traveller.chip_read, traveller.side
    if chip_read is None or side is None or side.checks is None:
        return None
    checks = side.checks
    return {
        "access": chip_read.access,
        "password": "can" if chip_read.password == "CAN" else "mrz",
        "tries": chip_read.tries,
        "image": face_url(traveller, "chip"),
        "checks": [
            {"check": name, "status": status.replace(" ", "_")}
            for name, status in (
                ("passive", checks.passive),
                ("active", checks.active),
                ("chip", checks.chip),
            )
        ],
        "genuine": chip_read.genuine,
        "decides": side.portrait == "chip",
    }


def reading_view(reading: DocumentReading | None) -> dict[str, Any] | None:
    """What the page shows of a document's reading: its kind, the MRZ's fields and check
    digits, passive authentication's steps, and the findings (codes and values, which the
    catalogues put into words)."""
    if reading is None or reading.kind == "portrait":
        return None
    found = reading.mrz
    mrz = None
    if found is not None:
        mrz = {
            "from": reading.mrz_from,
            "layout": found.layout,
            "surname": found.surname,
            "given_names": found.given_names,
            "document_number": found.document_number,
            "issuing_state": found.issuing_state,
            "nationality": found.nationality,
            "birth_date": found.birth_date.isoformat() if found.birth_date else None,
            "expiry_date": found.expiry_date.isoformat() if found.expiry_date else None,
            "sex": found.sex,
            "valid": found.valid,
            "failing": list(found.failing),
            "name_doubts": [{"name": which, "index": index} for which, index in found.doubted_letters],
        }
    steps = None
    if reading.authentication is not None:
        steps = [
            {"step": step.name, "status": step.status.replace(" ", "_")}
            for step in reading.authentication.steps
        ]
    return {
        "kind": reading.kind,
        "mrz": mrz,
        "passive_authentication": steps,
        "findings": [
            {"code": f.code, "severity": f.severity, "values": f.values}
            for f in reading.findings
            if f.severity != "note" or f.code.startswith("ghost_")
        ],
    }


# a live "photo" that looks drawn is a picture held up to the camera: another photo of it
# changes nothing, and the traveller is what needs looking at
PRESENTATION_ATTACKS = frozenset({"live_palette"})


def retake(verdict: Verdict, alerts: tuple[Finding, ...]) -> bool:
    """A REFER whose every reason is the live photo's (no face, blur, light, pose, another face
    in view): what is asked is another photo, not a secondary inspection. Not when the faces
    that were compared already look like two people: a traveller who spoils his photo on
    purpose must not win another try at the camera."""
    different = verdict.distance is not None and verdict.distance > verdict.reject_distance
    return (
        verdict.decision is Decision.REFER
        and not alerts
        and not different
        and bool(verdict.reasons)
        and all(reason.side == "live" for reason in verdict.reasons)
        and not any(reason.code in PRESENTATION_ATTACKS for reason in verdict.reasons)
    )


def verdict_view(traveller: Traveller) -> dict[str, Any]:
    """The traveller's verdict as the page shows it: the decision, whether to take another
    photo, the document's findings and the other reasons as codes, the time and the record."""
    verdict = traveller.verdict
    assert verdict is not None
    # the document's alerts lead the reasons in their own words, with their values (a date, a
    # field), which a bare reason code would lose
    alerts = traveller.reading.alerts if traveller.reading is not None else ()
    shown = {f.code for f in alerts}
    return {
        "decision": verdict.decision.value,
        "retake": retake(verdict, alerts),
        "probability": verdict.probability,
        "document_findings": [{"code": f.code, "values": f.values} for f in alerts],
        "reason_codes": [reason.code for reason in verdict.reasons if reason.code not in shown],
        "time": traveller.decided.isoformat(timespec="seconds") if traveller.decided else None,
        "record": traveller.record,
        "judgement": traveller.judgement,
        "portrait": traveller.side.portrait if traveller.side is not None else None,
    }
