"""The impostor command line: parse, call the library, format, set the exit code.

Exit codes (also in the README):

    0   MATCH                         6   image too large
    1   NO_MATCH                      7   image unusable (too small, odd pixel type)
    2   usage error (bad options)     8   camera or video clip gave no usable frame
    3   REFER                         9   calibration profile missing or invalid
    4   image file not found          10  output file cannot be written
    5   not an image, or corrupt      70  internal error (a bug: please report it)
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import NoReturn

import click

import impostor
from impostor.errors import ImpostorError
from impostor.types import Decision, Side, Verdict

EXIT_CODES = {Decision.MATCH: 0, Decision.NO_MATCH: 1, Decision.REFER: 3}
INTERNAL_ERROR = 70


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
@click.option(
    "--detector", type=click.Choice(["hog", "cnn"]), default="hog", show_default=True, help="Face detector."
)
@click.option(
    "--jitters", type=click.IntRange(0, 100), default=0, show_default=True, help="Embedding jitters."
)
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
) -> None:
    """Compare a DOCUMENT portrait with a LIVE image, a --camera or a --video clip.

    \b
    Examples:
      impostor compare samples/document.png samples/live_genuine.jpg
      impostor compare samples/document.png --video clip.mp4 --json
    """
    sources = [s for s in (live, camera, video) if s is not None]
    if len(sources) != 1:
        raise click.UsageError("give exactly one of LIVE, --camera INDEX or --video FILE")
    try:
        with impostor.Verifier(profile, detector=detector, jitters=jitters) as verifier:  # type: ignore[arg-type]
            if live is not None:
                verdict = verifier.verify(document, live)
            else:
                stream = camera if camera is not None else video
                assert stream is not None
                verdict = verifier.verify_stream(document, stream, seconds=seconds)
        if composite is not None:
            from impostor.composite import write

            write(verdict, composite)
    except ImpostorError as error:
        _fail(error, as_json)
    except Exception as error:  # a bug: one line, never a traceback (IMPOSTOR_DEBUG=1 shows it)
        if os.environ.get("IMPOSTOR_DEBUG"):
            raise
        _fail(error, as_json, INTERNAL_ERROR)
    if as_json:
        click.echo(json.dumps(verdict.to_dict(), indent=2))
    else:
        click.echo(_describe(verdict, composite))
    sys.exit(EXIT_CODES[verdict.decision])


def _fail(error: Exception, as_json: bool, code: int | None = None) -> NoReturn:
    name = type(error).__name__ if isinstance(error, ImpostorError) else "InternalError"
    message = str(error) if isinstance(error, ImpostorError) else f"{type(error).__name__}: {error}"
    exit_code = code if code is not None else getattr(error, "exit_code", INTERNAL_ERROR)
    if as_json:
        click.echo(json.dumps({"error": {"type": name, "message": message, "exit_code": exit_code}}))
    click.echo(f"{name}: {message}", err=True)
    sys.exit(exit_code)


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


if __name__ == "__main__":
    main()
