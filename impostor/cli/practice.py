"""``impostor practice``: build face-matching practice sets, serve them to trainees, report."""

from __future__ import annotations

from pathlib import Path

import click

from impostor import settings
from impostor.cli.common import command_line, percent, reported

__all__ = ["practice"]

_practice_db_option = click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    help=settings.option_help("practice_db", "Practice results (SQLite)"),
)


@click.group()
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
    from impostor.practice.build import build_set, mean_probability
    from impostor.qa.cache import open_cache

    with reported():
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
                command=command_line(),
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
        f"different-people items {percent(mean_probability(made, same=False))}, "
        f"same-person items {percent(mean_probability(made, same=True))}"
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

    with reported():
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

    with reported():
        practice_set = load_set(set_file)
        store = PracticeStore(db)

        def announce(url: str) -> None:
            click.echo(
                f"serving {practice_set.name!r} ({len(practice_set.items)} items, {mode} mode) "
                f"on {url} ; results in {store.path}; Ctrl-C to stop"
            )

        serve(practice_set, store, mode, host=host, port=port, ready=announce)  # type: ignore[arg-type]
    click.echo(f"stopped; every answer is in {store.path}")


@practice.command("release")
@click.argument("set_file", metavar="SET", type=click.Path(dir_okay=False, path_type=Path))
@_practice_db_option
def practice_release(set_file: Path, db: Path | None) -> None:
    """Release SET's answer key: trainees who finish a test on it see each pair's truth.

    Until then a test shows a trainee the score only, so that the pairs stay a test for the
    trainees who sit it later.

    \b
    Example:
      impostor practice release hard.json --db practice.db
    """
    from impostor.practice.sets import load_set
    from impostor.practice.store import PracticeStore

    with reported():
        practice_set = load_set(set_file)
        fresh = PracticeStore(db, create=False).release(practice_set.id)
    state = "released" if fresh else "was already released"
    click.echo(f"the answer key of {practice_set.name!r} {state}: finished tests now show each pair's truth")


@practice.command("report")
@_practice_db_option
@click.option("--trainee", help="Only this trainee (default: the whole cohort).")
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="HTML file to write."
)
@click.option(
    "--lang", type=click.Choice(["en", "es"]), default="en", show_default=True, help="Language of the report."
)
@click.option(
    "--set",
    "set_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The set served: the item analysis then covers it alone and shows each pair's pictures.",
)
def practice_report(
    db: Path | None, trainee: str | None, out: Path, lang: str, set_file: Path | None
) -> None:
    """Write the trainer's report: scores, progress over sessions, the cohort, the algorithm.

    \b
    Example:
      impostor practice report --db practice.db --out cohort.html
      impostor practice report --db practice.db --trainee OFC-0042 --out ofc-0042.html --lang es
      impostor practice report --db practice.db --set hard.json --out items.html
    """
    from impostor.practice.report import write_report
    from impostor.practice.sets import load_set
    from impostor.practice.store import PracticeStore

    with reported():
        practice_set = load_set(set_file) if set_file is not None else None
        store = PracticeStore(db, create=False)
        summary = write_report(store, out, trainee=trainee, language=lang, practice_set=practice_set)
    click.echo(f"wrote {out}: {summary}")


@practice.command("export")
@_practice_db_option
@click.option("--trainee", help="Only this trainee (default: everyone).")
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="CSV file to write."
)
def practice_export(db: Path | None, trainee: str | None, out: Path) -> None:
    """Write every session and answer as CSV, for the training office's own records.

    One row an answer, times in this machine's local time zone, answers under a second marked.

    \b
    Example:
      impostor practice export --db practice.db --out answers.csv
    """
    from impostor.errors import OutputError
    from impostor.practice.export import export_file
    from impostor.practice.store import PracticeStore

    with reported():
        store = PracticeStore(db, create=False)
        try:
            rows = export_file(store, out, trainee=trainee)
        except OSError as error:
            raise OutputError(f"{out}: cannot be written ({error.strerror or error})") from None
    click.echo(f"wrote {out}: {rows} rows")
