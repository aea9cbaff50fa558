"""Whose deadlines go into a person's calendar feed, read afresh at every fetch.

Each kind of deadline goes to the people its reminders go to (docs/rules.md, reminders),
through the selectors the pages use, so a feed never shows what the person could not open:

1. Reviews due: tasks awaiting review (`AWAITING_REVIEW_STATES`) on matters where the person
   holds `supervise_matter` and is not screened (`matters_with_perm`), among the tasks they
   may see (`tasks_visible_to`).
2. Vendor SLAs: tasks with the vendor (`WITH_VENDOR_STATES`) among `tasks_visible_to`: for
   firm staff those on their own matters (`on_my_matters`: team, supervising or responsible
   attorney); for a vendor user their own organisation's tasks (the same selector answers
   for them, walls included).
3. Diligence expiring: the vendor manager's records (`diligence_expiries_for`), from 30 days
   back on, unless renewed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet

from matters.models import AWAITING_REVIEW_STATES, WITH_VENDOR_STATES, Task
from matters.selectors import (
    SUPERVISE,
    AnyUser,
    matters_with_perm,
    on_my_matters,
    tasks_visible_to,
)
from vendors.selectors import diligence_expiries_for, vendor_of

# Expiries from this many days back stay in the feed (an expired NDA still needs renewing).
EXPIRED_SHOWN_FOR = dt.timedelta(days=30)


@dataclass(frozen=True)
class Deadline:
    """One event of the feed: a moment (`at`, shown in `time_zone`) or a whole day."""

    uid: str  # stable across fetches, so a calendar updates the event rather than adding one
    summary: str
    description: str
    route: str  # URL name of the page the event links to, with `object_id`
    object_id: int
    category: str
    time_zone: str = "UTC"
    at: dt.datetime | None = None
    day: dt.date | None = None


def _task_text(task: Task) -> str:
    vendor = task.engagement.vendor.name if task.engagement else "no vendor yet"
    return (
        f"Matter {task.matter.number} {task.matter.title} ({task.matter.client.name}). "
        f"Vendor: {vendor}. State: {task.get_status_display()}."
    )


def reviews_due_for(user: AnyUser) -> QuerySet[Task]:
    return (
        tasks_visible_to(user)
        .filter(
            status__in=AWAITING_REVIEW_STATES,
            review_due_at__isnull=False,
            matter__in=matters_with_perm(user, SUPERVISE).values("pk"),
        )
        .order_by("review_due_at", "pk")
    )


def vendor_slas_for(user: AnyUser) -> QuerySet[Task]:
    tasks = tasks_visible_to(user).filter(status__in=WITH_VENDOR_STATES, sla_due_at__isnull=False)
    if vendor_of(user) is None:
        tasks = tasks.filter(on_my_matters(user))
    return tasks.order_by("sla_due_at", "pk")


def deadlines_for(user: AnyUser, *, today: dt.date) -> list[Deadline]:
    """Every deadline of the person's feed (three queries, whatever the number)."""
    vendor_user = vendor_of(user) is not None
    task_route = "portal:task" if vendor_user else "supervision:task_detail"
    deadlines = [
        Deadline(
            uid=f"review-{task.pk}@lpo-tracker",
            summary=f"Review due: {task.title}",
            description=_task_text(task),
            route=task_route,
            object_id=task.pk,
            category="Review due",
            time_zone=task.matter.time_zone,
            at=task.review_due_at,
        )
        for task in reviews_due_for(user)
    ]
    for task in vendor_slas_for(user):
        # A vendor's staff read the deadline in their own zone, the firm in the matter's.
        zone = (
            task.engagement.vendor.time_zone
            if vendor_user and task.engagement
            else task.matter.time_zone
        )
        deadlines.append(
            Deadline(
                uid=f"sla-{task.pk}@lpo-tracker",
                summary=f"Vendor deadline: {task.title}",
                description=_task_text(task),
                route=task_route,
                object_id=task.pk,
                category="Vendor SLA",
                time_zone=zone,
                at=task.sla_due_at,
            )
        )
    for record in diligence_expiries_for(user, start=today - EXPIRED_SHOWN_FOR):
        deadlines.append(
            Deadline(
                uid=f"diligence-{record.pk}@lpo-tracker",
                summary=f"{record.get_kind_display()} of {record.vendor.name} expires",
                description=(
                    f"{record.get_kind_display()} {record.reference} of "
                    f"{record.vendor.name} is valid to {record.expires_on:%d %b %Y}."
                ),
                route="vendors:vendor_detail",
                object_id=record.vendor_id,
                category="Diligence expiring",
                day=record.expires_on,
            )
        )
    return deadlines
