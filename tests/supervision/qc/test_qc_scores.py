"""The scorecards' QC figures: defects per 100 items by category and severity, the lot
acceptance rate, the inspection level over time, the monthly chart; four queries for every
vendor whatever the amount of QC data; the page shows them to vendor managers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from lpo_tracker.clock import firm_today
from supervision.reports.qc_scores import qc_scores_for
from supervision.reports.scorecards import Period
from tests.conftest import Cast
from tests.supervision.qc.helpers import bulk_task, inspect_lot

pytestmark = pytest.mark.django_db


def this_quarter() -> Period:
    return Period.quarter_of(firm_today())


def test_defect_rates_acceptance_and_level_over_time(cast: Cast) -> None:
    vendor = cast.engagement_a.vendor
    for number, defects in enumerate([0, 4, 2, 5]):  # 500 items each: n 50
        inspect_lot(cast, bulk_task(cast, title=f"Lot {number}"), defects=defects)
    score = qc_scores_for(this_quarter(), [vendor.pk, cast.engagement_b.vendor.pk])[vendor.pk]
    assert (score.lots, score.accepted, score.items, score.defects) == (4, 2, 200, 11)
    assert str(score.acceptance_percent) == "50.0"
    assert str(score.defects_per_100) == "5.5"  # 11 per 200 items
    assert dict(score.severity_rates())["Major"] is not None
    assert str(dict(score.severity_rates())["Major"]) == "5.5"
    assert [name for name, _ in score.category_rates()] == ["Confidentiality tag error"]
    assert score.level_at_end == "Tightened"
    assert [s.to_severity for s in score.switches] == ["tightened"]
    assert score.chart is not None and "Defects per 100 items by month" in score.chart
    assert sum(items for _, items, _ in score.months) == 200


def test_qc_figures_cost_four_queries_however_much_data(
    cast: Cast, django_assert_num_queries: Callable[..., Any]
) -> None:
    for number in range(3):
        inspect_lot(cast, bulk_task(cast, title=f"Lot {number}"), defects=number * 2)
    vendors = [cast.engagement_a.vendor.pk, cast.engagement_b.vendor.pk]
    # 1 results by vendor, 2 defective checks by vendor/category/severity, 3 switches,
    # 4 items and defects by vendor and month.
    with django_assert_num_queries(4):
        qc_scores_for(this_quarter(), vendors)


def test_the_scorecards_page_shows_the_qc_section(cast: Cast) -> None:
    from tests.vendors.builders import vendor_manager

    inspect_lot(cast, bulk_task(cast), defects=4)
    client = Client()
    client.force_login(vendor_manager())
    period = this_quarter()
    response = client.get(reverse("reports:scorecards"),
                          {"start": str(period.first_day), "end": str(period.last_day)})
    text = response.content.decode()
    assert response.status_code == 200
    assert "Quality control of bulk work" in text and "0 of 1" in text
    assert "8.0" in text  # 4 defects in 50 items
