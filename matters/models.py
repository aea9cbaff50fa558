"""Clients, matters, who may see them, engagements of vendors, and tasks.

The task state machine is declared here (`TaskStatus`, `TASK_TRANSITIONS`) and enforced three
times: by the services that are the only code that moves a task, by `Task.save()` refusing an
illegal change, and by the database (a check constraint and a trigger, see
supervision/migrations) refusing an approved or delivered task without its sign-off.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from lpo_tracker.clock import firm_today
from lpo_tracker.errors import InvalidTransition
from lpo_tracker.fields import TIME_ZONE_CHOICES, Priority, TaskType


def _default_time_zone() -> str:
    return str(settings.FIRM_TIME_ZONE)


class Client(models.Model):
    name = models.CharField(max_length=250, unique=True)
    code = models.SlugField(max_length=20, unique=True, help_text="Short billing code")
    industry = models.CharField(max_length=120, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2 code")
    contact_name = models.CharField(max_length=200, blank=True)
    contact_email = models.EmailField(blank=True)
    # Data residency: the ISO country codes where the client lets its data be handled. Empty:
    # no restriction. The assignment gate compares them with each vendor's delivery centres.
    permitted_countries = models.JSONField(
        default=list, blank=True,
        help_text='ISO 3166-1 alpha-2 codes, e.g. ["US", "GB"]; empty: no restriction',
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PartyRole(models.TextChoices):
    CLIENT_AFFILIATE = "client_affiliate", "Client affiliate"
    ADVERSE = "adverse", "Adverse party"
    ADVERSE_COUNSEL = "adverse_counsel", "Adverse counsel"
    CO_PARTY = "co_party", "Co-party"
    RELATED = "related", "Related party"


class Party(models.Model):
    """A person or entity whose involvement matters for conflict checks."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="parties")
    matter = models.ForeignKey(
        "Matter",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="parties",
        help_text="Empty for parties related to the client on every matter.",
    )
    name = models.CharField(max_length=250, db_index=True)
    role = models.CharField(max_length=20, choices=PartyRole.choices)
    aliases = models.JSONField(
        default=list, blank=True,
        help_text="Other names the party is known by (former names, trading names); the "
        "conflict search compares each of them too.",
    )
    notes = models.CharField(max_length=250, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "parties"

    def __str__(self) -> str:
        return f"{self.name} ({self.get_role_display()})"


class PracticeArea(models.TextChoices):
    LITIGATION = "litigation", "Litigation"
    CORPORATE = "corporate", "Corporate / M&A"
    IP = "ip", "Intellectual property"
    EMPLOYMENT = "employment", "Employment"
    REGULATORY = "regulatory", "Regulatory & compliance"
    REAL_ESTATE = "real_estate", "Real estate"
    FINANCE = "finance", "Banking & finance"


class MatterStatus(models.TextChoices):
    OPEN = "open", "Open"
    ON_HOLD = "on_hold", "On hold"
    CLOSED = "closed", "Closed"


class Matter(models.Model):
    number = models.CharField(max_length=20, unique=True, help_text="e.g. 2026-0042")
    title = models.CharField(max_length=250)
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="matters")
    practice_area = models.CharField(max_length=20, choices=PracticeArea.choices)
    description = models.TextField(blank=True)
    responsible_attorney = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="responsible_for"
    )
    members: models.ManyToManyField[Any, Any] = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        through="MatterMembership",
        through_fields=("matter", "user"),
        related_name="matter_memberships",
        blank=True,
    )
    time_zone = models.CharField(
        max_length=64, choices=TIME_ZONE_CHOICES, default=_default_time_zone
    )
    jurisdiction = models.CharField(
        max_length=80, blank=True,
        help_text="Where the matter's legal work is practised, e.g. New York. When set, the "
        "signing attorney needs an active bar admission there (SIGNOFF_REQUIRES_JURISDICTION).",
    )
    holiday_country = models.CharField(max_length=2, blank=True, help_text="Empty: firm default")
    holiday_subdivision = models.CharField(max_length=10, blank=True)
    budget = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    currency = models.CharField(max_length=3, default="USD")
    client_consent_required = models.BooleanField(
        default=True,
        help_text="Confidential information leaves the firm only with the client's "
        "recorded informed consent (ABA Formal Opinion 08-451, Model Rule 1.6).",
    )
    client_consent_waiver_reason = models.TextField(
        blank=True, help_text="Why this matter needs no client consent to outsourcing."
    )
    status = models.CharField(max_length=10, choices=MatterStatus.choices, default="open")
    opened_on = models.DateField(default=firm_today)
    closed_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-opened_on", "-number"]
        permissions = [("supervise_matter", "Supervise outsourced work and sign it off")]
        constraints = [
            models.CheckConstraint(condition=Q(budget__gte=0), name="matter_budget_non_negative"),
            models.CheckConstraint(
                condition=Q(closed_on__isnull=True) | Q(closed_on__gte=models.F("opened_on")),
                name="matter_closed_after_opened",
                violation_error_message="A matter cannot close before it opened.",
            ),
            models.CheckConstraint(
                condition=(Q(status="closed") & Q(closed_on__isnull=False))
                | (~Q(status="closed") & Q(closed_on__isnull=True)),
                name="matter_closed_has_date",
                violation_error_message="A closed matter has a closing date, an open one none.",
            ),
            models.CheckConstraint(
                condition=Q(client_consent_required=True) | ~Q(client_consent_waiver_reason=""),
                name="matter_consent_waiver_has_reason",
                violation_error_message="Say why this matter needs no client consent.",
            ),
            models.CheckConstraint(
                condition=Q(number__regex=r"^[0-9]{4}-[0-9]{4,}$"),
                name="matter_number_format",
                violation_error_message="Matter numbers look like 2026-0042.",
            ),
        ]
        indexes = [models.Index(fields=["status", "client"], name="matter_status_client_idx")]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


class MatterUserObjectPermission(UserObjectPermissionBase):
    """Direct foreign-key permission rows (STACK.md: an index scan, not the generic table)."""

    content_object = models.ForeignKey(Matter, on_delete=models.CASCADE)

    class Meta(UserObjectPermissionBase.Meta):
        indexes = [models.Index(fields=["user", "permission"], name="matter_uperm_user_idx")]


class MatterGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Matter, on_delete=models.CASCADE)

    class Meta(GroupObjectPermissionBase.Meta):
        pass


class MatterRole(models.TextChoices):
    TEAM = "team", "Team member"
    SUPERVISING_ATTORNEY = "supervising_attorney", "Supervising attorney"


class MatterMembership(models.Model):
    """Who works on a matter and in which role. The role's permissions are granted by
    `matters.services.matter_member_add`, which keeps this row and the grants together."""

    matter = models.ForeignKey(Matter, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    role = models.CharField(max_length=30, choices=MatterRole.choices)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["matter", "role", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["matter", "user", "role"], name="uniq_membership"),
        ]

    def __str__(self) -> str:
        return f"{self.user} – {self.get_role_display()} on {self.matter.number}"


class EthicalWall(models.Model):
    """A user screened from a matter. A wall beats every grant (Model Rules 1.7, 1.10)."""

    matter = models.ForeignKey(Matter, on_delete=models.CASCADE, related_name="walls")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    reason = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["matter", "user__username"]
        constraints = [models.UniqueConstraint(fields=["matter", "user"], name="uniq_wall")]

    def __str__(self) -> str:
        return f"{self.user} screened from {self.matter.number}"


class ConflictCheckStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    CLEARED = "cleared", "Cleared"
    FLAGGED = "flagged", "Flagged"


class EngagementStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    CLOSED = "closed", "Closed"


def consent_upload_to(instance: Engagement, filename: str) -> str:
    return f"consent/{instance.matter_id}/{uuid.uuid4().hex}"


class Engagement(models.Model):
    """A vendor engaged on a matter: the conflict check, the client's consent and the budget."""

    matter = models.ForeignKey(Matter, on_delete=models.PROTECT, related_name="engagements")
    vendor = models.ForeignKey(
        "vendors.Vendor", on_delete=models.PROTECT, related_name="engagements"
    )
    scope = models.TextField()
    rate_card = models.ForeignKey(
        "vendors.RateCard", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    budget_cap = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    status = models.CharField(
        max_length=10, choices=EngagementStatus.choices, default=EngagementStatus.ACTIVE
    )
    conflict_check_status = models.CharField(
        max_length=10, choices=ConflictCheckStatus.choices, default=ConflictCheckStatus.PENDING
    )
    conflict_checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    conflict_checked_at = models.DateTimeField(null=True, blank=True)
    conflict_notes = models.TextField(blank=True)
    # The conflict-search hits the decision was made on, and their SHA-256 (of the JSON).
    conflict_hits = models.JSONField(default=list, blank=True)
    conflict_hits_sha256 = models.CharField(max_length=64, blank=True)
    # A new party, declaration or vendor staff member after clearance reopens the check.
    conflict_reopened_at = models.DateTimeField(null=True, blank=True)
    conflict_reopen_reason = models.TextField(blank=True)
    consent_given_by = models.CharField(
        max_length=200, blank=True, help_text="The client representative who consented"
    )
    consent_given_on = models.DateField(null=True, blank=True)
    consent_scope = models.TextField(blank=True)
    consent_evidence = models.FileField(upload_to=consent_upload_to, blank=True)
    consent_evidence_sha256 = models.CharField(max_length=64, blank=True)
    consent_expires_on = models.DateField(null=True, blank=True)
    consent_task_types = models.JSONField(
        default=list, blank=True, help_text="Task types the consent covers; empty: every type"
    )
    consent_countries = models.JSONField(
        default=list, blank=True,
        help_text="ISO codes where the consent lets the data go; empty: no limit of its own",
    )
    consent_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    consent_revoked_at = models.DateTimeField(null=True, blank=True)
    consent_revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    consent_revoke_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["matter", "vendor"]
        permissions = [
            ("clear_conflicts",
             "Clear a conflict check whose search found possible conflicts"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["matter", "vendor"], name="uniq_engagement"),
            models.CheckConstraint(
                condition=Q(budget_cap__gte=0), name="engagement_budget_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(conflict_check_status="pending")
                | (Q(conflict_checked_by__isnull=False) & Q(conflict_checked_at__isnull=False)),
                name="engagement_conflict_check_recorded",
                violation_error_message="A conflict check result needs who and when.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.matter.number} × {self.vendor}"

    @property
    def has_client_consent(self) -> bool:
        """Consent recorded with its evidence file and not revoked. Its expiry and scope
        depend on the day and the task: `matters.services.engagement_blockers`."""
        return bool(self.consent_given_by and self.consent_given_on and self.consent_evidence
                    and self.consent_revoked_at is None)


class TaskStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ASSIGNED = "assigned", "Assigned"
    IN_PROGRESS = "in_progress", "In progress"
    SUBMITTED = "submitted", "Submitted"
    IN_REVIEW = "in_review", "In review"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    APPROVED = "approved", "Approved"
    DELIVERED = "delivered", "Delivered"
    CANCELLED = "cancelled", "Cancelled"


S = TaskStatus
# Every legal move of a task. The services are the only code that performs them; this table
# is what Task.save() and the tests check against.
TASK_TRANSITIONS: frozenset[tuple[str, str]] = frozenset(
    {
        (S.DRAFT, S.ASSIGNED),
        (S.ASSIGNED, S.ASSIGNED),  # reassignment to another engagement
        (S.ASSIGNED, S.IN_PROGRESS),
        (S.IN_PROGRESS, S.ASSIGNED),  # reassignment
        (S.IN_PROGRESS, S.SUBMITTED),
        (S.SUBMITTED, S.IN_REVIEW),
        (S.SUBMITTED, S.SUBMITTED),  # a newer version before review starts
        (S.IN_REVIEW, S.SUBMITTED),  # a newer version during review: review starts over
        (S.IN_REVIEW, S.CHANGES_REQUESTED),
        (S.IN_REVIEW, S.APPROVED),
        (S.CHANGES_REQUESTED, S.IN_PROGRESS),
        (S.CHANGES_REQUESTED, S.SUBMITTED),
        (S.CHANGES_REQUESTED, S.ASSIGNED),  # reassignment
        (S.APPROVED, S.SUBMITTED),  # a newer version never inherits the approval
        (S.APPROVED, S.DELIVERED),
    }
    | {(state, S.CANCELLED) for state in (S.DRAFT, S.ASSIGNED, S.IN_PROGRESS, S.SUBMITTED,
                                            S.IN_REVIEW, S.CHANGES_REQUESTED)}
)


def sources(to_state: str) -> tuple[str, ...]:
    """The states TASK_TRANSITIONS allows a move into `to_state` from, in TaskStatus order."""
    return tuple(state for state in TaskStatus if (state, to_state) in TASK_TRANSITIONS)


# Where each service's move may start, read off TASK_TRANSITIONS: the services lock the task
# and check it is in one of these, and the pages show a button only in these states.
# The first assignment is the move out of draft; every other move into "assigned" hands the
# work to another vendor.
ASSIGN_FROM = tuple(state for state in sources(S.ASSIGNED) if state == S.DRAFT)
REASSIGN_FROM = tuple(state for state in sources(S.ASSIGNED) if state != S.DRAFT)
START_FROM = sources(S.IN_PROGRESS)
SUBMIT_FROM = sources(S.SUBMITTED)
START_REVIEW_FROM = sources(S.IN_REVIEW)
# A decision taken straight from "submitted" first moves the task into review.
DECIDE_FROM = (*START_REVIEW_FROM, *sources(S.APPROVED))
DELIVER_FROM = sources(S.DELIVERED)
CANCEL_FROM = sources(S.CANCELLED)

OPEN_STATES = (S.ASSIGNED, S.IN_PROGRESS, S.SUBMITTED, S.IN_REVIEW, S.CHANGES_REQUESTED)
WITH_VENDOR_STATES = (S.ASSIGNED, S.IN_PROGRESS, S.CHANGES_REQUESTED)
AWAITING_REVIEW_STATES = (S.SUBMITTED, S.IN_REVIEW)
SIGNED_STATES = (S.APPROVED, S.DELIVERED)


def sla_overdue_q(now: dt.datetime) -> Q:
    """With the vendor past its SLA deadline."""
    return Q(status__in=WITH_VENDOR_STATES, sla_due_at__lt=now)


def review_overdue_q(now: dt.datetime) -> Q:
    """Awaiting review past its review window."""
    return Q(status__in=AWAITING_REVIEW_STATES, review_due_at__lt=now)


def overdue_q(now: dt.datetime) -> Q:
    """Overdue: with the vendor past its SLA deadline, or awaiting review past its review
    window. The one definition; lists and counts filter or annotate with it."""
    return sla_overdue_q(now) | review_overdue_q(now)


class DueSource(models.TextChoices):
    """Where a task's vendor deadline came from."""

    POLICY = "policy", "SLA policy default"
    TEMPLATE = "template", "Task template"
    PERSON = "person", "Set by a person"


class TaskQuerySet(models.QuerySet["Task"]):
    def open(self) -> TaskQuerySet:
        return self.filter(status__in=OPEN_STATES)

    def sla_overdue(self, *, now: dt.datetime) -> TaskQuerySet:
        return self.filter(sla_overdue_q(now))

    def review_overdue(self, *, now: dt.datetime) -> TaskQuerySet:
        return self.filter(review_overdue_q(now))


class Task(models.Model):
    matter = models.ForeignKey(Matter, on_delete=models.PROTECT, related_name="tasks")
    engagement = models.ForeignKey(
        Engagement, on_delete=models.PROTECT, null=True, blank=True, related_name="tasks"
    )
    title = models.CharField(max_length=250)
    task_type = models.CharField(max_length=30, choices=TaskType.choices)
    requires_legal_judgment = models.BooleanField(
        default=True,
        help_text="Work that calls for legal judgment is reviewed by a supervising attorney "
        "before anyone relies on it (Model Rules 5.3, 5.5).",
    )
    instructions = models.TextField(blank=True, help_text="Shared with the vendor")
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    estimated_hours = models.DecimalField(
        max_digits=8, decimal_places=2, default=Decimal("0")
    )
    actual_hours = models.DecimalField(max_digits=8, decimal_places=2, default=Decimal("0"))
    document_count = models.PositiveIntegerField(default=0)
    sla_due_at = models.DateTimeField(null=True, blank=True, help_text="Vendor delivery SLA")
    # Where the vendor deadline came from (`matters.deadlines`): the SLA policy, a task
    # template, or a person (who: `sla_due_set_by`), and in words how it was counted. NULL
    # rather than "" (DJ001): SQLite adds a nullable column without rebuilding the table,
    # whose triggers (supervision/0002, matters/0005) a rebuild would drop.
    sla_due_source = models.CharField(
        max_length=10, choices=DueSource.choices, null=True, blank=True, editable=False
    )
    sla_due_basis = models.CharField(
        max_length=250, null=True, blank=True, editable=False
    )
    sla_due_set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        editable=False, related_name="+",
    )
    review_due_at = models.DateTimeField(
        null=True, blank=True, help_text="Supervising attorney's review window closes"
    )
    status = models.CharField(
        max_length=20, choices=TaskStatus.choices, default=TaskStatus.DRAFT, editable=False
    )
    approved_signoff = models.OneToOneField(
        "supervision.SignOff",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    assigned_at = models.DateTimeField(null=True, blank=True, editable=False)
    submitted_at = models.DateTimeField(null=True, blank=True, editable=False)
    approved_at = models.DateTimeField(null=True, blank=True, editable=False)
    delivered_at = models.DateTimeField(null=True, blank=True, editable=False)
    cancelled_at = models.DateTimeField(null=True, blank=True, editable=False)
    cancel_reason = models.TextField(blank=True, editable=False)

    objects = TaskQuerySet.as_manager()
    # The status as read from the database, to check each save against TASK_TRANSITIONS.
    _loaded_status: str | None = None

    class Meta:
        ordering = ["sla_due_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status__in=SIGNED_STATES) | Q(approved_signoff__isnull=False),
                name="task_signed_states_need_signoff",
                violation_error_message="An approved or delivered task needs an attorney's "
                "sign-off.",
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(status="cancelled") | Q(engagement__isnull=False),
                name="task_assigned_needs_engagement",
            ),
            models.CheckConstraint(
                condition=Q(estimated_hours__gte=0) & Q(actual_hours__gte=0),
                name="task_effort_non_negative",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "sla_due_at"], name="task_status_sla_idx"),
            models.Index(fields=["status", "review_due_at"], name="task_status_review_idx"),
            # The reminder sweep's review-waiting safety net: submitted tasks since its
            # watermark (supervision/reminders/watermark.py), a range instead of all of them.
            models.Index(fields=["status", "submitted_at"], name="task_status_submitted_idx"),
            # Per-matter lists by state and deadline (dashboard "at risk", matter pages);
            # serves (matter, status) lookups too. docs/performance.md, fix 3.
            # With the id, the dashboard's per-matter "at risk" LATERAL reads only the index (key
            # columns, not INCLUDE: SQLite, which `make run` uses, has no INCLUDE).
            models.Index(
                fields=["matter", "status", "sla_due_at", "id"], name="task_matter_status_sla_idx"
            ),
            # SLA compliance by week (the dashboard's chart): the tasks of the visible matters
            # delivered in the last weeks, with what the chart needs from them (deadline,
            # engagement, id for the v1 lookup), so it is an index-only scan instead of a
            # heap fetch per delivery (docs/performance.md).
            models.Index(
                fields=["matter", "submitted_at", "sla_due_at", "status", "engagement", "id"],
                name="task_matter_submitted_idx",
            ),
            models.Index(fields=["engagement", "status"], name="task_engagement_status_idx"),
            # The review queue, "my matters, soonest review deadline first": only the tasks
            # awaiting review (a few percent), in the queue's sort order, covering the sort
            # key so the top rows are picked from the index alone (docs/performance.md).
            models.Index(
                fields=["matter", "review_due_at", "submitted_at", "id"],
                condition=Q(status__in=AWAITING_REVIEW_STATES),
                name="task_awaiting_review_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Refuse, before the database has to, any change the state machine does not allow."""
        loaded = self._loaded_status
        if loaded is None and not self._state.adding:
            # Loaded with `status` deferred (or built by hand): check against the stored row.
            loaded = type(self).objects.filter(pk=self.pk).values_list("status", flat=True).first()
        if self._state.adding and self.status != TaskStatus.DRAFT:
            raise InvalidTransition("A new task starts as a draft.", code="task_not_draft")
        moving = loaded is not None and loaded != self.status
        if moving and (loaded, self.status) not in TASK_TRANSITIONS:
            raise InvalidTransition(
                f"A task cannot move from {loaded} to {self.status}.", code="illegal_move"
            )
        if self.status in SIGNED_STATES and self.approved_signoff_id is None:
            raise InvalidTransition(
                "Only an eligible attorney's sign-off can approve a task.", code="no_signoff"
            )
        super().save(*args, **kwargs)
        self._loaded_status = self.status

    @classmethod
    def from_db(cls, db: str | None, field_names: Any, values: Any) -> Task:
        instance = super().from_db(db, field_names, values)
        instance._loaded_status = instance.__dict__.get("status")
        return instance

    def refresh_from_db(self, *args: Any, **kwargs: Any) -> None:
        super().refresh_from_db(*args, **kwargs)
        if "status" in self.__dict__:
            self._loaded_status = self.status


class DueDateKind(models.TextChoices):
    SLA = "sla", "Vendor delivery SLA"
    REVIEW = "review", "Review window"


class TaskDueDateChange(models.Model):
    """History of every change to a due instant: the original is never lost."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="due_date_changes")
    kind = models.CharField(max_length=10, choices=DueDateKind.choices)
    old_value = models.DateTimeField(null=True, blank=True)
    new_value = models.DateTimeField(null=True, blank=True)
    reason = models.TextField()
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["task", "changed_at"]

    def __str__(self) -> str:
        return f"{self.task} {self.kind}: {self.old_value} → {self.new_value}"


class TaskTemplate(models.Model):
    """Defaults for a kind of work the firm sends out often; the firm edits them (the staff
    page `matters:task_templates` and the admin, for holders of `manage_task_templates`).

    `due_in_business_days` sets the vendor deadline of a task made from the template: the
    close of business of that many business days after the day it is created, in the matter's
    calendar (zone, public holidays, firm closures; `matters.deadlines`). Empty: the SLA
    policy's turnaround for the task's type and priority.
    """

    name = models.CharField(max_length=150, unique=True)
    title = models.CharField(max_length=250, help_text="The new task's title")
    task_type = models.CharField(max_length=30, choices=TaskType.choices)
    instructions = models.TextField(blank=True, help_text="Shared with the vendor")
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    requires_legal_judgment = models.BooleanField(default=True)
    estimated_hours = models.DecimalField(max_digits=8, decimal_places=2, default=Decimal("0"))
    document_count = models.PositiveIntegerField(default=0)
    due_in_business_days = models.PositiveSmallIntegerField(
        null=True, blank=True,
        help_text="Vendor due at close of business this many business days after the task is "
        "created, in the matter's calendar. Empty: the SLA policy's turnaround.",
    )
    is_active = models.BooleanField(default=True, help_text="Offered on the new-task page")
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        editable=False, related_name="+",
    )

    class Meta:
        ordering = ["name"]
        permissions = [("manage_task_templates", "Edit the firm's task templates")]
        constraints = [
            models.CheckConstraint(
                condition=Q(due_in_business_days__isnull=True)
                | Q(due_in_business_days__gte=1, due_in_business_days__lte=250),
                name="task_template_due_days_range",
                violation_error_message="A template's due date is 1 to 250 business days out.",
            ),
            models.CheckConstraint(
                condition=Q(estimated_hours__gte=0), name="task_template_hours_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.name
