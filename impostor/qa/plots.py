"""Plots for the QA report, drawn from plain arrays and returned as PNG bytes.

Distances are Euclidean between embeddings (smaller is more alike; accepted when
``distance <= threshold``). Matplotlib is imported inside each function and used through its
object API on the Agg canvas, so nothing global (pyplot state, the backend) is touched.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import TYPE_CHECKING, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from impostor.markup import png_bytes
from impostor.qa.metrics import Curve, thin

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from impostor.qa.error_versus_reject import ErrorVersusReject

__all__ = ["Marker", "det_png", "erc_png", "histogram_png", "roc_png"]

_SIZE = (7.5, 5.5)  # inches; at _DPI this is 900 × 660 px, legible when shown at 100% width
_DPI = 120
_MAX_POINTS = 2000  # curve points drawn; more add nothing visible at this size
_BINS = 60  # histogram bins over the observed distance range
_HEADROOM = 1.55  # histogram y range over its highest bar: room for the legend above the bars
# where the probit (DET) and log (ROC) axes may carry ticks, as error rates: decades, with 2 and 5
# between them when the axis spans few enough decades to leave room for their labels
_DECADES = (1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1)
_HALF_DECADES = tuple(d * k for d in _DECADES for k in (2, 5)) + (0.4, 0.6, 0.8, 0.95, 0.99)
_COLOURS = {"genuine": "#1f77b4", "impostor": "#d62728", "accept": "#2ca02c", "reject": "#9467bd"}


@dataclass(frozen=True)
class Marker:
    """An operating point to mark on the DET and ROC curves (rates are shares in [0, 1])."""

    label: str
    fmr: float
    fnmr: float
    kind: Literal["target", "accept", "reject", "eer"]
    trusted: bool = True  # False draws it hollow: too few impostor pairs for this FMR


def _figure(height: float = _SIZE[1]) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(_SIZE[0], height), dpi=_DPI, layout="constrained")


def histogram_png(
    genuine: ArrayLike, impostor: ArrayLike, *, accept: float, reject: float, title: str = ""
) -> bytes:
    """Genuine and impostor distance histograms with the accept and reject distances and the
    REFER band between them. Top: each class normalised to unit area (impostor pairs usually
    far outnumber genuine ones). Bottom: pair counts on a log axis, where the few pairs in the
    overlapping tails, the ones that make the errors, become visible."""
    g = np.asarray(genuine, dtype=np.float64).ravel()
    i = np.asarray(impostor, dtype=np.float64).ravel()
    low = min(g.min(), i.min(), accept)
    high = max(g.max(), i.max(), reject)
    bins = np.linspace(low, high, _BINS + 1).tolist()
    figure = _figure(height=_SIZE[1] * 1.5)
    density, counts = figure.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    peak = 0.0
    for values, name in ((g, "genuine"), (i, "impostor")):
        colour = _COLOURS[name]
        label = f"{name} pairs (n = {values.size:,})"
        heights, _, _ = density.hist(values, bins=bins, density=True, color=colour, alpha=0.35, label=label)
        peak = max(peak, float(np.max(heights)))
        density.hist(values, bins=bins, density=True, color=colour, histtype="step", linewidth=1.4)
        counts.hist(values, bins=bins, color=colour, histtype="step", linewidth=1.4)
    for axes in (density, counts):
        axes.axvspan(accept, reject, color="#ffbf00", alpha=0.18, label="REFER band (between the two)")
        axes.axvline(
            accept,
            color=_COLOURS["accept"],
            linestyle="--",
            label=f"accept: MATCH if distance ≤ {accept:.4f}",
        )
        axes.axvline(
            reject,
            color=_COLOURS["reject"],
            linestyle="--",
            label=f"reject: NO MATCH if distance > {reject:.4f}",
        )
        axes.grid(alpha=0.3)
    density.set_ylabel("density (share of pairs per unit distance)")
    density.set_title(title or "Distance distributions")
    density.set_ylim(0, peak * _HEADROOM)
    density.legend(loc="upper right", fontsize="small")
    counts.set_yscale("log")
    counts.set_ylim(0.7, None)  # a single pair in a bin still shows
    counts.set_ylabel("pairs per bin (log scale)")
    counts.set_xlabel("Euclidean distance between embeddings (smaller = more alike)")
    return png_bytes(figure)


def _probit(rates: ArrayLike, floor: float) -> NDArray[np.float64]:
    """Normal deviate of each rate, rates below ``floor`` (including 0) drawn at the floor."""
    clipped = np.clip(np.asarray(rates, dtype=np.float64), floor, 1.0 - floor)
    return np.array([NormalDist().inv_cdf(float(r)) for r in clipped.ravel()]).reshape(clipped.shape)


def _ticks(low: float, high: float) -> list[float]:
    """Tick rates within [low, high]."""
    ticks = [t for t in _DECADES if low <= t <= high]
    if len(ticks) <= 4:
        ticks += [t for t in _HALF_DECADES if low <= t <= high and t not in ticks]
    return sorted(set(ticks))


def _percent(rate: float) -> str:
    text = f"{rate * 100:.{max(0, -math.floor(math.log10(rate * 100)))}f}"
    return f"{text}%"


def _draw_markers(axes: Axes, markers: Sequence[Marker], at: Callable[[Marker], tuple[float, float]]) -> None:
    """Markers drawn at ``at(marker)``; target points labelled, coincident labels merged."""
    style = {"target": ("o", "black", 7), "accept": ("^", _COLOURS["accept"], 9)}
    style |= {"reject": ("s", _COLOURS["reject"], 8), "eer": ("X", "#555555", 7)}
    labels: dict[tuple[float, float], list[str]] = {}
    for marker in markers:
        x, y = at(marker)
        shape, colour, size = style[marker.kind]
        axes.plot(
            [x],
            [y],
            linestyle="none",
            marker=shape,
            markersize=size,
            color=colour,
            markerfacecolor=colour if marker.trusted else "white",
            zorder=3 if marker.kind == "eer" else 2,
        )
        if marker.kind == "target":
            labels.setdefault((round(x, 6), round(y, 6)), []).append(marker.label)
    for (x, y), texts in labels.items():
        axes.annotate(", ".join(texts), (x, y), xytext=(6, -12), textcoords="offset points", fontsize="small")


def det_png(curve: Curve, markers: Sequence[Marker], *, genuine_pairs: int, impostor_pairs: int) -> bytes:
    """DET curve: FNMR against FMR, both on normal-deviate (probit) axes labelled in percent.

    Rates of 0 cannot be drawn on a probit axis; they sit at the axis edge, half the smallest
    non-zero rate the data can show (0.5 / pairs). Hollow markers: too few impostor pairs.
    """
    x_floor, y_floor = 0.5 / impostor_pairs, 0.5 / genuine_pairs
    keep = thin(curve, _MAX_POINTS)
    figure = _figure()
    axes = figure.add_subplot()
    axes.plot(
        _probit(curve.fmr[keep], x_floor), _probit(curve.fnmr[keep], y_floor), color="black", linewidth=1.5
    )
    # the interesting part of a DET plot ends at 50%; a weak system's marked points may lie beyond
    top = 0.5 if all(max(m.fmr, m.fnmr) <= 0.45 for m in markers) else 0.95
    diagonal = _probit(np.geomspace(min(x_floor, y_floor), top, 50), min(x_floor, y_floor))
    axes.plot(diagonal, diagonal, color="grey", linestyle=":", linewidth=1)
    _draw_markers(axes, markers, lambda m: (float(_probit(m.fmr, x_floor)), float(_probit(m.fnmr, y_floor))))
    for set_lim, set_ticks, set_labels, floor in (
        (axes.set_xlim, axes.set_xticks, axes.set_xticklabels, x_floor),
        (axes.set_ylim, axes.set_yticks, axes.set_yticklabels, y_floor),
    ):
        ticks = _ticks(floor, top)
        set_lim(NormalDist().inv_cdf(floor) - 0.1, NormalDist().inv_cdf(top) + 0.1)
        set_ticks([NormalDist().inv_cdf(t) for t in ticks])
        set_labels([_percent(t) for t in ticks], fontsize="small")
    axes.set_xlabel(f"FMR: impostor pairs accepted (normal-deviate scale; {impostor_pairs:,} pairs)")
    axes.set_ylabel(f"FNMR: genuine pairs rejected (normal-deviate scale; {genuine_pairs:,} pairs)")
    axes.set_title("DET curve (lower left is better; rates of 0 drawn at the axis edge)")
    axes.grid(alpha=0.3)
    axes.legend(handles=_legend_handles(diagonal=True), loc="upper right", fontsize="small")
    return png_bytes(figure)


def roc_png(curve: Curve, markers: Sequence[Marker], *, genuine_pairs: int, impostor_pairs: int) -> bytes:
    """ROC curve: genuine acceptance (1 − FNMR) against FMR, FMR on a log axis."""
    x_floor = 0.5 / impostor_pairs
    keep = thin(curve, _MAX_POINTS)
    fmr = np.clip(curve.fmr[keep], x_floor, 1.0)
    accept_rate = 1.0 - curve.fnmr[keep]
    figure = _figure()
    axes = figure.add_subplot()
    axes.plot(fmr, accept_rate, color="black", linewidth=1.5)
    _draw_markers(axes, markers, lambda m: (max(m.fmr, x_floor), 1.0 - m.fnmr))
    axes.set_xscale("log")
    axes.set_xlim(x_floor * 0.8, 1.0)
    ticks = sorted({*_ticks(x_floor, 0.2), 0.5, 1.0})  # log spacing crowds labels between 20% and 100%
    axes.set_xticks(ticks, [_percent(t) for t in ticks], fontsize="small")
    axes.xaxis.set_minor_formatter("")
    lowest = float(np.min(accept_rate[fmr >= x_floor * 1.5], initial=1.0))
    axes.set_ylim(max(0.0, lowest - 0.05), 1.005)
    axes.set_xlabel(f"FMR: impostor pairs accepted (log scale; {impostor_pairs:,} pairs; 0 at the left edge)")
    axes.set_ylabel(f"1 − FNMR: genuine pairs accepted ({genuine_pairs:,} pairs)")
    axes.set_title("ROC curve (upper left is better)")
    axes.grid(alpha=0.3, which="both")
    axes.legend(handles=_legend_handles(), loc="lower right", fontsize="small")
    return png_bytes(figure)


def erc_png(erc: ErrorVersusReject) -> bytes:
    """Error versus reject: FNMR at the threshold against the share of comparisons refused, the
    lowest-quality first, beside refusing the same share at random (the FNMR unchanged). A
    quality score worth gating on bends the first line below the second."""
    shares = np.array([p.share for p in erc.points]) * 100
    fnmr = np.array([p.fnmr for p in erc.points]) * 100
    random = np.array([p.random_fnmr for p in erc.points]) * 100
    figure = _figure()
    axes = figure.add_subplot()
    axes.plot(
        shares,
        fnmr,
        color=_COLOURS["genuine"],
        marker="o",
        linewidth=1.8,
        label="lowest-quality comparisons refused first",
    )
    axes.plot(
        shares, random, color="grey", linestyle="--", linewidth=1.4, label="refused at random (expected)"
    )
    for x, y in zip(shares, fnmr, strict=True):
        if not math.isnan(y):
            axes.annotate(
                f"{y:.1f}%", (x, y), xytext=(0, 7), textcoords="offset points", ha="center", fontsize="small"
            )
    top = float(np.nanmax(np.concatenate([fnmr, random]), initial=0.0))
    axes.set_xlim(-0.5, shares.max() + 1)
    axes.set_ylim(0, max(top * 1.25, 0.1))
    axes.set_xlabel(f"share of comparisons refused, lowest quality first (% of {erc.pairs:,} scored pairs)")
    axes.set_ylabel(f"FNMR among the rest (%) at distance ≤ {erc.threshold:.4f}")
    axes.set_title("Error versus reject (a line falling below the dashed one: quality predicts errors)")
    axes.grid(alpha=0.3)
    axes.legend(loc="upper right", fontsize="small")
    return png_bytes(figure)


def _legend_handles(*, diagonal: bool = False) -> list[object]:
    from matplotlib.lines import Line2D

    def handle(shape: str, colour: str, label: str, face: str | None = None) -> Line2D:
        return Line2D(
            [], [], linestyle="none", marker=shape, color=colour, markerfacecolor=face or colour, label=label
        )

    lines = [Line2D([], [], color="black", label="measured trade-off")]
    if diagonal:
        lines.append(Line2D([], [], color="grey", linestyle=":", label="FMR = FNMR (EER line)"))
    return [
        *lines,
        handle("o", "black", "FNMR at target FMR"),
        handle("o", "black", "target FMR with too few impostor pairs", face="white"),
        handle("^", _COLOURS["accept"], "profile accept threshold"),
        handle("s", _COLOURS["reject"], "profile reject threshold"),
        handle("X", "#555555", "EER"),
    ]
