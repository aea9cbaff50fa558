"""The review queue's rows are f-strings (docs/performance.md: cheaper than a template); every
value from the database in them is escaped."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from matters.models import TaskStatus
from tests.conftest import Cast

pytestmark = pytest.mark.django_db


def test_queue_rows_escape_titles_and_names(cast: Cast) -> None:
    title = 'Memo <script>alert("x")</script> & notes'
    task = cast.advance(cast.new_task(title=title), TaskStatus.SUBMITTED)
    client = Client()
    client.force_login(cast.attorney)
    page = client.get(reverse("supervision:review_queue")).content.decode()
    assert escape(title) in page
    assert "<script>alert" not in page
    assert reverse("supervision:review", args=[task.pk]) in page
