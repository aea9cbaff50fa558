"""Reminders and escalations from durable state (docs/architecture.md, "Who is reminded").

A reminder goes through three steps. Each is safe to repeat, and safe to run twice at once:

1. Plan (read only). Set-based, indexed queries find what is due soon, due or overdue now:
   reviews waiting for an attorney, review windows closing or closed (then the escalation
   ladder), vendor deadlines, expiring due diligence. Each reminder has a key (object, kind,
   threshold); keys already recorded are dropped.
2. Record (the claim). In one transaction per batch: insert the `ReminderRecord`s (INSERT …
   ON CONFLICT DO NOTHING on the unique key) and one in-app `Notification` per recipient
   (unique per user and reminder). A retry, a rerun or a second sweep records nothing twice.
3. Deliver (the outbox). Each notification is the outbox row of its e-mail: state,
   attempts, next attempt, last error. Claim one due row at a time (SELECT … FOR UPDATE
   SKIP LOCKED on PostgreSQL), send its e-mail, mark it sent with a conditional update,
   commit. An unreachable mail server stops the run and counts on no e-mail; a refused
   message backs off on its own row and finally gives up for a person to re-arm
   (`deliver.py`, `outbox.py`). A record's `sent_at` is set once none of its immediate
   e-mails is left. Whatever a crash leaves unsent, the next sweep sends; two deliverers
   never pick the same row.

The one gap no database can close is the SMTP boundary: if the process dies after the mail
server accepted a message and before the commit that marks it, that one message goes again
(at-least-once). Each message carries a Message-ID derived from its notification, so the
repeat is recognisable as the same message. Everything before that boundary is exactly once.

Thresholds are business hours relative to the deadline (`SlaPolicy.reminder_offsets_hours`,
e.g. [-24, 0, 24]). To keep the sweep set-based, `now` is shifted by each offset once per
business calendar (matter zone, holidays, policy hours) rather than once per task: "24
business hours before" becomes "deadline <= now + 24 business hours on that calendar".

The package: `base` (the planned reminder, the business-hour clock, the audience, shared
helpers), one planner per module (`plan_reviews`, `plan_tasks`, `plan_diligence`; budget
alerts in `supervision.budget`), `plan`, `record` and `deliver` for the three steps, and
here the entry points the Celery tasks and commands call. Import from this package, not from
its modules.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db.models import Exists, OuterRef

from matters.models import Task, TaskDueDateChange
from supervision.models import Notification, ReminderKind, Submission
from supervision.reminders.base import (
    MAX_EMAIL_ATTEMPTS,
    SEND_ERRORS,
    SMTP_TIMEOUT_SECONDS,
    TASK_OBJECT,
    Audience,
    Delivery,
    DeliveryIncomplete,
    PlannedReminder,
    Recorded,
    SweepResult,
    one_line,
    recorded_ids,
    reminder_body,
    retry_delay,
)
from supervision.reminders.base import Clock as Clock
from supervision.reminders.deliver import OPEN_STATES, reader_screened, reminders_deliver
from supervision.reminders.outbox import notification_email_rearm
from supervision.reminders.plan import reminders_plan
from supervision.reminders.plan_reviews import plan_review_deadlines, plan_review_waiting
from supervision.reminders.plan_tasks import plan_due_date_changes, plan_task_deadlines
from supervision.reminders.record import reminders_record
from supervision.reminders.watermark import (
    watermark_advance,
    watermark_candidate,
    watermark_read,
    watermark_reset,
)
from supervision.resolution import notifications_resolve
from supervision.sla import PolicySet

__all__ = [
    "MAX_EMAIL_ATTEMPTS",
    "SEND_ERRORS",
    "SMTP_TIMEOUT_SECONDS",
    "Audience",
    "Clock",
    "Delivery",
    "DeliveryIncomplete",
    "PlannedReminder",
    "Recorded",
    "SweepResult",
    "due_date_change_notify",
    "notification_email_rearm",
    "one_line",
    "pending_delivery_count",
    "reader_screened",
    "recorded_ids",
    "reminder_body",
    "reminders_deliver",
    "reminders_plan",
    "reminders_record",
    "reminders_sweep",
    "retry_delay",
    "review_waiting_notify",
    "watermark_advance",
    "watermark_candidate",
    "watermark_read",
    "watermark_reset",
]

logger = logging.getLogger(__name__)


# --- Entry points ---------------------------------------------------------------------------


def reminders_sweep(*, now: dt.datetime) -> SweepResult:
    """Plan, record and deliver everything due at `now`, then retry what earlier runs left.
    Once everything planned is recorded, the review-waiting net's watermark moves to where
    this sweep started looking (`watermark.py`); a sweep that fails before leaves it."""
    mark = watermark_candidate(now)  # before the first query of the plan
    planned = reminders_plan(now=now)
    recorded = reminders_record(planned=planned, now=now)
    watermark_advance(mark)
    delivery = reminders_deliver(now=now)
    # The catch-all of the one resolution rule: notices whose reason went away by a write
    # that bypassed the save receivers.
    notifications_resolve(now=now)
    logger.info("Reminder sweep at %s: %d planned, %d recorded, %d e-mails sent, %d failed",
                now.isoformat(), len(planned), recorded.recorded, delivery.sent, delivery.failed)
    return SweepResult(planned=len(planned), recorded=recorded.recorded, delivery=delivery)


def review_waiting_notify(*, submission_id: int, now: dt.datetime) -> SweepResult:
    """Tell the supervising attorneys that this version waits for review, right after the
    submission commits. Nothing happens if a newer version or a reviewer got there first."""
    submission = Submission.objects.filter(pk=submission_id).values("task_id", "version").first()
    if submission is None:
        return SweepResult(planned=0, recorded=0, delivery=Delivery())
    newer = Submission.objects.filter(task=OuterRef("pk"), version__gt=submission["version"])
    still_latest = Task.objects.filter(pk=submission["task_id"]).exclude(Exists(newer))
    planned = plan_review_waiting(still_latest, Audience())
    recorded = reminders_record(planned=planned, now=now)
    key = (TASK_OBJECT, submission["task_id"], ReminderKind.REVIEW_WAITING,
           f"v{submission['version']}")
    delivery = reminders_deliver(reminder_ids=recorded_ids([key]).values(), now=now)
    return SweepResult(planned=len(planned), recorded=recorded.recorded, delivery=delivery)


def due_date_change_notify(*, change_id: int, now: dt.datetime) -> SweepResult:
    """Right after a due date moved (`matters.deadlines.task_change_due_date` commits): the
    sweep's own planners, for that task only, at once. The move is announced to the vendor's
    contacts and the team, and the moved deadline's reminders are planned from its new value
    (a deadline pulled into the past is overdue now). Keys are the sweep's, so the next sweep
    records nothing twice; if this never runs (broker down), the sweep does the same."""
    task_id = TaskDueDateChange.objects.filter(pk=change_id).values_list("task_id",
                                                                         flat=True).first()
    if task_id is None:
        return SweepResult(planned=0, recorded=0, delivery=Delivery())
    clock = Clock(now)
    policies = PolicySet.load()
    audience = Audience()
    widest = clock.widest(policies)
    planned = [
        *plan_due_date_changes(now, audience, task_id=task_id),
        *plan_task_deadlines(clock, policies, audience, widest, task_id=task_id),
        *plan_review_deadlines(clock, policies, audience, widest, task_id=task_id),
    ]
    recorded = reminders_record(planned=planned, now=now)
    delivery = reminders_deliver(
        reminder_ids=recorded_ids(reminder.key for reminder in planned).values(), now=now)
    return SweepResult(planned=len(planned), recorded=recorded.recorded, delivery=delivery)


def pending_delivery_count() -> int:
    """E-mails still to go (pending or retrying; given-up ones wait for a person)."""
    return Notification.objects.filter(emailed_at__isnull=True,
                                       email_state__in=OPEN_STATES).count()
