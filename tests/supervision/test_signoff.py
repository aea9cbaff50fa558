"""Sign-off: who may sign, what a sign-off records, changes requested, and delivery."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
import time_machine
from django.contrib.auth.models import AnonymousUser, User
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from lpo_tracker.audit.models import AuditEvent
from lpo_tracker.clock import firm_today
from lpo_tracker.errors import InvalidTransition, NotEligible, RuleViolation
from matters.models import MatterRole, Task, TaskStatus
from matters.selectors import get_task_for
from matters.services import matter_member_add, wall_add
from supervision.models import BarAdmission, BarStatus, Review, ReviewDecision, SignOff
from supervision.services import (
    latest_submission,
    review_request_changes,
    review_start,
    signoff_eligibility,
    signoff_record,
    submission_create,
    task_deliver,
)
from tests import factories as f
from tests.conftest import Cast

pytestmark = pytest.mark.django_db

FROZEN = dt.datetime(2026, 11, 18, 15, 30, tzinfo=dt.UTC)  # a Wednesday


def in_review(cast: Cast) -> Task:
    return cast.advance(cast.task, TaskStatus.IN_REVIEW)


# --- Eligibility: one blocker per case ------------------------------------------------------


def _inactive_attorney(cast: Cast) -> User:
    user = cast.reload(cast.attorney2)
    user.is_active = False
    user.save(update_fields=["is_active"])
    return user


def _screened_attorney(cast: Cast) -> User:
    user = f.attorney("walled")
    matter_member_add(actor=cast.admin, matter=cast.matter, user=user,
                      role=MatterRole.SUPERVISING_ATTORNEY)
    wall_add(actor=cast.admin, matter=cast.matter, user=user, reason="Prior adverse role")
    return user


def _suspended_bar(cast: Cast) -> User:
    user = f.attorney("suspended", jurisdiction="California")
    matter_member_add(actor=cast.admin, matter=cast.matter, user=user,
                      role=MatterRole.SUPERVISING_ATTORNEY)
    BarAdmission.objects.filter(attorney__user=user).update(status=BarStatus.SUSPENDED)
    return user


BLOCKERS: dict[str, tuple[Callable[[Cast], User | AnonymousUser], str]] = {
    "anonymous": (lambda cast: AnonymousUser(), "Sign in as an active user."),
    "inactive account": (_inactive_attorney, "Sign in as an active user."),
    "vendor user": (lambda cast: cast.vendor_a_user,
                    "Vendor users cannot sign off work product."),
    "no attorney profile": (lambda cast: cast.staff_on,
                            "Only an attorney can sign off; you have no attorney profile."),
    "lapsed bar admission": (lambda cast: cast.lapsed_attorney,
                             "sign-off needs a licensed attorney"),
    "suspended bar admission": (_suspended_bar, "sign-off needs a licensed attorney"),
    "no supervise_matter grant": (lambda cast: f.attorney("outsider"),
                                  "You are not a supervising attorney on matter"),
    "screened from the matter": (_screened_attorney, "You are screened from matter"),
}


def test_signoff_eligibility_names_each_blocker(cast: Cast, subtests: pytest.Subtests) -> None:
    task = in_review(cast)
    submission = latest_submission(task)
    for case, (make_user, message) in BLOCKERS.items():
        with subtests.test(case):
            eligibility = signoff_eligibility(user=make_user(cast), task=task,
                                              submission=submission)

            assert not eligibility.eligible
            assert any(message in blocker for blocker in eligibility.blockers), (
                eligibility.blockers
            )


def test_attorney_cannot_sign_off_own_submission(cast: Cast) -> None:
    matter_member_add(actor=cast.admin, matter=cast.matter, user=cast.attorney2,
                      role=MatterRole.TEAM)
    task = cast.advance(cast.task, TaskStatus.IN_PROGRESS)
    submission = f.opened(submission_create(actor=cast.attorney2, task=task,
                                            upload=f.pdf_upload()), cast.attorney2)

    eligibility = signoff_eligibility(user=cast.attorney2, task=task, submission=submission)

    assert eligibility.blockers == [
        "You submitted this version; another attorney must sign it off."
    ]
    with pytest.raises(NotEligible, match="You submitted this version"):
        signoff_record(actor=cast.attorney2, task=task, submission=submission,
                       attestation_accepted=True, confirmation=f.fresh_confirmation())
    assert not SignOff.objects.exists()


def test_supervising_attorney_is_eligible(cast: Cast) -> None:
    task = in_review(cast)

    eligibility = signoff_eligibility(
        user=cast.attorney, task=task,
        submission=f.opened(latest_submission(task), cast.attorney))  # type: ignore[arg-type]

    assert eligibility.eligible
    assert eligibility.blockers == []
    assert eligibility.bar_admission == BarAdmission.objects.get(attorney__user=cast.attorney)


def test_bar_admission_expiring_tomorrow_still_counts_today_but_not_the_day_after(
    cast: Cast,
) -> None:
    task = in_review(cast)
    today = firm_today()
    BarAdmission.objects.filter(attorney__user=cast.attorney).update(expires_on=today)

    assert signoff_eligibility(user=cast.attorney, task=task, submission=None).eligible
    with time_machine.travel(timezone.now() + dt.timedelta(days=1)):
        later = signoff_eligibility(user=cast.attorney, task=task, submission=None)
    assert not later.eligible
    assert "no bar admission active" in later.blockers[0]


# --- Recording a sign-off -------------------------------------------------------------------


def test_eligible_attorney_approves_and_signoff_records_the_exact_version(cast: Cast) -> None:
    with time_machine.travel(FROZEN, tick=False):
        task = in_review(cast)
        submission_create(actor=cast.vendor_a_user, task=task,
                          upload=f.pdf_upload("second, better version"))
        review_start(actor=cast.attorney, task=task)
        version2 = latest_submission(task)
        assert version2 is not None and version2.version == 2

        signoff = signoff_record(actor=cast.attorney, task=task,
                                 submission=f.opened(version2, cast.attorney),
                                 attestation_accepted=True, comments="Good work.",
                                 confirmation=f.fresh_confirmation())

    bar = BarAdmission.objects.get(attorney__user=cast.attorney)
    assert signoff.submission == version2
    assert signoff.sha256 == version2.sha256
    assert signoff.signed_at == FROZEN
    assert signoff.bar_admission == bar
    assert signoff.attorney == cast.attorney
    assert version2.sha256 in signoff.attestation_text
    assert "version 2" in signoff.attestation_text
    assert bar.number in signoff.attestation_text
    assert cast.matter.number in signoff.attestation_text
    task = Task.objects.get(pk=task.pk)
    assert task.status == TaskStatus.APPROVED
    assert task.approved_signoff == signoff
    assert task.approved_at == FROZEN
    assert signoff.review.decision == ReviewDecision.APPROVED
    assert signoff.review.decided_at == FROZEN


def test_signoff_without_accepting_the_attestation_is_refused(cast: Cast) -> None:
    task = in_review(cast)

    with pytest.raises(RuleViolation, match="accept the attestation") as refusal:
        signoff_record(actor=cast.attorney, task=task,
                       submission=f.opened(latest_submission(task), cast.attorney),  # type: ignore[arg-type]
                       attestation_accepted=False, confirmation=f.fresh_confirmation())

    assert refusal.value.code == "attestation_required"
    assert not SignOff.objects.exists()
    assert Task.objects.get(pk=task.pk).status == TaskStatus.IN_REVIEW


def test_signoff_of_a_stale_version_is_refused(cast: Cast) -> None:
    task = in_review(cast)
    version1 = latest_submission(task)
    submission_create(actor=cast.vendor_a_user, task=task, upload=f.pdf_upload("v2"))

    with pytest.raises(InvalidTransition, match="no longer the latest") as refusal:
        signoff_record(actor=cast.attorney, task=task, submission=version1,  # type: ignore[arg-type]
                       attestation_accepted=True, confirmation=f.fresh_confirmation())

    assert refusal.value.code == "stale_version"
    assert not SignOff.objects.exists()


def test_signoff_of_another_tasks_version_is_refused(cast: Cast) -> None:
    task = in_review(cast)
    other = cast.advance(cast.new_task(title="Second batch"), TaskStatus.IN_REVIEW)

    with pytest.raises(RuleViolation, match="belongs to another task"):
        signoff_record(actor=cast.attorney, task=task,
                       submission=latest_submission(other),  # type: ignore[arg-type]
                       attestation_accepted=True, confirmation=f.fresh_confirmation())
    assert not SignOff.objects.exists()


def test_signoff_straight_from_submitted_passes_through_review(cast: Cast) -> None:
    task = cast.advance(cast.task, TaskStatus.SUBMITTED)

    signoff_record(actor=cast.attorney, task=task,
                   submission=f.opened(latest_submission(task), cast.attorney),  # type: ignore[arg-type]
                   attestation_accepted=True, confirmation=f.fresh_confirmation())

    assert Task.objects.get(pk=task.pk).status == TaskStatus.APPROVED
    moves = list(AuditEvent.objects.filter(object_id=str(task.pk), action__in=[
        "review.started", "signoff.recorded"]).values_list("before__status", "after__status"))
    assert moves == [("submitted", "in_review"), ("in_review", "approved")]


def test_second_signoff_of_an_approved_task_is_refused(cast: Cast) -> None:
    task = cast.advance(cast.task, TaskStatus.APPROVED)

    with pytest.raises(InvalidTransition, match="cannot be approved now"):
        signoff_record(actor=cast.attorney2, task=task, submission=latest_submission(task),  # type: ignore[arg-type]
                       attestation_accepted=True, confirmation=f.fresh_confirmation())
    assert SignOff.objects.count() == 1


# --- Changes requested ----------------------------------------------------------------------


def test_changes_requested_review_carries_comments_the_vendor_can_read(cast: Cast) -> None:
    task = in_review(cast)
    submission = latest_submission(task)

    review = review_request_changes(
        actor=cast.attorney, task=task, submission=submission,  # type: ignore[arg-type]
        comments="  Items 4-9 need privilege tags.  ", internal_notes="Vendor is slow.",
    )

    assert Task.objects.get(pk=task.pk).status == TaskStatus.CHANGES_REQUESTED
    assert review.decision == ReviewDecision.CHANGES_REQUESTED
    assert review.decided_at is not None
    # The vendor reaches the task through its scoped selector and reads the comments there;
    # the internal notes are a separate field the vendor-facing pages never show.
    seen = get_task_for(cast.vendor_a_user, task.pk)
    vendor_review = Review.objects.get(submission__task=seen)
    assert vendor_review.comments == "Items 4-9 need privilege tags."
    assert vendor_review.internal_notes == "Vendor is slow."


def test_changes_requested_straight_from_submitted_passes_through_review(cast: Cast) -> None:
    task = cast.advance(cast.task, TaskStatus.SUBMITTED)

    review_request_changes(actor=cast.attorney, task=task,
                           submission=latest_submission(task),  # type: ignore[arg-type]
                           comments="Add the custodian list.")

    assert Task.objects.get(pk=task.pk).status == TaskStatus.CHANGES_REQUESTED


@pytest.mark.parametrize("comments", ["", "   \n "])
def test_request_changes_without_comments_is_refused(cast: Cast, comments: str) -> None:
    task = in_review(cast)

    with pytest.raises(RuleViolation, match="Say what must change") as refusal:
        review_request_changes(actor=cast.attorney, task=task,
                               submission=latest_submission(task),  # type: ignore[arg-type]
                               comments=comments)

    assert refusal.value.code == "comments_required"
    assert Task.objects.get(pk=task.pk).status == TaskStatus.IN_REVIEW
    assert Review.objects.get().decision == ReviewDecision.PENDING


# --- Delivery -------------------------------------------------------------------------------


def test_deliver_records_delivered_at(cast: Cast) -> None:
    task = cast.advance(cast.task, TaskStatus.APPROVED)

    with time_machine.travel(FROZEN, tick=False):
        delivered = task_deliver(actor=cast.staff_on, task=task, note="Sent via portal")

    assert delivered.status == TaskStatus.DELIVERED
    assert Task.objects.get(pk=task.pk).delivered_at == FROZEN


def test_deliver_is_refused_unless_approved(cast: Cast, subtests: pytest.Subtests) -> None:
    states = [TaskStatus.DRAFT, TaskStatus.ASSIGNED, TaskStatus.IN_PROGRESS,
              TaskStatus.SUBMITTED, TaskStatus.IN_REVIEW, TaskStatus.CHANGES_REQUESTED,
              TaskStatus.DELIVERED]
    for state in states:
        with subtests.test(str(state)):
            task = cast.advance(cast.new_task(title=f"In {state}"), state)

            with pytest.raises(InvalidTransition, match="cannot be delivered now"):
                task_deliver(actor=cast.staff_on, task=task)

            assert Task.objects.get(pk=task.pk).status == state


def test_vendor_cannot_deliver_approved_work(cast: Cast) -> None:
    task = cast.advance(cast.task, TaskStatus.APPROVED)

    with pytest.raises(NotEligible):
        task_deliver(actor=cast.vendor_a_user, task=task)
    assert Task.objects.get(pk=task.pk).delivered_at is None


# --- Evidence is immutable ------------------------------------------------------------------


def test_signoff_rows_refuse_update_and_delete(cast: Cast) -> None:
    task = cast.advance(cast.task, TaskStatus.APPROVED)
    signoff = SignOff.objects.get()
    statements = [
        lambda: SignOff.objects.filter(pk=signoff.pk).update(attestation_text="edited"),
        lambda: SignOff.objects.filter(pk=signoff.pk).update(sha256="0" * 64),
        lambda: connection.cursor().execute(
            "UPDATE supervision_signoff SET signed_at = now() WHERE id = %s", [signoff.pk]),
        lambda: connection.cursor().execute(
            "DELETE FROM supervision_signoff WHERE id = %s", [signoff.pk]),
    ]
    for statement in statements:
        with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
            statement()

    assert SignOff.objects.get().attestation_text == signoff.attestation_text
    assert Task.objects.get(pk=task.pk).approved_signoff_id == signoff.pk
