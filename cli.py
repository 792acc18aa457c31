"""The impostor command line: parse, call the library, format, set the exit code.

Exit codes (also in the README):

    0   MATCH                         6   image too large
    1   NO_MATCH                      7   image unusable (too small, odd pixel type)
    2   usage error (bad options)     8   camera or video clip gave no usable frame
    3   REFER                         9   calibration profile missing or invalid
    4   image file not found          10  output file cannot be written
    5   not an image, or corrupt      12  data set or pair list unusable
                                      13  Dask scheduler unreachable or unusable
                                      14  audit log damaged or unreadable
                                      15  practice set or results unusable
                                      70  internal error (a bug: please report it)
"""

from __future__ import annotations

import getpass
import json
import os
import shlex
import socket
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, NoReturn

import click

import impostor
from impostor.errors import ImpostorError
from impostor.types import Decision, Side, Verdict

EXIT_CODES = {Decision.MATCH: 0, Decision.NO_MATCH: 1, Decision.REFER: 3}
INTERNAL_ERROR = 70


# options several commands share, defined once so their choices and help cannot drift apart
_detector_option = click.option(
    "--detector",
    type=click.Choice(["auto", "hog", "cnn"]),
    default="auto",
    show_default=True,
    help="Face detector (auto: HOG, then the CNN where HOG finds nothing).",
)
_jitters_option = click.option(
    "--jitters",
    type=click.IntRange(0, 100),
    default=0,
    show_default=True,
    help="Average each embedding over N perturbed copies (slower).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(impostor.__version__, prog_name="impostor")
def main() -> None:
    """Facial comparison for border inspection: is the traveller the document's holder?"""


@main.command()
@click.argument("document", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("live", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--camera", type=int, metavar="INDEX", help="Take the live face from this OpenCV camera.")
@click.option(
    "--video", type=click.Path(dir_okay=False, path_type=Path), help="Take the live face from a clip."
)
@click.option("--seconds", type=click.FloatRange(0.1, 60), help="How long to watch the camera or clip.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
@click.option(
    "--composite",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write a side-by-side picture (.png/.jpg).",
)
@click.option(
    "--profile", type=click.Path(dir_okay=False, path_type=Path), help="Calibration profile (JSON)."
)
@_detector_option
@_jitters_option
@click.option(
    "--station", metavar="TEXT", help="Station named in the audit log (default: this machine's hostname)."
)
@click.option(
    "--operator", metavar="TEXT", help="Operator named in the audit log (default: the login user name)."
)
@click.option(
    "--audit-db",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Audit database (default: IMPOSTOR_AUDIT_DB, ~/.local/share/impostor/audit.sqlite).",
)
@click.option("--no-audit", is_flag=True, help="Do not append the decision to the audit log.")
def compare(
    document: Path,
    live: Path | None,
    camera: int | None,
    video: Path | None,
    seconds: float | None,
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
    """Compare a DOCUMENT portrait with a LIVE image, a --camera or a --video clip.

    \b
    Examples:
      impostor compare samples/document.png samples/live_genuine.jpg
      impostor compare samples/document.png --video clip.mp4 --json

    Every decision is appended to the audit log unless --no-audit is given.
    """
    sources = [s for s in (live, camera, video) if s is not None]
    if len(sources) != 1:
        raise click.UsageError("give exactly one of LIVE, --camera INDEX or --video FILE")
    with _reported(as_json), ExitStack() as stack:
        audit_log = None
        if not no_audit:
            from impostor.audit import AuditLog

            station = station or socket.gethostname()
            operator = operator or _login_name()
            audit_log = stack.enter_context(AuditLog(audit_db))
        with impostor.Verifier(
            profile,
            detector=detector,  # type: ignore[arg-type]
            jitters=jitters,
            audit=audit_log,
            station=station or "",
            operator=operator or "",
        ) as verifier:
            if live is not None:
                verdict = verifier.verify(document, live)
            else:
                stream = camera if camera is not None else video
                assert stream is not None
                verdict = verifier.verify_stream(document, stream, seconds=seconds)
        if composite is not None:
            from impostor.composite import write

            write(verdict, composite)
    if as_json:
        click.echo(json.dumps(verdict.to_dict(), indent=2))
    else:
        click.echo(_describe(verdict, composite))
    sys.exit(EXIT_CODES[verdict.decision])


def _evaluation_options(command: Any) -> Any:
    """The options benchmark and calibrate share: how images are embedded and pairs formed."""
    options = [
        click.option(
            "--pairs",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Pair list: LFW pairs.txt or CSV a,b,same[,fold].",
        ),
        click.option("--workers", type=click.IntRange(1, 256), help="Local processes (default: all cores)."),
        click.option("--scheduler", metavar="ADDRESS", help="Run the embedding on this Dask scheduler."),
        click.option(
            "--impostors",
            default="10000",
            show_default=True,
            help="Impostor pairs to generate without --pairs, or 'all'.",
        ),
        click.option(
            "--seed", type=int, default=0, show_default=True, help="Seed for generated pairs and splits."
        ),
        click.option(
            "--face",
            type=click.Choice(["largest", "central"]),
            default="largest",
            show_default=True,
            help="Which face stands for an image with several (central suits LFW).",
        ),
        _detector_option,
        _jitters_option,
        click.option(
            "--cache",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Embedding cache file (default: IMPOSTOR_CACHE folder).",
        ),
        click.option(
            "--flip", is_flag=True, help="Average each embedding with its mirror image's (2× slower)."
        ),
        click.option("--no-cache", is_flag=True, help="Do not read or write the embedding cache."),
        click.option("--quiet", is_flag=True, help="No progress bar."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _config(**values: Any) -> Any:
    from impostor.evaluate import EvaluationConfig

    if values["workers"] is not None and values["scheduler"] is not None:
        raise click.UsageError(
            "give --workers or --scheduler, not both (the cluster decides its own workers)"
        )
    impostors = values["impostors"]
    if impostors != "all":
        try:
            impostors = int(impostors)
        except ValueError:
            raise click.BadParameter("a number of pairs or 'all'", param_hint="--impostors") from None
    return EvaluationConfig(
        detector=values["detector"],
        pick=values["face"],
        jitters=values["jitters"],
        flip=values["flip"],
        workers=values["workers"],
        scheduler=values["scheduler"],
        cache="" if values["no_cache"] else values["cache"],
        impostors=impostors,
        seed=values["seed"],
        progress=not values["quiet"],
    )


def _command_line() -> str:
    """The command as a user would retype it: arguments, and options that differ from their defaults."""
    context = click.get_current_context()
    words = ["impostor", context.info_name or ""]
    for param in context.command.params:
        value = context.params.get(param.name or "")
        if isinstance(param, click.Argument):
            words.append(shlex.quote(str(value)))
        elif value not in (None, False) and value != param.default:
            flag = param.opts[0]
            words.append(flag if value is True else f"{flag} {shlex.quote(str(value))}")
    return " ".join(words)


@main.command()
@click.argument("dataset", type=click.Path(path_type=Path))
@click.option(
    "--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Folder for the report."
)
@click.option(
    "--profile",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Profile whose thresholds are measured.",
)
@click.option("--title", help="Title of the report (default: the data set's folder name).")
@_evaluation_options
def benchmark(dataset: Path, out: Path, profile: Path | None, title: str | None, **options: Any) -> None:
    """Measure error rates on DATASET (one sub-folder per person) and write a report.

    \b
    Examples:
      impostor benchmark ../shared/data/faces-dev --out out/dev
      impostor benchmark ../shared/data/lfw/lfw --pairs ../shared/data/lfw/lfw_pairs.txt \\
          --face central --out out/lfw
    """
    with _reported():
        config = _config(**options)
        from impostor.evaluate import run_benchmark

        report, paths = run_benchmark(
            dataset,
            out,
            pairs_file=options["pairs"],
            profile=profile,
            config=config,
            title=title,
            command=_command_line(),
        )
        click.echo(report.summary())
        click.echo(f"report: {paths['report.html']}")


@main.command()
@click.argument("dataset", type=click.Path(path_type=Path))
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Profile to write (JSON)."
)
@click.option("--name", help="Profile name (default: the file's stem).")
@click.option(
    "--target-fmr",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=1e-3,
    show_default=True,
    help="FMR of the accept threshold.",
)
@click.option(
    "--reject-fnmr",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=1e-2,
    show_default=True,
    help="FNMR of the reject threshold.",
)
@click.option(
    "--method",
    type=click.Choice(["logistic", "isotonic"]),
    default="logistic",
    show_default=True,
    help="Calibration model.",
)
@click.option(
    "--heldout-pairs",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Pairs to measure the profile on (default: a share of the people).",
)
@click.option(
    "--heldout-share",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.3,
    show_default=True,
    help="Share of people held out without --heldout-pairs.",
)
@_evaluation_options
def calibrate(
    dataset: Path,
    out: Path,
    name: str | None,
    target_fmr: float,
    reject_fnmr: float,
    method: str,
    heldout_pairs: Path | None,
    heldout_share: float,
    **options: Any,
) -> None:
    """Fit a calibration profile on DATASET and write it as versioned JSON.

    \b
    Example:
      impostor calibrate ../shared/data/lfw/lfw --pairs ../shared/data/lfw/lfw_pairsDevTrain.txt \\
          --heldout-pairs ../shared/data/lfw/lfw_pairsDevTest.txt --face central --out models/lfw.json
    """
    with _reported():
        config = _config(**options)
        from impostor.evaluate import run_calibration

        profile = run_calibration(
            dataset,
            out,
            pairs_file=options["pairs"],
            heldout_pairs_file=heldout_pairs,
            name=name,
            target_fmr=target_fmr,
            reject_fnmr=reject_fnmr,
            method=method,  # type: ignore[arg-type]
            heldout_share=heldout_share,
            config=config,
            command=_command_line(),
        )
        held = profile.provenance.get("heldout", {})
        click.echo(
            f"wrote {out}: {profile.name} {profile.version}, MATCH at distance <= {profile.accept_distance}"
            f" (FMR {target_fmr:g}), NO_MATCH above {profile.reject_distance} (FNMR {reject_fnmr:g})"
        )
        click.echo(f"held out ({profile.provenance.get('heldout_data')}): {json.dumps(held)}")


@contextmanager
def _reported(as_json: bool = False) -> Iterator[None]:
    """Turn every error into one ``Type: message`` line and its exit code, never a traceback."""
    try:
        yield
    except ImpostorError as error:
        _fail(error, as_json)
    except (click.ClickException, click.exceptions.Exit):
        raise  # usage errors keep click's own message and exit code 2
    except KeyboardInterrupt:
        click.echo("Interrupted", err=True)
        sys.exit(130)
    except Exception as error:  # a bug: one line (IMPOSTOR_DEBUG=1 shows the traceback)
        if os.environ.get("IMPOSTOR_DEBUG"):
            raise
        _fail(error, as_json, INTERNAL_ERROR)


def _fail(error: Exception, as_json: bool, code: int | None = None) -> NoReturn:
    name = type(error).__name__ if isinstance(error, ImpostorError) else "InternalError"
    message = str(error) if isinstance(error, ImpostorError) else f"{type(error).__name__}: {error}"
    exit_code = code if code is not None else getattr(error, "exit_code", INTERNAL_ERROR)
    if as_json:
        click.echo(json.dumps({"error": {"type": name, "message": message, "exit_code": exit_code}}))
    click.echo(f"{name}: {message}", err=True)
    sys.exit(exit_code)


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no USER/LOGNAME and no passwd entry (some containers)
        raise click.UsageError("cannot tell the login user name: give --operator NAME") from None


def _describe(verdict: Verdict, composite: Path | None) -> str:
    lines = [click.style(verdict.decision.value, bold=True, fg=_COLOUR[verdict.decision])]
    if verdict.probability is not None and verdict.distance is not None:
        lines[0] += (
            f"  probability {_percent(verdict.probability)} that both are the same person"
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


def _percent(probability: float) -> str:
    if probability > 0.999:
        return ">99.9%"
    if probability < 0.001:
        return "<0.1%"
    return f"{probability:.1%}"


_COLOUR = {Decision.MATCH: "green", Decision.NO_MATCH: "red", Decision.REFER: "yellow"}


# -- audit trail -----------------------------------------------------------------------------

_WHEN = click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"])
_db_option = click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Audit database (default: IMPOSTOR_AUDIT_DB, ~/.local/share/impostor/audit.sqlite).",
)


@main.group()
def audit() -> None:
    """The hash-chained audit trail of decisions: verify it, export it, count it.

    Times are UTC; --since is inclusive and --until exclusive.
    """


@audit.command("verify")
@_db_option
def audit_verify(db: Path | None) -> None:
    """Check that no record was edited, deleted or reordered (exit 14 naming the first bad one)."""
    from impostor.audit import AuditLog
    from impostor.errors import AuditError

    with _reported():
        with AuditLog(db) as log:
            report = log.verify()
        if not report.ok:
            raise AuditError(f"{log.path}: {report.problem}")
        click.echo(report.summary())


@audit.command("export")
@click.option("--since", type=_WHEN, help="First day or moment (UTC) to include.")
@click.option("--until", type=_WHEN, help="Day or moment (UTC) to stop before.")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="File to write (default: stdout)."
)
@_db_option
def audit_export(since: Any, until: Any, fmt: str, out: Path | None, db: Path | None) -> None:
    """Write the records of a period as CSV or JSON for a review."""
    from impostor.audit import AuditLog

    with _reported():
        with AuditLog(db) as log:
            count = log.export(sys.stdout if out is None else out, fmt, since=since, until=until)
        if out is not None:
            click.echo(f"wrote {count} records to {out}")


@audit.command("stats")
@click.option("--since", type=_WHEN, help="First day or moment (UTC) to count.")
@click.option("--until", type=_WHEN, help="Day or moment (UTC) to stop before.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
@_db_option
def audit_stats(since: Any, until: Any, as_json: bool, db: Path | None) -> None:
    """Count decisions and reason codes over a period."""
    from impostor.audit import AuditLog

    with _reported(as_json):
        with AuditLog(db) as log:
            stats = log.stats(since, until)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "total": stats.total,
                    "since": stats.since,
                    "until": stats.until,
                    "by_decision": dict(stats.by_decision),
                    "by_reason": dict(stats.by_reason),
                },
                indent=2,
            )
        )
        return
    period = f"{stats.since or 'start'} to {stats.until or 'now'}"
    click.echo(f"{stats.total} decisions, {period}")
    for decision, count in stats.by_decision.items():
        click.echo(f"  {decision:<10}{count}")
    if stats.by_reason:
        click.echo("reasons:")
        for code, count in stats.by_reason.items():
            click.echo(f"  {code:<28}{count}")


# -- practice sets for trainers -----------------------------------------------------------------

_practice_db_option = click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Practice results (SQLite; default: IMPOSTOR_PRACTICE_DB, ~/.local/share/impostor/practice.sqlite).",
)


@main.group()
def practice() -> None:
    """Scored face-matching practice for officers: build a set, serve it, report on it."""


@practice.command("build")
@click.argument("dataset", type=click.Path(path_type=Path))
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Set file to write (JSON)."
)
@click.option(
    "--items", type=click.IntRange(2, 1000), default=40, show_default=True, help="Pairs in the set."
)
@click.option(
    "--mismatch-rate",
    type=click.FloatRange(0, 1),
    default=0.5,
    show_default=True,
    help="Share of different-person pairs.",
)
@click.option(
    "--difficulty",
    type=click.Choice(["hard", "mixed", "easy"]),
    default="hard",
    show_default=True,
    help="hard: look-alike strangers and unlike photos of one person; mixed: the whole range.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for the choice, sides and order.")
@click.option("--document-style", is_flag=True, help="Render each left image as a travel-document portrait.")
@click.option("--name", help="Name trainees see (default: data set · difficulty · items).")
@click.option("--workers", type=click.IntRange(1, 256), help="Local processes (default: all cores).")
@click.option("--no-cache", is_flag=True, help="Do not read or write the embedding cache.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def practice_build(
    dataset: Path,
    out: Path,
    items: int,
    mismatch_rate: float,
    difficulty: str,
    seed: int,
    document_style: bool,
    name: str | None,
    workers: int | None,
    no_cache: bool,
    quiet: bool,
) -> None:
    """Choose pairs from DATASET (one sub-folder per person) and write a practice set.

    \b
    Examples:
      impostor practice build ../shared/data/faces-dev --out hard.json
      impostor practice build PEOPLE --out counter.json --items 60 --difficulty mixed --document-style
    """
    from impostor.cache import open_cache
    from impostor.practice.build import build_set, mean_probability

    with _reported():
        cache = open_cache("" if no_cache else None)
        try:
            made = build_set(
                dataset,
                out,
                items=items,
                mismatch_rate=mismatch_rate,
                difficulty=difficulty,  # type: ignore[arg-type]
                seed=seed,
                document_style=document_style,
                cache=cache,
                workers=workers,
                name=name,
                progress=not quiet,
                command=_command_line(),
            )
        finally:
            if cache is not None:
                cache.close()
    genuine = sum(item.same for item in made.items)
    click.echo(
        f"wrote {out}: {len(made.items)} items ({genuine} same person, {len(made.items) - genuine} different)"
    )
    click.echo(f"  set id {made.id}, {difficulty}, seed {seed}")
    click.echo(
        "  algorithm's mean probability of 'same person': "
        f"different-people items {_percent(mean_probability(made, same=False))}, "
        f"same-person items {_percent(mean_probability(made, same=True))}"
    )


@practice.command("pack")
@click.argument("set_file", metavar="SET", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Zip file to write."
)
def practice_pack(set_file: Path, out: Path) -> None:
    """Pack a set and its images into one zip for another site (serve the zip as it is).

    \b
    Example:
      impostor practice pack hard.json --out hard.zip
    """
    from impostor.practice.sets import load_set, pack

    with _reported():
        images = pack(load_set(set_file), out)
    click.echo(f"wrote {out}: the set and {images} images")


@practice.command("serve")
@click.argument("set_file", metavar="SET", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port.")
@click.option(
    "--mode",
    type=click.Choice(["practice", "test"]),
    default="practice",
    show_default=True,
    help="practice: the answer after each item; test: results only at the end.",
)
@_practice_db_option
def practice_serve(set_file: Path, host: str, port: int, mode: str, db: Path | None) -> None:
    """Serve SET (a set file or a packed zip) to trainees' browsers until Ctrl-C.

    \b
    Example:
      impostor practice serve hard.json --db practice.db --mode test
    """
    from impostor.practice.server import serve
    from impostor.practice.sets import load_set
    from impostor.practice.store import PracticeStore

    with _reported():
        practice_set = load_set(set_file)
        store = PracticeStore(db)

        def announce(url: str) -> None:
            click.echo(
                f"serving {practice_set.name!r} ({len(practice_set.items)} items, {mode} mode) "
                f"on {url} ; results in {store.path}; Ctrl-C to stop"
            )

        serve(practice_set, store, mode, host=host, port=port, ready=announce)  # type: ignore[arg-type]
    click.echo(f"stopped; every answer is in {store.path}")


@practice.command("report")
@_practice_db_option
@click.option("--trainee", help="Only this trainee (default: the whole cohort).")
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="HTML file to write."
)
@click.option(
    "--lang", type=click.Choice(["en", "es"]), default="en", show_default=True, help="Language of the report."
)
def practice_report(db: Path | None, trainee: str | None, out: Path, lang: str) -> None:
    """Write the trainer's report: scores, progress over sessions, the cohort, the algorithm.

    \b
    Example:
      impostor practice report --db practice.db --out cohort.html
      impostor practice report --db practice.db --trainee OFC-0042 --out ofc-0042.html --lang es
    """
    from impostor.practice.report import write_report
    from impostor.practice.store import PracticeStore

    with _reported():
        summary = write_report(PracticeStore(db, create=False), out, trainee=trainee, language=lang)
    click.echo(f"wrote {out}: {summary}")


@main.command()
@click.argument("image", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--side",
    type=click.Choice(["document", "live"]),
    default="live",
    show_default=True,
    help="Which side of a comparison the image is: picks the limits and the advice.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
@click.option(
    "--profile", type=click.Path(dir_okay=False, path_type=Path), help="Profile whose limits to apply (JSON)."
)
@_detector_option
def quality(image: Path, side: str, as_json: bool, profile: Path | None, detector: str) -> None:
    """Report the quality of the largest face in IMAGE: native values, 0-100 scores and advice.

    \b
    Exit 0 when every measure passes, 3 when some fail (take or use another photo),
    11 when there is no face.
    """
    from impostor.errors import NoFaceFound
    from impostor.quality import assess

    with _reported(as_json):
        verifier = impostor.Verifier(profile, detector=detector)  # type: ignore[arg-type]
        limits = verifier.profile.limits
        located = verifier.locate(image, side)
        if not located.boxes or located.landmarks is None:
            raise NoFaceFound(f"{image}: no face found; use a photo showing the face, upright and in focus")
        report = assess(located.image, located.boxes, located.landmarks, side=side, limits=limits)  # type: ignore[arg-type]
    if as_json:
        click.echo(json.dumps({"image": located.image.info.to_dict(), **report.to_dict()}, indent=2))
    else:
        verdict = click.style(
            "PASS" if report.passed else "FAIL", bold=True, fg="green" if report.passed else "yellow"
        )
        click.echo(f"{verdict}  {side} quality of {image}")
        for measure in report.measures:
            value = f"{measure.value:.3g} {measure.unit}"
            state = "-" if measure.limit is None else ("pass" if measure.passed else "FAIL")
            click.echo(f"  {measure.name:<24}{value:<36}{measure.score:>5.0f}  {state:<5}{measure.advice}")
    sys.exit(0 if report.passed else EXIT_CODES[Decision.REFER])


if __name__ == "__main__":
    main()
