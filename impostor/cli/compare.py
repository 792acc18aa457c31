"""``impostor compare`` and ``impostor quality``: one traveller, at the counter or at a desk."""

from __future__ import annotations

import math
import socket
import sys
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from impostor import settings
from impostor.cli.common import (
    DECISION_EXIT_CODES,
    audit_text,
    detector_option,
    device_option,
    echo_json,
    jitters_option,
    login_name,
    percent,
    reported,
)
from impostor.types import Decision, Side, Verdict

if TYPE_CHECKING:
    from impostor.services.comparison import Comparer, Comparison, DocumentSide

__all__ = ["compare", "quality"]

_profile_option = click.option(
    "--profile",
    type=click.Path(dir_okay=False, path_type=Path),
    help=settings.option_help("profile", "Calibration profile (JSON)"),
)


_COMPARE_OPTIONS = (
    click.option(
        "--pairs",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Compare every pair of a CSV (document,live) instead, for a back-office review; needs --out.",
    ),
    click.option(
        "--out", type=click.Path(dir_okay=False, path_type=Path), help="Decisions file (CSV) for --pairs."
    ),
    click.option(
        "--camera",
        type=click.IntRange(0, 99),
        metavar="INDEX",
        help="Take the live face from this OpenCV camera.",
    ),
    click.option(
        "--video", type=click.Path(dir_okay=False, path_type=Path), help="Take the live face from a clip."
    ),
    click.option(
        "--seconds",
        type=click.FloatRange(0.1, 60),
        help=settings.option_help("capture_seconds", "How long to watch the camera or clip, in seconds"),
    ),
    click.option(
        "--chip",
        "chip_folder",
        type=click.Path(exists=True, file_okay=False, path_type=Path),
        help="The page's chip: a folder of its files (from `impostor chip read` or a reader program).",
    ),
    click.option(
        "--chip-reader",
        metavar="[N]",
        is_flag=False,
        flag_value="",
        default=None,
        help="Read the page's chip now on reader N (its number or part of its name; alone: the only one),"
        " opened with the MRZ read from the page.",
    ),
    click.option(
        "--csca",
        type=click.Path(exists=True, path_type=Path),
        help="CSCA certificates or master list, for the chip's chain (default: the IMPOSTOR_CSCA setting).",
    ),
    click.option(
        "--chip-timeout",
        type=click.FloatRange(0.1, 600),
        default=30,
        show_default=True,
        help="Seconds to wait for the document on the chip reader.",
    ),
    click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text."),
    click.option(
        "--composite",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Write a side-by-side picture (.png/.jpg).",
    ),
    _profile_option,
    detector_option,
    jitters_option,
    device_option,
    click.option(
        "--station",
        metavar="TEXT",
        callback=audit_text,
        help="Station named in the audit log (default: this machine's hostname).",
    ),
    click.option(
        "--operator",
        metavar="TEXT",
        callback=audit_text,
        help="Operator named in the audit log (default: the login user name).",
    ),
    click.option(
        "--audit-db",
        type=click.Path(dir_okay=False, path_type=Path),
        help=settings.option_help("audit_db", "Audit database"),
    ),
    click.option("--no-audit", is_flag=True, help="Do not append the decision to the audit log."),
)


def _compare_options(command: Callable[..., None]) -> Callable[..., None]:
    """``compare``'s options, in the order ``--help`` lists them."""
    for option in reversed(_COMPARE_OPTIONS):
        command = option(command)
    return command


@click.command()
@click.argument("document", required=False, type=click.Path(path_type=Path))
@click.argument("live", required=False, type=click.Path(dir_okay=False, path_type=Path))
@_compare_options
def compare(
    document: Path | None,
    live: Path | None,
    pairs: Path | None,
    out: Path | None,
    camera: int | None,
    video: Path | None,
    seconds: float | None,
    chip_folder: Path | None,
    chip_reader: str | None,
    csca: Path | None,
    chip_timeout: float,
    as_json: bool,
    composite: Path | None,
    profile: Path | None,
    detector: str,
    jitters: int,
    station: str | None,
    operator: str | None,
    audit_db: Path | None,
    no_audit: bool,
) -> None:
    """Compare a DOCUMENT with a LIVE image, a --camera or a --video clip.

    DOCUMENT is a portrait, a scan of the whole data page (its MRZ is read and its portrait
    cut out), a chip folder or a DG2 file. A data page is compared under the shipped document
    profile unless --profile says otherwise; what reading the document found that needs
    examining turns a MATCH into a REFER.

    With the page's chip (--chip DIR, or --chip-reader [N] to read it now) the chip's portrait
    decides where passive authentication holds, and the page's and DG1 are compared with the
    chip's; an unreadable chip leaves the page deciding, with an alert (no reader or card: 21-23).

    \b
    Examples:
      impostor compare samples/document.png samples/live_genuine.jpg
      impostor compare page.jpg live.jpg
      impostor compare chip-folder/ live.jpg --json
      impostor compare page.jpg live.jpg --chip-reader 0 --csca masterlist.ml
      impostor compare samples/document.png --video clip.mp4 --json
      impostor compare --pairs review.csv --out decisions.csv

    Every decision is appended to the audit log unless --no-audit is given.
    """
    from impostor.records.audit import AuditLog
    from impostor.services.comparison import Comparer

    stream = _check_sources(document, live, pairs, out, camera, video, seconds)
    _check_chip(chip_folder, chip_reader, pairs)
    with reported(as_json), ExitStack() as stack:
        audit = None if no_audit else stack.enter_context(AuditLog(audit_db))
        station = (station or socket.gethostname()) if audit is not None else ""
        comparer = stack.enter_context(
            Comparer(profile, audit=audit, station=station, detector=detector, jitters=jitters)
        )
        operator = operator or login_name()
        if pairs is not None and out is not None:
            from impostor.services.backoffice import compare_list

            summary = compare_list(comparer, pairs, out, operator=operator)
            counts = ", ".join(f"{count} {decision}" for decision, count in summary.counts.items())
            click.echo(f"wrote {out}: {summary.total} pairs ({counts})")
            return
        assert document is not None
        side = _document_side(comparer, document, chip_folder, chip_reader, csca, chip_timeout)
        if stream is not None:
            result = comparer.compare_stream(side, stream, operator=operator, seconds=seconds)
        else:
            assert live is not None
            result = comparer.compare(side, live, operator=operator)
        if composite is not None:
            from impostor.pipeline.composite import write

            write(result.verdict, composite)
    _show(result, as_json, composite)
    sys.exit(DECISION_EXIT_CODES[result.verdict.decision])


def _document_side(
    comparer: Comparer,
    document: Path,
    chip_folder: Path | None,
    chip_reader: str | None,
    csca: Path | None,
    timeout: float,
) -> DocumentSide:
    """The document read, with its chip's folder, or its chip read now on ``chip_reader``."""
    side = comparer.read(document, chip=chip_folder, csca=csca)
    return side if chip_reader is None else _read_chip(comparer, side, chip_reader, csca, timeout)


def _read_chip(
    comparer: Comparer, side: DocumentSide, which: str, csca: Path | None, timeout: float
) -> DocumentSide:
    """``side`` with its chip read now on reader ``which`` ("" for the only one), a progress bar
    for the portrait on stderr."""
    from tqdm import tqdm

    bar: tqdm[Any] | None = None

    def progress(name: str, done: int, total: int) -> None:
        nonlocal bar
        if name != "DG2":  # the portrait is the one file long enough to wait for
            return
        if bar is None:
            bar = tqdm(
                total=total,
                desc="chip portrait (DG2)",
                unit="B",
                unit_scale=True,
                file=sys.stderr,
                leave=False,
            )
        bar.update(done - bar.n)

    reader: int | str | None = int(which) if which.isdigit() else which or None
    click.echo(f"reading the chip on {'reader ' + which if which else 'the reader'}…", err=True)
    try:
        return comparer.read_chip(side, reader, csca=csca, timeout=timeout, progress=progress)
    finally:
        if bar is not None:
            bar.close()


def _check_chip(chip_folder: Path | None, chip_reader: str | None, pairs: Path | None) -> None:
    """A ``UsageError`` for a chip given twice, or with a list of pairs."""
    if chip_folder is not None and chip_reader is not None:
        raise click.UsageError("give --chip DIR or --chip-reader [N], not both")
    if (chip_folder is not None or chip_reader is not None) and pairs is not None:
        raise click.UsageError("--chip and --chip-reader go with one DOCUMENT, not --pairs")


def _check_sources(
    document: Path | None,
    live: Path | None,
    pairs: Path | None,
    out: Path | None,
    camera: int | None,
    video: Path | None,
    seconds: float | None,
) -> int | Path | None:
    """The camera or clip to watch (None: a LIVE image, or --pairs); a ``UsageError`` for a
    combination that does not say one comparison or one list."""
    if seconds is not None and not math.isfinite(seconds):
        raise click.BadParameter(f"{seconds} is not a number of seconds", param_hint="--seconds")
    if pairs is not None or out is not None:
        if pairs is None or out is None or document or live or camera is not None or video:
            raise click.UsageError(
                "--pairs LIST needs --out FILE, and no DOCUMENT, LIVE, --camera or --video"
            )
        return None
    if document is None:
        raise click.UsageError("give a DOCUMENT and a LIVE image (or --camera, --video), or --pairs LIST")
    if len([s for s in (live, camera, video) if s is not None]) != 1:
        raise click.UsageError("give exactly one of LIVE, --camera INDEX or --video FILE")
    return camera if camera is not None else video


def _show(result: Comparison, as_json: bool, composite: Path | None) -> None:
    """Print the comparison: its JSON, or the verdict in words and what the document showed."""
    if as_json:
        echo_json(result.to_dict())
        return
    click.echo(_describe(result.verdict, composite))
    if result.checks is not None:
        click.echo(_chip_lines(result))
    if result.reading.kind != "portrait":
        from impostor.cli.document import describe

        click.echo(describe(result.reading))


def _chip_lines(result: Comparison) -> str:
    """Which portrait decided, and what the chip proved, for a document read with its chip."""
    checks = result.checks
    assert checks is not None
    named = {"chip": "the chip's portrait", "page": "the printed portrait"}
    decided = named.get(result.portrait, "the portrait")
    lines = [f"decided by {decided}"]
    if checks.read_error:
        lines.append(f"chip: not read ({checks.read_error})")
    else:
        via = f" (opened with {checks.access})" if checks.access else ""
        lines.append(
            f"chip{via}: passive authentication {checks.passive}, active {checks.active},"
            f" chip authentication {checks.chip}"
        )
    if checks.substitution_distance is not None:
        verdict = "NOT the chip's" if checks.substitution_alert else "the chip's"
        lines.append(
            f"printed portrait: {verdict} (distance {checks.substitution_distance:.3f};"
            f" alert above {checks.alert_distance:.3f})"
        )
    return "\n".join(lines)


def _describe(verdict: Verdict, composite: Path | None) -> str:
    lines = [click.style(verdict.decision.value, bold=True, fg=_COLOUR[verdict.decision])]
    if verdict.probability is not None and verdict.distance is not None:
        lines[0] += (
            f"  probability {percent(verdict.probability)} that both are the same person"
            f"  (distance {verdict.distance:.3f}; match at <= {verdict.accept_distance:.3f},"
            f" no match above {verdict.reject_distance:.3f})"
        )
    lines += [_side_line(verdict.document), _side_line(verdict.live)]
    if verdict.reasons:
        lines.append("reasons:")
        lines += [f"  - {reason.message}" for reason in verdict.reasons]
    lines.append(
        f"profile {verdict.profile.name} {verdict.profile.version}"
        f" · {verdict.timings_ms.get('total', 0):.0f} ms"
        + (f" · composite written to {composite}" if composite else "")
    )
    return "\n".join(lines)


def _side_line(side: Side) -> str:
    label = f"{side.name:<9}{side.image.info.source}"
    if side.face is None:
        return f"{label}: no face found"
    extra = f", {side.faces_found} faces in view" if side.faces_found > 1 else ""
    return (
        f"{label}: face {side.face.box.width:.0f}×{side.face.box.height:.0f} px,"
        f" {side.face.landmarks.inter_eye_distance:.0f} px between the eyes{extra}"
    )


_COLOUR = {Decision.MATCH: "green", Decision.NO_MATCH: "red", Decision.REFER: "yellow"}


@click.command()
@click.argument("image", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--side",
    type=click.Choice(["document", "live"]),
    default="live",
    show_default=True,
    help="Which side of a comparison the image is: picks the limits and the advice.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
@_profile_option
@detector_option
def quality(image: Path, side: str, as_json: bool, profile: Path | None, detector: str) -> None:
    """Report the quality of the largest face in IMAGE: native values, 0-100 scores and advice.

    \b
    Exit 0 when every measure passes, 3 when some fail (take or use another photo),
    11 when there is no face.
    """
    import impostor

    with reported(as_json):
        with impostor.Verifier(profile, detector=detector) as verifier:
            analysed, report = verifier.quality(image, side)  # type: ignore[arg-type]
    if as_json:
        echo_json({"image": analysed.info.to_dict(), **report.to_dict()})
    else:
        verdict = click.style(
            "PASS" if report.passed else "FAIL", bold=True, fg="green" if report.passed else "yellow"
        )
        click.echo(f"{verdict}  {side} quality of {image}")
        for measure in report.measures:
            value = f"{measure.value:.3g} {measure.unit}"
            state = "-" if measure.limit is None else ("pass" if measure.passed else "FAIL")
            click.echo(f"  {measure.name:<24}{value:<36}{measure.score:>5.0f}  {state:<5}{measure.advice}")
    sys.exit(0 if report.passed else DECISION_EXIT_CODES[Decision.REFER])
