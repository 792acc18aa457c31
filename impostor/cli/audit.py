"""``impostor audit``: check, export and count the hash-chained trail of decisions."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from impostor import settings
from impostor.cli.common import echo_json, reported
from impostor.errors import AuditError, OutputError
from impostor.records.audit import AuditLog
from impostor.records.review import local_time

__all__ = ["audit"]


class _When(click.DateTime):
    """A local day or moment that can be turned into UTC (year 1 in Lima is year 0 in UTC)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        moment = super().convert(value, param, ctx)
        try:
            moment.astimezone(UTC)
        except (OverflowError, ValueError):
            self.fail(f"{value}: a date between the years 2 and 9998, please", param, ctx)
        return moment


_WHEN = _When(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"])
_db_option = click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    help=settings.option_help("audit_db", "Audit database"),
)


@click.group()
def audit() -> None:
    """The hash-chained audit trail of decisions: verify it, export it, count it.

    Times are shown and given in this machine's local time (the log stores UTC); --since is
    inclusive and --until exclusive.
    """


@audit.command("verify")
@_db_option
def audit_verify(db: Path | None) -> None:
    """Check that no record was edited, deleted or reordered (exit 14 naming the first bad one)."""
    with reported():
        with AuditLog(db, create=False) as log:
            report = log.verify()
        if not report.ok:
            raise AuditError(f"{log.path}: {report.problem}")
        click.echo(report.summary())


@audit.command("export")
@click.option("--since", type=_WHEN, help="First day or moment (local time) to include.")
@click.option("--until", type=_WHEN, help="Day or moment (local time) to stop before.")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="File to write (default: stdout)."
)
@_db_option
def audit_export(since: Any, until: Any, fmt: str, out: Path | None, db: Path | None) -> None:
    """Write the decisions of a period for a review: tidy CSV, or every stored field as JSON.

    Times are shown in this machine's local time zone.
    """
    from impostor.records.review import export

    with reported():
        with AuditLog(db, create=False) as log:
            if out is None:
                count = export(log, sys.stdout, fmt, since=since, until=until)
            else:
                try:
                    with open(out, "w", encoding="utf-8", newline="") as stream:
                        count = export(log, stream, fmt, since=since, until=until)
                except OSError as error:
                    raise OutputError(f"{out}: cannot be written ({error.strerror or error})") from None
                except AuditError:
                    out.unlink(missing_ok=True)  # half an export must not pass for the whole period
                    raise
        if out is not None:
            click.echo(f"wrote {count} records to {out}")


@audit.command("stats")
@click.option("--since", type=_WHEN, help="First day or moment (local time) to count.")
@click.option("--until", type=_WHEN, help="Day or moment (local time) to stop before.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
@_db_option
def audit_stats(since: Any, until: Any, as_json: bool, db: Path | None) -> None:
    """Count decisions by station, operator and day, with their REFER and NO_MATCH rates."""
    from impostor.records.review import review

    with reported(as_json):
        with AuditLog(db, create=False) as log:
            found = review(log, since, until)
    if as_json:
        echo_json(found.to_dict())
        return
    period = f"{found.since or 'the start'} to {found.until or 'now'}"
    click.echo(f"{found.total} decisions, {period}, times in {found.zone}")
    for decision, count in found.by_decision.items():
        click.echo(f"  {decision:<10}{count}")
    for name, groups in found.groups.items():
        click.echo(
            f"by {name}:{'':<{max(0, 22 - len(name))}}total   MATCH  NO_MATCH  REFER  REFER%  NO_MATCH%"
        )
        for group in groups:
            click.echo(
                f"  {group.key[:24]:<26}{group.total:>5} {group.match:>7} {group.no_match:>9}"
                f" {group.refer:>6} {group.refer_rate:>7.1%} {group.no_match_rate:>10.1%}"
            )
    if found.by_reason:
        click.echo("reasons:")
        for code, count in found.by_reason.items():
            click.echo(f"  {code:<28}{count}")


@audit.command("purge")
@click.option(
    "--older-than",
    "days",
    type=click.IntRange(1, 100 * 366),
    required=True,
    metavar="DAYS",
    help="Purge records made more than this many days ago.",
)
@_db_option
def audit_purge(days: int, db: Path | None) -> None:
    """Remove the personal fields of old records (retention: Ley 29733, EES-style rules).

    The operator and the images' digests go (and the operator and note of what followed each
    decision); a digest of what was removed stays, so `impostor audit verify` still proves the
    chain whole. Images a station kept (--keep-images) are removed once past their own days.

    \b
    Example:
      impostor audit purge --older-than 90
    """
    from impostor.station.keep import Keeper, kept_folder

    with reported():
        with AuditLog(db, create=False) as log:
            before = datetime.now(UTC) - timedelta(days=days)
            count = log.purge(before)
            # the images a station kept go with their records, and in any case after their days
            keeper = Keeper(kept_folder(log.path), days=1)
            kept = keeper.purge_records(log.last_seq_before(before)) + keeper.purge()
            report = log.verify()
        if not report.ok:
            raise AuditError(f"{log.path}: {report.problem}")
        click.echo(
            f"purged {count} records made before {local_time(before.isoformat()):%Y-%m-%d %H:%M %Z}"
            + (f" and {kept} kept image pairs" if kept else "")
            + f"; {report.summary()}"
        )


@audit.command("kept")
@click.argument("record", type=click.IntRange(1))
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write the two images into.",
)
@_db_option
def audit_kept(record: int, out: Path, db: Path | None) -> None:
    """Decrypt the images a station kept of audit RECORD (for a supervisor's review).

    \b
    Example:
      impostor audit kept 1042 --out review/
    """
    from impostor.station.keep import Keeper, kept_folder

    with reported():
        with AuditLog(db, create=False) as log:
            found = log.record(record)
        if found is None:
            raise AuditError(f"{log.path} has no record {record}")
        kept = Keeper(kept_folder(log.path), days=1).read(record, found.hash)
        written = kept.write(out)
    click.echo(
        f"wrote {' and '.join(map(str, written))} (kept until {kept.last_day:%Y-%m-%d}); "
        "handle them as personal data"
    )
