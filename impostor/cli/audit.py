"""``impostor audit``: check, export and count the hash-chained trail of decisions."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from impostor import settings
from impostor.cli.common import echo_json, reported

__all__ = ["audit"]

_WHEN = click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"])
_db_option = click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    help=settings.option_help("audit_db", "Audit database"),
)


@click.group()
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

    with reported():
        with AuditLog(db, create=False) as log:
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

    with reported():
        with AuditLog(db, create=False) as log:
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

    with reported(as_json):
        with AuditLog(db, create=False) as log:
            stats = log.stats(since, until)
    if as_json:
        echo_json(stats.to_dict())
        return
    period = f"{stats.since or 'start'} to {stats.until or 'now'}"
    click.echo(f"{stats.total} decisions, {period}")
    for decision, count in stats.by_decision.items():
        click.echo(f"  {decision:<10}{count}")
    if stats.by_reason:
        click.echo("reasons:")
        for code, count in stats.by_reason.items():
            click.echo(f"  {code:<28}{count}")
