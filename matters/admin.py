"""Admin for clients, matters, who may see them, engagements and tasks.

What carries a rule is read-only here and changes only through `matters.services`:

- opening a matter: "Add matter" goes to the staff intake page (`matter_intake` numbers
  it, grants its people, records the parties and runs the conflict search first); its
  number, client, status and closing date (`matter_close` checks the closing checklist),
  consent waiver (needs a reason) and responsible attorney (moving a grant) are read-only;
- memberships and object permissions (`matter_member_add` keeps them together), ethical
  walls (`wall_add`, `wall_remove`);
- engagements are created on the matter page (`engagement_create` checks the matter is
  open and the rate card); their pair, status (`engagement_end`), conflict check and client
  consent are read-only;
- a task's status, timestamps and due dates (transitions are admin actions calling the
  services; `matters.deadlines.task_change_due_date` keeps the history); a task added here
  gets its vendor deadline by the same rule as the new-task page (`initial_deadline_fields`:
  the typed date, else the SLA policy). The review-side task actions are added by
  `supervision.admin`, because this app may not import supervision;
- task templates are edited through `task_template_save` (audited), by holders of
  `matters.manage_task_templates` only, and retired rather than deleted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from lpo_tracker.admin_utils import (
    LpoModelAdmin,
    MatterWallsAdmin,
    ReadOnlyTabularInline,
    ViewOnlyAdmin,
    request_actor,
    run_for_each,
)
from lpo_tracker.errors import RuleViolation
from matters.deadlines import initial_deadline_fields, task_template_save
from matters.models import (
    Client,
    Engagement,
    EthicalWall,
    Matter,
    MatterGroupObjectPermission,
    MatterMembership,
    MatterUserObjectPermission,
    Party,
    Task,
    TaskDueDateChange,
    TaskStatus,
    TaskTemplate,
)
from matters.selectors import may_manage_task_templates, may_open_matters
from matters.services import require_matter_open, task_cancel, task_start

# Recorded by services (conflict check, consent) or by the database: shown, never edited.
ENGAGEMENT_RECORDED_FIELDS = [
    "status",
    "conflict_check_status",
    "conflict_checked_by",
    "conflict_checked_at",
    "conflict_notes",
    "conflict_hits",
    "conflict_hits_sha256",
    "conflict_reopened_at",
    "conflict_reopen_reason",
    "consent_given_by",
    "consent_given_on",
    "consent_scope",
    "consent_expires_on",
    "consent_task_types",
    "consent_countries",
    "consent_evidence_on_file",
    "consent_evidence_sha256",
    "consent_recorded_by",
    "consent_revoked_at",
    "consent_revoked_by",
    "consent_revoke_reason",
    "created_at",
]
TASK_RECORDED_FIELDS = [
    "status",
    "sla_due_source",
    "sla_due_basis",
    "sla_due_set_by",
    "review_due_at",
    "approved_signoff",
    "cancel_reason",
    "created_by",
    "created_at",
    "updated_at",
    "assigned_at",
    "submitted_at",
    "approved_at",
    "delivered_at",
    "cancelled_at",
]
# A due date is set when the task is created; later moves keep their history
# (`task_change_due_date`). Once a task has left draft, reassignment checks the new engagement.
TASK_FIELDS_FROZEN_AFTER_CREATION = ["sla_due_at"]
TASK_FIELDS_FROZEN_AFTER_DRAFT = ["matter", "engagement"]


def task_label(task: Task) -> str:
    return f"Task #{task.pk} “{task.title}” ({task.matter.number})"


# --- Clients and matters ------------------------------------------------------------------


class PartyInline(MatterWallsAdmin, admin.TabularInline):
    model = Party
    extra = 0
    fields = ["name", "role", "aliases", "matter", "notes"]
    autocomplete_fields = ["matter"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Party]:
        return super().get_queryset(request).select_related("matter")


@admin.register(Client)
class ClientAdmin(LpoModelAdmin):
    list_display = ["name", "code", "industry", "country", "contact_name", "is_active"]
    list_filter = ["is_active", "country"]
    search_fields = ["name", "code", "contact_name", "contact_email"]
    readonly_fields = ["created_at"]
    inlines = [PartyInline]


@admin.register(Party)
class PartyAdmin(MatterWallsAdmin, LpoModelAdmin):
    list_display = ["name", "role", "client", "matter"]
    list_filter = ["role", "client"]
    search_fields = ["name", "client__name", "matter__number"]
    list_select_related = ["client", "matter"]
    autocomplete_fields = ["client", "matter"]


class MembershipInline(ReadOnlyTabularInline):
    model = MatterMembership
    fields = ["user", "role", "added_by", "added_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[MatterMembership]:
        return super().get_queryset(request).select_related("matter", "user", "added_by")


class EthicalWallInline(ReadOnlyTabularInline):
    model = EthicalWall
    fields = ["user", "reason", "created_by", "created_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[EthicalWall]:
        return super().get_queryset(request).select_related("matter", "user", "created_by")


class EngagementInline(ReadOnlyTabularInline):
    model = Engagement
    fields = ["vendor", "status", "conflict_check_status", "consent_given_on", "budget_cap"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Engagement]:
        return super().get_queryset(request).select_related("matter", "vendor")


@admin.register(Matter)
class MatterAdmin(MatterWallsAdmin, LpoModelAdmin):
    matter_path = ""
    list_display = [
        "number",
        "title",
        "client",
        "practice_area",
        "status",
        "responsible_attorney",
        "opened_on",
    ]
    list_filter = ["status", "practice_area", "client"]
    search_fields = ["number", "title", "client__name"]
    date_hierarchy = "opened_on"
    list_select_related = ["client", "responsible_attorney"]
    # Set by intake and by the services that guard them, never typed here.
    readonly_fields = [
        "number", "client", "responsible_attorney", "status", "closed_on",
        "client_consent_required", "client_consent_waiver_reason", "created_at", "updated_at",
    ]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "number",
                    "title",
                    "client",
                    "practice_area",
                    "responsible_attorney",
                    "jurisdiction",
                    "description",
                ]
            },
        ),
        ("Status", {"fields": ["status", "opened_on", "closed_on"]}),
        (
            "Budget and consent",
            {"fields": ["budget", "currency", "client_consent_required",
                        "client_consent_waiver_reason"]},
        ),
        (
            "Business-day calendar",
            {"fields": ["time_zone", "holiday_country", "holiday_subdivision"]},
        ),
        ("Record", {"fields": ["created_at", "updated_at"]}),
    ]
    inlines = [MembershipInline, EthicalWallInline, EngagementInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        """The intake page's own rule: "Add matter" shows for whoever may open matters."""
        return may_open_matters(request.user)

    def add_view(self, request: HttpRequest, form_url: str = "",
                 extra_context: dict[str, Any] | None = None) -> HttpResponse:
        """Opening a matter is intake (numbering, people, parties, conflict search): the
        staff page does it, through `matter_intake`."""
        if not self.has_add_permission(request):
            return super().add_view(request, form_url, extra_context)  # the usual 403
        return HttpResponseRedirect(reverse("matters:intake"))


@admin.register(MatterMembership)
class MatterMembershipAdmin(MatterWallsAdmin, ViewOnlyAdmin):
    list_display = ["matter", "user", "role", "added_by", "added_at"]
    list_filter = ["role"]
    search_fields = ["matter__number", "matter__title", "user__username", "user__last_name"]
    date_hierarchy = "added_at"
    list_select_related = ["matter", "user", "added_by"]


@admin.register(EthicalWall)
class EthicalWallAdmin(MatterWallsAdmin, ViewOnlyAdmin):
    list_display = ["matter", "user", "reason", "created_by", "created_at"]
    search_fields = ["matter__number", "matter__title", "user__username", "reason"]
    date_hierarchy = "created_at"
    list_select_related = ["matter", "user", "created_by"]


class _ObjectPermissionAdmin(MatterWallsAdmin, ViewOnlyAdmin):
    matter_path = "content_object"
    list_filter = ["permission__codename"]


@admin.register(MatterUserObjectPermission)
class MatterUserObjectPermissionAdmin(_ObjectPermissionAdmin):
    list_display = ["content_object", "user", "permission"]
    search_fields = ["content_object__number", "user__username", "permission__codename"]
    list_select_related = ["content_object", "user", "permission__content_type"]


@admin.register(MatterGroupObjectPermission)
class MatterGroupObjectPermissionAdmin(_ObjectPermissionAdmin):
    list_display = ["content_object", "group", "permission"]
    search_fields = ["content_object__number", "group__name", "permission__codename"]
    list_select_related = ["content_object", "group", "permission__content_type"]


# --- Engagements and tasks ----------------------------------------------------------------


@admin.register(Engagement)
class EngagementAdmin(MatterWallsAdmin, LpoModelAdmin):
    """Engaging a vendor happens on the matter page (`engagement_create`); here the record is
    shown and its scope, rate card and budget cap can be corrected."""

    list_display = [
        "matter",
        "vendor",
        "status",
        "conflict_check_status",
        "has_consent",
        "budget_cap",
        "created_at",
    ]
    list_filter = ["status", "conflict_check_status", "vendor", "matter__client"]
    search_fields = ["matter__number", "matter__title", "vendor__name", "scope"]
    date_hierarchy = "created_at"
    list_select_related = ["matter", "vendor"]
    autocomplete_fields = ["matter", "vendor", "rate_card"]
    exclude = ["consent_evidence"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Engagement | None = None) -> list[str]:
        # The conflict check and consent cover this matter-and-vendor pair, so the pair is fixed.
        frozen = ["matter", "vendor"] if obj is not None else []
        return frozen + ENGAGEMENT_RECORDED_FIELDS

    @admin.display(boolean=True, description="client consent")
    def has_consent(self, engagement: Engagement) -> bool:
        return engagement.has_client_consent

    @admin.display(description="consent evidence")
    def consent_evidence_on_file(self, engagement: Engagement) -> str:
        return "on file" if engagement.consent_evidence else "none"


class DueDateChangeInline(ReadOnlyTabularInline):
    model = TaskDueDateChange
    fields = ["kind", "old_value", "new_value", "reason", "changed_by", "changed_at"]
    show_change_link = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[TaskDueDateChange]:
        return super().get_queryset(request).select_related("changed_by")


class TaskAdminForm(forms.ModelForm):  # type: ignore[type-arg]
    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        matter = cleaned.get("matter")
        if self.instance._state.adding and matter is not None:
            try:  # the rule of task_create: a closed matter takes no new task
                require_matter_open(matter, "take new tasks")
            except RuleViolation as exc:
                raise forms.ValidationError(exc.message) from exc
        return cleaned


@admin.register(Task)
class TaskAdmin(MatterWallsAdmin, LpoModelAdmin):
    form = TaskAdminForm
    list_display = [
        "matter__number",
        "title",
        "task_type",
        "status",
        "priority",
        "engagement__vendor",
        "sla_due_at",
        "review_due_at",
    ]
    list_filter = ["status", "task_type", "priority", "matter__client", "engagement__vendor"]
    search_fields = ["title", "matter__number"]
    # "of 1,000,000" would cost a COUNT(*) over every task; rendering is linear in rows
    # (docs/performance.md, fix 8).
    show_full_result_count = False
    list_per_page = 50
    date_hierarchy = "sla_due_at"
    list_select_related = ["matter", "engagement__vendor"]
    autocomplete_fields = ["matter", "engagement"]
    readonly_fields = TASK_RECORDED_FIELDS
    inlines = [DueDateChangeInline]
    # No "approve" action, deliberately: a task is approved only by an attorney's sign-off
    # with an attestation (supervision.services.signoff_record), never in bulk.
    actions = ["start_work", "cancel_tasks"]
    allow_bulk_delete = False

    def get_readonly_fields(self, request: HttpRequest, obj: Task | None = None) -> list[str]:
        frozen: list[str] = []
        if obj is not None:
            frozen += TASK_FIELDS_FROZEN_AFTER_CREATION
            if obj.status != TaskStatus.DRAFT:
                frozen += TASK_FIELDS_FROZEN_AFTER_DRAFT
        return frozen + TASK_RECORDED_FIELDS

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: Any) -> None:
        if not change:  # the new-task page's rule: the typed date, else the SLA policy's
            for name, value in initial_deadline_fields(
                actor=request_actor(request), matter=obj.matter, task_type=obj.task_type,
                priority=obj.priority, typed=obj.sla_due_at, template=None,
            ).items():
                setattr(obj, name, value)
        super().save_model(request, obj, form, change)

    def has_delete_permission(self, request: HttpRequest, obj: Task | None = None) -> bool:
        # Only a draft can go without a trace of its own; later a task is cancelled instead.
        if obj is not None and obj.status != TaskStatus.DRAFT:
            return False
        return super().has_delete_permission(request, obj)

    def run_transition(
        self,
        request: HttpRequest,
        queryset: QuerySet[Task],
        *,
        call: Callable[[User, Task], object],
        done: str,
    ) -> None:
        """Apply a service to each selected task as the signed-in user; see run_for_each."""
        actor = request_actor(request)
        run_for_each(
            self,
            request,
            queryset.select_related("matter").order_by("pk"),
            call=lambda task: call(actor, task),
            describe=task_label,
            done=done,
        )

    @admin.action(description="Start work on selected tasks", permissions=["change"])
    def start_work(self, request: HttpRequest, queryset: QuerySet[Task]) -> None:
        self.run_transition(
            request,
            queryset,
            call=lambda actor, task: task_start(actor=actor, task=task),
            done="Started work on",
        )

    @admin.action(description="Cancel selected tasks", permissions=["change"])
    def cancel_tasks(self, request: HttpRequest, queryset: QuerySet[Task]) -> None:
        self.run_transition(
            request,
            queryset,
            call=lambda actor, task: task_cancel(
                actor=actor, task=task, reason=f"Cancelled from the admin by {actor.username}"
            ),
            done="Cancelled",
        )


@admin.register(TaskDueDateChange)
class TaskDueDateChangeAdmin(MatterWallsAdmin, ViewOnlyAdmin):
    matter_path = "task__matter"
    list_display = ["task", "kind", "old_value", "new_value", "changed_by", "changed_at"]
    list_filter = ["kind"]
    search_fields = ["task__title", "task__matter__number", "reason"]
    date_hierarchy = "changed_at"
    list_select_related = ["task", "changed_by"]


@admin.register(TaskTemplate)
class TaskTemplateAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """The firm's task templates; the staff page `matters:task_templates` does the same."""

    list_display = ["name", "task_type", "priority", "due_in_business_days", "is_active",
                    "updated_at"]
    list_filter = ["is_active", "task_type", "priority"]
    search_fields = ["name", "title", "instructions"]
    readonly_fields = ["updated_at", "updated_by"]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return may_manage_task_templates(request.user)

    def has_view_permission(self, request: HttpRequest, obj: TaskTemplate | None = None) -> bool:
        return may_manage_task_templates(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return may_manage_task_templates(request.user)

    def has_change_permission(self, request: HttpRequest, obj: TaskTemplate | None = None
                              ) -> bool:
        return may_manage_task_templates(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: TaskTemplate | None = None
                              ) -> bool:
        return False  # retired (is_active off), never deleted: tasks made from it keep history

    def save_model(self, request: HttpRequest, obj: TaskTemplate, form: Any, change: Any
                   ) -> None:
        task_template_save(actor=request_actor(request), template=obj)
