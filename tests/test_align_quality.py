"""Alignment against dlib's own chip and face_recognition's encodings, on real faces;
quality measures on real faces (sharpness) and synthetic landmarks (yaw).

Our chip is an OpenCV warp through a least-squares similarity transform. For faces with an
inter-eye distance under ~100 px it should reproduce ``dlib.get_face_chip`` closely enough that
embeddings differ by < 0.03; larger faces are shrunk by area averaging where dlib uses its image
pyramid, so there we allow < 0.1 (dlib's 0.6 match threshold is far above either).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from impostor.engine import weights
from impostor.stages.align import (
    CHIP_PADDING,
    CHIP_SIZE,
    align,
    chip_transform,
    find_landmarks,
    template_points,
)
from impostor.stages.capture import load_image
from impostor.stages.detect import detect_faces
from impostor.stages.embed import DlibEmbedder
from impostor.stages.quality import frame_score, sharpness, yaw_degrees
from impostor.types import FaceBox, Landmarks

SMALL_FACES = ["Sundar_Pichai/deepface_img25.jpg", "Angelina_Jolie/deepface_img5.jpg"]  # eyes 75, 86 px apart
LARGE_FACES = ["Eric_Clapton/openface_clapton-1.jpg", "Elon_Musk/deepface_img18.jpg"]  # 119, 177 px


@dataclass(frozen=True, eq=False)
class Located:
    rgb: np.ndarray
    box: FaceBox
    landmarks: Landmarks
    shape: object  # dlib.full_object_detection for the same box, for dlib's own chip


def _locate(rgb: np.ndarray) -> Located:
    import dlib

    boxes = detect_faces(rgb)
    assert boxes, "no face found"
    box = boxes[0]
    landmarks = find_landmarks(rgb, box)
    rect = dlib.rectangle(round(box.left), round(box.top), round(box.right) - 1, round(box.bottom) - 1)
    return Located(rgb, box, landmarks, weights.shape_predictor()(rgb, rect))


@pytest.fixture(scope="module")
def located(astronaut: np.ndarray, faces_dev: Path) -> dict[str, Located]:
    """Each test face found once per module: the astronaut and a few dev photos."""
    faces = {"astronaut": _locate(astronaut)}
    for name in SMALL_FACES + LARGE_FACES:
        faces[name] = _locate(load_image(faces_dev / name).pixels)
    return faces


def _embed(chip: np.ndarray) -> np.ndarray:
    return DlibEmbedder().embed([chip])[0]


def _dlib_embedding(face: Located) -> np.ndarray:
    import dlib

    chip = dlib.get_face_chip(face.rgb, face.shape, CHIP_SIZE, CHIP_PADDING)
    return np.asarray(weights.encoder().compute_face_descriptor(chip), dtype=np.float64)


# --- align against dlib -------------------------------------------------------------------


@pytest.mark.parametrize("name", ["astronaut", *SMALL_FACES])
def test_chip_embedding_matches_dlib_for_small_faces(located: dict[str, Located], name: str) -> None:
    face = located[name]
    assert face.landmarks.inter_eye_distance < 100, f"{name} is meant to be a small face"
    chip = align(face.rgb, face.landmarks)
    assert chip.shape == (CHIP_SIZE, CHIP_SIZE, 3) and chip.dtype == np.uint8
    distance = float(np.linalg.norm(_embed(chip) - _dlib_embedding(face)))
    assert distance < 0.03, f"{name}: our chip's embedding is {distance:.4f} from dlib's"


@pytest.mark.parametrize("name", LARGE_FACES)
def test_chip_embedding_stays_close_to_dlib_for_large_faces(located: dict[str, Located], name: str) -> None:
    face = located[name]
    assert face.landmarks.inter_eye_distance >= 100, f"{name} is meant to be a large face"
    distance = float(np.linalg.norm(_embed(align(face.rgb, face.landmarks)) - _dlib_embedding(face)))
    assert distance < 0.1, f"{name}: our chip's embedding is {distance:.4f} from dlib's"


def _dlib_mapping(face: Located) -> np.ndarray:
    """dlib's image → chip affine map, rebuilt from its chip details (``get_mapping_to_chip``)."""
    import dlib

    details = dlib.get_face_chip_details(face.shape, CHIP_SIZE, CHIP_PADDING)
    rect, angle = details.rect, details.angle
    centre = np.array([(rect.left() + rect.right()) / 2, (rect.top() + rect.bottom()) / 2])
    turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    corners = np.array([(rect.left(), rect.top()), (rect.right(), rect.top()), (rect.right(), rect.bottom())])
    source = (corners - centre) @ turn.T + centre
    target = np.array([(0, 0), (details.cols - 1, 0), (details.cols - 1, details.rows - 1)])
    return cv2.getAffineTransform(source.astype(np.float32), target.astype(np.float32))


def _apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ matrix[:, :2].T + matrix[:, 2]


@pytest.mark.parametrize("name", ["astronaut", *SMALL_FACES, *LARGE_FACES])
def test_chip_transform_puts_landmarks_on_dlibs_template(located: dict[str, Located], name: str) -> None:
    face = located[name]
    matrix = chip_transform(face.landmarks)
    assert matrix.shape == (2, 3)
    ours = _apply(matrix, face.landmarks.array())
    off_template = np.abs(ours - template_points()).max()
    # a least-squares fit of a real face to the mean face leaves a few pixels of residual
    # (face shape, expression); what must hold exactly is agreement with dlib, below
    assert off_template < 6.0, f"{name}: landmarks land up to {off_template:.2f} px off the template"
    off_dlib = np.abs(ours - _apply(_dlib_mapping(face), face.landmarks.array())).max()
    assert off_dlib < 0.5, f"{name}: landmarks land up to {off_dlib:.2f} px from where dlib puts them"


def test_chip_transform_is_a_similarity() -> None:
    """Rotation and uniform scale only: no shear, no mirror."""
    landmarks = Landmarks(((255.0, 104.0), (237.0, 105.0), (195.0, 101.0), (212.0, 103.0), (224.0, 135.0)))
    linear = chip_transform(landmarks)[:, :2]
    assert linear[0, 0] == pytest.approx(linear[1, 1]) and linear[0, 1] == pytest.approx(-linear[1, 0])
    assert np.linalg.det(linear) > 0


def test_chip_transform_recovers_a_known_similarity() -> None:
    """Landmarks made by moving the template by a known rotation, scale and shift come back exactly."""
    template = template_points()
    angle, scale, shift = np.radians(17.0), 2.5, np.array([310.0, 95.0])
    turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    image_points = scale * template @ turn.T + shift
    landmarks = Landmarks(tuple((float(x), float(y)) for x, y in image_points))
    matrix = chip_transform(landmarks)
    np.testing.assert_allclose(matrix[:, :2], turn.T / scale, atol=1e-12)
    # less dlib's half-pixel frame offset, which OpenCV's pixel-centre convention needs
    np.testing.assert_allclose(_apply(matrix, image_points), template - 0.5, atol=1e-9)


def test_embedding_agrees_with_face_recognition(located: dict[str, Located]) -> None:
    """face_recognition is the reference implementation of this model (5-point, no jitter)."""
    import face_recognition  # loads every dlib model: import it only here

    for name in ("astronaut", SMALL_FACES[0], LARGE_FACES[0]):
        face = located[name]
        box = face.box
        # face_recognition's (top, right, bottom, left) rectangles are inclusive of right and bottom
        css = (int(box.top), int(box.right) - 1, int(box.bottom) - 1, int(box.left))
        (reference,) = face_recognition.face_encodings(face.rgb, known_face_locations=[css], model="small")
        distance = float(np.linalg.norm(_embed(align(face.rgb, face.landmarks)) - reference))
        assert distance < 0.1, f"{name}: {distance:.4f} from face_recognition's encoding"


def test_faces_outside_the_image_are_black(astronaut: np.ndarray, located: dict[str, Located]) -> None:
    face = located["astronaut"]
    shifted = Landmarks(
        tuple((x - 230.0, y) for x, y in face.landmarks.points)
    )  # face half off the left edge
    chip = align(astronaut, shifted)
    assert (chip[:, :20] == 0).all(), "the part of the chip outside the image should be black, as in dlib"


# --- quality ------------------------------------------------------------------------------


def _blurred(rgb: np.ndarray, sigma: float) -> NDArray[np.uint8]:
    return np.asarray(cv2.GaussianBlur(rgb, (0, 0), sigma), dtype=np.uint8)


@pytest.mark.parametrize("name", ["astronaut", *SMALL_FACES])
def test_sharpness_falls_as_the_face_blurs(located: dict[str, Located], name: str) -> None:
    face = located[name]
    values = [sharpness(face.rgb, face.box)]
    for sigma in (1.0, 2.0, 4.0):
        values.append(sharpness(_blurred(face.rgb, sigma), face.box))
    assert all(a > b for a, b in itertools.pairwise(values)), f"{name}: sharpness {values} does not fall"
    assert values[2] < values[0] / 4, f"{name}: a 2 px blur should cost most of the sharpness, got {values}"


def test_sharpness_does_not_depend_on_face_size(located: dict[str, Located]) -> None:
    face = located["astronaut"]
    larger = np.asarray(cv2.resize(face.rgb, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_CUBIC), np.uint8)
    ratio = sharpness(larger, face.box.scaled(2.0)) / sharpness(face.rgb, face.box)
    assert 0.5 < ratio < 2.0, f"upsampling by 2 changed sharpness by a factor of {ratio:.2f}"


def test_sharpness_of_a_sliver_is_zero(astronaut: np.ndarray) -> None:
    assert sharpness(astronaut, FaceBox(10, 10, 14, 200)) == 0.0
    assert sharpness(astronaut, FaceBox(-50, -50, 3, 3)) == 0.0


@pytest.mark.parametrize("name", ["astronaut", *SMALL_FACES])
def test_frontal_faces_have_little_yaw(located: dict[str, Located], name: str) -> None:
    yaw = yaw_degrees(located[name].landmarks)
    assert abs(yaw) < 8.0, f"{name} looks at the camera, but yaw is {yaw:.1f}°"


def _turned_head(yaw: float, eye_distance: float = 60.0) -> Landmarks:
    """Five landmarks of a head turned by ``yaw`` degrees, projected orthographically.

    The eyes sit on a line through the head's vertical axis; the nose base is 0.9 eye distances in
    front of it, so turning the head moves the nose sideways by ``0.9 · d · sin(yaw)`` while the
    eyes close up by ``cos(yaw)``: the picture is squeezed towards one side.
    """
    angle = np.radians(yaw)
    half = eye_distance / 2
    # (x across the face, y down, z towards the camera); subject's left eye first, as in dlib
    model = [
        (half + 12, 0, 0),
        (half - 12, 0, 0),
        (-half - 12, 0, 0),
        (-half + 12, 0, 0),
        (0, 40, 0.9 * eye_distance),
    ]
    points = []
    for x, y, z in model:
        points.append((200 + x * np.cos(angle) + z * np.sin(angle), 150 + y))
    return Landmarks(tuple((float(px), float(py)) for px, py in points))


def test_yaw_of_synthetic_heads() -> None:
    assert yaw_degrees(_turned_head(0.0)) == pytest.approx(0.0, abs=1e-9)
    right, left = yaw_degrees(_turned_head(25.0)), yaw_degrees(_turned_head(-25.0))
    assert right > 15.0, f"a head turned 25° gives yaw {right:.1f}°"
    assert left == pytest.approx(-right), "turning the other way flips the sign"
    # more turn, more yaw
    yaws = [yaw_degrees(_turned_head(angle)) for angle in (0, 10, 20, 30, 40)]
    assert yaws == sorted(yaws) and len(set(yaws)) == len(yaws), yaws


def test_yaw_is_positive_when_the_nose_points_to_image_right() -> None:
    frontal = _turned_head(0.0).points
    squeezed = list(frontal)
    squeezed[4] = (frontal[4][0] + 25.0, frontal[4][1])
    assert yaw_degrees(Landmarks(tuple(squeezed))) > 20.0


def test_yaw_ignores_in_plane_rotation() -> None:
    """Tilting the head (roll) moves no point along the eye line, so yaw stays the same."""
    head = np.array(_turned_head(20.0).points)
    centre = head.mean(axis=0)
    roll = np.radians(30.0)
    turn = np.array([[np.cos(roll), -np.sin(roll)], [np.sin(roll), np.cos(roll)]])
    rolled = (head - centre) @ turn.T + centre
    landmarks = Landmarks(tuple((float(x), float(y)) for x, y in rolled))
    assert yaw_degrees(landmarks) == pytest.approx(yaw_degrees(_turned_head(20.0)), abs=1e-6)


def test_frame_score_prefers_sharp_frontal_frames(located: dict[str, Located]) -> None:
    face = located["astronaut"]
    sharp = frame_score(face.rgb, face.box, face.landmarks)
    blurred = frame_score(_blurred(face.rgb, 3.0), face.box, face.landmarks)
    turned = frame_score(face.rgb, face.box, _turned_head(35.0, face.landmarks.inter_eye_distance))
    assert sharp > blurred, (sharp, blurred)
    assert sharp > turned, (sharp, turned)
