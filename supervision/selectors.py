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
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Count, F, Min, OuterRef, QuerySet, Subquery
from django.http import Http404

from lpo_tracker.audit.models import AuditEvent
from lpo_tracker.core.health import CheckResult
from lpo_tracker.errors import NotEligible
from matters.deadlines import FINAL_STATES, due_date_change_refusal
from matters.models import (
    AWAITING_REVIEW_STATES,
    DECIDE_FROM,
    DELIVER_FROM,
    START_FROM,
    START_REVIEW_FROM,
    SUBMIT_FROM,
    WITH_VENDOR_STATES,
    Client,
    Engagement,
    Matter,
    Task,
    TaskDueDateChange,
)
from matters.selectors import (
    CHANGE,
    SUPERVISE,
    get_task_for,
    is_screened,
    matter_ids_with_perm_sql,
    matters_with_perm,
    task_work_refusal,
    user_has_matter_perm,
    vendor_submission_filter,
)
from supervision.models import ReminderRecord, Review, ReviewQueueVersion, SignOff, Submission
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

# The queue's sort: soonest review deadline first (none last), then oldest submission.
QUEUE_ORDER = (F("review_due_at").asc(nulls_last=True), "submitted_at", "pk")


def tasks_awaiting_review_by(user: AnyUser) -> QuerySet[Task]:
    """The rule of the queue: submitted or in review, on matters the user supervises and is
    not screened from."""
    return Task.objects.filter(
        status__in=AWAITING_REVIEW_STATES,
        matter__in=matters_with_perm(user, SUPERVISE).values("pk"),
    )


def _queue_rows(tasks: QuerySet[Task]) -> QuerySet[Task]:
    return (
        tasks.select_related("matter", "matter__client", "engagement__vendor")
        .annotate(
            latest_submission_id=_latest_submission("pk"),
            latest_version=_latest_submission("version"),
            latest_name=_latest_submission("original_name"),
        )
        .order_by(*QUEUE_ORDER)
    )


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
    tasks = _queue_rows(tasks_awaiting_review_by(user))
    if matter_id is not None:
        tasks = tasks.filter(matter_id=matter_id)
    if vendor_id is not None:
        tasks = tasks.filter(engagement__vendor_id=vendor_id)
    if task_type:
        tasks = tasks.filter(task_type=task_type)
    return tasks


def review_queue_first(user: AnyUser, limit: int) -> list[Task]:
    """The first `limit` tasks of `review_queue_for(user)`: their ids come from
    task_awaiting_review_idx alone (as in `review_queue_page`), and only those rows are then
    joined and annotated. (Filtering the rows by the rule again made PostgreSQL join all of
    the queue before matching the ids.)"""
    ids = tasks_awaiting_review_by(user).order_by(*QUEUE_ORDER).values("pk")[:limit]
    return list(_queue_rows(Task.objects.filter(pk__in=ids)))


@dataclass(frozen=True)
class QueuePage:
    """One page of the review queue as plain values (`QUEUE_ROW_FIELDS` plus
    `latest_version` and `latest_name`), without counting the whole queue: `has_next` comes
    from reading one row more than the page shows."""

    rows: list[dict[str, Any]]
    number: int
    size: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def first_position(self) -> int:
        return (self.number - 1) * self.size + 1


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _aware(value: Any) -> dt.datetime | None:
    """A timestamp from a raw query: aware on PostgreSQL; on SQLite a string or naive UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


# The queue's one query, shaped for "my matters, soonest first": the inner SELECT picks the
# page's task ids from task_awaiting_review_idx alone (per supervised matter, an index-only
# range of the few tasks awaiting review, then a top-N sort), so no task row is read before
# the LIMIT; the outer one reads those rows with matter, client, vendor and latest version.
# Portable SQL (PostgreSQL, and SQLite for `make run`); docs/performance.md shows its plan.
# Only table names (from the models' Meta) are formatted in; every value is a parameter.
_QUEUE_SQL = """
SELECT t.id, t.title, t.status, t.task_type, t.review_due_at, t.submitted_at, m.number,
       m.time_zone, c.name, v.name,
       (SELECT s.version FROM {submission} s WHERE s.task_id = t.id
         ORDER BY s.version DESC LIMIT 1),
       (SELECT s.original_name FROM {submission} s WHERE s.task_id = t.id
         ORDER BY s.version DESC LIMIT 1)
  FROM {task} t
  JOIN {matter} m ON m.id = t.matter_id
  JOIN {client} c ON c.id = m.client_id
  LEFT JOIN {engagement} e ON e.id = t.engagement_id
  LEFT JOIN {vendor} v ON v.id = e.vendor_id
 WHERE t.id IN (
       SELECT w.id FROM {task} w
        WHERE w.status IN (%s, %s) AND w.matter_id IN ({granted}){filters}
        ORDER BY w.review_due_at ASC NULLS LAST, w.submitted_at ASC, w.id ASC
        LIMIT %s OFFSET %s)
 ORDER BY t.review_due_at ASC NULLS LAST, t.submitted_at ASC, t.id ASC
"""


def _tables() -> dict[str, str]:
    return {"task": Task._meta.db_table, "matter": Matter._meta.db_table,
            "client": Client._meta.db_table,
            "engagement": Engagement._meta.db_table, "vendor": Vendor._meta.db_table,
            "submission": Submission._meta.db_table}


def review_queue_page(
    user: AnyUser,
    *,
    number: int = 1,
    size: int = 50,
    matter_search: str = "",
    vendor_id: int | None = None,
    task_type: str | None = None,
) -> QueuePage:
    """Page `number` of `user`'s review queue: the rows and order of `review_queue_for`, as
    plain values, in one hand-written query (`_QUEUE_SQL`). Its permission part is
    `matters_with_perm(user, SUPERVISE)` itself, compiled once (`matter_ids_with_perm_sql`):
    building and compiling the ORM form of this query cost more CPU than the rest of the
    page together.

    `matter_search` matches the start of a matter's number or any part of its title.
    """
    number = max(1, number)
    granted, params = matter_ids_with_perm_sql(user, SUPERVISE)
    tables = _tables()
    filters = ""
    values: list[Any] = [*AWAITING_REVIEW_STATES, *params]
    if matter_search:
        pattern = _like_escape(matter_search.upper())
        filters += (f" AND w.matter_id IN (SELECT id FROM {tables['matter']}"  # noqa: S608
                    " WHERE UPPER(number) LIKE %s ESCAPE '\\'"
                    " OR UPPER(title) LIKE %s ESCAPE '\\')")
        values += [f"{pattern}%", f"%{pattern}%"]
    if vendor_id is not None:
        filters += (f" AND w.engagement_id IN (SELECT id FROM {tables['engagement']}"  # noqa: S608
                    " WHERE vendor_id = %s)")
        values.append(vendor_id)
    if task_type:
        filters += " AND w.task_type = %s"
        values.append(task_type)
    values += [size + 1, (number - 1) * size]
    sql = _QUEUE_SQL.format(granted=granted, filters=filters, **tables)
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        fetched = cursor.fetchall()
    rows = [
        {"pk": pk, "title": title, "status": status, "task_type": task_type_,
         "review_due_at": _aware(review_due), "submitted_at": _aware(submitted),
         "matter__number": matter_number, "matter__time_zone": zone,
         "matter__client__name": client, "engagement__vendor__name": vendor,
         "latest_version": version, "latest_name": name}
        for (pk, title, status, task_type_, review_due, submitted, matter_number, zone, client,
             vendor, version, name) in fetched[:size]
    ]
    return QueuePage(rows=rows, number=number, size=size, has_next=len(fetched) > size)


def review_queue_vendors(user: AnyUser) -> list[tuple[int, str]]:
    """The vendors engaged on the matters `user` supervises, for the queue's filter (one
    query; the permission part compiled once, as for `review_queue_page`)."""
    granted, params = matter_ids_with_perm_sql(user, SUPERVISE)
    tables = _tables()
    sql = (f"SELECT v.id, v.name FROM {tables['vendor']} v WHERE v.id IN ("  # noqa: S608
           f"SELECT e.vendor_id FROM {tables['engagement']} e WHERE e.matter_id IN ({granted}))"
           " ORDER BY v.name, v.id")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [(int(pk), str(name)) for pk, name in cursor.fetchall()]


def review_queue_version() -> int:
    """The current version of everything a review queue page shows (one query); the
    database bumps it on every change (`supervision.models.ReviewQueueVersion`)."""
    version = ReviewQueueVersion.objects.filter(pk=1).values_list("version", flat=True).first()
    return int(version or 0)


# --- One task ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskActions:
    """What the services would let this user do to the task in its current state."""

    start: bool = False
    upload: bool = False
    start_review: bool = False
    review: bool = False
    deliver: bool = False
    # Move a due date (matters.deadlines.due_date_change_refusal): a link, not a button.
    change_due: bool = False

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
        change_due=status not in FINAL_STATES and due_date_change_refusal(user, task) is None,
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
        .select_related("submitted_by", "performed_by__user").order_by("version")
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
