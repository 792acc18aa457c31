"""Text made safe for a spreadsheet: every CSV impostor writes passes its free text through here.

A cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return before one) is
read as a formula by Excel, LibreOffice and Google Sheets; a file name, an operator's name or a
note typed by someone else must never run as one (OWASP "CSV injection").
"""

from __future__ import annotations

__all__ = ["spreadsheet_cell"]

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(text: str) -> str:
    """``text`` as a spreadsheet shows it, never as a formula: a leading ``'`` when it would be one."""
    return "'" + text if text[:1] in _FORMULA_STARTS else text
