"""``impostor document``: what a data-page scan or a chip's files say, as an examiner reads them."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from impostor.cli.common import echo_json, reported

__all__ = ["document"]

# exit codes of a reading: 0 nothing to act on, 3 something to examine (an alert)
CLEAN, EXAMINE = 0, 3


@click.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--chip",
    "chip_folder",
    type=click.Path(file_okay=False, path_type=Path),
    help="A folder of the document's chip files, read with the page (DG1 is compared with the printed MRZ).",
)
@click.option(
    "--csca",
    type=click.Path(path_type=Path),
    help="CSCA certificates (PEM or DER), a folder of them or an ICAO master list: checks the signer.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
def document(path: Path, chip_folder: Path | None, csca: Path | None, as_json: bool) -> None:
    """Read a document: a data-page PATH (image), a chip folder, or a DG2 file.

    \b
    Examples:
      impostor document page.jpg
      impostor document chip-folder/ --csca masterlist.ml --json
      impostor document page.jpg --chip chip-folder/

    Exit 0 when nothing needs examining, 3 when a finding is an alert (a check digit, an
    expired document, a chip that fails passive authentication).
    """
    from impostor.document import read_document

    with reported(as_json):
        reading = read_document(path, chip_folder=chip_folder, csca=csca)
    if as_json:
        echo_json(reading.to_dict())
    else:
        click.echo(describe(reading))
    sys.exit(EXAMINE if reading.alerts else CLEAN)


def describe(reading: object) -> str:
    """The reading as text for a terminal."""
    from impostor.document import DocumentReading

    assert isinstance(reading, DocumentReading)
    lines = [click.style(f"{reading.kind}: {reading.source}", bold=True)]
    found = reading.mrz
    if found is not None:
        state = "all check digits valid" if found.valid else "check digits FAIL: " + ", ".join(found.failing)
        lines.append(f"MRZ ({found.layout}, from the {reading.mrz_from}): {state}")
        lines += [f"  {line}" for line in found.lines]
        born, expires = found.birth_date, found.expiry_date
        lines.append(
            f"  {found.surname}, {found.given_names}  ·  {found.document_code} {found.issuing_state}"
            f" no. {found.document_number}  ·  born {born or found.birth}  ·  sex {found.sex or '-'}"
            f"  ·  expires {expires or found.expiry}  ·  nationality {found.nationality}"
        )
    if reading.portrait is not None:
        where = f" (page turned {reading.page_turned}°)" if reading.page_turned else ""
        extra = f", {len(reading.secondary_boxes)} secondary image(s)" if reading.secondary_boxes else ""
        lines.append(f"portrait: {reading.portrait.shape[1]}×{reading.portrait.shape[0]} px{where}{extra}")
    if reading.authentication is not None:
        lines.append(f"passive authentication ({reading.authentication.hash_algorithm}):")
        lines += [f"  {step.name}: {step.status} — {step.detail}" for step in reading.authentication.steps]
    if reading.findings:
        lines.append("findings:")
        colours = {"alert": "red", "warning": "yellow", "note": None}
        lines += [click.style(f"  - {f.message}", fg=colours[f.severity]) for f in reading.findings]
    lines.append(f"{reading.timings_ms.get('total', 0):.0f} ms")
    return "\n".join(lines)
