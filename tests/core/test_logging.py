"""Log lines on-call can read: a request id on each, a refused request in one line, JSON lines.

The lines are read from the root logger's own handler (settings.LOGGING), i.e. exactly what
the process prints, not from pytest's capture.
"""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from lpo_tracker.logs import JsonFormatter
from matters.selectors import VIEW
from matters.services import permission_grant
from tests import factories as f
from tests.conftest import Cast

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def printed() -> Iterator[io.StringIO]:
    """What the configured console handler prints while the test runs."""
    [handler] = [h for h in logging.getLogger().handlers
                 if isinstance(h, logging.StreamHandler) and h.filters]
    assert isinstance(handler, logging.StreamHandler)
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        yield stream
    finally:
        handler.setStream(previous)


def refused(client: Client, cast: Cast) -> Any:
    viewer = f.UserFactory.create(username="viewer")
    permission_grant(actor=cast.admin, matter=cast.matter, user=viewer, codename=VIEW)
    client.force_login(viewer)
    return client.get(reverse("matters:audit_export", args=[cast.matter.pk]),
                      HTTP_X_REQUEST_ID="req-403-abc")


def test_a_refused_request_is_one_line_with_its_request_id(
    client: Client, cast: Cast, printed: io.StringIO
) -> None:
    response = refused(client, cast)

    assert response.status_code == 403
    lines = [line for line in printed.getvalue().splitlines() if line.strip()]
    forbidden = [line for line in lines if "Forbidden" in line]
    assert len(forbidden) == 1, lines
    assert "[req-403-abc]" in forbidden[0]
    assert "Traceback" not in printed.getvalue()


def test_a_missing_page_is_one_line_too(client: Client, cast: Cast, printed: io.StringIO) -> None:
    client.force_login(cast.staff_on)
    response = client.get("/matters/999999/", HTTP_X_REQUEST_ID="req-404-abc")

    assert response.status_code == 404
    lines = [line for line in printed.getvalue().splitlines() if "Not Found" in line]
    assert len(lines) == 1 and "[req-404-abc]" in lines[0]
    assert "Traceback" not in printed.getvalue()


def test_a_server_error_keeps_its_traceback(printed: io.StringIO) -> None:
    logger = logging.getLogger("django.request")
    try:
        raise ValueError("boom")
    except ValueError:
        logger.error("Internal Server Error: /x", exc_info=True, extra={"status_code": 500})
    assert "Traceback" in printed.getvalue()
    assert "ValueError: boom" in printed.getvalue()


def test_lines_outside_a_request_say_so(printed: io.StringIO) -> None:
    logging.getLogger("lpo_tracker.test").warning("sweep started")
    assert "[-] lpo_tracker.test sweep started" in printed.getvalue()


def test_json_lines_carry_the_same_fields(
    client: Client, cast: Cast, printed: io.StringIO
) -> None:
    [handler] = [h for h in logging.getLogger().handlers
                 if isinstance(h, logging.StreamHandler) and h.filters]
    plain = handler.formatter
    handler.setFormatter(JsonFormatter())
    try:
        refused(client, cast)
    finally:
        handler.setFormatter(plain)

    records = [json.loads(line) for line in printed.getvalue().splitlines() if line.strip()]
    [forbidden] = [r for r in records if r["message"].startswith("Forbidden")]
    assert forbidden["request_id"] == "req-403-abc"
    assert forbidden["status"] == 403
    assert forbidden["level"] == "WARNING"
    assert forbidden["logger"] == "django.request"
    assert "exception" not in forbidden


def test_log_format_json_is_a_setting() -> None:
    code = "import django, logging; django.setup(); logging.getLogger('x').warning('hello')"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "lpo_tracker.settings", "LOG_FORMAT": "json"}

    result = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True,
        check=True,
    )

    line = json.loads(result.stderr.strip().splitlines()[-1])
    assert (line["message"], line["request_id"], line["logger"]) == ("hello", "-", "x")
