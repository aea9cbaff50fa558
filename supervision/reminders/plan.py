"""Step 1, plan (read only): every planner's reminders due at `now`, minus those recorded.
"""

from __future__ import annotations

import datetime as dt

from lpo_tracker.clock import firm_today
from matters.models import (
    Task,
)
from supervision.reminders.base import (
    Audience,
    Clock,
    PlannedReminder,
)
from supervision.reminders.plan_diligence import plan_diligence
from supervision.reminders.plan_reviews import plan_review_deadlines, plan_review_waiting
from supervision.reminders.plan_tasks import plan_due_date_changes, plan_task_deadlines
from supervision.reminders.plan_training import plan_training
from supervision.reminders.watermark import watermark_read
from supervision.sla import PolicySet


def reminders_plan(*, now: dt.datetime) -> list[PlannedReminder]:
    """Everything that should go out at `now` and has not been recorded. Reads only.
    The review-waiting net reads the submissions since its watermark (`watermark.py`)."""
    clock = Clock(now)
    policies = PolicySet.load()
    audience = Audience()
    widest = clock.widest(policies)
    return [
        *plan_review_waiting(Task.objects.all(), audience, since=watermark_read()),
        *plan_review_deadlines(clock, policies, audience, widest),
        *plan_due_date_changes(now, audience),
        *plan_task_deadlines(clock, policies, audience, widest),
        *plan_diligence(firm_today(now)),
        *plan_training(firm_today(now)),
    ]
