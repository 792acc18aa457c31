"""``impostor station``: serve the counter station (the officers' page and the HTTP API), and
manage who may use it (operators and integrating systems)."""

from __future__ import annotations

import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from impostor import settings
from impostor.cli.common import audit_text, device_option, reported, tls_options, warn_plain_http

if TYPE_CHECKING:
    from impostor.station.service import StationConfig

__all__ = ["station"]

_db_option = click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    help=settings.option_help("station_db", "Station database"),
)
_replace_option = click.option("--replace", is_flag=True, help="Replace an existing entry.")


def _files_options(command: Any) -> Any:
    """The station's options for the files it reads and keeps: the profile, the audit log, the
    station database, the scanner's folder and how long images are kept."""
    options = [
        click.option(
            "--profile",
            type=click.Path(dir_okay=False, path_type=Path),
            help=settings.option_help("profile", "Calibration profile (JSON)"),
        ),
        click.option(
            "--audit-db",
            type=click.Path(dir_okay=False, path_type=Path),
            help=settings.option_help("audit_db", "Audit log"),
        ),
        _db_option,
        click.option(
            "--scanner-dir",
            type=click.Path(file_okay=False, exists=True, path_type=Path),
            help="Folder the passport scanner drops its images into (key D on the page takes the newest).",
        ),
        click.option(
            "--chip-reader",
            metavar="N|NAME",
            help=settings.option_help(
                "chip_reader",
                "The passport chip reader: its number (impostor chip readers) or part of its name; "
                "key C on the page reads the chip of the document on it, and it is read by itself "
                "after each page",
            ),
        ),
        click.option(
            "--keep-images",
            type=click.IntRange(1, 3650),
            metavar="DAYS",
            help="Keep both images of each comparison, encrypted, for DAYS days (default: keep none).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@click.group(invoke_without_command=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True, help="Port.")
@_files_options
@tls_options("PINs and faces")
@click.option(
    "--name", callback=audit_text, help="The station's name in the audit log (default: this computer's name)."
)
@click.option(
    "--idle-minutes",
    type=click.IntRange(1, 1440),
    default=15,
    show_default=True,
    help="A signed-in page is cleared after this long without the officer acting.",
)
@click.option(
    "--judgement-first", is_flag=True, help="Officers record their own judgement before the tool's is shown."
)
@click.option(
    "--max-upload-mb",
    type=click.IntRange(1, 200),
    default=20,
    show_default=True,
    help="Largest image accepted.",
)
@device_option
@click.pass_context
def station(
    context: click.Context,
    host: str,
    port: int,
    profile: Path | None,
    audit_db: Path | None,
    db: Path | None,
    scanner_dir: Path | None,
    chip_reader: str | None,
    keep_images: int | None,
    certfile: Path | None,
    keyfile: Path | None,
    insecure_http: bool,
    name: str | None,
    idle_minutes: int,
    judgement_first: bool,
    max_upload_mb: int,
) -> None:
    """Serve the counter station until Ctrl-C: the officers' page at / and the HTTP API at /api/v1.

    It listens on 127.0.0.1 unless --host says otherwise; any other address needs --certfile and
    --keyfile (or --insecure-http). Operators and API keys are added with the commands below;
    only salted slow hashes (scrypt) of PINs and keys are stored.

    \b
    Examples:
      impostor station --scanner-dir /srv/scanner --name LIM-T1-07
      impostor station --scanner-dir /srv/scanner --chip-reader 0
      impostor station --host 0.0.0.0 --certfile station.pem --keyfile station.key
    """
    if context.invoked_subcommand is not None:
        return
    from impostor.station.serve import LOOPBACK_NAMES, is_loopback, local_time_zone
    from impostor.station.service import StationConfig

    with reported():
        config = StationConfig(
            accounts=db,
            audit_db=audit_db,
            profile=profile,
            station=name or socket.gethostname(),
            max_upload_bytes=max_upload_mb * 2**20,
            idle_minutes=idle_minutes,
            scanner_dir=scanner_dir,
            chip_reader=chip_reader or str(settings.get("chip_reader")) or None,
            keep_images_days=keep_images,
            judgement_first=judgement_first,
            secure_cookies=certfile is not None,
            time_zone=local_time_zone(),
            hosts=LOOPBACK_NAMES if is_loopback(host) else None,
        )
        _serve(config, host, port, certfile, keyfile, insecure_http)
    click.echo("stopped")


def _serve(
    config: StationConfig,
    host: str,
    port: int,
    certfile: Path | None,
    keyfile: Path | None,
    insecure_http: bool,
) -> None:
    """Serve ``config`` until Ctrl-C, after warning of plain HTTP beyond this computer."""
    from impostor.station.serve import serve

    warn_plain_http(
        host,
        certfile,
        insecure_http,
        "operators' PINs, session cookies and travellers' faces cross the network unencrypted, and "
        "browsers on other machines will refuse the webcam",
    )

    def announce(url: str) -> None:
        days = config.keep_images_days
        kept = f"; images kept {days} days, encrypted" if days else ""
        click.echo(f"station {config.station} on {url} (API at {url}api/docs){kept}; Ctrl-C to stop")

    serve(
        config,
        host=host,
        port=port,
        certfile=certfile,
        keyfile=keyfile,
        insecure_http=insecure_http,
        ready=announce,
    )


@station.command("add-operator")
@click.argument("operator")
@click.option(
    "--pin",
    help="The PIN. Without it the PIN is asked for twice at a terminal, or read from the first line "
    "of a pipe; on the command line it shows in the process list and the shell's history.",
)
@_replace_option
@_db_option
def add_operator(operator: str, pin: str | None, replace: bool, db: Path | None) -> None:
    """Let OPERATOR (an officer's ID, such as OFC-0042) sign in with a PIN, asked for twice.

    \b
    Examples:
      impostor station add-operator OFC-0042
      printf '%s\n' "$PIN" | impostor station add-operator OFC-0042
    """
    from impostor.station.accounts import Accounts

    if pin is None:
        pin = _pin_from_stdin()
    with reported():
        accounts = Accounts(db)
        accounts.add_operator(operator, pin, replace=replace)
    click.echo(
        f"operator {operator} can sign in at the station ({accounts.path}); only a hash of the PIN is kept"
    )


_MAX_PIN_LINE = 256  # characters of a piped PIN's line: no PIN is near it


def _pin_from_stdin() -> str:
    """The PIN typed twice at a terminal (not echoed), or the first line of a pipe: getpass on a
    pipe cannot hide anything and warns that it cannot (GetPassWarning)."""
    stdin = sys.stdin
    if stdin.isatty():
        return str(click.prompt("PIN", hide_input=True, confirmation_prompt="PIN again"))
    line = stdin.readline(_MAX_PIN_LINE)  # bounded: `< /dev/zero` must not fill memory
    if len(line) >= _MAX_PIN_LINE and not line.endswith("\n"):
        raise click.UsageError(
            f"the PIN on standard input is over {_MAX_PIN_LINE} characters: pipe one short line"
        )
    if not line.strip():
        raise click.UsageError("no PIN on standard input: pipe it as one line, or run at a terminal")
    return line.rstrip("\r\n")


@station.command("add-key")
@click.argument("name")
@_replace_option
@_db_option
def add_key(name: str, replace: bool, db: Path | None) -> None:
    """Issue an API key for the system NAME (an e-gate, a document reader); it is shown once.

    \b
    Example:
      impostor station add-key gate-3
    """
    from impostor.station.accounts import Accounts

    with reported():
        key = Accounts(db).add_key(name, replace=replace)
    click.echo(key)
    click.echo(f"the API key of {name}, shown this once: send it in the X-API-Key header", err=True)
