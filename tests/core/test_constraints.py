"""The database's own constraints: each one violated once, straight through the ORM (no
service, no full_clean), and refused by PostgreSQL itself."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from matters.models import (
    Client,
    ConflictCheckStatus,
    Engagement,
    Matter,
    PracticeArea,
    Task,
)
from supervision.models import (
    AttorneyProfile,
    BarAdmission,
    ReminderKind,
    ReminderRecord,
    Review,
    ReviewDecision,
    SignOff,
    Submission,
)
from tests import factories as f
from vendors.models import DiligenceKind, DueDiligenceRecord, RateCard, RateCardLine, Vendor

pytestmark = pytest.mark.django_db

SHA = "ab" * 32
TODAY = dt.date(2026, 11, 18)


@dataclass
class World:
    """One valid row of each kind, built with the ORM, for the cases to collide with."""

    user: User
    client: Client
    matter: Matter
    vendor: Vendor
    engagement: Engagement
    task: Task
    submission: Submission
    review: Review
    bar: BarAdmission
    signoff: SignOff


@pytest.fixture
def world() -> World:
    user = f.UserFactory.create(username="dba")
    profile = AttorneyProfile.objects.create(user=user)
    bar = BarAdmission.objects.create(attorney=profile, jurisdiction="New York",
                                      number="1234567", admitted_on=dt.date(2010, 1, 4))
    client = f.ClientFactory.create()
    matter = Matter.objects.create(number="2026-0001", title="Acme v. Globex", client=client,
                                   practice_area=PracticeArea.LITIGATION,
                                   responsible_attorney=user, opened_on=TODAY)
    vendor = f.VendorFactory.create()
    engagement = Engagement.objects.create(matter=matter, vendor=vendor, scope="Review")
    task = Task.objects.create(matter=matter, title="Review", task_type="document_review",
                               created_by=user)
    submission = Submission.objects.create(
        task=task, version=1, file="work-product/x/y", original_name="a.pdf",
        content_type="application/pdf", size=10, sha256=SHA, submitted_by=user,
    )
    review = Review.objects.create(submission=submission, reviewer=user,
                                   decision=ReviewDecision.APPROVED,
                                   decided_at=timezone.now())
    signoff = SignOff.objects.create(task=task, submission=submission, review=review,
                                     attorney=user, bar_admission=bar,
                                     attestation_text="I approve.", sha256=SHA)
    return World(user, client, matter, vendor, engagement, task, submission, review, bar,
                 signoff)


def _matter(w: World, **fields: object) -> Matter:
    values: dict[str, object] = {
        "number": "2026-0002", "title": "Another", "client": w.client,
        "practice_area": PracticeArea.IP, "responsible_attorney": w.user, "opened_on": TODAY,
    }
    values.update(fields)
    return Matter.objects.create(**values)


def _reminder(w: World) -> None:
    key = {"kind": ReminderKind.TASK_OVERDUE, "object_type": "matters.task",
           "object_id": w.task.pk, "threshold": "24h"}
    ReminderRecord.objects.create(**key)
    ReminderRecord.objects.create(**key, recipients=["someone@example.com"])


def _rate_line(w: World, rate: str) -> RateCardLine:
    card = RateCard.objects.create(vendor=w.vendor, name="2026", effective_from=TODAY)
    return RateCardLine.objects.create(rate_card=card, task_type="document_review",
                                       rate=Decimal(rate))


def _second_review(w: World, submission: Submission | None = None) -> Review:
    return Review.objects.create(submission=submission or w.submission, reviewer=w.user,
                                 decision=ReviewDecision.APPROVED, decided_at=timezone.now())


def _signoff_without_attestation(w: World) -> SignOff:
    """A genuine sign-off of a second version in every other respect (the forgery trigger of
    supervision migration 0005 passes it), so the check constraint is what refuses it."""
    version_2 = Submission.objects.create(
        task=w.task, version=2, file="work-product/x/z", original_name="b.pdf",
        content_type="application/pdf", size=10, sha256=SHA, submitted_by=w.user)
    return SignOff.objects.create(task=w.task, submission=version_2,
                                  review=_second_review(w, version_2), attorney=w.user,
                                  bar_admission=w.bar, attestation_text="", sha256=SHA)


# name → (the violation, a fragment of PostgreSQL's error naming the constraint)
VIOLATIONS: dict[str, tuple[Callable[[World], object], str]] = {
    "duplicate matter number": (
        lambda w: _matter(w, number=w.matter.number), "matters_matter_number"),
    "bad matter number format": (
        lambda w: _matter(w, number="ACME-42"), "matter_number_format"),
    "negative matter budget": (
        lambda w: _matter(w, budget=Decimal("-0.01")), "matter_budget_non_negative"),
    "matter closed before it opened": (
        lambda w: _matter(w, status="closed", closed_on=TODAY - dt.timedelta(days=1)),
        "matter_closed_after_opened"),
    "closed matter without a closing date": (
        lambda w: _matter(w, status="closed"), "matter_closed_has_date"),
    "open matter with a closing date": (
        lambda w: _matter(w, closed_on=TODAY), "matter_closed_has_date"),
    "consent waived without a reason": (
        lambda w: _matter(w, client_consent_required=False),
        "matter_consent_waiver_has_reason"),
    "duplicate reminder key": (_reminder, "uniq_reminder_key"),
    "diligence expires before it is valid": (
        lambda w: DueDiligenceRecord.objects.create(
            vendor=w.vendor, kind=DiligenceKind.NDA, valid_from=TODAY,
            expires_on=TODAY - dt.timedelta(days=1)),
        "diligence_valid_range"),
    "negative rate": (lambda w: _rate_line(w, "-1.00"), "rate_non_negative"),
    "duplicate bar number in one jurisdiction": (
        lambda w: BarAdmission.objects.create(
            attorney=AttorneyProfile.objects.create(user=f.UserFactory.create(username="twin")),
            jurisdiction="New York", number="1234567", admitted_on=TODAY),
        "uniq_bar_number"),
    "bar admission expiring before it was granted": (
        lambda w: BarAdmission.objects.create(
            attorney=w.bar.attorney, jurisdiction="Delaware", number="42",
            admitted_on=TODAY, expires_on=TODAY - dt.timedelta(days=1)),
        "bar_admission_valid_range"),
    "engagement duplicate matter × vendor": (
        lambda w: Engagement.objects.create(matter=w.matter, vendor=w.vendor, scope="Again"),
        "uniq_engagement"),
    "engagement negative budget cap": (
        lambda w: Engagement.objects.create(matter=w.matter, vendor=f.VendorFactory.create(),
                                            scope="Cheap", budget_cap=Decimal("-1")),
        "engagement_budget_non_negative"),
    "conflict check cleared without who and when": (
        lambda w: Engagement.objects.filter(pk=w.engagement.pk).update(
            conflict_check_status=ConflictCheckStatus.CLEARED),
        "engagement_conflict_check_recorded"),
    "review with changes requested but no comments": (
        lambda w: Review.objects.create(submission=w.submission, reviewer=w.user,
                                        decision=ReviewDecision.CHANGES_REQUESTED,
                                        comments="", decided_at=timezone.now()),
        "review_changes_need_comments"),
    "review decided without a time": (
        lambda w: Review.objects.create(submission=w.submission, reviewer=w.user,
                                        decision=ReviewDecision.APPROVED),
        "review_decided_has_time"),
    "submission with a non-hex sha256": (
        lambda w: Submission.objects.create(
            task=w.task, version=2, file="work-product/x/z", original_name="b.pdf",
            content_type="application/pdf", size=10, sha256="Z" * 64, submitted_by=w.user),
        "submission_sha256_hex"),
    "submission with a duplicate version": (
        lambda w: Submission.objects.create(
            task=w.task, version=1, file="work-product/x/z", original_name="b.pdf",
            content_type="application/pdf", size=10, sha256=SHA, submitted_by=w.user),
        "uniq_submission_version"),
    "second sign-off of one submission": (
        lambda w: SignOff.objects.create(task=w.task, submission=w.submission,
                                         review=_second_review(w), attorney=w.user,
                                         bar_admission=w.bar, attestation_text="Again.",
                                         sha256=SHA),
        "supervision_signoff_submission_id"),
    "sign-off without attestation text": (
        _signoff_without_attestation, "signoff_attestation_present"),
    "task with negative hours": (
        lambda w: Task.objects.filter(pk=w.task.pk).update(estimated_hours=Decimal("-1")),
        "task_effort_non_negative"),
    "assigned task without an engagement": (
        lambda w: Task.objects.filter(pk=w.task.pk).update(status="assigned"),
        "task_assigned_needs_engagement"),
}


@pytest.mark.parametrize("case", list(VIOLATIONS))
def test_database_refuses_the_violation(world: World, case: str) -> None:
    violate, constraint = VIOLATIONS[case]

    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        violate(world)


def test_the_valid_world_itself_is_accepted(world: World) -> None:
    """The control: the rows the cases collide with are valid as built."""
    assert Matter.objects.count() == 1
    assert SignOff.objects.get().submission == world.submission
