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
"""

from __future__ import annotations

import math
from dataclasses import dataclass

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
    "Wear",
    "choose_style",
    "render_document",
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
