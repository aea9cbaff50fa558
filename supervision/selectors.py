"""Supervision reads scoped to the asking user: the review queue and a task's page (the
dashboard's figures are in `supervision.reports.dashboard`).

Everything starts from `matters.selectors` (object permissions plus ethical walls), so a wall
or a missing grant hides rows here exactly as it does everywhere else. Lists are built with
`select_related` and subquery annotations, so a page costs the same number of queries however
many rows it shows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.db.models import Count, F, Min, OuterRef, QuerySet, Subquery
from django.http import Http404

from lpo_tracker.audit.models import AuditEvent
from lpo_tracker.core.health import CheckResult
from lpo_tracker.errors import NotEligible
from matters.models import (
    AWAITING_REVIEW_STATES,
    DECIDE_FROM,
    DELIVER_FROM,
    START_FROM,
    START_REVIEW_FROM,
    SUBMIT_FROM,
    WITH_VENDOR_STATES,
    Task,
    TaskDueDateChange,
)
from matters.selectors import (
    CHANGE,
    SUPERVISE,
    get_task_for,
    is_screened,
    matters_with_perm,
    task_work_refusal,
    user_has_matter_perm,
    vendor_submission_filter,
)
from supervision.models import ReminderRecord, Review, SignOff, Submission
from vendors.models import Vendor
from vendors.selectors import is_vendor_user

AnyUser = User | AnonymousUser

# What a browser can show safely inside the review page.
INLINE_CONTENT_TYPES = ("application/pdf", "text/plain", "text/csv")
TEXT_CONTENT_TYPES = ("text/plain", "text/csv")


def _latest_submission(field: str) -> Subquery:
    return Subquery(
        Submission.objects.filter(task=OuterRef("pk")).order_by("-version").values(field)[:1]
    )


# --- Review queue ------------------------------------------------------------------------


def review_queue_for(
    user: AnyUser,
    *,
    matter_id: int | None = None,
    vendor_id: int | None = None,
    task_type: str | None = None,
) -> QuerySet[Task]:
    """Tasks waiting on `user`'s review: submitted or in review, on matters the user
    supervises and is not screened from, soonest review deadline first.

    Each row carries its latest version (`latest_submission_id`, `latest_version`,
    `latest_name`) so the page needs no query per row.
    """
    tasks = (
        Task.objects.filter(
            status__in=AWAITING_REVIEW_STATES,
            matter__in=matters_with_perm(user, SUPERVISE).values("pk"),
        )
        .select_related("matter", "matter__client", "engagement__vendor")
        .annotate(
            latest_submission_id=_latest_submission("pk"),
            latest_version=_latest_submission("version"),
            latest_name=_latest_submission("original_name"),
        )
        .order_by(F("review_due_at").asc(nulls_last=True), "submitted_at", "pk")
    )
    if matter_id is not None:
        tasks = tasks.filter(matter_id=matter_id)
    if vendor_id is not None:
        tasks = tasks.filter(engagement__vendor_id=vendor_id)
    if task_type:
        tasks = tasks.filter(task_type=task_type)
    return tasks


@dataclass(frozen=True)
class QueueFilterOptions:
    matters: list[tuple[int, str]]
    vendors: list[tuple[int, str]]


def review_queue_filter_options(user: AnyUser) -> QueueFilterOptions:
    """The matters the user supervises and the vendors engaged on them (two queries)."""
    supervised = matters_with_perm(user, SUPERVISE)
    matters = [
        (pk, f"{number} {title}")
        for pk, number, title in supervised.order_by("number").values_list("pk", "number", "title")
    ]
    vendors = list(
        Vendor.objects.filter(engagements__matter__in=supervised.values("pk"))
        .distinct()
        .order_by("name")
        .values_list("pk", "name")
    )
    return QueueFilterOptions(matters=matters, vendors=vendors)


# --- One task ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskActions:
    """What the services would let this user do to the task in its current state."""

    start: bool = False
    upload: bool = False
    start_review: bool = False
    review: bool = False
    deliver: bool = False

    @property
    def any(self) -> bool:
        return self.start or self.upload or self.start_review or self.review or self.deliver


def review_refusal(user: AnyUser, task: Task) -> NotEligible | None:
    """Why `user` may not review `task` (start a review, request changes, approve); None when
    they may: a supervising attorney of the matter, not screened from it, no vendor user."""
    if is_vendor_user(user):
        return NotEligible("Vendor users cannot review work product.", code="vendor_user")
    if is_screened(user, task.matter):
        return NotEligible(f"You are screened from matter {task.matter.number}.",
                           code="screened")
    if not user_has_matter_perm(user, task.matter, SUPERVISE):
        return NotEligible(f"You do not supervise matter {task.matter.number}.",
                           code="not_supervisor")
    return None


def delivery_refusal(user: AnyUser, task: Task) -> NotEligible | None:
    """Why `user` may not deliver `task`; None for firm staff who may change or supervise the
    matter."""
    if is_vendor_user(user) or not (
        user_has_matter_perm(user, task.matter, CHANGE)
        or user_has_matter_perm(user, task.matter, SUPERVISE)
    ):
        return NotEligible(f"You may not deliver work on matter {task.matter.number}.",
                           code="forbidden")
    return None


def task_actions_for(user: AnyUser, task: Task) -> TaskActions:
    """The buttons a task's page shows: the state each service's move starts from
    (TASK_TRANSITIONS) and the same refusal the service raises, asked only when the state
    allows the move. The services still decide when a button is pressed."""
    status = task.status
    may_work = (status in START_FROM or status in SUBMIT_FROM) and (
        task_work_refusal(user, task) is None)
    may_review = status in DECIDE_FROM and review_refusal(user, task) is None
    return TaskActions(
        start=may_work and status in START_FROM,
        upload=may_work and status in SUBMIT_FROM,
        start_review=may_review and status in START_REVIEW_FROM,
        review=may_review,
        deliver=status in DELIVER_FROM and delivery_refusal(user, task) is None,
    )


@dataclass(frozen=True)
class TaskPage:
    """What a task's page shows. Vendor users get no internal notes, sign-off records or
    due-date reasons: those lists stay empty and `internal` is False."""

    task: Task
    internal: bool
    submissions: list[Submission]
    reviews: list[Review]
    signoffs: list[SignOff]
    due_date_changes: list[TaskDueDateChange]
    actions: TaskActions

    @property
    def latest(self) -> Submission | None:
        return self.submissions[-1] if self.submissions else None

    @property
    def sla_running(self) -> bool:
        """The vendor's clock runs while the work is with the vendor."""
        return self.task.status in WITH_VENDOR_STATES

    @property
    def review_running(self) -> bool:
        return self.task.status in AWAITING_REVIEW_STATES


def task_page_for(user: AnyUser, task: Task) -> TaskPage:
    """A visible task's versions, reviews, sign-offs and due-date history for `user`."""
    internal = not is_vendor_user(user)
    submissions = list(
        Submission.objects.filter(vendor_submission_filter(user), task=task)
        .select_related("submitted_by").order_by("version")
    )
    reviews = Review.objects.filter(submission__in=[s.pk for s in submissions]).select_related(
        "reviewer", "submission"
    )
    if internal:
        signoffs = list(
            SignOff.objects.filter(task=task)
            .select_related("attorney", "submission", "bar_admission")
            .order_by("signed_at")
        )
        due_changes = list(
            TaskDueDateChange.objects.filter(task=task).select_related("changed_by")
        )
    else:
        # Vendors see the comments of decided reviews; never internal notes.
        reviews = reviews.exclude(comments="").defer("internal_notes")
        signoffs, due_changes = [], []
    return TaskPage(
        task=task,
        internal=internal,
        submissions=submissions,
        reviews=list(reviews.order_by("started_at", "pk")),
        signoffs=signoffs,
        due_date_changes=due_changes,
        actions=task_actions_for(user, task),
    )


def get_task_for_review(user: AnyUser, pk: int) -> Task:
    """The task if the user may see it (404) and supervises its matter (403 otherwise)."""
    task = get_task_for(user, pk)
    if is_vendor_user(user) or not user_has_matter_perm(user, task.matter, SUPERVISE):
        raise PermissionDenied("Only the matter's supervising attorneys review its work.")
    return task


def task_history(task: Task) -> QuerySet[AuditEvent]:
    """The audit trail of one task, oldest first. For firm users who may see the task."""
    return AuditEvent.objects.filter(
        object_type=Task._meta.label_lower, object_id=str(task.pk)
    ).order_by("id")


def get_submission_for(user: AnyUser, pk: int) -> Submission:
    """A version of the work product whose task the user may see; 404 otherwise."""
    submission = Submission.objects.filter(vendor_submission_filter(user), pk=pk).first()
    if submission is None:
        raise Http404("No such version.")
    submission.task = get_task_for(user, submission.task_id)
    return submission


# --- Operations -------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnsentEmail:
    count: int
    oldest_at: dt.datetime | None


def unsent_email_summary() -> UnsentEmail:
    """Reminders whose e-mail has not gone out yet (given up ones included), and the oldest
    one's time: the one place that knows where sends are recorded (`/readyz` reads it).
    Both read the partial index on unsent reminders."""
    unsent = ReminderRecord.objects.filter(sent_at__isnull=True)
    figures = unsent.aggregate(count=Count("pk"), oldest_at=Min("created_at"))
    return UnsentEmail(count=figures["count"], oldest_at=figures["oldest_at"])


def email_readiness(now: dt.datetime) -> CheckResult:
    """`/readyz`'s e-mail check: not ok once the oldest unsent e-mail waits too long."""
    summary = unsent_email_summary()
    age = None if summary.oldest_at is None else max(0.0, (now - summary.oldest_at).total_seconds())
    limit = settings.READYZ_UNSENT_EMAIL_MAX_AGE_SECONDS
    return CheckResult(age is None or age <= limit, False,
                       {"unsent": summary.count,
                        "oldest_age_seconds": None if age is None else round(age),
                        "max_age_seconds": limit})
