"""Ghost images on printed data pages: found, compared with the main portrait, and told apart.

Pages are printed with ``impostor.printing.render_page`` from faces-dev photos, as the ghost
benchmark (``bench/bench_ghost.py``) prints them: a pale ghost 196-351 px wide, under the page's
security lines too, on a worn or card scan. A ghost found is compared as the benchmark's
proposed comparison does: ``page.ghost_crop`` with the face the page's search found, against the
main portrait's crop, under the document profile. The figures over many pages are the
benchmark's.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from impostor.document import page
from impostor.pipeline.located import Located
from impostor.pipeline.verifier import Verifier
from impostor.printing import WEARS, DocumentStyle, Ghost, PrintedPage, render_page
from impostor.stages.align import align, find_landmarks
from impostor.stages.capture import load_image
from impostor.stages.detect import detect_faces
from impostor.types import FaceBox, LoadedImage, RGBImage


@pytest.fixture(scope="module")
def document_verifier() -> Verifier:
    """The reader's comparison of a page's portraits: the document profile, printed on both sides."""
    return Verifier("document", live_search="exhaustive")


def _photo(faces_dev: Path, name: str) -> tuple[RGBImage, FaceBox]:
    pixels = load_image(faces_dev / name).pixels
    return pixels, detect_faces(pixels, detector="hog")[0]


def _found(printed: PrintedPage) -> tuple[page.PagePortraits, list[FaceBox]]:
    """The page's portraits as the reader finds them (its MRZ read: upright), and the secondary
    images inside the printed ghost."""
    found = page.find_portraits(printed.pixels, upright=True)
    area = printed.ghost
    assert area is not None
    inside = [
        box
        for box in found.secondary
        if area.left <= box.center[0] <= area.right and area.top <= box.center[1] <= area.bottom
    ]
    return found, inside


def _distance(verifier: Verifier, printed: PrintedPage, found: page.PagePortraits, ghost: FaceBox) -> float:
    """The ghost's embedding distance from the main portrait's, each cut with its face known."""
    assert found.main is not None
    encoded = cv2.imencode(".png", cv2.cvtColor(printed.pixels, cv2.COLOR_RGB2BGR))[1].tobytes()
    info = load_image(encoded, name="printed page").info

    def located(cut: page.Cropped) -> Located:
        landmarks = find_landmarks(cut.pixels, cut.face)
        image = LoadedImage(cut.pixels, info)
        return Located("live", image, (cut.face,), 0, "hog", landmarks, align(cut.pixels, landmarks))

    main = located(page.portrait_cut(found.page, found.main))
    distance = verifier.compare(main, located(page.ghost_crop(found.page, ghost))).distance
    assert distance is not None
    return distance


@pytest.mark.parametrize(
    ("wear", "ghost", "matches"),
    [
        # a card's scan: the ghost matches the main portrait
        ("card", Ghost(width=320, strength=0.35, place="portrait"), True),
        # the worn scan, the ghost at its palest under the lines too: not confirmed, never an alert
        ("worn", Ghost(width=230, strength=0.3, place="mrz", over_guilloche=True), False),
    ],
)
def test_a_pale_ghost_of_the_holder_is_found_and_matches(
    faces_dev: Path, document_verifier: Verifier, wear: str, ghost: Ghost, matches: bool
) -> None:
    pixels, face = _photo(faces_dev, "Barack_Obama/fr_obama.jpg")
    printed = render_page(pixels, face, DocumentStyle(colour=True, seed=7), ghost=ghost, wear=WEARS[wear])
    found, inside = _found(printed)
    assert found.main is not None and len(inside) == 1 and len(found.secondary) == 1
    distance = _distance(document_verifier, printed, found, inside[0])
    profile = document_verifier.profile
    assert distance <= (profile.accept_distance if matches else profile.reject_distance)


def test_a_page_without_a_ghost_has_none(faces_dev: Path) -> None:
    pixels, face = _photo(faces_dev, "Jennifer_Aniston/deepface_img3.jpg")
    for seed, wear in ((3, "worn"), (4, "clean"), (5, "card")):
        printed = render_page(pixels, face, DocumentStyle(colour=seed % 2 == 0, seed=seed), wear=WEARS[wear])
        found = page.find_portraits(printed.pixels, upright=True)
        assert found.main is not None and found.secondary == (), seed


def test_a_ghost_of_someone_else_is_found_and_differs(faces_dev: Path, document_verifier: Verifier) -> None:
    pixels, face = _photo(faces_dev, "Barack_Obama/fr_obama.jpg")
    other, other_face = _photo(faces_dev, "Jennifer_Aniston/deepface_img3.jpg")
    ghost = Ghost(width=280, strength=0.35, place="mrz", over_guilloche=True, pixels=other, face=other_face)
    printed = render_page(pixels, face, DocumentStyle(colour=False, seed=11), ghost=ghost, wear=WEARS["worn"])
    found, inside = _found(printed)
    assert len(inside) == 1  # found, so the reader compares it: beyond reject, ghost_differs
    assert _distance(document_verifier, printed, found, inside[0]) > document_verifier.profile.reject_distance


def test_a_printed_ghost_is_pale_and_leaves_the_default_page_alone(faces_dev: Path) -> None:
    pixels, face = _photo(faces_dev, "Barack_Obama/fr_obama.jpg")
    style = DocumentStyle(colour=False, seed=5)
    plain = render_page(pixels, face, style, wear=WEARS["clean"])
    ghosted = render_page(pixels, face, style, ghost=Ghost(width=250, strength=0.3), wear=WEARS["clean"])
    assert plain.ghost is None and ghosted.ghost is not None
    assert ghosted.ghost.width == 250 and ghosted.ghost.height == round(250 * 45 / 35)
    grey = ghosted.pixels[..., 0].astype(np.float32)
    g, p = ghosted.ghost, ghosted.portrait
    ghost_area = grey[int(g.top) : int(g.bottom), int(g.left) : int(g.right)]
    portrait_area = grey[int(p.top) : int(p.bottom), int(p.left) : int(p.right)]
    assert ghost_area.min() > portrait_area.min() + 40  # pale: its darkest tones are far lighter
    with pytest.raises(ValueError, match="does not fit"):
        render_page(pixels, face, style, ghost=Ghost(width=900), wear=WEARS["clean"])
