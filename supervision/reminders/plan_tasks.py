"""Planner for the vendor's deadline: due soon and overdue, to the vendor's contacts and the
matter team.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from matters.models import (
    WITH_VENDOR_STATES,
    Task,
)
from supervision.models import (
    ReminderKind,
)
from supervision.reminders.base import (
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
)
from supervision.sla import PolicySet


def plan_task_deadlines(clock: Clock, policies: PolicySet, audience: Audience,
                         widest: dt.datetime) -> list[PlannedReminder]:
    """Vendor deadlines (the SLA) due soon or passed: vendor contacts and the matter team.
    Only the latest threshold reached is sent: nobody needs "due soon" for overdue work."""
    rows = list(
        Task.objects.filter(status__in=WITH_VENDOR_STATES, sla_due_at__lte=widest)
        .values(*TASK_FIELDS, "sla_due_at", "assigned_at")
    )
    due: list[tuple[Key, dict[str, Any], int]] = []
    for row in rows:
        policy = policies.resolve(task_type=row["task_type"], priority=row["priority"])
        deadline = row["sla_due_at"]
        offset = clock.latest_reached(clock.calendar_key(row, policy), deadline,
                                      policy_offsets(policy), row["assigned_at"])
        if offset is not None:
            kind = ReminderKind.TASK_DUE_SOON if offset < 0 else ReminderKind.TASK_OVERDUE
            due.append(((TASK_OBJECT, row["id"], kind, f"{deadline_stamp(deadline)}{offset:+d}h"),
                        row, offset))
    recorded = recorded_ids(key for key, _, _ in due)
    due = [item for item in due if item[0] not in recorded]
    if not due:
        return []
    contacts = audience.vendor_contacts(row["engagement__vendor_id"] for _, row, _ in due
                                        if row["engagement__vendor_id"])
    teams = audience.teams(row["matter_id"] for _, row, _ in due)
    planned = []
    for key, row, offset in due:
        recipients = [*contacts.get(row["engagement__vendor_id"], []),
                      *teams.get(row["matter_id"], [])]
        context = {**task_context(row, row["sla_due_at"]), "when": relative_text(offset)}
        planned.append(planned_reminder(key[2], TASK_OBJECT, row["id"], key[3], recipients, context,
                                object_url("supervision:task_detail", row["id"]), task_label(row)))
    return planned
