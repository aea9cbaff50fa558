"""Planner for expiring staff training (confidentiality, data protection): to the person
whose training it is and to their vendor's manager at the firm.

Training concerns no matter, so no wall removes a recipient (`supervision.audience` applies
when the reminder is recorded and when it is sent, as for every reminder); a deactivated
person or manager is not told. Each audience has its own threshold key (`7d:person`,
`7d:manager`) because each gets its own page: the portal's "My credentials" for the person,
the vendor's page for the manager.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Exists, OuterRef
from django.urls import NoReverseMatch, reverse

from supervision.models import ReminderKind
from supervision.reminders.base import (
    TRAINING_OBJECT,
    TRAINING_THRESHOLDS,
    Key,
    PlannedReminder,
    object_url,
    planned_reminder,
    recorded_ids,
)
from vendors.models import StaffTraining

PERSON, MANAGER = "person", "manager"


def _url(audience: str, training: StaffTraining) -> str:
    if audience == PERSON:
        try:
            return reverse("portal:credentials")
        except NoReverseMatch:
            return ""
    return object_url("vendors:vendor_detail", training.member.vendor_id)


def plan_training(today: dt.date) -> list[PlannedReminder]:
    """Training expiring within 30 days, unless a later record of the same topic already
    renews it: the person and the vendor manager hear at 30, 7 and 1 days, each once."""
    longest = max(days for days, _ in TRAINING_THRESHOLDS)
    renewed = StaffTraining.objects.filter(
        member_id=OuterRef("member_id"),
        topic=OuterRef("topic"),
        expires_on__gt=OuterRef("expires_on"),
    )
    records = list(
        StaffTraining.objects.expiring_between(today, today + dt.timedelta(days=longest))
        .exclude(Exists(renewed))
        .filter(member__is_active=True, member__user__is_active=True)
        .select_related("member__user", "member__vendor__manager")
    )
    due: dict[Key, tuple[StaffTraining, int, str, int]] = {}
    for record in records:
        days_left = (record.expires_on - today).days
        label = next(label for days, label in TRAINING_THRESHOLDS if days_left <= days)
        audiences = [(PERSON, record.member.user_id)]
        manager = record.member.vendor.manager
        if manager is not None and manager.is_active:
            audiences.append((MANAGER, manager.pk))
        for audience, user_id in audiences:
            key: Key = (
                TRAINING_OBJECT,
                record.pk,
                ReminderKind.TRAINING_EXPIRING,
                f"{label}:{audience}",
            )
            due[key] = (record, days_left, audience, user_id)
    recorded = recorded_ids(due)
    planned = []
    for key, (record, days_left, audience, user_id) in due.items():
        if key in recorded:
            continue
        person = record.member.user.get_full_name() or record.member.user.get_username()
        context = {
            "topic": record.get_topic_display(),
            "person": person,
            "vendor_name": record.member.vendor.name,
            "expires_on": record.expires_on.strftime("%d %b %Y"),
            "days_left": days_left,
            "course": record.course,
            "for_person": audience == PERSON,
        }
        label = f"{record.get_topic_display()} training of {person} (record {record.pk})"
        planned.append(
            planned_reminder(
                key[2],
                TRAINING_OBJECT,
                record.pk,
                key[3],
                [user_id],
                context,
                _url(audience, record),
                label,
            )
        )
    return planned
