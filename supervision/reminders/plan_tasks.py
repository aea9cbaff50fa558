"""Planners for the vendor's deadline: due soon and overdue, to the vendor's contacts and the
matter team; then the escalation ladder of a missed deadline (the matter's responsible
attorney, then the vendor's manager at the firm); and every moved due date, announced.

A reminder's key carries the deadline it is about (`deadline_stamp`), so a moved deadline is
planned afresh from its new value: thresholds the new deadline has not reached yet are sent
when they are reached; those it has reached are collapsed to the latest one, sent once.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import CharField, Exists, OuterRef, Q, Value
from django.db.models.functions import Cast, Concat

from lpo_tracker.clock import local_text
from matters.models import (
    WITH_VENDOR_STATES,
    DueDateKind,
    Task,
    TaskDueDateChange,
)
from supervision.models import (
    ReminderKind,
    ReminderRecord,
)
from supervision.reminders.base import (
    DUE_DATE_CHANGE_HORIZON,
    TASK_FIELDS,
    TASK_OBJECT,
    Audience,
    Clock,
    Key,
    PlannedReminder,
    deadline_stamp,
    object_url,
    planned_reminder,
    policy_offsets,
    recorded_ids,
    relative_text,
    task_context,
    task_label,
    user_label,
)
from supervision.sla import PolicySet

# The ladder of a missed vendor deadline, in order: rung, its delay on the policy, who.
VENDOR_LADDER = (
    ("responsible", "vendor_escalate_to_responsible_after_hours",
     "matter__responsible_attorney_id", "the matter's responsible attorney"),
    ("manager", "vendor_escalate_to_manager_after_hours",
     "engagement__vendor__manager_id", "the firm's manager of this vendor"),
)


def plan_task_deadlines(clock: Clock, policies: PolicySet, audience: Audience,
                         widest: dt.datetime, *, task_id: int | None = None
                         ) -> list[PlannedReminder]:
    """Vendor deadlines (the SLA) due soon or passed: vendor contacts and the matter team.
    Only the latest threshold reached is sent: nobody needs "due soon" for overdue work.
    Then each rung of the ladder whose delay after the deadline has passed, in order.

    A "due soon" threshold that fell before the assignment is skipped (the assignment told
    everyone), unless the deadline was moved since: a deadline pulled in after the
    assignment still gets its "due soon".

    With `task_id`, that task only: a due date just moved is planned at once
    (`due_date_change_notify`), not at the next sweep."""
    moved = TaskDueDateChange.objects.filter(task=OuterRef("pk"), kind=DueDateKind.SLA,
                                             changed_at__gte=OuterRef("assigned_at"))
    tasks = Task.objects.filter(status__in=WITH_VENDOR_STATES, sla_due_at__lte=widest)
    if task_id is not None:
        tasks = tasks.filter(pk=task_id)
    rows = list(
        tasks
        .annotate(deadline_moved=Exists(moved))
        .values(*TASK_FIELDS, "sla_due_at", "assigned_at", "deadline_moved",
                "engagement__vendor__manager_id")
    )
    due: list[tuple[Key, dict[str, Any], int | str]] = []
    for row in rows:
        policy = policies.resolve(task_type=row["task_type"], priority=row["priority"])
        calendar = clock.calendar_key(row, policy)
        deadline = row["sla_due_at"]
        stamp = deadline_stamp(deadline)
        started = None if row["deadline_moved"] else row["assigned_at"]
        offset = clock.latest_reached(calendar, deadline, policy_offsets(policy), started)
        if offset is not None:
            kind = ReminderKind.TASK_DUE_SOON if offset < 0 else ReminderKind.TASK_OVERDUE
            due.append(((TASK_OBJECT, row["id"], kind, f"{stamp}{offset:+d}h"), row, offset))
        for rung, delay_field, _, _ in VENDOR_LADDER:
            if clock.reached(calendar, deadline, getattr(policy, delay_field)):
                due.append(((TASK_OBJECT, row["id"], ReminderKind.TASK_ESCALATED,
                             f"{stamp}>{rung}"), row, rung))
    recorded = recorded_ids(key for key, _, _ in due)
    due = [item for item in due if item[0] not in recorded]
    if not due:
        return []
    contacts = audience.vendor_contacts(row["engagement__vendor_id"] for _, row, _ in due
                                        if row["engagement__vendor_id"])
    teams = audience.teams(row["matter_id"] for _, row, _ in due)
    ladder = {rung: (person_field, rung_label, delay_field)
              for rung, delay_field, person_field, rung_label in VENDOR_LADDER}
    active = audience.active(row[person_field] for _, row, detail in due
                             if isinstance(detail, str)
                             for person_field in (ladder[detail][0],))
    planned = []
    for key, row, detail in due:
        context = task_context(row, row["sla_due_at"])
        if isinstance(detail, str):
            person_field, rung_label, delay_field = ladder[detail]
            person = row[person_field]
            if person not in active:
                continue  # no one named for this rung: nothing to record
            policy = policies.resolve(task_type=row["task_type"], priority=row["priority"])
            recipients = [person]
            context.update(rung=detail, rung_label=rung_label,
                           when=f"{getattr(policy, delay_field)} business hours after it")
        else:
            recipients = [*contacts.get(row["engagement__vendor_id"], []),
                          *teams.get(row["matter_id"], [])]
            context["when"] = relative_text(detail)
        planned.append(planned_reminder(key[2], TASK_OBJECT, row["id"], key[3], recipients, context,
                                object_url("supervision:task_detail", row["id"]), task_label(row)))
    return planned


def plan_due_date_changes(now: dt.datetime, audience: Audience, *, task_id: int | None = None
                          ) -> list[PlannedReminder]:
    """Every moved due date of open work, announced once to the vendor's contacts and the
    matter team (key: the change's id). Only changes of the last week are read, so the cost
    follows what changed lately, not the whole history. With `task_id`, that task's only."""
    announced = ReminderRecord.objects.filter(
        object_type=TASK_OBJECT, object_id=OuterRef("task_id"),
        kind=ReminderKind.DUE_DATE_CHANGED,
        threshold=Concat(Value("change"), Cast(OuterRef("pk"), CharField())),
    )
    changes = TaskDueDateChange.objects.filter(changed_at__gte=now - DUE_DATE_CHANGE_HORIZON,
                                               new_value__isnull=False)
    if task_id is not None:
        changes = changes.filter(task_id=task_id)
    rows = list(
        changes
        .filter(Q(task__status__in=WITH_VENDOR_STATES) | Q(kind=DueDateKind.REVIEW))
        .exclude(Exists(announced))
        .order_by("changed_at", "pk")
        .values(*(f"task__{name}" for name in TASK_FIELDS), "pk", "task_id", "kind",
                "old_value", "new_value", "reason", "changed_by__username",
                "changed_by__first_name", "changed_by__last_name")
    )
    rows = [{**row, **{name: row[f"task__{name}"] for name in TASK_FIELDS}} for row in rows]
    if not rows:
        return []
    contacts = audience.vendor_contacts(row["engagement__vendor_id"] for row in rows
                                        if row["engagement__vendor_id"])
    teams = audience.teams(row["matter_id"] for row in rows)
    planned = []
    for row in rows:
        old = row["old_value"]
        due_kind = DueDateKind(row["kind"]).label.lower()
        context = {
            **task_context(row, row["new_value"]),
            "due_kind": due_kind,
            "due_kind_title": due_kind[:1].upper() + due_kind[1:],
            "old_local": (local_text(old, row["matter__time_zone"]) if old else "(none)"),
            "reason": row["reason"],
            "changed_by": user_label(row, "changed_by__"),
        }
        recipients = [*contacts.get(row["engagement__vendor_id"], []),
                      *teams.get(row["matter_id"], [])]
        planned.append(planned_reminder(
            ReminderKind.DUE_DATE_CHANGED, TASK_OBJECT, row["task_id"], f"change{row['pk']}",
            recipients, context, object_url("supervision:task_detail", row["task_id"]),
            task_label(row)))
    return planned
