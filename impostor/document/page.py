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
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from impostor.stages.detect import Effort, detect_faces, resize_longest
from impostor.types import FaceBox, RGBImage

__all__ = ["PagePortraits", "find_portraits", "portrait_crop"]

SEARCH_SIDE = 1000  # a page is searched at most this large (longer side); larger scans shrink
SMALL_PAGE = 700  # a page no larger than this (longer side) is searched upsampled twice
MIN_GHOST_SCORE = 0.2  # HOG's score below which a second face on a page is taken for a pattern
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
    return [box.scaled(1.0 / scale) for box in boxes], detector


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
