"""The vendor portal, mounted at /portal/ (namespace "portal"): a vendor user's own tasks,
the instructions shared with them, their uploads and the attorneys' review comments, and the
conflicts they declare.

Only active users with an active vendor membership reach it; everyone else gets 404 (the
portal does not exist for firm staff) and anonymous users the login page. Every task is read
through `matters.selectors.tasks_visible_to`, which limits a vendor user to their own
vendor's tasks once assigned (never a draft), so another vendor's task is a 404,
indistinguishable from one that does not exist.

What a task shares with the vendor, and nothing more: its title, type, priority,
instructions, state and deadlines, and the matter's NUMBER (for reference in their own
systems). Not the matter's title, client, parties, team or budget; not the review's internal
notes; not the sign-off record. Of quality control: the verdict on each of their own lots
and the defects found in them (item, category, severity, the note meant for them), never the
reviewer's internal notes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import FileResponse, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from lpo_tracker.clock import firm_today
from lpo_tracker.core.request_limits import accepts_upload
from lpo_tracker.errors import NotEligible, RuleViolation
from matters.models import (
    AWAITING_REVIEW_STATES,
    OPEN_STATES,
    WITH_VENDOR_STATES,
    Task,
    TaskStatus,
)
from matters.selectors import (
    get_task_for,
    tasks_visible_to,
    vendor_submission_filter,
)
from matters.services import task_start
from supervision.acknowledgements import acknowledgement_gate, matters_awaiting_acknowledgement
from supervision.forms import SubmissionForm
from supervision.models import Review, ReviewDecision, Submission
from supervision.qc.rules import is_sampled
from supervision.qc.selectors import vendor_defects, vendor_qc_results
from supervision.selectors import task_actions_for
from supervision.services import submission_open
from supervision.views import act, authorise_upload, submission_or_refuse, upload_response
from vendors.access import portal_membership, portal_view
from vendors.forms import DeclarationForm
from vendors.models import ConflictDeclaration
from vendors.services import conflict_declaration_add

View = Callable[..., HttpResponseBase]
TASKS_PER_PAGE = 50
# The state filter of the task list: groups first, then each state a vendor can see.
STATE_FILTERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "open": ("Open", OPEN_STATES),
    "with_you": ("With you", WITH_VENDOR_STATES),
    "in_review": ("With the firm for review", AWAITING_REVIEW_STATES),
    **{value: (str(label), (value,)) for value, label in TaskStatus.choices
       if value != TaskStatus.DRAFT},
}




class TaskStateFilterForm(forms.Form):
    """The task list's one filter (rendered by the shared _filters.html)."""

    state = forms.ChoiceField(label="State", required=False, choices=[
        ("", "All tasks"), *((key, label) for key, (label, _) in STATE_FILTERS.items())])

    def state_chosen(self) -> str:
        return str(self.cleaned_data.get("state") or "") if self.is_valid() else ""


def _task_url(task: Task) -> str:
    return reverse("portal:task", args=[task.pk])


# --- Tasks ----------------------------------------------------------------------------------


def portal_tasks(user: Any, state: str = "") -> QuerySet[Task]:
    """The vendor user's tasks (assigned onward), soonest deadline first, each with its
    latest version number: one query for a page."""
    latest = Submission.objects.filter(task=OuterRef("pk")).order_by("-version")
    tasks = tasks_visible_to(user).annotate(
        latest_version=Subquery(latest.values("version")[:1])
    )
    if state in STATE_FILTERS:
        tasks = tasks.filter(status__in=STATE_FILTERS[state][1])
    return tasks.order_by("sla_due_at", "pk")


@portal_view
@require_GET
def task_list(request: HttpRequest) -> HttpResponse:
    """Queries, whatever the number of tasks: the membership (with its vendor), the count,
    one page of tasks, the matters awaiting acknowledgement (two), plus the session, user and
    unread badge of every page."""
    membership = portal_membership(request)
    form = TaskStateFilterForm(request.GET or None)
    state = form.state_chosen()
    page = Paginator(portal_tasks(request.user, state), TASKS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(request, "portal/tasks.html", {
        "vendor": membership.vendor,
        "page_obj": page,
        "tasks": page.object_list,
        "awaiting_acknowledgement": matters_awaiting_acknowledgement(
            membership, {task.matter for task in page.object_list}),
        "form": form,
        "state": state,
        "with_vendor_states": WITH_VENDOR_STATES,
    })


def _comments(task: Task, user: User | AnonymousUser) -> list[Mapping[str, object]]:
    """The decided reviews' comments on the vendor's own versions. Read as values so the
    internal notes are never even loaded."""
    own = Submission.objects.filter(vendor_submission_filter(user), task=task)
    return list(
        Review.objects.filter(submission__in=own, decision__in=(
            ReviewDecision.APPROVED, ReviewDecision.CHANGES_REQUESTED))
        .exclude(comments="")
        .order_by("decided_at", "pk")
        .values("pk", "decision", "comments", "decided_at", "submission__version")
    )


def _render_task(request: HttpRequest, task: Task, *, upload_form: SubmissionForm | None = None,
                 status: int = 200) -> HttpResponse:
    membership = portal_membership(request)
    actions = task_actions_for(request.user, task)
    submissions = list(
        Submission.objects.filter(vendor_submission_filter(request.user), task=task)
        .order_by("version").only(
            "pk", "task_id", "version", "original_name", "size", "sha256", "note",
            "submitted_at",
        )
    )
    return render(request, "portal/task.html", {
        "task": task,
        "vendor": membership.vendor,
        "matter_number": task.matter.number,
        "matter_time_zone": task.matter.time_zone,
        "submissions": submissions,
        "comments": _comments(task, request.user),
        "decisions": {"approved": ReviewDecision.APPROVED,
                      "changes_requested": ReviewDecision.CHANGES_REQUESTED},
        "can_start": actions.start,
        "can_upload": actions.upload,
        "sla_running": task.status in WITH_VENDOR_STATES,
        "upload_form": upload_form or SubmissionForm(task=task, uploader=request.user),
        "takes_lot": is_sampled(task),
        "defects": vendor_defects(request.user, task),
        "qc_results": vendor_qc_results(request.user, task),
    }, status=status)


@portal_view
@require_GET
def task_detail(request: HttpRequest, pk: int) -> HttpResponse:
    task = get_task_for(request.user, pk)
    return acknowledgement_gate(request, task) or _render_task(request, task)


@portal_view
@require_POST
def task_start_view(request: HttpRequest, pk: int) -> HttpResponse:
    task = get_task_for(request.user, pk)
    acknowledgement_gate(request, task)
    return act(
        request, lambda: task_start(actor=request.user, task=task),  # type: ignore[arg-type]
        f"Work on “{task.title}” has started.", _task_url(task),
    )


@portal_view
@require_POST
@accepts_upload(authorise_upload)  # after portal_view's membership check
def submission_upload(request: HttpRequest, pk: int) -> HttpResponse:
    task = get_task_for(request.user, pk)
    return upload_response(
        request, task, task_url=_task_url(task),
        success="Version {version} uploaded; the firm's supervising attorneys have been asked "
        "to review it.",
        render_form=lambda form: _render_task(request, task, upload_form=form, status=400),
    )


@portal_view
@require_GET
def submission_download(request: HttpRequest, pk: int) -> HttpResponseBase:
    """A version of the vendor's own work product (404 for anyone else's); audited."""
    submission = submission_or_refuse(request, pk)
    gate = acknowledgement_gate(request, submission.task)
    if gate is not None:
        return gate
    handle = submission_open(actor=request.user, submission=submission)  # type: ignore[arg-type]
    return FileResponse(handle, as_attachment=True, filename=submission.original_name,
                        content_type=submission.content_type)


# --- Declared conflicts ---------------------------------------------------------------------


@portal_view
@require_http_methods(["GET", "POST"])
def conflicts(request: HttpRequest) -> HttpResponse:
    """The vendor's declared conflicts, and a form to declare one's own (every conflict
    search on a matter engaging the vendor compares the matter's parties with them)."""
    membership = portal_membership(request)
    form = DeclarationForm(request.POST if request.method == "POST" else None,
                           initial={"declared_on": firm_today()})
    if request.method == "POST" and form.is_valid():
        try:
            conflict_declaration_add(
                actor=request.user,  # type: ignore[arg-type]
                vendor=membership.vendor, party_name=form.cleaned_data["party_name"],
                relationship=form.cleaned_data["relationship"],
                declared_on=form.cleaned_data["declared_on"],
            )
        except NotEligible as exc:
            raise PermissionDenied(exc.message) from exc
        except RuleViolation as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Thank you: your declaration is recorded.")
            return redirect(reverse("portal:conflicts"))
    declarations = ConflictDeclaration.objects.filter(vendor=membership.vendor).select_related(
        "declared_by__user").order_by("party_name")
    return render(request, "portal/conflicts.html", {
        "vendor": membership.vendor,
        "declarations": declarations,
        "form": form,
    }, status=400 if form.is_bound and form.errors else 200)
