"""``impostor practice`` for the trainer's classroom: the roster of trainees and their codes, which
class may sit which set, the trainer's PIN and the release of a set's answer key.

``impostor.cli.practice`` adds these commands to its group; each calls ``impostor.practice``.
"""

from __future__ import annotations

from pathlib import Path

import click

from impostor import settings
from impostor.cli.common import reported

__all__ = [
    "practice_assign",
    "practice_db_option",
    "practice_release",
    "practice_roster",
    "practice_trainer_pin",
]

practice_db_option = click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    help=settings.option_help("practice_db", "Practice results (SQLite)"),
)


@click.group("roster")
def practice_roster() -> None:
    """The trainees who may sign in, by class, each with a code issued by the trainer."""


@practice_roster.command("add")
@click.argument("trainees", metavar="ID...", nargs=-1, required=True)
@click.option("--class", "klass", required=True, help="The class they are in (such as LIM-2026-12).")
@click.option(
    "--new-code", is_flag=True, help="Issue new codes to trainees already on the roster (lost codes)."
)
@practice_db_option
def practice_roster_add(trainees: tuple[str, ...], klass: str, new_code: bool, db: Path | None) -> None:
    """Put trainees on the roster and print the code each signs in with (shown only now).

    \b
    Examples:
      impostor practice roster add OFC-0042 OFC-0043 --class LIM-2026-12 --db practice.db
      impostor practice roster add OFC-0042 --class LIM-2026-12 --new-code --db practice.db
    """
    from impostor.practice.classroom import Classroom
    from impostor.practice.store import PracticeStore

    with reported():
        codes = Classroom(PracticeStore(db)).add(list(trainees), klass, new_codes=new_code)
    width = max(map(len, codes))
    for trainee, code in codes.items():
        click.echo(f"{trainee:<{width}}  {code}")
    click.echo(
        f"{len(codes)} in class {klass}: hand each their code; it is not kept and cannot be shown again"
    )


@practice_roster.command("list")
@practice_db_option
def practice_roster_list(db: Path | None) -> None:
    """List the roster: each trainee's class and when they were added (codes are not kept).

    \b
    Example:
      impostor practice roster list --db practice.db
    """
    from impostor.practice.classroom import Classroom
    from impostor.practice.export import local_time
    from impostor.practice.store import PracticeStore

    with reported():
        roster = Classroom(PracticeStore(db, create=False)).roster()
    if not roster:
        click.echo("the roster is empty: anyone may sign in under any ID")
    for entry in roster:
        click.echo(f"{entry.klass}\t{entry.trainee}\t{local_time(entry.added)}")


@practice_roster.command("remove")
@click.argument("trainees", metavar="ID...", nargs=-1, required=True)
@practice_db_option
def practice_roster_remove(trainees: tuple[str, ...], db: Path | None) -> None:
    """Take trainees off the roster; their sessions and answers stay in the results.

    \b
    Example:
      impostor practice roster remove OFC-0043 --db practice.db
    """
    from impostor.practice.classroom import Classroom
    from impostor.practice.store import PracticeStore

    with reported():
        Classroom(PracticeStore(db, create=False)).remove(list(trainees))
    click.echo(f"removed {len(trainees)} from the roster")


@click.command("assign")
@click.argument("set_file", metavar="SET", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--class", "classes", multiple=True, required=True, help="A class to assign it to (repeat for more)."
)
@practice_db_option
def practice_assign(set_file: Path, classes: tuple[str, ...], db: Path | None) -> None:
    """Assign SET to classes: only their trainees may then sit it.

    \b
    Example:
      impostor practice assign hard.json --class LIM-2026-12 --db practice.db
    """
    from impostor.practice.classroom import Classroom
    from impostor.practice.sets import load_set
    from impostor.practice.store import PracticeStore

    with reported():
        practice_set = load_set(set_file)
        classroom = Classroom(PracticeStore(db, create=False))
        classroom.assign(practice_set.id, practice_set.name, list(classes))
        now = classroom.classes_of(practice_set.id)
    click.echo(f"{practice_set.name!r} is assigned to {', '.join(now)}")


@click.command("trainer-pin")
@click.option(
    "--pin",
    prompt="Trainer PIN",
    hide_input=True,
    confirmation_prompt="PIN again",
    help="Asked for when not given.",
)
@practice_db_option
def practice_trainer_pin(pin: str, db: Path | None) -> None:
    """Set the trainer's PIN, asked for twice: it opens the live view on the practice page.

    \b
    Example:
      impostor practice trainer-pin --db practice.db
    """
    from impostor.practice.classroom import Classroom
    from impostor.practice.store import PracticeStore

    with reported():
        Classroom(PracticeStore(db)).set_pin(pin)
    click.echo("trainer PIN set (kept only as a salted slow hash)")


@click.command("release")
@click.argument("set_file", metavar="SET", type=click.Path(dir_okay=False, path_type=Path))
@practice_db_option
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
