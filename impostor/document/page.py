"""The portraits on a data page: the main one, cut to ICAO proportions, and the ghost images.

A data page (or an ID card's front and back) carries one main portrait and often a ghost image:
a second, paler print of the same face, there to make swapping the photo harder; it is not always
smaller (Qatar's is nearly as large). Every face on the page is found; the largest is the main
portrait and the others are its secondary images, which the caller compares with it: a
secondary image of someone else is a reason to examine the document.

Pages are small (web copies are 270-600 px wide, a 300 dpi scan about 1,000 px for a data page),
so the search is HOG on the page upsampled once, twice for a page under 700 px (ghost images
are 30-55 px wide there), then
dlib's CNN where HOG finds nothing (it finds faces photographed at an angle); a page whose
orientation is not known from its MRZ is also searched turned.

A ghost image is printed pale (a quarter to half of the portrait's contrast) and under the page's
security lines, which HOG reads as the stronger edges: on a scan it finds few of them. So a page
large enough to hold a ghost a detector can see (a scan over ``SMALL_PAGE`` px) is searched a
second time for it, once its main portrait is found: grey, the main portrait painted over with
the paper's tone, blurred until the fine security lines are gone (a face's features are larger)
and its contrast stretched tile by tile (CLAHE, so a pale face comes up and dark text does not
saturate), then HOG at the copy's own size (such ghosts are 80 px and wider there): ~70 ms of
CPU on a 1,476 px scan. A pale ghost is compared from :func:`ghost_crop`, with the face found
on the page: the plain cut, searched again, often shows the verifier no face.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from impostor.engine import weights
from impostor.stages.detect import Effort, detect_faces, resize_longest
from impostor.types import FaceBox, RGBImage

__all__ = ["Cropped", "PagePortraits", "find_portraits", "ghost_crop", "portrait_crop", "portrait_cut"]

SEARCH_SIDE = 1000  # a page is searched at most this large (longer side); larger scans shrink
SMALL_PAGE = 700  # a page no larger than this (longer side) is searched upsampled twice
MIN_GHOST_SCORE = 0.2  # HOG's score below which a second face on a page is taken for a pattern
# The pale-ghost pass (see the module docstring), chosen on bench/bench_ghost.py's tuning half (70
# printed ghosts 196-351 px wide on 1,476 px pages, 20 ghost-free pages): a blur of 2.5 px on the
# 1,000 px copy found 69 (1.5 px: 47, 3.5 px: 61), CLAHE with a clip of 3 on 8 × 8 tiles; HOG
# scored those ghosts -0.3 and above, and nothing else on those pages above -0.5
GHOST_BLUR = 2.5  # px at SEARCH_SIDE, scaled with the copy
GHOST_CLAHE_CLIP = 3.0
GHOST_CLAHE_TILES = 8
MIN_PALE_GHOST_SCORE = -0.3
# a ghost's crop for comparison: the security lines blurred out (px per 100 px of face width)
# and its tones stretched to the full range from these percentiles (a pale print spans a third
# of it). On the tuning half's 59 ghosts found, compared with the page's portrait under the
# document profile: a blur of 2 matched 55 of the holder's and alerted on 7 of 9 others' (1.5:
# 47 and 5; 3: 52 and 5; 4: 35 and 4; the plain crop searched again: 19 and 4, 16 not compared)
GHOST_CROP_BLUR = 2.0
GHOST_STRETCH = (1.0, 99.0)
# the main portrait's print around its face box, painted over before the pale search: the box
# is eyebrows to chin, the print runs a box's height above it and half of one each other way
PORTRAIT_MARGIN = (0.5, 1.0, 0.5, 0.7)  # left, top, right, bottom, in face heights
# ICAO 9303 part 3 / ISO 19794-5: a portrait 35 × 45 mm whose head (chin to crown) is 70-80% of
# its height; dlib's box runs from the eyebrows to the chin, about 55% of the head, so the crop is
# twice the box high, with a little more room above the box than below
CROP_HEIGHT = 2.0
CROP_ABOVE = 0.6  # of the crop's extra height over the box, the share above it
CROP_ASPECT = 35 / 45
_TURNS = ((90, cv2.ROTATE_90_CLOCKWISE), (270, cv2.ROTATE_90_COUNTERCLOCKWISE), (180, cv2.ROTATE_180))


@dataclass(frozen=True)
class PagePortraits:
    """The faces on a page, in the frame of ``page`` (the page turned upright when it was turned).

    ``main`` is the main portrait's face box (None: no face on the page); ``secondary`` the other
    faces, largest first (ghost images, or portraits that should not be there); ``turned`` the
    degrees the page was turned clockwise to find them.
    """

    page: RGBImage
    main: FaceBox | None
    secondary: tuple[FaceBox, ...]
    turned: int
    detector: str

    @property
    def crop(self) -> RGBImage | None:
        """The main portrait cut to ICAO proportions (None without one)."""
        return portrait_crop(self.page, self.main) if self.main is not None else None


def _faces(page: RGBImage) -> tuple[list[FaceBox], str]:
    copy, scale = resize_longest(page, SEARCH_SIDE)
    copy = np.ascontiguousarray(copy)
    # the page searched whole, upsampled once; a web copy's, twice (its ghost may be 30 px wide)
    effort: Effort = "tiny" if max(copy.shape[:2]) <= SMALL_PAGE else "small"
    boxes = detect_faces(copy, detector="hog", detect_side=max(copy.shape[:2]), effort=effort)
    if boxes:  # weak responses beside a portrait are print patterns, not ghosts
        boxes = [boxes[0], *(box for box in boxes[1:] if box.score >= MIN_GHOST_SCORE)]
    detector = "hog"
    if not boxes:
        boxes = detect_faces(copy, detector="cnn", detect_side=SEARCH_SIDE, effort="full")
        detector = "cnn"
    if boxes and max(copy.shape[:2]) > SMALL_PAGE:
        main = max(boxes, key=lambda box: box.width)
        # a pale face wider than the portrait's is not its ghost: it must never become the main one
        found = [pale for pale in _pale_ghosts(copy, main) if pale.width < main.width]
        boxes += [pale for pale in found if not any(_overlap(pale, box) for box in boxes)]
    return [box.scaled(1.0 / scale) for box in boxes], detector


def _pale_ghosts(copy: RGBImage, main: FaceBox) -> list[FaceBox]:
    """The pale faces on a page copy whose main portrait has ``main`` as its face (the module's
    docstring says how they are looked for), as boxes in the copy's frame."""
    grey = cv2.cvtColor(copy, cv2.COLOR_RGB2GRAY)
    left, top, right, bottom = (share * main.height for share in PORTRAIT_MARGIN)
    rows, columns = grey.shape
    y0, y1 = max(0, round(main.top - top)), min(rows, round(main.bottom + bottom))
    x0, x1 = max(0, round(main.left - left)), min(columns, round(main.right + right))
    grey[y0:y1, x0:x1] = int(np.median(grey))  # the paper's tone, so no edge is left where it was
    grey = cv2.GaussianBlur(grey, (0, 0), GHOST_BLUR * max(rows, columns) / SEARCH_SIDE)
    tiles = (GHOST_CLAHE_TILES, GHOST_CLAHE_TILES)
    grey = cv2.createCLAHE(clipLimit=GHOST_CLAHE_CLIP, tileGridSize=tiles).apply(grey)
    # dlib's own call: the detector stage keeps HOG's scores from 0 up, and a pale ghost may score less
    rects, scores, _ = weights.hog_detector().run(grey, 0, MIN_PALE_GHOST_SCORE)
    found = (
        FaceBox(rect.left(), rect.top(), rect.right() + 1, rect.bottom() + 1, float(score))
        for rect, score in zip(rects, scores, strict=True)
    )
    # a printed ghost lies on the page: HOG's boxes running off its edge are patterns at the edge
    return [
        box
        for box in found
        if box.left >= 0
        and box.top >= 0
        and box.right <= columns
        and box.bottom <= rows
        and not _overlap(box, main)
    ]


def _overlap(a: FaceBox, b: FaceBox) -> bool:
    """Whether either box's centre lies inside the other: the same face found twice."""
    return any(
        outer.left <= inner.center[0] <= outer.right and outer.top <= inner.center[1] <= outer.bottom
        for inner, outer in ((a, b), (b, a))
    )


def find_portraits(page: RGBImage, *, upright: bool = False) -> PagePortraits:
    """Every portrait on a page: the main one and its secondary images.

    ``upright`` says the page's orientation is known (from its MRZ), so it is not turned.
    """
    boxes, detector = _faces(page)
    turned = 0
    if not boxes and not upright:
        for degrees, turn in _TURNS:
            candidate = np.ascontiguousarray(cv2.rotate(page, turn))
            boxes, detector = _faces(candidate)
            if boxes:
                page, turned = candidate, degrees
                break
    if not boxes:
        return PagePortraits(page, None, (), 0, detector)
    boxes.sort(key=lambda box: box.width, reverse=True)
    return PagePortraits(page, boxes[0], tuple(boxes[1:]), turned, detector)


@dataclass(frozen=True, eq=False)
class Cropped:
    """A portrait cut from a page (``pixels``), and its face box in the cut's frame (``face``)."""

    pixels: RGBImage
    face: FaceBox


def portrait_cut(page: RGBImage, face: FaceBox) -> Cropped:
    """The portrait around ``face`` as :func:`portrait_crop` cuts it, with ``face`` in the cut's
    frame (so its landmarks can be found at once, without searching the cut again)."""
    height = face.height * CROP_HEIGHT
    x0 = max(0, round(face.center[0] - height * CROP_ASPECT / 2))
    y0 = max(0, round(face.top - (height - face.height) * CROP_ABOVE))
    inside = FaceBox(face.left - x0, face.top - y0, face.right - x0, face.bottom - y0, face.score)
    return Cropped(portrait_crop(page, face), inside)


def ghost_crop(page: RGBImage, face: FaceBox) -> Cropped:
    """A ghost image's :func:`portrait_cut` made fit to compare: grey, the security lines printed
    over it blurred out and its pale tones stretched to the full range (a second search on the
    pale cut often finds no face: compare it with the face given)."""
    cut = portrait_cut(page, face)
    grey = cv2.cvtColor(cut.pixels, cv2.COLOR_RGB2GRAY)
    grey = cv2.GaussianBlur(grey, (0, 0), GHOST_CROP_BLUR * face.width / 100)
    low, high = np.percentile(grey, GHOST_STRETCH)
    stretched = np.clip((grey.astype(np.float32) - low) * (255.0 / max(high - low, 1.0)), 0, 255)
    toned = np.rint(stretched).astype(np.uint8)
    return Cropped(np.ascontiguousarray(np.repeat(toned[..., None], 3, axis=2)), cut.face)


def portrait_crop(page: RGBImage, face: FaceBox) -> RGBImage:
    """The portrait around ``face`` in ICAO proportions (35 × 45), clipped to the page."""
    height = face.height * CROP_HEIGHT
    width = height * CROP_ASPECT
    extra = height - face.height
    top = face.top - extra * CROP_ABOVE
    left = face.center[0] - width / 2
    rows, cols = page.shape[:2]
    y0, y1 = max(0, round(top)), min(rows, round(top + height))
    x0, x1 = max(0, round(left)), min(cols, round(left + width))
    return np.ascontiguousarray(page[y0:y1, x0:x1])
