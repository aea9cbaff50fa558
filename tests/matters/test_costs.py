"""Cost accrual per engagement, worked by hand: per hour (actual hours, else the estimate),
per document, fixed; in-house cost and saving per task type; percent of the budget cap;
unpriced and unbilled tasks."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lpo_tracker.fields import TaskType
from matters.costs import engagement_costs, engagements_costs, price_task, rate_lines
from matters.models import Engagement, Task, TaskStatus
from matters.services import task_cancel
from tests.conftest import Cast
from tests.vendors.builders import STANDARD_LINES, rate_card
from vendors.models import RateUnit

pytestmark = pytest.mark.django_db

D = Decimal


def _priced_engagement(cast: Cast, cap: str = "10000") -> Engagement:
    engagement = cast.engagement_a
    engagement.rate_card = rate_card(engagement.vendor, *STANDARD_LINES)
    engagement.budget_cap = D(cap)
    engagement.save(update_fields=["rate_card", "budget_cap"])
    return Engagement.objects.select_related("rate_card", "matter").get(pk=engagement.pk)


def _assigned(cast: Cast, **fields: object) -> Task:
    task = cast.new_task(**fields)
    return cast.advance(task, TaskStatus.ASSIGNED)


def test_costs_per_unit_worked_by_hand(cast: Cast) -> None:
    """Rates (vendor / in-house): review 40 / 250 an hour, coding 1.50 / 6.00 a document,
    abstraction 300 / 1,200 fixed.

    - review, 12.5 actual hours (estimate 20 ignored):  500.00 / 3,125.00
    - review, no actuals, estimate 8 hours:             320.00 / 2,000.00
    - coding, 2,000 documents:                        3,000.00 / 12,000.00
    - abstraction, fixed:                               300.00 / 1,200.00
    Total 4,120.00 against in-house 18,325.00: saving 14,205.00; 41.20% of a 10,000 cap.
    """
    engagement = _priced_engagement(cast)
    _assigned(cast, title="Review A", estimated_hours=D("20"), actual_hours=D("12.5"))
    _assigned(cast, title="Review B", estimated_hours=D("8"))
    _assigned(cast, title="Coding", task_type=TaskType.LEGAL_CODING, document_count=2000)
    _assigned(cast, title="Abstraction", task_type=TaskType.CONTRACT_ABSTRACTION)
    costs = engagement_costs(engagement)
    by_title = {item.task.title: (item.quantity, item.cost, item.in_house_cost)
                for item in costs.tasks}
    assert by_title == {
        "Review A": (D("12.5"), D("500.00"), D("3125.00")),
        "Review B": (D("8"), D("320.00"), D("2000.00")),
        "Coding": (D("2000"), D("3000.00"), D("12000.00")),
        "Abstraction": (D("1"), D("300.00"), D("1200.00")),
    }
    assert [item.uses_estimate for item in costs.tasks] == [False, True, False, False]
    assert (costs.total, costs.in_house_total, costs.saving) == (
        D("4120.00"), D("18325.00"), D("14205.00"))
    assert costs.percent_of_cap == D("41.20")
    assert costs.remaining == D("5880.00")
    assert costs.currency == "USD"
    assert [(row.task_type, row.tasks, row.cost, row.in_house_cost, row.saving,
             row.saving_percent) for row in costs.by_task_type] == [
        (TaskType.CONTRACT_ABSTRACTION, 1, D("300.00"), D("1200.00"), D("900.00"), D("75.00")),
        (TaskType.DOCUMENT_REVIEW, 2, D("820.00"), D("5125.00"), D("4305.00"), D("84.00")),
        (TaskType.LEGAL_CODING, 1, D("3000.00"), D("12000.00"), D("9000.00"), D("75.00")),
    ]


def test_drafts_and_cancelled_tasks_accrue_nothing_and_unpriced_tasks_are_listed(cast: Cast
                                                                                 ) -> None:
    engagement = _priced_engagement(cast)
    cancelled = _assigned(cast, title="Dropped", estimated_hours=D("100"))
    task_cancel(actor=cast.staff_on, task=cancelled, reason="Client settled")
    research = _assigned(cast, title="Research", task_type=TaskType.LEGAL_RESEARCH,
                         estimated_hours=D("5"))
    costs = engagement_costs(engagement)
    assert [item.task.pk for item in costs.tasks] == [research.pk]
    assert [item.task.pk for item in costs.unpriced] == [research.pk]
    assert costs.total == D("0")
    assert costs.by_task_type == []


def test_no_cap_means_no_percentage_and_no_rate_card_means_unpriced(cast: Cast) -> None:
    engagement = Engagement.objects.select_related("rate_card", "matter").get(
        pk=cast.engagement_a.pk)
    engagement.budget_cap = D("0")
    _assigned(cast, estimated_hours=D("3"))
    costs = engagement_costs(engagement)
    assert costs.percent_of_cap is None and costs.remaining is None
    assert len(costs.unpriced) == 1
    assert costs.currency == engagement.matter.currency


def test_a_task_counting_documents_uses_the_per_document_rate_when_both_exist(cast: Cast
                                                                              ) -> None:
    card = rate_card(cast.engagement_a.vendor,
                     (TaskType.DOCUMENT_REVIEW, RateUnit.HOUR, "40", "250"),
                     (TaskType.DOCUMENT_REVIEW, RateUnit.DOCUMENT, "0.80", "3.00"),
                     name="Two units")
    lines = rate_lines([card.pk])[card.pk]
    counted = Task(task_type=TaskType.DOCUMENT_REVIEW, document_count=1000,
                   estimated_hours=D("30"))
    hourly = Task(task_type=TaskType.DOCUMENT_REVIEW, document_count=0, estimated_hours=D("30"))

    def priced(task: Task) -> tuple[Decimal, str]:
        cost = price_task(task, lines)
        assert cost.line is not None
        return cost.cost, cost.line.unit

    assert priced(counted) == (D("800.00"), RateUnit.DOCUMENT)
    assert priced(hourly) == (D("1200.00"), RateUnit.HOUR)


def test_many_engagements_cost_two_queries(cast: Cast,
                                           django_assert_num_queries: object) -> None:
    _priced_engagement(cast)
    _assigned(cast, estimated_hours=D("2"))
    engagements = list(Engagement.objects.select_related("rate_card", "matter"))
    with django_assert_num_queries(2):  # type: ignore[operator]
        # 1 the rate lines of every card in use, 2 every billable task of the engagements
        result = engagements_costs(engagements)
    assert result[cast.engagement_a.pk].total == D("80.00")
    assert result[cast.engagement_b.pk].total == D("0")
