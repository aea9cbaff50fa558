"""Every write on matters, their people and their tasks up to submission.

Each service runs in one transaction, checks who is asking and the state it starts from,
writes, and records its audit event in the same transaction. Task moves lock the task row
(`select_for_update`), so two people acting at once are serialised and the second one gets
a clear error instead of a lost update. From the first submission on, the task's moves
belong to `supervision.services`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import partial, update_wrapper
from typing import IO, Any

from django.contrib.auth.models import AnonymousUser, User
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Max, QuerySet
from django.utils import timezone
from guardian.shortcuts import assign_perm, remove_perm

from lpo_tracker.audit.services import audit_record
from lpo_tracker.clock import day_in, firm_today
from lpo_tracker.errors import InvalidTransition, NotEligible, RuleViolation, validated
from lpo_tracker.fields import TaskType
from lpo_tracker.refusals import refusals_recorded
from lpo_tracker.uploads import upload_accept
from matters.conflicts import conflict_search, hits_fingerprint, hits_record
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
from vendors.services import vendor_assignment_blockers, vendor_data_countries

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


CLEAR_CONFLICTS = "matters.clear_conflicts"
# Run after a reopening commits, with the ids of the engagements reopened (supervision
# registers the notice to the people responsible; this app may not import supervision).
AFTER_CONFLICT_REOPEN_HOOKS: list[Callable[[list[int]], object]] = []


@transaction.atomic
def engagement_record_conflict_check(
    *,
    actor: User,
    engagement: Engagement,
    result: str,
    notes: str = "",
    seen_hits_sha256: str | None = None,
) -> Engagement:
    """Record the conflict check's decision with the grounds it was made on.

    1. Only the matter's team decides; flagging needs notes.
    2. Run the conflict search again, under the engagement's row lock: the decision is made
       on these hits, which are stored with their SHA-256. If the form showed other hits
       (`seen_hits_sha256`), refuse: the person must read the new results first.
    3. Clearing despite hits needs notes and the firm's conflicts permission
       (`matters.clear_conflicts`), which a matter's team does not hold by default.
    """
    _require_matter_perm(actor, engagement.matter, CHANGE, "record a conflict check")
    if result not in (ConflictCheckStatus.CLEARED, ConflictCheckStatus.FLAGGED):
        raise RuleViolation("A conflict check is either cleared or flagged.", code="invalid")
    if result == ConflictCheckStatus.FLAGGED and not notes.strip():
        raise RuleViolation("Describe the conflict that was flagged.", code="notes_required")
    locked = Engagement.objects.select_for_update().select_related(
        "matter__client", "vendor").get(pk=engagement.pk)
    hits = hits_record(conflict_search(locked.matter, locked.vendor))
    fingerprint = hits_fingerprint(hits)
    if seen_hits_sha256 is not None and seen_hits_sha256 != fingerprint:
        raise RuleViolation("The conflict search found something new since the page was "
                            "loaded; read the current results and decide again.",
                            code="hits_changed")
    if result == ConflictCheckStatus.CLEARED and hits:
        if not notes.strip():
            raise RuleViolation(
                f"The search found {len(hits)} possible conflict(s): say why each is not one.",
                code="notes_required")
        if not actor.has_perm(CLEAR_CONFLICTS):
            raise NotEligible(
                "Clearing a check whose search found possible conflicts is for the firm's "
                "conflicts team (permission “clear conflicts”).", code="conflicts_permission")
    before = {"conflict_check_status": locked.conflict_check_status,
              "conflict_hits_sha256": locked.conflict_hits_sha256 or None}
    locked.conflict_check_status = result
    locked.conflict_checked_by = actor
    locked.conflict_checked_at = timezone.now()
    locked.conflict_notes = notes.strip()
    locked.conflict_hits = hits
    locked.conflict_hits_sha256 = fingerprint
    locked.save(
        update_fields=[
            "conflict_check_status", "conflict_checked_by", "conflict_checked_at",
            "conflict_notes", "conflict_hits", "conflict_hits_sha256",
        ]
    )
    audit_record(
        actor=actor,
        action="engagement.conflict_checked",
        obj=locked,
        matter_id=locked.matter_id,
        before=before,
        after={"conflict_check_status": result, "notes": locked.conflict_notes,
               "hits": hits, "hits_sha256": fingerprint},
    )
    return locked


def _reopen(engagements: QuerySet[Engagement], *, reason: str, actor: AnyUser | None) -> int:
    """Move every cleared engagement of `engagements` back to pending (new work is blocked
    until someone decides again), audit each, and tell the people responsible after commit."""
    now = timezone.now()
    reopened: list[int] = []
    for engagement in engagements.filter(
        conflict_check_status=ConflictCheckStatus.CLEARED
    ).select_for_update().order_by("pk"):
        engagement.conflict_check_status = ConflictCheckStatus.PENDING
        engagement.conflict_reopened_at = now
        engagement.conflict_reopen_reason = reason
        engagement.save(update_fields=["conflict_check_status", "conflict_reopened_at",
                                       "conflict_reopen_reason"])
        audit_record(
            actor=actor, action="engagement.conflict_check_reopened", obj=engagement,
            matter_id=engagement.matter_id,
            before={"conflict_check_status": ConflictCheckStatus.CLEARED,
                    "conflict_hits_sha256": engagement.conflict_hits_sha256 or None},
            after={"conflict_check_status": ConflictCheckStatus.PENDING, "reason": reason},
        )
        reopened.append(engagement.pk)
    if reopened:
        for hook in AFTER_CONFLICT_REOPEN_HOOKS:
            callback = update_wrapper(partial(hook, reopened), hook)
            transaction.on_commit(callback, robust=True)
    return len(reopened)


@transaction.atomic
def conflict_checks_reopen_for_matter(
    *, matter: Matter, reason: str, actor: AnyUser | None = None
) -> int:
    """A party joined the matter after clearance: every cleared check on it is pending
    again. Returns how many were reopened (0 when none was cleared; safe to call twice)."""
    return _reopen(Engagement.objects.filter(matter=matter), reason=reason, actor=actor)


@transaction.atomic
def conflict_checks_reopen_for_client(
    *, client: Client, reason: str, actor: AnyUser | None = None
) -> int:
    """A party related to the client on every matter: every matter of the client."""
    return _reopen(Engagement.objects.filter(matter__client=client), reason=reason,
                   actor=actor)


@transaction.atomic
def conflict_checks_reopen_for_vendor(
    *, vendor: Vendor, reason: str, actor: AnyUser | None = None
) -> int:
    """The vendor declared a new link or took on a new staff member: every cleared check
    of the vendor, on every matter, is pending again."""
    return _reopen(Engagement.objects.filter(vendor=vendor), reason=reason, actor=actor)


def _consent_fields(task_types: Sequence[str], countries: Sequence[str]
                    ) -> tuple[list[str], list[str]]:
    known = set(TaskType.values)
    unknown = [value for value in task_types if value not in known]
    if unknown:
        raise RuleViolation(f"Unknown task type(s): {', '.join(unknown)}.", code="invalid")
    codes = sorted({code.strip().upper() for code in countries if code.strip()})
    if any(len(code) != 2 or not code.isalpha() for code in codes):
        raise RuleViolation("Countries are ISO 3166-1 alpha-2 codes, e.g. US, GB.",
                            code="invalid")
    return sorted(set(task_types)), codes


def engagement_record_consent(
    *,
    actor: User,
    engagement: Engagement,
    given_by: str,
    given_on: dt.date,
    scope: str,
    evidence: UploadedFile | None,
    expires_on: dt.date | None = None,
    task_types: Sequence[str] = (),
    countries: Sequence[str] = (),
) -> Engagement:
    """Record the client's informed consent to outsourcing (Model Rule 1.6, Op. 08-451)
    with its evidence, an optional expiry and an optional scope (task types, countries).

    1. Only someone who may change the matter; who consented, when and to what; the
       evidence file is checked (name, size, type, content) before anything is written.
    2. Store the file under a random path with its SHA-256 on the row and in the audit
       event, in one transaction; a failed step removes the stored bytes. A new consent
       replaces a revoked or older one on the row; the trail keeps every one.
    """
    _require_matter_perm(actor, engagement.matter, CHANGE, "record client consent")
    if not given_by.strip() or not scope.strip():
        raise RuleViolation("Record who consented and to what.", code="invalid")
    if given_on > firm_today():
        raise RuleViolation("Consent cannot be dated in the future.", code="invalid")
    if expires_on is not None and expires_on <= given_on:
        raise RuleViolation("Consent must expire after it was given.", code="invalid")
    if evidence is None:
        raise RuleViolation("Attach the client's signed consent (a letter, an e-mail as PDF) "
                            "as evidence.", code="evidence_required")
    types, codes = _consent_fields(task_types, countries)
    # Checked and scanned before the transaction opens: an infected file records nothing,
    # and the audit event of the attempt is not rolled back with it.
    checked = upload_accept(actor=actor, upload=evidence, about=engagement,
                            matter_id=engagement.matter_id)
    stored_name = ""
    try:
        with transaction.atomic():
            locked = Engagement.objects.select_for_update().get(pk=engagement.pk)
            before = {"consent_evidence": locked.consent_evidence.name or None,
                      "consent_revoked_at": locked.consent_revoked_at}
            locked.consent_evidence.save(checked.name, evidence, save=False)
            stored_name = locked.consent_evidence.name
            locked.consent_evidence_sha256 = checked.sha256
            locked.consent_given_by = given_by.strip()
            locked.consent_given_on = given_on
            locked.consent_scope = scope.strip()
            locked.consent_expires_on = expires_on
            locked.consent_task_types = types
            locked.consent_countries = codes
            locked.consent_recorded_by = actor
            locked.consent_revoked_at = None
            locked.consent_revoked_by = None
            locked.consent_revoke_reason = ""
            locked.save(update_fields=[
                "consent_evidence", "consent_evidence_sha256", "consent_given_by",
                "consent_given_on", "consent_scope", "consent_expires_on",
                "consent_task_types", "consent_countries", "consent_recorded_by",
                "consent_revoked_at", "consent_revoked_by", "consent_revoke_reason",
            ])
            audit_record(
                actor=actor,
                action="engagement.consent_recorded",
                obj=locked,
                matter_id=locked.matter_id,
                before=before,
                after={"given_by": locked.consent_given_by, "given_on": given_on,
                       "scope": locked.consent_scope, "expires_on": expires_on,
                       "task_types": types, "countries": codes,
                       "consent_evidence": stored_name, "name": checked.name,
                       "size": checked.size, "sha256": checked.sha256},
            )
    except BaseException:
        if stored_name:
            engagement.consent_evidence.storage.delete(stored_name)
        raise
    return locked


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


@transaction.atomic
def engagement_consent_revoke(*, actor: User, engagement: Engagement, reason: str
                              ) -> Engagement:
    """The client withdrew its consent: from this moment the engagement takes no new work
    (work already with the vendor stays, for the team to recall or reassign)."""
    _require_matter_perm(actor, engagement.matter, CHANGE, "revoke client consent")
    if not reason.strip():
        raise RuleViolation("Say how the client withdrew its consent.", code="reason_required")
    locked = Engagement.objects.select_for_update().get(pk=engagement.pk)
    if not locked.has_client_consent:
        raise InvalidTransition("There is no consent in force to revoke.", code="no_consent")
    locked.consent_revoked_at = timezone.now()
    locked.consent_revoked_by = actor
    locked.consent_revoke_reason = reason.strip()
    locked.save(update_fields=["consent_revoked_at", "consent_revoked_by",
                               "consent_revoke_reason"])
    audit_record(
        actor=actor, action="engagement.consent_revoked", obj=locked,
        matter_id=locked.matter_id, before={"consent_revoked_at": None},
        after={"consent_revoked_at": locked.consent_revoked_at,
               "reason": locked.consent_revoke_reason},
    )
    return locked


def residency_blockers(engagement: Engagement) -> list[str]:
    """Where the vendor handles data (its delivery centres and declared countries) against
    the countries the client permits and those the client's consent names."""
    vendor, matter = engagement.vendor, engagement.matter
    limits = [(set(matter.client.permitted_countries or []), f"{matter.client} permits")]
    if matter.client_consent_required and engagement.consent_countries:
        limits.append((set(engagement.consent_countries), "the client's consent covers"))
    limits = [(set(code.upper() for code in codes), who) for codes, who in limits if codes]
    if not limits:
        return []
    places = vendor_data_countries(vendor)
    if not places:
        return [f"{vendor} has no delivery centre on record, and {matter.client} restricts "
                "where its data may go."]
    blockers = []
    for permitted, who in limits:
        outside = sorted(places - permitted)
        if outside:
            blockers.append(f"{vendor} handles data in {', '.join(outside)}; {who} only "
                            f"{', '.join(sorted(permitted))} (data residency).")
    return blockers


def consent_blockers(engagement: Engagement, *, day: dt.date, task_type: str | None
                     ) -> list[str]:
    """Why the client's consent does not cover new work of `task_type` on `day`."""
    matter = engagement.matter
    if not matter.client_consent_required:
        return []
    if engagement.consent_revoked_at is not None:
        return [f"{matter.client} revoked its consent to outsourcing to {engagement.vendor} "
                f"on {day_in(matter.time_zone, engagement.consent_revoked_at):%d %b %Y}."]
    if not engagement.has_client_consent:
        return [f"{matter.client} has not consented to outsourcing on {matter.number}; record "
                "the client's consent with its evidence first."]
    if engagement.consent_expires_on is not None and engagement.consent_expires_on < day:
        return [f"{matter.client}'s consent to outsourcing to {engagement.vendor} expired on "
                f"{engagement.consent_expires_on:%d %b %Y}."]
    if task_type and engagement.consent_task_types and (
        task_type not in engagement.consent_task_types
    ):
        return [f"{matter.client}'s consent does not cover {TaskType(task_type).label.lower()} "
                "work."]
    return []


def engagement_blockers(engagement: Engagement, *, day: dt.date, task_type: str | None = None
                        ) -> list[str]:
    """Why this engagement may not take new work (of `task_type`, if given) on `day`; empty
    when it may."""
    blockers = vendor_assignment_blockers(engagement.vendor, day=day)
    matter = engagement.matter
    if engagement.status != EngagementStatus.ACTIVE:
        blockers.append(f"The engagement of {engagement.vendor} on {matter.number} is closed.")
    if engagement.conflict_check_status == ConflictCheckStatus.PENDING:
        blockers.append(
            f"The conflict check of {engagement.vendor} on {matter.number} was reopened "
            f"({engagement.conflict_reopen_reason}) and must be decided again."
            if engagement.conflict_reopened_at else
            f"The conflict check of {engagement.vendor} on {matter.number} is not done yet.")
    elif engagement.conflict_check_status == ConflictCheckStatus.FLAGGED:
        blockers.append(f"The conflict check of {engagement.vendor} on {matter.number} "
                        "flagged a conflict.")
    blockers += consent_blockers(engagement, day=day, task_type=task_type)
    blockers += residency_blockers(engagement)
    if matter.status != MatterStatus.OPEN:
        blockers.append(f"Matter {matter.number} is {matter.get_status_display().lower()}.")
    return blockers


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
