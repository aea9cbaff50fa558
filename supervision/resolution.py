"""When a notification is done: its reason is gone (the one rule).

A "review waiting" notice asks a supervising attorney to review version N of a task; once
version N is reviewed (approved, sent back), superseded by a newer version, or the task is
cancelled, nothing is waiting any more. The same holds for the review window's notices (the
task no longer awaits review) and the vendor deadline's (the task is no longer with the
vendor). Such a notice is marked resolved: it stays in the list, shown as done, and stops
counting as unread. Notices that only inform (a due date moved, access changed, a budget
threshold, diligence expiring) have no reason that goes away and are never resolved.

Applied, always through `notifications_resolve`:

1. in the same transaction as the change, by receivers on Task, Submission and Review saves
   (`supervision.apps`): every path that reviews, signs off, submits a newer version or
   cancels saves one of those rows (the views, the services, the admin's actions,
   commands); a version counts as reviewed once a review of it is decided, so the sign-off,
   whose task moves by a conditional UPDATE, resolves through its review;
2. by every reminder sweep, for all tasks: the catch-all for a write that bypassed the
   receivers (a queryset `update()`, raw SQL, a database trigger).

Resolution is one-way: a task that comes back to review later gets new notices of its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db.models import CharField, Exists, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from matters.models import AWAITING_REVIEW_STATES, WITH_VENDOR_STATES, Task
from supervision.audience import TASK_OBJECT
from supervision.models import Notification, ReminderKind, Review, ReviewDecision, Submission

K = ReminderKind
# The kinds whose reason can go away, and what each waits on.
WAITING_FOR_VERSION = (K.REVIEW_WAITING,)
WAITING_FOR_REVIEW = (K.REVIEW_DUE_SOON, K.REVIEW_OVERDUE, K.REVIEW_ESCALATED)
WAITING_FOR_VENDOR = (K.TASK_DUE_SOON, K.TASK_OVERDUE, K.TASK_ESCALATED)
RESOLVABLE_KINDS = (*WAITING_FOR_VERSION, *WAITING_FOR_REVIEW, *WAITING_FOR_VENDOR)
# A version is reviewed once a review of it is decided either way.
DECISIONS = (ReviewDecision.APPROVED, ReviewDecision.CHANGES_REQUESTED)

# What a resolved notice says it came to, by kind (the list shows it).
DONE_LABELS: dict[str, str] = {
    **{kind: "Done: the version was reviewed or replaced" for kind in WAITING_FOR_VERSION},
    **{kind: "Done: no longer waiting for review" for kind in WAITING_FOR_REVIEW},
    **{kind: "Done: no longer with the vendor" for kind in WAITING_FOR_VENDOR},
}


def _task_in(states: tuple[str, ...]) -> Exists:
    return Exists(Task.objects.filter(pk=OuterRef("reminder__object_id"), status__in=states))


def _undecided_latest_versions() -> QuerySet[Submission]:
    """The notice's task's newest version, while nobody has approved it or sent it back."""
    newer = Submission.objects.filter(task_id=OuterRef("task_id"), version__gt=OuterRef("version"))
    decided = Review.objects.filter(submission_id=OuterRef("pk"), decision__in=DECISIONS)
    return Submission.objects.filter(task_id=OuterRef("reminder__object_id")).exclude(
        Exists(newer)).exclude(Exists(decided))


def notification_reason_gone() -> Q:
    """On `Notification`: the notice asked for something that is no longer needed."""
    undecided = _undecided_latest_versions()
    # The version announced ("v3" in the reminder's threshold) is that version.
    announced = undecided.annotate(
        label=Concat(Value("v"), Cast("version", CharField()))
    ).filter(label=OuterRef("reminder__threshold"))
    awaiting_review = Q(_task_in(AWAITING_REVIEW_STATES)) & Q(Exists(undecided))
    version_waits = Q(_task_in(AWAITING_REVIEW_STATES)) & Q(Exists(announced))
    with_vendor = Q(_task_in(WITH_VENDOR_STATES))
    return Q(reminder__object_type=TASK_OBJECT) & (
        (Q(kind__in=WAITING_FOR_VERSION) & ~version_waits)
        | (Q(kind__in=WAITING_FOR_REVIEW) & ~awaiting_review)
        | (Q(kind__in=WAITING_FOR_VENDOR) & ~with_vendor)
    )


def notifications_resolve(
    *, task_ids: Iterable[int] | None = None, now: dt.datetime | None = None
) -> int:
    """Mark resolved the open notices (about `task_ids`, or about any task) whose reason is
    gone. One UPDATE; returns how many were resolved."""
    open_notices = Notification.objects.filter(
        resolved_at__isnull=True,
        kind__in=RESOLVABLE_KINDS,
        reminder__object_type=TASK_OBJECT,
    )
    if task_ids is not None:
        open_notices = open_notices.filter(reminder__object_id__in=list(task_ids))
    return open_notices.filter(notification_reason_gone()).update(
        resolved_at=now or timezone.now()
    )


def task_saved(sender: type[Task], instance: Task, created: bool, **kwargs: Any) -> None:
    """Receiver: a task moved (reviewed, signed off, sent back, cancelled, reassigned)."""
    if not created and not kwargs.get("raw"):
        notifications_resolve(task_ids=[instance.pk])


def review_saved(sender: type[Review], instance: Review, **kwargs: Any) -> None:
    """Receiver: a review decided (the sign-off's approval is saved on its review before
    the task's conditional UPDATE, which no receiver sees)."""
    if instance.decision in DECISIONS and not kwargs.get("raw"):
        notifications_resolve(task_ids=[instance.submission.task_id])


def submission_saved(
    sender: type[Submission], instance: Submission, created: bool, **kwargs: Any
) -> None:
    """Receiver: a newer version supersedes the notices of the ones before it."""
    if created and not kwargs.get("raw"):
        notifications_resolve(task_ids=[instance.task_id])
