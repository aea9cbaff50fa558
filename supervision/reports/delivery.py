"""One definition of "delivered" and "delivered on time", for the scorecards and the dashboard.

A task is delivered when its vendor hands in the first version (v1): later versions answer
change requests and do not move the delivery. It was delivered on time when v1 was submitted
no later than the task's SLA deadline (`Task.sla_due_at`); a task without a deadline counts as
delivered, never as on time.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import F, Q, QuerySet

from matters.models import Task
from supervision.models import Submission

# The condition on a delivery (a v1 Submission) that makes it on time.
ON_TIME = Q(submitted_at__lte=F("task__sla_due_at"))
# The same condition seen from the task (`delivered_tasks`; `first_version_at` is v1).
ON_TIME_TASK = Q(first_version_at__lte=F("sla_due_at"))


def deliveries(*, since: dt.datetime, until: dt.datetime,
               tasks: QuerySet[Task] | None = None) -> QuerySet[Submission]:
    """The deliveries in [since, until): first versions of vendor work (an engaged task),
    optionally only of `tasks` (a scoped queryset, e.g. what the user may see)."""
    first = Submission.objects.filter(version=1, submitted_at__gte=since,
                                      submitted_at__lt=until, task__engagement__isnull=False)
    if tasks is not None:
        first = first.filter(task__in=tasks.values("pk"))
    return first


def delivered_tasks(tasks: QuerySet[Task], *, since: dt.datetime,
                    until: dt.datetime) -> QuerySet[Task]:
    """The same deliveries as `deliveries(tasks=…)`, one row per delivered task of `tasks`
    with `first_version_at` (v1's moment); on time is `ON_TIME_TASK`. Rooted at the tasks, so a
    scoped list of tasks is read once (index-only on `task_matter_submitted_idx`) and each
    delivery from `submission_first_version_idx`, instead of joining the tasks twice
    (docs/performance.md, the dashboard's chart)."""
    # One join to the first version (unique per task), filtered and read in the same join.
    return (tasks.filter(engagement__isnull=False, submissions__version=1,
                         submissions__submitted_at__gte=since,
                         submissions__submitted_at__lt=until)
            .annotate(first_version_at=F("submissions__submitted_at")))
