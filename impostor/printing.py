"""Printing: a photo re-rendered as the portrait printed on a travel document and scanned back.

Practice pairs put this portrait on the left so the trainee compares what a counter shows, and
the document benchmark (``bench/bench_documents.py``) measures the comparison on it. The
portrait is framed to ICAO proportions (35 × 45 mm), printed (screen texture, lifted blacks,
blur), laminated over security lines (guilloche), and scanned and stored as JPEG. A ``Wear``
says how hard each of those steps is, and adds what worn documents and poor scans show: a tilt
on the scanner, a glare spot from the laminate, sensor noise, a low-resolution scan.

``WEARS`` names the levels: ``practice`` (the mild look practice sets have always had), then
``clean`` (a passport page on a 600 dpi reader), ``card`` (an ID card's small portrait at 300
dpi, engraved grey or printed in colour) and ``worn`` (a scratched, glaring laminate read at low
resolution, the hardest). Every random choice comes from the style's ``seed``: a portrait
renders the same way each time.

``render_page`` puts such a portrait on a whole data page (a TD3 page at 300 dpi: security lines
over the paper, text fields, two MRZ-like rows) with, when given a ``Ghost``, a ghost image: the
face again, printed pale and faded at its edges, beside the MRZ or beside the main portrait,
as issuers place it. The ghost benchmark (``bench/bench_ghost.py``) reads such pages.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

import cv2
import numpy as np
from numpy.typing import NDArray

from impostor.types import FaceBox

__all__ = [
    "OUTPUT_HEIGHT",
    "OUTPUT_WIDTH",
    "PRACTICE",
    "WEARS",
    "DocumentStyle",
    "Ghost",
    "PrintedPage",
    "Wear",
    "choose_style",
    "render_document",
    "render_page",
]

Point = tuple[float, float]

# 35 × 45 mm at 300 dpi: the ICAO passport photo format, scanned at a counter reader's resolution
OUTPUT_WIDTH = 413
OUTPUT_HEIGHT = 531
# ICAO 9303 / ISO 19794-5: chin to crown fills 70-80% of the height (32-36 mm of 45); aim at the
# low end, since hair adds to the crown that the eye distance predicts
HEAD_FRACTION = 0.70
# eyes 45-50% below the top edge, which leaves the head centred with room above the crown
EYE_LINE = 0.47
# an adult head (chin to crown, ~225 mm) is about 3.6 times the distance between eye centres (~63 mm)
HEAD_PER_EYE_DISTANCE = 3.6
# dlib HOG boxes on faces-dev (87 photos): median height 2.41 eye distances, eye line at 0.29 of
# the height from the top; used to place the head when no eyes are given
BOX_PER_EYE_DISTANCE = 2.41
EYES_IN_BOX = 0.29
# light, even backdrop where the crop runs past the source photo (ICAO asks for a plain light one)
PAD_TONE = (232.0, 232.0, 228.0)
# Rec. 601 luma weights (R, G, B): how a grey print renders brightness
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
# printing cannot reach paper white or full black: ink and laminate compress the tonal range
BLACK_LIFT = 24.0
WHITE_LEVEL = 238.0
# printer and scanner each soften a little; 0.8 px at 300 dpi keeps the face sharp to the eye
BLUR_SIGMA = 0.8
# a dot screen of ~75 lines per inch at 45 degrees, faint enough to read as texture, not pattern
SCREEN_PERIOD = 4.0
SCREEN_ANGLE = math.radians(45.0)
SCREEN_AMPLITUDE = 6.0
# the grain of paper, ink and scanner sensor, in grey levels
NOISE_SIGMA = 2.0
# guilloche: families of thin wavy lines crossing each other, as printed under data-page portraits
GUILLOCHE_ANGLES = (math.radians(-18.0), math.radians(18.0))
GUILLOCHE_SPACING = 11.0  # px between neighbouring lines of one family
GUILLOCHE_WAVE = 5.0  # px amplitude of each line's wave
GUILLOCHE_WAVELENGTH = 70.0  # px
GUILLOCHE_WIDTH = 0.7  # px, Gaussian half-width of a line: a fine engraved stroke
GUILLOCHE_OPACITY = 0.22  # low, as on real pages, where the lines never hide the face
# the security inks of colour pages (rose and sea green); grey pages print their lines grey
GUILLOCHE_INKS = ((200.0, 120.0, 160.0), (105.0, 165.0, 145.0))
GUILLOCHE_GREY = 150.0
# a laminate's faint warm cast, per RGB channel (colour pages only: grey pages stay neutral)
TINT = (1.0, 0.98, 0.93)
# moderate: the blocking of an ID reader's stored scan, without ruining the face
JPEG_QUALITY = 70
# a TD3 data page (ICAO 9303 part 4: 125 × 88 mm) scanned at 300 dpi, its main portrait 35 × 45
# mm at 6 mm from the left and 17 mm from the top, its MRZ's two rows in the bottom 15 mm
PAGE_MM = (125.0, 88.0)
PAGE_DPI = 300.0
PORTRAIT_AT_MM = (6.0, 17.0)
MRZ_ROWS_MM = (76.0, 83.0)  # the baselines of the two MRZ rows
PAPER_TONE = (236.0, 234.0, 226.0)  # security paper is off-white, a little warm
INK_TONE = 40.0  # the page's printed text
# a ghost image fades out from an oval around the head to the paper, over this share of its
# half-width, so its edge is no straight line for a detector or an eye to catch
GHOST_FEATHER = 0.25


@dataclass(frozen=True)
class Wear:
    """How hard the printing, the document's wear and the scan are on the portrait.

    The portrait is rendered at ``scan_dpi`` (300 is the practice size, 413 × 531 for 35 × 45
    mm) and, for a card, at ``size_mm``. Levels and blur are in grey levels and pixels at that
    resolution; ``tilt_degrees`` is the largest turn on the scanner, ``glare`` the brightest
    glare spot's strength (0: none; 1: paper white at its centre), ``noise`` the sensor's grain
    beyond the print's, and ``jpeg_quality`` the stored scan's.
    """

    name: str
    size_mm: tuple[float, float] = (35.0, 45.0)
    scan_dpi: float = 300.0
    black_lift: float = BLACK_LIFT
    white_level: float = WHITE_LEVEL
    blur_sigma: float = BLUR_SIGMA
    screen_amplitude: float = SCREEN_AMPLITUDE
    guilloche_opacity: float = GUILLOCHE_OPACITY
    guilloche_width: float = GUILLOCHE_WIDTH
    tilt_degrees: float = 0.0
    glare: float = 0.0
    noise: float = 0.0
    jpeg_quality: int = JPEG_QUALITY


PRACTICE = Wear("practice")
# what counters see, from the kindest to the hardest (measured in bench/bench_documents.py)
WEARS = {
    "practice": PRACTICE,
    "clean": Wear(
        "clean", scan_dpi=600.0, blur_sigma=1.2, guilloche_opacity=0.18, tilt_degrees=1.0, jpeg_quality=90
    ),
    "card": Wear(
        "card",
        size_mm=(22.0, 28.0),
        black_lift=40.0,
        white_level=225.0,
        blur_sigma=1.0,
        screen_amplitude=9.0,
        guilloche_opacity=0.35,
        guilloche_width=0.9,
        tilt_degrees=4.0,
        glare=0.35,
        noise=4.0,
        jpeg_quality=60,
    ),
    "worn": Wear(
        "worn",
        scan_dpi=150.0,
        black_lift=55.0,
        white_level=215.0,
        blur_sigma=0.9,
        screen_amplitude=10.0,
        guilloche_opacity=0.45,
        guilloche_width=1.0,
        tilt_degrees=8.0,
        glare=0.7,
        noise=7.0,
        jpeg_quality=35,
    ),
}


@dataclass(frozen=True)
class DocumentStyle:
    """How one portrait is printed: in colour or grey, and the seed of its texture and lines."""

    colour: bool  # False: greyscale portrait (many data pages print grey)
    seed: int  # drives the texture and the lines' phase, so a set is reproducible


def choose_style(rng: np.random.Generator) -> DocumentStyle:
    """A style drawn from ``rng``: greyscale about one time in two, with a fresh seed."""
    colour = bool(rng.random() < 0.5)
    return DocumentStyle(colour=colour, seed=int(rng.integers(0, 2**31 - 1)))


def render_document(
    pixels: NDArray[np.uint8],
    face: FaceBox,
    style: DocumentStyle,
    *,
    eyes: tuple[Point, Point] | None = None,
    wear: Wear = PRACTICE,
) -> NDArray[np.uint8]:
    """The face in ``pixels`` (RGB uint8, ``(height, width, 3)``) as a printed data-page portrait.

    Returns RGB uint8 shaped ``wear.size_mm`` at ``wear.scan_dpi``: ``(531, 413, 3)`` for the
    practice wear. The head fills ~70% of the height, centred, eyes ~47% from the top, never
    stretched. With ``eyes`` (two ``(x, y)`` eye centres in pixels, either order) the eye line
    is levelled and sets the scale; without, ``face`` does. A grey style gives R == G == B
    exactly. Deterministic for the same inputs, style and wear. Raises ``ValueError`` for other
    pixels, a box off the image, or coincident eyes.
    """
    _check(pixels, face, eyes)
    width, height = (round(side / 25.4 * wear.scan_dpi) for side in wear.size_mm)
    zoom = wear.scan_dpi / 300.0  # the print's patterns are physical: their pixels grow with the dpi
    portrait = _frame(pixels, face, eyes, width, height)
    rng = np.random.default_rng(style.seed)
    if not style.colour:
        portrait = np.repeat((portrait @ LUMA)[..., None], 3, axis=2).astype(np.float32)
    portrait = wear.black_lift + portrait * ((wear.white_level - wear.black_lift) / 255.0)
    portrait = cv2.GaussianBlur(portrait, (0, 0), wear.blur_sigma)
    portrait = portrait + _screen(rng, width, height, zoom, wear.screen_amplitude)[..., None]
    portrait = _guilloche(portrait, rng, style.colour, zoom, wear)
    if style.colour:
        portrait = portrait * np.asarray(TINT, dtype=np.float32)
    if wear.glare:
        portrait = _glare(portrait, rng, wear.glare)
    if wear.noise:
        grain = rng.normal(0.0, wear.noise, size=portrait.shape[:2] if not style.colour else portrait.shape)
        portrait = portrait + (grain[..., None] if not style.colour else grain).astype(np.float32)
    if wear.tilt_degrees:
        portrait = _tilted(portrait, float(rng.uniform(-wear.tilt_degrees, wear.tilt_degrees)))
    printed = np.clip(np.rint(portrait), 0, 255).astype(np.uint8)
    return _jpeg(printed, style.colour, wear.jpeg_quality)


@dataclass(frozen=True)
class Ghost:
    """A ghost image to print: ``width`` px wide (35 × 45 in proportion), its darkest tones at
    ``strength`` of the portrait's contrast with the paper (0.25: pale), ``place`` above the MRZ
    at the page's right edge or beside the main portrait, ``over_guilloche``: the security lines
    printed over it too. ``pixels`` and ``face``: another photo to print (another person's, a
    forgery); None prints the main portrait's photo."""

    width: int
    strength: float = 0.4
    place: Literal["mrz", "portrait"] = "mrz"
    over_guilloche: bool = False
    pixels: NDArray[np.uint8] | None = None
    face: FaceBox | None = None


@dataclass(frozen=True, eq=False)
class PrintedPage:
    """A printed data page: RGB uint8 ``pixels``, and where its main portrait and ghost image
    were printed, as boxes in its pixel frame before the scanner's tilt (``ghost`` None: no
    ghost printed)."""

    pixels: NDArray[np.uint8]
    portrait: FaceBox
    ghost: FaceBox | None


def render_page(
    pixels: NDArray[np.uint8],
    face: FaceBox,
    style: DocumentStyle,
    *,
    ghost: Ghost | None = None,
    mrz: tuple[str, str] | None = None,
    wear: Wear = PRACTICE,
) -> PrintedPage:
    """The face in ``pixels`` printed as a TD3 data page's main portrait, with ``ghost`` when given.

    The page is 1476 × 1039 px (125 × 88 mm at 300 dpi). The portrait is printed as
    :func:`render_document` prints it with ``wear`` (its tilt, glare, grain and JPEG are the
    page's instead: the whole page is tilted, grained and stored once). Deterministic for the
    same inputs. ``mrz``: the two 44-character rows to print (random characters by default).
    Raises ``ValueError`` as :func:`render_document` does, and for a ghost that does not fit.
    """
    rng = np.random.default_rng(style.seed)
    width, height = (round(side / 25.4 * PAGE_DPI) for side in PAGE_MM)
    printing = replace(
        wear, scan_dpi=PAGE_DPI, size_mm=(35.0, 45.0), tilt_degrees=0.0, glare=0.0, noise=0.0, jpeg_quality=95
    )
    paper = np.full((height, width, 3), PAPER_TONE if style.colour else sum(PAPER_TONE) / 3, np.float32)
    lines = replace(wear, guilloche_opacity=float(rng.uniform(0.1, 0.3)), guilloche_width=0.8)
    page = _guilloche(paper, rng, style.colour, 1.0, lines)  # 300 dpi: the lines' own scale
    portrait = render_document(pixels, face, style, wear=printing).astype(np.float32)
    x0, y0 = (round(mm / 25.4 * PAGE_DPI) for mm in PORTRAIT_AT_MM)
    rows, columns = portrait.shape[:2]
    page[y0 : y0 + rows, x0 : x0 + columns] = portrait
    portrait_box = FaceBox(float(x0), float(y0), float(x0 + columns), float(y0 + rows))
    ghost_box, left, right = None, x0 + columns + 40, width
    if ghost is not None:
        source, source_face = (pixels, face) if ghost.pixels is None else (ghost.pixels, ghost.face or face)
        plain = replace(printing, guilloche_opacity=0.0, screen_amplitude=printing.screen_amplitude / 2)
        printed = render_document(source, source_face, replace(style, colour=False), wear=plain)
        ghost_box = _ghost(page, rng, ghost, printed, portrait_box)
        if ghost.over_guilloche:
            page = _guilloche(page, rng, style.colour, 1.0, lines)
        # the fields run beside the ghost, never over it: these ghosts are plainly visible
        if ghost.place == "portrait":
            left = round(ghost_box.right + 30)
        else:
            right = round(ghost_box.left - 15)
    _text(page, rng, (left, y0, right), mrz)
    if wear.noise:
        grain = rng.normal(0.0, wear.noise, size=page.shape[:2] if not style.colour else page.shape)
        page = page + (grain[..., None] if not style.colour else grain).astype(np.float32)
    if wear.tilt_degrees:  # a page lies straighter on a reader's glass than a loose card
        page = _tilted(page, float(rng.uniform(-1.0, 1.0)) * min(wear.tilt_degrees, 2.0))
    printed = np.clip(np.rint(page), 0, 255).astype(np.uint8)
    return PrintedPage(_jpeg(printed, style.colour, wear.jpeg_quality), portrait_box, ghost_box)


def _text(
    page: NDArray[np.float32], rng: np.random.Generator, at: tuple[int, int, int], mrz: tuple[str, str] | None
) -> None:
    """Field labels and values between ``at``'s left and right from its top, and two MRZ-like
    rows (``mrz``, or random), printed in place."""
    ink = np.zeros(page.shape[:2], dtype=np.uint8)  # OpenCV draws text on 8-bit images only
    mrz_top = round(MRZ_ROWS_MM[0] / 25.4 * PAGE_DPI)
    left, top, right = at
    letters = np.array(list("ABCDEFGHIJKLMNOPRSTUVWYZ"))
    y = top + 30
    while y < mrz_top - 160:
        label = "".join(rng.choice(letters, size=int(rng.integers(4, 12)))).lower()
        value = " ".join("".join(rng.choice(letters, size=int(rng.integers(3, 9)))) for _ in range(2))
        cv2.putText(ink, label, (left, y), cv2.FONT_HERSHEY_SIMPLEX, 0.7, 150, 1, cv2.LINE_AA)
        cv2.putText(ink, value, (left, y + 34), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 255, 2, cv2.LINE_AA)
        y += 100
    characters = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<<<<<<"))
    for number, baseline in enumerate(MRZ_ROWS_MM):
        y = round(baseline / 25.4 * PAGE_DPI)
        row = mrz[number] if mrz is not None else rng.choice(characters, size=44)
        for index, char in enumerate(row):  # a fixed pitch, as OCR-B's
            cv2.putText(
                ink, str(char), (60 + index * 31, y), cv2.FONT_HERSHEY_SIMPLEX, 1.2, 255, 3, cv2.LINE_AA
            )
    ink[: mrz_top - 80, right:] = 0  # a field's value too long for the room is cut short
    weight = (ink.astype(np.float32) / 255.0)[..., None]
    page[:] = page * (1.0 - weight) + INK_TONE * weight


def _ghost(
    page: NDArray[np.float32],
    rng: np.random.Generator,
    ghost: Ghost,
    printed: NDArray[np.uint8],
    portrait: FaceBox,
) -> FaceBox:
    """The ghost image (``printed``, a grey portrait) printed on ``page`` in place: pale, faded
    out from an oval around the head; its box on the page."""
    width, height = ghost.width, round(ghost.width * 45 / 35)
    grey = cv2.resize(printed[..., 0], (width, height), interpolation=cv2.INTER_AREA).astype(np.float32)
    page_height, page_width = page.shape[:2]
    mrz_top = round(MRZ_ROWS_MM[0] / 25.4 * PAGE_DPI) - 60
    if ghost.place == "mrz":
        left = page_width - width - round(rng.uniform(20, 60))
        top = mrz_top - height - round(rng.uniform(0, 40))
    else:
        left = round(portrait.right + rng.uniform(10, 40))
        top = round(min(portrait.bottom, mrz_top) - height)
    if left < 0 or top < 0 or left + width > page_width or top + height > page_height:
        raise ValueError(f"a ghost image {width} px wide does not fit on the {page_width} px page")
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    # the oval a head and shoulders fill, centred on the portrait's eye line a little lower
    radius = np.hypot((xs - width / 2) / (0.42 * width), (ys - 0.5 * height) / (0.48 * height))
    fade = np.clip((1.0 - radius) / GHOST_FEATHER + 1.0, 0.0, 1.0)
    weight = (ghost.strength * fade)[..., None]
    # the ghost's ink darkens the paper by its strength of what the portrait's ink would
    page[top : top + height, left : left + width] *= 1.0 - weight * (255.0 - grey[..., None]) / 255.0
    return FaceBox(float(left), float(top), float(left + width), float(top + height))


def _glare(portrait: NDArray[np.float32], rng: np.random.Generator, strength: float) -> NDArray[np.float32]:
    """A glare spot from the laminate: an elliptical blend towards white, somewhere on the
    portrait (often over the face), its strength and size drawn from ``rng``."""
    height, width = portrait.shape[:2]
    cx, cy = rng.uniform(0.2, 0.8) * width, rng.uniform(0.2, 0.7) * height
    rx, ry = rng.uniform(0.12, 0.3) * width, rng.uniform(0.06, 0.18) * height
    peak = strength * rng.uniform(0.6, 1.0)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    weight = peak * np.exp(-0.5 * (((xs - cx) / rx) ** 2 + ((ys - cy) / ry) ** 2))
    return (portrait * (1.0 - weight[..., None]) + 255.0 * weight[..., None]).astype(np.float32)


def _tilted(portrait: NDArray[np.float32], degrees: float) -> NDArray[np.float32]:
    """The portrait turned on the scanner bed by ``degrees``, the corners filled with the pad."""
    height, width = portrait.shape[:2]
    matrix = cv2.getRotationMatrix2D(((width - 1) / 2, (height - 1) / 2), degrees, 1.0)
    turned = cv2.warpAffine(
        portrait,
        matrix,
        (width, height),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=PAD_TONE,
    )
    return np.asarray(turned, dtype=np.float32)


def _check(pixels: NDArray[np.uint8], face: FaceBox, eyes: tuple[Point, Point] | None) -> None:
    if not isinstance(pixels, np.ndarray) or pixels.dtype != np.uint8:
        kind = pixels.dtype if isinstance(pixels, np.ndarray) else type(pixels).__name__
        raise ValueError(f"pixels must be a uint8 array, not {kind}")
    if pixels.ndim != 3 or pixels.shape[2] != 3:
        raise ValueError(f"pixels must be RGB shaped (height, width, 3), not {pixels.shape}")
    height, width = pixels.shape[:2]
    edges = (face.left, face.top, face.right, face.bottom)
    inside = face.right > 0 and face.bottom > 0 and face.left < width and face.top < height
    if not all(map(math.isfinite, edges)) or face.width <= 0 or face.height <= 0 or not inside:
        raise ValueError(f"face box {face} is empty or lies outside the {width} × {height} image")
    if eyes is not None:
        (ax, ay), (bx, by) = eyes
        if not all(map(math.isfinite, (ax, ay, bx, by))) or math.hypot(ax - bx, ay - by) < 1.0:
            raise ValueError(f"eyes {eyes} must be two distinct, finite points")


def _frame(
    pixels: NDArray[np.uint8], face: FaceBox, eyes: tuple[Point, Point] | None, width: int, height: int
) -> NDArray[np.float32]:
    """The photo turned, scaled and shifted onto a ``width`` × ``height`` portrait, as float32
    RGB in 0-255."""
    if eyes is not None:
        (ax, ay), (bx, by) = sorted(eyes)  # image-left eye first, whichever the caller named first
        angle = math.atan2(by - ay, bx - ax)
        centre = ((ax + bx) / 2, (ay + by) / 2)
        eye_distance = math.hypot(bx - ax, by - ay)
    else:
        angle = 0.0
        centre = (face.center[0], face.top + EYES_IN_BOX * face.height)
        eye_distance = face.height / BOX_PER_EYE_DISTANCE
    scale = HEAD_FRACTION * height / (HEAD_PER_EYE_DISTANCE * eye_distance)
    source = pixels
    if scale < 1.0:
        # area-average a large photo down first: warpAffine alone would alias its fine detail
        rows, columns = pixels.shape[:2]
        size = (max(1, round(columns * scale)), max(1, round(rows * scale)))
        source = cv2.resize(pixels, size, interpolation=cv2.INTER_AREA)
        fx, fy = size[0] / columns, size[1] / rows
        centre = ((centre[0] + 0.5) * fx - 0.5, (centre[1] + 0.5) * fy - 0.5)
        scale /= fx
    cos, sin = math.cos(angle) * scale, math.sin(angle) * scale
    # rotate by -angle about the eye centre (levelling the eyes), then put it on the eye line
    matrix = np.array([[cos, sin, 0.0], [-sin, cos, 0.0]])
    target = np.array([(width - 1) / 2, EYE_LINE * height])
    matrix[:, 2] = target - matrix[:, :2] @ np.asarray(centre)
    warped = cv2.warpAffine(
        source,
        matrix,
        (width, height),
        flags=cv2.INTER_CUBIC,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=PAD_TONE,
    )
    return warped.astype(np.float32)


def _grid(width: int, height: int) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    return xs, ys


def _screen(
    rng: np.random.Generator, width: int, height: int, zoom: float, amplitude: float
) -> NDArray[np.float32]:
    """A dot screen with a seeded offset, plus grain: grey-level offsets, ``(H, W)`` float32."""
    xs, ys = _grid(width, height)
    u = xs * math.cos(SCREEN_ANGLE) + ys * math.sin(SCREEN_ANGLE)
    v = -xs * math.sin(SCREEN_ANGLE) + ys * math.cos(SCREEN_ANGLE)
    phase_u, phase_v = rng.uniform(0.0, 2 * math.pi, size=2)
    step = 2 * math.pi / (SCREEN_PERIOD * zoom)
    dots = amplitude * np.cos(u * step + phase_u) * np.cos(v * step + phase_v)
    grain = rng.normal(0.0, NOISE_SIGMA, size=dots.shape)
    return (dots + grain).astype(np.float32)


def _guilloche(
    portrait: NDArray[np.float32], rng: np.random.Generator, colour: bool, zoom: float, wear: Wear
) -> NDArray[np.float32]:
    """``portrait`` with each family of wavy lines blended in at the wear's opacity."""
    xs, ys = _grid(portrait.shape[1], portrait.shape[0])
    spacing, line = GUILLOCHE_SPACING * zoom, wear.guilloche_width * zoom
    for index, angle in enumerate(GUILLOCHE_ANGLES):
        along = xs * math.cos(angle) + ys * math.sin(angle)
        across = -xs * math.sin(angle) + ys * math.cos(angle)
        wave_phase, offset = rng.uniform(0.0, 2 * math.pi), rng.uniform(0.0, spacing)
        wave = (
            GUILLOCHE_WAVE * zoom * np.sin(2 * math.pi * along / (GUILLOCHE_WAVELENGTH * zoom) + wave_phase)
        )
        position = np.mod(across - wave + offset, spacing)
        distance = np.minimum(position, spacing - position)  # to the nearest line
        weight = (wear.guilloche_opacity * np.exp(-0.5 * (distance / line) ** 2))[..., None]
        ink = np.asarray(GUILLOCHE_INKS[index] if colour else (GUILLOCHE_GREY,) * 3, dtype=np.float32)
        portrait = (portrait * (1.0 - weight) + ink * weight).astype(np.float32)
    return portrait


def _jpeg(printed: NDArray[np.uint8], colour: bool, quality: int) -> NDArray[np.uint8]:
    """The scanner's JPEG round trip; a grey page goes through as one channel so it stays grey."""
    page = cv2.cvtColor(printed, cv2.COLOR_RGB2BGR) if colour else np.ascontiguousarray(printed[..., 0])
    ok, encoded = cv2.imencode(".jpg", page, [cv2.IMWRITE_JPEG_QUALITY, quality])
    decoded = cv2.imdecode(encoded, cv2.IMREAD_COLOR if colour else cv2.IMREAD_GRAYSCALE) if ok else None
    if decoded is None:
        raise RuntimeError("OpenCV could not round-trip the portrait through JPEG")
    if not colour:
        return np.ascontiguousarray(np.repeat(decoded[..., None], 3, axis=2))
    return np.ascontiguousarray(cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB))
