"""Task deadlines: the vendor deadline a new task gets, moving a due date, task templates.

1. A new task's vendor deadline defaults by the firm's rules: a task template's relative due
   date in business days, else the SLA policy's turnaround (`turnaround_business_hours`),
   both counted in the matter's business calendar (its zone, public holidays of its country
   and region, the firm's closures). The calendar and the policies are supervision's
   (`supervision.sla.policy_deadline`), which this app may not import: supervision registers
   the rule in `DEADLINE_RULES` when it starts. A date a person types wins, and the task
   records which it was (`Task.sla_due_source`, `sla_due_basis`, `sla_due_set_by`).
2. A due date moves only through `task_change_due_date`: a reason, the history row
   (`TaskDueDateChange`), the audit event, and after the commit the hooks supervision
   registers (`AFTER_DUE_DATE_CHANGE_HOOKS`): the announcement to the vendor and the team and
   the re-planned reminders of the new deadline (`supervision.reminders`).
3. Task templates are rows the firm edits (`TaskTemplate`); `task_template_save` is the one
   write, for holders of `matters.manage_task_templates`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial, update_wrapper
from typing import Any, Protocol

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.forms.models import model_to_dict
from django.utils import timezone

from lpo_tracker.audit.services import audit_record
from lpo_tracker.errors import InvalidTransition, NotEligible, RuleViolation, validated
from matters.models import (
    DueDateKind,
    DueSource,
    Matter,
    Task,
    TaskDueDateChange,
    TaskStatus,
    TaskTemplate,
)
from matters.selectors import CHANGE, may_manage_task_templates, user_has_matter_perm
from vendors.selectors import is_vendor_user

AnyUser = User | AnonymousUser

# A due date of a task in these states is part of the record and no longer moves.
FINAL_STATES = (TaskStatus.DELIVERED, TaskStatus.CANCELLED)
DUE_FIELDS = {DueDateKind.SLA: "sla_due_at", DueDateKind.REVIEW: "review_due_at"}


@dataclass(frozen=True)
class DefaultDeadline:
    """A vendor deadline by the firm's rules and, in words, how it was counted."""

    due_at: dt.datetime
    source: str  # DueSource.POLICY or DueSource.TEMPLATE
    basis: str


class DeadlineRule(Protocol):
    def __call__(
        self,
        *,
        matter: Matter,
        task_type: str,
        priority: str,
        start: dt.datetime,
        business_days: int | None = None,
        template_name: str = "",
    ) -> DefaultDeadline: ...


# Registered by supervision (SupervisionConfig.ready), which owns policies and calendars.
DEADLINE_RULES: list[DeadlineRule] = []
# Run after a due-date change commits, with the change's id (supervision: the announcement
# and the re-planned reminders). A hook that fails is logged, never undoes the change.
AFTER_DUE_DATE_CHANGE_HOOKS: list[Callable[[int], object]] = []


def default_deadline(
    *,
    matter: Matter,
    task_type: str,
    priority: str,
    template: TaskTemplate | None = None,
    start: dt.datetime | None = None,
) -> DefaultDeadline:
    """The vendor deadline a new task of this type and priority gets on `matter` if nobody
    types one: the template's business days when it has them, else the SLA policy's."""
    if not DEADLINE_RULES:
        raise RuntimeError("No deadline rule is registered (is supervision installed?)")
    return DEADLINE_RULES[0](
        matter=matter,
        task_type=task_type,
        priority=priority,
        start=start or timezone.now(),
        business_days=template.due_in_business_days if template else None,
        template_name=template.name if template else "",
    )


def initial_deadline_fields(
    *,
    actor: User,
    matter: Matter,
    task_type: str,
    priority: str,
    typed: dt.datetime | None,
    template: TaskTemplate | None,
) -> dict[str, Any]:
    """The vendor-deadline fields of a new task (`task_create`): the date a person typed
    (source: that person), else the firm's default (source: the policy or the template)."""
    if typed is not None:
        return {
            "sla_due_at": typed,
            "sla_due_source": DueSource.PERSON,
            "sla_due_basis": None,
            "sla_due_set_by": actor,
        }
    default = default_deadline(
        matter=matter, task_type=task_type, priority=priority, template=template
    )
    return {
        "sla_due_at": default.due_at,
        "sla_due_source": default.source,
        "sla_due_basis": default.basis,
        "sla_due_set_by": None,
    }


# --- Moving a due date ----------------------------------------------------------------------


def due_date_change_refusal(user: AnyUser, task: Task) -> RuleViolation | None:
    """Why `user` may not move `task`'s due dates now; None when they may: firm staff who may
    change the matter (a wall beats the grant), while the task is not delivered or
    cancelled. The service raises it; the task page shows its link only when there is none."""
    if is_vendor_user(user) or not user_has_matter_perm(user, task.matter, CHANGE):
        return NotEligible(
            f"You are not allowed to change due dates on matter {task.matter.number}.",
            code="forbidden",
        )
    if task.status in FINAL_STATES:
        return InvalidTransition(
            f"“{task}” is {task.get_status_display().lower()}; its due dates are final.",
            code="wrong_state",
        )
    return None


@transaction.atomic
def task_change_due_date(
    *,
    actor: User,
    task: Task,
    kind: str,
    new_value: dt.datetime,
    reason: str,
) -> TaskDueDateChange:
    """Move a due instant; the old value, who, when and why are kept.

    1. Check the reason, the value and who asks; re-read the task under a row lock and check
       its state (`due_date_change_refusal`).
    2. Keep the history row, set the new value (a vendor deadline is then the actor's, not
       the policy's), audit.
    3. After the commit: the hooks (announcement, re-planned reminders).
    """
    if not reason.strip():
        raise RuleViolation("Say why the due date changes.", code="reason_required")
    if timezone.is_naive(new_value):
        raise RuleViolation("A due date needs a time zone.", code="naive_datetime")
    if kind not in DUE_FIELDS:
        raise RuleViolation(f"Unknown due date {kind!r}.", code="invalid")
    field = DUE_FIELDS[DueDateKind(kind)]
    locked = Task.objects.select_for_update(of=("self",)).select_related("matter").get(pk=task.pk)
    refusal = due_date_change_refusal(actor, locked)
    if refusal is not None:
        raise refusal
    old_value = getattr(locked, field)
    change = TaskDueDateChange.objects.create(
        task=locked,
        kind=kind,
        old_value=old_value,
        new_value=new_value,
        reason=reason.strip(),
        changed_by=actor,
    )
    setattr(locked, field, new_value)
    fields = [field, "updated_at"]
    if kind == DueDateKind.SLA:
        locked.sla_due_source, locked.sla_due_basis = DueSource.PERSON, None
        locked.sla_due_set_by = actor
        fields += ["sla_due_source", "sla_due_basis", "sla_due_set_by"]
    locked.save(update_fields=fields)
    audit_record(
        actor=actor,
        action="task.due_date_changed",
        obj=locked,
        matter_id=locked.matter_id,
        before={field: old_value},
        after={field: new_value, "reason": change.reason},
    )
    for hook in AFTER_DUE_DATE_CHANGE_HOOKS:
        transaction.on_commit(update_wrapper(partial(hook, change.pk), hook), robust=True)
    return change


# --- Task templates -------------------------------------------------------------------------


TEMPLATE_FIELDS = (
    "name",
    "title",
    "task_type",
    "instructions",
    "priority",
    "requires_legal_judgment",
    "estimated_hours",
    "document_count",
    "due_in_business_days",
    "is_active",
)


def templates_offered() -> list[TaskTemplate]:
    """The templates the new-task page offers (active ones, by name)."""
    return list(TaskTemplate.objects.filter(is_active=True).order_by("name"))


@transaction.atomic
def task_template_save(*, actor: User, template: TaskTemplate) -> TaskTemplate:
    """Create or edit a task template (the caller has set its fields); audited with what
    changed. Only holders of `matters.manage_task_templates`."""
    if not may_manage_task_templates(actor):
        raise NotEligible(
            "Only those who manage the firm's task templates may edit them.", code="forbidden"
        )
    before: dict[str, Any] = {}
    if template.pk is not None:
        stored = TaskTemplate.objects.select_for_update().get(pk=template.pk)
        before = model_to_dict(stored, fields=TEMPLATE_FIELDS)
    validated(template)
    template.updated_by = actor
    template.save()
    after = model_to_dict(template, fields=TEMPLATE_FIELDS)
    changed = {name for name in TEMPLATE_FIELDS if before.get(name) != after[name]}
    audit_record(
        actor=actor,
        action="task_template.created" if not before else "task_template.changed",
        obj=template,
        matter_id=None,
        before={name: _plain(before[name]) for name in changed if name in before},
        after={name: _plain(after[name]) for name in changed},
    )
    return template


def _plain(value: Any) -> Any:
    """A value as the audit trail stores it (JSON: a Decimal as text)."""
    return value if value is None or isinstance(value, bool | int | str) else str(value)
