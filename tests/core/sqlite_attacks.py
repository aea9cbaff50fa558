"""Run by tests/core/test_sqlite_triggers.py in a child process on the embedded default
(SQLite, no DATABASE_URL): builds the standard cast, tries each raw-SQL attack, and prints
one JSON line: attack name -> the database's refusal (or what it did instead).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import partial
from typing import Any

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.core.management.base import CommandError  # noqa: E402
from django.db import DatabaseError, connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from lpo_tracker.audit.anchors import audit_anchor_record  # noqa: E402
from lpo_tracker.audit.models import AuditEvent  # noqa: E402
from lpo_tracker.audit.services import audit_verify_chain  # noqa: E402
from matters.models import Task, TaskStatus  # noqa: E402
from supervision.models import BarAdmission, Review, Submission  # noqa: E402
from tests.conftest import build_cast  # noqa: E402


def sql(statement: str, params: list[Any] | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def refusal(attempt: Callable[[], None]) -> str:
    """The database's message, or "accepted" if the statement went through (rolled back)."""
    try:
        with transaction.atomic():
            attempt()
            transaction.set_rollback(True)
    except DatabaseError as error:
        return str(error)
    return "accepted"


def main() -> None:
    cast = build_cast()
    results: dict[str, Any] = {}
    task = cast.advance(cast.task, TaskStatus.IN_REVIEW)
    submission = Submission.objects.get(task=task)
    review = Review.objects.get(submission=submission)
    other = cast.advance(cast.new_task(title="Privilege log"), TaskStatus.IN_REVIEW)
    foreign = Submission.objects.get(task=other)

    def signoff(**changes: Any) -> Callable[[], None]:
        row = {
            "task_id": task.pk, "submission_id": submission.pk, "review_id": review.pk,
            "attorney_id": cast.attorney.pk,
            "bar_admission_id": BarAdmission.objects.get(attorney__user=cast.attorney).pk,
            "attestation_text": "I reviewed it.", "sha256": submission.sha256,
            "signed_at": timezone.now().isoformat(), "confirmation_method": "", **changes,
        }
        statement = (f"INSERT INTO supervision_signoff ({', '.join(row)}) "
                     f"VALUES ({', '.join(['%s'] * len(row))})")
        return lambda: sql(statement, list(row.values()))

    results["genuine sign-off"] = refusal(signoff())
    results["vendor user sign-off"] = refusal(signoff(attorney_id=cast.vendor_a_user.pk))
    results["wrong hash sign-off"] = refusal(signoff(sha256="0" * 64))
    results["foreign submission sign-off"] = refusal(signoff(
        submission_id=foreign.pk, sha256=foreign.sha256,
        review_id=Review.objects.get(submission=foreign).pk))
    results["illegal move"] = refusal(
        lambda: sql("UPDATE matters_task SET status = 'draft' WHERE id = %s", [task.pk]))
    with connection.cursor() as cursor:
        cursor.execute("SELECT from_status, to_status FROM lpo_task_transitions")
        results["transitions"] = sorted(cursor.fetchall())

    # QC: a rejected sampled lot, then its sign-off forged by a raw INSERT; a sample of work
    # that calls for legal judgment.
    from supervision.qc.models import Lot, QcSample
    from supervision.qc.services import qc_sample_draw
    from supervision.services import submission_create
    from tests.factories import pdf_upload
    from tests.supervision.qc.helpers import bulk_task, record, submit_lot

    lot_task = bulk_task(cast, title="Coding lot")
    lot_version = submit_lot(cast, lot_task, items=500)
    qc_sample_draw(actor=cast.attorney, task=lot_task)
    rejected = record(cast, lot_task, defects=4, disposition="full_review")
    lot_review = Review.objects.create(submission=lot_version, reviewer=cast.attorney)
    results["rejected lot sign-off"] = refusal(signoff(
        task_id=lot_task.pk, submission_id=lot_version.pk, review_id=lot_review.pk,
        sha256=lot_version.sha256, qc_result_id=rejected.pk))
    memo = cast.advance(cast.new_task(title="Memo", task_type="legal_research"),
                        TaskStatus.IN_PROGRESS)
    submission_create(actor=cast.vendor_a_user, task=memo, upload=pdf_upload(), item_count=9)

    def forged_sample() -> None:
        QcSample.objects.create(
            lot=Lot.objects.get(submission__task=memo), plan_description="forged",
            method="fixed", lot_size=9, sample_size=1, accept_number=0, reject_number=1,
            seed=1, item_ids=["1"], drawn_by=cast.attorney)

    results["sample of legal judgment"] = refusal(forged_sample)

    approved = cast.advance(task, TaskStatus.APPROVED)

    def new_version(target: Task) -> None:
        sql("INSERT INTO supervision_submission (task_id, version, file, original_name, "
            "content_type, size, sha256, note, submitted_by_id, submitted_at) VALUES "
            "(%s, 2, 'x', 'v.pdf', 'application/pdf', 1, %s, '', %s, %s)",
            [target.pk, "f" * 64, cast.vendor_a_user.pk, timezone.now().isoformat()])

    new_version(approved)
    results["approved task after a raw new version"] = list(
        Task.objects.values_list("status", "approved_signoff_id").get(pk=approved.pk))
    delivered = cast.advance(other, TaskStatus.DELIVERED)
    results["new version of a delivered task"] = refusal(lambda: new_version(delivered))
    for table in ("audit_auditevent", "supervision_submission", "supervision_signoff"):
        results[f"delete all of {table}"] = refusal(partial(sql, f"DELETE FROM {table}"))

    # Anchoring in the embedded default: a file under the var dir.
    anchor = audit_anchor_record(now=timezone.now())
    results["anchor file"] = settings.AUDIT_ANCHOR_FILE
    with open(settings.AUDIT_ANCHOR_FILE, encoding="utf-8") as stream:
        results["anchor line"] = stream.read().strip() == anchor.to_json()
    results["chain ok before the attacks"] = audit_verify_chain().ok

    # A database owner drops the trigger and cuts the chain's end: what is left verifies,
    # the anchor does not.
    sql("DROP TRIGGER audit_auditevent_append_only_delete")
    sql("DELETE FROM audit_auditevent WHERE id >= %s", [(anchor.last_id or 0) - 2])
    results["chain ok after the cut"] = audit_verify_chain().ok
    try:
        call_command("verify_audit", since_anchor=[settings.AUDIT_ANCHOR_FILE])
        results["anchor check after the cut"] = "passed"
    except CommandError as error:
        results["anchor check after the cut"] = str(error)

    # A forged event by a plain INSERT, linked to the head but sealed without the key.
    head = AuditEvent.objects.order_by("-id").first()
    assert head is not None
    AuditEvent(occurred_at=timezone.now(), action="signoff.recorded", object_type="x",
               object_id="1", key_id=settings.AUDIT_HMAC_KEY_ID, prev_hash=head.hash,
               hash="e" * 64).save(force_insert=True)
    report = audit_verify_chain()
    results["forged event"] = [report.first_broken_id is not None, report.reason]
    sys.stdout.write("\n" + json.dumps(results, default=str) + "\n")


if __name__ == "__main__":
    main()
