"""The main pages in a real browser, with believable data: an axe-core scan finds no serious
or critical accessibility violation, and a screenshot of each is kept (test-artifacts/; the
dashboard and the review queue also go to docs/screenshots/ for the README)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from matters.models import Task, TaskStatus
from supervision.models import Notification, ReminderKind
from supervision.services import latest_submission, review_request_changes, submission_create
from tests.conftest import Cast
from tests.e2e.conftest import Site, blocking_violations, sample_pdf, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# (weeks ago, delivered on time, delivered late): eight weeks of SLA history for the chart.
SLA_HISTORY = [(7, 1, 0), (6, 1, 1), (5, 2, 0), (4, 1, 1), (3, 2, 0), (2, 1, 0), (1, 2, 1)]


def pdf(name: str, *lines: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, sample_pdf(*lines), content_type="application/pdf")


def with_history(cast: Cast) -> dict[str, Task]:
    """A matter in full swing: reviews waiting (some for days), tasks at risk and overdue,
    a task sent back and approved on its second version, and weeks of deliveries."""
    now = timezone.now()
    for weeks_ago, on_time, late in SLA_HISTORY:
        with time_machine.travel(now - dt.timedelta(weeks=weeks_ago), tick=False):
            moment = timezone.now()
            for n in range(on_time + late):
                due = moment + (dt.timedelta(days=2) if n < on_time else -dt.timedelta(hours=4))
                task = cast.new_task(title=f"Batch {weeks_ago}.{n} review", sla_due_at=due)
                cast.advance(task, TaskStatus.DELIVERED)
    for days_ago, title in ((8, "Board minutes 2019-2021"), (3, "Lease abstracts, tranche 2")):
        with time_machine.travel(now - dt.timedelta(days=days_ago), tick=False):
            cast.advance(cast.new_task(title=title, task_type="contract_abstraction"),
                         TaskStatus.SUBMITTED)

    waiting = cast.advance(cast.task, TaskStatus.IN_PROGRESS)
    submission_create(actor=cast.vendor_a_user, task=waiting, note="All 1,240 custodian e-mails",
                      upload=pdf("custodian-review.pdf", "Custodian e-mail review - batch 1",
                                 "1,240 documents reviewed; 37 tagged privileged.",
                                 "Hot documents: DOC-0113, DOC-0877."))
    cast.advance(cast.new_task(title="Choice-of-law research memo", task_type="legal_research",
                               priority="high"), TaskStatus.IN_REVIEW)
    cast.advance(cast.new_task(title="Privilege log, batch 7", task_type="legal_coding",
                               sla_due_at=now + dt.timedelta(hours=5)), TaskStatus.ASSIGNED)
    cast.advance(cast.new_task(title="Deposition summary - R. Ortiz",
                               task_type="deposition_summary",
                               sla_due_at=now - dt.timedelta(hours=6)), TaskStatus.IN_PROGRESS)

    revised = cast.advance(cast.new_task(
        title="Deposition summary - J. Smith", task_type="deposition_summary",
        instructions="Page-line summary of the 14 March deposition. Flag every privilege "
                     "assertion and every exhibit shown to the witness."), TaskStatus.IN_REVIEW)
    review_request_changes(actor=cast.attorney, task=revised,
                           submission=latest_submission(revised),  # type: ignore[arg-type]
                           comments="Add the exhibit numbers at 44:2-47:9.",
                           internal_notes="Otherwise solid work.")
    submission_create(actor=cast.vendor_a_user, task=Task.objects.get(pk=revised.pk),
                      note="Exhibit numbers added",
                      upload=pdf("smith-summary-v2.pdf", "Deposition of J. Smith, v2"))
    revised = cast.advance(Task.objects.get(pk=revised.pk), TaskStatus.APPROVED)

    for subject, read in (("Version 1 of “Review custodian e-mails” is waiting for review", False),
                          ("Review of “Board minutes 2019-2021” is overdue", False),
                          ("“Privilege log, batch 7” is due in 5 hours", True)):
        Notification.objects.create(
            user=cast.attorney, kind=ReminderKind.REVIEW_WAITING, subject=subject,
            url=reverse("supervision:review_queue"), read_at=now if read else None)
    return {"waiting": Task.objects.get(pk=waiting.pk), "revised": revised}


def test_main_pages_have_no_serious_accessibility_violations(site: Site, e2e_cast: Cast) -> None:
    cast = e2e_cast
    tasks = with_history(cast)
    found: dict[str, list[str]] = {}

    attorney = site.signed_in(cast.attorney)
    site.go(attorney, "supervision:dashboard")
    expect(attorney.get_by_role("img", name="SLA compliance by week")).to_be_visible()
    found["dashboard"] = blocking_violations(attorney)
    screenshot(attorney, "dashboard", for_readme=True)

    site.go(attorney, "supervision:review_queue")
    attorney.keyboard.press("j")
    expect(attorney.locator("#review-queue tbody tr.is-selected")).to_have_count(1)
    found["review queue"] = blocking_violations(attorney)
    screenshot(attorney, "review-queue", for_readme=True)

    site.go(attorney, "supervision:review", tasks["waiting"].pk)
    expect(attorney.locator("iframe.doc-frame")).to_be_visible()
    attorney.wait_for_timeout(1500)  # let the PDF viewer paint before the screenshot
    found["review page"] = blocking_violations(attorney)
    screenshot(attorney, "review-page")

    site.go(attorney, "supervision:notifications")
    found["notifications"] = blocking_violations(attorney)

    staff = site.signed_in(cast.staff_on)
    site.go(staff, "supervision:task_detail", tasks["revised"].pk)
    expect(staff.get_by_text("Add the exhibit numbers")).to_be_visible()
    found["task detail"] = blocking_violations(staff)
    screenshot(staff, "task-detail")

    site.go(staff, "matters:list")
    expect(staff.get_by_text(cast.matter.number).first).to_be_visible()
    found["matter list"] = blocking_violations(staff)
    screenshot(staff, "matter-list")

    vendor = site.signed_in(cast.vendor_a_user)
    site.go(vendor, "supervision:task_detail", tasks["revised"].pk)
    found["task detail (vendor)"] = blocking_violations(vendor)

    assert {page: problems for page, problems in found.items() if problems} == {}
