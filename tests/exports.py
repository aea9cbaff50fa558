"""Reading an export response the way a browser saves it (they stream: no `.content`)."""

from __future__ import annotations

import csv
import io
from typing import Any

from django.http import HttpResponseBase
from openpyxl import load_workbook


def body(response: HttpResponseBase) -> bytes:
    if getattr(response, "streaming", False):
        # The test client closes the response once its content is read to the end.
        return b"".join(response.streaming_content)  # type: ignore[attr-defined]
    return response.content  # type: ignore[attr-defined, no-any-return]


def csv_rows(response: HttpResponseBase) -> list[list[str]]:
    """The CSV's rows; it must start with a UTF-8 byte-order mark (for Excel)."""
    data = body(response)
    assert data.startswith(b"\xef\xbb\xbf"), data[:20]
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def xlsx_rows(response: HttpResponseBase) -> list[tuple[Any, ...]]:
    sheet = load_workbook(io.BytesIO(body(response))).active
    assert sheet is not None
    return list(sheet.iter_rows(values_only=True))
