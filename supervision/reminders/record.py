"""Step 2, record (the claim): reminder records and in-app notifications, each once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.db import transaction

from supervision.audience import without_screened_recipients
from supervision.models import (
    Notification,
    ReminderRecord,
)
from supervision.reminders.base import (
    RECORD_BATCH,
    PlannedReminder,
    Recorded,
    batches,
    recorded_ids,
)

# --- 2. Record ------------------------------------------------------------------------------


def reminders_record(*, planned: Sequence[PlannedReminder], now: dt.datetime) -> Recorded:
    """Claim planned reminders: each record under its unique key, with one notification per
    recipient, in one transaction per batch. Keys someone else recorded first are left alone
    (their notifications are unique per user and reminder, so nothing doubles either)."""
    result = Recorded()
    planned = without_screened_recipients(planned)  # whatever audience the planner chose
    for batch in batches(planned, RECORD_BATCH):
        with transaction.atomic():
            known = recorded_ids(item.key for item in batch)
            ReminderRecord.objects.bulk_create(
                [ReminderRecord(kind=item.kind, object_type=item.object_type,
                                object_id=item.object_id, threshold=item.threshold,
                                recipients=list(item.recipient_ids), context=item.context,
                                created_at=now)
                 for item in batch if item.key not in known],
                ignore_conflicts=True,
            )
            ids = recorded_ids(item.key for item in batch)
            fresh = [item for item in batch if item.key not in known and item.key in ids]
            Notification.objects.bulk_create(
                [Notification(user_id=user_id, reminder_id=ids[item.key], kind=item.kind,
                              subject=item.subject, body=item.body, url=item.url,
                              created_at=now)
                 for item in fresh for user_id in item.recipient_ids],
                ignore_conflicts=True,
            )
            nobody = [ids[item.key] for item in fresh if not item.recipient_ids]
            if nobody:
                ReminderRecord.objects.filter(pk__in=nobody, sent_at__isnull=True).update(
                    sent_at=now)
            result.recorded += len(fresh)
            result.reminder_ids.extend(ids[item.key] for item in batch if item.key in ids)
    return result
