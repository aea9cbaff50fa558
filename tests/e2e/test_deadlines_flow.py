"""Deadlines and search in a real browser: a team member creates a task whose vendor deadline
comes from the SLA policy, moves it with a reason and sees the move in the task's history,
then finds the task from the header's search box; the firm's task templates are edited on
their page. Each new page passes axe-core with no serious or critical violation."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from matters.models import DueSource, Task, TaskTemplate
from supervision.models import SlaPolicy
from tests.conftest import Cast
from tests.e2e.conftest import Site, blocking_violations, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def accessible(page: Page, name: str) -> None:
    assert blocking_violations(page) == [], name
    screenshot(page, name)


def test_a_task_due_by_policy_is_moved_with_a_reason_and_found_by_search(
    site: Site, e2e_cast: Cast
) -> None:
    cast = e2e_cast
    SlaPolicy.objects.all().delete()
    SlaPolicy.objects.create(name="Standard turnaround", turnaround_business_hours=16)
    team = site.signed_in(cast.staff_on)

    # 1. A new task with the vendor due date left empty: the policy sets it.
    site.go(team, "matters:task_create", cast.matter.pk)
    expect(team.get_by_text("Standard turnaround", exact=False).first).to_be_visible()
    accessible(team, "task-create-policy-default")
    team.locator("#id_title").fill("Privilege log for custodians")
    team.get_by_role("button", name="Save draft").click()
    expect(team.locator(".message--success")).to_contain_text("Privilege log for custodians")
    task = Task.objects.get(title="Privilege log for custodians")
    assert task.sla_due_source == DueSource.POLICY

    # 2. The task page says where the deadline came from.
    site.go(team, "supervision:task_detail", task.pk)
    expect(team.locator("#sla-source")).to_contain_text("SLA policy default")
    expect(team.locator("#sla-source")).to_contain_text("Standard turnaround")

    # 3. Moving it is its own page, with a required reason.
    team.get_by_role("link", name="Move a due date…").click()
    expect(team.get_by_role("heading", level=1)).to_contain_text("Move a due date")
    accessible(team, "task-due-date")
    team.get_by_label("New due date and time").fill("2099-01-05T17:00")
    team.get_by_role("button", name="Move the due date").click()
    expect(team.locator(".field--invalid")).to_contain_text("required")
    team.get_by_label("New due date and time").fill("2099-01-05T17:00")
    team.get_by_label("Reason").fill("The client added two custodians")
    team.get_by_role("button", name="Move the due date").click()

    # 4. Back on the task: the history shows the move, the deadline is the person's.
    expect(team.locator("#sla-source")).to_contain_text("(overridden)")
    history = team.get_by_role("table").filter(has_text="The client added two custodians")
    expect(history).to_be_visible()
    expect(history).to_contain_text("5 Jan 2099, 17:00")
    accessible(team, "task-detail-moved-due-date")
    task.refresh_from_db()
    zone = ZoneInfo(cast.matter.time_zone)
    assert task.sla_due_at == dt.datetime(2099, 1, 5, 17, 0, tzinfo=zone)
    assert task.due_date_changes.get().reason == "The client added two custodians"

    # 5. The header's search finds it; the walled user finds nothing of it.
    team.get_by_label("Search matters, clients, parties, tasks and vendors").fill("privilege log")
    team.get_by_label("Search matters, clients, parties, tasks and vendors").press("Enter")
    expect(team.get_by_role("heading", name="Tasks")).to_be_visible()
    expect(team.get_by_role("link", name="Privilege log for custodians")).to_be_visible()
    accessible(team, "search-results")
    screened = site.signed_in(cast.screened)
    screened.get_by_label("Search matters, clients, parties, tasks and vendors").fill(
        "privilege log"
    )
    screened.get_by_label("Search matters, clients, parties, tasks and vendors").press("Enter")
    expect(screened.get_by_text("Nothing you may see matches")).to_be_visible()


def test_the_firm_edits_its_task_templates(site: Site, e2e_cast: Cast) -> None:
    admin = site.signed_in(e2e_cast.admin)
    admin.get_by_role("link", name="Task templates").click()
    accessible(admin, "task-templates")
    admin.get_by_role("link", name="New template").click()
    admin.get_by_label("Name").fill("Coding batch")
    admin.get_by_label("Title").fill("Legal coding batch")
    admin.get_by_label("Type of work").select_option("legal_coding")
    admin.get_by_label("Due in business days").fill("3")
    accessible(admin, "task-template-form")
    admin.get_by_role("button", name="Save").click()
    expect(admin.get_by_role("link", name="Coding batch")).to_be_visible()
    assert TaskTemplate.objects.get(name="Coding batch").due_in_business_days == 3
