"""Builders for QC tests: bulk work walked through the services."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from matters.models import Task, TaskStatus
from supervision.models import Submission
from supervision.qc.models import DefectCategory, QcResult, QcSample
from supervision.qc.rules import defaults_ensure
from supervision.qc.services import CheckInput, qc_review_record, qc_sample_draw
from supervision.services import latest_submission, submission_create
from tests import factories as f
from tests.conftest import Cast


def manifest(count: int, prefix: str = "ACME") -> SimpleUploadedFile:
    body = "item_id\n" + "".join(f"{prefix}{n:06d}\n" for n in range(1, count + 1))
    return SimpleUploadedFile("manifest.csv", body.encode(), content_type="text/csv")


def bulk_task(cast: Cast, *, title: str = "First-level review, custodian Smith",
              task_type: str = "document_review") -> Task:
    task = cast.new_task(title=title, task_type=task_type, requires_legal_judgment=False)
    return cast.advance(task, TaskStatus.IN_PROGRESS)


def submit_lot(cast: Cast, task: Task, *, items: int = 500, with_manifest: bool = False
               ) -> Submission:
    return submission_create(actor=cast.vendor_a_user, task=Task.objects.get(pk=task.pk),
                             upload=f.pdf_upload("coding export"), item_count=items,
                             manifest=manifest(items) if with_manifest else None)


def category(task_type: str = "document_review") -> DefectCategory:
    defaults_ensure()  # a committing test's flush may have removed the migration's rows
    found = DefectCategory.objects.filter(task_type=task_type).order_by("name").first()
    assert found is not None, f"no defect category seeded for {task_type}"
    return found


def record(cast: Cast, task: Task, *, defects: int, disposition: str = "return_to_vendor",
           internal: str = "") -> QcResult:
    """Record the sample of the latest lot with its first `defects` items defective."""
    sample = QcSample.objects.get(lot__submission=latest_submission(task))
    kind = category(task.task_type)
    checks = [CheckInput(item_id=item, defective=index < defects,
                         category_id=kind.pk if index < defects else None,
                         severity="major" if index < defects else "",
                         vendor_note=f"Re-check {item}" if index < defects else "",
                         internal_note=internal if index < defects else "")
              for index, item in enumerate(sample.item_ids)]
    return qc_review_record(actor=cast.attorney, task=Task.objects.get(pk=task.pk),
                            sample=sample, checks=checks, disposition=disposition,
                            notes=internal)


def inspect_lot(cast: Cast, task: Task, *, defects: int, items: int = 500,
                disposition: str = "return_to_vendor") -> QcResult:
    """Submit a lot, draw and record its sample."""
    submit_lot(cast, task, items=items)
    qc_sample_draw(actor=cast.attorney, task=Task.objects.get(pk=task.pk))
    return record(cast, task, defects=defects, disposition=disposition)
