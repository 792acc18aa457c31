"""Decide: MATCH, NO_MATCH or REFER, with reasons an officer can act on.

The rule, in order:

1. a side with no face cannot be compared: REFER, saying which side and what to do;
2. a face that fails a quality gate (``Side.quality``: blur, exposure, pose, size...) cannot be
   trusted either way: REFER, with one reason per failed measure and what to do about it
   (a blurred shot of the right person must be taken again, not sent away as NO_MATCH);
3. ``distance <= accept_distance`` (the calibrated probability above the accept threshold):
   MATCH, unless another face of similar size is in view of the camera (then we cannot be sure
   who is being compared: REFER);
4. ``distance > reject_distance``: NO_MATCH;
5. otherwise REFER: the comparison is not conclusive either way.

Reasons that do not change the decision (a second, smaller face in view, a photo that had to
be turned) are still reported.
"""

from __future__ import annotations

from impostor.profile import Profile
from impostor.types import Decision, Reason, Side

__all__ = ["decide"]

# how large a second live face must be, relative to the first, to make the comparison ambiguous
_SECOND_FACE_RATIO = 0.6


def decide(
    document: Side, live: Side, distance: float | None, probability: float | None, profile: Profile
) -> tuple[Decision, tuple[Reason, ...]]:
    """The decision and its reasons; ``distance`` is None when either side has no face.

    ``distance`` is the embedding distance (smaller is more alike) and ``probability`` the
    profile's calibrated probability of the same person. A side whose ``quality`` is None is
    not gated (nothing was measured).
    """
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
    ambiguous = crowded and _second_face_ratio(live) >= profile.limit("second_face_ratio", _SECOND_FACE_RATIO)
    if crowded:
        reasons.append(
            Reason(
                "live_multiple_faces",
                "more than one face in view: make sure only the traveller is in front of the camera"
                + (" and take the photo again" if ambiguous else ""),
                "live",
            )
        )
    gated = False
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

    if distance <= profile.accept_distance:
        if ambiguous:
            return Decision.REFER, tuple(reasons)
        return Decision.MATCH, tuple(reasons)
    if distance > profile.reject_distance:
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


def _second_face_ratio(live: Side) -> float:
    widths = live.face_widths
    if len(widths) < 2 or widths[0] <= 0:
        return 0.0
    return widths[1] / widths[0]
