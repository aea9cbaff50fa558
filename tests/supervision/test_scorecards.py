"""Scorecards on a hand-built dataset: every task is walked through the real services with
time frozen at each step, and each figure's right answer is worked out below from the
timeline. The period is Q2 2026 in the firm's zone (America/New_York, UTC-4 then), so
2026-04-01 04:00Z to 2026-07-01 04:00Z.

Vendor A ("Ashoka Legal Process", USD; review 40/h, coding 1.50/doc, abstraction 300 fixed)

    task  SLA due      v1 submitted          decisions (from the version's submission)
    A1    04-10 17:00  04-09 12:00 on time   approved v1 04-10 12:00 (24 h)        first pass
    A2    04-15 17:00  04-16 12:00 LATE      changes 04-17 12:00 (24 h); v2 04-18 12:00;
                                             approved v2 04-20 00:00 (36 h)
    A3    05-01 17:00  05-01 16:00 on time   changes 05-01 22:00 (6 h); v2 05-02 10:00;
                                             changes 05-03 10:00 (24 h); v3 05-04 10:00;
                                             approved v3 05-04 20:00 (10 h)
    A4    07-05 17:00  06-29 12:00 on time   (still in review)
    A5    04-05 17:00  04-01 03:00 = 31 Mar 23:00 in New York: BEFORE the period;
                                             approved v1 04-02 12:00 (33 h)        first pass
    A6    07-02 17:00  07-01 02:00 = 30 Jun 22:00 in New York: IN the period, on time

    On-time delivery: v1 in the period = A1 A2 A3 A4 A6 → 4 of 5 on time = 80.0 %
    First-pass approval: first sign-off in the period = A1 A2 A3 A5 → A1, A5 = 2 of 4 = 50.0 %
    Rounds: 3 "changes" decisions over 4 tasks with a decision (A1 A2 A3 A5) = 0.75
    Turnaround: 24, 24, 36, 6, 24, 10, 33 → sorted 6 10 24 24 24 33 36 → median 24.0 h
    Cost per task (A1 A2 A3 A5): A1 8 actual h × 40 = 320; A2 5 estimated h × 40 = 200;
        A3 12 actual h × 40 = 480; A5 2 estimated h × 40 = 80 → 1,080 / 4 = 270.00 USD

Vendor B ("Bayanihan Review Partners", EUR; coding 2.00/doc)

    B1    05-10 17:00  05-10 18:00 LATE      approved v1 05-11 18:00 (24 h)        first pass
    B2    05-21 17:00  05-20 10:00 on time   changes 05-22 10:00 (48 h); v2 06-01 10:00;
                                             review started 06-02, superseded by v3 06-03
                                             (a superseded review is not a decision)
    B3    06-26 17:00  06-25 10:00 on time   approved 07-02 12:00: AFTER the period

    On-time: B1 B2 B3 → 2 of 3 = 66.7 %;  first pass: B1 → 1 of 1 = 100.0 %
    Rounds: 1 over 2 tasks (B1 B2) = 0.50;  turnaround 24, 48 → median 36.0 h
    Cost per task: B1 500 documents × 2.00 = 1,000.00 EUR

Vendor C ("Cebu Legal Support"): no work → no figures.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from lpo_tracker.fields import TaskType
from matters.models import Engagement, Matter, Task
from matters.services import task_assign, task_start
from supervision.reports.scorecards import COLUMNS, Period, Scorecard, scorecards_for
from supervision.services import (
    latest_submission,
    review_request_changes,
    review_start,
    signoff_record,
    submission_create,
)
from tests import factories as f
from tests.conftest import Cast
from tests.exports import body, csv_rows, xlsx_rows
from tests.vendors.builders import STANDARD_LINES, new_vendor, rate_card, vendor_manager
from vendors.models import DueDiligenceRecord, RateUnit

pytestmark = pytest.mark.django_db

Q2 = Period(dt.date(2026, 4, 1), dt.date(2026, 6, 30))
D = Decimal


def utc(month: int, day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, 0, tzinfo=dt.UTC)


def _at(moment: dt.datetime) -> time_machine.travel:
    return time_machine.travel(moment, tick=False)


@dataclass(frozen=True)
class Side:
    """Who works on one vendor's matter."""

    matter: Matter
    engagement: Engagement
    staff: Any
    vendor_user: Any
    attorney: Any


def run(side: Side, *, title: str, sla: dt.datetime, steps: list[tuple[str, dt.datetime]],
        **fields: Any) -> Task:
    """Create, assign and start a task the day before its first step, then play the steps:
    "submit" (the vendor uploads the next version), "review" (an attorney opens it),
    "changes" and "approve" (the attorney's decisions)."""
    matter, engagement, staff = side.matter, side.engagement, side.staff
    vendor_user, attorney = side.vendor_user, side.attorney
    with _at(steps[0][1] - dt.timedelta(days=1)):
        task = f.draft_task(actor=staff, matter=matter, title=title, sla_due_at=sla, **fields)
        task = task_assign(actor=staff, task=task, engagement=engagement)
        task_start(actor=vendor_user, task=task)  # type: ignore[arg-type]
    for step, moment in steps:
        with _at(moment):
            task = Task.objects.get(pk=task.pk)
            if step == "submit":
                submission_create(actor=vendor_user, task=task,  # type: ignore[arg-type]
                                  upload=f.pdf_upload(f"{title} at {moment}"))
            elif step == "review":
                review_start(actor=attorney, task=task)  # type: ignore[arg-type]
            elif step == "changes":
                review_request_changes(actor=attorney, task=task,  # type: ignore[arg-type]
                                       submission=latest_submission(task),  # type: ignore[arg-type]
                                       comments="Tag privilege on items 4-9.")
            else:
                version = latest_submission(task)
                assert version is not None
                signoff_record(actor=attorney, task=task,  # type: ignore[arg-type]
                               submission=f.opened(version, attorney),  # type: ignore[arg-type]
                               attestation_accepted=True, confirmation=f.fresh_confirmation())
    return task


@pytest.fixture
def dataset(cast: Cast) -> Cast:
    # The vendors' papers hold throughout 2026 (the factories date them from today).
    f.redate_diligence(DueDiligenceRecord.objects.all(), valid_from=dt.date(2020, 1, 1),
                       expires_on=dt.date(2030, 1, 1))
    a, b = cast.engagement_a, cast.engagement_b
    a.rate_card = rate_card(a.vendor, *STANDARD_LINES)
    a.save(update_fields=["rate_card"])
    b.rate_card = rate_card(b.vendor, (TaskType.LEGAL_CODING, RateUnit.DOCUMENT, "2.00", "6.00"),
                            currency="EUR")
    b.save(update_fields=["rate_card"])
    new_vendor(name="Cebu Legal Support")

    on_a = Side(cast.matter, a, cast.staff_on, cast.vendor_a_user, cast.attorney)
    run(on_a, title="A1", sla=utc(4, 10, 17), estimated_hours=D("10"), actual_hours=D("8"),
        steps=[("submit", utc(4, 9)), ("approve", utc(4, 10))])
    run(on_a, title="A2", sla=utc(4, 15, 17), estimated_hours=D("5"),
        steps=[("submit", utc(4, 16)), ("changes", utc(4, 17)), ("submit", utc(4, 18)),
               ("approve", utc(4, 20, 0))])
    run(on_a, title="A3", sla=utc(5, 1, 17), actual_hours=D("12"),
        steps=[("submit", utc(5, 1, 16)), ("changes", utc(5, 1, 22)),
               ("submit", utc(5, 2, 10)), ("changes", utc(5, 3, 10)),
               ("submit", utc(5, 4, 10)), ("approve", utc(5, 4, 20))])
    run(on_a, title="A4", sla=utc(7, 5, 17), steps=[("submit", utc(6, 29))])
    run(on_a, title="A5", sla=utc(4, 5, 17), estimated_hours=D("2"),
        steps=[("submit", utc(4, 1, 3)), ("approve", utc(4, 2))])
    run(on_a, title="A6", sla=utc(7, 2, 17), steps=[("submit", utc(7, 1, 2))])

    on_b = Side(cast.other_matter, b, cast.staff_off, cast.vendor_b_user, cast.attorney2)
    coding: dict[str, Any] = {"task_type": TaskType.LEGAL_CODING, "document_count": 500}
    run(on_b, **coding, title="B1", sla=utc(5, 10, 17),
        steps=[("submit", utc(5, 10, 18)), ("approve", utc(5, 11, 18))])
    run(on_b, **coding, title="B2", sla=utc(5, 21, 17),
        steps=[("submit", utc(5, 20, 10)), ("changes", utc(5, 22, 10)),
               ("submit", utc(6, 1, 10)), ("review", utc(6, 2, 10)),
               ("submit", utc(6, 3, 10))])
    run(on_b, **coding, title="B3", sla=utc(6, 26, 17),
        steps=[("submit", utc(6, 25, 10)), ("approve", utc(7, 2))])
    return cast


def _cards() -> dict[str, Scorecard]:
    return {card.vendor.name: card for card in scorecards_for(Q2)}


def test_vendor_a_figures_match_the_worked_answers(dataset: Cast) -> None:
    card = _cards()["Ashoka Legal Process"]
    assert (card.delivered, card.on_time, card.on_time_percent) == (5, 4, D("80.0"))
    assert (card.approved, card.first_pass, card.first_pass_percent) == (4, 2, D("50.0"))
    assert (card.change_rounds, card.reviewed_tasks, card.average_rounds) == (3, 4, D("0.75"))
    assert sorted(card.turnaround_hours) == [6, 10, 24, 24, 24, 33, 36]
    assert card.median_turnaround_hours == D("24.0")
    assert (card.priced_tasks, card.cost_per_task, card.currency) == (4, D("270.00"), "USD")


def test_vendor_b_figures_match_the_worked_answers(dataset: Cast) -> None:
    card = _cards()["Bayanihan Review Partners"]
    assert (card.delivered, card.on_time, card.on_time_percent) == (3, 2, D("66.7"))
    assert (card.approved, card.first_pass, card.first_pass_percent) == (1, 1, D("100.0"))
    assert (card.change_rounds, card.reviewed_tasks, card.average_rounds) == (1, 2, D("0.50"))
    assert card.median_turnaround_hours == D("36.0")
    assert (card.cost_per_task, card.currency) == (D("1000.00"), "EUR")


def test_a_vendor_without_work_has_no_figures(dataset: Cast) -> None:
    card = _cards()["Cebu Legal Support"]
    assert not card.has_activity
    assert (card.on_time_percent, card.first_pass_percent, card.average_rounds,
            card.median_turnaround_hours, card.cost_per_task) == (None,) * 5


def test_the_next_quarter_counts_what_fell_after_q2(dataset: Cast) -> None:
    card = {c.vendor.name: c for c in scorecards_for(Period(dt.date(2026, 7, 1),
                                                            dt.date(2026, 9, 30)))}
    b = card["Bayanihan Review Partners"]
    assert (b.delivered, b.approved, b.first_pass, b.median_turnaround_hours) == (
        0, 1, 1, D("170.0"))  # B3: v1 06-25 10:00 → approved 07-02 12:00 = 170 h
    assert card["Ashoka Legal Process"].delivered == 0  # A6 was 30 June in New York


def test_scorecards_cost_five_queries_however_much_data(
    dataset: Cast, django_assert_num_queries: Callable[..., Any]
) -> None:
    # 1 vendors, 2 first versions by vendor, 3 tasks first signed off (with their rate
    # cards), 4 those cards' rate lines, 5 decisions in the period.
    with django_assert_num_queries(5):
        scorecards_for(Q2)


@pytest.mark.parametrize(("today", "first", "last"), [
    (dt.date(2026, 8, 15), dt.date(2026, 4, 1), dt.date(2026, 6, 30)),
    (dt.date(2026, 1, 1), dt.date(2025, 10, 1), dt.date(2025, 12, 31)),
    (dt.date(2026, 3, 31), dt.date(2025, 10, 1), dt.date(2025, 12, 31)),
])
def test_the_default_period_is_the_last_full_quarter(today: dt.date, first: dt.date,
                                                     last: dt.date) -> None:
    assert Period.last_full_quarter(today) == Period(first, last)


# --- Pages and exports ----------------------------------------------------------------------


def client_for(user: Any) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def test_page_defaults_to_last_quarter_and_shows_the_figures(dataset: Cast) -> None:
    with _at(utc(8, 15)):
        response = client_for(vendor_manager()).get(reverse("reports:scorecards"))
    assert response.status_code == 200
    assert response.context["period"] == Q2
    page = response.content.decode()
    assert "Q2 2026" in page and "80.0%" in page and "270.00 USD" in page


def test_a_bad_period_is_a_form_error(dataset: Cast) -> None:
    response = client_for(vendor_manager()).get(
        f"{reverse('reports:scorecards')}?start=2026-06-30&end=2026-04-01")
    assert response.status_code == 400
    assert response.context["form"].errors["end"]


def test_csv_export(dataset: Cast) -> None:
    response = client_for(vendor_manager()).get(
        f"{reverse('reports:scorecards_csv')}?start=2026-04-01&end=2026-06-30")
    assert response.status_code == 200
    assert 'filename="vendor-scorecards-20260401-20260630.csv"' in response[
        "Content-Disposition"]
    rows = csv_rows(response)
    assert rows[0] == COLUMNS
    by_vendor = {row[0]: dict(zip(COLUMNS, row, strict=True)) for row in rows[1:]}
    a = by_vendor["Ashoka Legal Process"]
    assert (a["On-time delivery %"], a["First-pass approval %"], a["Average rounds of changes"],
            a["Median review turnaround (h)"], a["Cost per task"], a["Currency"]) == (
        "80.0", "50.0", "0.75", "24.0", "270.00", "USD")
    assert by_vendor["Cebu Legal Support"]["On-time delivery %"] == ""


def test_xlsx_export(dataset: Cast) -> None:
    response = client_for(vendor_manager()).get(
        f"{reverse('reports:scorecards_xlsx')}?start=2026-04-01&end=2026-06-30")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = xlsx_rows(response)
    assert list(rows[0]) == COLUMNS
    b = dict(zip(COLUMNS, next(row for row in rows if row[0] == "Bayanihan Review Partners"),
                 strict=True))
    assert (b["On-time delivery %"], b["Average rounds of changes"], b["Cost per task"],
            b["Currency"]) == (66.7, 0.5, 1000.0, "EUR")
    start = b["Period start"]
    assert isinstance(start, dt.datetime) and start.date() == dt.date(2026, 4, 1)


def test_formula_like_vendor_names_are_neutralised_in_exports() -> None:
    new_vendor(name="=HYPERLINK(\"http://evil\")")
    manager = vendor_manager()
    text = body(client_for(manager).get(reverse("reports:scorecards_csv"))).decode()
    assert "'=HYPERLINK" in text
    sheet = load_workbook(io.BytesIO(body(client_for(manager).get(
        reverse("reports:scorecards_xlsx"))))).active
    assert sheet is not None
    assert sheet["A2"].value.startswith("'=")
    assert sheet["A2"].data_type == "s"


def test_who_may_see_scorecards(cast: Cast) -> None:
    urls = [reverse("reports:scorecards"), reverse("reports:scorecards_csv"),
            reverse("reports:scorecards_xlsx")]
    for url in urls:
        assert client_for(vendor_manager("reader", perms=("view_vendor",))).get(
            url).status_code == 200
        for user, status in ((cast.staff_on, 403), (cast.attorney, 403), (cast.admin, 403),
                             (cast.vendor_a_user, 404), (cast.vendor_b_user, 404)):
            assert client_for(user).get(url).status_code == status, (url, user)
        anonymous = Client().get(url)
        assert anonymous.status_code == 302 and anonymous["Location"].startswith(
            reverse("login"))
