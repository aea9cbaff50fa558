"""Every write on matters, their people and their tasks up to submission (the people and the
engagements in `matters.team` and `matters.engagements`, re-exported here).

Each service runs in one transaction, checks who is asking and the state it starts from,
writes, and records its audit event in the same transaction. Task moves lock the task row
(`select_for_update`), so two people acting at once are serialised and the second one gets
a clear error instead of a lost update. From the first submission on, the task's moves
belong to `supervision.services`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from lpo_tracker.audit.services import audit_record
from lpo_tracker.clock import firm_today
from lpo_tracker.errors import InvalidTransition, NotEligible, RuleViolation, validated
from lpo_tracker.fields import Priority
from lpo_tracker.refusals import refusals_recorded
from matters.deadlines import initial_deadline_fields, task_change_due_date, task_template_save
from matters.engagements import (
    AFTER_CONFLICT_REOPEN_HOOKS,
    CLEAR_CONFLICTS,
    conflict_checks_reopen_for_client,
    conflict_checks_reopen_for_matter,
    conflict_checks_reopen_for_vendor,
    consent_blockers,
    engagement_blockers,
    engagement_consent_evidence_open,
    engagement_consent_revoke,
    engagement_create,
    engagement_record_conflict_check,
    engagement_record_consent,
    matter_audit_export_record,
    residency_blockers,
)
from matters.guards import (
    AnyUser,
    require_firm_admin,
    require_matter_open,
    require_matter_perm,
    require_team_manager,
)
from matters.models import (
    ASSIGN_FROM,
    CANCEL_FROM,
    REASSIGN_FROM,
    START_FROM,
    Client,
    Engagement,
    Matter,
    MatterRole,
    Task,
    TaskStatus,
    TaskTemplate,
)
from matters.selectors import (
    CHANGE,
    task_work_refusal,
)
from matters.team import (
    ACCESS_CHANGE_HOOKS,
    ACCESS_CHANGES,
    ROLE_PERMISSIONS,
    AccessChange,
    matter_member_add,
    matter_member_remove,
    permission_grant,
    permission_revoke,
    wall_add,
    wall_remove,
)

# matters' writes live by subject: `team` (grants, members, walls), `engagements` (conflicts,
# consent, residency), `deadlines` (moved due dates, task templates), this module (opening a
# matter, tasks up to submission); callers import any of them from here.
__all__ = [
    "ACCESS_CHANGES",
    "ACCESS_CHANGE_HOOKS",
    "AFTER_CONFLICT_REOPEN_HOOKS",
    "CLEAR_CONFLICTS",
    "ROLE_PERMISSIONS",
    "AccessChange",
    "AnyUser",
    "conflict_checks_reopen_for_client",
    "conflict_checks_reopen_for_matter",
    "conflict_checks_reopen_for_vendor",
    "consent_blockers",
    "engagement_blockers",
    "engagement_consent_evidence_open",
    "engagement_consent_revoke",
    "engagement_create",
    "engagement_record_conflict_check",
    "engagement_record_consent",
    "matter_audit_export_record",
    "matter_member_add",
    "matter_member_remove",
    "permission_grant",
    "permission_revoke",
    "require_firm_admin",
    "require_matter_open",
    "require_matter_perm",
    "require_team_manager",
    "residency_blockers",
    "task_change_due_date",
    "task_template_save",
    "wall_add",
    "wall_remove",
]

# --- Matters, people, walls ---------------------------------------------------------------


def _next_matter_number(year: int) -> str:
    last = (
        Matter.objects.filter(number__startswith=f"{year}-")
        .aggregate(last=Max("number"))["last"]
    )
    sequence = int(last.split("-")[1]) + 1 if last else 1
    return f"{year}-{sequence:04d}"


def matter_create(
    *,
    actor: User,
    client: Client,
    title: str,
    practice_area: str,
    responsible_attorney: User,
    **fields: Any,
) -> Matter:
    """Open a matter with the next number of the year; its responsible attorney supervises it.

    1. Allocate the number (retry if another writer took it first).
    2. Create the matter and grant the responsible attorney view and supervise.
    """
    if not actor.has_perm("matters.add_matter"):
        raise NotEligible("Only firm staff allowed to open matters may do so.", code="forbidden")
    for _attempt in range(5):
        number = _next_matter_number(firm_today().year)
        try:
            with transaction.atomic():
                matter = Matter(
                    number=number,
                    client=client,
                    title=title,
                    practice_area=practice_area,
                    responsible_attorney=responsible_attorney,
                    **fields,
                )
                validated(matter, exclude=["number"])
                matter.save()
                audit_record(
                    actor=actor,
                    action="matter.created",
                    obj=matter,
                    matter_id=matter.pk,
                    after={"number": matter.number, "title": title, "client": client.pk},
                )
                matter_member_add(
                    actor=actor,
                    matter=matter,
                    user=responsible_attorney,
                    role=MatterRole.SUPERVISING_ATTORNEY,
                    _skip_admin_check=True,
                )
                return matter
        except IntegrityError:
            # Another writer took this number between our read and insert: take the next.
            if not Matter.objects.filter(number=number).exists():
                raise
    raise RuleViolation("Could not allocate a matter number; try again.", code="busy")


# --- Tasks --------------------------------------------------------------------------------


def task_audit(
    actor: AnyUser | None, task: Task, action: str, before: dict[str, Any], **after: Any
) -> None:
    """Append a task's audit event (the matter's trail) in the caller's transaction."""
    audit_record(
        actor=actor, action=action, obj=task, matter_id=task.matter_id, before=before, after=after
    )


def task_lock(task: Task, *, allowed_from: tuple[str, ...], doing: str) -> Task:
    """Re-read the task under a row lock (with its matter and engagement) and check it is still
    in a state that allows this move; `allowed_from` comes from TASK_TRANSITIONS
    (`matters.models.START_FROM` …). Call inside the service's transaction."""
    # Lock the task row only: FOR UPDATE on the join would lock the matter row too and stall
    # every other write that references the matter until this transaction ends.
    locked = (
        Task.objects.select_for_update(of=("self",))
        .select_related("matter", "engagement")
        .get(pk=task.pk)
    )
    if locked.status not in allowed_from:
        raise InvalidTransition(
            f"“{locked}” is {locked.get_status_display().lower()}; it cannot {doing} now.",
            code="wrong_state",
        )
    return locked


@transaction.atomic
def task_create(
    *,
    actor: User,
    matter: Matter,
    title: str,
    task_type: str,
    sla_due_at: dt.datetime | None = None,
    template: TaskTemplate | None = None,
    **fields: Any,
) -> Task:
    """A draft task. Its vendor deadline is `sla_due_at` when a person gives one, else the
    firm's default from `template` or the SLA policy (`matters.deadlines`)."""
    require_matter_perm(actor, matter, CHANGE, "create tasks")
    require_matter_open(matter, "take new tasks", lock=True)
    fields.update(initial_deadline_fields(
        actor=actor, matter=matter, task_type=task_type,
        priority=fields.get("priority", Priority.NORMAL), typed=sla_due_at, template=template))
    task = Task(matter=matter, title=title, task_type=task_type, created_by=actor, **fields)
    validated(task, exclude=["engagement"])
    task.save()
    task_audit(actor, task, "task.created", {}, status=task.status, title=title,
               sla_due_at=task.sla_due_at, sla_due_source=task.sla_due_source,
               template=template.name if template else None)
    return task


def _check_engagement(task: Task, engagement: Engagement) -> None:
    if engagement.matter_id != task.matter_id:
        raise RuleViolation("That vendor is not engaged on this task's matter.", code="invalid")
    blockers = engagement_blockers(engagement, day=firm_today(), task_type=task.task_type)
    if blockers:
        raise RuleViolation(" ".join(blockers), code="assignment_blocked")


def task_assign(
    *,
    actor: User,
    task: Task,
    engagement: Engagement,
    sla_due_at: dt.datetime | None = None,
) -> Task:
    """Give a draft task to an engaged vendor that is vetted for it today. A refusal is
    recorded in the audit trail (who, which task and vendor, why) in its own transaction."""
    with refusals_recorded(actor=actor, action="task.assignment_refused", obj=task,
                           matter_id=task.matter_id,
                           attempt={"engagement": engagement.pk,
                                    "vendor": engagement.vendor_id}):
        return _task_assign(actor=actor, task=task, engagement=engagement,
                            sla_due_at=sla_due_at)


@transaction.atomic
def _task_assign(
    *, actor: User, task: Task, engagement: Engagement, sla_due_at: dt.datetime | None
) -> Task:
    require_matter_perm(actor, task.matter, CHANGE, "assign tasks")
    locked = task_lock(task, allowed_from=ASSIGN_FROM, doing="be assigned")
    _check_engagement(locked, engagement)
    due = sla_due_at or locked.sla_due_at
    if due is None:
        raise RuleViolation("Set the vendor's due date before assigning.", code="no_due_date")
    before = {"status": locked.status, "engagement": None}
    locked.status = TaskStatus.ASSIGNED
    locked.engagement = engagement
    locked.assigned_at = timezone.now()
    if locked.sla_due_at is None:
        locked.sla_due_at = due
    locked.save(update_fields=["status", "engagement", "assigned_at", "sla_due_at", "updated_at"])
    task_audit(actor, locked, "task.assigned", before, status=locked.status,
               engagement=engagement.pk, vendor=engagement.vendor_id,
               vendor_name=engagement.vendor.name)
    return locked


def task_reassign(
    *, actor: User, task: Task, engagement: Engagement, reason: str
) -> Task:
    """Move unsubmitted work to another engaged vendor; the new one must be vetted too. A
    refusal is recorded like an assignment's."""
    with refusals_recorded(actor=actor, action="task.assignment_refused", obj=task,
                           matter_id=task.matter_id,
                           attempt={"engagement": engagement.pk,
                                    "vendor": engagement.vendor_id, "reassignment": True}):
        return _task_reassign(actor=actor, task=task, engagement=engagement, reason=reason)


@transaction.atomic
def _task_reassign(
    *, actor: User, task: Task, engagement: Engagement, reason: str
) -> Task:
    require_matter_perm(actor, task.matter, CHANGE, "reassign tasks")
    if not reason.strip():
        raise RuleViolation("Say why the task is reassigned.", code="reason_required")
    locked = task_lock(
        task,
        allowed_from=REASSIGN_FROM,
        doing="be reassigned",
    )
    if engagement.pk == locked.engagement_id:
        raise RuleViolation("The task is already with that vendor.", code="same_vendor")
    _check_engagement(locked, engagement)
    before = {"status": locked.status, "engagement": locked.engagement_id}
    locked.status = TaskStatus.ASSIGNED
    locked.engagement = engagement
    locked.assigned_at = timezone.now()
    locked.save(update_fields=["status", "engagement", "assigned_at", "updated_at"])
    task_audit(actor, locked, "task.reassigned", before, status=locked.status,
                engagement=engagement.pk, reason=reason.strip())
    return locked


@transaction.atomic
def task_start(*, actor: User, task: Task) -> Task:
    locked = task_lock(
        task,
        allowed_from=START_FROM,
        doing="be started",
    )
    refusal = task_work_refusal(actor, locked)
    if refusal is not None:
        raise refusal
    before = {"status": locked.status}
    locked.status = TaskStatus.IN_PROGRESS
    locked.save(update_fields=["status", "updated_at"])
    task_audit(actor, locked, "task.started", before, status=locked.status)
    return locked


@transaction.atomic
def task_cancel(*, actor: User, task: Task, reason: str) -> Task:
    require_matter_perm(actor, task.matter, CHANGE, "cancel tasks")
    if not reason.strip():
        raise RuleViolation("Say why the task is cancelled.", code="reason_required")
    locked = task_lock(
        task,
        allowed_from=CANCEL_FROM,
        doing="be cancelled",
    )
    before = {"status": locked.status}
    locked.status = TaskStatus.CANCELLED
    locked.cancelled_at = timezone.now()
    locked.cancel_reason = reason.strip()
    locked.save(update_fields=["status", "cancelled_at", "cancel_reason", "updated_at"])
    task_audit(actor, locked, "task.cancelled", before, status=locked.status,
                reason=locked.cancel_reason)
    return locked
