"""Heartbeats of the worker and of beat, recorded in the database for `/readyz`.

- beat: every task beat publishes (signal `before_task_publish` in the beat process, which
  `beat_init` marks) stamps "beat". Beat publishes the heartbeat task every 30 s, so a live
  beat is never more than ~30 s stale.
- worker: the heartbeat task stamps "worker" when a worker runs it. That proves more than a
  live process: the worker consumes from the broker and reaches the database. It depends on
  beat sending the task, so when both are stale, look at beat first.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.db import DatabaseError, connections, transaction

from lpo_tracker.core.models import Heartbeat

logger = logging.getLogger(__name__)

BEAT = "beat"
WORKER = "worker"

_in_beat = False


def heartbeat_record(*, name: str, now: dt.datetime) -> None:
    """Stamp `name` as alive at `now` (operational state: not audited)."""
    with transaction.atomic():
        Heartbeat.objects.update_or_create(name=name, defaults={"at": now})


def heartbeats_latest() -> dict[str, dt.datetime]:
    return dict(Heartbeat.objects.values_list("name", "at"))


def on_beat_init(**kwargs: Any) -> None:
    global _in_beat  # one flag per process, set by beat at start-up
    _in_beat = True
    _stamp_beat()


def on_before_task_publish(**kwargs: Any) -> None:
    if _in_beat:
        _stamp_beat()


def _stamp_beat() -> None:
    from django.utils import timezone

    try:
        heartbeat_record(name=BEAT, now=timezone.now())
    except DatabaseError as exc:  # a heartbeat must never stop beat from publishing
        logger.warning("Could not record beat's heartbeat: %s", exc)
    finally:
        connections.close_all()
