"""The supervising attorney's pages, and the vendor's side of a task.

Thin views: they resolve objects through the selectors (an object the user may not see is a
404), call one service for each write, and turn a `RuleViolation` into a form error or a
message. `NotEligible` (may see, may not act) answers 403.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape as _esc
from typing import Any

from allauth.core.exceptions import ReauthenticationRequired
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Case, Value, When
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.safestring import mark_safe
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_POST

from lpo_tracker.core.request_limits import accepts_upload
from lpo_tracker.errors import ConfirmationRequired, NotEligible, RuleViolation
from lpo_tracker.fields import TaskType
from lpo_tracker.signin.stepup import confirmation_from_request
from matters.models import Task, TaskStatus
from matters.selectors import (
    SUPERVISE,
    get_task_for,
    task_work_refusal,
    tasks_visible_to,
    users_with_matter_perm,
)
from matters.services import task_start
from matters.templatetags.lpo_time import deadline
from supervision import notifications as notices
from supervision.acknowledgements import acknowledgement_gate
from supervision.error_pages import error_page
from supervision.forms import (
    ApproveForm,
    DeliverForm,
    RequestChangesForm,
    ReviewQueueFilterForm,
    SubmissionForm,
)
from supervision.models import OpenedVia, Submission
from supervision.page_cache import cached_fragment
from supervision.qc.rules import is_sampled
from supervision.reminders.outbox import emails_given_up_for
from supervision.reports.charts import review_age_chart, sla_compliance_chart
from supervision.reports.dashboard import dashboard_for
from supervision.selectors import (
    INLINE_CONTENT_TYPES,
    TEXT_CONTENT_TYPES,
    get_submission_for,
    get_task_for_review,
    review_queue_page,
    review_queue_vendors,
    task_history,
    task_page_for,
)
from supervision.services import (
    attestation_text,
    review_request_changes,
    review_start,
    signoff_eligibility,
    signoff_record,
    submission_create,
    submission_download_refused,
    submission_open,
    task_deliver,
)
from supervision.uploads import UploadRejected
from vendors.access import signed_in_user, staff_view
from vendors.selectors import is_vendor_user

# Where vendor users land instead of the firm's dashboard (the navigation's "My tasks").
VENDOR_HOME = "portal:tasks"
QUEUE_PAGE_SIZE = 50
NOTIFICATIONS_PAGE_SIZE = 50
# The review page prints a text version up to this size; beyond it, a download link.
TEXT_PREVIEW_BYTES = 256 * 1024


def _task_url(task: Task) -> str:
    return reverse("supervision:task_detail", args=[task.pk])


# --- Dashboard ---------------------------------------------------------------------------


DASHBOARD_GAVE_UP_LIMIT = 10


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    user = request.user
    if is_vendor_user(user):
        try:
            return redirect(reverse(VENDOR_HOME))
        except NoReverseMatch:  # the vendor portal is not installed: list their tasks here
            tasks = tasks_visible_to(user).order_by("sla_due_at", "pk")
            return render(request, "supervision/vendor_tasks.html", {"tasks": tasks})
    board = dashboard_for(user, now=timezone.now())
    context = {
        "board": board,
        "latest_notifications": list(notices.notifications_for(user)[:5]),
        "sla_chart": sla_compliance_chart(board.sla_weeks),
        "age_chart": review_age_chart(board.review_ages),
        "emails_given_up": list(emails_given_up_for(user)[:DASHBOARD_GAVE_UP_LIMIT]),
    }
    return render(request, "supervision/dashboard.html", context)


# --- A task ------------------------------------------------------------------------------


def _render_task(
    request: HttpRequest, task: Task, *, upload_form: SubmissionForm | None = None,
    status: int = 200,
) -> HttpResponse:
    page = task_page_for(request.user, task)
    context = {
        "page": page,
        "task": task,
        "upload_form": upload_form or SubmissionForm(task=task, uploader=request.user),
        "deliver_form": DeliverForm(),
        "takes_lot": is_sampled(task),
    }
    return render(request, "supervision/task_detail.html", context, status=status)


@login_required
@require_GET
def task_detail(request: HttpRequest, pk: int) -> HttpResponse:
    task = get_task_for(request.user, pk)
    return acknowledgement_gate(request, task) or _render_task(request, task)


def _wants_json(request: HttpRequest) -> bool:
    """upload.js asks for JSON so it can show errors without reloading the page."""
    return "application/json" in request.headers.get("Accept", "")


def upload_response(
    request: HttpRequest,
    task: Task,
    *,
    task_url: str,
    success: str,
    render_form: Callable[[SubmissionForm], HttpResponse],
) -> HttpResponse:
    """Store a posted version through `submission_create`, for the staff task page and the
    vendor portal alike: a redirect (or JSON for upload.js) on success; the form with its
    errors, the note kept, otherwise. `success` may use {version}."""
    form = SubmissionForm(request.POST, request.FILES, task=task, uploader=request.user)
    if form.is_valid():
        try:
            submission = submission_create(
                actor=signed_in_user(request), task=task, upload=form.cleaned_data["file"],
                note=form.cleaned_data["note"], performed_by=form.cleaned_data["performed_by"],
                item_count=form.cleaned_data["item_count"],
                manifest=form.cleaned_data["manifest"],
            )
        except NotEligible as exc:
            raise PermissionDenied(exc.message) from exc
        except RuleViolation as exc:
            form.add_error("file" if isinstance(exc, UploadRejected) else None, exc.message)
        else:
            messages.success(request, success.format(version=submission.version))
            if _wants_json(request):
                return JsonResponse({"redirect": task_url})
            return redirect(task_url)
    if _wants_json(request):
        errors = [str(error) for errors in form.errors.values() for error in errors]
        return JsonResponse({"errors": errors}, status=400)
    return render_form(form)


def authorise_upload(request: HttpRequest, pk: int) -> None:
    """Before the body is read: 404 for a task the user may not see, 403 for one they may
    not upload to (the service's own rule). The state is left to the service's message."""
    task = get_task_for(request.user, pk)
    refusal = task_work_refusal(request.user, task, "upload work product")
    if refusal is not None:
        raise PermissionDenied(refusal.message)
    acknowledgement_gate(request, task)  # a POST: 403 until the matter is acknowledged


@login_required
@require_POST
@accepts_upload(authorise_upload)
def submission_upload(request: HttpRequest, pk: int) -> HttpResponse:
    task = get_task_for(request.user, pk)
    return upload_response(
        request, task, task_url=_task_url(task),
        success="Version {version} uploaded; the supervising attorneys have been asked to "
        "review it.",
        render_form=lambda form: _render_task(request, task, upload_form=form, status=400),
    )


def act(request: HttpRequest, act: Callable[[], object], success: str, then: str
         ) -> HttpResponse:
    """Run one service on the task: success and refusals come back as messages."""
    try:
        act()
    except NotEligible as exc:
        raise PermissionDenied(exc.message) from exc
    except RuleViolation as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, success)
    return redirect(then)


@login_required
@require_POST
def start(request: HttpRequest, pk: int) -> HttpResponse:
    task = get_task_for(request.user, pk)
    acknowledgement_gate(request, task)
    return act(
        request, lambda: task_start(actor=signed_in_user(request), task=task),
        f"Work on “{task.title}” has started.", _task_url(task),
    )


@staff_view
@require_POST
def start_review(request: HttpRequest, pk: int) -> HttpResponse:
    task = get_task_for(request.user, pk)
    return act(
        request, lambda: review_start(actor=signed_in_user(request), task=task),
        "Review started.", reverse("supervision:review", args=[task.pk]),
    )


@staff_view
@require_POST
def deliver(request: HttpRequest, pk: int) -> HttpResponse:
    task = get_task_for(request.user, pk)
    form = DeliverForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    return act(
        request, lambda: task_deliver(actor=signed_in_user(request), task=task, note=note),
        f"“{task.title}” was delivered to the client.", _task_url(task),
    )


# --- Downloads ---------------------------------------------------------------------------


def submission_or_refuse(request: HttpRequest, pk: int) -> Submission:
    """The version if the user may see it; otherwise the refusal is recorded (who, which
    version) and the answer is the same 404 as for a version that does not exist."""
    try:
        return get_submission_for(request.user, pk)
    except Http404:
        submission_download_refused(actor=request.user, submission_id=pk,
                                    reason="not found, or not visible to this user")
        raise


@login_required
@require_GET
def submission_download(request: HttpRequest, pk: int) -> HttpResponseBase:
    submission = submission_or_refuse(request, pk)
    gate = acknowledgement_gate(request, submission.task)
    if gate is not None:
        return gate
    handle = submission_open(actor=signed_in_user(request), submission=submission,
                             via=OpenedVia.DOWNLOAD)
    return FileResponse(
        handle, as_attachment=True, filename=submission.original_name,
        content_type=submission.content_type,
    )


@staff_view
@require_GET
@xframe_options_sameorigin  # the one response the review page frames; all else is DENY
def submission_inline(request: HttpRequest, pk: int) -> FileResponse:
    """A PDF or text version shown inside the review page. Sandboxed: it runs no script and
    gets no origin, whatever the file contains."""
    submission = submission_or_refuse(request, pk)
    if submission.content_type not in INLINE_CONTENT_TYPES:
        raise Http404("This kind of file is only downloaded.")
    handle = submission_open(actor=signed_in_user(request), submission=submission,
                             via=OpenedVia.INLINE)
    content_type = submission.content_type
    if content_type in TEXT_CONTENT_TYPES:
        content_type += "; charset=utf-8"
    response = FileResponse(
        handle, as_attachment=False, filename=submission.original_name, content_type=content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox"
    return response


# --- Review ------------------------------------------------------------------------------


def _text_preview(request: HttpRequest, submission: Submission) -> str | None:
    """A text version's content for the page (escaped by the template). Reading it is an
    access to the work product like a download, so it goes through the audited opener."""
    if submission.content_type not in TEXT_CONTENT_TYPES or submission.size > TEXT_PREVIEW_BYTES:
        return None
    with submission_open(actor=signed_in_user(request), submission=submission,
                         via=OpenedVia.PREVIEW) as handle:
        return handle.read().decode("utf-8", errors="replace")


def _render_review(
    request: HttpRequest,
    task: Task,
    *,
    approve_form: ApproveForm | None = None,
    changes_form: RequestChangesForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """The review page: the document, its versions and history, and the two decisions."""
    user = signed_in_user(request)
    page = task_page_for(user, task)
    latest = page.latest
    context: dict[str, Any] = {"page": page, "task": task, "latest": latest,
                               "history": task_history(task), "takes_lot": is_sampled(task)}
    if latest is not None:
        initial = {"submission": latest.pk}
        context["approve_form"] = approve_form or ApproveForm(prefix="approve", initial=initial)
        context["changes_form"] = changes_form or RequestChangesForm(
            prefix="changes", initial=initial
        )
        context["text_preview"] = _text_preview(request, latest)
        context["inline"] = latest.content_type in INLINE_CONTENT_TYPES
        if page.actions.review:
            eligibility = signoff_eligibility(user=user, task=task, submission=latest,
                                              confirmation=confirmation_from_request(request))
            context["eligibility"] = eligibility
            # The page frames the version: its loading is the opening the sign-off needs.
            context["offer_signoff"] = eligibility.eligible or (
                eligibility.eligible_once_opened and context["inline"])
            if context["offer_signoff"] and eligibility.bar_admission is not None:
                context["attestation"] = attestation_text(
                    task=task, submission=latest, user=user,
                    bar_admission=eligibility.bar_admission,
                )
    return render(request, "supervision/review.html", context, status=status)


@login_required
@require_GET
def review(request: HttpRequest, pk: int) -> HttpResponse:
    """The review page; a user who may see the task but not review it (the vendor that
    submitted it included: the task is theirs) is told who reviews it instead."""
    try:
        task = get_task_for_review(request.user, pk)
    except PermissionDenied as refusal:
        return _review_forbidden(request, get_task_for(request.user, pk), str(refusal))
    return _render_review(request, task)


def _review_forbidden(request: HttpRequest, task: Task, reason: str) -> HttpResponse:
    """403 in the error page's layout: another attorney must review. Staff are shown who
    may (the matter's supervising attorneys, walls applied); the vendor its portal task."""
    vendor = is_vendor_user(request.user)
    context: dict[str, Any] = {"reason": reason, "task": task, "vendor": vendor}
    if not vendor:
        context["reviewers"] = list(users_with_matter_perm(task.matter, SUPERVISE))
    return error_page(request, "supervision/review_forbidden.html", 403, context)


def _version_of(task: Task, form: ApproveForm | RequestChangesForm) -> Submission | None:
    submission = Submission.objects.filter(task=task, pk=form.cleaned_data["submission"]).first()
    if submission is None:
        form.add_error(None, "That version is not part of this task; reload the page.")
    return submission


@staff_view
@require_POST
def approve(request: HttpRequest, pk: int) -> HttpResponse:
    task = get_task_for_review(request.user, pk)
    form = ApproveForm(request.POST, prefix="approve")
    status = 400
    if form.is_valid() and (submission := _version_of(task, form)) is not None:
        try:
            signoff_record(
                actor=signed_in_user(request), task=task, submission=submission,
                attestation_accepted=form.cleaned_data["attestation_accepted"],
                confirmation=confirmation_from_request(request),
                comments=form.cleaned_data["comments"],
            )
        except ConfirmationRequired:
            # allauth's middleware keeps this POST, asks for the second factor (or the
            # password), then replays the POST, which the service then accepts.
            raise ReauthenticationRequired() from None
        except NotEligible as exc:
            messages.error(request, exc.message)
            status = 403
        except RuleViolation as exc:
            field = "attestation_accepted" if exc.code == "attestation_required" else None
            form.add_error(field, exc.message)
        else:
            messages.success(
                request, f"Version {submission.version} of “{task.title}” is signed off."
            )
            return redirect(_task_url(task))
    return _render_review(request, task, approve_form=form, status=status)


@staff_view
@require_POST
def request_changes(request: HttpRequest, pk: int) -> HttpResponse:
    task = get_task_for_review(request.user, pk)
    form = RequestChangesForm(request.POST, prefix="changes")
    status = 400
    if form.is_valid() and (submission := _version_of(task, form)) is not None:
        try:
            review_request_changes(
                actor=signed_in_user(request), task=task, submission=submission,
                comments=form.cleaned_data["comments"],
                internal_notes=form.cleaned_data["internal_notes"],
            )
        except NotEligible as exc:
            messages.error(request, exc.message)
            status = 403
        except RuleViolation as exc:
            field = "comments" if exc.code == "comments_required" else None
            form.add_error(field, exc.message)
        else:
            messages.success(request, f"Changes requested on “{task.title}”; the vendor "
                             "has been sent your comments.")
            return redirect(reverse("supervision:review_queue"))
    return _render_review(request, task, changes_form=form, status=status)


# --- Review queue ------------------------------------------------------------------------


# The query parameters the queue reads; anything else in the URL is ignored (and does not
# make a new cache entry).
QUEUE_PARAMS = ("matter", "vendor", "task_type", "page")
_PK_SENTINEL = 2_147_483_647


def _page_number(value: str | None) -> int:
    try:
        return min(max(1, int(value or 1)), 10_000)
    except ValueError:
        return 1


def queue_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The queue's rows, each as its task id and its ready-made table row (`html`).

    One f-string per row, every value from the database escaped with `html.escape` (what
    Django's `escape` calls), instead of ~15 template variables a row: a template node costs
    a few microseconds, `format_html` ~35 µs a row, and these rows were the largest part of
    the page (docs/performance.md). The deadlines come from the `deadline` tag's function,
    already escaped."""
    review_url = reverse("supervision:review", args=[_PK_SENTINEL])
    before, _, after = review_url.partition(str(_PK_SENTINEL))
    type_labels = dict(TaskType.choices)
    status_labels = dict(TaskStatus.choices)
    shown = []
    for row in rows:
        zone = row["matter__time_zone"]
        url = f"{before}{row['pk']}{after}"
        status = row["status"]
        html = (
            f'<tr tabindex="-1" aria-selected="false" data-review-url="{url}" '
            f'data-approve-url="{url}#approve" data-changes-url="{url}#id_changes-comments">'
            f'<td><a href="{url}">{_esc(row["title"])}</a></td>'
            f'<td>{_esc(row["matter__number"])}<br>'
            f'<span class="muted">{_esc(row["matter__client__name"])}</span></td>'
            f'<td>{_esc(row["engagement__vendor__name"] or "")}</td>'
            f'<td>{_esc(type_labels.get(row["task_type"], row["task_type"]))}</td>'
            f'<td>v{_esc(str(row["latest_version"]))}<br>'
            f'<span class="muted">{_esc(row["latest_name"] or "")}</span></td>'
            f'<td>{deadline(row["submitted_at"], zone, False)}</td>'
            f'<td>{deadline(row["review_due_at"], zone)}</td>'
            f'<td><span class="pill pill--{_esc(status)}">'
            f'{_esc(status_labels.get(status, status))}</span></td></tr>'
        )
        shown.append({"pk": row["pk"], "html": mark_safe(html)})  # noqa: S308 (escaped)
    return shown


def _render_queue_content(request: HttpRequest, user: User) -> str:
    """The queue's content (filters, shortcuts, rows, pages): two queries, the vendors
    offered as a filter and one page of tasks (`review_queue_page`, no COUNT)."""
    vendors = review_queue_vendors(user)
    data = {name: request.GET[name] for name in ("matter", "vendor", "task_type")
            if name in request.GET}
    form = ReviewQueueFilterForm(data or None, vendors=vendors)
    filters = form.cleaned_data if form.is_valid() else {}
    page = review_queue_page(
        user,
        number=_page_number(request.GET.get("page")),
        size=QUEUE_PAGE_SIZE,
        matter_search=filters.get("matter") or "",
        vendor_id=filters.get("vendor"),
        task_type=filters.get("task_type") or None,
    )
    query = urlencode({name: value for name, value in data.items() if value})
    context = {
        "page": page,
        "rows": queue_rows(page.rows),
        "last_position": page.first_position + len(page.rows) - 1,
        "filtered": bool(filters and any(filters.values())),
        "query": query,
        "matter_search": data.get("matter", ""),
        "vendor_choices": [("", "All vendors"), *[(str(pk), name) for pk, name in vendors]],
        "type_choices": [("", "All types"), *TaskType.choices],
        "selected_vendor": data.get("vendor", ""),
        "selected_type": data.get("task_type", ""),
        "errors": {name: list(errors) for name, errors in form.errors.items()},
    }
    return render_to_string("supervision/_review_queue.html", context)


@staff_view
@require_GET
def review_queue(request: HttpRequest) -> HttpResponse:
    """The tasks waiting on the user's review. The content is cached per user and page
    version (`supervision.page_cache`); the layout around it (navigation, unread badge,
    messages) is rendered on every request."""
    user = signed_in_user(request)
    params = urlencode([(name, request.GET.get(name, "")) for name in QUEUE_PARAMS])
    content, _cached = cached_fragment(
        name="review_queue", user_id=user.pk, params=params,
        render=lambda: _render_queue_content(request, user),
    )
    return render(request, "supervision/review_queue.html", {"content": content})


# --- Notifications -----------------------------------------------------------------------


@login_required
@require_GET
def notifications(request: HttpRequest) -> HttpResponse:
    # What still asks for something first: unread and open, then the rest.
    unread_first = Case(When(read_at__isnull=True, resolved_at__isnull=True, then=Value(0)),
                        default=Value(1))
    items = notices.notifications_for(request.user).order_by(unread_first, "-created_at", "-pk")
    page = Paginator(items, NOTIFICATIONS_PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = notices.with_bodies(page.object_list)
    return render(request, "supervision/notifications.html", {"page_obj": page})


@login_required
@require_POST
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one notification read; with `open`, follow it to the page it is about."""
    notification = notices.notifications_for(request.user).filter(pk=pk).first()
    if notification is None:
        raise Http404("No such notification.")
    notices.notification_mark_read(user=request.user, ids=[notification.pk])
    target = notification.url
    if request.POST.get("open") and target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect(reverse("supervision:notifications"))


@login_required
@require_POST
def notifications_read_all(request: HttpRequest) -> HttpResponse:
    notices.notification_mark_read(user=request.user, ids=None)
    messages.success(request, "All notifications are marked read.")
    return redirect(reverse("supervision:notifications"))
