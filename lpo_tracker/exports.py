"""Spreadsheet exports: the one definition of how a list leaves the app as CSV or XLSX.

Every export (the matter list, the task list, the vendor scorecards, a matter's audit trail)
describes its columns once, as `Column`s, and hands this module the rows the page itself
would show: the same selector, so an export can never show more than the page (walls
included). This module decides the rest, the same way for all of them:

1. CSV is UTF-8 with a byte-order mark (Excel otherwise guesses a legacy code page) and is
   streamed: rows are written as they come from the iterator, nothing is built in memory
   while the request waits (`StreamingHttpResponse`).
2. XLSX is written by openpyxl in write-only mode (rows go to a temporary file as they are
   appended, not kept as cell objects) and the finished file is streamed from disk
   (`FileResponse`), so a large workbook costs disk, not memory.
3. A text cell that a spreadsheet would run as a formula (= + - @, a tab or a carriage
   return) gets one leading apostrophe (`escape_cell`, the audit trail's own reversible
   escape). Numbers and dates stay numbers and dates.
4. Every export is an attachment that no cache keeps (`Cache-Control: no-store`).
"""

from __future__ import annotations

import csv
import datetime as dt
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Generic, TypeVar

from django.http import FileResponse, HttpResponseBase, StreamingHttpResponse
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from lpo_tracker.audit.chain import escape_cell

CSV = "csv"
XLSX = "xlsx"
FORMATS = (CSV, XLSX)
CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BOM = "\ufeff"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
# Excel's widest sheet name; longer names are cut.
SHEET_NAME_LIMIT = 31

Row = TypeVar("Row")


@dataclass(frozen=True)
class Column(Generic[Row]):
    """One column of an export: its heading and how to read its value off a row."""

    heading: str
    value: Callable[[Row], Any]


def safe_cell(value: Any) -> Any:
    """A value as a spreadsheet may receive it: text escaped against formula injection,
    numbers, dates and empty cells as they are."""
    if value is None or isinstance(value, bool | int | float | Decimal | dt.date):
        return value
    return escape_cell(value)


def _csv_text(value: Any) -> str:
    value = safe_cell(value)
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        # Aware datetimes in UTC with their offset: unambiguous in any reader's zone.
        return (
            value.astimezone(dt.UTC).isoformat()
            if timezone.is_aware(value)
            else (value.isoformat())
        )
    return str(value)


class _Echo:
    """A file-like object whose write returns the line, for csv.writer in a generator."""

    def write(self, value: str) -> str:
        return value


def csv_lines(columns: Sequence[Column[Row]], rows: Iterable[Row]) -> Iterator[str]:
    """The CSV text, one line at a time: the byte-order mark and the heading first."""
    writer = csv.writer(_Echo())
    yield BOM + writer.writerow([column.heading for column in columns])
    for row in rows:
        yield writer.writerow([_csv_text(column.value(row)) for column in columns])


def _attachment(response: HttpResponseBase, filename: str) -> HttpResponseBase:
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def csv_response(
    filename: str, columns: Sequence[Column[Row]], rows: Iterable[Row]
) -> StreamingHttpResponse:
    """Stream `rows` as a CSV attachment. Pass a queryset's `.iterator()` (or a generator
    over it) so the rows are read from the database in chunks as the client downloads."""
    response = StreamingHttpResponse(
        (line.encode("utf-8") for line in csv_lines(columns, rows)), content_type=CSV_TYPE
    )
    _attachment(response, filename)
    return response


def _xlsx_cell(sheet: Any, value: Any) -> Any:
    value = safe_cell(value)
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, dt.datetime):
        # Excel has no zones: the moment in UTC, as the heading says.
        if timezone.is_aware(value):
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = DATETIME_FORMAT
        return cell
    if isinstance(value, dt.date):
        # A day is midnight of that day to Excel; the format shows the date alone.
        cell = WriteOnlyCell(sheet, value=dt.datetime.combine(value, dt.time.min))
        cell.number_format = DATE_FORMAT
        return cell
    return value


def write_xlsx(
    stream: Any, sheet_name: str, columns: Sequence[Column[Row]], rows: Iterable[Row]
) -> int:
    """Write the workbook to `stream` (a binary file) in write-only mode; returns the number
    of rows written."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=sheet_name[:SHEET_NAME_LIMIT])
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    headings = []
    for column in columns:
        cell = WriteOnlyCell(sheet, value=column.heading)
        cell.font = bold
        headings.append(cell)
    sheet.append(headings)
    count = 0
    for row in rows:
        sheet.append([_xlsx_cell(sheet, column.value(row)) for column in columns])
        count += 1
    workbook.save(stream)
    return count


def xlsx_response(
    filename: str, sheet_name: str, columns: Sequence[Column[Row]], rows: Iterable[Row]
) -> FileResponse:
    """The workbook as an attachment, written to an anonymous temporary file first (gone
    when the response closes it) and streamed from there."""
    spool = tempfile.TemporaryFile(prefix="lpo-export-", suffix=".xlsx")  # noqa: SIM115
    try:
        write_xlsx(spool, sheet_name, columns, rows)
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    response = FileResponse(spool, content_type=XLSX_TYPE)
    _attachment(response, filename)
    return response


def export_response(
    export_format: str,
    *,
    filename: str,
    sheet_name: str,
    columns: Sequence[Column[Row]],
    rows: Iterable[Row],
) -> HttpResponseBase:
    """`csv_response` or `xlsx_response` for `export_format` (one of FORMATS), with the
    file extension added to `filename`."""
    if export_format == CSV:
        return csv_response(f"{filename}.csv", columns, rows)
    if export_format == XLSX:
        return xlsx_response(f"{filename}.xlsx", sheet_name, columns, rows)
    raise ValueError(f"unknown export format {export_format!r}")
