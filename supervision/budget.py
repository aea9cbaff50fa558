"""Budget alerts: the matter's responsible attorney and team hear when an engagement's accrued
cost reaches 80% and then 100% of its budget cap, each once.

The alerts go through the reminder engine (`supervision.reminders`): planned from durable
state, recorded under a unique key (the engagement, kind `budget_threshold`, threshold "80"
or "100") before they count as sent, then delivered. A retry, a second beat or two sweeps at
once record nothing twice; whatever a crash leaves unsent, the reminder sweep sends.

Only the highest threshold reached is recorded: an engagement found at 110% gets the "100"
alert, not both. A key is never recorded again, so cost that dips below a threshold and
climbs back does not alert twice.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.urls import reverse

from matters.costs import EngagementCosts, engagements_costs
from matters.models import Engagement, EngagementStatus
from supervision.models import ReminderKind
from supervision.reminders import (
    Audience,
    Delivery,
    PlannedReminder,
    SweepResult,
    one_line,
    recorded_ids,
    reminders_deliver,
    reminders_record,
)

logger = logging.getLogger(__name__)

ENGAGEMENT_OBJECT = "matters.engagement"
# (percent of the cap, threshold in the key), highest first.
BUDGET_THRESHOLDS: tuple[tuple[Decimal, str], ...] = ((Decimal(100), "100"), (Decimal(80), "80"))


def _threshold(costs: EngagementCosts) -> str | None:
    percent = costs.percent_of_cap
    if percent is None:
        return None
    return next((label for limit, label in BUDGET_THRESHOLDS if percent >= limit), None)


def capped_engagements() -> QuerySet[Engagement]:
    return Engagement.objects.filter(
        status=EngagementStatus.ACTIVE, budget_cap__gt=0
    ).select_related("matter", "vendor", "rate_card")


def _planned(engagement: Engagement, costs: EngagementCosts, threshold: str,
             recipients: list[int]) -> PlannedReminder:
    matter = engagement.matter
    context = {
        "vendor_name": engagement.vendor.name,
        "matter_number": matter.number,
        "matter_title": matter.title,
        "threshold": threshold,
        "percent": costs.percent_of_cap,
        "total": costs.total,
        "budget_cap": engagement.budget_cap,
        "currency": costs.currency,
        "exceeded": threshold == "100",
    }
    verb = "reached its budget cap" if threshold == "100" else f"used {threshold}% of its budget"
    return PlannedReminder(
        kind=ReminderKind.BUDGET_THRESHOLD,
        object_type=ENGAGEMENT_OBJECT,
        object_id=engagement.pk,
        threshold=threshold,
        recipient_ids=tuple(sorted(set(recipients))),
        subject=one_line(f"{engagement.vendor.name} on {matter.number} has {verb} "
                          f"({costs.percent_of_cap}%)"),
        body=render_to_string("reports/budget_threshold.txt", context).strip(),
        url=reverse("engagements:detail", args=[engagement.pk]),
        label=f"engagement {engagement.pk} ({engagement.vendor.name} on {matter.number}) "
              f"at {threshold}%",
    )


def budget_plan(*, now: dt.datetime) -> list[PlannedReminder]:
    """Budget alerts due at `now` and not yet recorded. Reads only.

    1. Active engagements with a cap, and their accrued cost (`matters.costs`: three queries
       for all of them).
    2. The highest threshold each has reached; keys already recorded are dropped.
    3. Recipients, in batches: the responsible attorney (if active) and the matter team
       (active, not screened).
    """
    engagements = list(capped_engagements())
    costs = engagements_costs(engagements)
    due = {}
    for engagement in engagements:
        threshold = _threshold(costs[engagement.pk])
        if threshold is not None:
            key = (ENGAGEMENT_OBJECT, engagement.pk, ReminderKind.BUDGET_THRESHOLD, threshold)
            due[key] = engagement
    recorded = recorded_ids(due)
    fresh = {key: engagement for key, engagement in due.items() if key not in recorded}
    if not fresh:
        return []
    audience = Audience()
    teams = audience.teams(engagement.matter_id for engagement in fresh.values())
    active = audience.active(engagement.matter.responsible_attorney_id
                             for engagement in fresh.values())
    planned = []
    for key, engagement in fresh.items():
        responsible = engagement.matter.responsible_attorney_id
        recipients = [*teams.get(engagement.matter_id, []),
                      *([responsible] if responsible in active else [])]
        planned.append(_planned(engagement, costs[engagement.pk], key[3], recipients))
    return planned


def budget_sweep(*, now: dt.datetime) -> SweepResult:
    """Plan, record and deliver the budget alerts due at `now`. Safe to run at any time and
    any number of times; e-mails that fail here are retried by the reminder sweep."""
    planned = budget_plan(now=now)
    recorded = reminders_record(planned=planned, now=now)
    delivery = (reminders_deliver(reminder_ids=recorded.reminder_ids) if planned
                else Delivery())
    logger.info("Budget sweep at %s: %d planned, %d recorded, %d e-mails sent, %d failed",
                now.isoformat(), len(planned), recorded.recorded, delivery.sent, delivery.failed)
    return SweepResult(planned=len(planned), recorded=recorded.recorded, delivery=delivery)
