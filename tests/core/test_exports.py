"""The export module (`lpo_tracker.exports`): CSV for Excel (byte-order mark, formula
escaping, numbers and dates as such), write-only XLSX, and bounded memory for large exports:
100,000 rows stream through the task list's export with a peak of Python allocations
(tracemalloc) far below what building the file would take.
"""

from __future__ import annotations

import datetime as dt
import io
import tracemalloc
from collections.abc import Iterator
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from openpyxl import load_workbook

from lpo_tracker.exports import Column, csv_lines, csv_response, safe_cell, write_xlsx
from matters.models import Task
from tests.conftest import Cast

ROWS = 100_000
MiB = 1024 * 1024


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+2", "'=1+2"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=x", "'\t=x"),
        ("plain", "plain"),
        ("a=b", "a=b"),
        (-5, -5),
        (Decimal("-2.50"), Decimal("-2.50")),
        (None, None),
        (dt.date(2027, 1, 2), dt.date(2027, 1, 2)),
    ],
)
def test_only_text_that_a_spreadsheet_would_run_is_escaped(value: object, expected: object) -> None:
    assert safe_cell(value) == expected


COLUMNS: list[Column[tuple[object, ...]]] = [
    Column("Name", lambda row: row[0]),
    Column("Amount", lambda row: row[1]),
    Column("Due", lambda row: row[2]),
    Column("Day", lambda row: row[3]),
]
SAMPLE = [
    (
        '=HYPERLINK("http://evil")',
        Decimal("-12.50"),
        dt.datetime(2027, 3, 14, 7, 30, tzinfo=dt.UTC),
        dt.date(2027, 3, 14),
    ),
    ("Ünïcödé “quotes”", 3, None, None),
]


def test_csv_has_a_bom_escapes_formulas_and_writes_utc() -> None:
    text = "".join(csv_lines(COLUMNS, SAMPLE))
    assert text.startswith("\ufeffName,Amount,Due,Day\r\n")
    assert "'=HYPERLINK" in text
    assert "-12.50,2027-03-14T07:30:00+00:00,2027-03-14" in text
    assert "Ünïcödé “quotes”,3,," in text


def test_xlsx_keeps_numbers_dates_and_escaped_text() -> None:
    buffer = io.BytesIO()
    assert write_xlsx(buffer, "A sheet name longer than Excel's thirty-one", COLUMNS, SAMPLE) == 2
    workbook = load_workbook(buffer)
    sheet = workbook.active
    assert sheet is not None and len(sheet.title) == 31
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("Name", "Amount", "Due", "Day")
    assert rows[1] == (
        '\'=HYPERLINK("http://evil")',
        -12.5,
        dt.datetime(2027, 3, 14, 7, 30),
        dt.datetime(2027, 3, 14),
    )
    assert sheet["A2"].data_type == "s"
    assert sheet["D2"].number_format == "yyyy-mm-dd"
    assert rows[2] == ("Ünïcödé “quotes”", 3, None, None)


def _synthetic(count: int) -> Iterator[tuple[object, ...]]:
    for number in range(count):
        yield (
            f"Task {number} with a title of some length",
            Decimal(number) / 7,
            dt.datetime(2027, 1, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=number),
            None,
        )


def _peak_while(consume: Iterator[bytes]) -> tuple[int, int]:
    """(peak traced bytes, bytes produced) while consuming the stream."""
    tracemalloc.start()
    try:
        produced = sum(len(chunk) for chunk in consume)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, produced


def test_a_streamed_csv_of_100k_rows_holds_one_row_at_a_time() -> None:
    response = csv_response("big.csv", COLUMNS, _synthetic(ROWS))
    peak, produced = _peak_while(iter(response.streaming_content))  # type: ignore[arg-type]
    assert produced > 7 * MiB
    # Nothing accumulates: the peak is a row's worth, not the file's.
    assert peak < 1 * MiB, peak


XLSX_ROWS = 20_000  # XLSX is slower to write (XML per cell): a fifth of the rows suffices


def test_a_large_xlsx_is_written_with_bounded_memory(tmp_path: object) -> None:
    tracemalloc.start()
    try:
        with open(f"{tmp_path}/big.xlsx", "wb") as stream:
            assert write_xlsx(stream, "Big", COLUMNS, _synthetic(XLSX_ROWS)) == XLSX_ROWS
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Write-only mode spools rows to a temporary file; a normal workbook keeps every cell
    # as an object (~80 MB for these 80,000 cells).
    assert peak < 16 * MiB, peak


@pytest.mark.django_db
def test_the_task_list_export_streams_100k_tasks_in_bounded_memory(cast: Cast) -> None:
    """100,000 tasks of the cast's matter, exported by a team member through the page's
    own URL: rows are read with a server-side cursor in chunks of 2,000 and written as they
    come, so the peak is a chunk's worth of rows whatever the total."""
    template = Task.objects.get(pk=cast.task.pk)
    # One INSERT … SELECT on PostgreSQL (seconds) rather than 100k objects from Python:
    # the test is about reading them back out.
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO matters_task (matter_id, title, task_type, requires_legal_judgment,
                instructions, priority, estimated_hours, actual_hours, document_count,
                sla_due_at, status, created_by_id, created_at, updated_at, cancel_reason)
            SELECT %s, 'Bulk task ' || n, %s, true, '', %s, 0, 0, 0,
                   now() + interval '5 days' + n * interval '1 minute', 'draft', %s,
                   now(), now(), ''
            FROM generate_series(1, %s) AS n
            """,
            [cast.matter.pk, template.task_type, template.priority, template.created_by_id,
             ROWS - 1],
        )
    client = Client()
    client.force_login(cast.staff_on)
    response = client.get("/tasks/?format=csv")
    assert response.status_code == 200 and response.streaming

    lines = 0
    tracemalloc.start()
    try:
        produced = 0
        for chunk in response.streaming_content:  # type: ignore[attr-defined]
            produced += len(chunk)
            lines += chunk.count(b"\n")
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert lines == ROWS + 1  # the heading and every task
    assert produced > 15 * MiB
    # The whole file is over 15 MiB and the model instances behind it several times that;
    # streamed, the peak stays at one chunk of rows.
    assert peak < 24 * MiB, (peak, produced)
    print(
        f"\n100k-task CSV export: {produced / MiB:.1f} MiB produced, "
        f"tracemalloc peak {peak / MiB:.1f} MiB"
    )
