"""``impostor chip``: the smart-card readers, and reading a passport's chip into a folder."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from impostor.cli.common import FiniteRange, echo_json, reported

__all__ = ["chip"]

# exit codes of a reading: 0 the chip is proven genuine, 3 something to examine
GENUINE, EXAMINE = 0, 3


@click.group()
def chip() -> None:
    """Read a passport's chip through a smart-card reader (PC/SC)."""


@chip.command("readers")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
def readers(as_json: bool) -> None:
    """List the readers, and whether a card lies on each."""
    from impostor.card.pcsc import list_readers

    with reported(as_json):
        found = list_readers()
    if as_json:
        echo_json({"readers": [{"index": r.index, "name": r.name, "card": r.card_present} for r in found]})
        return
    for reader in found:
        click.echo(f"{reader.index}: {reader.name}  ({'card present' if reader.card_present else 'empty'})")


def _reader(value: str | None) -> int | str | None:
    return int(value) if value is not None and value.isdigit() else value


def _mrz_text(mrz: str | None, mrz_file: Path | None) -> str | None:
    if mrz_file is None:
        return mrz
    try:
        return mrz_file.read_text(encoding="utf-8", errors="replace")[:1000]
    except OSError as error:
        raise click.BadParameter(f"{mrz_file}: {error.strerror or error}", param_hint="--mrz-file") from None


@chip.command("read")
@click.option("--reader", help="Reader number (from `impostor chip readers`) or part of its name.")
@click.option("--mrz", help='The MRZ lines, joined by a newline or "\\n".')
@click.option(
    "--mrz-file", type=click.Path(dir_okay=False, path_type=Path), help="A text file of the MRZ lines."
)
@click.option("--number", help="The document number (with --birth and --expiry, instead of --mrz).")
@click.option("--birth", help="Birth date YYMMDD.")
@click.option("--expiry", help="Expiry date YYMMDD.")
@click.option("--can", help="The card access number printed on the document (PACE only).")
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Folder to write."
)
@click.option("--force", is_flag=True, help="Replace the folder of an earlier reading.")
@click.option(
    "--csca", type=click.Path(path_type=Path), help="CSCA certificates or master list: checks the chain."
)
@click.option(
    "--timeout",
    type=FiniteRange(0.1, 600),
    default=30,
    show_default=True,
    help="Seconds to wait for a card.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
def read(as_json: bool, **options: Any) -> None:
    """Read the chip of the document on a reader into --out, and authenticate it.

    \b
    Examples:
      impostor chip read --mrz "P<PERQUISPE<<ROSA...\\nPE1234567..." --out chip/
      impostor chip read --number PE1234567 --birth 850312 --expiry 310101 --out chip/
      impostor chip read --can 123456 --reader 1 --out chip/ --csca masterlist.ml --json

    The folder is what `impostor document --chip DIR` and `impostor compare DIR LIVE` take.
    Exit 0 when the chip is proven genuine, 3 when something needs examining (a check failed or
    was not done), 20-24 when the chip could not be read.
    """
    given = [options["mrz"] or options["mrz_file"], options["number"], options["can"]]
    if sum(bool(value) for value in given) != 1:
        raise click.UsageError("give one of --mrz, --mrz-file, --number (with --birth and --expiry) or --can")
    if options["number"] and not (options["birth"] and options["expiry"]):
        raise click.UsageError("--number needs --birth and --expiry (YYMMDD)")
    with reported(as_json):
        result = _read(options)
    if as_json:
        echo_json(result.to_dict())
    else:
        click.echo(describe(result, options["out"]))
    sys.exit(GENUINE if result.genuine else EXAMINE)


def _read(options: dict[str, Any]) -> Any:
    """Connect, read with a progress bar on stderr, write the folder; the reading."""
    from tqdm import tqdm

    from impostor.card import pcsc
    from impostor.card.keys import mrz_information
    from impostor.card.passport import check_target, mrz_keys, read_passport, write_folder
    from impostor.document.sod import trusted_cscas

    text = _mrz_text(options["mrz"], options["mrz_file"])
    candidates = [mrz_keys(text)] if text else []
    if options["number"]:
        candidates = [mrz_information(options["number"], options["birth"], options["expiry"])]
    csca = trusted_cscas(options["csca"]) if options["csca"] else None
    check_target(options["out"], force=options["force"])  # before the officer waits on the chip
    bar: tqdm[Any] | None = None

    def progress(name: str, done: int, total: int) -> None:
        nonlocal bar
        if name != "DG2":  # the portrait is the one file long enough to wait for
            return
        if bar is None:
            bar = tqdm(
                total=total, desc="portrait (DG2)", unit="B", unit_scale=True, file=sys.stderr, leave=False
            )
        bar.update(done - bar.n)

    try:
        with pcsc.connect(_reader(options["reader"]), timeout=options["timeout"]) as channel:
            result = read_passport(
                channel, mrz_candidates=candidates, can=options["can"], progress=progress, csca=csca
            )
    finally:
        if bar is not None:
            bar.close()
    write_folder(result, options["out"], force=options["force"])
    return result


def describe(result: Any, out: Path) -> str:
    """A reading as text for a terminal."""
    lines = [
        click.style(f"chip read through {result.reader or 'the reader'} into {out}", bold=True),
        f"access: {result.access} ({result.password}; {result.tries} password(s) tried)",
        "files: "
        + ", ".join(f"{name} {len(data)} B" for name, data in result.files.items())
        + (f"; not on the chip: {', '.join(result.missing)}" if result.missing else ""),
    ]
    if result.passive is None:
        lines.append(f"passive authentication: failed — {result.passive_error}")
    else:
        lines.append(f"passive authentication ({result.passive.hash_algorithm}):")
        lines += [f"  {step.name}: {step.status} — {step.detail}" for step in result.passive.steps]
    for check in (result.active, result.chip):
        lines.append(f"{check.name}: {check.status} — {check.detail}")
    verdict = "the chip is proven genuine" if result.genuine else "the chip is NOT proven genuine: examine it"
    lines.append(click.style(verdict, fg="green" if result.genuine else "red"))
    lines.append(f"{result.timings_ms.get('total', 0):.0f} ms")
    return "\n".join(lines)
