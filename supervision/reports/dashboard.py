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
from django.db.models import Count, Q, QuerySet
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
from matters.selectors import matters_visible_to, task_count, tasks_visible_to
from supervision.reports.delivery import ON_TIME, deliveries
from supervision.selectors import review_queue_for
from vendors.selectors import vendors_lapsed_on

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
        deliveries(since=since, until=now + dt.timedelta(microseconds=1), tasks=tasks)
        .annotate(week=TruncWeek("submitted_at", tzinfo=zone))
        .order_by()
        .values("week")
        .annotate(delivered=Count("pk"), on_time=Count("pk", filter=ON_TIME))
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


def dashboard_for(user: AnyUser, *, now: dt.datetime) -> Dashboard:
    """A firm user's dashboard: eight queries, whatever the number of rows (whether the user
    belongs to a vendor is read once per request and cached on the user).

    1-2. Open matters the user may see (the first ten, with their open and awaiting-review
         task counts) and how many there are.
    3-4. Tasks with the vendor whose SLA deadline has passed or falls within 24 hours (the
         first ten) and how many there are.
    5.   The first ten reviews waiting on the user, soonest deadline first.
    6.   How long all reviews waiting on the user have waited, by age (and so their total).
    7.   SLA compliance by week.
    8.   Open tasks with a vendor whose due diligence has lapsed (the first ten).
    """
    matters = matters_visible_to(user).filter(status=MatterStatus.OPEN)
    open_matters = list(
        matters.annotate(
            open_tasks=task_count(Q(status__in=OPEN_STATES)),
            awaiting_review=task_count(Q(status__in=AWAITING_REVIEW_STATES)),
        ).order_by("number")[:DASHBOARD_LIST_LIMIT]
    )
    visible = tasks_visible_to(user)
    at_risk = visible.filter(status__in=WITH_VENDOR_STATES, sla_due_at__lte=now + AT_RISK_WINDOW)
    queue = review_queue_for(user)
    ages = review_age_buckets(queue, now=now)
    return Dashboard(
        open_matters=open_matters,
        open_matters_total=matters.count(),
        at_risk_tasks=list(at_risk.order_by("sla_due_at", "pk")[:DASHBOARD_LIST_LIMIT]),
        at_risk_total=at_risk.count(),
        reviews_waiting=list(queue[:DASHBOARD_LIST_LIMIT]),
        reviews_waiting_total=sum(bucket.count for bucket in ages),
        sla_weeks=sla_compliance_by_week(visible, now=now),
        review_ages=ages,
        lapsed_vendor_tasks=list(
            visible.filter(status__in=OPEN_STATES)
            .filter(engagement__vendor__in=vendors_lapsed_on(firm_today(now)).values("pk"))
            .order_by("sla_due_at", "pk")[:DASHBOARD_LIST_LIMIT]
        ),
    )
