"""The document-style portrait: ICAO geometry, a printed look, and a face that still matches."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from impostor.pipeline.verifier import Located, Verifier
from impostor.printing import (
    EYE_LINE,
    HEAD_FRACTION,
    HEAD_PER_EYE_DISTANCE,
    OUTPUT_HEIGHT,
    OUTPUT_WIDTH,
    DocumentStyle,
    choose_style,
    render_document,
)
from impostor.types import FaceBox

COLOUR = DocumentStyle(colour=True, seed=11)
GREY = DocumentStyle(colour=False, seed=11)
# dlib's own same-person threshold on its 128-d embeddings
SAME_PERSON_DISTANCE = 0.6


@pytest.fixture(scope="module")
def located(verifier: Verifier, astronaut: np.ndarray) -> Located:
    found = verifier.locate(astronaut, "document")
    assert found.boxes and found.landmarks is not None
    return found


@pytest.fixture(scope="module")
def reference(verifier: Verifier, astronaut: np.ndarray) -> np.ndarray:
    face = verifier.analyse(astronaut).face
    assert face is not None
    return face.embedding


def eyes_of(found: Located) -> tuple[tuple[float, float], tuple[float, float]]:
    assert found.landmarks is not None
    return found.landmarks.left_eye, found.landmarks.right_eye


@pytest.mark.parametrize("style", [COLOUR, GREY], ids=["colour", "grey"])
def test_portrait_is_35_by_45_mm_at_300_dpi(
    astronaut: np.ndarray, located: Located, style: DocumentStyle
) -> None:
    portrait = render_document(astronaut, located.boxes[0], style, eyes=eyes_of(located))
    assert portrait.shape == (531, 413, 3) == (OUTPUT_HEIGHT, OUTPUT_WIDTH, 3)
    assert portrait.dtype == np.uint8


def test_same_seed_same_portrait_and_other_seeds_differ(astronaut: np.ndarray, located: Located) -> None:
    first = render_document(astronaut, located.boxes[0], COLOUR, eyes=eyes_of(located))
    again = render_document(astronaut.copy(), located.boxes[0], COLOUR, eyes=eyes_of(located))
    other = render_document(astronaut, located.boxes[0], DocumentStyle(True, 12), eyes=eyes_of(located))
    assert np.array_equal(first, again)
    assert np.abs(first.astype(int) - other.astype(int)).mean() > 1.0


def test_grey_style_is_exactly_grey_and_colour_is_not(astronaut: np.ndarray, located: Located) -> None:
    grey = render_document(astronaut, located.boxes[0], GREY)
    colour = render_document(astronaut, located.boxes[0], COLOUR)
    assert np.array_equal(grey[..., 0], grey[..., 1]) and np.array_equal(grey[..., 1], grey[..., 2])
    assert np.abs(colour[..., 0].astype(int) - colour[..., 2].astype(int)).mean() > 10


@pytest.mark.parametrize("style", [COLOUR, GREY], ids=["colour", "grey"])
@pytest.mark.parametrize("use_eyes", [True, False], ids=["eyes", "box"])
def test_same_person_still_matches(
    verifier: Verifier,
    astronaut: np.ndarray,
    located: Located,
    reference: np.ndarray,
    style: DocumentStyle,
    use_eyes: bool,
) -> None:
    eyes = eyes_of(located) if use_eyes else None
    side = verifier.analyse(render_document(astronaut, located.boxes[0], style, eyes=eyes))
    assert side.face is not None, "no face found on the rendered portrait"
    distance = float(np.linalg.norm(side.face.embedding - reference))
    assert distance < SAME_PERSON_DISTANCE, distance


def test_eyes_are_levelled_and_placed_as_icao_asks(
    verifier: Verifier, astronaut: np.ndarray, located: Located
) -> None:
    # tilt the photo 12 degrees: the portrait must bring the eye line back to horizontal
    height, width = astronaut.shape[:2]
    turn = cv2.getRotationMatrix2D((width / 2, height / 2), 12.0, 1.0)
    tilted = cv2.warpAffine(astronaut, turn, (width, height), flags=cv2.INTER_CUBIC)
    found = verifier.locate(tilted, "document")
    assert found.landmarks is not None
    portrait = render_document(tilted, found.boxes[0], COLOUR, eyes=eyes_of(found))
    after = verifier.locate(portrait, "document").landmarks
    assert after is not None
    (lx, ly), (rx, ry) = after.left_eye, after.right_eye
    assert abs(np.degrees(np.arctan2(ly - ry, lx - rx))) < 3.0
    assert abs((ly + ry) / 2 / OUTPUT_HEIGHT - EYE_LINE) < 0.02
    assert abs((lx + rx) / 2 / OUTPUT_WIDTH - 0.5) < 0.02
    # head (chin to crown) ~75% of the height: the eye distance follows from it
    expected = HEAD_FRACTION * OUTPUT_HEIGHT / HEAD_PER_EYE_DISTANCE
    assert after.inter_eye_distance == pytest.approx(expected, rel=0.08)
    assert after.inter_eye_distance >= 90  # ICAO's minimum for a full-frontal image


def test_a_large_photo_is_shrunk_not_stretched(
    verifier: Verifier, astronaut: np.ndarray, located: Located, reference: np.ndarray
) -> None:
    big = cv2.resize(astronaut, None, fx=3.0, fy=3.0, interpolation=cv2.INTER_CUBIC)
    box = located.boxes[0]
    big_box = FaceBox(box.left * 3 + 1, box.top * 3 + 1, box.right * 3 + 1, box.bottom * 3 + 1, box.score)
    (ax, ay), (bx, by) = eyes_of(located)
    big_eyes = ((ax * 3 + 1, ay * 3 + 1), (bx * 3 + 1, by * 3 + 1))
    small = render_document(astronaut, box, COLOUR, eyes=eyes_of(located))
    large = render_document(big, big_box, COLOUR, eyes=big_eyes)
    # the same portrait, whatever the source resolution
    assert np.abs(small.astype(int) - large.astype(int)).mean() < 6.0
    side = verifier.analyse(large)
    assert side.face is not None
    assert float(np.linalg.norm(side.face.embedding - reference)) < SAME_PERSON_DISTANCE


def test_printing_and_security_lines_texture_a_flat_photo() -> None:
    flat = np.full((300, 300, 3), 128, dtype=np.uint8)
    box = FaceBox(100.0, 100.0, 200.0, 200.0)
    for style in (COLOUR, GREY):
        centre = render_document(flat, box, style).astype(float)[200:330, 150:260]  # inside the photo
        assert centre.std() > 2.0, "the dot screen and grain should change a flat tone"
    # on a grey photo only the coloured security lines can make red differ from green
    # (without them this measures 0.0; with them about 3)
    centre = render_document(flat, box, COLOUR).astype(float)[200:330, 150:260]
    assert (centre[..., 0] - centre[..., 1]).std() > 1.5


def test_outside_the_photo_is_a_light_pad_not_stretched_pixels() -> None:
    # a face box filling a small dark photo: the portrait shows the photo in the middle, light around it
    dark = np.full((120, 100, 3), 40, dtype=np.uint8)
    portrait = render_document(dark, FaceBox(10.0, 10.0, 90.0, 110.0), GREY).astype(float)
    assert portrait[:20].mean() > 180 and portrait[-20:].mean() > 180
    assert portrait[240:260, 196:216].mean() < 90


def test_choose_style_prints_about_half_grey_and_is_reproducible() -> None:
    styles = [choose_style(np.random.default_rng(5)) for _ in range(2)]
    assert styles[0] == styles[1]
    rng = np.random.default_rng(1)
    drawn = [choose_style(rng) for _ in range(400)]
    assert 0.4 < sum(not style.colour for style in drawn) / len(drawn) < 0.6
    assert len({style.seed for style in drawn}) > 390


def test_bad_inputs_are_refused_quoting_the_value(astronaut: np.ndarray, located: Located) -> None:
    box = located.boxes[0]
    with pytest.raises(ValueError, match="float64"):
        render_document(astronaut.astype(np.float64), box, COLOUR)
    with pytest.raises(ValueError, match=r"\(512, 512\)"):
        render_document(np.ascontiguousarray(astronaut[..., 0]), box, COLOUR)
    with pytest.raises(ValueError, match="left=600"):
        render_document(astronaut, FaceBox(600.0, 10.0, 700.0, 110.0), COLOUR)
    with pytest.raises(ValueError, match="eyes"):
        render_document(astronaut, box, COLOUR, eyes=((200.0, 200.0), (200.0, 200.0)))
