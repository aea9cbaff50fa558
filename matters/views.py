"""Matter pages: the list, the detail, the audit-trail export, and the task moves firm staff
make before work reaches a vendor (create, assign, reassign, cancel, bulk assign), plus
recording an engagement's conflict check and client consent.

Views are thin. They read through `matters.selectors` (404 for what the user may not see, 403
for what they may see but not do) and write through `matters.services`, turning a
`RuleViolation` into a form error or a message, never a 500. Vendor users have no matter
pages at all: every view here answers them 404 (they work from their portal).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import F, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.middleware import HtmxDetails

from lpo_tracker.audit.models import AuditEvent
from lpo_tracker.audit.selectors import (
    AUDIT_COLUMNS,
    event_rows,
    events_for_matter,
)
from lpo_tracker.clock import firm_today, local_text
from lpo_tracker.errors import RuleViolation
from lpo_tracker.exports import CSV, FORMATS, Column, export_response
from lpo_tracker.fields import Priority, TaskType
from matters import services
from matters.deadlines import default_deadline
from matters.filters import MatterFilter
from matters.forms import (
    AuditExportForm,
    BulkAssignForm,
    TaskAssignForm,
    TaskCancelForm,
    TaskCreateForm,
    TaskReassignForm,
    TaskTemplateChoiceForm,
    template_initial,
)
from matters.models import (
    ASSIGN_FROM,
    AWAITING_REVIEW_STATES,
    CANCEL_FROM,
    OPEN_STATES,
    REASSIGN_FROM,
    WITH_VENDOR_STATES,
    Engagement,
    EthicalWall,
    Matter,
    MatterMembership,
    MatterRole,
    MatterStatus,
    Party,
    Task,
    TaskStatus,
    TaskTemplate,
    overdue_q,
)
from matters.selectors import (
    CHANGE,
    SUPERVISE,
    VIEW,
    get_matter_for,
    get_task_for,
    is_firm_admin,
    matters_visible_to,
    may_compile_supervision_file,
    may_manage_task_templates,
    supervisor_standing,
    task_count,
    tasks_visible_to,
    user_has_matter_perm,
)
from vendors.access import signed_in_user, staff_view

View = Callable[..., HttpResponse]


class HtmxHttpRequest(HttpRequest):
    """A request as django-htmx's middleware leaves it (for the type checker)."""

    htmx: HtmxDetails


MATTERS_PER_PAGE = 25
TIMELINE_LENGTH = 50
# Tasks that can be handed to a vendor from the matter page: drafts (assign) and unsubmitted
# work already with a vendor (reassign), as TASK_TRANSITIONS allows.
MOVABLE_STATES = (*ASSIGN_FROM, *REASSIGN_FROM)


# --- Access -------------------------------------------------------------------------------


def _task_for_change(request: HttpRequest, pk: int) -> Task:
    """The task if the user may see it (404) and may change its matter (403)."""
    task = get_task_for(request.user, pk)
    if not user_has_matter_perm(request.user, task.matter, CHANGE):
        raise PermissionDenied("You may see this task but not change its matter.")
    return task


def _engagements_of(matter: Matter) -> QuerySet[Engagement]:
    return Engagement.objects.filter(matter=matter).select_related("vendor").order_by(
        "status", "vendor__name"
    )


@dataclass
class EngagementOption:
    """An engagement as a choice on a form, with why it cannot take work today."""

    engagement: Engagement
    blockers: list[str] = field(default_factory=list)

    @property
    def blocked(self) -> bool:
        return bool(self.blockers)


def _engagement_options(engagements: QuerySet[Engagement], matter: Matter
                        ) -> list[EngagementOption]:
    # Same day as the service checks against (matters.services._check_engagement).
    today = firm_today()
    options = []
    for engagement in engagements:
        engagement.matter = matter  # already loaded: spare the blockers a query per row
        options.append(
            EngagementOption(engagement, services.engagement_blockers(engagement, day=today))
        )
    return options


def _matter_url(matter_id: int, anchor: str = "") -> str:
    url = reverse("matters:detail", args=[matter_id])
    return f"{url}#{anchor}" if anchor else url


def _task_url(task: Task) -> str:
    return reverse("supervision:task_detail", args=[task.pk])


# --- Matter list --------------------------------------------------------------------------


def annotate_task_counts(matters: QuerySet[Matter], *, now: dt.datetime) -> QuerySet[Matter]:
    """Open, draft and overdue task counts per matter, in the same query as the matters.

    Overdue = with the vendor past its SLA, or awaiting review past its review window.
    """
    # Correlated subqueries, not Count() over a join: counted for the page's rows only.
    return matters.annotate(
        open_task_count=task_count(Q(status__in=OPEN_STATES)),
        draft_task_count=task_count(Q(status=TaskStatus.DRAFT)),
        overdue_task_count=task_count(overdue_q(now)),
    ).order_by("-opened_on", "-number")


# The matter list's export columns (`?format=csv|xlsx` on the list).
MATTER_COLUMNS: list[Column[Matter]] = [
    Column("Matter", lambda matter: matter.number),
    Column("Title", lambda matter: matter.title),
    Column("Client", lambda matter: matter.client.name),
    Column("Practice area", lambda matter: matter.get_practice_area_display()),
    Column("Responsible attorney", lambda matter: matter.responsible_attorney.get_full_name()
           or matter.responsible_attorney.get_username()),
    Column("Status", lambda matter: matter.get_status_display()),
    Column("Open tasks", lambda matter: matter.open_task_count),  # type: ignore[attr-defined]
    Column("Draft tasks", lambda matter: matter.draft_task_count),  # type: ignore[attr-defined]
    Column("Overdue tasks",
           lambda matter: matter.overdue_task_count),  # type: ignore[attr-defined]
    Column("Opened on", lambda matter: matter.opened_on),
    Column("Time zone", lambda matter: matter.time_zone),
    Column("Budget", lambda matter: matter.budget),
    Column("Currency", lambda matter: matter.currency),
]


@staff_view
@require_GET
def matter_list(request: HtmxHttpRequest) -> HttpResponseBase:
    """Queries, whatever the number of rows: the client choices of the filter form, the
    count for the paginator, and one page of matters with their task counts. With
    `?format=csv|xlsx`, the whole filtered selection as a file instead."""
    matters = annotate_task_counts(matters_visible_to(request.user), now=timezone.now())
    filterset = MatterFilter(request.GET or None, queryset=matters, request=request)
    export_format = request.GET.get("format", "")
    wants_file = export_format in FORMATS
    if wants_file and filterset.is_valid():
        # The page's own selection, every page of it, streamed (lpo_tracker.exports).
        return export_response(
            export_format, filename=f"matters-{firm_today():%Y%m%d}", sheet_name="Matters",
            columns=MATTER_COLUMNS, rows=filterset.qs.iterator(chunk_size=2000),
        )
    paginator = Paginator(filterset.qs, MATTERS_PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    filter_keys = ("q", "client", "status", "practice_area", "overdue")
    context = {
        "filterset": filterset,
        "page_obj": page,
        "matters": page.object_list,
        "is_filtered": any(request.GET.get(key) for key in filter_keys),
    }
    partial = request.htmx and not request.htmx.history_restore_request
    template = "matters/_matter_results.html" if partial else "matters/matter_list.html"
    # A file asked for with a bad filter gets the page and its errors, never a wider file.
    response = render(request, template, context, status=400 if wants_file else 200)
    # The same URL answers a whole page or the results fragment: caches must tell them apart.
    patch_vary_headers(response, ["HX-Request"])
    return response


# --- Matter detail ------------------------------------------------------------------------

PERMISSION_WORDS = {VIEW: "view access", CHANGE: "edit access", SUPERVISE: "supervision rights"}
ROLE_WORDS = {MatterRole.TEAM: "team member",
              MatterRole.SUPERVISING_ATTORNEY: "supervising attorney"}


def describe_event(
    event: AuditEvent, *, vendor_names: dict[int, str], show_walls: bool,
    screened_ids: frozenset[int] = frozenset(),
) -> str:
    """One readable line for an audit event on the matter's timeline.

    Who is screened by an ethical wall is shown only to those who manage the matter: for
    everyone else, walls and grants concerning a screened person read generically.
    """
    after: dict[str, Any] = event.after or {}
    before: dict[str, Any] = event.before or {}
    concerned = after.get("user") or before.get("user")
    if not show_walls and concerned in screened_ids:
        return "changed who may access the matter"
    subject = f"“{event.object_repr}”"
    vendor = vendor_names.get(after.get("engagement") or 0, "another vendor")
    permission = PERMISSION_WORDS.get(after.get("permission", ""), after.get("permission", ""))
    descriptions: dict[str, Callable[[], str]] = {
        "matter.created": lambda: "opened the matter",
        "permission.granted": lambda: f"gave {after.get('username', 'a user')} {permission}",
        "permission.revoked": lambda: "removed "
        + PERMISSION_WORDS.get(before.get("permission", ""), "a permission")
        + f" from {before.get('username', 'a user')}",
        "wall.added": lambda: (
            f"screened {after.get('username', 'a user')} from the matter (ethical wall)"
            if show_walls else "updated the matter's ethical walls"
        ),
        "membership.added": lambda: f"added {after.get('username', 'a user')} as "
        + ROLE_WORDS.get(after.get("role", ""), "a member"),
        "membership.removed": lambda: f"removed {before.get('username', 'a user')} as "
        + ROLE_WORDS.get(before.get("role", ""), "a member"),
        "party.added": lambda: f"added the party {after.get('name', '')}",
        "party.updated": lambda: f"changed the party {after.get('name', '')}",
        "party.removed": lambda: f"removed the party {before.get('name', '')}",
        "matter.consent_waived": lambda: "recorded that no client consent is needed: "
        f"{after.get('reason', '')}",
        "matter.closed": lambda: "closed the matter",
        "engagement.ended": lambda: f"ended the engagement {event.object_repr}: "
        f"{after.get('reason', '')}",
        "wall.removed": lambda: (
            f"took down the ethical wall for {before.get('username', 'a user')}"
            if show_walls else "updated the matter's ethical walls"
        ),
        "engagement.created": lambda: f"engaged a vendor ({event.object_repr})",
        "engagement.conflict_checked": lambda: (
            f"recorded the conflict check for {event.object_repr}: "
            f"{after.get('conflict_check_status', 'done')}"
        ),
        "engagement.consent_recorded": lambda: (
            f"recorded client consent for {event.object_repr} "
            f"(given by {after.get('given_by', 'the client')})"
        ),
        "task.created": lambda: f"created the draft task {subject}",
        "task.assigned": lambda: f"assigned {subject} to {vendor}",
        "task.reassigned": lambda: f"reassigned {subject} to {vendor}: {after.get('reason', '')}",
        "task.started": lambda: f"started work on {subject}",
        "task.cancelled": lambda: f"cancelled {subject}: {after.get('reason', '')}",
        "task.due_date_changed": lambda: f"moved a due date of {subject}: "
        f"{after.get('reason', '')}",
        "task.delivered": lambda: f"delivered {subject} to the client",
        "submission.created": lambda: f"submitted work product for {subject}",
        "submission.downloaded": lambda: f"opened submitted work product of {subject}",
        "review.started": lambda: f"started the attorney review of {subject}",
        "review.changes_requested": lambda: f"requested changes on {subject}",
        "signoff.recorded": lambda: f"signed off {subject}",
        "audit.exported": lambda: "exported the audit trail "
        f"({after.get('start', '?')} to {after.get('end', '?')})",
    }
    describe = descriptions.get(event.action)
    if describe is not None:
        return describe()
    return f"{event.action.replace('.', ' ').replace('_', ' ')} {subject}".strip()


@dataclass
class TimelineEntry:
    event: AuditEvent
    description: str
    task_id: int | None


@dataclass
class TaskGroup:
    status: str
    label: str
    tasks: list[Task]


def _group_tasks(tasks: list[Task]) -> list[TaskGroup]:
    """Tasks by state, in the order work flows; empty states are left out."""
    by_status: dict[str, list[Task]] = {}
    for task in tasks:
        by_status.setdefault(task.status, []).append(task)
    return [
        TaskGroup(status, str(label), by_status[status])
        for status, label in TaskStatus.choices
        if status in by_status
    ]


def _timeline(matter: Matter, *, vendor_names: dict[int, str], show_walls: bool,
              screened_ids: frozenset[int]) -> list[TimelineEntry]:
    events = events_for_matter(matter.pk).select_related("actor").order_by("-id")
    return [
        TimelineEntry(
            event,
            describe_event(event, vendor_names=vendor_names, show_walls=show_walls,
                           screened_ids=screened_ids),
            int(event.object_id) if event.object_type == "matters.task" else None,
        )
        for event in events[:TIMELINE_LENGTH]
    ]


def _detail_context(request: HttpRequest, matter: Matter) -> dict[str, Any]:
    """Everything the matter page shows, in a fixed number of queries (the tasks table is
    one query whatever its length; each engagement costs one diligence query)."""
    user = request.user
    can_change = user_has_matter_perm(user, matter, CHANGE)
    can_supervise = user_has_matter_perm(user, matter, SUPERVISE)
    walls = list(EthicalWall.objects.filter(matter=matter).select_related("user"))
    screened_ids = frozenset(wall.user_id for wall in walls)
    # Screened people are out of the matter whatever their membership says.
    memberships = [
        membership
        for membership in MatterMembership.objects.filter(matter=matter)
        .select_related("user")
        .order_by("user__last_name", "user__first_name", "user__username")
        if membership.user_id not in screened_ids
    ]
    engagements = _engagements_of(matter)
    options = _engagement_options(engagements, matter)
    vendor_names = {option.engagement.pk: str(option.engagement.vendor) for option in options}
    tasks = list(
        tasks_visible_to(user)
        .filter(matter=matter)
        .order_by(F("sla_due_at").asc(nulls_last=True), "id")
    )
    movable = [task for task in tasks if task.status in MOVABLE_STATES]
    supervisors = [m for m in memberships if m.role == MatterRole.SUPERVISING_ATTORNEY]
    # Why a supervising attorney cannot sign off today: the sign-off rule's own reasons.
    standing = supervisor_standing(matter, [m.user for m in supervisors], firm_today())
    return {
        "matter": matter,
        "can_change": can_change,
        "can_export": can_change or can_supervise,
        # New work (tasks, engagements) only while the matter is open (require_matter_open).
        "can_add_work": can_change and matter.status == MatterStatus.OPEN,
        "can_manage_people": can_change or is_firm_admin(user),
        "can_supervision_file": may_compile_supervision_file(
            user, matter, supervises=can_supervise, screened=user.pk in screened_ids),
        "parties": Party.objects.filter(matter=matter).order_by("name"),
        "team": [m for m in memberships if m.role == MatterRole.TEAM],
        "supervisors": [(m, standing[m.user_id]) for m in supervisors],
        "walls": walls if can_change else [],
        "engagement_options": options,
        "task_groups": _group_tasks(tasks),
        "task_count": len(tasks),
        "movable_ids": {task.pk for task in movable},
        "reassignable_states": REASSIGN_FROM,
        "cancellable_states": CANCEL_FROM,
        # The vendor's clock runs from drafting (a draft past its date needs a new one)
        # until the work is handed in.
        "sla_clock_states": (TaskStatus.DRAFT, *WITH_VENDOR_STATES),
        "awaiting_review_states": AWAITING_REVIEW_STATES,
        "bulk_form": BulkAssignForm(
            tasks=Task.objects.none(), engagements=engagements, auto_id="bulk-%s"
        ) if can_change and movable else None,
        "timeline": _timeline(matter, vendor_names=vendor_names, show_walls=can_change,
                              screened_ids=screened_ids),
        "timeline_length": TIMELINE_LENGTH,
        "export_form": AuditExportForm(
            matter=matter, auto_id="export-%s",
            initial={"start": matter.opened_on, "end": firm_today()},
        ),
    }


@staff_view
@require_GET
def matter_detail(request: HttpRequest, pk: int) -> HttpResponse:
    matter = get_matter_for(request.user, pk)
    return render(request, "matters/matter_detail.html", _detail_context(request, matter))


# --- Audit export -------------------------------------------------------------------------


@staff_view
@require_GET
def audit_export(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The matter's audit trail for a date range as CSV or XLSX (`?format=`), hashes
    included, so the reader can re-verify the chain; streamed (`lpo_tracker.exports`). The
    export itself is audited.

    1. 404 if the matter is not visible; 403 without edit or supervision rights.
    2. No range yet, or a bad one: the form (with its errors).
    3. Record "audit.exported" in its own short transaction (the chain lock is not held
       while the file is written), then stream the file.
    """
    matter = get_matter_for(request.user, pk)
    can_change = user_has_matter_perm(request.user, matter, CHANGE)
    if not (can_change or user_has_matter_perm(request.user, matter, SUPERVISE)):
        raise PermissionDenied("Exporting the audit trail needs edit or supervision rights.")
    submitted = "start" in request.GET or "end" in request.GET
    form = AuditExportForm(
        request.GET if submitted else None, matter=matter,
        initial={"start": matter.opened_on, "end": firm_today()},
    )
    if not submitted or not form.is_valid():
        return render(request, "matters/audit_export.html", {"matter": matter, "form": form})
    start, end = form.bounds()
    events = events_for_matter(matter.pk, start=start, end=end)

    def withhold(event: AuditEvent) -> bool:
        # Who is screened, and why, is for the matter's managers only (as on the matter
        # page); the row stays, content withheld, so the matter chain still verifies.
        return not can_change and event.action.startswith("wall.")

    services.matter_audit_export_record(
        actor=signed_in_user(request), matter=matter, first_day=form.cleaned_data["start"],
        last_day=form.cleaned_data["end"], events=events.count(),
    )
    export_format = request.GET.get("format", CSV)
    if export_format not in FORMATS:
        export_format = CSV
    return export_response(
        export_format,
        filename=(f"audit-{matter.number}-{form.cleaned_data['start']:%Y%m%d}-"
                  f"{form.cleaned_data['end']:%Y%m%d}"),
        sheet_name=f"Audit {matter.number}", columns=AUDIT_COLUMNS,
        rows=event_rows(events, withhold=withhold),
    )


# --- Tasks --------------------------------------------------------------------------------


@staff_view
@require_http_methods(["GET", "POST"])
def task_create(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """A new draft task on the matter, optionally pre-filled from a task template (GET
    ?template=<id>). The vendor deadline defaults from the template or the SLA policy (the
    service counts it when the task is saved); the field's help shows what that gives now.
    "Save and assign" continues to the assignment form."""
    matter = get_matter_for(request.user, pk, perm=CHANGE)
    picker = TaskTemplateChoiceForm(request.GET or None, auto_id="picker-%s")
    if request.method == "POST":
        form = TaskCreateForm(request.POST, matter=matter)
        if form.is_valid():
            try:
                task = services.task_create(
                    actor=signed_in_user(request),
                    matter=matter,
                    **form.service_fields(),
                )
            except RuleViolation as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, f"Draft task “{task.title}” created.")
                if request.POST.get("then") == "assign":
                    return redirect("matters:task_assign", pk=task.pk)
                return HttpResponseRedirect(_matter_url(matter.pk, "tasks"))
    else:
        chosen = picker.cleaned_data["template"] if picker.is_valid() else None
        form = TaskCreateForm(matter=matter, initial=template_initial(chosen) if chosen else None,
                              default_due=_default_due_text(matter, chosen))
    context = {"matter": matter, "form": form, "picker": picker,
               "may_manage_templates": may_manage_task_templates(request.user)}
    if request.htmx and request.htmx.target == "task-form":
        return render(request, "matters/_task_form.html", context)
    return render(request, "matters/task_form.html", context)


def _default_due_text(matter: Matter, template: TaskTemplate | None) -> str:
    """The default vendor deadline of a new task in words (for the form's help): of the
    template's type and priority, else of a normal-priority task of the form's first type."""
    default = default_deadline(
        matter=matter,
        task_type=template.task_type if template else TaskType.values[0],
        priority=template.priority if template else Priority.NORMAL,
        template=template,
    )
    return f"{local_text(default.due_at, matter.time_zone)}, {default.basis}"


def _assign_context(task: Task, form: TaskAssignForm | TaskReassignForm,
                    engagements: QuerySet[Engagement]) -> dict[str, Any]:
    options = _engagement_options(engagements, task.matter)
    return {
        "task": task,
        "matter": task.matter,
        "form": form,
        "engagement_options": options,
        "any_available": any(not option.blocked for option in options),
    }


@staff_view
@require_http_methods(["GET", "POST"])
def task_assign(request: HttpRequest, pk: int) -> HttpResponse:
    """Give a draft task to an engaged vendor. Engagements that cannot take work today are
    listed with the reasons; the service decides again on submit."""
    task = _task_for_change(request, pk)
    engagements = _engagements_of(task.matter)
    form = TaskAssignForm(request.POST or None, task=task, engagements=engagements)
    if request.method == "POST" and form.is_valid():
        engagement = form.cleaned_data["engagement"]
        try:
            services.task_assign(
                actor=signed_in_user(request),
                task=task,
                engagement=engagement,
                sla_due_at=form.cleaned_data.get("sla_due_at"),
            )
        except RuleViolation as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"“{task.title}” assigned to {engagement.vendor}.")
            return HttpResponseRedirect(_task_url(task))
    return render(request, "matters/task_assign.html", _assign_context(task, form, engagements))


@staff_view
@require_http_methods(["GET", "POST"])
def task_reassign(request: HttpRequest, pk: int) -> HttpResponse:
    """Move unsubmitted work to another engaged vendor, with a reason for the record."""
    task = _task_for_change(request, pk)
    engagements = _engagements_of(task.matter)
    if task.engagement_id is not None:
        engagements = engagements.exclude(pk=task.engagement_id)
    form = TaskReassignForm(request.POST or None, engagements=engagements)
    if request.method == "POST" and form.is_valid():
        engagement = form.cleaned_data["engagement"]
        try:
            services.task_reassign(
                actor=signed_in_user(request),
                task=task,
                engagement=engagement,
                reason=form.cleaned_data["reason"],
            )
        except RuleViolation as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"“{task.title}” reassigned to {engagement.vendor}.")
            return HttpResponseRedirect(_task_url(task))
    context = _assign_context(task, form, engagements)
    context["can_move"] = task.status in REASSIGN_FROM
    return render(request, "matters/task_reassign.html", context)


@staff_view
@require_http_methods(["GET", "POST"])
def task_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    task = _task_for_change(request, pk)
    form = TaskCancelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.task_cancel(
                actor=signed_in_user(request),
                task=task,
                reason=form.cleaned_data["reason"],
            )
        except RuleViolation as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"“{task.title}” cancelled.")
            return HttpResponseRedirect(_matter_url(task.matter_id, "tasks"))
    return render(request, "matters/task_cancel.html", {
        "task": task, "matter": task.matter, "form": form,
        "can_cancel": task.status in CANCEL_FROM,
    })


@staff_view
@require_POST
def bulk_assign(request: HttpRequest, pk: int) -> HttpResponse:
    """Assign (drafts) or reassign (work already with a vendor) the selected tasks to one
    engagement. Each task is its own service call and transaction, so one refusal leaves the
    others done; every outcome is reported as a message."""
    matter = get_matter_for(request.user, pk, perm=CHANGE)
    engagements = _engagements_of(matter)
    form = BulkAssignForm(
        request.POST,
        tasks=tasks_visible_to(request.user).filter(matter=matter).order_by("id"),
        engagements=engagements,
    )
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, f"Nothing was assigned: {error}")
        return HttpResponseRedirect(_matter_url(matter.pk, "tasks"))
    engagement: Engagement = form.cleaned_data["engagement"]
    reason: str = form.cleaned_data["reason"]
    moved, refused = 0, 0
    outcomes: list[tuple[bool, str]] = []
    for task in form.cleaned_data["tasks"]:
        try:
            if task.status == TaskStatus.DRAFT:
                services.task_assign(actor=signed_in_user(request), task=task,
                                     engagement=engagement)
                outcomes.append((True, f"“{task.title}” assigned to {engagement.vendor}."))
            else:
                services.task_reassign(actor=signed_in_user(request), task=task,
                                       engagement=engagement, reason=reason)
                outcomes.append((True, f"“{task.title}” reassigned to {engagement.vendor}."))
            moved += 1
        except RuleViolation as exc:
            outcomes.append((False, f"“{task.title}” was not moved: {exc.message}"))
            refused += 1
    summary = f"Bulk assignment to {engagement.vendor}: {moved} moved, {refused} refused."
    (messages.warning if refused else messages.success)(request, summary)
    for ok, text in outcomes:
        (messages.success if ok else messages.error)(request, text)
    return HttpResponseRedirect(_matter_url(matter.pk, "tasks"))


# --- Engagements: conflict check and client consent -----------------------------------------


