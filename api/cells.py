"""Cells of the spreadsheets and CSV files the service writes, made safe to open.

A text cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return) is read by
Excel, LibreOffice and Google Sheets as a formula: a stakeholder named ``=HYPERLINK(...)`` would run
in the secretariat's ``agenda.csv``. Such text is written with a leading apostrophe, as OWASP's advice
on CSV injection has it, so it shows as the text it is.
"""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """The value to write in a cell: text that a spreadsheet would run as a formula, quoted; anything
    else as it is.

    Example:
        >>> safe_cell('=HYPERLINK("http://x","y")'), safe_cell("Green Asia Network"), safe_cell(0.5)
        ('\\'=HYPERLINK("http://x","y")', 'Green Asia Network', 0.5)
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(values: list[Any]) -> list[Any]:
    return [safe_cell(v) for v in values]
