"""End to end in a real browser: a task is created and assigned by the matter team, the
vendor uploads work product, and a supervising attorney approves it (from the review queue,
with the keyboard alone) or sends it back for changes first."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import FilePayload, Page, expect

from matters.models import Task, TaskStatus
from supervision.models import SignOff
from tests.conftest import Cast
from tests.e2e.conftest import Site, sample_pdf, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PDF = sample_pdf("Deposition of J. Smith - page-line summary",
                 "12:4-13:2  Witness identifies the March memo.")


def upload(page: Page, name: str, body: bytes, mime: str, note: str) -> None:
    page.locator("input[type=file]").set_input_files(
        files=FilePayload(name=name, mimeType=mime, buffer=body)
    )
    page.get_by_label("What changed in this version").fill(note)
    page.get_by_role("button", name="Upload version").click()


def test_created_assigned_uploaded_approved_by_keyboard_and_delivered(
    site: Site, e2e_cast: Cast
) -> None:
    cast = e2e_cast
    vendor_name = cast.engagement_a.vendor.name

    # 1. The matter team drafts the task on the matter's page and assigns it.
    staff = site.signed_in(cast.staff_on)
    site.go(staff, "matters:task_create", cast.matter.pk)
    staff.locator("#id_title").fill("Summarise the deposition of J. Smith")
    staff.locator("#id_task_type").select_option("deposition_summary")
    staff.locator("#id_instructions").fill("Page-line summary; flag every privilege assertion.")
    due = timezone.localtime(timezone.now() + dt.timedelta(days=5), ZoneInfo(cast.matter.time_zone))
    staff.locator("#id_sla_due_at").fill(due.strftime("%Y-%m-%dT%H:%M"))
    staff.get_by_role("button", name="Save and assign").click()
    staff.get_by_label(vendor_name).check()
    staff.get_by_role("button", name="Assign", exact=True).click()
    staff.wait_for_url(re.compile(r"/tasks/(\d+)/$"))
    task = Task.objects.get(title="Summarise the deposition of J. Smith")
    assert task.status == TaskStatus.ASSIGNED

    # 2. The vendor opens the task, starts it and uploads the work product.
    vendor = site.signed_in(cast.vendor_a_user)
    site.go(vendor, "supervision:task_detail", task.pk)
    expect(vendor.get_by_text("flag every privilege assertion")).to_be_visible()
    vendor.get_by_role("button", name="Start work").click()
    expect(vendor.get_by_text("has started")).to_be_visible()
    upload(vendor, "smith-deposition-summary.pdf", PDF, "application/pdf", "Complete summary")
    expect(vendor.get_by_text("Version 1 uploaded")).to_be_visible()
    screenshot(vendor, "flow-task-detail-vendor")
    assert Task.objects.get(pk=task.pk).status == TaskStatus.SUBMITTED

    # 3. The attorney approves from the review queue with the keyboard only:
    #    j selects the first task, a opens its sign-off form, Tab reaches the attestation,
    #    Space ticks it, Enter signs.
    attorney = site.signed_in(cast.attorney)
    site.go(attorney, "supervision:review_queue")
    row = attorney.locator("#review-queue tbody tr").first
    expect(row).to_contain_text(task.title)
    attorney.keyboard.press("j")
    expect(row).to_have_class(re.compile(r"\bis-selected\b"))
    expect(row).to_have_attribute("aria-selected", "true")
    expect(row).to_be_focused()
    attorney.keyboard.press("a")
    attorney.wait_for_url(re.compile(r"/review/#approve$"))
    expect(attorney.locator("#approve")).to_be_focused()
    attestation = attorney.get_by_label("I have read and accept the attestation")
    attorney.keyboard.press("Tab")
    expect(attestation).to_be_focused()
    attorney.keyboard.press("Space")
    expect(attestation).to_be_checked()
    attorney.keyboard.press("Enter")
    expect(attorney.locator(".message--success")).to_contain_text("is signed off")
    signoff = SignOff.objects.get(task=task)
    assert signoff.attorney_id == cast.attorney.pk
    expect(attorney.get_by_text(signoff.sha256, exact=True)).to_be_visible()

    # 4. The team delivers the signed-off version to the client.
    staff.reload()
    staff.once("dialog", lambda dialog: dialog.accept())
    staff.get_by_role("button", name="Deliver to client").click()
    expect(staff.get_by_text("was delivered to the client")).to_be_visible()
    assert Task.objects.get(pk=task.pk).status == TaskStatus.DELIVERED


def test_changes_requested_then_new_version_uploaded_and_approved(
    site: Site, e2e_cast: Cast
) -> None:
    cast = e2e_cast
    task = cast.advance(cast.task, TaskStatus.SUBMITTED)

    # 1. The attorney sends it back: c from the queue lands in the comments box.
    attorney = site.signed_in(cast.attorney)
    site.go(attorney, "supervision:review_queue")
    # Shortcuts are ignored while a form field has the focus.
    attorney.get_by_label("Task type").focus()
    attorney.keyboard.press("j")
    expect(attorney.locator("#review-queue tr.is-selected")).to_have_count(0)
    attorney.evaluate("document.activeElement.blur()")
    attorney.keyboard.press("j")
    attorney.keyboard.press("c")
    attorney.wait_for_url(re.compile(r"/review/#id_changes-comments$"))
    comments = attorney.get_by_label("What must change")
    expect(comments).to_be_focused()
    attorney.keyboard.type("Tag privilege on items 4-9 and add the Bates ranges.")
    attorney.get_by_label("Internal notes").fill("Second slip this month; raise at the QBR.")
    attorney.get_by_role("button", name="Send back to the vendor").click()
    expect(attorney.get_by_text("Changes requested on")).to_be_visible()
    assert Task.objects.get(pk=task.pk).status == TaskStatus.CHANGES_REQUESTED

    # 2. The vendor reads the comments (never the internal notes) and uploads version 2.
    vendor = site.signed_in(cast.vendor_a_user)
    site.go(vendor, "supervision:task_detail", task.pk)
    expect(vendor.get_by_text("add the Bates ranges")).to_be_visible()
    expect(vendor.get_by_text("Second slip this month")).to_have_count(0)
    upload(vendor, "privilege-log.txt", b"Item 4: privileged (AC)\nItem 5: privileged (WP)\n",
           "text/plain", "Privilege tags and Bates ranges added")
    expect(vendor.get_by_text("Version 2 uploaded")).to_be_visible()

    # 3. A second supervising attorney reads version 2 on the review page and approves it.
    reviewer = site.signed_in(cast.attorney2)
    site.go(reviewer, "supervision:review", task.pk)
    expect(reviewer.locator("pre.doc-text")).to_contain_text("Item 5: privileged (WP)")
    screenshot(reviewer, "flow-review-page-text")
    reviewer.get_by_label("I have read and accept the attestation").check()
    reviewer.get_by_role("button", name="Approve version 2").click()
    expect(reviewer.locator(".message--success")).to_contain_text("Version 2 of")
    signoff = SignOff.objects.select_related("submission").get(task=task)
    assert signoff.submission.version == 2
    assert signoff.attorney_id == cast.attorney2.pk
    assert Task.objects.get(pk=task.pk).status == TaskStatus.APPROVED
