"""The QC pages over HTTP: who may see and act (the matter's supervising attorneys; others
403 or 404, vendor users 404, anonymous to the login), the reviewer's flow through the
forms, the vendor's view of its own defects (never the internal notes), and the cost of the
pages in queries whatever the size of the sample or the history."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from matters.models import Task, TaskStatus
from supervision.qc.models import InspectionSwitch, QcResult, QcSample
from supervision.qc.services import qc_sample_draw
from tests.conftest import Cast
from tests.supervision.qc.helpers import bulk_task, category, inspect_lot, record, submit_lot

pytestmark = pytest.mark.django_db

INTERNAL = "Internal: their second-level reviewer skipped the privilege screen."
VENDOR_NOTE = "Attorney-client e-mail coded as not privileged."


def client_for(user: Any) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def lot_task(cast: Cast) -> Task:
    task = bulk_task(cast)
    submit_lot(cast, task, items=500)
    return task


QC_VIEWS = [("get", "supervision:qc"), ("post", "supervision:qc_draw"),
            ("post", "supervision:qc_record"), ("post", "supervision:qc_full_review")]


@pytest.mark.parametrize(("method", "name"), QC_VIEWS)
def test_only_the_matters_supervising_attorneys_reach_the_qc_pages(
    cast: Cast, lot_task: Task, method: str, name: str
) -> None:
    url = reverse(name, args=[lot_task.pk])
    expected = {"staff_on": 403, "staff_off": 404, "screened": 404, "vendor_a_user": 404,
                "vendor_b_user": 404}
    for who, status in expected.items():
        response = getattr(client_for(getattr(cast, who)), method)(url)
        assert response.status_code == status, (who, response.status_code)
    anonymous = getattr(Client(), method)(url)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith(reverse("login"))
    assert not QcSample.objects.exists()
    if method == "get":
        assert client_for(cast.attorney).get(url).status_code == 200


def _record_form(sample: QcSample, defective: int) -> dict[str, str]:
    kind = category()
    data = {"disposition": "return_to_vendor", "notes": INTERNAL}
    for index, _ in enumerate(sample.item_ids):
        prefix = f"item-{index}"
        data[f"{prefix}-state"] = "defective" if index < defective else "correct"
        if index < defective:
            data.update({f"{prefix}-category": str(kind.pk), f"{prefix}-severity": "critical",
                         f"{prefix}-vendor_note": VENDOR_NOTE,
                         f"{prefix}-internal_note": INTERNAL})
    return data


def test_the_reviewer_draws_records_and_the_vendor_sees_only_its_defects(
    cast: Cast, lot_task: Task
) -> None:
    attorney = client_for(cast.attorney)
    page = attorney.get(reverse("supervision:qc", args=[lot_task.pk]))
    assert b"Draw the sample" in page.content
    response = attorney.post(reverse("supervision:qc_draw", args=[lot_task.pk]))
    assert response.status_code == 302
    sample = QcSample.objects.get()
    text = attorney.get(reverse("supervision:qc", args=[lot_task.pk])).content.decode()
    assert str(sample.seed) in text and all(item in text for item in sample.item_ids)
    # A defect without its category is refused, nothing recorded, the choices kept.
    incomplete = _record_form(sample, 4)
    incomplete["item-0-category"] = ""
    response = attorney.post(reverse("supervision:qc_record", args=[lot_task.pk]), incomplete)
    assert response.status_code == 400 and b"needs a category" in response.content
    assert not QcResult.objects.exists()
    response = attorney.post(reverse("supervision:qc_record", args=[lot_task.pk]),
                             _record_form(sample, 4))
    assert response.status_code == 302
    result = QcResult.objects.get()
    assert not result.accepted and result.critical == 4
    assert Task.objects.get(pk=lot_task.pk).status == TaskStatus.CHANGES_REQUESTED

    portal = client_for(cast.vendor_a_user).get(reverse("portal:task", args=[lot_task.pk]))
    text = portal.content.decode()
    assert portal.status_code == 200
    assert VENDOR_NOTE in text and "Rejected" in text and sample.item_ids[0] in text
    assert "second-level reviewer" not in text and INTERNAL not in text
    assert client_for(cast.vendor_b_user).get(
        reverse("portal:task", args=[lot_task.pk])).status_code == 404
    # The vendor's form asks for the corrected lot's item count.
    assert b"Items in this lot" in portal.content


def test_a_legal_judgment_task_offers_no_sample(cast: Cast) -> None:
    task = cast.advance(cast.new_task(title="Research memo", task_type="legal_research"),
                        TaskStatus.SUBMITTED)
    attorney = client_for(cast.attorney)
    page = attorney.get(reverse("supervision:qc", args=[task.pk]))
    assert b"never sampled" in page.content and b"Draw the sample" not in page.content
    response = attorney.post(reverse("supervision:qc_draw", args=[task.pk]))
    assert response.status_code == 400 and b"never sampled" in response.content
    assert not QcSample.objects.exists()


def _page_queries(client: Client, tasks: list[Task]) -> list[int]:
    """Queries of each task's QC page, each measured on its second load (the first fills
    per-user caches: the navigation, the review queue version)."""
    counts = []
    for task in tasks:
        url = reverse("supervision:qc", args=[task.pk])
        client.get(url)
        with CaptureQueriesContext(connection) as context:
            assert client.get(url).status_code == 200
        counts.append(len(context.captured_queries))
    return counts


def test_the_qc_page_costs_the_same_queries_for_a_small_or_a_large_sample(
    cast: Cast,
) -> None:
    small, large = bulk_task(cast, title="Small"), bulk_task(cast, title="Large")
    submit_lot(cast, small, items=20)  # n 5
    submit_lot(cast, large, items=3000)  # n 125
    attorney = client_for(cast.attorney)
    for task in (small, large):
        qc_sample_draw(actor=cast.attorney, task=task)
    drawn = _page_queries(attorney, [small, large])
    assert drawn[0] == drawn[1], drawn
    for task in (small, large):
        record(cast, task, defects=0)  # both accepted: the same page
    decided = _page_queries(attorney, [small, large])
    assert decided[0] == decided[1], decided


def test_the_vendor_pages_cost_the_same_queries_whatever_the_qc_history(
    cast: Cast,
) -> None:
    from tests.vendors.builders import vendor_manager

    manager = client_for(vendor_manager())
    vendor_url = reverse("vendors:vendor_detail", args=[cast.engagement_a.vendor.pk])
    first = bulk_task(cast, title="Lot 1")
    inspect_lot(cast, first, defects=4)

    vendor = client_for(cast.vendor_a_user)
    portal_url = reverse("portal:task", args=[first.pk])

    def measure() -> tuple[int, int]:
        manager.get(vendor_url)  # second loads: the first fills per-user caches
        vendor.get(portal_url)
        with CaptureQueriesContext(connection) as vendor_page:
            assert manager.get(vendor_url).status_code == 200
        with CaptureQueriesContext(connection) as portal_page:
            assert vendor.get(portal_url).status_code == 200
        return len(vendor_page.captured_queries), len(portal_page.captured_queries)

    before = measure()
    for number in range(3):
        inspect_lot(cast, bulk_task(cast, title=f"Lot {number + 2}"), defects=4 + number)
    # More defects on the first task's next lot, and a switch on the vendor page.
    submit_lot(cast, first, items=500)
    qc_sample_draw(actor=cast.attorney, task=Task.objects.get(pk=first.pk))
    record(cast, first, defects=9)
    assert InspectionSwitch.objects.exists()
    assert measure() == before, before
