"""Vendor scorecards, computed from the record (tasks, versions, reviews, sign-offs, rates),
per vendor and per period.

A period is a range of whole days in the firm's time zone, both days included; it is
queried as the half-open range [first day 00:00, day after the last 00:00). A task belongs
to the vendor of its engagement. The figures:

- **On-time delivery %**: of the tasks delivered in the period, the share delivered on time
  (both as `supervision.reports.delivery` defines them: the first version against
  `sla_due_at`).
- **First-pass approval %**: of the tasks first signed off in the period, the share whose
  first sign-off approved version 1 with no change requested before it.
- **Average rounds of changes requested**: the "changes requested" decisions made in the
  period, divided by the number of tasks that received any decision (approved or changes
  requested) in the period.
- **Median review turnaround**: over the decisions made in the period, the median of the
  hours (wall-clock) from the version's submission to the attorney's decision. Reviews
  superseded by a newer version are not decisions and are left out.
- **Cost per task**: the mean cost (`matters.costs.price_task`, at the engagement's rates)
  of the tasks first signed off in the period that could be priced. When the vendor's
  engagements use more than one currency there is no single figure (None, "mixed").

Five queries for all vendors, whatever the period's size.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Exists, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

from lpo_tracker.clock import firm_zone
from matters.costs import price_task, rate_lines
from matters.models import Task
from supervision.models import Review, ReviewDecision, SignOff
from supervision.reports.delivery import ON_TIME, deliveries
from vendors.models import Vendor

MIXED = "mixed"
DECIDED = (ReviewDecision.APPROVED, ReviewDecision.CHANGES_REQUESTED)
TENTH = Decimal("0.1")
CENT = Decimal("0.01")


def _percent(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(100 * part) / whole).quantize(TENTH, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Period:
    first_day: dt.date
    last_day: dt.date

    @property
    def zone(self) -> dt.tzinfo:
        return firm_zone()

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.first_day, dt.time.min, tzinfo=self.zone)

    @property
    def end(self) -> dt.datetime:
        """Exclusive: midnight at the start of the day after the last day."""
        return dt.datetime.combine(self.last_day + dt.timedelta(days=1), dt.time.min,
                                   tzinfo=self.zone)

    @property
    def label(self) -> str:
        return f"{self.first_day:%d %b %Y} – {self.last_day:%d %b %Y}"

    @property
    def short_label(self) -> str:
        """ "Q3 2026" for a calendar quarter, else the dates."""
        if self == Period.quarter_of(self.first_day):
            return f"Q{(self.first_day.month - 1) // 3 + 1} {self.first_day.year}"
        return self.label

    @classmethod
    def quarter_of(cls, day: dt.date) -> Period:
        first_month = 3 * ((day.month - 1) // 3) + 1
        first = dt.date(day.year, first_month, 1)
        next_first = (dt.date(day.year + 1, 1, 1) if first_month == 10
                      else dt.date(day.year, first_month + 3, 1))
        return cls(first, next_first - dt.timedelta(days=1))

    @classmethod
    def last_full_quarter(cls, today: dt.date) -> Period:
        return cls.quarter_of(cls.quarter_of(today).first_day - dt.timedelta(days=1))

    def previous_quarters(self, count: int) -> list[Period]:
        """This quarter-shaped period and the `count - 1` quarters before it."""
        quarters = [Period.quarter_of(self.first_day)]
        while len(quarters) < count:
            quarters.append(Period.quarter_of(quarters[-1].first_day - dt.timedelta(days=1)))
        return quarters


@dataclass
class Scorecard:
    vendor: Vendor
    delivered: int = 0
    on_time: int = 0
    approved: int = 0
    first_pass: int = 0
    reviewed_tasks: int = 0
    change_rounds: int = 0
    turnaround_hours: list[float] = field(default_factory=list)
    priced_tasks: int = 0
    cost_total: Decimal = Decimal("0")
    currencies: set[str] = field(default_factory=set)

    @property
    def on_time_percent(self) -> Decimal | None:
        return _percent(self.on_time, self.delivered)

    @property
    def first_pass_percent(self) -> Decimal | None:
        return _percent(self.first_pass, self.approved)

    @property
    def average_rounds(self) -> Decimal | None:
        if not self.reviewed_tasks:
            return None
        return (Decimal(self.change_rounds) / self.reviewed_tasks).quantize(
            CENT, rounding=ROUND_HALF_UP)

    @property
    def reviews_decided(self) -> int:
        return len(self.turnaround_hours)

    @property
    def median_turnaround_hours(self) -> Decimal | None:
        if not self.turnaround_hours:
            return None
        return Decimal(str(statistics.median(self.turnaround_hours))).quantize(
            TENTH, rounding=ROUND_HALF_UP)

    @property
    def currency(self) -> str:
        if len(self.currencies) > 1:
            return MIXED
        return next(iter(self.currencies), "")

    @property
    def cost_per_task(self) -> Decimal | None:
        if not self.priced_tasks or self.currency == MIXED:
            return None
        return (self.cost_total / self.priced_tasks).quantize(CENT, rounding=ROUND_HALF_UP)

    @property
    def has_activity(self) -> bool:
        return bool(self.delivered or self.approved or self.reviewed_tasks)


def _count_delivered(cards: dict[int, Scorecard], period: Period) -> None:
    """Query 2: first versions submitted in the period, and how many were on time."""
    rows = (
        deliveries(since=period.start, until=period.end)
        .order_by()
        .values("task__engagement__vendor_id")
        .annotate(total=Count("pk"), on_time=Count("pk", filter=ON_TIME))
    )
    for row in rows:
        card = cards.get(row["task__engagement__vendor_id"])
        if card is not None:
            card.delivered, card.on_time = row["total"], row["on_time"]


def _count_approved(cards: dict[int, Scorecard], period: Period) -> None:
    """Queries 3-4: tasks first signed off in the period (first-pass or not, and what they
    cost), then the rate lines of their engagements' rate cards."""
    first = SignOff.objects.filter(task=OuterRef("pk")).order_by("signed_at", "pk")
    changes_before = (
        Review.objects.filter(submission__task=OuterRef("pk"),
                              decision=ReviewDecision.CHANGES_REQUESTED,
                              decided_at__lt=OuterRef("first_signed_at"))
        .order_by().values("submission__task").annotate(n=Count("pk")).values("n")
    )
    signed_in_period = SignOff.objects.filter(task=OuterRef("pk"), signed_at__gte=period.start,
                                              signed_at__lt=period.end)
    tasks = list(
        Task.objects.filter(Exists(signed_in_period), engagement__isnull=False)
        .select_related("engagement__rate_card")
        .annotate(
            first_signed_at=Subquery(first.values("signed_at")[:1]),
            first_signed_version=Subquery(first.values("submission__version")[:1]),
        )
        .filter(first_signed_at__gte=period.start, first_signed_at__lt=period.end)
        .annotate(changes_before=Coalesce(Subquery(changes_before, output_field=IntegerField()),
                                          Value(0)))
        .order_by("pk")
    )
    lines = rate_lines(task.engagement.rate_card_id for task in tasks if task.engagement)
    for task in tasks:
        assert task.engagement is not None
        card = cards.get(task.engagement.vendor_id)
        if card is None:
            continue
        card.approved += 1
        if task.first_signed_version == 1 and not task.changes_before:  # type: ignore[attr-defined]
            card.first_pass += 1
        cost = price_task(task, lines.get(task.engagement.rate_card_id or 0, {}))
        if cost.priced and task.engagement.rate_card is not None:
            card.priced_tasks += 1
            card.cost_total += cost.cost
            card.currencies.add(task.engagement.rate_card.currency)


def _count_reviews(cards: dict[int, Scorecard], period: Period) -> None:
    """Query 5: decisions made in the period, for the rounds and the turnaround."""
    rows = Review.objects.filter(
        decision__in=DECIDED, decided_at__gte=period.start, decided_at__lt=period.end,
        submission__task__engagement__isnull=False,
    ).values_list("submission__task__engagement__vendor_id", "submission__task_id", "decision",
                  "submission__submitted_at", "decided_at")
    tasks: dict[int, set[int]] = defaultdict(set)
    for vendor_id, task_id, decision, submitted_at, decided_at in rows:
        card = cards.get(vendor_id)
        if card is None or decided_at is None:  # decided reviews always have the time
            continue
        tasks[vendor_id].add(task_id)
        if decision == ReviewDecision.CHANGES_REQUESTED:
            card.change_rounds += 1
        card.turnaround_hours.append((decided_at - submitted_at).total_seconds() / 3600)
    for vendor_id, task_ids in tasks.items():
        cards[vendor_id].reviewed_tasks = len(task_ids)


def scorecards_for(period: Period) -> list[Scorecard]:
    """Every vendor's scorecard for the period, vendors by name (query 1: the vendors)."""
    cards = {vendor.pk: Scorecard(vendor) for vendor in Vendor.objects.order_by("name")}
    _count_delivered(cards, period)
    _count_approved(cards, period)
    _count_reviews(cards, period)
    return list(cards.values())


# --- Export ---------------------------------------------------------------------------------

COLUMNS = [
    "Vendor", "Status", "Period start", "Period end",
    "Tasks delivered", "Delivered on time", "On-time delivery %",
    "Tasks approved", "Approved first pass", "First-pass approval %",
    "Tasks reviewed", "Change rounds", "Average rounds of changes",
    "Reviews decided", "Median review turnaround (h)",
    "Priced tasks", "Cost per task", "Currency",
]


def export_rows(cards: list[Scorecard], period: Period
                ) -> list[list[str | int | Decimal | dt.date | None]]:
    """One row per vendor, in COLUMNS order; None where there is nothing to measure."""
    return [
        [card.vendor.name, card.vendor.get_status_display(), period.first_day, period.last_day,
         card.delivered, card.on_time, card.on_time_percent,
         card.approved, card.first_pass, card.first_pass_percent,
         card.reviewed_tasks, card.change_rounds, card.average_rounds,
         card.reviews_decided, card.median_turnaround_hours,
         card.priced_tasks, card.cost_per_task, card.currency]
        for card in cards
    ]
