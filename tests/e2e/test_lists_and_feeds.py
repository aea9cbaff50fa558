"""The staff task list, the calendar feed's page and printing, in a real browser: axe-core
finds no serious or critical violation; sorting and filtering work through htmx; the feed's
address is shown once and can be copied; a task page prints without navigation or buttons."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from matters.models import TaskStatus
from tests.conftest import Cast
from tests.e2e.conftest import Site, blocking_violations, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_task_list_sorts_filters_and_passes_axe(site: Site, e2e_cast: Cast) -> None:
    cast = e2e_cast
    now = timezone.now()
    cast.advance(cast.new_task(title="Privilege log, batch 7", task_type="legal_coding",
                               sla_due_at=now + dt.timedelta(hours=5)), TaskStatus.ASSIGNED)
    cast.advance(cast.new_task(title="Choice-of-law research memo",
                               task_type="legal_research"), TaskStatus.SUBMITTED)
    staff = site.signed_in(cast.staff_on)

    site.go(staff, "tasks:list")
    expect(staff.get_by_role("link", name="Tasks", exact=True)).to_have_attribute(
        "aria-current", "page")
    rows = staff.locator("#task-results tbody tr")
    expect(rows).to_have_count(3)
    assert blocking_violations(staff) == []
    screenshot(staff, "task-list")

    staff.locator("#task-results th a", has_text="Task").click()
    expect(staff.locator("#task-results th[aria-sort=ascending]")).to_have_count(1)
    expect(rows.first).to_contain_text("Choice-of-law research memo")

    staff.get_by_label("Task type").select_option("legal_coding")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Privilege log, batch 7")
    assert "task_type=legal_coding" in staff.url


def test_the_calendar_feed_page_shows_the_address_once(site: Site, e2e_cast: Cast) -> None:
    attorney = site.signed_in(e2e_cast.attorney)
    site.go(attorney, "calendar:settings")
    assert blocking_violations(attorney) == []
    attorney.get_by_role("button", name="Make my feed").click()
    address = attorney.get_by_label("Feed address")
    expect(address).to_be_visible()
    value = address.input_value()
    assert value.startswith(site.url + "/calendar/feed/") and value.endswith(".ics")
    expect(attorney.get_by_role("button", name="Copy address")).to_be_visible()
    assert blocking_violations(attorney) == []
    screenshot(attorney, "calendar-feed")
    ics = attorney.request.get(value)
    assert ics.status == 200 and ics.text().startswith("BEGIN:VCALENDAR")

    attorney.reload()
    expect(attorney.get_by_label("Feed address")).to_have_count(0)
    expect(attorney.get_by_role("heading", name="Your feed is on")).to_be_visible()


def test_a_task_page_prints_without_navigation_or_buttons(site: Site, e2e_cast: Cast) -> None:
    cast = e2e_cast
    task = cast.advance(cast.task, TaskStatus.ASSIGNED)
    staff = site.signed_in(cast.staff_on)
    site.go(staff, "supervision:task_detail", task.pk)
    on_screen_only = [staff.locator(".topbar"), staff.locator("nav.breadcrumbs"),
                      staff.get_by_role("button", name="Sign out")]
    for locator in on_screen_only:
        expect(locator).to_be_visible()

    staff.emulate_media(media="print")

    for locator in on_screen_only:
        expect(locator).to_be_hidden()
    expect(staff.get_by_role("heading", level=1)).to_be_visible()
    expect(staff.locator("main .panel").first).to_be_visible()
    screenshot(staff, "task-detail-print")
    assert reverse("supervision:task_detail", args=[task.pk]) in staff.url
