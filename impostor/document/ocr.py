"""Finding and reading the MRZ on a page image, with an OCR-B reader of our own.

An MRZ is the easiest text there is to read, if one uses what is known about it: it is set in
one typeface (OCR-B) at one pitch, its lines have 30, 36 or 44 characters, and it lies in two
or three parallel rows near an edge of the document. So, rather than a general OCR:

1. **Rows.** The page is enlarged to a working width and binarised locally; character-sized
   blobs are chained left to right into rows; two or three long rows of equal length, stacked
   at an even spacing, are the MRZ. Each row's slope gives the skew; a page with no such rows
   is turned a quarter at a time (a scan on its side).
2. **Grid.** The blobs' centres are fitted to ``x = first + pitch × i`` for the line's known
   character count, so touching characters, a stamp over a few of them or a run of ``<`` that
   an OCR would miscount cannot shift the characters after them.
3. **Glyphs.** Each cell is cut from the deskewed page, normalised, and classified
   (``impostor.document.glyphs``: two small networks trained on OCR-B glyphs rendered and worn
   by ``models/train_mrz_glyphs.py`` from Debian's public-domain ``fonts-ocr-b``). Nothing is
   needed at run time but numpy and OpenCV.

The text read goes to :func:`impostor.document.mrz.parse_read`, which corrects look-alike
characters only where exactly one reading makes the check digits hold.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from impostor.document.glyphs import Classifier, cell_patch, classifier

__all__ = ["MrzRead", "MrzSearch", "find_mrz"]

WORK_WIDTH = 1400  # the MRZ's rows are looked for on a copy about this wide
GLANCE_WIDTH = 700  # the widest copy a first glance for MRZ-like rows looks at
WIDTHS = {3: (30,), 2: (44, 36)}  # characters per line, by line count
MRZ_LIKE = 28  # blobs in a row that could be an MRZ line
OPTION_FLOOR = 0.002
EDGE = 0.5  # the height, between paper and ink, at which a line's capitals begin and end (half maximum)


@dataclass(frozen=True)
class MrzRead:
    """What was read: the lines, each character's confidence, and where the MRZ lay.

    ``options`` are, per position, the glyphs with at least ``OPTION_FLOOR`` probability.
    ``turned`` is the quarter turns (degrees clockwise) the page needed for the MRZ to run left
    to right; ``skew`` the further tilt in degrees.
    """

    lines: tuple[str, ...]
    confidence: tuple[tuple[float, ...], ...]
    options: tuple[
        tuple[dict[str, float], ...], ...
    ]  # per line and position: plausible glyphs and their probabilities
    turned: int
    skew: float

    @property
    def mean_confidence(self) -> float:
        """The mean of the characters' confidences (0-1, higher is surer)."""
        return float(np.mean([c for row in self.confidence for c in row]))


@dataclass(frozen=True)
class _Row:
    centres: NDArray[np.float64]  # (n, 2) x, y of each blob, left to right
    heights: NDArray[np.float64]  # each blob's height
    height: float  # median height of the tall blobs (capitals and digits, not '<')
    slope: float

    @property
    def left(self) -> float:
        return float(self.centres[0, 0])

    @property
    def right(self) -> float:
        return float(self.centres[-1, 0])

    def y_at(self, x: float) -> float:
        mean = self.centres.mean(axis=0)
        return float(mean[1] + self.slope * (x - mean[0]))

    @functools.cached_property
    def _curve(self) -> NDArray[np.float64]:
        xs, ys = self.centres[:, 0], self.centres[:, 1]
        line = np.polyfit(xs, ys, 1)
        if len(xs) < 20:
            return line
        curve = np.polyfit(xs, ys, 2)
        # a page photographed at an angle bends its lines; a flat scan's stay straight
        better = np.abs(ys - np.polyval(curve, xs)).mean() < 0.7 * np.abs(ys - np.polyval(line, xs)).mean()
        return curve if better else line

    def level_at(self, x: float) -> float:
        """The row's centre line at ``x``: straight, or bent where the blobs say it bends."""
        return float(np.polyval(self._curve, x))


# --- finding the rows ----------------------------------------------------------------------------


def _blobs(grey: NDArray[np.uint8]) -> NDArray[np.float64]:
    """Character-sized dark blobs: (n, 5) of centre x, centre y, width, height, left."""
    width = grey.shape[1]
    block = max(15, (width // 40) | 1)
    binary = cv2.adaptiveThreshold(grey, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, block, 12)
    count, _, stats, centroids = cv2.connectedComponentsWithStats(binary, connectivity=8)
    x, y, w, h = stats[1:, 0], stats[1:, 1], stats[1:, 2], stats[1:, 3]
    keep = (h >= 0.006 * width) & (h <= 0.05 * width) & (w <= 1.6 * h) & (w >= 0.08 * h)
    centre_x = x + w / 2.0
    centre_y = y + h / 2.0
    return np.stack([centre_x, centre_y, w, h, x], axis=1)[keep].astype(np.float64)


def _rows(blobs: NDArray[np.float64]) -> list[_Row]:
    """Chains of blobs, each joined to the nearest blob to its right of like height and level."""
    if len(blobs) == 0:
        return []
    blobs = blobs[np.argsort(blobs[:, 0], kind="stable")]
    xs, ys, heights = blobs[:, 0], blobs[:, 1], blobs[:, 3]
    used = np.zeros(len(blobs), dtype=bool)
    rows: list[_Row] = []
    for start in range(len(blobs)):
        if used[start]:
            continue
        chain = [start]
        used[start] = True
        current, tallest = start, heights[start]
        while True:
            # '<' and '-' are shorter than letters: compare with the chain's tallest blob
            # up to two characters may be missing (a stamp, an annotation over them)
            reach = np.searchsorted(xs, xs[current] + 3.2 * tallest, side="right")
            window = slice(current + 1, reach)
            near = np.nonzero(
                ~used[window]
                & (xs[window] > xs[current])
                & (np.abs(ys[window] - ys[current]) < 0.45 * tallest)
                & (heights[window] < 1.5 * tallest)
                & (heights[window] > 0.15 * tallest)
            )[0]
            if len(near) == 0:
                break
            current = current + 1 + int(near[0])  # sorted by x: the first is the nearest
            chain.append(current)
            used[current] = True
            tallest = max(tallest, heights[current])
        if len(chain) >= 15:
            centres = blobs[chain][:, :2]
            # the capitals' height: the tall blobs, less any run into a neighbour or a stamp
            typical = float(np.percentile(heights[chain], 75))
            tall = heights[chain][(heights[chain] >= 0.85 * typical) & (heights[chain] <= 1.3 * typical)]
            tall = tall if len(tall) else heights[chain]
            slope = float(np.polyfit(centres[:, 0], centres[:, 1], 1)[0])
            rows.append(_Row(centres, heights[chain], float(np.median(tall)), slope))
    return rows


def _groups(rows: list[_Row]) -> list[list[_Row]]:
    """Two or three rows of like length, height and slope, stacked evenly: MRZ candidates,
    the lowest (nearest the page's bottom edge) first."""
    rows = sorted(rows, key=lambda row: row.y_at((row.left + row.right) / 2))
    found: list[list[_Row]] = []
    for count in (3, 2):
        for i in range(len(rows) - count + 1):
            group = rows[i : i + count]
            lengths = [row.right - row.left for row in group]
            height = float(np.median([row.height for row in group]))
            middle = (group[0].left + group[0].right) / 2
            levels = [row.y_at(middle) for row in group]
            gaps = np.diff(levels)
            if (
                max(lengths) < 1.15 * min(lengths) + 2 * height
                and all(1.2 * height < gap < 3.2 * height for gap in gaps)
                and (len(gaps) < 2 or max(gaps) < 1.3 * min(gaps))
                and max(abs(row.slope - group[0].slope) for row in group) < 0.03
                and min(lengths) > 14 * height
            ):
                found.append(group)
    found.sort(key=lambda group: -group[-1].y_at(group[-1].left))
    return found


# --- reading -----------------------------------------------------------------------------------


def _fit_grid(group: list[_Row]) -> tuple[NDArray[np.float64], int]:
    """The grid the rows' blobs lie on, as polynomial coefficients giving a cell's centre from
    its index (``np.polyval``), and how many cells the blobs span.

    The pitch starts as the commonest gap between neighbouring blobs and the first cell at the
    leftmost blob (every MRZ line starts at the margin with a letter or digit); then blobs more
    than 0.3 pitch off the grid (a stamp, a speck past the line's end, two characters run
    together) are left out and the line through the rest is fitted again. A page photographed
    at an angle has its pitch shrink along the line: a quadratic is kept where it fits the
    blobs clearly better.
    """
    gaps = np.concatenate([np.diff(row.centres[:, 0]) for row in group])
    typical = float(np.median(gaps))
    pitch = float(np.median(gaps[(gaps > 0.6 * typical) & (gaps < 1.4 * typical)]))
    xs = np.concatenate([row.centres[:, 0] for row in group])
    grid = np.array([pitch, min(row.left for row in group)])
    inliers = np.ones(len(xs), dtype=bool)
    for _ in range(3):
        index = np.round((xs - grid[-1]) / grid[-2])
        inliers = np.abs(xs - np.polyval(grid, index)) < 0.3 * grid[-2]
        if len(np.unique(index[inliers])) < 3:
            break
        grid = np.polyfit(index[inliers], xs[inliers], 1)
    index = np.round((xs - grid[-1]) / grid[-2])
    if inliers.sum() > 10:
        linear = np.abs(xs[inliers] - np.polyval(grid, index[inliers])).mean()
        curved = np.polyfit(index[inliers], xs[inliers], 2)
        if np.abs(xs[inliers] - np.polyval(curved, index[inliers])).mean() < 0.7 * linear:
            grid = curved
    span = int(index[inliers].max()) + 1 if inliers.any() else 0
    return grid, span


def _extent(grey: NDArray[np.uint8], row: _Row, pitch: float) -> tuple[float, float]:
    """The top and bottom of a deskewed line's capitals, measured from the row's level (its
    blobs' centre line, which may still slope a little), where the ink profile of its capitals
    and digits (not its '<', which are shorter) rises to ``EDGE`` of its height: a blob's edges,
    cut by a binarisation, sit inside a blurred glyph's edges, and the classifier learnt glyphs
    cut at the capitals' true height."""
    level = row.level_at(float(row.centres[:, 0].mean()))
    fallback = (-row.height / 2, row.height / 2)
    # MRZ lines can stand less than half a line apart: look no further than that
    y0 = max(0, int(level - 0.8 * row.height))
    y1 = min(grey.shape[0], int(level + 0.8 * row.height) + 1)
    tall = row.centres[row.heights >= 0.8 * row.height, 0]
    columns = [
        grey[
            y0 + shift : y1 + shift,
            max(0, int(x - 0.35 * pitch)) : min(grey.shape[1], int(x + 0.35 * pitch) + 1),
        ]
        for x in tall
        for shift in [int(round(row.level_at(float(x)) - level))]
        if y0 + shift >= 0 and y1 + shift <= grey.shape[0]
    ]
    columns = [column for column in columns if column.size]
    if y1 - y0 < 3 or not columns:
        return fallback
    profile = 255.0 - np.hstack(columns).mean(axis=1)
    floor, peak = float(np.min(profile)), float(np.max(profile))
    inked = np.nonzero(profile >= floor + EDGE * (peak - floor))[0]
    top, bottom = y0 + float(inked[0]) - level, y0 + float(inked[-1]) + 1.0 - level
    if not (0.7 * row.height <= bottom - top <= 1.5 * row.height):
        return fallback  # a stamp or a neighbour in the band
    return top, bottom


def _row_grid(row: _Row, grid: NDArray[np.float64], pitch: float) -> NDArray[np.float64]:
    """One line's own grid, refitted from the shared one to its blobs: in a page photographed
    at an angle each line has its own perspective, and its last characters drift off the grid
    that all lines share."""
    cells = np.arange(int(round((row.right - grid[-1]) / pitch)) + 2, dtype=np.float64)
    xs = row.centres[:, 0]
    index = np.abs(xs[:, None] - np.polyval(grid, cells)[None, :]).argmin(axis=1)
    close = np.abs(xs - np.polyval(grid, index.astype(np.float64))) < 0.3 * pitch
    if close.sum() < 20 or len(np.unique(index[close])) < 20:
        return grid
    return np.polyfit(index[close].astype(np.float64), xs[close], len(grid) - 1)


_Read = tuple[list[str], list[list[float]], list[tuple[dict[str, float], ...]]]


def _read_group(grey: NDArray[np.uint8], group: list[_Row], model: Classifier) -> list[_Read]:
    """Read a deskewed MRZ (rows horizontal): for each way the lines may sit on the grid, each
    line's glyphs, their confidences, and per position the plausible glyphs and their
    probabilities.

    The lines of an MRZ start at one margin and share one pitch, so one grid is fitted to
    every row's blobs at once: a line whose first character was not seen as a blob (a thin
    ``I``, a stamp) still starts where the others do. Where the layout allows two character
    counts (2 × 44 or 2 × 36), the one nearer the blobs' span is read. Blobs spanning more
    cells than the line has (a hologram's specks chained to its start) give one read per way
    the line can sit among them, for the caller to rank.
    """
    grid, span = _fit_grid(group)
    count = min(WIDTHS[len(group)], key=lambda width: abs(width - span))
    if abs(count - span) > 4:
        return []  # rows of some other text
    cells = np.arange(max(count, span), dtype=np.float64)
    centres = np.polyval(grid, cells)
    pitches = np.polyval(np.polyder(grid), cells)
    pitch = float(np.median(pitches))
    probabilities = []
    for row in group:
        row_grid = _row_grid(row, grid, pitch)
        row_centres, row_pitches = np.polyval(row_grid, cells), np.polyval(np.polyder(row_grid), cells)
        top, bottom = _extent(grey, row, pitch)
        level = row.y_at(float(centres[0]))
        band = grey[
            max(0, int(level + top - row.height)) : int(level + bottom + row.height),
            max(0, int(centres[0] - pitch)) : int(centres[-1] + pitch),
        ]
        if band.size == 0:
            return []
        paper, ink = float(np.percentile(band, 90)), float(np.percentile(band, 3))
        patches = np.stack(
            [
                cell_patch(
                    grey, x, row.level_at(x) + top, row.level_at(x) + bottom, p, paper=paper, ink=ink
                ).ravel()
                for x, p in zip(row_centres.tolist(), row_pitches.tolist(), strict=True)
            ]
        )
        probabilities.append(model.probabilities(patches))
    reads = []
    for offset in range(len(cells) - count + 1):
        lines, confidences, options = [], [], []
        for line in probabilities:
            window = line[offset : offset + count]
            picks = window.argmax(axis=1)
            lines.append("".join(model.glyphs[i] for i in picks))
            confidences.append([float(p) for p in window[np.arange(count), picks]])
            ranked = np.argsort(-window, axis=1)[:, :4]
            options.append(
                tuple(
                    {
                        model.glyphs[g]: float(window[i, g])
                        for g in ranked[i]
                        if window[i, g] >= OPTION_FLOOR or g == picks[i]
                    }
                    for i in range(count)
                )
            )
        reads.append((lines, confidences, options))
    return reads


def _same_group(group: list[_Row], found: list[list[_Row]]) -> list[_Row] | None:
    """The group among ``found`` (rows on the deskewed copy) that is ``group``: as many rows, at
    the same levels (the copy was turned about the MRZ's left end, so levels barely move)."""

    def levels(rows: list[_Row]) -> NDArray[np.float64]:
        return np.array([row.y_at(rows[0].left) for row in rows])

    alike = [g for g in found if len(g) == len(group)]
    if not alike:
        return None
    best = min(alike, key=lambda g: float(np.abs(levels(g) - levels(group)).max()))
    return best if float(np.abs(levels(best) - levels(group)).max()) < group[0].height else None


def _deskewed(grey: NDArray[np.uint8], group: list[_Row]) -> tuple[NDArray[np.uint8], float]:
    """The working copy turned so the group's rows run level, and the degrees it was turned."""
    slope = float(np.mean([row.slope for row in group]))
    degrees = math.degrees(math.atan(slope))
    centre = (
        float(np.mean([row.left for row in group])),
        float(np.mean([row.y_at(row.left) for row in group])),
    )
    matrix = cv2.getRotationMatrix2D(centre, degrees, 1.0)
    turned = cv2.warpAffine(
        grey, matrix, (grey.shape[1], grey.shape[0]), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
    )
    return turned, degrees


def _long_rows(grey: NDArray[np.uint8], turn: int | None) -> int:
    """How many rows as long as an MRZ line a copy at most ``GLANCE_WIDTH`` wide shows, turned
    so (made small before it is turned: a phone photo is not turned whole for a glance)."""
    small = _to_width(grey, min(GLANCE_WIDTH, grey.shape[1]))
    if turn is not None:
        small = cv2.rotate(small, turn)
        small = _to_width(small, min(GLANCE_WIDTH, small.shape[1]))
    return sum(len(row.centres) >= MRZ_LIKE for row in _rows(_blobs(small)))


def _to_width(grey: NDArray[np.uint8], width: int) -> NDArray[np.uint8]:
    scale = width / grey.shape[1]
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.resize(grey, None, fx=scale, fy=scale, interpolation=interpolation)


_QUARTERS = (
    (0, None),
    (90, cv2.ROTATE_90_CLOCKWISE),
    (270, cv2.ROTATE_90_COUNTERCLOCKWISE),
    (180, cv2.ROTATE_180),
)


@dataclass(frozen=True)
class MrzSearch:
    """What a search found: the MRZ read (None: none found) and how many rows of text as long
    as an MRZ line (``MRZ_LIKE`` characters or more) the page showed in any orientation: a page
    whose MRZ is under a stamp still has one."""

    read: MrzRead | None
    text_rows: int


def find_mrz(
    page: NDArray[np.uint8],
    *,
    accept: Callable[[MrzRead], bool] | None = None,
    rank: Callable[[MrzRead], tuple[float, ...]] | None = None,
) -> MrzSearch:
    """Find and read the MRZ on an RGB page.

    Tries the page as it is, then turned a quarter at a time, and each turn's MRZ-like row
    groups from the bottom up; ``accept(read)`` (for example: the check digits hold) stops the
    search at once. Otherwise the read ranked highest by ``rank`` (by default its mean
    confidence) is returned.
    """
    rank = rank or (lambda read: (read.mean_confidence,))
    grey_page = cv2.cvtColor(page, cv2.COLOR_RGB2GRAY) if page.ndim == 3 else page
    model = classifier()
    best: MrzRead | None = None
    # a glance at a small copy, as it is and turned a quarter (a half turn shows the same rows),
    # says whether an orientation has rows as long as an MRZ line: a photo of a face has none,
    # and costs a few milliseconds, not a full search in four orientations
    glances = {degrees: _long_rows(grey_page, turn) for degrees, turn in _QUARTERS[:2]}
    text_rows = max(glances.values())
    for degrees, turn in _QUARTERS:
        if not glances[degrees % 180]:
            continue
        grey = grey_page if turn is None else cv2.rotate(grey_page, turn)
        scale = WORK_WIDTH / grey.shape[1]
        interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
        work = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=interpolation)
        rows = _rows(_blobs(work))
        for group in _groups(rows)[:3]:
            straight, skew = _deskewed(work, group)
            regrouped = _same_group(group, _groups(_rows(_blobs(straight))))
            for lines, confidence, options in _read_group(straight, regrouped or group, model):
                candidate = MrzRead(
                    tuple(lines), tuple(tuple(c) for c in confidence), tuple(options), degrees, skew
                )
                if accept is not None and accept(candidate):
                    return MrzSearch(candidate, text_rows)
                if best is None or rank(candidate) > rank(best):
                    best = candidate
    return MrzSearch(best, text_rows)
