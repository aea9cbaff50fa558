"""Rules and reads about the vendor's people: their qualifications and training, and the one
answer to "may this person perform this work today" (`performer_refusal`).

Who does what (docs/rules.md, "Vendor staff credentials"):

- the firm's vendor managers (`vendors.change_vendor`) record, edit and verify
  qualifications and record training with its evidence; readers (`vendors.view_vendor`) see
  them on the vendor's page;
- a vendor user sees their own credentials in the portal, and nobody else's;
- everyone else: nothing (vendor users 404 on the staff pages, other staff 403).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import IO

from django.contrib.auth.models import User
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.utils import timezone

from lpo_tracker.audit.services import audit_record
from lpo_tracker.errors import NotEligible, RuleViolation, validated
from lpo_tracker.uploads import upload_accept
from vendors.models import Vendor, VendorUser
from vendors.selectors import (
    CHANGE_VENDORS,
    EXPIRING_WITHIN_DAYS,
    VIEW_VENDORS,
    AnyUser,
    may_manage_vendors,
    require_vendor_manager,
    vendor_of,
)
from vendors.staff_models import (
    REGISTERED_KINDS,
    REQUIRED_TRAINING,
    PerformerRequirement,
    QualificationKind,
    StaffQualification,
    StaffTraining,
    TrainingTopic,
)

# --- May this person perform this work ------------------------------------------------------


def performer_refusal(
    member: VendorUser | None, *, vendor_id: int, task_type: str, day: dt.date
) -> NotEligible | None:
    """Why `member` may not be named as the performer of work of `task_type` for vendor
    `vendor_id` on `day`; None when they may. The one definition: the submission service,
    the upload forms and the task pages all ask it.

    1. A member of that vendor, active, with an active account.
    2. Confidentiality and data-protection training, each valid on the day (with evidence).
    3. Where the task type needs a qualified performer (`PerformerRequirement`), a verified
       qualification of one of the kinds it accepts.
    """
    if member is None:
        return NotEligible("Name who at the vendor performed the work.", code="performer_required")
    if member.vendor_id != vendor_id:
        return NotEligible(
            f"{_name(member)} does not work for the task's vendor.", code="performer_other_vendor"
        )
    if not (member.is_active and member.user.is_active):
        return NotEligible(f"{_name(member)}'s access is deactivated.", code="performer_inactive")
    trained = set(
        StaffTraining.objects.filter(member=member, topic__in=REQUIRED_TRAINING)
        .valid_on(day)
        .values_list("topic", flat=True)
    )
    missing = [
        TrainingTopic(topic).label.lower() for topic in REQUIRED_TRAINING if topic not in trained
    ]
    if missing:
        return NotEligible(
            f"{_name(member)} has no current {' or '.join(missing)} training on "
            f"{day:%d %b %Y}; record the renewed training first.",
            code="performer_untrained",
        )
    requirement = PerformerRequirement.objects.filter(task_type=task_type).first()
    if requirement is not None and requirement.qualifications:
        qualified = StaffQualification.objects.filter(
            member=member, kind__in=requirement.qualifications, verified_at__isnull=False
        ).exists()
        if not qualified:
            kinds = " or ".join(
                QualificationKind(kind).label.lower() for kind in requirement.qualifications
            )
            because = f" ({requirement.reason})" if requirement.reason else ""
            return NotEligible(
                f"{requirement.get_task_type_display()} must be performed by a verified "
                f"{kinds}{because}; {_name(member)} is not one.",
                code="performer_unqualified",
            )
    return None


def _name(member: VendorUser) -> str:
    return member.user.get_full_name() or member.user.get_username()


def performers_for(vendor_id: int) -> QuerySet[VendorUser]:
    """The vendor's active people, for the "performed by" choice (one query)."""
    return (
        VendorUser.objects.filter(vendor_id=vendor_id, is_active=True, user__is_active=True)
        .select_related("user")
        .order_by("user__last_name", "user__username")
    )


# --- Reading credentials --------------------------------------------------------------------


class TrainingState:
    VALID = "valid"
    EXPIRING = "expiring"
    EXPIRED = "expired"
    MISSING = "missing"
    LABELS = {
        VALID: "Current",
        EXPIRING: f"Expires within {EXPIRING_WITHIN_DAYS} days",
        EXPIRED: "Expired",
        MISSING: "Not recorded",
    }
    PILLS = {VALID: "ok", EXPIRING: "warn", EXPIRED: "bad", MISSING: "bad"}


@dataclass(frozen=True)
class TrainingStatus:
    topic: str
    state: str
    latest: StaffTraining | None

    @property
    def topic_label(self) -> str:
        return str(TrainingTopic(self.topic).label)

    @property
    def label(self) -> str:
        return TrainingState.LABELS[self.state]

    @property
    def pill(self) -> str:
        return TrainingState.PILLS[self.state]


@dataclass(frozen=True)
class MemberCredentials:
    member: VendorUser
    qualifications: list[StaffQualification]
    training: list[TrainingStatus]
    records: list[StaffTraining]

    @property
    def trained(self) -> bool:
        return all(
            status.state in (TrainingState.VALID, TrainingState.EXPIRING)
            for status in self.training
        )


def _training_status(records: list[StaffTraining], topic: str, day: dt.date) -> TrainingStatus:
    current = [
        record
        for record in records
        if record.topic == topic and record.completed_on <= day <= record.expires_on
    ]
    if current:
        best = max(current, key=lambda record: record.expires_on)
        soon = (best.expires_on - day).days <= EXPIRING_WITHIN_DAYS
        return TrainingStatus(topic, TrainingState.EXPIRING if soon else TrainingState.VALID, best)
    past = [record for record in records if record.topic == topic]
    if past:
        return TrainingStatus(
            topic, TrainingState.EXPIRED, max(past, key=lambda record: record.expires_on)
        )
    return TrainingStatus(topic, TrainingState.MISSING, None)


def credentials_of(members: QuerySet[VendorUser], *, day: dt.date) -> list[MemberCredentials]:
    """Each member with their qualifications and training, in three queries whatever the
    number of people: the members, their qualifications, their training records."""
    rows = members.select_related("user").prefetch_related(
        Prefetch(
            "qualifications",
            queryset=StaffQualification.objects.select_related("verified_by").order_by(
                "kind", "jurisdiction"
            ),
        ),
        Prefetch("trainings", queryset=StaffTraining.objects.order_by("topic", "-expires_on")),
    )
    result = []
    for member in rows:
        records = list(member.trainings.all())
        result.append(
            MemberCredentials(
                member=member,
                qualifications=list(member.qualifications.all()),
                training=[_training_status(records, topic, day) for topic in REQUIRED_TRAINING],
                records=records,
            )
        )
    return result


def vendor_credentials(vendor: Vendor, *, day: dt.date) -> list[MemberCredentials]:
    return credentials_of(
        VendorUser.objects.filter(vendor=vendor).order_by("user__last_name", "user__username"),
        day=day,
    )


def get_member_for(user: AnyUser, pk: int, *, write: bool = False) -> VendorUser:
    """A vendor's staff member, for a firm vendor manager (404 vendor users, 403 others)."""
    require_vendor_manager(user, write=write)
    member = VendorUser.objects.select_related("user", "vendor").filter(pk=pk).first()
    if member is None:
        raise Http404("No such person.")
    return member


def get_qualification_for(user: AnyUser, pk: int) -> StaffQualification:
    require_vendor_manager(user, write=True)
    qualification = (
        StaffQualification.objects.select_related("member__user", "member__vendor")
        .filter(pk=pk)
        .first()
    )
    if qualification is None:
        raise Http404("No such qualification.")
    return qualification


def get_training_for(user: AnyUser, pk: int) -> StaffTraining:
    """A training record for a firm user who may view vendors, or for the person it is
    about; 404 for anyone else (another vendor user learns nothing)."""
    own = vendor_of(user)
    records = StaffTraining.objects.select_related("member__user", "member__vendor")
    if own is not None:
        records = records.filter(member=own)
    else:
        require_vendor_manager(user)
    training = records.filter(pk=pk).first()
    if training is None:
        raise Http404("No such training record.")
    return training


# --- Writes ---------------------------------------------------------------------------------


def _require_manager(actor: AnyUser, doing: str, perm: str = CHANGE_VENDORS) -> None:
    if not may_manage_vendors(actor, perm):
        raise NotEligible(f"Only the firm's vendor managers may {doing}.", code="forbidden")


def _qualification_facts(qualification: StaffQualification) -> dict[str, object]:
    return {
        "member": qualification.member_id,
        "kind": qualification.kind,
        "jurisdiction": qualification.jurisdiction,
        "registration_number": qualification.registration_number,
        "description": qualification.description,
        "verified": qualification.verified_at is not None,
    }


def _clean_qualification(qualification: StaffQualification) -> None:
    if qualification.kind not in REGISTERED_KINDS and not qualification.description:
        raise RuleViolation("Describe the qualification (e.g. the certificate).", code="invalid")
    validated(qualification)


@transaction.atomic
def qualification_add(
    *,
    actor: User,
    member: VendorUser,
    kind: str,
    jurisdiction: str = "",
    registration_number: str = "",
    description: str = "",
) -> StaffQualification:
    """Record what a vendor user is qualified as; it counts once verified."""
    _require_manager(actor, "record staff qualifications")
    qualification = StaffQualification(
        member=member,
        kind=kind,
        jurisdiction=jurisdiction.strip(),
        registration_number=registration_number.strip(),
        description=description.strip(),
        recorded_by=actor,
        recorded_at=timezone.now(),
    )
    _clean_qualification(qualification)
    qualification.save(force_insert=True)
    audit_record(
        actor=actor,
        action="staff.qualification_recorded",
        obj=qualification,
        after=_qualification_facts(qualification),
    )
    return qualification


@transaction.atomic
def qualification_update(
    *,
    actor: User,
    qualification: StaffQualification,
    kind: str,
    jurisdiction: str,
    registration_number: str,
    description: str,
) -> StaffQualification:
    """Correct a qualification; what was verified is no longer, so it needs verifying again."""
    _require_manager(actor, "change staff qualifications")
    locked = StaffQualification.objects.select_for_update().get(pk=qualification.pk)
    before = _qualification_facts(locked)
    locked.kind, locked.jurisdiction = kind, jurisdiction.strip()
    locked.registration_number = registration_number.strip()
    locked.description = description.strip()
    locked.verified_by, locked.verified_at = None, None
    _clean_qualification(locked)
    locked.save()
    audit_record(
        actor=actor,
        action="staff.qualification_changed",
        obj=locked,
        before=before,
        after=_qualification_facts(locked),
    )
    return locked


@transaction.atomic
def qualification_verify(*, actor: User, qualification: StaffQualification) -> StaffQualification:
    """The manager checked the register (bar roll, patent office): the qualification counts."""
    _require_manager(actor, "verify staff qualifications")
    locked = StaffQualification.objects.select_for_update().get(pk=qualification.pk)
    if locked.verified_at is not None:
        raise RuleViolation("This qualification is already verified.", code="already_verified")
    locked.verified_by, locked.verified_at = actor, timezone.now()
    locked.save(update_fields=["verified_by", "verified_at"])
    audit_record(
        actor=actor,
        action="staff.qualification_verified",
        obj=locked,
        before={"verified": False},
        after=_qualification_facts(locked),
    )
    return locked


def training_record_add(
    *,
    actor: User,
    member: VendorUser,
    topic: str,
    completed_on: dt.date,
    expires_on: dt.date,
    evidence: UploadedFile | None,
    course: str = "",
) -> StaffTraining:
    """Record completed training with its certificate, like due-diligence evidence.

    1. Only a firm vendor manager records training.
    2. The certificate passes the upload checks and the malware scan (an infected file is
       refused and the attempt audited) before anything is written.
    3. The file is stored under a random path with its SHA-256; audited in the same
       transaction; a failed step removes the stored bytes.
    """
    _require_manager(actor, "record staff training")
    if evidence is None:
        raise RuleViolation(
            "Attach the training certificate as evidence.", code="evidence_required"
        )
    checked = upload_accept(actor=actor, upload=evidence, about=member)
    if StaffTraining.objects.filter(member=member, evidence_sha256=checked.sha256).exists():
        raise RuleViolation(
            "This certificate is already on record; a renewal needs the renewed certificate.",
            code="evidence_reused",
        )
    training = StaffTraining(
        member=member,
        topic=topic,
        course=course.strip(),
        completed_on=completed_on,
        expires_on=expires_on,
        evidence_name=checked.name,
        evidence_sha256=checked.sha256,
        recorded_by=actor,
        recorded_at=timezone.now(),
    )
    validated(training, exclude=["evidence"])
    try:
        with transaction.atomic():
            training.evidence.save(checked.name, evidence, save=False)
            training.save(force_insert=True)
            audit_record(
                actor=actor,
                action="staff.training_recorded",
                obj=training,
                after={
                    "member": member.pk,
                    "topic": topic,
                    "course": training.course,
                    "completed_on": completed_on,
                    "expires_on": expires_on,
                    "evidence_name": checked.name,
                    "evidence_sha256": checked.sha256,
                },
            )
    except BaseException:
        if training.evidence.name:
            training.evidence.storage.delete(training.evidence.name)
        raise
    return training


@transaction.atomic
def training_evidence_open(*, actor: User, training: StaffTraining) -> IO[bytes]:
    """Open a certificate for a firm user who may view vendors or its own person; audited."""
    own = vendor_of(actor)
    if own is None:
        _require_manager(actor, "read training evidence", VIEW_VENDORS)
    elif own.pk != training.member_id:
        raise NotEligible("This is not your training record.", code="forbidden")
    handle = training.evidence.open("rb")
    audit_record(
        actor=actor,
        action="staff.training_evidence_downloaded",
        obj=training,
        after={"member": training.member_id, "evidence_sha256": training.evidence_sha256},
    )
    return handle
