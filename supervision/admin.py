"""Admin for attorneys, work product, reviews and sign-offs, SLA policies and reminders.

Submissions, reviews, sign-offs and reminder records are evidence: view-only. From the first
submission on supervision owns a task's transitions, so this module extends the task admin
of `matters.admin` with the review-side actions (matters may not import supervision).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.safestring import SafeString

from lpo_tracker.admin_utils import (
    LpoModelAdmin,
    MatterWallsAdmin,
    ReadOnlyTabularInline,
    ViewOnlyAdmin,
    human_size,
    pretty_json,
    short_hash,
)
from matters.admin import TaskAdmin
from matters.models import Task
from supervision.audience import notifications_about_walled_matters
from supervision.calendar.services import calendar_feed_revoke
from supervision.models import (
    AttorneyProfile,
    BarAdmission,
    CalendarFeed,
    FirmHoliday,
    Notification,
    NotificationSettings,
    ReminderRecord,
    Review,
    ReviewQueueVersion,
    SignOff,
    SlaPolicy,
    Submission,
    SubmissionOpening,
    SweepWatermark,
)
from supervision.reminders.outbox import may_manage_outbox, notification_email_rearm
from supervision.services import review_start, task_deliver

# --- Attorneys ----------------------------------------------------------------------------


class BarAdmissionInline(admin.TabularInline):
    model = BarAdmission
    extra = 0
    fields = [
        "jurisdiction",
        "number",
        "status",
        "admitted_on",
        "expires_on",
        "verified_by",
        "verified_at",
    ]
    autocomplete_fields = ["verified_by"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[BarAdmission]:
        return super().get_queryset(request).select_related("verified_by")


@admin.register(AttorneyProfile)
class AttorneyProfileAdmin(LpoModelAdmin):
    list_display = ["__str__", "user", "title", "is_partner", "office"]
    list_filter = ["is_partner", "office"]
    search_fields = [
        "user__username",
        "user__first_name",
        "user__last_name",
        "user__email",
        "bar_admissions__number",
    ]
    list_select_related = ["user"]
    autocomplete_fields = ["user"]
    readonly_fields = ["created_at"]
    inlines = [BarAdmissionInline]


@admin.register(BarAdmission)
class BarAdmissionAdmin(LpoModelAdmin):
    list_display = [
        "attorney",
        "jurisdiction",
        "number",
        "status",
        "admitted_on",
        "expires_on",
        "verified_by",
        "verified_at",
    ]
    list_filter = ["status", "jurisdiction"]
    search_fields = [
        "jurisdiction",
        "number",
        "attorney__user__username",
        "attorney__user__last_name",
    ]
    date_hierarchy = "admitted_on"
    list_select_related = ["attorney__user", "verified_by"]
    autocomplete_fields = ["attorney", "verified_by"]


# --- Work product, reviews, sign-offs -----------------------------------------------------


class SubmissionDisplay:
    """How a version's size and fingerprint are shown, in the inline and the changelist."""

    @admin.display(description="size", ordering="size")
    def file_size(self, submission: Submission) -> str:
        return human_size(submission.size)

    @admin.display(description="SHA-256")
    def sha256_prefix(self, submission: Submission) -> str:
        return short_hash(submission.sha256)


class SubmissionInline(SubmissionDisplay, ReadOnlyTabularInline):
    model = Submission
    fields = [
        "version",
        "original_name",
        "file_size",
        "sha256_prefix",
        "submitted_by",
        "submitted_at",
    ]
    readonly_fields = ["file_size", "sha256_prefix"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Submission]:
        return super().get_queryset(request).select_related("task", "submitted_by")


@admin.register(Submission)
class SubmissionAdmin(MatterWallsAdmin, SubmissionDisplay, ViewOnlyAdmin):
    matter_path = "task__matter"
    list_display = [
        "task",
        "task__matter__number",
        "version",
        "original_name",
        "file_size",
        "sha256_prefix",
        "submitted_by",
        "submitted_at",
    ]
    list_filter = ["content_type", "task__matter__client"]
    search_fields = ["task__title", "task__matter__number", "original_name", "sha256"]
    date_hierarchy = "submitted_at"
    list_select_related = ["task__matter", "submitted_by"]
    # The stored file is private: its name and hash are shown, it is never linked from here.
    fields = [
        "task",
        "version",
        "original_name",
        "content_type",
        "file_size",
        "sha256",
        "note",
        "submitted_by",
        "submitted_at",
    ]
    readonly_fields = ["file_size"]


@admin.register(SubmissionOpening)
class SubmissionOpeningAdmin(MatterWallsAdmin, ViewOnlyAdmin):
    """Who opened which version, how and when: what a sign-off relies on (append-only)."""

    matter_path = "submission__task__matter"
    list_display = ["submission", "user", "via", "opened_at"]
    list_filter = ["via"]
    search_fields = ["submission__task__title", "submission__task__matter__number",
                     "user__username"]
    date_hierarchy = "opened_at"
    list_select_related = ["submission__task", "user"]


@admin.register(Review)
class ReviewAdmin(MatterWallsAdmin, ViewOnlyAdmin):
    matter_path = "submission__task__matter"
    list_display = ["submission", "reviewer", "decision", "started_at", "decided_at"]
    list_filter = ["decision", "submission__task__matter__client"]
    search_fields = [
        "submission__task__title",
        "submission__task__matter__number",
        "reviewer__username",
        "reviewer__last_name",
    ]
    date_hierarchy = "started_at"
    list_select_related = ["submission__task", "reviewer"]


@admin.register(SignOff)
class SignOffAdmin(MatterWallsAdmin, ViewOnlyAdmin):
    matter_path = "task__matter"
    list_display = [
        "task",
        "task__matter__number",
        "submission__version",
        "attorney",
        "bar_admission",
        "sha256_prefix",
        "signed_at",
        "confirmation_method",
    ]
    list_filter = ["bar_admission__jurisdiction", "confirmation_method", "task__matter__client"]
    search_fields = ["task__title", "task__matter__number", "attorney__username", "sha256"]
    date_hierarchy = "signed_at"
    list_select_related = ["task__matter", "submission", "attorney", "bar_admission"]

    @admin.display(description="SHA-256")
    def sha256_prefix(self, signoff: SignOff) -> str:
        return short_hash(signoff.sha256)


# --- Policies, calendars, reminders -------------------------------------------------------


@admin.register(SlaPolicy)
class SlaPolicyAdmin(LpoModelAdmin):
    list_display = [
        "name",
        "task_type",
        "priority",
        "turnaround_business_hours",
        "review_window_business_hours",
        "escalate_to_responsible_after_hours",
        "escalate_to_partner_after_hours",
        "escalation_partner",
        "is_active",
    ]
    list_filter = ["is_active", "task_type", "priority"]
    search_fields = ["name"]
    list_select_related = ["escalation_partner"]
    autocomplete_fields = ["escalation_partner"]


@admin.register(FirmHoliday)
class FirmHolidayAdmin(LpoModelAdmin):
    list_display = ["day", "name", "country"]
    list_filter = ["country"]
    search_fields = ["name"]
    date_hierarchy = "day"


@admin.register(ReminderRecord)
class ReminderRecordAdmin(ViewOnlyAdmin):
    list_display = [
        "kind",
        "object_type",
        "object_id",
        "threshold",
        "created_at",
        "sent_at",
        "attempts",
    ]
    list_filter = ["kind", "object_type", ("sent_at", admin.EmptyFieldListFilter)]
    search_fields = ["object_type", "threshold", "last_error"]
    date_hierarchy = "created_at"
    fields = [
        "kind",
        "object_type",
        "object_id",
        "threshold",
        "recipients_json",
        "created_at",
        "sent_at",
        "attempts",
        "last_error",
    ]
    readonly_fields = ["recipients_json"]

    @admin.display(description="recipients")
    def recipients_json(self, record: ReminderRecord) -> SafeString:
        return pretty_json(record.recipients)


@admin.register(ReviewQueueVersion)
class ReviewQueueVersionAdmin(ViewOnlyAdmin):
    """The page cache's version (supervision/page_cache.py): database triggers move it;
    nobody edits it."""

    list_display = ["id", "version"]
    fields = ["version"]


@admin.register(SweepWatermark)
class SweepWatermarkAdmin(ViewOnlyAdmin):
    """How far the sweep's review-waiting net has looked (supervision/reminders/
    watermark.py): only the sweep moves it (`watermark_reset` forgets it)."""

    list_display = ["name", "value", "updated_at"]
    search_fields = ["name"]
    list_filter = ["name"]
    fields = ["name", "value", "updated_at"]


@admin.register(Notification)
class NotificationAdmin(MatterWallsAdmin, LpoModelAdmin):
    """Written by the reminder machinery; the admin may only read or clear them."""

    list_display = ["subject", "user", "kind", "created_at", "read_at", "email_state",
                    "email_attempts", "email_next_attempt_at", "emailed_at"]
    list_filter = ["email_state", "kind", ("read_at", admin.EmptyFieldListFilter)]
    search_fields = ["subject", "user__username", "email_last_error"]
    date_hierarchy = "created_at"
    list_select_related = ["user"]
    actions = ["rearm_emails"]

    @admin.action(description="Re-arm the selected e-mails that gave up",
                  permissions=["manage_email_outbox"])
    def rearm_emails(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        count = notification_email_rearm(actor=request.user,
                                         notification_ids=queryset.values_list("pk", flat=True))
        self.message_user(request, f"Re-armed {count} e-mail(s); the next sweep sends them.")

    def has_manage_email_outbox_permission(self, request: HttpRequest) -> bool:
        return may_manage_outbox(request.user)

    def without_walls(self, queryset: QuerySet[Notification], user: Any
                      ) -> QuerySet[Notification]:
        # Notifications name their matter's tasks; the matter is reached through the reminder.
        return queryset.exclude(notifications_about_walled_matters(user))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Notification | None = None) -> bool:
        return False


@admin.register(NotificationSettings)
class NotificationSettingsAdmin(LpoModelAdmin):
    list_display = ["user", "email_delivery", "digest_hour", "time_zone"]
    list_filter = ["email_delivery"]
    search_fields = ["user__username", "user__email"]
    list_select_related = ["user"]
    autocomplete_fields = ["user"]


# --- Task admin, extended with the supervision-side transitions ---------------------------


admin.site.unregister(Task)


@admin.register(Task)
class SupervisedTaskAdmin(TaskAdmin):
    inlines = [*TaskAdmin.inlines, SubmissionInline]
    actions = [*TaskAdmin.actions, "start_review", "deliver_tasks"]

    @admin.action(description="Start review of selected tasks", permissions=["change"])
    def start_review(self, request: HttpRequest, queryset: QuerySet[Task]) -> None:
        self.run_transition(
            request,
            queryset,
            call=lambda actor, task: review_start(actor=actor, task=task),
            done="Started review of",
        )

    @admin.action(description="Deliver selected tasks to the client", permissions=["change"])
    def deliver_tasks(self, request: HttpRequest, queryset: QuerySet[Task]) -> None:
        self.run_transition(
            request,
            queryset,
            call=lambda actor, task: task_deliver(actor=actor, task=task),
            done="Delivered",
        )


@admin.register(CalendarFeed)
class CalendarFeedAdmin(ViewOnlyAdmin):
    """Who subscribes to a calendar feed, and since when; never the token (only its hash is
    stored). A leaked feed is revoked here (audited, as its owner revoking it would be)."""

    list_display = ["user", "created_at", "last_fetched_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter), "created_at"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "user__email"]
    list_select_related = ["user"]
    fields = ["user", "created_at", "last_fetched_at", "revoked_at"]
    readonly_fields = ["user", "created_at", "last_fetched_at", "revoked_at"]
    actions = ["revoke_feeds"]

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("supervision.change_calendarfeed"))

    @admin.action(description="Revoke the selected feeds", permissions=["revoke"])
    def revoke_feeds(self, request: HttpRequest, queryset: QuerySet[CalendarFeed]) -> None:
        revoked = 0
        for feed in queryset.filter(revoked_at__isnull=True).select_related("user"):
            if calendar_feed_revoke(actor=request.user, owner=feed.user) is not None:  # type: ignore[arg-type]
                revoked += 1
        self.message_user(request, f"{revoked} feed{'s' if revoked != 1 else ''} revoked.")


# Quality control of bulk work: its admin lives with it.
import supervision.qc.admin  # noqa: E402
import supervision.supervision_file.admin  # noqa: E402, F401
from supervision import staff_admin  # noqa: E402, F401  (registers the acknowledgement and rating admins)
