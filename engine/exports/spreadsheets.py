"""Excel (.xlsx, openpyxl) and CSV files of a report (issue #8): one header row, one row per party. CSV is
UTF-8 with a byte-order mark, so Excel opens the Chinese correctly."""
from __future__ import annotations

import csv
import io

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font


#: a cell beginning with one of these would be read as a formula by a spreadsheet (formula injection)
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def safe(value):
    """A value as a spreadsheet should show it: text that could be read as a formula is quoted, and
    characters a workbook cannot hold are removed."""
    if not isinstance(value, str):
        return value
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    return "'" + value if value.startswith(_FORMULA) else value


def xlsx(title: str, header: list[str], rows: list[list]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = ILLEGAL_CHARACTERS_RE.sub("", title)[:31].replace("/", "-")
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([safe(v) for v in row])
    sheet.freeze_panes = "A2"
    for index, _ in enumerate(header, start=1):
        sheet.column_dimensions[sheet.cell(row=1, column=index).column_letter].width = 14
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(header: list[str], rows: list[list]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([[safe(v) for v in row] for row in rows])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
