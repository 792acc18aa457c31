"""The trainer report's two plots, drawn with matplotlib's object API and returned as PNG bytes.

Every label comes from the text catalogue through ``Text`` (the report's words in one language),
so the plots speak the report's language, decimal mark included. Matplotlib is imported inside
each function: importing this module draws nothing and loads no plotting library.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Protocol

from impostor.markup import png_bytes
from impostor.practice.scoring import Detection, Norm, Score

__all__ = ["Text", "confidence_png", "progress_png"]

_COLOURS = {"accuracy": "#1f77b4", "false_accept_rate": "#d62728", "d_prime": "#2ca02c", "bars": "#7f9fbf"}


class Text(Protocol):
    """What the plots need of the report's words: catalogue text and number formats."""

    def plain(self, key: str, **values: object) -> str:
        """The catalogue's text for ``key``, unescaped."""

    def num(self, value: float | None, digits: int = 2, *, sign: bool = False) -> str:
        """A number as the reader's language writes it."""

    def pct(self, rate: float | None, digits: int = 1) -> str:
        """A rate (0-1) as a percentage in the reader's language."""


def progress_png(
    scores: Sequence[Detection], norms: Mapping[str, Norm], w: Text, kinds: Sequence[str] | None = None
) -> bytes:
    """Accuracy and false-accept rate (top) and d′ (bottom) per finished session, in order, with
    the GFMT short-version and passport-officer norms dashed. Lines join only sessions of one
    ``kinds`` value (the same set and mode): a hard test after an easy practice is not a drop."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    x = list(range(1, len(scores) + 1))
    kinds = list(kinds) if kinds is not None else [""] * len(scores)
    runs = [[i for i, k in enumerate(kinds) if k == kind] for kind in dict.fromkeys(kinds)]
    figure = Figure(figsize=(7.5, 5.0), dpi=110, layout="constrained")
    rates, sensitivity = figure.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    # each measure drawn with its norm in the same colour: accuracy against the GFMT short-version
    # mean, the false-accept rate against the passport officers'
    for field, norm in (("accuracy", "gfmt_short"), ("false_accept_rate", "passport_officers")):
        colour, label = _COLOURS[field], w.plain(f"report.{field}")
        for number, run in enumerate(runs):
            values = [getattr(scores[i], field) for i in run]
            rates.plot([x[i] for i in run], values, marker="o", color=colour, label=None if number else label)
        level = getattr(norms[norm], field)
        if level is not None:
            label = w.plain(f"report.plot_{norm}", value=w.pct(level, 0))
            rates.axhline(level, linestyle="--", linewidth=1, color=colour, alpha=0.7, label=label)
    rates.set_ylim(-0.03, 1.05)  # markers at 0% and 100% drawn whole
    rates.yaxis.set_major_formatter(FuncFormatter(lambda value, _: w.pct(value, 0)))
    figure.legend(loc="outside lower center", ncols=2, fontsize="small")
    rates.grid(alpha=0.3)
    for run in runs:
        sensitivity.plot(
            [x[i] for i in run], [scores[i].d_prime for i in run], marker="o", color=_COLOURS["d_prime"]
        )
    sensitivity.axhline(0, color="grey", linewidth=0.8)
    sensitivity.set_ylabel(w.plain("report.d_prime"))
    sensitivity.set_xlabel(w.plain("report.plot_session"))
    # whole sessions only, with room either side, however few there are
    sensitivity.set_xlim(0.5, len(x) + 0.5)
    if len(x) <= 12:
        sensitivity.set_xticks(x)
    else:
        sensitivity.xaxis.set_major_locator(MaxNLocator(integer=True))
    values = [d.d_prime for d in scores if math.isfinite(d.d_prime)]
    # at least one unit of d′ in view, in half-unit steps, so ticks never repeat a rounded label
    low, high = min([0.0, *values]), max([1.0, *values])
    sensitivity.set_ylim(low - 0.25, high + 0.25)
    sensitivity.yaxis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 5, 10]))
    sensitivity.yaxis.set_major_formatter(FuncFormatter(lambda value, _: w.num(value, 1)))
    sensitivity.grid(alpha=0.3)
    return png_bytes(figure)


def confidence_png(score: Score, w: Text) -> bytes:
    """Accuracy at each confidence level 1-5, each bar labelled with its number of answers."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    levels = score.by_confidence
    figure = Figure(figsize=(6.0, 3.4), dpi=110, layout="constrained")
    axes = figure.subplots()
    heights = [0.0 if math.isnan(level.accuracy) else level.accuracy for level in levels]
    bars = axes.bar([level.level for level in levels], heights, color=_COLOURS["bars"])
    axes.bar_label(
        bars, [w.plain("report.plot_count", count=level.trials) for level in levels], fontsize="small"
    )
    axes.set_ylim(0, 1.15)  # room for the counts above a full bar
    axes.set_yticks([0.0, 0.25, 0.5, 0.75, 1.0])
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: w.pct(value, 0)))
    axes.set_xticks([level.level for level in levels])
    axes.set_xlabel(w.plain("report.plot_confidence"))
    axes.set_ylabel(w.plain("report.accuracy"))
    axes.grid(axis="y", alpha=0.3)
    return png_bytes(figure)
