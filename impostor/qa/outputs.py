"""The report folder of a benchmark: report.json, report.html, scores.csv and the plots."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Literal

from impostor.csvsafe import spreadsheet_cell
from impostor.errors import OutputError
from impostor.jsonio import to_json
from impostor.qa import metrics, plots
from impostor.qa.plots import Marker
from impostor.qa.report import PairScores, Report, format_rate
from impostor.qa.report_html import render

__all__ = ["write_report"]


def write_report(report: Report, scores: PairScores, out_dir: str | Path) -> dict[str, Path]:
    """Write report.json, scores.csv, histogram.png, det.png, roc.png, report.html and, when the
    report has an error-versus-reject curve, erc.png.

    ``scores.csv`` has columns a, b, same (1/0), fold (empty without folds), distance and
    probability (empty for a lost pair), one row per pair in the order of ``scores``; an image
    path a spreadsheet would take for a formula (``=…``, ``+…``, ``-…``, ``@…``) gets a leading
    ``'``. The HTML is one self-contained file: the plots inline as base64 PNG, no external
    CSS, scripts or links. Returns the written paths by file name; raises ``OutputError`` if the folder or a
    file cannot be written.
    """
    out = Path(out_dir)
    genuine = scores.distance[scores.scored & scores.same]
    impostor = scores.distance[scores.scored & ~scores.same]
    curve = metrics.error_curve(genuine, impostor)
    markers = _markers(report)
    sizes = {"genuine_pairs": genuine.size, "impostor_pairs": impostor.size}
    profile = report.context.profile
    figures = {
        "histogram.png": plots.histogram_png(
            genuine,
            impostor,
            accept=profile.accept_distance,
            reject=profile.reject_distance,
            title=f"Distances: {report.context.title}",
        ),
        "det.png": plots.det_png(curve, markers, **sizes),
        "roc.png": plots.roc_png(curve, markers, **sizes),
    }
    if report.error_versus_reject is not None:
        figures["erc.png"] = plots.erc_png(report.error_versus_reject)
    paths = {name: out / name for name in ("report.json", "scores.csv", *figures, "report.html")}
    try:
        out.mkdir(parents=True, exist_ok=True)
        paths["report.json"].write_text(to_json(report.to_dict()), encoding="utf-8")
        _write_csv(scores, paths["scores.csv"])
        for name, png in figures.items():
            paths[name].write_bytes(png)
        paths["report.html"].write_text(render(report, figures), encoding="utf-8")
    except OSError as exc:
        where = exc.filename or out
        raise OutputError(f"{where}: cannot write the report ({exc.strerror or exc})") from None
    return paths


def _markers(report: Report) -> list[Marker]:
    markers = [
        Marker(
            f"FMR {t.point.target_fmr:g}",
            t.point.fmr,
            t.point.fnmr,
            "target",
            t.point.enough_data,
        )
        for t in report.operating_points
    ]
    for t in report.profile_thresholds:
        kind: Literal["accept", "reject"] = "accept" if t.name == "accept" else "reject"
        markers.append(Marker(f"{t.name} {t.threshold:.4f}", t.fmr, t.fnmr, kind))
    markers.append(Marker(f"EER {format_rate(report.eer.rate)}", report.eer.rate, report.eer.rate, "eer"))
    return markers


def _write_csv(scores: PairScores, path: Path) -> None:
    def number(value: float) -> str:
        return "" if math.isnan(value) else repr(float(value))  # repr round-trips exactly

    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["a", "b", "same", "fold", "distance", "probability"])
        folds = scores.fold.tolist() if scores.fold is not None else [""] * len(scores)
        for a, b, same, fold, d, p in zip(
            scores.a, scores.b, scores.same.tolist(), folds, scores.distance, scores.probability, strict=True
        ):
            writer.writerow([spreadsheet_cell(a), spreadsheet_cell(b), int(same), fold, number(d), number(p)])
