"""Every write on matters, their people and their tasks up to submission.

Each service runs in one transaction, checks who is asking and the state it starts from,
writes, and records its audit event in the same transaction. Task moves lock the task row
(`select_for_update`), so two people acting at once are serialised and the second one gets
a clear error instead of a lost update. From the first submission on, the task's moves
belong to `supervision.services`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any

from django.contrib.auth.models import AnonymousUser, User
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from guardian.shortcuts import assign_perm, remove_perm

from lpo_tracker.audit.services import audit_record
from lpo_tracker.clock import firm_today
from lpo_tracker.errors import InvalidTransition, NotEligible, RuleViolation, validated
from lpo_tracker.uploads import CheckedUpload, upload_accept
from matters.models import (
    ASSIGN_FROM,
    CANCEL_FROM,
    REASSIGN_FROM,
    START_FROM,
    Client,
    ConflictCheckStatus,
    DueDateKind,
    Engagement,
    EngagementStatus,
    EthicalWall,
    Matter,
    MatterMembership,
    MatterRole,
    MatterStatus,
    Task,
    TaskDueDateChange,
    TaskStatus,
)
from matters.selectors import (
    CHANGE,
    SUPERVISE,
    VIEW,
    is_firm_admin,
    is_screened,
    may_manage_team,
    task_work_refusal,
    user_has_matter_perm,
)
from vendors.models import Vendor
from vendors.selectors import is_vendor_user
from vendors.services import vendor_assignment_blockers

AnyUser = User | AnonymousUser

ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    MatterRole.TEAM: (VIEW, CHANGE),
    MatterRole.SUPERVISING_ATTORNEY: (VIEW, SUPERVISE),
}


@dataclass(frozen=True)
class AccessChange:
    """Someone's access to a matter changed: the affected person is told (in-app and by
    e-mail). `change` is one of ACCESS_CHANGES; `event_id` is the audit event of it."""

    matter: Matter
    user: User
    change: str
    actor: AnyUser | None
    event_id: int


ACCESS_CHANGES = ("team_added", "team_removed", "supervising_attorney_added",
                  "supervising_attorney_removed", "wall_added", "wall_removed")
# Run inside the transaction of the change, so the notice is recorded with it or not at all;
# registered by supervision (which owns notifications; this app may not import it).
ACCESS_CHANGE_HOOKS: list[Callable[[AccessChange], None]] = []


def _access_changed(matter: Matter, user: User, change: str, actor: AnyUser | None,
                    event_id: int) -> None:
    for hook in ACCESS_CHANGE_HOOKS:
        hook(AccessChange(matter, user, change, actor, event_id))


def require_matter_open(matter: Matter, doing: str, *, lock: bool = False) -> None:
    """A closed (or on-hold) matter takes no new work: no task, engagement or upload.

    With `lock`, the status is re-read under FOR NO KEY UPDATE, which waits for a
    `matter_close` in progress (FOR UPDATE): new work either lands before the close checks
    (and blocks it) or sees the matter closed.
    """
    status = matter.status
    if lock:
        status = (Matter.objects.select_for_update(no_key=True).filter(pk=matter.pk)
                  .values_list("status", flat=True).get())
    if status != MatterStatus.OPEN:
        raise RuleViolation(
            f"Matter {matter.number} is {MatterStatus(status).label.lower()}; it cannot "
            f"{doing}.", code="matter_not_open",
        )


def _require_matter_perm(actor: AnyUser, matter: Matter, codename: str, doing: str) -> None:
    if not user_has_matter_perm(actor, matter, codename):
        raise NotEligible(f"You are not allowed to {doing} on matter {matter.number}.",
                          code="forbidden")


def _require_firm_admin(actor: AnyUser, doing: str) -> None:
    """Grants and walls are for the firm's risk/IT administrators (Django's model perms)."""
    if not is_firm_admin(actor):
        raise NotEligible(f"Only a firm administrator may {doing}.", code="forbidden")


def _require_team_manager(actor: AnyUser | None, matter: Matter, doing: str) -> None:
    """The matter's team (change_matter on it) or a firm administrator; None is the system."""
    if actor is not None and not may_manage_team(actor, matter):
        raise NotEligible(f"Only a firm administrator may {doing}.", code="forbidden")


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


@transaction.atomic
def permission_grant(
    *, actor: AnyUser | None, matter: Matter, user: User, codename: str
) -> None:
    """Grant one object permission; audited. Only the matter's team or a firm administrator
    grants, and never to a screened or vendor user."""
    _require_team_manager(actor, matter, "grant permissions on the matter")
    _grant(actor=actor, matter=matter, user=user, codename=codename)


def _grant(*, actor: AnyUser | None, matter: Matter, user: User, codename: str) -> None:
    """permission_grant once the caller has checked who is asking."""
    if codename not in (VIEW, CHANGE, SUPERVISE):
        raise RuleViolation(f"Unknown matter permission {codename!r}.", code="invalid")
    if is_screened(user, matter):
        raise RuleViolation(
            f"{user} is screened from {matter.number}; remove the wall first.", code="screened"
        )
    if is_vendor_user(user):
        raise RuleViolation("Vendor users never receive matter permissions.", code="vendor_user")
    if codename == SUPERVISE and not hasattr(user, "attorney_profile"):
        raise RuleViolation(
            f"{user} has no attorney profile, so cannot supervise.", code="not_attorney"
        )
    assign_perm(codename, user, matter)
    audit_record(
        actor=actor,
        action="permission.granted",
        obj=matter,
        matter_id=matter.pk,
        after={"user": user.pk, "username": user.get_username(), "permission": codename},
    )


@transaction.atomic
def permission_revoke(
    *, actor: AnyUser | None, matter: Matter, user: User, codename: str
) -> None:
    _require_team_manager(actor, matter, "revoke permissions on the matter")
    _revoke(actor=actor, matter=matter, user=user, codename=codename)


def _revoke(*, actor: AnyUser | None, matter: Matter, user: User, codename: str) -> None:
    remove_perm(codename, user, matter)
    audit_record(
        actor=actor,
        action="permission.revoked",
        obj=matter,
        matter_id=matter.pk,
        before={"user": user.pk, "username": user.get_username(), "permission": codename},
    )


@transaction.atomic
def matter_member_add(
    *,
    actor: User | None,
    matter: Matter,
    user: User,
    role: str,
    _skip_admin_check: bool = False,
) -> MatterMembership:
    """Add a person to the matter in a role and grant the role's permissions."""
    if not _skip_admin_check:
        _require_team_manager(actor, matter, "change the matter team")
    membership, created = MatterMembership.objects.get_or_create(
        matter=matter, user=user, role=role, defaults={"added_by": actor}
    )
    for codename in ROLE_PERMISSIONS[role]:
        _grant(actor=actor, matter=matter, user=user, codename=codename)
    if created:
        event = audit_record(actor=actor, action="membership.added", obj=matter,
                             matter_id=matter.pk,
                             after={"user": user.pk, "username": user.get_username(),
                                    "role": role})
        _access_changed(matter, user, f"{role}_added", actor, event.pk)
    return membership


@transaction.atomic
def matter_member_remove(
    *, actor: User, matter: Matter, user: User, role: str
) -> None:
    """Remove a role and revoke the permissions no remaining role of the user needs."""
    _require_team_manager(actor, matter, "change the matter team")
    if role == MatterRole.SUPERVISING_ATTORNEY and user.pk == matter.responsible_attorney_id:
        raise RuleViolation(
            "The responsible attorney supervises the matter; name another one first.",
            code="responsible_attorney",
        )
    removed, _ = MatterMembership.objects.filter(matter=matter, user=user, role=role).delete()
    kept = {
        codename
        for other in MatterMembership.objects.filter(matter=matter, user=user)
        .values_list("role", flat=True)
        for codename in ROLE_PERMISSIONS[other]
    }
    for codename in set(ROLE_PERMISSIONS[role]) - kept:
        _revoke(actor=actor, matter=matter, user=user, codename=codename)
    if removed:
        event = audit_record(actor=actor, action="membership.removed", obj=matter,
                             matter_id=matter.pk,
                             before={"user": user.pk, "username": user.get_username(),
                                     "role": role})
        _access_changed(matter, user, f"{role}_removed", actor, event.pk)


@transaction.atomic
def wall_add(
    *, actor: User, matter: Matter, user: User, reason: str
) -> EthicalWall:
    """Screen a user from a matter. The wall beats every grant from this moment on."""
    _require_firm_admin(actor, "put up an ethical wall")
    if not reason.strip():
        raise RuleViolation("Say why the user is screened.", code="reason_required")
    if user.pk == matter.responsible_attorney_id:
        raise RuleViolation(
            "The responsible attorney cannot be screened; name another one first.",
            code="responsible_attorney",
        )
    wall, created = EthicalWall.objects.get_or_create(
        matter=matter, user=user, defaults={"reason": reason.strip(), "created_by": actor}
    )
    if created:
        event = audit_record(
            actor=actor,
            action="wall.added",
            obj=matter,
            matter_id=matter.pk,
            after={"user": user.pk, "username": user.get_username(), "reason": wall.reason},
        )
        _access_changed(matter, user, "wall_added", actor, event.pk)
    return wall


@transaction.atomic
def wall_remove(
    *, actor: User, matter: Matter, user: User, reason: str
) -> None:
    _require_firm_admin(actor, "take down an ethical wall")
    if not reason.strip():
        raise RuleViolation("Say why the wall comes down.", code="reason_required")
    deleted, _ = EthicalWall.objects.filter(matter=matter, user=user).delete()
    if deleted:
        event = audit_record(
            actor=actor,
            action="wall.removed",
            obj=matter,
            matter_id=matter.pk,
            before={"user": user.pk, "username": user.get_username()},
            after={"reason": reason.strip()},
        )
        _access_changed(matter, user, "wall_removed", actor, event.pk)


# --- Engagements --------------------------------------------------------------------------


@transaction.atomic
def engagement_create(
    *,
    actor: User,
    matter: Matter,
    vendor: Vendor,
    scope: str,
    budget_cap: Decimal = Decimal("0"),
    rate_card: Any = None,
) -> Engagement:
    _require_matter_perm(actor, matter, CHANGE, "engage a vendor")
    require_matter_open(matter, "engage a vendor", lock=True)
    if rate_card is not None and (rate_card.vendor_id != vendor.pk
                                  or rate_card.currency != matter.currency):
        raise RuleViolation(
            f"Choose one of {vendor}'s rate cards in {matter.currency}, the matter's currency.",
            code="rate_card",
        )
    engagement = Engagement(
        matter=matter, vendor=vendor, scope=scope, budget_cap=budget_cap, rate_card=rate_card
    )
    validated(engagement)
    engagement.save()
    audit_record(
        actor=actor,
        action="engagement.created",
        obj=engagement,
        matter_id=matter.pk,
        after={"vendor": vendor.pk, "vendor_name": vendor.name, "scope": scope,
               "budget_cap": budget_cap},
    )
    return engagement


@transaction.atomic
def engagement_record_conflict_check(
    *, actor: User, engagement: Engagement, result: str, notes: str = ""
) -> Engagement:
    """Record the conflict check's result: cleared lets the engagement take work."""
    _require_matter_perm(actor, engagement.matter, CHANGE, "record a conflict check")
    if result not in (ConflictCheckStatus.CLEARED, ConflictCheckStatus.FLAGGED):
        raise RuleViolation("A conflict check is either cleared or flagged.", code="invalid")
    if result == ConflictCheckStatus.FLAGGED and not notes.strip():
        raise RuleViolation("Describe the conflict that was flagged.", code="notes_required")
    locked = Engagement.objects.select_for_update().get(pk=engagement.pk)
    before = {"conflict_check_status": locked.conflict_check_status}
    locked.conflict_check_status = result
    locked.conflict_checked_by = actor
    locked.conflict_checked_at = timezone.now()
    locked.conflict_notes = notes.strip()
    locked.save(
        update_fields=[
            "conflict_check_status", "conflict_checked_by", "conflict_checked_at",
            "conflict_notes",
        ]
    )
    audit_record(
        actor=actor,
        action="engagement.conflict_checked",
        obj=locked,
        matter_id=locked.matter_id,
        before=before,
        after={"conflict_check_status": result, "notes": locked.conflict_notes},
    )
    return locked


@transaction.atomic
def engagement_record_consent(
    *,
    actor: User,
    engagement: Engagement,
    given_by: str,
    given_on: dt.date,
    scope: str,
) -> Engagement:
    """Record the client's informed consent to outsourcing (Model Rule 1.6, Op. 08-451)."""
    _require_matter_perm(actor, engagement.matter, CHANGE, "record client consent")
    if not given_by.strip() or not scope.strip():
        raise RuleViolation("Record who consented and to what.", code="invalid")
    if given_on > firm_today():
        raise RuleViolation("Consent cannot be dated in the future.", code="invalid")
    locked = Engagement.objects.select_for_update().get(pk=engagement.pk)
    locked.consent_given_by = given_by.strip()
    locked.consent_given_on = given_on
    locked.consent_scope = scope.strip()
    locked.consent_recorded_by = actor
    locked.save(
        update_fields=[
            "consent_given_by", "consent_given_on", "consent_scope", "consent_recorded_by",
        ]
    )
    audit_record(
        actor=actor,
        action="engagement.consent_recorded",
        obj=locked,
        matter_id=locked.matter_id,
        after={"given_by": locked.consent_given_by, "given_on": given_on, "scope": scope},
    )
    return locked


def engagement_blockers(engagement: Engagement, *, day: dt.date) -> list[str]:
    """Why this engagement may not take new work on `day`; empty when it may."""
    blockers = vendor_assignment_blockers(engagement.vendor, day=day)
    matter = engagement.matter
    if engagement.status != EngagementStatus.ACTIVE:
        blockers.append(f"The engagement of {engagement.vendor} on {matter.number} is closed.")
    if engagement.conflict_check_status == ConflictCheckStatus.PENDING:
        blockers.append(f"The conflict check of {engagement.vendor} on {matter.number} is "
                        "not done yet.")
    elif engagement.conflict_check_status == ConflictCheckStatus.FLAGGED:
        blockers.append(f"The conflict check of {engagement.vendor} on {matter.number} "
                        "flagged a conflict.")
    if matter.client_consent_required and not engagement.has_client_consent:
        blockers.append(f"{matter.client} has not consented to outsourcing on "
                        f"{matter.number}; record the client's consent first.")
    if matter.status != MatterStatus.OPEN:
        blockers.append(f"Matter {matter.number} is {matter.get_status_display().lower()}.")
    return blockers


def _store_consent_evidence(
    actor: User, locked: Engagement, upload: UploadedFile, checked: CheckedUpload
) -> str:
    """Store the file on the locked row under a random path and audit it with its name, size
    and SHA-256 (the row has only the file); returns the stored name. A newer file replaces
    the older one on the row; the trail keeps both."""
    before = {"consent_evidence": locked.consent_evidence.name or None}
    locked.consent_evidence.save(checked.name, upload, save=False)
    stored_name = locked.consent_evidence.name
    locked.save(update_fields=["consent_evidence"])
    audit_record(
        actor=actor,
        action="engagement.consent_evidence_added",
        obj=locked,
        matter_id=locked.matter_id,
        before=before,
        after={"consent_evidence": stored_name, "name": checked.name,
               "size": checked.size, "sha256": checked.sha256},
    )
    return stored_name


def engagement_consent_evidence_add(
    *, actor: User, engagement: Engagement, upload: UploadedFile
) -> Engagement:
    """Attach the client's signed consent (a letter, an e-mail as PDF) to the engagement.

    1. Only someone who may change the matter; the file is checked (name, size, type,
       content) and scanned for malware before anything is written (an infected file is
       refused and the attempt audited).
    2. Store it under a random path, audited, in one transaction. A failed step removes the
       stored bytes.
    """
    _require_matter_perm(actor, engagement.matter, CHANGE, "record client consent")
    checked = upload_accept(actor=actor, upload=upload, about=engagement,
                            matter_id=engagement.matter_id)
    stored_name = ""
    try:
        with transaction.atomic():
            locked = Engagement.objects.select_for_update().get(pk=engagement.pk)
            stored_name = _store_consent_evidence(actor, locked, upload, checked)
    except BaseException:
        if stored_name:
            engagement.consent_evidence.storage.delete(stored_name)
        raise
    return locked


def engagement_consent_record_with_evidence(
    *, actor: User, engagement: Engagement, given_by: str, given_on: dt.date, scope: str,
    evidence: UploadedFile | None = None,
) -> Engagement:
    """Record the client's consent and, in the same transaction, its evidence file (the
    consent form of the engagement page): both or neither.

    The file is checked and scanned before the transaction opens: an infected file records
    neither, and the audit event of the attempt is not rolled back with them.
    """
    _require_matter_perm(actor, engagement.matter, CHANGE, "record client consent")
    checked = (
        upload_accept(actor=actor, upload=evidence, about=engagement,
                      matter_id=engagement.matter_id)
        if evidence is not None else None
    )
    stored_name = ""
    try:
        with transaction.atomic():
            recorded = engagement_record_consent(actor=actor, engagement=engagement,
                                                 given_by=given_by, given_on=given_on,
                                                 scope=scope)
            if evidence is not None and checked is not None:
                stored_name = _store_consent_evidence(actor, recorded, evidence, checked)
    except BaseException:
        if stored_name:
            engagement.consent_evidence.storage.delete(stored_name)
        raise
    return recorded


@transaction.atomic
def engagement_consent_evidence_open(*, actor: User, engagement: Engagement) -> IO[bytes]:
    """Open the consent evidence for a firm user who may see the matter; the download is
    audited in the same transaction."""
    _require_matter_perm(actor, engagement.matter, VIEW, "read client consent evidence")
    if is_vendor_user(actor):
        raise NotEligible("Vendor users never read client consent.", code="vendor_user")
    handle = engagement.consent_evidence.open("rb")
    audit_record(actor=actor, action="engagement.consent_evidence_downloaded",
                 obj=engagement, matter_id=engagement.matter_id,
                 after={"consent_evidence": engagement.consent_evidence.name})
    return handle


@transaction.atomic
def matter_audit_export_record(
    *, actor: User, matter: Matter, first_day: dt.date, last_day: dt.date, events: int
) -> None:
    """Record that `actor` exported the matter's audit trail for [first_day, last_day] (the
    matter's zone), in its own short transaction before the file is written."""
    if not (user_has_matter_perm(actor, matter, CHANGE)
            or user_has_matter_perm(actor, matter, SUPERVISE)):
        raise NotEligible("Exporting the audit trail needs edit or supervision rights.",
                          code="forbidden")
    audit_record(actor=actor, action="audit.exported", obj=matter, matter_id=matter.pk,
                 after={"start": first_day.isoformat(), "end": last_day.isoformat(),
                        "time_zone": matter.time_zone, "events": events})


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
    **fields: Any,
) -> Task:
    _require_matter_perm(actor, matter, CHANGE, "create tasks")
    require_matter_open(matter, "take new tasks", lock=True)
    task = Task(matter=matter, title=title, task_type=task_type, created_by=actor, **fields)
    validated(task, exclude=["engagement"])
    task.save()
    task_audit(actor, task, "task.created", {}, status=task.status, title=title)
    return task


def _check_engagement(task: Task, engagement: Engagement) -> None:
    if engagement.matter_id != task.matter_id:
        raise RuleViolation("That vendor is not engaged on this task's matter.", code="invalid")
    blockers = engagement_blockers(engagement, day=firm_today())
    if blockers:
        raise RuleViolation(" ".join(blockers), code="assignment_blocked")


@transaction.atomic
def task_assign(
    *,
    actor: User,
    task: Task,
    engagement: Engagement,
    sla_due_at: dt.datetime | None = None,
) -> Task:
    """Give a draft task to an engaged vendor that is vetted for it today."""
    _require_matter_perm(actor, task.matter, CHANGE, "assign tasks")
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


@transaction.atomic
def task_reassign(
    *, actor: User, task: Task, engagement: Engagement, reason: str
) -> Task:
    """Move unsubmitted work to another engaged vendor; the new one must be vetted too."""
    _require_matter_perm(actor, task.matter, CHANGE, "reassign tasks")
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
    _require_matter_perm(actor, task.matter, CHANGE, "cancel tasks")
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


@transaction.atomic
def task_change_due_date(
    *,
    actor: User,
    task: Task,
    kind: str,
    new_value: dt.datetime,
    reason: str,
) -> TaskDueDateChange:
    """Move a due instant; the old value, who, when and why are kept."""
    _require_matter_perm(actor, task.matter, CHANGE, "change due dates")
    if not reason.strip():
        raise RuleViolation("Say why the due date changes.", code="reason_required")
    if timezone.is_naive(new_value):
        raise RuleViolation("A due date needs a time zone.", code="naive_datetime")
    fields = {DueDateKind.SLA: "sla_due_at", DueDateKind.REVIEW: "review_due_at"}
    if kind not in fields:
        raise RuleViolation(f"Unknown due date {kind!r}.", code="invalid")
    field = fields[DueDateKind(kind)]
    locked = Task.objects.select_for_update(of=("self",)).get(pk=task.pk)
    if locked.status in (TaskStatus.DELIVERED, TaskStatus.CANCELLED):
        raise InvalidTransition(
            f"“{locked}” is {locked.get_status_display().lower()}; its due dates are final.",
            code="wrong_state",
        )
    old_value = getattr(locked, field)
    change = TaskDueDateChange.objects.create(
        task=locked, kind=kind, old_value=old_value, new_value=new_value,
        reason=reason.strip(), changed_by=actor,
    )
    setattr(locked, field, new_value)
    locked.save(update_fields=[field, "updated_at"])
    task_audit(actor, locked, "task.due_date_changed", {field: old_value},
                **{field: new_value, "reason": change.reason})
    return change
