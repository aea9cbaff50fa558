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


@shared_task(name="core.heartbeat", ignore_result=True, soft_time_limit=10, time_limit=20)
def heartbeat() -> None:
    """Sent by beat every 30 s: stamps the worker's heartbeat that `/readyz` reads."""
    from django.utils import timezone

    from lpo_tracker.core.heartbeats import WORKER, heartbeat_record

    heartbeat_record(name=WORKER, now=timezone.now())
