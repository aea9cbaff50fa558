"""Reads of the audit trail. Callers decide who may read which matter's trail."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from operator import itemgetter
from typing import IO

from django.db.models import QuerySet

from lpo_tracker.audit.chain import CSV_COLUMNS, WITHHELD, canonical_json, escape_cell
from lpo_tracker.audit.models import AuditEvent
from lpo_tracker.audit.services import event_fields
from lpo_tracker.exports import Column, csv_lines

# Formula-injection escaping for every spreadsheet export (the audit CSV's is reversible).
spreadsheet_safe = escape_cell


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


def event_row(event: AuditEvent, *, withheld: bool) -> list[object]:
    """One row: every sealed field in the exact form it was sealed, so the file alone can be
    re-verified (`lpo_tracker/audit/chain.py`). A withheld row keeps only its id, time,
    matter and hashes: the links of the matter chain run through it."""
    fields = event_fields(event)
    hashes = [fields.key_id, fields.prev_hash, fields.matter_prev_hash, event.hash,
              event.matter_hash]
    if withheld:
        return [event.pk, fields.occurred_at, "", "", WITHHELD, "", "", "", fields.matter_id,
                "", "", "", "", "", *hashes]
    return [
        event.pk, fields.occurred_at, fields.actor_id, fields.actor_label, fields.action,
        fields.object_type, fields.object_id, fields.object_repr, fields.matter_id,
        canonical_json(fields.before), canonical_json(fields.after), fields.request_id,
        fields.ip_address, fields.source, *hashes,
    ]


# The audit export's columns: every sealed field, in the verifier's order.
AUDIT_COLUMNS: list[Column[list[object]]] = [
    Column(name, itemgetter(index)) for index, name in enumerate(CSV_COLUMNS)
]


def event_rows(
    events: QuerySet[AuditEvent], *, withhold: Callable[[AuditEvent], bool] | None = None
) -> Iterator[list[object]]:
    """The export's rows, read from the database in chunks. `withhold` names events whose
    content this reader may not see: they come out as withheld rows."""
    for event in events.iterator(chunk_size=2000):
        yield event_row(event, withheld=withhold is not None and withhold(event))


def write_events_csv(
    events: QuerySet[AuditEvent],
    stream: IO[str],
    *,
    withhold: Callable[[AuditEvent], bool] | None = None,
) -> int:
    """Write events as CSV to a text stream (the export's own format, `lpo_tracker.exports`:
    UTF-8 with a byte-order mark, formula-like text escaped reversibly); returns the count.

    Before and after are JSON, with the names recorded next to the ids; each event carries
    its seals and links, so the file alone can be re-verified.
    """
    lines = csv_lines(AUDIT_COLUMNS, event_rows(events, withhold=withhold))
    stream.write(next(lines))
    count = 0
    for line in lines:
        stream.write(line)
        count += 1
    return count
