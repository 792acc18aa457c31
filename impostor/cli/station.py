"""``impostor station``: the counter station's accounts (operators and integrating systems)."""

from __future__ import annotations

from pathlib import Path

import click

from impostor import settings
from impostor.cli.common import reported

__all__ = ["station"]

_db_option = click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    help=settings.option_help("station_db", "Station database"),
)
_replace_option = click.option("--replace", is_flag=True, help="Replace an existing entry.")


@click.group()
def station() -> None:
    """The counter station's accounts: operators who sign in, systems that call the API.

    Only salted slow hashes (scrypt) of PINs and keys are stored.
    """


@station.command("add-operator")
@click.argument("operator")
@click.option(
    "--pin", prompt="PIN", hide_input=True, confirmation_prompt="PIN again", help="Asked for when not given."
)
@_replace_option
@_db_option
def add_operator(operator: str, pin: str, replace: bool, db: Path | None) -> None:
    """Let OPERATOR (an officer's ID, such as OFC-0042) sign in with a PIN, asked for twice.

    \b
    Example:
      impostor station add-operator OFC-0042
    """
    from impostor.station.accounts import Accounts

    with reported():
        accounts = Accounts(db)
        accounts.add_operator(operator, pin, replace=replace)
    click.echo(
        f"operator {operator} can sign in at the station ({accounts.path}); only a hash of the PIN is kept"
    )


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
