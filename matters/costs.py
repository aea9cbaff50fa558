"""What outsourced work costs: per task from its effort and the engagement's rate card, per
engagement against its budget cap, and the saving against the firm's in-house rates.

Pricing one task (`price_task`):

1. The rate line is the engagement rate card's line for the task's type. When the card has
   several units for that type, the one the task measures is used: per document when the
   task counts documents, else per hour, else the fixed fee (and failing those, whichever
   line exists, in that order).
2. Quantity: per hour, the actual hours, or the estimate while no actual hours are recorded;
   per document, the document count; fixed, one.
3. Cost = quantity × rate; in-house cost = quantity × in-house rate; saving = the difference.
4. A task without a rate card or a line for its type is "unpriced": it costs nothing here
   and is listed so someone adds the rate.

Cancelled tasks and drafts accrue nothing; every other task on the engagement does, from
the moment it is assigned (so the budget alert comes while there is still time to act).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import QuerySet

from lpo_tracker.fields import TaskType
from matters.models import Engagement, Task, TaskStatus
from vendors.models import RateCardLine, RateUnit

ZERO = Decimal("0")
CENT = Decimal("0.01")
# Tasks that accrue no cost.
UNBILLED_STATES = (TaskStatus.DRAFT, TaskStatus.CANCELLED)
_UNIT_PREFERENCE = (RateUnit.DOCUMENT, RateUnit.HOUR, RateUnit.FIXED)

LinesByType = dict[str, dict[str, RateCardLine]]  # task type → unit → line


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class TaskCost:
    task: Task
    line: RateCardLine | None
    quantity: Decimal
    cost: Decimal
    in_house_cost: Decimal

    @property
    def priced(self) -> bool:
        return self.line is not None

    @property
    def saving(self) -> Decimal:
        return self.in_house_cost - self.cost

    @property
    def uses_estimate(self) -> bool:
        return (self.line is not None and self.line.unit == RateUnit.HOUR
                and not self.task.actual_hours)


@dataclass(frozen=True)
class TypeSaving:
    task_type: str
    tasks: int
    cost: Decimal
    in_house_cost: Decimal

    @property
    def label(self) -> str:
        return str(TaskType(self.task_type).label)

    @property
    def saving(self) -> Decimal:
        return self.in_house_cost - self.cost

    @property
    def saving_percent(self) -> Decimal | None:
        if not self.in_house_cost:
            return None
        return _money(100 * self.saving / self.in_house_cost)


@dataclass
class EngagementCosts:
    engagement: Engagement
    currency: str
    tasks: list[TaskCost] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((item.cost for item in self.tasks), ZERO)

    @property
    def in_house_total(self) -> Decimal:
        return sum((item.in_house_cost for item in self.tasks), ZERO)

    @property
    def saving(self) -> Decimal:
        return self.in_house_total - self.total

    @property
    def unpriced(self) -> list[TaskCost]:
        return [item for item in self.tasks if not item.priced]

    @property
    def percent_of_cap(self) -> Decimal | None:
        """Cost as a percentage of the budget cap; None when the engagement has no cap."""
        cap = self.engagement.budget_cap
        if not cap:
            return None
        return _money(100 * self.total / cap)

    @property
    def remaining(self) -> Decimal | None:
        cap = self.engagement.budget_cap
        return cap - self.total if cap else None

    @property
    def by_task_type(self) -> list[TypeSaving]:
        """Cost, in-house cost and saving per task type, priced tasks only."""
        grouped: dict[str, list[TaskCost]] = defaultdict(list)
        for item in self.tasks:
            if item.priced:
                grouped[item.task.task_type].append(item)
        return [
            TypeSaving(task_type, len(items), sum((i.cost for i in items), ZERO),
                       sum((i.in_house_cost for i in items), ZERO))
            for task_type, items in sorted(grouped.items())
        ]


def _line_for(task: Task, lines: LinesByType) -> RateCardLine | None:
    by_unit = lines.get(task.task_type, {})
    if not by_unit:
        return None
    if task.document_count and RateUnit.DOCUMENT in by_unit:
        preferred: tuple[str, ...] = (RateUnit.DOCUMENT,)
    else:
        preferred = (RateUnit.HOUR, RateUnit.FIXED)
    for unit in (*preferred, *_UNIT_PREFERENCE):
        if unit in by_unit:
            return by_unit[unit]
    return None


def _quantity(task: Task, unit: str) -> Decimal:
    if unit == RateUnit.HOUR:
        return task.actual_hours or task.estimated_hours or ZERO
    if unit == RateUnit.DOCUMENT:
        return Decimal(task.document_count)
    return Decimal(1)


def price_task(task: Task, lines: LinesByType) -> TaskCost:
    """Cost and in-house cost of one task, from the lines of its engagement's rate card."""
    line = _line_for(task, lines)
    if line is None:
        return TaskCost(task, None, ZERO, ZERO, ZERO)
    quantity = _quantity(task, line.unit)
    return TaskCost(task, line, quantity, _money(quantity * line.rate),
                    _money(quantity * line.in_house_rate))


def rate_lines(card_ids: Iterable[int | None]) -> dict[int, LinesByType]:
    """The lines of the given rate cards, by card, task type and unit (one query)."""
    wanted = {card_id for card_id in card_ids if card_id}
    result: dict[int, LinesByType] = defaultdict(lambda: defaultdict(dict))
    if wanted:
        for line in RateCardLine.objects.filter(rate_card_id__in=wanted):
            result[line.rate_card_id][line.task_type][line.unit] = line
    return result


def billable_tasks(engagement_ids: Iterable[int]) -> QuerySet[Task]:
    return Task.objects.filter(engagement_id__in=list(engagement_ids)).exclude(
        status__in=UNBILLED_STATES
    ).order_by("pk")


def _currency(engagement: Engagement) -> str:
    if engagement.rate_card_id is not None and engagement.rate_card is not None:
        return engagement.rate_card.currency
    return engagement.matter.currency


def engagements_costs(engagements: Sequence[Engagement]) -> dict[int, EngagementCosts]:
    """Costs of many engagements in two queries (their rate lines and their billable tasks),
    given engagements loaded with `select_related("rate_card", "matter")`."""
    lines = rate_lines(engagement.rate_card_id for engagement in engagements)
    result = {engagement.pk: EngagementCosts(engagement, _currency(engagement))
              for engagement in engagements}
    for task in billable_tasks(result):
        costs = result[task.engagement_id]  # type: ignore[index]
        costs.tasks.append(price_task(task, lines.get(costs.engagement.rate_card_id or 0, {})))
    return result


def engagement_costs(engagement: Engagement) -> EngagementCosts:
    return engagements_costs([engagement])[engagement.pk]
