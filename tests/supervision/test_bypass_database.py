"""The database's own walls, attacked with raw SQL as a database writer would.

Table-driven like tests/supervision/test_bypass.py: each named attempt is one SQL statement
(or two) behind the services' back, and must be refused by a trigger with its own message,
leaving every task, sign-off, submission and audit event exactly as it was. The genuine
version of the same INSERT is accepted, so the triggers refuse forgeries, not writes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from lpo_tracker.audit.models import AuditEvent
from matters.models import TASK_TRANSITIONS, Task, TaskStatus
from matters.services import task_cancel
from supervision.models import BarAdmission, Review, SignOff, Submission
from supervision.services import latest_submission
from tests.conftest import Cast

pytestmark = pytest.mark.django_db

EVIDENCE_TABLES = ["audit_auditevent", "supervision_submission", "supervision_signoff"]


def snapshot() -> dict[str, Any]:
    return {
        "tasks": sorted(Task.objects.values_list("pk", "status", "approved_signoff_id")),
        "signoffs": sorted(SignOff.objects.values_list("pk", "task_id", "submission_id")),
        "submissions": sorted(Submission.objects.values_list("pk", "task_id", "version")),
        "events": AuditEvent.objects.count(),
    }


def execute(sql: str, params: list[Any] | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


# --- Forged sign-offs ---------------------------------------------------------------------


def genuine_signoff_row(cast: Cast, task: Task) -> dict[str, Any]:
    """The columns signoff_record would write for cast.attorney on the task's open review."""
    submission = latest_submission(task)
    assert submission is not None
    review = Review.objects.get(submission=submission)
    return {
        "task_id": task.pk,
        "submission_id": submission.pk,
        "review_id": review.pk,
        "attorney_id": cast.attorney.pk,
        "bar_admission_id": BarAdmission.objects.get(attorney__user=cast.attorney).pk,
        "attestation_text": "I reviewed this version.",
        "sha256": submission.sha256,
        "signed_at": timezone.now(),
        "confirmation_method": "",
    }


def insert_signoff(row: dict[str, Any]) -> None:
    columns = ", ".join(row)
    placeholders = ", ".join(["%s"] * len(row))
    execute(f"INSERT INTO supervision_signoff ({columns}) VALUES ({placeholders})",
            list(row.values()))


def other_task_in_review(cast: Cast) -> Task:
    return cast.advance(cast.new_task(title="Privilege log"), TaskStatus.IN_REVIEW)


Forgery = Callable[[Cast, dict[str, Any]], None]


def vendor_user_as_attorney(cast: Cast, row: dict[str, Any]) -> None:
    row["attorney_id"] = cast.vendor_a_user.pk


def staff_without_attorney_profile(cast: Cast, row: dict[str, Any]) -> None:
    row["attorney_id"] = cast.staff_on.pk


def another_attorneys_bar_admission(cast: Cast, row: dict[str, Any]) -> None:
    row["bar_admission_id"] = BarAdmission.objects.get(attorney__user=cast.attorney2).pk


def wrong_sha256(cast: Cast, row: dict[str, Any]) -> None:
    row["sha256"] = "0" * 64


def foreign_submission(cast: Cast, row: dict[str, Any]) -> None:
    """Another task's version, with its own hash and review: only the task differs."""
    other = latest_submission(other_task_in_review(cast))
    assert other is not None
    row.update(submission_id=other.pk, sha256=other.sha256,
               review_id=Review.objects.get(submission=other).pk)


def review_of_another_version(cast: Cast, row: dict[str, Any]) -> None:
    other = latest_submission(other_task_in_review(cast))
    row["review_id"] = Review.objects.get(submission=other).pk


FORGERIES: dict[str, tuple[Forgery, str]] = {
    "raw INSERT of a sign-off by a vendor user": (
        vendor_user_as_attorney, "a vendor user cannot sign off"),
    "raw INSERT of a sign-off by staff who is not an attorney": (
        staff_without_attorney_profile, "only an attorney with an attorney profile"),
    "raw INSERT of a sign-off relying on another attorney's bar admission": (
        another_attorneys_bar_admission, "bar admission relied on does not belong"),
    "raw INSERT of a sign-off with a wrong SHA-256": (
        wrong_sha256, "SHA-256 differs from the signed version"),
    "raw INSERT of a sign-off of another task's submission": (
        foreign_submission, "the signed version belongs to another task"),
    "raw INSERT of a sign-off whose review is of another version": (
        review_of_another_version, "review is of another version"),
}


@pytest.mark.parametrize("name", list(FORGERIES))
def test_forged_signoff_insert_is_refused(cast: Cast, name: str) -> None:
    forge, message = FORGERIES[name]
    task = cast.advance(cast.task, TaskStatus.IN_REVIEW)
    row = genuine_signoff_row(cast, task)
    forge(cast, row)
    before = snapshot()

    with pytest.raises(IntegrityError, match=message), transaction.atomic():
        insert_signoff(row)

    assert snapshot() == before


def test_genuine_raw_signoff_insert_is_accepted(cast: Cast) -> None:
    """The control: the same INSERT with true values passes every check."""
    task = cast.advance(cast.task, TaskStatus.IN_REVIEW)

    insert_signoff(genuine_signoff_row(cast, task))

    assert SignOff.objects.filter(task=task, attorney=cast.attorney).count() == 1


# --- Newer versions behind the services' back ---------------------------------------------


def insert_submission(task: Task, version: int) -> None:
    previous = Submission.objects.filter(task=task).order_by("-version").first()
    assert previous is not None
    execute(
        "INSERT INTO supervision_submission (task_id, version, file, original_name, "
        "content_type, size, sha256, note, submitted_by_id, submitted_at) "
        "VALUES (%s, %s, 'work-product/forged', 'v.pdf', 'application/pdf', 1, %s, '', %s, "
        "now())",
        [task.pk, version, "f" * 64, previous.submitted_by_id],
    )


def test_raw_insert_of_a_newer_version_withdraws_the_approval(cast: Cast) -> None:
    task = cast.advance(cast.task, TaskStatus.APPROVED)

    insert_submission(task, version=2)

    task.refresh_from_db()
    assert (task.status, task.approved_signoff_id, task.approved_at) == (
        TaskStatus.SUBMITTED, None, None)
    # Nothing left to deliver with: the old sign-off covers version 1 only.
    old_signoff = SignOff.objects.get(task=task)
    with pytest.raises(IntegrityError), transaction.atomic():
        execute("UPDATE matters_task SET status = 'approved', approved_signoff_id = %s "
                "WHERE id = %s", [old_signoff.pk, task.pk])


def test_raw_insert_of_a_newer_version_of_a_delivered_task_is_refused(cast: Cast) -> None:
    task = cast.advance(cast.task, TaskStatus.DELIVERED)
    before = snapshot()

    with pytest.raises(IntegrityError, match="takes no new version"), transaction.atomic():
        insert_submission(task, version=2)

    assert snapshot() == before


def test_the_service_still_takes_a_new_version_after_approval(cast: Cast) -> None:
    """The withdrawal trigger and the service agree: the upload moves the task once."""
    from supervision.services import submission_create
    from tests import factories as f

    task = cast.advance(cast.task, TaskStatus.APPROVED)

    submission_create(actor=cast.vendor_a_user, task=task, upload=f.pdf_upload("v2"))

    task.refresh_from_db()
    assert (task.status, task.approved_signoff_id) == (TaskStatus.SUBMITTED, None)


# --- Illegal status moves -----------------------------------------------------------------


def test_the_databases_allowed_moves_are_the_state_machine() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT from_status, to_status FROM lpo_task_transitions")
        in_database = set(cursor.fetchall())

    assert in_database == {(str(old), str(new)) for old, new in TASK_TRANSITIONS}


def _task_in(cast: Cast, status: str) -> Task:
    if status == TaskStatus.CANCELLED:
        return task_cancel(actor=cast.staff_on, task=cast.task, reason="Client withdrew")
    return cast.advance(cast.task, status)


@pytest.mark.parametrize(
    ("start", "target"),
    [
        (TaskStatus.DRAFT, TaskStatus.IN_REVIEW),
        (TaskStatus.IN_REVIEW, TaskStatus.DRAFT),
        (TaskStatus.DELIVERED, TaskStatus.SUBMITTED),
        (TaskStatus.DELIVERED, TaskStatus.CANCELLED),
        (TaskStatus.CANCELLED, TaskStatus.DRAFT),
    ],
    ids=lambda status: str(status),
)
def test_illegal_status_move_by_sql_is_refused(cast: Cast, start: str, target: str) -> None:
    assert (start, target) not in TASK_TRANSITIONS
    task = _task_in(cast, start)
    before = snapshot()

    with pytest.raises(IntegrityError, match="state machine does not allow this move"), \
            transaction.atomic():
        execute("UPDATE matters_task SET status = %s WHERE id = %s", [target, task.pk])

    assert snapshot() == before


def test_an_update_that_keeps_the_status_is_not_a_move(cast: Cast) -> None:
    task = cast.advance(cast.task, TaskStatus.DELIVERED)

    execute("UPDATE matters_task SET title = 'Renamed', status = status WHERE id = %s",
            [task.pk])

    assert Task.objects.get(pk=task.pk).title == "Renamed"


# --- TRUNCATE -----------------------------------------------------------------------------


@pytest.mark.parametrize("table", [*EVIDENCE_TABLES, "matters_task"])
def test_truncate_of_evidence_is_refused(cast: Cast, table: str) -> None:
    """CASCADE, so no foreign key stops it first; matters_task cascades into the evidence."""
    cast.advance(cast.task, TaskStatus.APPROVED)
    before = snapshot()
    assert before["events"] and before["signoffs"] and before["submissions"]
    # The test's own transaction holds deferred foreign-key checks, which PostgreSQL would
    # name instead ("pending trigger events"); run them now, as a fresh session would have.
    execute("SET CONSTRAINTS ALL IMMEDIATE")

    with pytest.raises(IntegrityError, match="is evidence; TRUNCATE refused"), \
            transaction.atomic():
        execute(f"TRUNCATE {table} CASCADE")

    assert snapshot() == before
