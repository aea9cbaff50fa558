"""QC reads scoped to the person asking: the reviewer's QC page, the vendor's own defects,
the vendor page's inspection levels, the scorecards' figures."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet

from lpo_tracker.fields import TaskType
from matters.models import Task
from matters.selectors import vendor_submission_filter
from supervision.models import Submission
from supervision.qc.models import (
    DefectCategory,
    InspectionState,
    InspectionSwitch,
    Lot,
    QcCheck,
    QcResult,
    QcSample,
)
from supervision.qc.rules import calls_for_legal_judgment, is_sampled

AnyUser = User | AnonymousUser


@dataclass
class QcPage:
    """Everything the reviewer's QC page of a task shows (for a user who may review it)."""

    task: Task
    sampled: bool
    legal_judgment: bool
    lot: Lot | None
    sample: QcSample | None
    results: list[QcResult] = field(default_factory=list)
    checks: list[QcCheck] = field(default_factory=list)
    categories: list[DefectCategory] = field(default_factory=list)

    @property
    def sample_result(self) -> QcResult | None:
        return next((r for r in self.results if r.kind == "sample"), None)

    @property
    def full_review_result(self) -> QcResult | None:
        return next((r for r in self.results if r.kind == "full_review"), None)

    @property
    def accepted(self) -> bool:
        return any(result.accepted for result in self.results)

    @property
    def awaits_full_review(self) -> bool:
        result = self.sample_result
        return bool(result and not result.accepted and result.disposition == "full_review"
                    and self.full_review_result is None)


def qc_page_for(task: Task) -> QcPage:
    """The latest version's lot, sample, checks and results. Fixed queries: the type's
    settings, the latest version with its lot, the sample, the results, the checks (with
    their categories), the categories."""
    legal = calls_for_legal_judgment(task)
    sampled = is_sampled(task)
    submission = Submission.objects.filter(task=task).order_by("-version").first()
    lot = Lot.objects.filter(submission=submission).first() if submission else None
    sample = QcSample.objects.filter(lot=lot).first() if lot else None
    page = QcPage(task=task, sampled=sampled, legal_judgment=legal, lot=lot, sample=sample)
    if sample is not None:
        page.results = list(QcResult.objects.filter(sample=sample).order_by("pk"))
        page.checks = list(QcCheck.objects.filter(sample=sample).select_related("category"))
    page.categories = list(DefectCategory.objects.filter(task_type=task.task_type,
                                                         is_active=True))
    return page


def vendor_defects(user: AnyUser, task: Task) -> list[Mapping[str, Any]]:
    """The defects QC found in the vendor's own versions of a task: item, category,
    severity and the note for the vendor. Read as values, so internal notes never load."""
    own = Submission.objects.filter(vendor_submission_filter(user), task=task)
    return list(
        QcCheck.objects.filter(sample__lot__submission__in=own, defective=True)
        .order_by("sample__lot__submission__version", "pk")
        .values("pk", "item_id", "category__name", "severity", "vendor_note",
                "sample__lot__submission__version")
    )


def vendor_qc_results(user: AnyUser, task: Task) -> list[Mapping[str, Any]]:
    """The verdicts on the vendor's own lots (no notes)."""
    own = Submission.objects.filter(vendor_submission_filter(user), task=task)
    return list(
        QcResult.objects.filter(submission__in=own)
        .order_by("submission__version", "pk")
        .values("pk", "kind", "accepted", "items_checked", "defects_found",
                "submission__version", "sample__lot_size", "sample__sample_size",
                "sample__severity")
    )


def inspection_levels(vendor_id: int) -> list[InspectionState]:
    """The vendor's inspection severity per task type (one query)."""
    return list(InspectionState.objects.filter(vendor_id=vendor_id).order_by("task_type"))


def inspection_history(vendor_id: int, limit: int = 20) -> QuerySet[InspectionSwitch]:
    return InspectionSwitch.objects.filter(vendor_id=vendor_id).order_by("-switched_at",
                                                                          "-pk")[:limit]


def task_type_label(value: str) -> str:
    return str(TaskType(value).label) if value in TaskType.values else value
