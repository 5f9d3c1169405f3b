"""Excel (.xlsx, openpyxl) and CSV files of a report (issue #8): one header row, one row per party. CSV is
UTF-8 with a byte-order mark, so Excel opens the Chinese correctly. A long listing (a year's circular, issue
#17) is written as its rows are read (`write_xlsx`, openpyxl's write-only mode; `write_csv`), and says how many
rows it has."""
from __future__ import annotations

import csv
import functools
import io


#: a cell beginning with one of these would be read as a formula by a spreadsheet (formula injection)
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def safe(value):
    """A value as a spreadsheet should show it: text that could be read as a formula is quoted, and
    characters a workbook cannot hold are removed."""
    if not isinstance(value, str):
        return value
    value = _illegal().sub("", value)
    return "'" + value if value.startswith(_FORMULA) else value


@functools.cache
def _illegal():
    """openpyxl's pattern of the characters a workbook cannot hold (openpyxl is imported where a file is
    written: not by every process that imports this module)."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    return ILLEGAL_CHARACTERS_RE


def _sheet_title(title: str) -> str:
    return _illegal().sub("", title)[:31].replace("/", "-")


def xlsx(title: str, header: list[str], rows: list[list]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    book = Workbook()
    sheet = book.active
    sheet.title = _sheet_title(title)
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


#: the second sheet of a long listing: what it is and how many rows it has
ABOUT = "说明"


def write_xlsx(out, title: str, header: list[str], rows, notes=()) -> int:
    """An Excel file into the binary file `out`: `header` (bold, frozen) and `rows` — any iterable, each row
    written as it is read and not kept (openpyxl's write-only mode), so memory does not grow with a long
    listing — and a second sheet 说明 with `notes` ((label, value) pairs) and 行数, the rows written. Returns
    the rows written."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_sheet_title(title))
    sheet.freeze_panes = "A2"
    for index, _ in enumerate(header, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = 14
    cells = []
    for value in header:
        cell = WriteOnlyCell(sheet, value=safe(value))
        cell.font = Font(bold=True)
        cells.append(cell)
    sheet.append(cells)
    written = 0
    for row in rows:
        sheet.append([safe(v) for v in row])
        written += 1
    about = book.create_sheet(ABOUT)
    about.column_dimensions["A"].width, about.column_dimensions["B"].width = 14, 60
    for label, value in (*notes, ("行数", written)):
        about.append([safe(label), safe(value)])
    book.save(out)
    return written


def csv_bytes(header: list[str], rows: list[list]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([[safe(v) for v in row] for row in rows])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def write_csv(out, header: list[str], rows) -> int:
    """A CSV file (UTF-8 with a byte-order mark, as `csv_bytes`) into the binary file `out`, each of `rows` (any
    iterable) written as it is read and not kept. Returns the rows written."""
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=False)
    try:
        text.write("\ufeff")
        writer = csv.writer(text)
        writer.writerow([safe(v) for v in header])
        written = 0
        for row in rows:
            writer.writerow([safe(v) for v in row])
            written += 1
        text.flush()
    finally:
        text.detach()       # `out` stays open: the caller sends it
    return written
