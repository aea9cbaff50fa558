"""Attorneys, work product, reviews and sign-offs, SLA policies, reminders and notifications.

Submissions and sign-offs are evidence: the database refuses UPDATE and DELETE on both
(triggers in migration 0002), and the task trigger there refuses an approved or delivered
task unless its sign-off belongs to it and covers its latest version.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from lpo_tracker.fields import ConfirmationMethod, Priority, TaskType


class AttorneyProfile(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="attorney_profile"
    )
    title = models.CharField(max_length=120, blank=True, help_text="e.g. Partner, Senior Associate")
    is_partner = models.BooleanField(default=False)
    office = models.CharField(max_length=120, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["user__last_name", "user__first_name"]

    def __str__(self) -> str:
        return self.user.get_full_name() or self.user.get_username()


class BarStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "Inactive"
    SUSPENDED = "suspended", "Suspended"
    RETIRED = "retired", "Retired"
    DISBARRED = "disbarred", "Disbarred"


class BarAdmissionQuerySet(models.QuerySet["BarAdmission"]):
    def active_on(self, day: dt.date) -> BarAdmissionQuerySet:
        return self.filter(status=BarStatus.ACTIVE, admitted_on__lte=day).filter(
            Q(expires_on__isnull=True) | Q(expires_on__gte=day)
        )


class BarAdmission(models.Model):
    attorney = models.ForeignKey(
        AttorneyProfile, on_delete=models.CASCADE, related_name="bar_admissions"
    )
    jurisdiction = models.CharField(max_length=80, help_text="e.g. New York, England & Wales")
    number = models.CharField(max_length=40)
    status = models.CharField(max_length=12, choices=BarStatus.choices, default=BarStatus.ACTIVE)
    admitted_on = models.DateField()
    expires_on = models.DateField(
        null=True, blank=True, help_text="Registration renewal date, where the bar has one"
    )
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    verified_at = models.DateTimeField(null=True, blank=True)

    objects = BarAdmissionQuerySet.as_manager()

    class Meta:
        ordering = ["attorney", "jurisdiction"]
        constraints = [
            models.UniqueConstraint(fields=["jurisdiction", "number"], name="uniq_bar_number"),
            models.CheckConstraint(
                condition=Q(expires_on__isnull=True) | Q(expires_on__gte=models.F("admitted_on")),
                name="bar_admission_valid_range",
                violation_error_message="A bar admission cannot expire before it was granted.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.jurisdiction} #{self.number} ({self.get_status_display()})"


def submission_upload_to(instance: Submission, filename: str) -> str:
    # Random, non-guessable path under private storage; never derived from user input.
    return f"work-product/{instance.task_id}/{uuid.uuid4().hex}"


class Submission(models.Model):
    """One immutable version of a task's work product."""

    task = models.ForeignKey("matters.Task", on_delete=models.PROTECT, related_name="submissions")
    version = models.PositiveIntegerField()
    file = models.FileField(upload_to=submission_upload_to, max_length=200)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=120)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    note = models.TextField(blank=True, help_text="What changed in this version")
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(default=timezone.now)
    # Who at the vendor did the work (`vendors.staff.performer_refusal` vets them).
    performed_by = models.ForeignKey(
        "vendors.VendorUser", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["task", "version"]
        constraints = [
            models.UniqueConstraint(fields=["task", "version"], name="uniq_submission_version"),
            models.CheckConstraint(condition=Q(version__gte=1), name="submission_version_positive"),
            models.CheckConstraint(
                condition=Q(sha256__regex=r"^[0-9a-f]{64}$"), name="submission_sha256_hex"
            ),
        ]
        indexes = [
            # Deliveries (`supervision.reports.delivery`: a task's v1) by task and moment:
            # the dashboard's SLA chart reads each one from this index alone.
            models.Index(fields=["task", "submitted_at"], condition=Q(version=1),
                         name="submission_first_version_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.task} v{self.version}"


class OpenedVia(models.TextChoices):
    DOWNLOAD = "download", "Downloaded"
    INLINE = "inline", "Viewed on the review page"
    PREVIEW = "preview", "Text shown on the review page"


class SubmissionOpening(models.Model):
    """Someone opened one exact version's bytes (append-only, like the version itself). A
    sign-off needs the signing attorney's opening of the version it approves."""

    submission = models.ForeignKey(
        Submission, on_delete=models.PROTECT, related_name="openings"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    via = models.CharField(max_length=10, choices=OpenedVia.choices)
    opened_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["submission", "opened_at"]
        indexes = [
            models.Index(fields=["submission", "user", "opened_at"],
                         name="opening_submission_user_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.submission} opened by {self.user} ({self.via})"


class ReviewDecision(models.TextChoices):
    PENDING = "pending", "In review"
    APPROVED = "approved", "Approved"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    SUPERSEDED = "superseded", "Superseded by a newer version"


class Review(models.Model):
    submission = models.ForeignKey(Submission, on_delete=models.PROTECT, related_name="reviews")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews"
    )
    decision = models.CharField(
        max_length=20, choices=ReviewDecision.choices, default=ReviewDecision.PENDING
    )
    comments = models.TextField(blank=True, help_text="Shown to the vendor")
    internal_notes = models.TextField(blank=True, help_text="Firm only; never shown to vendors")
    started_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["submission", "started_at"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(decision="changes_requested") | ~Q(comments=""),
                name="review_changes_need_comments",
                violation_error_message="Say what must change.",
            ),
            models.CheckConstraint(
                condition=Q(decision="pending") | Q(decided_at__isnull=False),
                name="review_decided_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"Review of {self.submission} by {self.reviewer}: {self.get_decision_display()}"


class SignOff(models.Model):
    """An attorney's attestation that one exact version was reviewed and may be relied on."""

    task = models.ForeignKey("matters.Task", on_delete=models.PROTECT, related_name="signoffs")
    submission = models.OneToOneField(
        Submission, on_delete=models.PROTECT, related_name="signoff"
    )
    review = models.OneToOneField(Review, on_delete=models.PROTECT, related_name="signoff")
    attorney = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="signoffs"
    )
    bar_admission = models.ForeignKey(
        BarAdmission, on_delete=models.PROTECT, related_name="signoffs"
    )
    attestation_text = models.TextField()
    sha256 = models.CharField(max_length=64)
    # When the attorney last opened this version before signing (a SubmissionOpening).
    opened_at = models.DateTimeField(null=True, blank=True)
    signed_at = models.DateTimeField(default=timezone.now)
    # The step-up: how and when the attorney confirmed it was them just before signing.
    # Empty only on sign-offs recorded before step-up existed.
    confirmation_method = models.CharField(
        max_length=20, choices=ConfirmationMethod.choices, blank=True
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # The QC the attestation names, for a sampled lot: the accepted result (the database
    # refuses a sampled lot's sign-off without one) and the figures as attested (plan, lot
    # size, sample size, defects, acceptance, review level). Nullable: added to an evidence
    # table without rebuilding it.
    qc_result = models.ForeignKey("supervision.QcResult", on_delete=models.PROTECT,
                                  null=True, blank=True, related_name="signoffs")
    qc_summary = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-signed_at"]
        verbose_name = "sign-off"
        constraints = [
            models.CheckConstraint(
                condition=Q(confirmation_method="", confirmed_at__isnull=True)
                | (~Q(confirmation_method="") & Q(confirmed_at__isnull=False)),
                name="signoff_confirmation_complete",
            ),
            models.CheckConstraint(
                condition=Q(sha256__regex=r"^[0-9a-f]{64}$"), name="signoff_sha256_hex"
            ),
            models.CheckConstraint(
                condition=~Q(attestation_text=""), name="signoff_attestation_present"
            ),
        ]

    def __str__(self) -> str:
        return f"Sign-off of {self.submission} by {self.attorney}"


def default_review_offsets() -> list[int]:
    return [-4, 0]


class SlaPolicy(models.Model):
    """Turnaround, review window, reminder thresholds and the escalation ladder, as data.

    The most specific policy wins: (task type, priority), then (task type, any priority),
    then (any type, priority), then the default (both empty).
    """

    name = models.CharField(max_length=120, unique=True)
    task_type = models.CharField(max_length=30, choices=TaskType.choices, blank=True)
    priority = models.CharField(max_length=10, choices=Priority.choices, blank=True)
    turnaround_business_hours = models.PositiveIntegerField(default=40)
    review_window_business_hours = models.PositiveIntegerField(default=16)
    # Business hours relative to the deadline: negative = before, 0 = at, positive = after.
    reminder_offsets_hours = models.JSONField(
        default=list, blank=True, help_text="Vendor SLA reminders, e.g. [-24, 0, 24]"
    )
    # The review window is shorter than a delivery SLA, so it has its own thresholds; after
    # the deadline the escalation ladder takes over.
    review_reminder_offsets_hours = models.JSONField(
        default=default_review_offsets,
        blank=True,
        help_text="Review-window reminders, e.g. [-4, 0]",
    )
    escalate_to_responsible_after_hours = models.PositiveIntegerField(default=8)
    escalate_to_partner_after_hours = models.PositiveIntegerField(default=24)
    # A missed vendor deadline climbs its own ladder: the vendor's contacts hear at the
    # deadline (reminder_offsets_hours), then the matter's responsible attorney, then the
    # vendor's manager at the firm, these many business hours after the deadline.
    vendor_escalate_to_responsible_after_hours = models.PositiveIntegerField(
        default=8, help_text="Business hours after a missed vendor deadline: responsible attorney"
    )
    vendor_escalate_to_manager_after_hours = models.PositiveIntegerField(
        default=24, help_text="Business hours after a missed vendor deadline: vendor manager"
    )
    escalation_partner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The named partner or general counsel at the top of the ladder",
    )
    business_day_start_hour = models.PositiveSmallIntegerField(default=9)
    business_day_end_hour = models.PositiveSmallIntegerField(default=18)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["task_type", "priority", "name"]
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"
        constraints = [
            models.UniqueConstraint(
                fields=["task_type", "priority"],
                condition=Q(is_active=True),
                name="uniq_active_policy_scope",
            ),
            models.CheckConstraint(
                condition=Q(business_day_end_hour__gt=models.F("business_day_start_hour"))
                & Q(business_day_end_hour__lte=24),
                name="policy_business_day_valid",
            ),
            models.CheckConstraint(
                condition=Q(escalate_to_partner_after_hours__gte=models.F(
                    "escalate_to_responsible_after_hours"
                )),
                name="policy_escalation_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class FirmHoliday(models.Model):
    """A day off that the `holidays` package does not know (office closure, firm retreat)."""

    country = models.CharField(
        max_length=2, blank=True, help_text="ISO code; empty applies everywhere"
    )
    day = models.DateField()
    name = models.CharField(max_length=120)

    class Meta:
        ordering = ["day"]
        constraints = [models.UniqueConstraint(fields=["country", "day"], name="uniq_firm_holiday")]

    def __str__(self) -> str:
        return f"{self.day} {self.name}"


class ReminderKind(models.TextChoices):
    REVIEW_WAITING = "review_waiting", "Review waiting"
    REVIEW_DUE_SOON = "review_due_soon", "Review due soon"
    REVIEW_OVERDUE = "review_overdue", "Review overdue"
    REVIEW_ESCALATED = "review_escalated", "Review escalated"
    TASK_DUE_SOON = "task_due_soon", "Task due soon"
    TASK_OVERDUE = "task_overdue", "Task overdue"
    TASK_ESCALATED = "task_escalated", "Vendor deadline escalated"
    DUE_DATE_CHANGED = "due_date_changed", "Due date changed"
    DILIGENCE_EXPIRING = "diligence_expiring", "Due diligence expiring"
    TRAINING_EXPIRING = "training_expiring", "Staff training expiring"
    BUDGET_THRESHOLD = "budget_threshold", "Budget threshold reached"
    ACCESS_CHANGED = "access_changed", "Access to a matter changed"
    CONFLICT_REOPENED = "conflict_reopened", "Conflict check reopened"


class ReminderRecord(models.Model):
    """One reminder, recorded under its unique key before it counts as sent."""

    kind = models.CharField(max_length=30, choices=ReminderKind.choices)
    object_type = models.CharField(max_length=60)
    object_id = models.BigIntegerField()
    # Distinguishes e.g. "24 h before" from "at deadline", or version 2 from version 3.
    threshold = models.CharField(max_length=60)
    recipients = models.JSONField(default=list, blank=True)
    # What the message body is rendered from, at delivery (the template is the kind's,
    # `supervision/email/<kind>.txt`): the sweep plans keys and facts, not texts. Empty for
    # notices whose body is written when they are recorded (`Notification.body`).
    context = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["object_type", "object_id", "kind", "threshold"], name="uniq_reminder_key"
            ),
        ]
        indexes = [
            models.Index(
                fields=["created_at"], condition=Q(sent_at__isnull=True), name="reminder_unsent_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_type}:{self.object_id} @{self.threshold}"


class SweepWatermark(models.Model):
    """How far a safety net of the reminder sweep has looked: the review-waiting net reads
    only submissions since the last complete sweep (`supervision.reminders.watermark`).
    Moved forward only after a sweep's reminders are recorded, never back."""

    name = models.CharField(max_length=60, unique=True)
    value = models.DateTimeField()
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.name} @ {self.value.isoformat()}"


class EmailState(models.TextChoices):
    """A notification's e-mail in the outbox (`supervision.reminders.deliver`)."""

    PENDING = "pending", "Waiting to be sent"
    RETRYING = "retrying", "Failed, retrying with back-off"
    SENT = "sent", "Sent"
    GAVE_UP = "gave_up", "Gave up"
    WITHHELD = "withheld", "Withheld (the recipient is screened now)"


class Notification(models.Model):
    """One in-app notification, and the outbox row of its e-mail (one per recipient and
    reminder): state, attempts, next attempt, last error."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    reminder = models.ForeignKey(
        ReminderRecord, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=30, choices=ReminderKind.choices)
    subject = models.CharField(max_length=250)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    # Never e-mailed: at send time the recipient could no longer see what it is about (an
    # ethical wall, a reassignment). `supervision.audience.notification_visible`.
    withheld_at = models.DateTimeField(null=True, blank=True)
    # Done: what it asked for has happened or can no longer happen (the version it announced
    # was reviewed or superseded, the task left the vendor or the review). Set by
    # `supervision.notifications.notifications_resolve`, the one rule; never cleared.
    resolved_at = models.DateTimeField(null=True, blank=True)
    email_state = models.CharField(max_length=10, choices=EmailState.choices,
                                   default=EmailState.PENDING)
    email_attempts = models.PositiveSmallIntegerField(default=0)
    email_next_attempt_at = models.DateTimeField(null=True, blank=True)
    email_last_error = models.TextField(blank=True)
    # When the ops address was told that this e-mail gave up (once per give-up).
    email_alerted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "reminder"], name="uniq_notification_per_reminder"
            ),
        ]
        indexes = [
            models.Index(fields=["user", "read_at"], name="notification_unread_idx"),
            models.Index(fields=["created_at"], condition=Q(email_state="gave_up"),
                         name="notification_gave_up_idx"),
            # The sweep's catch-all resolution reads only the notices still open.
            models.Index(fields=["reminder"], condition=Q(resolved_at__isnull=True),
                         name="notification_unresolved_idx"),
        ]
        permissions = [
            ("manage_email_outbox", "Can see and re-arm e-mails that gave up"),
        ]

    def __str__(self) -> str:
        return self.subject


class DeliveryPreference(models.TextChoices):
    IMMEDIATE = "immediate", "Each reminder as it happens"
    DAILY_DIGEST = "daily_digest", "One daily digest"


class NotificationSettings(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_settings"
    )
    email_delivery = models.CharField(
        max_length=20, choices=DeliveryPreference.choices, default=DeliveryPreference.IMMEDIATE
    )
    digest_hour = models.PositiveSmallIntegerField(default=7, help_text="Local hour, 0–23")
    time_zone = models.CharField(max_length=64, default="UTC")

    class Meta:
        verbose_name_plural = "notification settings"
        constraints = [
            models.CheckConstraint(condition=Q(digest_hour__lte=23), name="digest_hour_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.get_email_delivery_display()}"


class ReviewQueueVersion(models.Model):
    """One row whose `version` the database bumps whenever anything a cached review queue
    shows or depends on changes: tasks, versions of work product, matters, clients, vendors,
    engagements, object permissions (direct or through a group), group membership and
    ethical walls. Triggers do it (migration 0005, `lpo_tracker.dbtriggers`), so a bulk
    `update()`, raw SQL and the admin bump it like the services do.

    On PostgreSQL the bump is a deferred constraint trigger: it runs at commit, once per
    transaction, after every other lock the transaction takes, so the row never orders two
    transactions against each other (no deadlock, no serialised transitions); readers see the
    new version in the same instant as the data. See `supervision.page_cache`.
    """

    version = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"review queue version {self.version}"


class CalendarFeed(models.Model):
    """A person's secret calendar subscription (an ICS URL their calendar program polls).

    Only the SHA-256 of the token is stored: the URL is shown once, when it is made, and a
    copy of the database cannot be turned back into a working URL. A feed is revoked, never
    deleted (the audit trail names it); a person has at most one live feed, enforced by the
    database. What a feed shows is decided at every fetch (`supervision.calendar`), so a
    wall or a lost grant takes its events away on the next poll.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="calendar_feeds")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_fetched_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user"], condition=Q(revoked_at__isnull=True),
                                    name="calendar_feed_one_live_per_user"),
        ]

    def __str__(self) -> str:
        state = "revoked" if self.revoked_at else "live"
        return f"calendar feed {self.pk} of {self.user} ({state})"


# Acknowledgements and engagement ratings (their own module; models of this app).
# Quality control of bulk work (its own module, registered with this app).
from supervision.qc.models import (  # noqa: E402, F401
    DefectCategory,
    InspectionState,
    InspectionSwitch,
    Lot,
    QcCheck,
    QcPlan,
    QcResult,
    QcSample,
    TaskTypeQc,
)
from supervision.staff_models import EngagementRating, MatterAcknowledgement  # noqa: E402, F401

# The supervision file's job lives in its subpackage; imported here so Django registers it.
from supervision.supervision_file.models import SupervisionFile  # noqa: E402, F401
