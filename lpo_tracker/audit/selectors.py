"""Reads of the audit trail. Callers decide who may read which matter's trail."""

from __future__ import annotations

import csv
import datetime as dt
from typing import IO

from django.db.models import QuerySet

from lpo_tracker.audit.models import AuditEvent

CSV_COLUMNS = [
    "id", "occurred_at", "actor_label", "action", "object_type", "object_id", "object_repr",
    "before", "after", "request_id", "ip_address", "source", "prev_hash", "hash",
]


def spreadsheet_safe(value: object) -> str:
    """Neutralise formula injection: a cell starting with = + - @ opens as text in Excel."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def events_for_matter(
    matter_id: int, *, start: dt.datetime | None = None, end: dt.datetime | None = None
) -> QuerySet[AuditEvent]:
    """A matter's events in order; `start` inclusive, `end` exclusive."""
    events = AuditEvent.objects.filter(matter_id=matter_id)
    if start is not None:
        events = events.filter(occurred_at__gte=start)
    if end is not None:
        events = events.filter(occurred_at__lt=end)
    return events.order_by("id")


def write_events_csv(events: QuerySet[AuditEvent], stream: IO[str]) -> int:
    """Write events as CSV (with their hashes, so a reader can re-verify); returns the count."""
    writer = csv.writer(stream)
    writer.writerow(CSV_COLUMNS)
    count = 0
    for event in events.iterator(chunk_size=2000):
        writer.writerow(
            spreadsheet_safe(cell)
            for cell in [
                event.pk, event.occurred_at.isoformat(), event.actor_label, event.action,
                event.object_type, event.object_id, event.object_repr, event.before or "",
                event.after or "", event.request_id, event.ip_address or "", event.source,
                event.prev_hash, event.hash,
            ]
        )
        count += 1
    return count
