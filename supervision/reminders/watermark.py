"""How far back the sweep's review-waiting safety net reads: a watermark.

The after-commit hook announces each new version (`review_waiting_notify`); the sweep only
has to catch the announcements a lost message or a crash left out. Those are versions
submitted since the last *complete* sweep, so the net reads the submitted tasks whose
`submitted_at` is at or after the watermark (an index range on `(status, submitted_at)`)
instead of every submitted task of the firm.

Nothing is missed across it:

1. Before planning, the sweep takes its candidate: the earliest of its `now`, the clock, and
   the start of the oldest transaction still open on the database (PostgreSQL,
   `pg_stat_activity`), minus `WATERMARK_MARGIN` (clock skew between the web servers and
   the database). A submission that the sweep's queries cannot see yet is in a transaction
   that either was open then (so it started, and stamped `submitted_at`, after the candidate)
   or began later (after the candidate too).
2. The watermark moves to the candidate only after every planned reminder is recorded
   (`reminders_sweep`). A sweep that dies mid-way leaves it where it was; the next sweep
   reads the same range again and the unique reminder key drops what was already recorded.
3. It only moves forward (two sweeps at once: the later candidate wins), and with no
   watermark yet (a new install, or after `watermark_reset`) the net reads everything once.

Every path that puts a task up for review stamps `submitted_at` (`submission_create`: a new
version is the only way into "submitted"). A task put into that state behind the services'
back (raw SQL with an old `submitted_at`) is found by the full net after `watermark_reset`.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.utils import timezone

from supervision.models import SweepWatermark

REVIEW_WAITING_NET = "review_waiting"
WATERMARK_MARGIN = dt.timedelta(minutes=10)

_OLDEST_OPEN_TRANSACTION = """
    SELECT min(xact_start) FROM pg_stat_activity
    WHERE datname = current_database() AND backend_type = 'client backend'
      AND pid <> pg_backend_pid() AND xact_start IS NOT NULL
"""


def watermark_read(name: str = REVIEW_WAITING_NET) -> dt.datetime | None:
    """The watermark, or None: nothing is known to be covered, read everything."""
    return SweepWatermark.objects.filter(name=name).values_list("value", flat=True).first()


def watermark_candidate(now: dt.datetime) -> dt.datetime:
    """Where the watermark may move once a sweep that starts now has recorded everything.
    Take it before the sweep's first query."""
    bound = min(now, timezone.now())
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # The sweep's own transaction is left out: it sees its own writes.
            cursor.execute(_OLDEST_OPEN_TRANSACTION)
            row = cursor.fetchone()
        if row and row[0] is not None:
            bound = min(bound, row[0])
    return bound - WATERMARK_MARGIN


def watermark_advance(value: dt.datetime, name: str = REVIEW_WAITING_NET) -> None:
    """Move the watermark forward to `value` (never back). Call it after the sweep recorded
    everything it planned."""
    SweepWatermark.objects.bulk_create(
        [SweepWatermark(name=name, value=value)], ignore_conflicts=True
    )
    SweepWatermark.objects.filter(name=name, value__lt=value).update(
        value=value, updated_at=timezone.now()
    )


def watermark_reset(name: str = REVIEW_WAITING_NET) -> None:
    """Forget the watermark: the next sweep reads every submitted task once."""
    SweepWatermark.objects.filter(name=name).delete()
