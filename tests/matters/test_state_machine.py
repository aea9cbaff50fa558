"""The task state machine: every legal move is made by a service, every other move is refused.

`TASK_TRANSITIONS` is the one table. The services are checked against it from the audit trail
(each task move records its before and after status), and `Task.save()` against it pair by
pair.
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from lpo_tracker.audit.models import AuditEvent
from lpo_tracker.errors import InvalidTransition, RuleViolation
from matters.deadlines import task_change_due_date
from matters.models import (
    SIGNED_STATES,
    TASK_TRANSITIONS,
    DueDateKind,
    Engagement,
    Task,
    TaskDueDateChange,
    TaskStatus,
)
from matters.services import (
    engagement_create,
    task_cancel,
    task_reassign,
    task_start,
)
from supervision.services import (
    latest_submission,
    review_request_changes,
    review_start,
    signoff_record,
    submission_create,
    task_deliver,
)
from tests import factories as f
from tests.conftest import Cast

pytestmark = pytest.mark.django_db

S = TaskStatus
CANCELLABLE = (S.DRAFT, S.ASSIGNED, S.IN_PROGRESS, S.SUBMITTED, S.IN_REVIEW,
               S.CHANGES_REQUESTED)


def engagement_of_vendor_b(cast: Cast) -> Engagement:
    """Vendor B, vetted and cleared, engaged on cast.matter as well."""
    return f.cleared_engagement(actor=cast.staff_on, matter=cast.matter,
                                vendor=cast.engagement_b.vendor)


def observed_moves() -> set[tuple[str, str]]:
    """(before, after) status of every task move the services recorded in the audit trail."""
    moves = AuditEvent.objects.filter(
        object_type="matters.task", before__has_key="status", after__has_key="status"
    ).values_list("before__status", "after__status")
    return set(moves)


def test_services_make_every_legal_move_and_no_other(cast: Cast) -> None:
    """Walk tasks through every edge of TASK_TRANSITIONS using only the services."""
    vendor_b = engagement_of_vendor_b(cast)
    staff, vendor_a, attorney = cast.staff_on, cast.vendor_a_user, cast.attorney

    def fresh(task: Task) -> Task:
        return Task.objects.get(pk=task.pk)

    def upload(task: Task, actor: object = vendor_a) -> None:
        submission_create(actor=actor, task=fresh(task), upload=f.pdf_upload())  # type: ignore[arg-type]

    def changes(task: Task) -> None:
        review_request_changes(actor=attorney, task=fresh(task),
                               submission=latest_submission(task),  # type: ignore[arg-type]
                               comments="Redo the privilege calls.")

    def sign(task: Task) -> None:
        signoff_record(actor=attorney, task=fresh(task),
                       submission=f.opened(latest_submission(task), attorney),  # type: ignore[arg-type]
                       attestation_accepted=True, confirmation=f.fresh_confirmation())

    task = cast.advance(cast.task, S.ASSIGNED)                         # draft → assigned
    task_reassign(actor=staff, task=task, engagement=vendor_b,
                  reason="Vendor A is at capacity")                   # assigned → assigned
    task_start(actor=cast.vendor_b_user, task=task)                   # assigned → in_progress
    task_reassign(actor=staff, task=task, engagement=cast.engagement_a,
                  reason="Back to vendor A")                          # in_progress → assigned
    task_start(actor=vendor_a, task=task)
    upload(task)                                                      # in_progress → submitted
    upload(task)                                                      # submitted → submitted
    review_start(actor=attorney, task=fresh(task))                    # submitted → in_review
    upload(task)                                                      # in_review → submitted
    review_start(actor=attorney, task=fresh(task))
    changes(task)                                                 # in_review → changes_requested
    task_start(actor=vendor_a, task=fresh(task))                # changes_requested → in_progress
    upload(task)
    review_start(actor=attorney, task=fresh(task))
    changes(task)
    upload(task)                                                # changes_requested → submitted
    review_start(actor=attorney, task=fresh(task))
    changes(task)
    task_reassign(actor=staff, task=fresh(task), engagement=vendor_b,
                  reason="Quality issues")                       # changes_requested → assigned
    task_start(actor=cast.vendor_b_user, task=fresh(task))
    upload(task, cast.vendor_b_user)
    review_start(actor=attorney, task=fresh(task))
    sign(task)                                                        # in_review → approved
    upload(task, cast.vendor_b_user)                                  # approved → submitted
    review_start(actor=attorney, task=fresh(task))
    sign(task)
    task_deliver(actor=staff, task=fresh(task))                       # approved → delivered
    assert fresh(task).status == S.DELIVERED

    for state in CANCELLABLE:                                         # … → cancelled
        other = cast.advance(cast.new_task(title=f"Cancel from {state}"), state)
        cancelled = task_cancel(actor=staff, task=other, reason=f"Client withdrew ({state})")
        assert cancelled.status == S.CANCELLED

    assert observed_moves() == set(TASK_TRANSITIONS)


def tasks_in_every_state(cast: Cast) -> dict[str, Task]:
    tasks = {state: cast.advance(cast.new_task(title=f"In {state}"), state)
             for state in S.values if state != S.CANCELLED}
    tasks[S.CANCELLED] = task_cancel(actor=cast.staff_on, task=cast.task, reason="Duplicate")
    return tasks


ILLEGAL_PAIRS = sorted(
    (a, b) for a, b in itertools.product(S.values, repeat=2)
    if a != b and (a, b) not in TASK_TRANSITIONS
)


def test_task_save_refuses_every_move_outside_the_table(cast: Cast) -> None:
    """All 9 × 8 status changes minus the legal ones, each from a task really in state a."""
    tasks = tasks_in_every_state(cast)
    assert {t.status for t in tasks.values()} == set(S.values)
    moves = {(a, b) for a, b in TASK_TRANSITIONS if a != b}
    assert len(ILLEGAL_PAIRS) == 9 * 8 - len(moves)
    accepted = []
    for source, target in ILLEGAL_PAIRS:
        task = Task.objects.get(pk=tasks[source].pk)
        task.status = target
        try:
            with transaction.atomic():
                task.save()
        except InvalidTransition as refusal:
            assert refusal.code == "illegal_move"
            assert f"from {source} to {target}" in refusal.message
        else:
            accepted.append((source, target))
    assert accepted == []
    assert {state: Task.objects.get(pk=t.pk).status for state, t in tasks.items()} == {
        state: state for state in tasks
    }


def test_legal_move_into_a_signed_state_by_hand_still_needs_a_signoff(cast: Cast) -> None:
    in_review = Task.objects.get(pk=cast.advance(cast.task, S.IN_REVIEW).pk)
    in_review.status = S.APPROVED

    with pytest.raises(InvalidTransition, match="sign-off") as refusal:
        in_review.save()

    assert refusal.value.code == "no_signoff"
    assert Task.objects.get(pk=in_review.pk).status == S.IN_REVIEW
    assert set(SIGNED_STATES) == {S.APPROVED, S.DELIVERED}


def test_new_task_must_start_as_draft(cast: Cast) -> None:
    task = Task(matter=cast.matter, title="Sneaky", task_type="document_review",
                created_by=cast.staff_on, status=S.IN_PROGRESS,
                engagement=cast.engagement_a)

    with pytest.raises(InvalidTransition, match="starts as a draft"):
        task.save()


@pytest.mark.parametrize("state", [S.APPROVED, S.DELIVERED, S.CANCELLED])
def test_cancel_is_refused_once_signed_or_cancelled(cast: Cast, state: str) -> None:
    task = (task_cancel(actor=cast.staff_on, task=cast.task, reason="Dup")
            if state == S.CANCELLED else cast.advance(cast.task, state))

    with pytest.raises(InvalidTransition, match="cannot be cancelled now"):
        task_cancel(actor=cast.staff_on, task=task, reason="Client withdrew")

    assert Task.objects.get(pk=task.pk).status == state


def test_cancel_records_reason_and_time(cast: Cast) -> None:
    moment = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
    with time_machine.travel(moment, tick=False):
        task = task_cancel(actor=cast.staff_on, task=cast.task, reason="  Matter settled ")

    assert task.cancel_reason == "Matter settled"
    assert Task.objects.get(pk=task.pk).cancelled_at == moment


def test_cancel_needs_a_reason(cast: Cast) -> None:
    with pytest.raises(RuleViolation, match="Say why"):
        task_cancel(actor=cast.staff_on, task=cast.task, reason=" ")
    assert Task.objects.get(pk=cast.task.pk).status == S.DRAFT


# --- Reassignment ---------------------------------------------------------------------------


def test_reassign_to_another_vendor_checks_that_vendors_preconditions(cast: Cast) -> None:
    task = cast.advance(cast.task, S.IN_PROGRESS)
    pending = engagement_create(actor=cast.staff_on, matter=cast.matter,
                                vendor=cast.engagement_b.vendor, scope="Overflow review")

    with pytest.raises(RuleViolation, match=r"conflict check .* is not done yet") as refusal:
        task_reassign(actor=cast.staff_on, task=task, engagement=pending, reason="Capacity")

    assert refusal.value.code == "assignment_blocked"
    assert "has not consented to outsourcing" in refusal.value.message
    unchanged = Task.objects.get(pk=task.pk)
    assert (unchanged.status, unchanged.engagement_id) == (S.IN_PROGRESS, cast.engagement_a.pk)


def test_reassign_moves_the_task_to_the_new_vendor(cast: Cast) -> None:
    task = cast.advance(cast.task, S.IN_PROGRESS)
    vendor_b = engagement_of_vendor_b(cast)

    moved = task_reassign(actor=cast.staff_on, task=task, engagement=vendor_b,
                          reason="Vendor A is at capacity")

    assert (moved.status, moved.engagement_id) == (S.ASSIGNED, vendor_b.pk)
    event = AuditEvent.objects.filter(action="task.reassigned").get()
    assert event.before == {"status": S.IN_PROGRESS, "engagement": cast.engagement_a.pk}
    assert event.after is not None and event.after["reason"] == "Vendor A is at capacity"


def test_reassign_to_an_engagement_on_another_matter_is_refused(cast: Cast) -> None:
    task = cast.advance(cast.task, S.ASSIGNED)

    with pytest.raises(RuleViolation, match="not engaged on this task's matter"):
        task_reassign(actor=cast.staff_on, task=task, engagement=cast.engagement_b,
                      reason="Wrong matter")


def test_reassign_to_the_same_vendor_is_refused(cast: Cast) -> None:
    task = cast.advance(cast.task, S.ASSIGNED)

    with pytest.raises(RuleViolation, match="already with that vendor"):
        task_reassign(actor=cast.staff_on, task=task, engagement=cast.engagement_a,
                      reason="No-op")


@pytest.mark.parametrize("state", [S.DRAFT, S.SUBMITTED, S.IN_REVIEW])
def test_reassign_is_refused_outside_vendor_states(cast: Cast, state: str) -> None:
    task = cast.advance(cast.task, state)
    vendor_b = engagement_of_vendor_b(cast)

    with pytest.raises(InvalidTransition, match="cannot be reassigned now"):
        task_reassign(actor=cast.staff_on, task=task, engagement=vendor_b, reason="Capacity")


# --- Due dates ------------------------------------------------------------------------------


def test_due_date_change_keeps_old_new_who_and_why(cast: Cast) -> None:
    task = cast.advance(cast.task, S.ASSIGNED)
    old = task.sla_due_at
    new = dt.datetime(2027, 1, 15, 17, tzinfo=dt.UTC)
    moment = dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)

    with time_machine.travel(moment, tick=False):
        task_change_due_date(actor=cast.staff_on, task=task, kind=DueDateKind.SLA,
                             new_value=new, reason=" Client extended the deadline ")
    task_change_due_date(actor=cast.staff_on, task=task, kind=DueDateKind.SLA,
                         new_value=new + dt.timedelta(days=1), reason="One more day")

    history = list(TaskDueDateChange.objects.filter(task=task).order_by("changed_at"))
    assert [(h.old_value, h.new_value) for h in history] == [
        (old, new), (new, new + dt.timedelta(days=1))
    ]
    assert history[0].changed_by == cast.staff_on
    assert history[0].reason == "Client extended the deadline"
    assert history[0].changed_at == moment
    assert Task.objects.get(pk=task.pk).sla_due_at == new + dt.timedelta(days=1)


def test_due_date_change_refuses_a_naive_datetime(cast: Cast) -> None:
    naive = dt.datetime(2027, 1, 15, 17)

    with pytest.raises(RuleViolation, match="needs a time zone"):
        task_change_due_date(actor=cast.staff_on, task=cast.task, kind=DueDateKind.REVIEW,
                             new_value=naive, reason="Typed by hand")

    assert not TaskDueDateChange.objects.exists()


def test_due_date_change_needs_a_reason(cast: Cast) -> None:
    with pytest.raises(RuleViolation, match="Say why"):
        task_change_due_date(actor=cast.staff_on, task=cast.task, kind=DueDateKind.SLA,
                             new_value=timezone.now(), reason="")
    assert not TaskDueDateChange.objects.exists()


# --- Task.save checks against the stored status however the instance was loaded ---------


def test_refresh_from_db_updates_the_status_save_checks_against(cast: Cast) -> None:
    task = Task.objects.get(pk=cast.task.pk)
    cast.advance(cast.task, S.ASSIGNED)  # moved by a service through another instance
    task.refresh_from_db()
    task.status = S.IN_PROGRESS  # legal from assigned, but checked against the stale draft

    task.save()

    assert Task.objects.get(pk=task.pk).status == S.IN_PROGRESS


def test_task_loaded_without_its_status_cannot_leave_cancelled(cast: Cast) -> None:
    task_cancel(actor=cast.staff_on, task=cast.task, reason="Client withdrew")
    revived = Task.objects.defer("status").get(pk=cast.task.pk)
    revived.status = S.IN_PROGRESS
    revived.engagement = cast.engagement_a

    with pytest.raises(InvalidTransition):
        revived.save()
