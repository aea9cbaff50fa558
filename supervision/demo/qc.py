"""The demo's quality control: every sampled lot of the demo tasks passes QC before its
sign-off, and one vendor's legal coding has a history of lots that put it on tightened
inspection, the last lot signed off with its QC in the attestation.

Called by `supervision.demo.builder` inside its transaction; everything goes through the
services, so the audit trail tells the same story as the pages."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from lpo_tracker.fields import ConfirmationMethod, TaskType
from lpo_tracker.signin.stepup import Confirmation
from matters.models import Engagement, Matter, Task
from matters.services import task_assign, task_create, task_start
from supervision.models import OpenedVia, Submission
from supervision.qc.models import DefectCategory, Disposition, QcSample
from supervision.qc.rules import is_sampled
from supervision.qc.services import CheckInput, qc_review_record, qc_sample_draw
from supervision.services import (
    latest_submission,
    review_start,
    signoff_record,
    submission_create,
    submission_open,
)

HISTORY_LOT_ITEMS = 500
# The legal coding lots of the tightened vendor, oldest first: defects in each sample
# (Z1.4 level II, AQL 2.5, n 50, Ac 3 / Re 4 on normal; Ac 2 / Re 3 on tightened).
HISTORY = [
    ("Objective coding: Halcyon production, volume 1", [6, 2]),  # rejected, then corrected
    ("Objective coding: Halcyon production, volume 2", [0]),
    ("Objective coding: Halcyon production, volume 3", [5, 1]),  # rejected → tightened
]


def lot_items(task: Task) -> int | None:
    """The item count a demo task's version declares (sampled work only)."""
    if not is_sampled(task):
        return None
    return task.document_count or 60


def accept_lot(*, reviewer: User, task: Task, defects: int = 0) -> None:
    """Draw the latest lot's sample and record it with `defects` minor defects."""
    sample = qc_sample_draw(actor=reviewer, task=task)
    _record(reviewer, task, sample, defects, Disposition.RETURN_TO_VENDOR)


def _record(reviewer: User, task: Task, sample: QcSample, defects: int,
            disposition: str) -> None:
    categories = list(DefectCategory.objects.filter(task_type=task.task_type, is_active=True))
    checks = []
    for index, item in enumerate(sample.item_ids):
        defective = index < defects
        category = categories[index % len(categories)] if defective else None
        checks.append(CheckInput(
            item_id=item, defective=defective,
            category_id=category.pk if category else None,
            severity=("major" if index == 0 else "minor") if defective else "",
            vendor_note=f"{category.name}: see the coding protocol, section 4." if category
            else "",
            internal_note="Second pass by the QC associate." if defective else ""))
    qc_review_record(actor=reviewer, task=task, sample=sample, checks=checks,
                     disposition=disposition,
                     notes="Demo QC pass." if not defects else "Pattern of date errors.")


def _upload(task: Task, vendor_user: User, version: int, stored: list[str]) -> Submission:
    ids = [f"HAL{task.pk:03d}{n:05d}" for n in range(1, HISTORY_LOT_ITEMS + 1)]
    rows = [f"{item},2019-0{1 + n % 9}-1{n % 9},J. Ortega,Email" for n, item in enumerate(ids)]
    body = "\n".join(["control_number,date,author,doc_type", *rows, ""]).encode()
    listed = "\n".join(["item_id", *ids, ""]).encode()
    submission = submission_create(
        actor=vendor_user, task=task,
        upload=SimpleUploadedFile(f"coding-v{version}.csv", body, content_type="text/csv"),
        note="First complete lot." if version == 1 else "Corrected per the QC defects.",
        item_count=HISTORY_LOT_ITEMS,
        manifest=SimpleUploadedFile("manifest.csv", listed, content_type="text/csv"))
    stored.append(submission.file.name)
    stored.append(submission.lot.manifest.name)
    return submission


def _sign(reviewer: User, task: Task, confirmation: Confirmation) -> None:
    version = latest_submission(task)
    assert version is not None
    submission_open(actor=reviewer, submission=version, via=OpenedVia.INLINE).close()
    signoff_record(actor=reviewer, task=task, submission=version, attestation_accepted=True,
                   confirmation=confirmation, comments="Lot accepted on QC; approved.")


def tightened_history(*, matter: Matter, engagement: Engagement, staff: User, reviewer: User,
                      vendor_user: User, now_confirmation: Confirmation,
                      stored: list[str]) -> None:
    """Three more legal coding lots of the vendor whose Meridian coding was accepted: two
    rejected among five consecutive lots put it on tightened inspection; the last, corrected
    lot is drawn on tightened, accepted and signed off (its attestation names the plan,
    sizes, defects and acceptance)."""
    for title, rounds in HISTORY:
        task = task_create(actor=staff, matter=matter, title=title,
                           task_type=TaskType.LEGAL_CODING, requires_legal_judgment=False,
                           document_count=HISTORY_LOT_ITEMS,
                           sla_due_at=timezone.now() - dt.timedelta(days=30 - 7 * len(rounds)),
                           instructions="Objective coding per the protocol; one row per "
                           "control number.")
        task_assign(actor=staff, task=task, engagement=engagement)
        task_start(actor=vendor_user, task=task)
        for version, defects in enumerate(rounds, start=1):
            _upload(task, vendor_user, version, stored)
            task = Task.objects.get(pk=task.pk)
            if version == 1:
                review_start(actor=reviewer, task=task)
            sample = qc_sample_draw(actor=reviewer, task=task)
            _record(reviewer, task, sample, defects, Disposition.RETURN_TO_VENDOR)
            task = Task.objects.get(pk=task.pk)
        _sign(reviewer, task, now_confirmation)


def demo_confirmation(now: object) -> Confirmation:
    return Confirmation(method=ConfirmationMethod.DEMO, confirmed_at=now)  # type: ignore[arg-type]
