"""Planner for expiring due diligence: NDAs and certifications, to the vendor manager.
"""

from __future__ import annotations

import datetime as dt

from supervision.models import (
    ReminderKind,
)
from supervision.reminders.base import (
    DILIGENCE_OBJECT,
    DILIGENCE_THRESHOLDS,
    Key,
    PlannedReminder,
    object_url,
    planned_reminder,
    recorded_ids,
)
from vendors.models import DueDiligenceRecord
from vendors.selectors import renewed_later


def plan_diligence(today: dt.date) -> list[PlannedReminder]:
    """NDAs and certifications expiring within 30 days, unless a newer record already covers
    the same kind: the vendor manager hears at 30, 7 and 1 days, each once."""
    longest = max(days for days, _ in DILIGENCE_THRESHOLDS)
    records = list(
        DueDiligenceRecord.objects.expiring_between(today, today + dt.timedelta(days=longest))
        .exclude(renewed_later())
        .filter(vendor__manager__isnull=False, vendor__manager__is_active=True)
        .select_related("vendor")
    )
    due: dict[Key, tuple[DueDiligenceRecord, int]] = {}
    for record in records:
        days_left = (record.expires_on - today).days
        threshold = next(label for days, label in DILIGENCE_THRESHOLDS if days_left <= days)
        due[(DILIGENCE_OBJECT, record.pk, ReminderKind.DILIGENCE_EXPIRING, threshold)] = (
            record, days_left)
    recorded = recorded_ids(due)
    planned = []
    for key, (record, days_left) in due.items():
        if key in recorded:
            continue
        context = {
            "document": record.get_kind_display(),
            "vendor_name": record.vendor.name,
            "expires_on": record.expires_on.strftime("%d %b %Y"),
            "days_left": days_left,
            "reference": record.reference,
        }
        label = f"{record.get_kind_display()} of {record.vendor.name} (record {record.pk})"
        assert record.vendor.manager_id is not None
        planned.append(planned_reminder(key[2], DILIGENCE_OBJECT, record.pk, key[3],
                                [record.vendor.manager_id], context,
                                object_url("vendors:vendor_detail", record.vendor_id),
                                label))
    return planned
