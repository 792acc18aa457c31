"""The QA report as one self-contained HTML file a reviewer can read and archive.

Plots are embedded as base64 PNG; the only CSS is inline; there are no scripts and no links, so
the file shows the same offline, years later. Every string that comes from data (paths, names,
reasons, the command) is HTML-escaped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from impostor.markup import escape as _e
from impostor.markup import img, table
from impostor.qa.error_sources import ErrorSources
from impostor.qa.error_versus_reject import ErrorVersusReject
from impostor.qa.metrics import FoldAccuracy, Interval
from impostor.qa.report import Counts, PairExample, Report, format_rate

if TYPE_CHECKING:
    from impostor.pipeline.profile import Profile

__all__ = ["render"]

_CSS = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 72em; padding: 0 1em; }
body { color: #222; } h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { margin-top: 1.8em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.6em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; vertical-align: top; }
th { background: #f3f3f3; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.warn { color: #a40000; font-weight: 600; } .muted { color: #666; }
code { background: #f3f3f3; padding: 0 0.2em; }
.key { display: flex; gap: 2em; flex-wrap: wrap; } .key div { background: #f6f8fa; padding: 0.6em 1em; }
.key b { display: block; font-size: 1.4em; } img { max-width: 100%; border: 1px solid #ddd; }
details { margin: 0.5em 0; } summary { cursor: pointer; }
"""
_MAX_LIST = 50  # items of a list from the context shown before "… and N more"


def _num(value: float, digits: int = 4) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def _ci(interval: Interval | None) -> str:
    if interval is None or math.isnan(interval.low):
        return "–"
    return f"{format_rate(interval.low)} – {format_rate(interval.high)}"


def _value(value: Any) -> str:
    """Any JSON-like value from the context as escaped HTML: mappings as tables, lists as lists."""
    if isinstance(value, Mapping):
        if not value:
            return '<span class="muted">none</span>'
        return table(None, [[_e(k), _value(v)] for k, v in value.items()], text=range(2))
    if isinstance(value, (list, tuple)):
        if not value:
            return '<span class="muted">none</span>'
        shown, more = value[:_MAX_LIST], len(value) - _MAX_LIST
        if all(isinstance(v, Mapping) for v in shown):
            keys = list(dict.fromkeys(k for v in shown for k in v))
            rows = [[_value(v.get(k, "")) for k in keys] for v in shown]
            text = table([_e(k) for k in keys], rows, text=range(len(keys)))
        else:
            text = "<ul>" + "".join(f"<li>{_value(v)}</li>" for v in shown) + "</ul>"
        return text + (f'<p class="muted">… and {more:,} more</p>' if more > 0 else "")
    if isinstance(value, float):
        return _e(f"{value:g}")
    if isinstance(value, int) and not isinstance(value, bool):
        return _e(f"{value:,}")
    return _e(value)


def _examples(title: str, examples: Sequence[PairExample]) -> str:
    if not examples:
        return ""
    rows = [
        [
            _e(x.a),
            _e(x.b),
            _e(x.a_identity),
            _e(x.b_identity),
            _e("" if x.fold is None else x.fold),
            _num(x.distance),
            _num(x.probability, 3),
        ]
        for x in examples
    ]
    return f"<h3>{title}</h3>" + table(
        ["image a", "image b", "id a", "id b", "fold", "distance", "P(same)"], rows, text=range(2)
    )


def render(report: Report, figures: Mapping[str, bytes]) -> str:
    """The whole report page; ``figures`` maps file names (histogram.png, det.png, roc.png) to PNG bytes."""
    ctx, c = report.context, report.counts
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(ctx.title)}: impostor QA report</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(ctx.title)}</h1>",
        f'<p class="muted">impostor QA benchmark, created {_e(ctx.created)} '
        f"by <code>{_e(ctx.command)}</code></p>",
        _key_figures(report),
        "<h2>Data set and pairs</h2>",
        _value(ctx.dataset),
        table(
            ["pairs", ""],
            [["source", _e(ctx.pairs_source)], ["entries skipped", _e(f"{ctx.pairs_skipped:,}")]],
            text=range(2),
        ),
        "<h2>Profile</h2>",
        _profile(ctx.profile),
        "<h2>Pipeline</h2>",
        _value(ctx.pipeline),
        "<h2>Counts</h2>",
        _counts(c),
        "<h2>FNMR at target FMR</h2>",
        _operating_points(report),
        "<h2>The profile's thresholds</h2>",
        _thresholds(report),
        "<h2>Calibration</h2>",
        table(
            ["", "bits"],
            [
                ["Cllr of the profile's probabilities", _num(report.cllr)],
                ["minCllr (best monotone calibration)", _num(report.min_cllr)],
                ["calibration loss (Cllr − minCllr)", _num(report.cllr - report.min_cllr)],
            ],
        ),
        f'<p class="muted">0 is perfect, 1 is a system that says nothing. LLRs from the calibrated '
        f"probabilities with the fit's prior share of genuine pairs, {report.prior:.4f}.</p>",
    ]
    if report.folds:
        parts.append(_folds(report.folds))
    parts += [
        "<h2>Figures</h2>",
        f'<p class="muted">Drawn from the {c.scored_genuine:,} genuine and {c.scored_impostor:,} impostor '
        "pairs with a distance; lost pairs have none and are not drawn.</p>",
    ]
    for name, alt in (
        ("histogram.png", "genuine and impostor distance histograms with the profile thresholds"),
        ("det.png", "DET curve: FNMR against FMR on normal-deviate axes"),
        ("roc.png", "ROC curve: genuine acceptance against FMR"),
    ):
        if name in figures:
            parts.append(f"<p>{img(figures[name], alt)}</p>")
    if report.error_versus_reject is not None:
        parts.append(_error_versus_reject(report.error_versus_reject, figures.get("erc.png")))
    if report.error_sources is not None:
        parts.append(_error_sources(report.error_sources))
    parts += [
        "<h2>Pairs to look at</h2>",
        _examples(
            "Genuine pairs with the largest distances (most likely false non-matches)", report.hardest_genuine
        ),
        _examples(
            "Impostor pairs with the smallest distances (most likely false matches)", report.hardest_impostor
        ),
        _examples("Lost pairs (no face found in an image)", report.lost_examples),
        "<h2>How the figures are counted</h2>",
        "<ul>" + "".join(f"<li>{_e(text)}</li>" for text in report.conventions) + "</ul>",
        f'<p class="muted">Bootstrap: {_e(report.bootstrap.get("rounds"))} rounds, '
        f"seed {_e(report.bootstrap.get('seed'))}. "
        f"Command: <code>{_e(ctx.command)}</code>. Created {_e(ctx.created)}.</p>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _key_figures(report: Report) -> str:
    """The boxes at the top: EER, FNMR at each target FMR, accuracy over the folds."""
    parts = [
        '<div class="key">',
        f"<div>EER<b>{format_rate(report.eer.rate)}</b>at distance {_num(report.eer.threshold)}</div>",
    ]
    for t in report.operating_points:
        mark = ' <span class="warn">⚠</span>' if not t.point.enough_data else ""
        parts.append(
            f"<div>FNMR at FMR {t.point.target_fmr:g}<b>{format_rate(t.point.fnmr)}{mark}</b>"
            f"95% CI {_ci(t.fnmr_ci)}</div>"
        )
    if report.folds:
        r = report.folds
        parts.append(f"<div>accuracy, {r.folds.size} folds<b>{r.mean:.2%}</b>± {r.std:.2%} (std)</div>")
    parts.append("</div>")
    return "\n".join(parts)


def _profile(p: Profile) -> str:
    """The profile benchmarked: its thresholds and where they come from."""
    return "\n".join(
        [
            table(
                None,
                [
                    ["name", _e(p.name)],
                    ["version", _e(p.version)],
                    ["file", f"<code>{_e(p.path)}</code>"],
                    ["MATCH when distance ≤", _num(p.accept_distance)],
                    ["NO_MATCH when distance >", _num(p.reject_distance)],
                    ["calibration", _e(p.calibration.method)],
                    ["fitted on", _e(p.provenance.get("calibration_data", "not recorded"))],
                    ["thresholds from", _e(p.provenance.get("threshold_data", "not recorded"))],
                    ["fitted", _e(p.provenance.get("fitted", "not recorded"))],
                ],
                text=range(2),
            ),
            f"<details><summary>full provenance</summary>{_value(p.provenance)}</details>",
        ]
    )


def _counts(c: Counts) -> str:
    """Images, people and pairs, with what was lost to no face."""
    return table(
        ["", "count", "share"],
        [
            ["images", f"{c.images:,}", ""],
            [
                "images with no face (FTA)",
                f"{c.fta_images:,}",
                format_rate(c.fta_images / c.images) if c.images else "–",
            ],
            ["people in the data set", f"{c.people:,}", ""],
            ["people in the pairs", f"{c.pair_people:,}", ""],
            ["pairs", f"{c.pairs:,}", ""],
            ["genuine pairs (same person)", f"{c.genuine_pairs:,}", ""],
            ["… lost (no face in an image)", f"{c.lost_genuine:,}", format_rate(c.fta_genuine)],
            ["impostor pairs (different people)", f"{c.impostor_pairs:,}", ""],
            ["… lost (no face in an image)", f"{c.lost_impostor:,}", format_rate(c.fta_impostor)],
        ],
    )


def _folds(r: FoldAccuracy) -> str:
    """Accuracy per fold, each fold's threshold chosen on the other folds."""
    rows = [
        [_e(f), f"{n:,}", f"{lost:,}", _num(t), f"{a:.2%}"]
        for f, n, lost, t, a in zip(
            r.folds.tolist(),
            r.pairs.tolist(),
            r.lost.tolist(),
            r.threshold.tolist(),
            r.accuracy.tolist(),
            strict=True,
        )
    ]
    return "\n".join(
        [
            "<h2>Accuracy per fold</h2>",
            table(["fold", "pairs", "lost", "threshold (from the other folds)", "accuracy"], rows),
            f"<p>Mean {r.mean:.2%} ± {r.std:.2%} (sample standard deviation; "
            f"standard error {r.standard_error:.2%}). "
            "Lost pairs count as errors.</p>",
        ]
    )


def _operating_points(report: Report) -> str:
    rows = []
    for t in report.operating_points:
        p = t.point
        note = f'<span class="warn">⚠ {_e(p.note)}</span>' if p.note else "enough data"
        rows.append(
            [
                f"{p.target_fmr:g}",
                _num(p.threshold),
                format_rate(p.fmr),
                f"<b>{format_rate(p.fnmr)}</b>",
                _ci(t.fnmr_ci),
                format_rate(t.far),
                format_rate(t.frr),
                f"{p.impostor_pairs:,}",
                note,
            ]
        )
    header = ["target FMR", "threshold", "FMR", "FNMR", "FNMR 95% CI", "FAR", "FRR", "impostor pairs", "data"]
    return table(header, rows, text=())


def _thresholds(report: Report) -> str:
    rows = [
        [
            _e(t.name),
            _num(t.threshold),
            format_rate(t.fmr),
            _ci(t.fmr_ci),
            format_rate(t.fnmr),
            _ci(t.fnmr_ci),
            format_rate(t.far),
            format_rate(t.frr),
        ]
        for t in report.profile_thresholds
    ]
    header = ["threshold", "distance", "FMR", "FMR 95% CI", "FNMR", "FNMR 95% CI", "FAR", "FRR"]
    outcome_rows = [
        [_e(o.truth), f"{o.total:,}"]
        + [
            f"{n:,} ({format_rate(n / o.total) if o.total else '–'})"
            for n in (o.match, o.refer, o.refer_no_face, o.no_match)
        ]
        for o in report.outcomes
    ]
    return (
        table(header, rows)
        + "<p>What the counter would decide, per listed pair:</p>"
        + table(["pairs", "total", "MATCH", "REFER (between)", "REFER (no face)", "NO_MATCH"], outcome_rows)
    )


def _share(count: int, total: int) -> str:
    return format_rate(count / total) if total else "–"


def _error_sources(sources: ErrorSources) -> str:
    """Errors by first cause, how common each cause's attribute is, and example pairs."""
    lost_impostor = any(c.lost_impostor for c in sources.causes)
    header = ["cause (first that applies)", "false matches", "false non-matches"]
    header += ["lost impostor pairs"] if lost_impostor else []
    header += ["errors", "share of errors", "errors with it", "pairs with it", "error rate with it"]
    rows = []
    for c in sources.causes:
        row = [_e(c.label), f"{c.false_match:,}", f"{c.false_non_match:,}"]
        row += [f"{c.lost_impostor:,}"] if lost_impostor else []
        row += [
            f"<b>{c.errors:,}</b>",
            _share(c.errors, sources.errors),
            f"{c.errors_with_attribute:,} ({_share(c.errors_with_attribute, sources.errors)})",
            f"{c.pairs_with_attribute:,} ({_share(c.pairs_with_attribute, sources.pairs)})",
            _share(c.errors_with_attribute, c.pairs_with_attribute),
        ]
        rows.append(row)
    parts = [
        "<h2>Where the errors come from</h2>",
        f"<p>{sources.errors:,} of {sources.pairs:,} pairs are wrong "
        f"({_share(sources.errors, sources.pairs)}) at {_e(sources.rule)}. Each error is put down to "
        "the first cause in this order that its pair shows. “With it” counts every pair showing "
        "the cause, whatever came first: a cause is over-represented where its share of errors "
        "exceeds its share of pairs.</p>",
        table(header, rows),
    ]
    for c in sources.causes:
        if not c.examples:
            continue
        example_rows = [
            [
                _e(x.a),
                _e(x.b),
                _e(x.error),
                _e("" if x.fold is None else x.fold),
                _num(x.distance),
                _num(x.threshold),
                " / ".join(f"{n:,}" for n in x.faces_found),
                " / ".join(_num(v, 0) for v in x.yaw),
                " / ".join(_num(v, 1) for v in x.inter_eye),
                " / ".join("CNN" if v else "–" for v in x.cnn_fallback),
                " / ".join(f"{v}°" if v else "–" for v in x.rotated),
            ]
            for x in c.examples
        ]
        parts.append(
            f"<details><summary>{_e(c.label)}: {len(c.examples)} of {c.errors:,} error pairs</summary>"
            + table(
                [
                    "image a",
                    "image b",
                    "error",
                    "fold",
                    "distance",
                    "threshold",
                    "faces a / b",
                    "yaw ° a / b",
                    "eyes px a / b",
                    "fallback a / b",
                    "turned a / b",
                ],
                example_rows,
                text=range(3),
            )
            + "</details>"
        )
    return "\n".join(parts)


def _error_versus_reject(erc: ErrorVersusReject, png: bytes | None) -> str:
    """The error-versus-reject curve: its explanation, plot and table."""
    parts = [
        "<h2>Error versus reject: are the quality gates worth their cost?</h2>",
        "<p>Each image has a quality score from 0 to 100: the lowest score among the gated "
        "quality measures (the weakest link), and a comparison is as good as its worse image. "
        "Here the lowest-quality comparisons are refused, genuine and impostor pairs alike as a "
        f"gate would, and FNMR and FMR are measured among the rest at the accept threshold "
        f"{erc.threshold:.4f}. Refusing comparisons at random leaves the rates where they were "
        "(the dashed line); when the quality score finds the comparisons that go wrong, FNMR "
        "falls faster the more are refused, and the gap between the lines is what a gate buys "
        "for the travellers it sends to a second look. A flat line means the score does not "
        f"predict errors on this data. {erc.pairs:,} scored pairs are ranked"
        + (f", {erc.unmeasured:,} of them without a quality score (refused first)" if erc.unmeasured else "")
        + ".</p>",
    ]
    if png is not None:
        alt = "error versus reject: FNMR against the share of lowest-quality comparisons refused"
        parts.append(f"<p>{img(png, alt)}</p>")
    rows = [
        [
            f"{p.share:.0%}",
            f"{p.rejected:,}",
            f"{p.genuine_pairs:,}",
            f"{p.impostor_pairs:,}",
            f"<b>{format_rate(p.fnmr)}</b>",
            format_rate(p.random_fnmr),
            format_rate(p.fmr),
            format_rate(p.random_fmr),
        ]
        for p in erc.points
    ]
    header = ["refused", "pairs refused", "genuine left", "impostor left", "FNMR", "FNMR at random"]
    header += ["FMR", "FMR at random"]
    parts.append(table(header, rows, text=()))
    return "\n".join(parts)
