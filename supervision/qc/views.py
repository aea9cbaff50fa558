"""The reviewer's QC page of a task: the lot, the drawn sample, the defect log form, the
verdict and what happens to a rejected lot. Firm staff who supervise the matter only
(`get_task_for_review`: 404 for a task the user may not see, 403 for one they may see but do
not supervise; vendor users 404)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from lpo_tracker.errors import NotEligible, RuleViolation
from matters.models import Task
from supervision.models import Submission
from supervision.qc.models import DefectSeverity, Disposition, QcSample
from supervision.qc.selectors import qc_page_for
from supervision.qc.services import (
    CheckInput,
    qc_full_review_record,
    qc_review_record,
    qc_sample_draw,
)
from supervision.selectors import get_task_for_review, task_page_for
from vendors.access import signed_in_user, staff_view


def _qc_url(task: Task) -> str:
    return reverse("supervision:qc", args=[task.pk])


def _render(request: HttpRequest, task: Task, *, status: int = 200,
            posted: QueryDict | None = None) -> HttpResponse:
    page = qc_page_for(task)
    rows = []
    if page.sample is not None and not page.checks:
        for index, item_id in enumerate(page.sample.item_ids):
            prefix = f"item-{index}"
            rows.append({
                "index": index, "item_id": item_id, "prefix": prefix,
                "defective": bool(posted and posted.get(f"{prefix}-state") == "defective"),
                "category": posted.get(f"{prefix}-category", "") if posted else "",
                "severity": posted.get(f"{prefix}-severity", "") if posted else "",
                "vendor_note": posted.get(f"{prefix}-vendor_note", "") if posted else "",
                "internal_note": posted.get(f"{prefix}-internal_note", "") if posted else "",
            })
    return render(request, "supervision/qc.html", {
        "task": task, "qc": page, "page": task_page_for(request.user, task), "rows": rows,
        "severities": DefectSeverity.choices, "dispositions": Disposition.choices,
        "latest": Submission.objects.filter(task=task).order_by("-version").first(),
    }, status=status)


@staff_view
@require_GET
def qc_page(request: HttpRequest, pk: int) -> HttpResponse:
    return _render(request, get_task_for_review(request.user, pk))


def _run(request: HttpRequest, task: Task, action: object, success: str) -> HttpResponse | None:
    try:
        action()  # type: ignore[operator]
    except NotEligible as exc:
        raise PermissionDenied(exc.message) from exc
    except RuleViolation as exc:
        messages.error(request, exc.message)
        return None
    messages.success(request, success)
    return redirect(_qc_url(task))


@staff_view
@require_POST
def qc_draw(request: HttpRequest, pk: int) -> HttpResponse:
    task = get_task_for_review(request.user, pk)
    done = _run(request, task, lambda: qc_sample_draw(actor=signed_in_user(request), task=task),
                "The sample is drawn; record each item below.")
    return done or _render(request, task, status=400)


def _posted_checks(sample: QcSample, data: QueryDict) -> list[CheckInput]:
    checks = []
    for index, item_id in enumerate(sample.item_ids):
        prefix = f"item-{index}"
        category = data.get(f"{prefix}-category", "")
        checks.append(CheckInput(
            item_id=item_id, defective=data.get(f"{prefix}-state") == "defective",
            category_id=int(category) if category.isdigit() else None,
            severity=data.get(f"{prefix}-severity", ""),
            vendor_note=data.get(f"{prefix}-vendor_note", "")[:2000],
            internal_note=data.get(f"{prefix}-internal_note", "")[:2000],
        ))
    return checks


@staff_view
@require_POST
def qc_record(request: HttpRequest, pk: int) -> HttpResponse:
    task = get_task_for_review(request.user, pk)
    page = qc_page_for(task)
    if page.sample is None:
        messages.error(request, "Draw the sample first.")
        return redirect(_qc_url(task))
    sample = page.sample

    def record() -> object:
        return qc_review_record(
            actor=signed_in_user(request), task=task, sample=sample,
            checks=_posted_checks(sample, request.POST),
            disposition=request.POST.get("disposition", ""),
            notes=request.POST.get("notes", "")[:4000])

    done = _run(request, task, record, "The QC result is recorded.")
    return done or _render(request, task, status=400, posted=request.POST)


@staff_view
@require_POST
def qc_full_review(request: HttpRequest, pk: int) -> HttpResponse:
    task = get_task_for_review(request.user, pk)
    page = qc_page_for(task)
    corrected = request.POST.get("defects_corrected", "")
    if page.sample is None or not corrected.isdigit():
        messages.error(request, "Give the number of defects the full re-review corrected.")
        return _render(request, task, status=400)
    sample = page.sample
    done = _run(request, task, lambda: qc_full_review_record(
        actor=signed_in_user(request), task=task, sample=sample,
        defects_corrected=int(corrected), notes=request.POST.get("notes", "")[:4000]),
        "The full re-review is recorded; the lot may now be signed off.")
    return done or _render(request, task, status=400)
