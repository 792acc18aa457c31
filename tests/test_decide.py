"""The decision rule on small synthetic sides: the maths needs no real faces."""

from __future__ import annotations

import numpy as np
import pytest

from impostor.pipeline.profile import SCHEMA, Profile
from impostor.stages.decide import decide
from impostor.stages.quality import Measure, QualityReport, face_count
from impostor.types import Decision, Face, FaceBox, ImageInfo, Landmarks, LoadedImage, Reason, Side

ACCEPT = 0.54
REJECT = 0.62


@pytest.fixture(scope="module")
def profile() -> Profile:
    return Profile.from_dict(
        {
            "schema": SCHEMA,
            "name": "decide-test",
            "version": "1",
            "calibration": {"method": "logistic", "coef": -50.0, "intercept": 29.0},
            "thresholds": {"accept_distance": ACCEPT, "reject_distance": REJECT},
            "limits": {"credible_face_ratio": 0.35},
        }
    )


def _image(name: str) -> LoadedImage:
    pixels = np.zeros((48, 40, 3), np.uint8)
    info = ImageInfo(
        source=f"{name}.png",
        width=40,
        height=48,
        format="PNG",
        mode="rgb",
        bit_depth=8,
        exif_orientation=1,
        decode_scale=1,
        sha256="0" * 64,
    )
    return LoadedImage(pixels=pixels, info=info)


def _face(width: float = 20.0) -> Face:
    box = FaceBox(5.0, 8.0, 5.0 + width, 8.0 + width, 1.0)
    landmarks = Landmarks(((20.0, 15.0), (17.0, 15.0), (9.0, 15.0), (12.0, 15.0), (14.5, 22.0)))
    return Face(box, landmarks, np.zeros((150, 150, 3), np.uint8), np.zeros(128))


def _side(
    name: str,
    *,
    face: bool = True,
    widths: tuple[float, ...] | None = None,
    rotated: int = 0,
    failing: tuple[str, ...] | None = None,
    credible_ratio: float = 0.35,
) -> Side:
    if widths is None:
        widths = (20.0,) if face else ()
    if failing is None and len(widths) > 1 and name == "live":
        failing = ()  # a crowd is judged by the live side's single_face gate
    return Side(
        name=name,
        image=_image(name),
        face=_face(widths[0]) if face else None,
        faces_found=len(widths),
        rotated_degrees=rotated,
        face_widths=widths,
        quality=None if failing is None else _quality(name, failing, widths, credible_ratio),
    )


def _quality(
    side: str, failing: tuple[str, ...], widths: tuple[float, ...] = (), credible_ratio: float = 0.35
) -> QualityReport:
    """A report whose measures named in ``failing`` failed, each with its advice, and whose
    single_face measure counts ``widths`` as the quality stage does."""
    measures = [
        Measure(
            name, 0.0, "", 50.0, 1.0, name not in failing, f"{side} {name}: fix it" if name in failing else ""
        )
        for name in ("sharpness", "luminance_mean", "roll")
    ]
    boxes = [FaceBox(0.0, 0.0, width, width) for width in widths]
    faces = face_count(boxes, credible_ratio)
    crowded = side == "live" and faces > 1
    measures.append(Measure("single_face", faces, "faces", 0.0, 1.0, not crowded, "crowd" if crowded else ""))
    failures = tuple(measure for measure in measures if not measure.passed)
    return QualityReport(side, tuple(measures), not failures, failures)


def _decide(
    profile: Profile,
    distance: float | None,
    live: dict[str, object] | None = None,
    document: dict[str, object] | None = None,
) -> tuple[Decision, tuple[Reason, ...]]:
    """``live`` and ``document`` hold ``_side`` options; the probability comes from the profile."""
    probability = None if distance is None else profile.probability(distance)
    return decide(
        _side("document", **(document or {})),  # type: ignore[arg-type]
        _side("live", **(live or {})),  # type: ignore[arg-type]
        distance,
        probability,
        profile.thresholds,
    )


def _codes(reasons: tuple[Reason, ...]) -> list[str]:
    return [reason.code for reason in reasons]


# --- missing faces ------------------------------------------------------------------------


def test_no_document_face_is_a_refer_saying_which_side(profile: Profile) -> None:
    decision, reasons = _decide(profile, None, document={"face": False})
    assert decision is Decision.REFER
    assert _codes(reasons) == ["document_no_face"]
    assert reasons[0].side == "document" and "document" in reasons[0].message


def test_no_live_face_is_a_refer_saying_which_side(profile: Profile) -> None:
    decision, reasons = _decide(profile, None, live={"face": False})
    assert decision is Decision.REFER
    assert _codes(reasons) == ["live_no_face"]
    assert reasons[0].side == "live" and "live photo" in reasons[0].message


def test_no_face_on_either_side_gives_both_reasons(profile: Profile) -> None:
    decision, reasons = _decide(profile, None, live={"face": False}, document={"face": False})
    assert decision is Decision.REFER
    assert _codes(reasons) == ["document_no_face", "live_no_face"]


def test_missing_probability_is_a_refer(profile: Profile) -> None:
    decision, _ = decide(_side("document"), _side("live"), 0.3, None, profile.thresholds)
    assert decision is Decision.REFER


# --- the thresholds -----------------------------------------------------------------------


@pytest.mark.parametrize("distance", [0.0, 0.3, ACCEPT - 1e-9, ACCEPT])
def test_at_or_below_accept_is_a_match(profile: Profile, distance: float) -> None:
    decision, reasons = _decide(profile, distance)
    assert decision is Decision.MATCH, f"distance {distance} <= accept {ACCEPT}"
    assert reasons == ()


@pytest.mark.parametrize("distance", [REJECT + 1e-9, 0.7, 1.4])
def test_above_reject_is_no_match_with_a_reason(profile: Profile, distance: float) -> None:
    decision, reasons = _decide(profile, distance)
    assert decision is Decision.NO_MATCH
    assert _codes(reasons) == ["different_person"]
    assert reasons[0].side is None
    assert f"{profile.probability(distance):.0%}" in reasons[0].message


@pytest.mark.parametrize("distance", [ACCEPT + 1e-9, 0.58, REJECT])
def test_between_the_thresholds_is_inconclusive(profile: Profile, distance: float) -> None:
    decision, reasons = _decide(profile, distance)
    assert decision is Decision.REFER
    assert _codes(reasons) == ["inconclusive"]
    assert "not conclusive" in reasons[0].message


def test_equal_thresholds_leave_no_refer_band() -> None:
    profile = Profile.from_dict(
        {
            "schema": SCHEMA,
            "name": "sharp",
            "version": "1",
            "calibration": {"method": "logistic", "coef": -50.0, "intercept": 30.0},
            "thresholds": {"accept_distance": 0.6, "reject_distance": 0.6},
        }
    )
    assert _decide(profile, 0.6)[0] is Decision.MATCH
    assert _decide(profile, 0.6 + 1e-9)[0] is Decision.NO_MATCH


# --- other faces in view ------------------------------------------------------------------


def test_second_live_face_of_similar_size_turns_a_match_into_refer(profile: Profile) -> None:
    decision, reasons = _decide(profile, 0.3, live={"widths": (100.0, 80.0)})
    assert decision is Decision.REFER
    assert _codes(reasons) == ["live_multiple_faces"]
    assert "more than one face in view" in reasons[0].message
    assert "take the photo again" in reasons[0].message


def test_small_second_face_is_reported_but_changes_nothing(profile: Profile) -> None:
    decision, reasons = _decide(profile, 0.3, live={"widths": (100.0, 30.0)})
    assert decision is Decision.MATCH
    assert _codes(reasons) == ["live_multiple_faces"]
    assert "more than one face in view" in reasons[0].message
    assert "take the photo again" not in reasons[0].message


@pytest.mark.parametrize("distance", [0.3, 0.58, 0.9])
def test_second_face_of_similar_size_refers_whatever_the_distance(profile: Profile, distance: float) -> None:
    # the face compared may not be the traveller's: neither MATCH nor NO_MATCH can be trusted
    decision, reasons = _decide(profile, distance, live={"widths": (100.0, 95.0)})
    assert decision is Decision.REFER
    assert _codes(reasons) == ["live_multiple_faces"]


def test_the_crowd_limit_comes_from_the_profile() -> None:
    strict = Profile.from_dict(
        {
            "schema": SCHEMA,
            "name": "strict",
            "version": "1",
            "calibration": {"method": "logistic", "coef": -50.0, "intercept": 30.0},
            "thresholds": {"accept_distance": ACCEPT, "reject_distance": REJECT},
            "limits": {"credible_face_ratio": 0.25},
        }
    )
    ratio = strict.limit("credible_face_ratio")
    live = {"widths": (100.0, 30.0), "credible_ratio": ratio}
    assert _decide(strict, 0.3, live=live)[0] is Decision.REFER


def test_second_face_in_the_document_is_not_a_live_concern(profile: Profile) -> None:
    decision, reasons = _decide(profile, 0.3, document={"widths": (100.0, 90.0)})
    assert decision is Decision.MATCH
    assert "live_multiple_faces" not in _codes(reasons)


# --- informational reasons ----------------------------------------------------------------


@pytest.mark.parametrize("side", ["document", "live"])
def test_rotated_side_is_reported_without_changing_the_decision(profile: Profile, side: str) -> None:
    decision, reasons = _decide(profile, 0.3, **{side: {"rotated": 90}})  # type: ignore[arg-type]
    assert decision is Decision.MATCH
    assert _codes(reasons) == [f"{side}_rotated"]
    assert reasons[0].side == side and "90°" in reasons[0].message


def test_reasons_accumulate_in_order(profile: Profile) -> None:
    decision, reasons = _decide(
        profile, 0.9, live={"widths": (100.0, 20.0), "rotated": 270}, document={"rotated": 180}
    )
    assert decision is Decision.NO_MATCH
    assert _codes(reasons) == ["document_rotated", "live_rotated", "live_multiple_faces", "different_person"]
    assert all(reason.message for reason in reasons)


# --- quality gates ------------------------------------------------------------------------


def test_both_sides_passing_their_gates_match(profile: Profile) -> None:
    decision, reasons = _decide(profile, 0.3, live={"failing": ()}, document={"failing": ()})
    assert decision is Decision.MATCH
    assert reasons == ()


@pytest.mark.parametrize("side", ["document", "live"])
@pytest.mark.parametrize("distance", [0.3, 0.58, 0.9])
def test_a_failed_gate_on_either_side_refers_whatever_the_distance(
    profile: Profile, side: str, distance: float
) -> None:
    # a blurred shot of the right person must be taken again, not sent away as NO_MATCH
    decision, reasons = _decide(profile, distance, **{side: {"failing": ("sharpness",)}})  # type: ignore[arg-type]
    assert decision is Decision.REFER
    assert _codes(reasons) == [f"{side}_sharpness"]
    assert reasons[0].side == side and reasons[0].message == f"{side} sharpness: fix it"


def test_every_failed_measure_is_a_reason_after_the_others(profile: Profile) -> None:
    decision, reasons = _decide(
        profile,
        0.3,
        live={"failing": ("sharpness", "roll"), "rotated": 90},
        document={"failing": ("luminance_mean",)},
    )
    assert decision is Decision.REFER
    assert _codes(reasons) == ["live_rotated", "document_luminance_mean", "live_sharpness", "live_roll"]


def test_no_face_keeps_its_reason_without_gates(profile: Profile) -> None:
    decision, reasons = _decide(profile, None, live={"face": False, "failing": ("sharpness",)})
    assert decision is Decision.REFER
    assert _codes(reasons) == ["live_no_face"]


def test_a_document_alert_leads_the_reasons_and_turns_a_match_into_a_refer(profile: Profile) -> None:
    expired = Reason("document_expired", "the document expired on 2006-04-12", "document")
    both = (_side("document"), _side("live"))
    match = decide(*both, 0.3, profile.probability(0.3), profile.thresholds, (expired,))
    assert match[0] is Decision.REFER
    assert _codes(match[1]) == ["document_expired", "document_examine"]
    stranger = decide(*both, 1.0, profile.probability(1.0), profile.thresholds, (expired,))
    assert stranger[0] is Decision.NO_MATCH
    assert _codes(stranger[1]) == ["document_expired", "different_person"]
