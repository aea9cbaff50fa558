"""Celery tasks that belong to no app."""

from __future__ import annotations

from celery import shared_task
from django.db import connection


@shared_task(soft_time_limit=10, time_limit=20)
def ping() -> str:
    """Health check: answers "pong" once this worker can reach the broker and the database.

    Monitoring (and the round-trip tests) send it through the real broker, so a "pong" proves
    the whole path: producer → broker → worker → database → result backend.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "pong"
