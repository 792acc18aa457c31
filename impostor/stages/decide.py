"""Decide: MATCH, NO_MATCH or REFER, with reasons an officer can act on.

The rule, in order:

1. a side with no face cannot be compared: REFER, saying which side and what to do;
2. a damaged image (a JPEG whose data was cut or corrupted: the decoder fills what it lost with
   grey) or a face that fails a quality gate (``Side.quality``: blur, exposure, pose, size...) cannot be
   trusted either way: REFER, with one reason per failed measure and what to do about it
   (a blurred shot of the right person must be taken again, not sent away as NO_MATCH);
3. ``distance <= accept_distance`` (the calibrated probability above the accept threshold):
   MATCH;
4. ``distance > reject_distance``: NO_MATCH;
5. otherwise REFER: the comparison is not conclusive either way.

A second face in view of the camera is the live side's ``single_face`` gate: one at least the
``credible_face_ratio`` limit wide makes the comparison ambiguous (REFER, take the photo again).
Reasons that do not change the decision (a smaller face far behind, a photo that had to be
turned) are still reported.
"""

from __future__ import annotations

from collections.abc import Sequence

from impostor.types import Decision, Reason, Side, Thresholds

__all__ = ["decide"]


def decide(
    document: Side,
    live: Side,
    distance: float | None,
    probability: float | None,
    thresholds: Thresholds,
    document_reasons: Sequence[Reason] = (),
) -> tuple[Decision, tuple[Reason, ...]]:
    """The decision and its reasons; ``distance`` is None when either side has no face.

    ``distance`` is the embedding distance (smaller is more alike), ``probability`` the
    profile's calibrated probability of the same person and ``thresholds`` the profile's. A
    side whose ``quality`` is None is not gated (nothing was measured). ``document_reasons``
    are what reading the document found that needs examining (a check digit, a chip that fails
    passive authentication): they come first, and faces that match are then a REFER, not a
    MATCH, because the document itself must be looked at.
    """
    decision, reasons = _decide_faces(document, live, distance, probability, thresholds)
    if not document_reasons:
        return decision, reasons
    if decision is Decision.MATCH:
        examine = Reason(
            "document_examine",
            "the faces match, but the document needs examining (see above) before the traveller is cleared",
            "document",
        )
        return Decision.REFER, (*document_reasons, *reasons, examine)
    return decision, (*document_reasons, *reasons)


def _seen_reasons(document: Side, live: Side) -> list[Reason]:
    """What the officer is told about the images before any comparison: a side without a face,
    an image turned to find it, more than one face in view."""
    reasons: list[Reason] = []
    if document.face is None:
        reasons.append(
            Reason(
                "document_no_face",
                "no face found in the document portrait: rescan the data page or read the chip photo",
                "document",
            )
        )
    if live.face is None:
        reasons.append(
            Reason(
                "live_no_face",
                "no face found in the live photo: ask the traveller to face the camera and take it again",
                "live",
            )
        )
    for side in (document, live):
        if side.rotated_degrees:
            reasons.append(
                Reason(
                    f"{side.name}_rotated",
                    f"the {side.name} image was on its side; "
                    f"it was turned {side.rotated_degrees}° to find the face",
                    side.name,
                )
            )
    crowded = live.faces_found > 1
    ambiguous = crowded and live.quality is not None and not live.quality.measure("single_face").passed
    if crowded:
        reasons.append(
            Reason(
                "live_multiple_faces",
                "more than one face in view: make sure only the traveller is in front of the camera"
                + (" and take the photo again" if ambiguous else ""),
                "live",
            )
        )
    return reasons


def _decide_faces(
    document: Side, live: Side, distance: float | None, probability: float | None, thresholds: Thresholds
) -> tuple[Decision, tuple[Reason, ...]]:
    reasons = _seen_reasons(document, live)
    crowded = live.faces_found > 1
    gated = False
    for side in (document, live):
        if side.image.info.damage:
            gated = True
            retake = "rescan it or read the chip photo" if side.name == "document" else "take it again"
            reasons.append(
                Reason(
                    f"{side.name}_damaged",
                    f"the {side.name} image is damaged ({side.image.info.damage}): part of it is missing; "
                    + retake,
                    side.name,
                )
            )
    for side in (document, live):
        if side.face is None or side.quality is None:
            continue
        for measure in side.quality.failures:
            gated = True
            if measure.name == "single_face" and crowded and side is live:
                continue  # already said: "more than one face in view"
            reasons.append(Reason(f"{side.name}_{measure.name}", measure.advice, side.name))
    if gated or distance is None or probability is None:
        return Decision.REFER, tuple(reasons)

    if distance <= thresholds.accept_distance:
        return Decision.MATCH, tuple(reasons)
    if distance > thresholds.reject_distance:
        reasons.append(
            Reason(
                "different_person",
                f"the faces do not match (probability {probability:.0%} that they are the same person): "
                "send to secondary inspection",
            )
        )
        return Decision.NO_MATCH, tuple(reasons)
    reasons.append(
        Reason(
            "inconclusive",
            f"the comparison is not conclusive (probability {probability:.0%}): compare the faces yourself "
            "or send to secondary inspection",
        )
    )
    return Decision.REFER, tuple(reasons)
