"""``impostor benchmark`` and ``impostor calibrate``: error rates and profiles from a team's photos."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from impostor import settings
from impostor.cli.common import (
    FiniteRange,
    command_line,
    detector_option,
    device_option,
    jitters_option,
    reported,
)

if TYPE_CHECKING:
    from impostor.pipeline.profile import Profile

__all__ = ["benchmark", "calibrate"]


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
        detector_option,
        jitters_option,
        device_option,
        click.option(
            "--cache",
            type=click.Path(dir_okay=False, path_type=Path),
            help=settings.option_help("cache_dir", "Embedding cache file; a file in the folder"),
        ),
        click.option(
            "--flip/--no-flip",
            default=None,
            help="Average each embedding with its mirror image's (benchmark: as the profile was "
            "fitted; calibrate: no flip unless asked).",
        ),
        click.option(
            "--grey-match/--no-grey-match",
            default=None,
            help="Compare a colour face with a grey one in grey (benchmark: as the profile was "
            "fitted; calibrate: off unless asked). Embeds every image twice.",
        ),
        click.option("--no-cache", is_flag=True, help="Do not read or write the embedding cache."),
        click.option("--quiet", is_flag=True, help="No progress bar."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _fit_options(command: Any) -> Any:
    """Calibrate's options for what is fitted and on what it is measured: the two thresholds'
    target rates, the calibration model and the held-out pairs."""
    options = [
        click.option(
            "--target-fmr",
            type=FiniteRange(0, 1, min_open=True, max_open=True),
            default=1e-3,
            show_default=True,
            help="FMR of the accept threshold.",
        ),
        click.option(
            "--reject-fnmr",
            type=FiniteRange(0, 1, min_open=True, max_open=True),
            default=1e-2,
            show_default=True,
            help="FNMR of the reject threshold.",
        ),
        click.option(
            "--method",
            type=click.Choice(["logistic", "isotonic"]),
            default="logistic",
            show_default=True,
            help="Calibration model.",
        ),
        click.option(
            "--heldout-pairs",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Pairs to measure the profile on (default: a share of the people).",
        ),
        click.option(
            "--heldout-share",
            type=FiniteRange(0, 1, min_open=True, max_open=True),
            default=0.3,
            show_default=True,
            help="Share of people held out without --heldout-pairs.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _config(options: dict[str, Any], profile: Path | None = None, *, follow_profile: bool = False) -> Any:
    """The evaluation settings; ``flip`` unset follows the profile being benchmarked (its
    thresholds hold only for the embeddings it was fitted on), and is off for a new fit."""
    from impostor.pipeline.profile import load_profile
    from impostor.qa import EvaluationConfig

    for name in ("flip", "grey_match"):
        if options[name] is None:
            options[name] = bool(load_profile(profile).pipeline.get(name)) if follow_profile else False

    return EvaluationConfig(
        detector=options["detector"],
        pick=options["face"],
        jitters=options["jitters"],
        flip=options["flip"],
        grey_match=options["grey_match"],
        workers=options["workers"],
        scheduler=options["scheduler"],
        cache="" if options["no_cache"] else options["cache"],
        impostors=options["impostors"],
        seed=options["seed"],
        progress=not options["quiet"],
    )


@click.command()
@click.argument("dataset", required=False, type=click.Path(path_type=Path))
@click.option(
    "--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Folder for the report."
)
@click.option(
    "--profile",
    type=click.Path(dir_okay=False, path_type=Path),
    help=settings.option_help("profile", "Profile whose thresholds are measured"),
)
@click.option("--title", help="Title of the report (default: the data set's folder name).")
@_evaluation_options
def benchmark(
    dataset: Path | None, out: Path, profile: Path | None, title: str | None, **options: Any
) -> None:
    """Measure error rates on DATASET (one sub-folder per person) and write a report.

    Without DATASET, the --pairs CSV is its own data set: image paths relative to it (docs/...,
    live/...), people from its a_id and b_id columns or else from folder names.

    \b
    Examples:
      impostor benchmark ../shared/data/faces-dev --out out/dev
      impostor benchmark ../shared/data/lfw/lfw --pairs ../shared/data/lfw/lfw_pairs.txt \\
          --face central --out out/lfw
      impostor benchmark --pairs site/pairs.csv --out out/site
    """
    from impostor.qa import run_benchmark

    with reported():
        report, paths = run_benchmark(
            dataset,
            out,
            pairs_file=options["pairs"],
            profile=profile,
            config=_config(options, profile, follow_profile=True),
            title=title,
            command=command_line(),
        )
        click.echo(report.summary())
        click.echo(f"report: {paths['report.html']}")


@click.command()
@click.argument("dataset", required=False, type=click.Path(path_type=Path))
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Profile to write (JSON)."
)
@click.option("--name", help="Profile name (default: the file's stem).")
@_fit_options
@click.option(
    "--allow-weak",
    is_flag=True,
    help="Write a profile fitted on too few pairs, marked weak (compare then says so), instead of exit 16.",
)
@click.option(
    "--comparison",
    type=click.Choice(["photo", "document"]),
    default="photo",
    show_default=True,
    help="What the pairs compare: two photos, or a document portrait with a live photo (recorded "
    "in the profile and named in each verdict).",
)
@_evaluation_options
def calibrate(
    dataset: Path | None,
    out: Path,
    name: str | None,
    target_fmr: float,
    reject_fnmr: float,
    method: str,
    heldout_pairs: Path | None,
    heldout_share: float,
    allow_weak: bool,
    comparison: str,
    **options: Any,
) -> None:
    """Fit a calibration profile on DATASET (or a --pairs CSV of its own images) and write it as JSON.

    \b
    Example:
      impostor calibrate ../shared/data/lfw/lfw --pairs ../shared/data/lfw/lfw_pairsDevTrain.txt \\
          --heldout-pairs ../shared/data/lfw/lfw_pairsDevTest.txt --face central --out models/lfw.json
    """
    from impostor.qa import run_calibration

    with reported():
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
            config=dataclasses.replace(_config(options), comparison=comparison),
            command=command_line(),
            allow_weak=allow_weak,
        )
    click.echo(_summary(profile, out))


def _summary(profile: Profile, out: Path) -> str:
    """What a QA lead reads after a fit: the thresholds, what they rest on, how they did held out."""
    provenance = profile.provenance
    pairs = provenance.get("threshold_pairs", {})
    targets = profile.operating_points
    lines = [
        f"wrote {out}: profile {profile.name} {profile.version}"
        + (click.style("  WEAK", fg="yellow", bold=True) if profile.weak else ""),
        f"  fitted on {provenance.get('calibration_data', '?')}",
        f"  MATCH at distance <= {profile.accept_distance:.4f}: FMR {_rate(targets.get('accept_target_fmr'))}"
        f" chosen on {pairs.get('impostor', 0):,} impostor pairs",
        f"  NO_MATCH above {profile.reject_distance:.4f}: FNMR {_rate(targets.get('reject_target_fnmr'))}"
        f" chosen on {pairs.get('genuine', 0):,} genuine pairs; REFER between",
    ]
    lines += [f"  weak: {why}" for why in profile.weak]
    held = provenance.get("heldout", {})
    lines.append(
        f"held out ({provenance.get('heldout_data')}): {held.get('genuine_pairs', 0):,} genuine and "
        f"{held.get('impostor_pairs', 0):,} impostor pairs, "
        f"{held.get('pairs_lost_to_no_face', 0):,} lost to no face"
    )
    for key, label in (("at_accept", "at the accept threshold"), ("at_reject", "at the reject threshold")):
        if key in held:
            lines.append(f"  {label}: FMR {_rate(held[key]['fmr'])}, FNMR {_rate(held[key]['fnmr'])}")
    if "accuracy_at_p_0.5" in held:
        lines.append(
            f"  accuracy at probability 0.5: {_rate(held['accuracy_at_p_0.5'])};"
            f" Cllr {held['cllr']:.3f} (minCllr {held['min_cllr']:.3f}; 0 is perfect, 1 uninformative)"
        )
    if "note" in held:
        lines.append(f"  {held['note']}")
    return "\n".join(lines)


def _rate(value: object) -> str:
    """A rate as a percentage with no trailing zeros: 0.1%, 9.2%, 0.002%."""
    if not isinstance(value, (int, float)):
        return "?"
    return f"{value * 100:.3f}".rstrip("0").rstrip(".") + "%"
