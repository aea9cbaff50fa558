"""Telling the people responsible that a cleared conflict check was reopened.

Registered by `supervision.apps` as a `matters.services.AFTER_CONFLICT_REOPEN_HOOKS` hook, so
it runs after the reopening commits. It records the notice like any reminder (under a unique
key, one in-app notification per recipient); the e-mails go out with the next delivery run.
"""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone

from matters.models import Engagement
from supervision.budget import ENGAGEMENT_OBJECT
from supervision.models import ReminderKind
from supervision.reminders import PlannedReminder, reminders_record


def conflict_reopened_notify(engagement_ids: list[int]) -> int:
    """Notify the matter's responsible attorney and whoever cleared the check. Returns how
    many notices were recorded (a repeat for the same reopening records nothing)."""
    planned = []
    for engagement in Engagement.objects.filter(
        pk__in=engagement_ids, conflict_reopened_at__isnull=False
    ).select_related("matter", "vendor"):
        assert engagement.conflict_reopened_at is not None
        matter, vendor = engagement.matter, engagement.vendor
        recipients = {matter.responsible_attorney_id, engagement.conflict_checked_by_id}
        planned.append(PlannedReminder(
            kind=ReminderKind.CONFLICT_REOPENED,
            object_type=ENGAGEMENT_OBJECT,
            object_id=engagement.pk,
            threshold=engagement.conflict_reopened_at.strftime("%Y%m%dT%H%M%S.%fZ"),
            recipient_ids=tuple(sorted(user_id for user_id in recipients if user_id)),
            subject=f"Conflict check reopened: {vendor.name} on matter {matter.number}",
            body=(f"The conflict check of {vendor.name} on matter {matter.number} was "
                  f"cleared, and is open again: {engagement.conflict_reopen_reason}. No new "
                  "work can go to the vendor on this matter until the check is decided "
                  "again on the current search results."),
            url=reverse("engagements:detail", args=[engagement.pk]),
            label=f"conflict check of engagement {engagement.pk}",
        ))
    return reminders_record(planned=planned, now=timezone.now()).recorded
