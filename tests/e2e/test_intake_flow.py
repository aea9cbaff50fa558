"""A matter's whole life from the staff pages, in a real browser: the risk manager adds a
client, opens a matter with parties (seeing a conflict hit before saving), engages a vendor
from the matter page, adds a supervising attorney and a team member, screens that team
member, who then sees nothing of the matter; the task is delivered (driven by the services:
task pages are tested elsewhere), the engagement ended and the matter closed. Each new page
passes axe-core with no serious or critical violation; the intake page's screenshot goes to
the README."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from lpo_tracker.clock import firm_today
from matters.models import Engagement, Matter, MatterStatus, Task, TaskStatus
from matters.services import (
    engagement_record_conflict_check,
    engagement_record_consent,
    task_create,
)
from tests import factories as f
from tests.conftest import Cast
from tests.e2e.conftest import Site, blocking_violations, screenshot
from vendors.models import ConflictDeclaration

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def accessible(page: Page, name: str, *, for_readme: bool = False) -> None:
    assert blocking_violations(page) == [], name
    screenshot(page, name, for_readme=for_readme)


def confirm(page: Page) -> None:
    expect(page.get_by_role("heading", level=1)).to_contain_text("?")
    accessible(page, "people-confirm")
    page.get_by_role("button", name="Confirm").click()


def test_risk_manager_runs_a_matter_from_intake_to_closing(site: Site, e2e_cast: Cast) -> None:
    cast = e2e_cast
    vendor = cast.engagement_a.vendor
    ConflictDeclaration.objects.create(vendor=vendor, party_name="Initrode Limited",
                                       relationship="former employer of a reviewer")
    risk = site.signed_in(cast.admin)

    # 1. A new client, from the navigation.
    risk.get_by_role("link", name="Clients").click()
    accessible(risk, "clients-list")
    risk.get_by_role("link", name="New client").first.click()
    risk.locator("#id_name").fill("Umbrella Pharma Inc.")
    risk.locator("#id_code").fill("UMB")
    risk.locator("#id_country").fill("US")
    accessible(risk, "client-form")
    risk.get_by_role("button", name="Save").click()
    expect(risk.get_by_role("heading", level=1)).to_have_text("Umbrella Pharma Inc.")
    accessible(risk, "client-detail")

    # 2. Intake: the parties are searched before the matter exists.
    risk.get_by_role("link", name="New matter").first.click()
    risk.locator("#id_client").select_option(label="Umbrella Pharma Inc.")
    risk.locator("#id_title").fill("Umbrella v. Initech: trade-secret litigation")
    risk.locator("#id_responsible_attorney").select_option(
        label=cast.attorney.get_full_name())
    risk.locator("#id_holiday_country").fill("US")
    risk.locator("#id_holiday_subdivision").select_option("NY")
    risk.get_by_label("Party 1: name").fill("Initech Holdings Inc.")
    risk.get_by_label("Party 1: also known as (separated by semicolons)").fill("Initrode Ltd")
    risk.get_by_role("button", name="Check conflicts").first.click()
    results = risk.locator("#conflict-results")
    expect(results).to_contain_text("1 possible conflict")
    expect(results).to_contain_text("Initrode Limited")
    assert not Matter.objects.filter(title__startswith="Umbrella v. Initech").exists()
    accessible(risk, "intake", for_readme=True)
    risk.get_by_role("button", name="Open the matter").click()
    risk.wait_for_url(re.compile(r"/matters/\d+/$"))
    matter = Matter.objects.get(title="Umbrella v. Initech: trade-secret litigation")
    expect(risk.locator("#parties")).to_contain_text("Initrode Ltd")

    # 3. Engage the vendor from the matter page (the rate card list is the vendor's own).
    risk.locator("main").get_by_role("link", name="Engage a vendor").first.click()
    risk.locator("#id_vendor").select_option(label=vendor.name)
    risk.locator("#id_scope").fill("First-level review of the custodians' e-mail")
    risk.get_by_role("button", name="Engage").click()
    risk.wait_for_url(re.compile(r"/engagements/\d+/"))
    engagement = Engagement.objects.get(matter=matter, vendor=vendor)

    # 4. People: a supervising attorney and a team member, each confirmed.
    site.go(risk, "matters:people", matter.pk)
    accessible(risk, "people")
    risk.locator("#member-user").select_option(label=cast.attorney2.get_full_name())
    risk.locator("#member-role").select_option("supervising_attorney")
    risk.get_by_role("button", name="Add…").click()
    confirm(risk)
    expect(risk.locator("#supervisors")).to_contain_text(cast.attorney2.get_full_name())
    risk.locator("#member-user").select_option(label=cast.staff_off.get_full_name())
    risk.locator("#member-role").select_option("team")
    risk.get_by_role("button", name="Add…").click()
    confirm(risk)
    expect(risk.locator("#team")).to_contain_text(cast.staff_off.get_full_name())

    # 5. ...and then a wall screening that team member.
    risk.locator("#wall-user").select_option(label=cast.staff_off.get_full_name())
    risk.locator("#wall-reason").fill("Joined from counsel to Initech in 2025")
    risk.get_by_role("button", name="Put up the wall…").click()
    confirm(risk)
    expect(risk.locator("#walls")).to_contain_text("Joined from counsel to Initech in 2025")

    screened = site.signed_in(cast.staff_off)
    site.go(screened, "matters:list")
    expect(screened.locator("main")).not_to_contain_text(matter.number)
    response = screened.goto(site.url + f"/matters/{matter.pk}/")
    assert response is not None and response.status == 404
    site.go(screened, "supervision:notifications")
    expect(screened.locator("main")).to_contain_text("An ethical wall now screens you")
    expect(screened.locator("main")).not_to_contain_text(matter.number)

    # 6. The work is done: cleared, consented, delivered (the services drive the task).
    # Clearing despite the search's hit is for the conflicts committee (docs/rules.md, 2).
    cast.admin.user_permissions.add(*f.permissions("clear_conflicts"))
    conflicts_officer = type(cast.admin).objects.get(pk=cast.admin.pk)
    engagement = engagement_record_conflict_check(actor=conflicts_officer,
                                                  engagement=engagement,
                                                  result="cleared", notes="Hit reviewed")
    engagement = engagement_record_consent(actor=cast.admin, engagement=engagement,
                                           given_by="GC", given_on=firm_today(),
                                           scope="E-mail review",
                                           evidence=f.pdf_upload(name="consent.pdf"))
    task = task_create(actor=cast.admin, matter=matter, title="Custodian review",
                       task_type="document_review",
                       sla_due_at=timezone.now() + dt.timedelta(days=3))
    f.advance(task, TaskStatus.DELIVERED, staff=cast.admin, engagement=engagement,
              vendor_actor=cast.vendor_a_user, attorney_actor=cast.attorney)
    assert Task.objects.get(pk=task.pk).status == TaskStatus.DELIVERED

    # 7. Close: refused while the engagement runs, then done.
    site.go(risk, "matters:close", matter.pk)
    accessible(risk, "close")
    risk.get_by_role("button", name="Close the matter").click()
    expect(risk.locator("main")).to_contain_text("is still active")
    site.go(risk, "engagements:end", engagement.pk)
    risk.locator("#end-reason").fill("Review complete")
    risk.get_by_role("button", name="End the engagement").click()
    site.go(risk, "matters:close", matter.pk)
    risk.get_by_role("button", name="Close the matter").click()
    expect(risk.locator("main")).to_contain_text(f"Matter {matter.number} is closed.")
    assert Matter.objects.get(pk=matter.pk).status == MatterStatus.CLOSED


def test_engage_a_vendor_from_the_navigation(site: Site, e2e_cast: Cast) -> None:
    cast = e2e_cast
    staff = site.signed_in(cast.staff_on)
    staff.get_by_role("link", name="Engage a vendor").click()
    accessible(staff, "engagement-start")
    staff.get_by_role("link", name=f"Engage a vendor on {cast.matter.number}").click()
    expect(staff.get_by_role("heading", level=1)).to_have_text(
        f"Engage a vendor on {cast.matter.number}")
