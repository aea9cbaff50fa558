"""Deadline pages: moving a task's due date (with its reason) and the firm's task templates.

Thin, like every view here: reads through `matters.selectors`, writes through
`matters.deadlines`. Vendor users get 404 (`staff_view`); a task the user may not see is 404;
staff who may see it but not move its dates get 403, as do staff without the template
permission on the template pages.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from lpo_tracker.errors import NotEligible, RuleViolation
from matters.deadlines import due_date_change_refusal, task_change_due_date, task_template_save
from matters.forms import DueDateChangeForm, TaskTemplateForm
from matters.models import DueDateKind, TaskTemplate
from matters.selectors import get_task_for, may_manage_task_templates
from vendors.access import signed_in_user, staff_view


@staff_view
@require_http_methods(["GET", "POST"])
def task_due_date(request: HttpRequest, pk: int) -> HttpResponse:
    """Move the vendor deadline or the review window of a task, with a required reason; the
    change is kept in the task's due-date history and announced (`task_change_due_date`)."""
    task = get_task_for(request.user, pk)
    refusal = due_date_change_refusal(request.user, task)
    if isinstance(refusal, NotEligible):
        raise PermissionDenied(refusal.message)
    form = DueDateChangeForm(request.POST or None, task=task)
    if request.method == "POST" and refusal is None and form.is_valid():
        kind = form.cleaned_data["kind"]
        try:
            task_change_due_date(
                actor=signed_in_user(request),
                task=task,
                kind=kind,
                new_value=form.cleaned_data["new_value"],
                reason=form.cleaned_data["reason"],
            )
        except NotEligible as exc:
            raise PermissionDenied(exc.message) from exc
        except RuleViolation as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                f"{DueDateKind(kind).label} of “{task.title}” moved; the "
                "vendor and the team are told.",
            )
            return HttpResponseRedirect(
                reverse("supervision:task_detail", args=[task.pk]) + "#due-heading"
            )
    return render(
        request,
        "matters/task_due_date.html",
        {
            "task": task,
            "matter": task.matter,
            "form": form,
            "refusal": refusal.message if refusal else "",
        },
    )


def _require_template_manager(request: HttpRequest) -> None:
    if not may_manage_task_templates(request.user):
        raise PermissionDenied(
            "Only those who manage the firm's task templates may open this page."
        )


@staff_view
@require_GET
def task_templates(request: HttpRequest) -> HttpResponse:
    """The firm's task templates, active and retired (one query)."""
    _require_template_manager(request)
    templates = list(TaskTemplate.objects.order_by("-is_active", "name"))
    return render(request, "matters/task_templates.html", {"templates": templates})


@staff_view
@require_http_methods(["GET", "POST"])
def task_template_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """Create (no pk) or edit a task template."""
    _require_template_manager(request)
    template = get_object_or_404(TaskTemplate, pk=pk) if pk is not None else TaskTemplate()
    form = TaskTemplateForm(request.POST or None, instance=template)
    if request.method == "POST" and form.is_valid():
        try:
            saved = task_template_save(actor=signed_in_user(request), template=form.instance)
        except RuleViolation as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Task template “{saved.name}” saved.")
            return HttpResponseRedirect(reverse("matters:task_templates"))
    return render(
        request,
        "matters/task_template_form.html",
        {"form": form, "template": template if pk is not None else None},
    )
