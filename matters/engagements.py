"""Engagements (a vendor on a matter): conflict checks, client consent, data residency, and
what blocks an assignment on a day."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from decimal import Decimal
from functools import partial, update_wrapper
from typing import IO, Any

from django.contrib.auth.models import User
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from lpo_tracker.audit.services import audit_record
from lpo_tracker.clock import day_in, firm_today
from lpo_tracker.errors import InvalidTransition, NotEligible, RuleViolation, validated
from lpo_tracker.fields import TaskType
from lpo_tracker.uploads import upload_accept
from matters.conflicts import conflict_search, hits_fingerprint, hits_record
from matters.guards import AnyUser, require_matter_open, require_matter_perm
from matters.models import (
    Client,
    ConflictCheckStatus,
    Engagement,
    EngagementStatus,
    Matter,
    MatterStatus,
)
from matters.selectors import (
    CHANGE,
    SUPERVISE,
    VIEW,
    user_has_matter_perm,
)
from vendors.models import Vendor
from vendors.selectors import is_vendor_user
from vendors.services import vendor_assignment_blockers, vendor_data_countries

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
    require_matter_perm(actor, matter, CHANGE, "engage a vendor")
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
    require_matter_perm(actor, engagement.matter, CHANGE, "record a conflict check")
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
    require_matter_perm(actor, engagement.matter, CHANGE, "record client consent")
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
    require_matter_perm(actor, engagement.matter, VIEW, "read client consent evidence")
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
    require_matter_perm(actor, engagement.matter, CHANGE, "revoke client consent")
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
