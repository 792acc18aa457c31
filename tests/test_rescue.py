"""Finding the face on a worn document portrait: the exhaustive search's rescue steps, each on a
portrait the tests print themselves (``impostor.printing``, the worn level)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from impostor.errors import ConfigError
from impostor.pipeline.verifier import Verifier
from impostor.printing import WEARS, DocumentStyle, render_document
from impostor.stages.detect import detect_faces


def _worn(verifier: Verifier, photo: Path, seed: int, colour: bool = False) -> np.ndarray:
    located = verifier.locate(photo, "document")
    assert located.boxes and located.landmarks is not None
    eyes = (located.landmarks.left_eye, located.landmarks.right_eye)
    style = DocumentStyle(colour=colour, seed=seed)
    return render_document(located.image.pixels, located.boxes[0], style, eyes=eyes, wear=WEARS["worn"])


@pytest.fixture(scope="module")
def missed(verifier: Verifier, data_dir: Path) -> list[np.ndarray]:
    """Worn portraits of LFW photos on which HOG's first look finds no face."""
    photos = sorted((data_dir / "lfw" / "lfw").glob("A*/*_0001.jpg"))[:400:10]
    portraits = [_worn(verifier, photo, seed, seed % 2 == 0) for seed, photo in enumerate(photos)]
    found = [p for p in portraits if not detect_faces(p, detector="hog", effort="glance")]
    assert len(found) >= 4, "the worn level should hide some faces from HOG's first look"
    return found


def test_the_exhaustive_search_finds_every_face_hog_misses(
    verifier: Verifier, missed: list[np.ndarray]
) -> None:
    for portrait in missed:
        located = verifier.locate(portrait, "document")
        assert located.chip is not None and located.landmarks is not None
        assert located.detector in ("hog", "cnn")


def test_a_restored_copy_finds_the_faces_every_other_pass_misses(
    verifier: Verifier, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ID-card portraits under heavy security lines: some defeat HOG, the turns and the CNN; on
    a copy blurred to hide the lines they are found, and their chips cut from the portrait."""
    photos = sorted((data_dir / "lfw" / "lfw").glob("A*/*_0001.jpg"))[:600:4]
    portraits = []
    for seed, photo in enumerate(photos):
        located = verifier.locate(photo, "document")
        if located.boxes and located.landmarks is not None:
            eyes = (located.landmarks.left_eye, located.landmarks.right_eye)
            style = DocumentStyle(colour=seed % 2 == 0, seed=seed)
            portraits.append(
                render_document(located.image.pixels, located.boxes[0], style, eyes=eyes, wear=WEARS["card"])
            )
    monkeypatch.setenv("IMPOSTOR_RESCUE", "none")
    lost = [p for p in portraits if verifier.locate(p, "document").chip is None]
    assert lost, "the card level should hide a face from every pass but the restored copy's"
    monkeypatch.setenv("IMPOSTOR_RESCUE", "restored")
    for portrait in lost:
        rescued = verifier.locate(portrait, "document")
        assert rescued.chip is not None and rescued.landmarks is not None
        left, right = rescued.landmarks.left_eye, rescued.landmarks.right_eye
        assert all(0 <= x < portrait.shape[1] and 0 <= y < portrait.shape[0] for x, y in (left, right))
        assert abs(left[1] - right[1]) < 0.15 * abs(left[0] - right[0])  # printed with level eyes


@pytest.mark.parametrize("degrees", [-45, -20, 12, 45])
def test_a_face_turned_on_the_scanner_is_found_and_cut_from_the_original(
    verifier: Verifier, faces_dev: Path, monkeypatch: pytest.MonkeyPatch, degrees: int
) -> None:
    """Whichever pass finds a turned face (HOG tolerates some turn, the quarter turns and the
    tilted copies the rest), the chip is cut from the turned original and matches the upright
    face's."""
    import cv2

    photo = verifier.locate(faces_dev / "Barack_Obama" / "fr_obama.jpg", "document").image.pixels
    height, width = photo.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    turned = cv2.warpAffine(photo, matrix, (width, height), borderMode=cv2.BORDER_REFLECT)
    monkeypatch.setenv("IMPOSTOR_RESCUE", "tilted")
    hog = Verifier(detector="hog", embedder=verifier.embedder)
    rescued, upright = hog.analyse(turned, "document"), hog.analyse(photo, "document")
    assert rescued.face is not None and upright.face is not None
    assert float(np.linalg.norm(rescued.face.embedding - upright.face.embedding)) < 0.2


def test_an_unknown_rescue_step_is_a_one_line_setting_error(
    verifier: Verifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IMPOSTOR_RESCUE", "restored,prayer")
    with pytest.raises(ConfigError, match="'prayer' is not a step"):
        Verifier(detector="hog", embedder=verifier.embedder).locate(
            np.full((200, 200, 3), 128, np.uint8), "document"
        )
