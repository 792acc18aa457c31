"""Where the errors come from: the classification order and counts on a hand-made set of pairs,
and a cross-check against a slow pair-by-pair rule (the section in a report: test_report.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from impostor.qa.error_sources import (
    CAUSES,
    MAX_YAW_DEGREES,
    MIN_INTER_EYE_PX,
    ErrorSources,
    PairAttributes,
    error_sources,
)

NAN = math.nan
THRESHOLD = 0.5

# same, distance, faces found (a, b), yaw (a, b), inter-eye px (a, b), CNN fallback (a, b); the
# comment gives the expected cause of each error and why the pairs that are right are right
HAND_MADE = [
    (True, NAN, (0, 3), (NAN, 40), (NAN, 20), (False, True)),  # no face (first, despite the rest)
    (False, NAN, (1, 0), (0, NAN), (50, NAN), (False, False)),  # no face: a lost impostor pair
    (False, 0.30, (2, 1), (40, 0), (50, 50), (False, False)),  # several faces, before the yaw
    (True, 0.70, (1, 1), (-30, 5), (20, 50), (False, False)),  # head turned, before the size
    (True, 0.80, (1, 1), (0, 0), (25, 45), (True, False)),  # low resolution, before the CNN
    (False, 0.45, (1, 1), (0, 25), (50, 30), (False, True)),  # CNN fallback (25° and 30 px pass)
    (True, 0.90, (1, 1), (0, 0), (50, 50), (False, False)),  # none of these
    (False, 0.20, (1, 1), (0, 0), (50, 50), (False, False)),  # none of these
    (True, 0.30, (2, 1), (40, 0), (50, 50), (False, False)),  # right: genuine accepted
    (False, 0.90, (1, 1), (0, 0), (10, 50), (False, False)),  # right: impostor rejected
    (True, 0.50, (1, 1), (0, 0), (50, 50), (False, False)),  # right: accepted at the threshold
]


def hand_made(lost_impostor_is_error: bool = True) -> ErrorSources:
    same, distance, faces, yaw, eyes, cnn = (list(column) for column in zip(*HAND_MADE, strict=True))
    n = len(HAND_MADE)
    attributes = PairAttributes(faces, yaw, eyes, cnn, np.zeros((n, 2), dtype=np.int64))
    return error_sources(
        attributes,
        a=[f"a{k}.jpg" for k in range(n)],
        b=[f"b{k}.jpg" for k in range(n)],
        same=same,
        distance=distance,
        threshold=THRESHOLD,
        lost_impostor_is_error=lost_impostor_is_error,
        rule="a fixed threshold",
    )


def by_code(sources: ErrorSources) -> dict[str, tuple[int, int, int]]:
    return {c.code: (c.false_match, c.false_non_match, c.lost_impostor) for c in sources.causes}


def test_each_error_goes_to_the_first_cause_it_shows() -> None:
    sources = hand_made()
    assert [c.code for c in sources.causes] == [code for code, _ in CAUSES]
    assert by_code(sources) == {
        "no_face": (0, 1, 1),
        "several_faces": (1, 0, 0),
        "head_turned": (0, 1, 0),
        "low_resolution": (0, 1, 0),
        "cnn_fallback": (1, 0, 0),
        "none": (1, 1, 0),
    }
    assert (sources.errors, sources.pairs) == (8, 11)
    assert sum(c.errors for c in sources.causes) == sources.errors
    assert sum(sources.share_of_errors(c) for c in sources.causes) == pytest.approx(1)
    examples = {c.code: [(x.a, x.error) for x in c.examples] for c in sources.causes}
    assert examples["no_face"] == [("a0.jpg", "false non-match"), ("a1.jpg", "lost impostor")]
    assert examples["several_faces"] == [("a2.jpg", "false match")]
    # the surest errors first: furthest past the threshold
    assert examples["none"] == [("a6.jpg", "false non-match"), ("a7.jpg", "false match")]


def test_how_common_each_attribute_is_counts_every_pair_showing_it() -> None:
    causes = {c.code: (c.errors_with_attribute, c.pairs_with_attribute) for c in hand_made().causes}
    # pair 0 is lost, and its image with a face still shows three of the attributes
    assert causes == {
        "no_face": (2, 2),  # 0 and 1
        "several_faces": (2, 3),  # 0 and 2 wrong, 8 right
        "head_turned": (3, 4),  # 0, 2 and 3 wrong, 8 right (25° at 5 is not past the limit)
        "low_resolution": (3, 4),  # 0, 3 and 4 wrong, 9 right (30 px at 5 is not under it)
        "cnn_fallback": (3, 3),  # 0, 4 and 5
        "none": (2, 3),  # 6 and 7 wrong, 10 right
    }


def test_lost_impostor_pairs_are_errors_only_under_the_fold_rule() -> None:
    sources = hand_made(lost_impostor_is_error=False)
    assert sources.errors == 7
    assert by_code(sources)["no_face"] == (0, 1, 0)


def test_the_limits_are_the_named_constants() -> None:
    sources = hand_made()
    assert sources.limits == {"max_yaw_degrees": MAX_YAW_DEGREES, "min_inter_eye_px": MIN_INTER_EYE_PX}
    labels = dict(CAUSES)
    assert f"{MAX_YAW_DEGREES:g}°" in labels["head_turned"]
    assert f"{MIN_INTER_EYE_PX:g} px" in labels["low_resolution"]


def slow_cause(
    same: bool, d: float, t: float, faces: np.ndarray, yaw: np.ndarray, eyes: np.ndarray, cnn: np.ndarray
) -> str | None:
    """The rule written out pair by pair: None for a pair that is right."""
    lost = math.isnan(d)
    if not lost and (d <= t) == same:
        return None
    if lost:
        return "no_face"
    if max(faces) > 1:
        return "several_faces"
    if any(abs(v) > MAX_YAW_DEGREES for v in yaw if not math.isnan(v)):
        return "head_turned"
    if any(v < MIN_INTER_EYE_PX for v in eyes if not math.isnan(v)):
        return "low_resolution"
    if any(cnn):
        return "cnn_fallback"
    return "none"


def test_the_counts_agree_with_a_slow_pair_by_pair_rule() -> None:
    rng = np.random.default_rng(7)
    n = 2000
    same = rng.random(n) < 0.5
    distance = np.where(same, rng.normal(0.45, 0.1, n), rng.normal(0.7, 0.1, n)).clip(0)
    distance[rng.random(n) < 0.03] = NAN
    threshold = rng.choice([0.55, 0.6], n)
    faces = rng.choice([1, 1, 1, 2], (n, 2))
    yaw = rng.normal(0, 15, (n, 2))
    eyes = rng.normal(40, 6, (n, 2))
    cnn = rng.random((n, 2)) < 0.02
    sources = error_sources(
        PairAttributes(faces, yaw, eyes, cnn, np.zeros((n, 2), dtype=np.int64)),
        a=[str(k) for k in range(n)],
        b=[str(k) for k in range(n)],
        same=same,
        distance=distance,
        threshold=threshold,
        lost_impostor_is_error=True,
        rule="random thresholds",
    )
    slow = [
        slow_cause(same[k], distance[k], threshold[k], faces[k], yaw[k], eyes[k], cnn[k]) for k in range(n)
    ]
    for cause in sources.causes:
        assert cause.errors == slow.count(cause.code), cause.code
        assert len(cause.examples) == min(10, cause.errors)
    assert sources.errors == sum(cause is not None for cause in slow)
    assert all(c.errors for c in sources.causes)  # every cause was exercised


def test_attributes_must_be_shaped_n_by_2() -> None:
    with pytest.raises(ValueError, match=r"shaped \(n, 2\)"):
        PairAttributes(
            np.ones((3, 2)), np.zeros((3, 2)), np.zeros((2, 2)), np.zeros((3, 2)), np.zeros((3, 2))
        )
    taken = PairAttributes.from_images(
        [0, 1],
        [2, 0],
        faces_found=[1, 2, 3],
        yaw=[0.0, 10.0, 20.0],
        inter_eye=[30.0, 40.0, 50.0],
        cnn_fallback=[False, True, False],
        rotated=[0, 90, 0],
    )
    assert taken.faces_found.tolist() == [[1, 3], [2, 1]]
    assert taken.cnn_fallback.tolist() == [[False, False], [True, False]]
