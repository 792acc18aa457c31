"""``impostor practice``: build face-matching practice sets, serve them to trainees, report."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from impostor.cli.common import FiniteRange, command_line, percent, reported, tls_options, warn_plain_http
from impostor.cli.practice_classroom import (
    practice_assign,
    practice_db_option,
    practice_release,
    practice_roster,
    practice_trainer_pin,
)

if TYPE_CHECKING:
    from impostor.practice.classroom import Classroom
    from impostor.practice.sets import PracticeSet

__all__ = ["practice"]


@click.group()
def practice() -> None:
    """Scored face-matching practice for officers: build a set, serve it, report on it."""


# the trainer's classroom: who may sign in, who may sit which set, the PIN, the answer keys
for _command in (practice_roster, practice_assign, practice_trainer_pin, practice_release):
    practice.add_command(_command)


def _build_options(command: Any) -> Any:
    """Practice build's options: how many pairs and how hard, what to learn from, the look of
    the set, and how the images are embedded."""
    options = [
        click.option(
            "--items", type=click.IntRange(2, 1000), default=40, show_default=True, help="Pairs in the set."
        ),
        click.option(
            "--mismatch-rate",
            type=FiniteRange(0, 1),
            default=0.5,
            show_default=True,
            help="Share of different-person pairs.",
        ),
        click.option(
            "--difficulty",
            type=click.Choice(["hard", "mixed", "easy", "trainees"]),
            default="hard",
            show_default=True,
            help="hard: look-alike strangers and unlike photos of one person (for the algorithm); mixed: the "
            "whole range; trainees: the pairs trainees got wrong most in earlier sessions (needs --db).",
        ),
        click.option(
            "--db",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Practice results to learn from, for --difficulty trainees.",
        ),
        click.option(
            "--known-people",
            type=click.Path(dir_okay=False, path_type=Path),
            help="A list of people trainees know (one name a line), added to the shipped one.",
        ),
        click.option(
            "--seed", type=int, default=0, show_default=True, help="Seed for the choice, sides and order."
        ),
        click.option(
            "--document-style", is_flag=True, help="Render each left image as a travel-document portrait."
        ),
        click.option("--name", help="Name trainees see (default: data set · difficulty · items)."),
        click.option("--workers", type=click.IntRange(1, 256), help="Local processes (default: all cores)."),
        click.option("--no-cache", is_flag=True, help="Do not read or write the embedding cache."),
        click.option("--quiet", is_flag=True, help="No progress bar."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@practice.command("build")
@click.argument("dataset", type=click.Path(path_type=Path))
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Set file to write (JSON)."
)
@_build_options
def practice_build(
    dataset: Path,
    out: Path,
    items: int,
    mismatch_rate: float,
    difficulty: str,
    db: Path | None,
    known_people: Path | None,
    seed: int,
    document_style: bool,
    name: str | None,
    workers: int | None,
    no_cache: bool,
    quiet: bool,
) -> None:
    """Choose pairs from DATASET (one sub-folder per person) and write a practice set.

    It warns when the people are likely to be known to trainees (public figures): a face
    recognised is not a face matched. Look at the set with `practice preview` before serving it.

    \b
    Examples:
      impostor practice build PEOPLE --out counter.json --items 60 --difficulty mixed --document-style
      impostor practice build PEOPLE --out missed.json --difficulty trainees --db practice.db
      impostor practice build ../shared/data/faces-dev --out hard.json --known-people our-news.txt
    """
    from impostor.errors import PracticeError
    from impostor.practice.build import build_set
    from impostor.practice.store import PracticeStore
    from impostor.qa.cache import open_cache

    with reported():
        if difficulty == "trainees" and db is None:
            raise PracticeError("--difficulty trainees learns from earlier sessions: give their --db")
        results = PracticeStore(db, create=False) if difficulty == "trainees" else None
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
                results=results,
                known_list=known_people,
            )
        finally:
            if cache is not None:
                cache.close()
    _echo_built(made, out, difficulty, seed)


def _echo_built(made: PracticeSet, out: Path, difficulty: str, seed: int) -> None:
    """What a trainer reads after a build: the items, how they were chosen, people trainees may
    know (as a warning) and the algorithm's view of the pairs."""
    from impostor.practice.build import mean_probability

    genuine = sum(item.same for item in made.items)
    click.echo(
        f"wrote {out}: {len(made.items)} items ({genuine} same person, {len(made.items) - genuine} different)"
    )
    click.echo(f"  set id {made.id}, {difficulty}, seed {seed}")
    selection = made.provenance.get("selection", {})
    if difficulty == "trainees":
        click.echo(
            f"  {selection.get('from_trainees', 0)} pairs chosen from what trainees got wrong "
            f"({selection.get('answered_pairs', 0)} answered pairs of these photos in the results); "
            "the rest are the algorithm's hardest"
        )
    known = made.provenance.get("known_people") or []
    if known:
        people = made.provenance.get("dataset", {}).get("people", 0)
        shown = ", ".join(known[:8]) + (f" and {len(known) - 8} more" if len(known) > 8 else "")
        click.secho(
            f"warning: {len(known)} of {people} people are likely to be known to trainees ({shown}): a "
            "face recognised is not a face matched; use photos of strangers (list: --known-people)",
            err=True,
            fg="yellow",
        )
    click.echo(
        "  algorithm's mean probability of 'same person': "
        f"different-people items {percent(mean_probability(made, same=False))}, "
        f"same-person items {percent(mean_probability(made, same=True))}"
    )


@practice.command("preview")
@click.argument("set_file", metavar="SET", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="HTML file to write."
)
@click.option(
    "--lang", type=click.Choice(["en", "es"]), default="en", show_default=True, help="Language of the page."
)
@click.option(
    "--db", type=click.Path(dir_okay=False, path_type=Path), help="Results: how often each pair was missed."
)
def practice_preview(set_file: Path, out: Path, lang: str, db: Path | None) -> None:
    """Write a page of every pair of SET, numbered, with its answer, for the trainer to check.

    \b
    Example:
      impostor practice preview hard.json --out hard-preview.html --lang es
    """
    from impostor.practice.preview import write_preview
    from impostor.practice.sets import load_set
    from impostor.practice.store import PracticeStore

    with reported():
        practice_set = load_set(set_file)
        results = PracticeStore(db, create=False) if db is not None else None
        write_preview(practice_set, out, language=lang, results=results)
    click.echo(f"wrote {out}: {len(practice_set.items)} pairs (it shows the answers: for the trainer only)")


@practice.command("edit")
@click.argument("set_file", metavar="SET", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--drop", type=int, multiple=True, metavar="N", help="Leave out pair N (as the preview numbers it)."
)
@click.option(
    "--swap", type=int, multiple=True, metavar="N", help="Replace pair N with a fresh one of its kind."
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Set file to write (beside SET).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for the fresh pairs.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def practice_edit(
    set_file: Path, drop: tuple[int, ...], swap: tuple[int, ...], out: Path, seed: int, quiet: bool
) -> None:
    """Write SET with pairs dropped or swapped, after looking at `practice preview`.

    Swapped pairs come from the data set SET was built from, of the same kind (same person or
    not) and difficulty, with no photo SET already shows. The new set has its own id.

    \b
    Example:
      impostor practice edit hard.json --drop 3 --swap 7 --swap 12 --out hard-v2.json
    """
    from impostor.errors import PracticeError
    from impostor.practice.build import replacements
    from impostor.practice.preview import check_numbers, edited
    from impostor.practice.sets import load_set
    from impostor.qa.cache import open_cache

    with reported():
        if not drop and not swap:
            raise PracticeError(
                "nothing to edit: give --drop N or --swap N (numbers as `practice preview` shows)"
            )
        if out.resolve().parent != set_file.resolve().parent or zipfile.is_zipfile(set_file):
            raise PracticeError(
                f"write the edited set beside {set_file} (same folder) so that its images are found; "
                "edit a set file before packing it"
            )
        practice_set = load_set(set_file)
        dropped = check_numbers(practice_set, list(drop), "drop")
        swapped = check_numbers(practice_set, list(swap), "swap")
        fresh = {}
        if swapped:
            cache = open_cache(None)
            try:
                fresh = replacements(practice_set, swapped, out, seed=seed, cache=cache, progress=not quiet)
            finally:
                if cache is not None:
                    cache.close()
        new = edited(practice_set, drop=dropped, swapped=fresh, command=command_line())
        new.save(out)
    click.echo(
        f"wrote {out}: {len(new.items)} pairs ({len(dropped)} dropped, {len(fresh)} swapped), set id {new.id}"
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
@practice_db_option
@tls_options("codes and the trainer's PIN")
def practice_serve(
    set_file: Path,
    host: str,
    port: int,
    mode: str,
    db: Path | None,
    certfile: Path | None,
    keyfile: Path | None,
    insecure_http: bool,
) -> None:
    """Serve SET (a set file or a packed zip) to trainees' browsers until Ctrl-C.

    Once there is a roster (`practice roster add`) trainees sign in with their ID and the code
    issued to them; the trainer's live view is behind the PIN of `practice trainer-pin`. It
    listens on 127.0.0.1 unless --host says otherwise; any other address needs --certfile and
    --keyfile (or --insecure-http).

    \b
    Examples:
      impostor practice serve hard.json --db practice.db --mode test
      impostor practice serve hard.json --db practice.db --host 0.0.0.0 --certfile lab.pem --keyfile lab.key
    """
    from impostor.practice.classroom import Classroom
    from impostor.practice.server import serve
    from impostor.practice.sets import load_set
    from impostor.practice.store import PracticeStore

    with reported():
        practice_set = load_set(set_file)
        store = PracticeStore(db)
        classroom = Classroom(store)
        warn_plain_http(
            host,
            certfile,
            insecure_http,
            "trainees' codes and the trainer's PIN cross the network unencrypted",
        )
        notes = _classroom_notes(classroom, practice_set.id)

        def announce(url: str) -> None:
            click.echo(
                f"serving {practice_set.name!r} ({len(practice_set.items)} items, {mode} mode) "
                f"on {url} ; results in {store.path}; Ctrl-C to stop"
            )
            for note in notes:
                click.echo(f"  {note}")

        serve(
            practice_set,
            store,
            mode,  # type: ignore[arg-type]
            host=host,
            port=port,
            certfile=certfile,
            keyfile=keyfile,
            insecure_http=insecure_http,
            ready=announce,
        )
    click.echo(f"stopped; every answer is in {store.path}")


def _classroom_notes(classroom: Classroom, set_id: str) -> list[str]:
    """Who may sit the set served and whether the trainer's live view can open, in words."""
    notes = []
    if not classroom.has_roster():
        notes.append("no roster: anyone may sign in under any ID (add trainees with `practice roster add`)")
    else:
        classes = classroom.classes_of(set_id)
        notes.append(f"assigned to {', '.join(classes)}" if classes else "open to everyone on the roster")
    if not classroom.has_pin():
        notes.append("no trainer PIN: the live view stays closed until `practice trainer-pin`")
    return notes


@practice.command("report")
@practice_db_option
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
@practice_db_option
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
