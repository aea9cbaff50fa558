"""The dashboard's figures, read for the asking user: open matters, tasks at risk, reviews
waiting and their ages, SLA compliance by week, open work with lapsed vendors.

Everything starts from the scoped selectors (`matters.selectors`, `supervision.selectors`), so
a wall or a missing grant hides rows here exactly as it does everywhere else.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser, User
from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.functions import TruncWeek

from lpo_tracker.clock import firm_today, firm_zone
from matters.models import (
    AWAITING_REVIEW_STATES,
    OPEN_STATES,
    WITH_VENDOR_STATES,
    Matter,
    MatterStatus,
    Task,
)
from matters.selectors import (
    TASK_LIST_RELATED,
    VIEW,
    matter_ids_with_perm_sql,
    matters_visible_to,
    task_count,
    tasks_visible_to,
)
from supervision.reports.delivery import ON_TIME_TASK, delivered_tasks
from supervision.selectors import review_queue_first, tasks_awaiting_review_by
from vendors.selectors import is_vendor_user, vendors_lapsed_on

AnyUser = User | AnonymousUser

# A vendor clock is "at risk" this long before it runs out.
AT_RISK_WINDOW = dt.timedelta(hours=24)
DASHBOARD_LIST_LIMIT = 10
SLA_CHART_WEEKS = 8
# (label, lower bound in days inclusive, upper bound in days exclusive or None).
REVIEW_AGE_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("< 1 day", 0, 1),
    ("1–2 days", 1, 2),
    ("2–5 days", 2, 5),
    ("> 5 days", 5, None),
)

# --- Dashboard ---------------------------------------------------------------------------


@dataclass(frozen=True)
class WeekCompliance:
    week_start: dt.date
    delivered: int
    on_time: int

    @property
    def percent(self) -> int | None:
        return round(100 * self.on_time / self.delivered) if self.delivered else None


@dataclass(frozen=True)
class AgeBucket:
    label: str
    count: int


@dataclass(frozen=True)
class Dashboard:
    open_matters: Sequence[Matter]
    open_matters_total: int
    at_risk_tasks: list[Task]
    at_risk_total: int
    reviews_waiting: list[Task]
    reviews_waiting_total: int
    sla_weeks: list[WeekCompliance]
    review_ages: list[AgeBucket]
    # Open tasks with a vendor whose NDA or security certification has lapsed.
    lapsed_vendor_tasks: list[Task]


def _week_start(moment: dt.datetime, zone: dt.tzinfo) -> dt.date:
    local = moment.astimezone(zone).date()
    return local - dt.timedelta(days=local.weekday())


def sla_compliance_by_week(
    tasks: QuerySet[Task], *, now: dt.datetime, weeks: int = SLA_CHART_WEEKS
) -> list[WeekCompliance]:
    """Per week (Monday to Sunday in the firm's zone) of the last `weeks`: how many of `tasks`
    (the user's visible tasks) were delivered and how many on time, as
    `supervision.reports.delivery` defines both (one query)."""
    zone = firm_zone()
    this_week = _week_start(now, zone)
    first_week = this_week - dt.timedelta(weeks=weeks - 1)
    since = dt.datetime.combine(first_week, dt.time(0), tzinfo=zone)
    rows = (
        # A first version submitted since `since` belongs to a task whose latest version
        # (`Task.submitted_at`, set by every upload) is no older: narrowing the tasks by it
        # changes no count and reads only the tasks of the last weeks from
        # task_matter_submitted_idx, index-only, each one's v1 from
        # submission_first_version_idx (docs/performance.md).
        delivered_tasks(tasks.filter(submitted_at__gte=since), since=since,
                        until=now + dt.timedelta(microseconds=1))
        .annotate(week=TruncWeek("first_version_at", tzinfo=zone))
        .order_by()
        .values("week")
        .annotate(delivered=Count("pk"), on_time=Count("pk", filter=ON_TIME_TASK))
    )
    by_week = {row["week"].astimezone(zone).date(): row for row in rows}
    result = []
    for index in range(weeks):
        week = first_week + dt.timedelta(weeks=index)
        row = by_week.get(week, {"delivered": 0, "on_time": 0})
        result.append(WeekCompliance(week, row["delivered"], row["on_time"]))
    return result


def review_age_buckets(queue: QuerySet[Task], *, now: dt.datetime) -> list[AgeBucket]:
    """How long the tasks in `queue` have waited since their latest version (one query)."""
    counts = {}
    for index, (_label, lower, upper) in enumerate(REVIEW_AGE_BUCKETS):
        condition = Q(submitted_at__lte=now - dt.timedelta(days=lower))
        if upper is not None:
            condition &= Q(submitted_at__gt=now - dt.timedelta(days=upper))
        counts[f"bucket_{index}"] = Count("pk", filter=condition)
    totals = queue.order_by().aggregate(**counts)
    return [
        AgeBucket(label, totals[f"bucket_{index}"] or 0)
        for index, (label, _lower, _upper) in enumerate(REVIEW_AGE_BUCKETS)
    ]


# The dashboard's "at risk" list and count, per visible matter and vendor-side state
# (PostgreSQL): each one a range of task_matter_status_sla_idx (matter, status, sla_due_at)
# up to the horizon, at most `limit` rows of it, then the first `limit` overall. The plain
# form walked every task of every visible matter through the matter_id index (400–1,070 ms
# at 1M tasks), and `status IN (…)` inside one LATERAL still skipped through every status of
# the matter; one range per state reads only the rows counted (docs/performance.md).
_AT_RISK_IDS_SQL = """
SELECT r.id FROM ({granted}) m CROSS JOIN unnest(%s::text[]) AS s(status)
 CROSS JOIN LATERAL (
       SELECT t.id, t.sla_due_at FROM {task} t
        WHERE t.matter_id = m.pk AND t.status = s.status AND t.sla_due_at <= %s
        ORDER BY t.sla_due_at, t.id LIMIT %s) r
 ORDER BY r.sla_due_at, r.id LIMIT %s
"""
_AT_RISK_COUNT_SQL = """
SELECT COALESCE(SUM(r.n), 0) FROM ({granted}) m CROSS JOIN unnest(%s::text[]) AS s(status)
 CROSS JOIN LATERAL (
       SELECT COUNT(*) AS n FROM {task} t
        WHERE t.matter_id = m.pk AND t.status = s.status AND t.sla_due_at <= %s) r
"""


def _at_risk(user: AnyUser, visible: QuerySet[Task], *, until: dt.datetime, limit: int
             ) -> tuple[list[Task], int]:
    """`visible` tasks with the vendor whose SLA deadline is before `until`: the first
    `limit` by deadline, and how many there are (two queries)."""
    at_risk = visible.filter(status__in=WITH_VENDOR_STATES, sla_due_at__lte=until)
    if connection.vendor != "postgresql" or is_vendor_user(user):
        return list(at_risk.order_by("sla_due_at", "pk")[:limit]), at_risk.count()
    granted, params = matter_ids_with_perm_sql(user, VIEW)
    states = list(WITH_VENDOR_STATES)
    ids = RawSQL(_AT_RISK_IDS_SQL.format(granted=granted, task=Task._meta.db_table),  # noqa: S611
                 [*params, states, until, limit, limit])
    # The ids are `visible`'s own rule (matters_with_perm, VIEW; vendor accounts took the
    # plain path above); only those rows are read, with what every task list selects.
    tasks = list(
        Task.objects.select_related(*TASK_LIST_RELATED)
        .filter(pk__in=ids).order_by("sla_due_at", "pk")
    )
    with connection.cursor() as cursor:
        cursor.execute(_AT_RISK_COUNT_SQL.format(granted=granted, task=Task._meta.db_table),
                       [*params, states, until])
        total = int(cursor.fetchone()[0])
    return tasks, total


def dashboard_for(user: AnyUser, *, now: dt.datetime) -> Dashboard:
    """A firm user's dashboard: eight queries, whatever the number of rows (whether the user
    belongs to a vendor is read once per request and cached on the user).

    1-2. Open matters the user may see (the first ten, with their open and awaiting-review
         task counts) and how many there are.
    3-4. Tasks with the vendor whose SLA deadline has passed or falls within 24 hours (the
         first ten) and how many there are, per visible matter on PostgreSQL (`_at_risk`).
    5.   The first ten reviews waiting on the user, soonest deadline first.
    6.   How long all reviews waiting on the user have waited, by age (and so their total).
    7.   SLA compliance by week.
    8.   Vendors whose due diligence has lapsed, and (only if there are any) their open
         tasks, the first ten.
    """
    matters = matters_visible_to(user).filter(status=MatterStatus.OPEN)
    open_matters = list(
        matters.annotate(
            open_tasks=task_count(Q(status__in=OPEN_STATES)),
            awaiting_review=task_count(Q(status__in=AWAITING_REVIEW_STATES)),
        ).order_by("number")[:DASHBOARD_LIST_LIMIT]
    )
    visible = tasks_visible_to(user)
    at_risk, at_risk_total = _at_risk(user, visible, until=now + AT_RISK_WINDOW,
                                      limit=DASHBOARD_LIST_LIMIT)
    # The ages count every waiting task: the bare rows (index-only), not the page's joins.
    ages = review_age_buckets(tasks_awaiting_review_by(user), now=now)
    return Dashboard(
        open_matters=open_matters,
        open_matters_total=matters.count(),
        at_risk_tasks=at_risk,
        at_risk_total=at_risk_total,
        reviews_waiting=review_queue_first(user, DASHBOARD_LIST_LIMIT),
        reviews_waiting_total=sum(bucket.count for bucket in ages),
        sla_weeks=sla_compliance_by_week(visible, now=now),
        review_ages=ages,
        lapsed_vendor_tasks=_lapsed_vendor_tasks(visible, day=firm_today(now)),
    )


def _lapsed_vendor_tasks(visible: QuerySet[Task], *, day: dt.date) -> list[Task]:
    """Open `visible` tasks with a vendor whose due diligence lapsed (the first ten).

    The lapsed vendors first (a handful at most, usually none: then this is one query), then
    their tasks through the engagement index; as one query, PostgreSQL walked every open
    task of the visible matters to test its vendor (~50 ms at 10k tasks, docs/performance.md).
    """
    lapsed = list(vendors_lapsed_on(day).values_list("pk", flat=True))
    if not lapsed:
        return []
    return list(
        visible.filter(status__in=OPEN_STATES, engagement__vendor_id__in=lapsed)
        .order_by("sla_due_at", "pk")[:DASHBOARD_LIST_LIMIT]
    )
