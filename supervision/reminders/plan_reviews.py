"""Planners for the supervising attorneys: a version waiting for review, and the review
window closing, closed and escalated (business hours on the matter's calendar).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.db.models import CharField, Exists, OuterRef, QuerySet, Value
from django.db.models.functions import Cast, Concat

from matters.models import (
    AWAITING_REVIEW_STATES,
    DueDateKind,
    Task,
    TaskDueDateChange,
    TaskStatus,
)
from supervision.models import (
    ReminderKind,
    ReminderRecord,
    Review,
    ReviewDecision,
    SlaPolicy,
)
from supervision.reminders.base import (
    ID_CHUNK,
    TASK_FIELDS,
    TASK_OBJECT,
    Audience,
    Clock,
    Key,
    PlannedReminder,
    batches,
    deadline_stamp,
    object_url,
    planned_reminder,
    policy_offsets,
    recorded_ids,
    relative_text,
    task_context,
    task_label,
    with_latest_version,
)
from supervision.sla import PolicySet

# --- 1. Plan --------------------------------------------------------------------------------


def plan_review_waiting(tasks: QuerySet[Task], audience: Audience,
                        since: dt.datetime | None = None) -> list[PlannedReminder]:
    """Supervising attorneys are told once per version that a review is waiting.

    The versions already announced (nearly all of them: the after-commit hook records each
    one) are dropped by the database with an anti-join on the reminder's unique key, so the
    sweep does not read every submitted task of the firm back into Python on each run.
    `since` (the sweep's watermark, `watermark.py`) bounds it to the tasks submitted since
    the last complete sweep: a range of `task_status_submitted_idx`."""
    announced = ReminderRecord.objects.filter(
        object_type=TASK_OBJECT, object_id=OuterRef("pk"), kind=ReminderKind.REVIEW_WAITING,
        threshold=Concat(Value("v"), Cast(OuterRef("latest_version"), CharField())),
    )
    tasks = tasks.filter(status=TaskStatus.SUBMITTED)
    if since is not None:
        tasks = tasks.filter(submitted_at__gte=since)
    rows = list(
        with_latest_version(tasks)
        .exclude(Exists(announced))
        .values(*TASK_FIELDS, "review_due_at", "latest_version", "latest_submitter")
    )
    fresh = {(TASK_OBJECT, row["id"], ReminderKind.REVIEW_WAITING, f"v{row['latest_version']}"):
             row for row in rows if row["latest_version"]}
    supervisors = audience.supervisors(row["matter_id"] for row in fresh.values())
    planned = []
    for key, row in fresh.items():
        recipients = [user_id for user_id in supervisors.get(row["matter_id"], [])
                      if user_id != row["latest_submitter"]]
        context = {**task_context(row, row["review_due_at"]), "version": row["latest_version"]}
        planned.append(planned_reminder(key[2], TASK_OBJECT, row["id"], key[3], recipients, context,
                                object_url("supervision:task_detail", row["id"]), task_label(row)))
    return planned


def plan_review_deadlines(clock: Clock, policies: PolicySet, audience: Audience,
                           widest: dt.datetime, *, task_id: int | None = None
                           ) -> list[PlannedReminder]:
    """Review windows closing or closed: the reviewer first (the latest threshold reached),
    then each rung of the escalation ladder whose delay has passed, in ladder order.

    1. One indexed range scan: awaiting review and `review_due_at <= widest`.
    2. In memory, per task: its policy, its calendar, the thresholds `now` has reached.
    3. Drop keys already recorded; read recipients in batches for what is left.

    With `task_id`, that task only (a window just moved, `due_date_change_notify`).
    """
    moved = TaskDueDateChange.objects.filter(task=OuterRef("pk"), kind=DueDateKind.REVIEW,
                                             changed_at__gte=OuterRef("submitted_at"))
    tasks = Task.objects.filter(status__in=AWAITING_REVIEW_STATES, review_due_at__lte=widest)
    if task_id is not None:
        tasks = tasks.filter(pk=task_id)
    rows = list(
        with_latest_version(tasks).annotate(window_moved=Exists(moved))
        .values(*TASK_FIELDS, "review_due_at", "submitted_at", "latest_submitter",
                "window_moved")
    )
    due: list[tuple[Key, dict[str, Any], SlaPolicy, str]] = []
    for row in rows:
        policy = policies.resolve(task_type=row["task_type"], priority=row["priority"])
        calendar = clock.calendar_key(row, policy)
        deadline = row["review_due_at"]
        stamp = deadline_stamp(deadline)
        # A window moved since the submission is planned from its new end, "due soon"
        # included (see plan_task_deadlines).
        started = None if row["window_moved"] else row["submitted_at"]
        offset = clock.latest_reached(calendar, deadline, policy_offsets(policy, review=True),
                                      started)
        if offset is not None:
            reviewer_kind = (ReminderKind.REVIEW_DUE_SOON if offset < 0
                             else ReminderKind.REVIEW_OVERDUE)
            due.append(((TASK_OBJECT, row["id"], reviewer_kind, f"{stamp}{offset:+d}h"), row,
                        policy, relative_text(offset)))
        for rung, delay in (("responsible", policy.escalate_to_responsible_after_hours),
                            ("partner", policy.escalate_to_partner_after_hours)):
            if clock.reached(calendar, deadline, delay):
                due.append(((TASK_OBJECT, row["id"], ReminderKind.REVIEW_ESCALATED,
                             f"{stamp}>{rung}"), row, policy, rung))
    recorded = recorded_ids(key for key, *_ in due)
    due = [item for item in due if item[0] not in recorded]
    if not due:
        return []
    reviewers: dict[int, list[int]] = defaultdict(list)
    task_ids = sorted({row["id"] for _, row, _, _ in due})
    for chunk in batches(task_ids, ID_CHUNK):
        for task_id, reviewer_id in Review.objects.filter(
            submission__task_id__in=chunk, decision=ReviewDecision.PENDING
        ).values_list("submission__task_id", "reviewer_id"):
            reviewers[task_id].append(reviewer_id)
    supervisors = audience.supervisors(
        row["matter_id"] for _, row, _, _ in due if not reviewers.get(row["id"]))
    active = audience.active(
        [row["matter__responsible_attorney_id"] for _, row, _, _ in due]
        + [policy.escalation_partner_id or 0 for _, _, policy, _ in due]
    )
    planned = []
    for key, row, policy, detail in due:
        kind = key[2]
        if kind == ReminderKind.REVIEW_ESCALATED:
            person = (row["matter__responsible_attorney_id"] if detail == "responsible"
                      else policy.escalation_partner_id)
            if person not in active:
                continue  # no one named for this rung (yet): nothing to record
            recipients = [person]
            hours = (policy.escalate_to_responsible_after_hours if detail == "responsible"
                     else policy.escalate_to_partner_after_hours)
            when = f"{hours} business hours after the review window closed"
        else:
            recipients = reviewers.get(row["id"]) or [
                user_id for user_id in supervisors.get(row["matter_id"], [])
                if user_id != row["latest_submitter"]]
            when = detail
        context = {**task_context(row, row["review_due_at"]), "when": when, "rung": detail,
                   "reviewer_assigned": bool(reviewers.get(row["id"]))}
        planned.append(planned_reminder(kind, TASK_OBJECT, row["id"], key[3], recipients, context,
                                object_url("supervision:task_detail", row["id"]), task_label(row)))
    return planned
