"""HTML for self-contained reports: escaped text, tables and figures inlined as PNG.

The QA report and the trainer's report are single files that must read the same offline, years
later: no scripts, no links, images as ``data:`` addresses. Cells handed to ``table`` are HTML
already, so data must pass through ``escape`` first.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["escape", "img", "png_bytes", "table"]


def escape(value: object) -> str:
    """``str(value)`` with ``& < > " '`` escaped for HTML text and attributes."""
    return html.escape(str(value), quote=True)


def table(
    header: Sequence[str] | None, rows: Sequence[Sequence[str]], *, text: Collection[int] = (0,)
) -> str:
    """An HTML table; columns not in ``text`` hold figures and are aligned right.

    No header row when ``header`` is None. A row shorter than the header stretches its last
    cell to the end.
    """
    width = len(header) if header else 0
    body = []
    for row in rows:
        cells = []
        for k, cell in enumerate(row):
            span = width - len(row) + 1 if width and k == len(row) - 1 else 1
            attributes = ("" if k in text else ' class="n"') + (f' colspan="{span}"' if span > 1 else "")
            cells.append(f"<td{attributes}>{cell}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    head = "<tr>" + "".join(f"<th>{h}</th>" for h in header) + "</tr>" if header else ""
    return f"<table>{head}{''.join(body)}</table>"


def img(png: bytes, alt: str) -> str:
    """An ``<img>`` carrying ``png`` inline, with escaped ``alt`` text."""
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{data}">'


def png_bytes(figure: Figure) -> bytes:
    """A matplotlib figure as PNG bytes without the Software tag, so equal data give equal bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
