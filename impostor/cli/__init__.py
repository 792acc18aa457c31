"""The ``impostor`` command line: each command parses, calls one library function, formats, exits.

Commands live in modules by group::

    compare    compare (one traveller) and quality (one photo)
    document   document (a data page, a chip: the MRZ, the portrait, passive authentication)
    chip       chip readers and chip read (a passport's chip through a PC/SC reader)
    audit      audit verify, export and stats
    qa         benchmark and calibrate
    practice   practice build, pack, serve and report
    station    station add-operator and add-key (the counter station's accounts)
    common     exit codes, one-line errors, shared options

Exit codes (the README has the same table)::

    0   MATCH                         6   image too large
    1   NO_MATCH                      7   image unusable (too small, odd pixel type)
    2   usage error (bad options)     8   camera or video clip gave no usable frame
    3   REFER                         9   calibration profile missing or invalid
    4   image file not found          10  output file cannot be written
    5   not an image, or corrupt      11  no face (quality)
                                      12  data set or pair list unusable
                                      13  Dask scheduler unreachable or unusable
                                      14  audit log damaged or unreadable
                                      15  practice set or results unusable
                                      16  calibrate would write a weak profile
                                      17  station accounts unusable
                                      18  model file unusable
                                      19  document unreadable (MRZ, chip file)
                                      20  chip answered out of protocol
                                      21  no PC/SC service or reader
                                      22  no card, or the card taken away
                                      23  card or reader did not answer in time
                                      24  chip refused access (MRZ or CAN)
                                      70  internal error (a bug: please report it)

Nothing in the library imports this package.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from impostor._version import __version__
from impostor.cli.audit import audit
from impostor.cli.chip import chip
from impostor.cli.common import usage_error
from impostor.cli.compare import compare, quality
from impostor.cli.document import document
from impostor.cli.models import models
from impostor.cli.practice import practice
from impostor.cli.qa import benchmark, calibrate
from impostor.cli.station import station

__all__ = ["main"]


class _Commands(click.Group):
    """click's group, but a usage error is one line (and JSON under --json), like every error."""

    def main(self, args: Any = None, prog_name: str | None = None, **extra: Any) -> Any:  # type: ignore[override]
        words = list(sys.argv[1:] if args is None else args)
        extra.pop("standalone_mode", None)
        try:
            code = super().main(words, prog_name, standalone_mode=False, **extra)
        except click.ClickException as error:
            usage_error(error, as_json="--json" in words)
        except click.exceptions.Abort:
            click.echo("Interrupted", err=True)
            sys.exit(130)
        sys.exit(code if isinstance(code, int) else 0)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="impostor")
def main() -> None:
    """Facial comparison for border inspection: is the traveller the document's holder?"""


for _command in (compare, quality, document, chip, benchmark, calibrate, audit, practice, station, models):
    main.add_command(_command)
