"""The vendor portal in a real browser: a vendor user signs in, finds the task in the portal,
starts it, uploads a version, and after the supervising attorney requests changes, reads the
attorney's comments there (and never the attorney's internal notes)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from playwright.sync_api import FilePayload, expect

from matters.models import Task, TaskStatus
from supervision.models import Submission
from supervision.services import latest_submission, review_request_changes
from tests.conftest import Cast
from tests.e2e.conftest import Site, blocking_violations, sample_pdf, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

COMMENTS = "Items 4-9 are privileged: tag them and add them to the log."
INTERNAL = "Firm only: consider a second reviewer on this vendor."


def test_vendor_uploads_in_the_portal_and_reads_the_attorneys_comments(
    site: Site, e2e_cast: Cast
) -> None:
    cast = e2e_cast
    task = cast.new_task(title="First-level privilege review, custodian 7",
                         instructions="Code every document; flag anything from counsel.")
    task = cast.advance(task, TaskStatus.ASSIGNED)

    # 1. The vendor signs in and finds the task in the portal.
    page = site.signed_in(cast.vendor_a_user)
    site.go(page, "portal:tasks")
    expect(page.get_by_role("heading", name=f"Tasks for {cast.engagement_a.vendor.name}")
           ).to_be_visible()
    expect(page.get_by_text(cast.matter.number)).to_be_visible()
    assert cast.matter.client.name not in page.content()
    page.get_by_role("link", name=task.title).click()
    page.wait_for_url(re.compile(rf"/portal/tasks/{task.pk}/$"))
    expect(page.get_by_text("flag anything from counsel")).to_be_visible()

    # 2. Start work, then upload a version (through the progress-bar script).
    page.get_by_role("button", name="Start work").click()
    expect(page.get_by_text("has started")).to_be_visible()
    page.locator("input[type=file]").set_input_files(files=FilePayload(
        name="custodian-7-coding.pdf", mimeType="application/pdf",
        buffer=sample_pdf("Custodian 7", "Documents coded: 1,204"),
    ))
    page.get_by_label("What changed in this version").fill("All 1,204 documents coded")
    page.get_by_role("button", name="Upload version").click()
    expect(page.get_by_text("Version 1 uploaded")).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("custodian-7-coding.pdf"))).to_be_visible()
    submission = Submission.objects.get(task=task)
    assert (submission.version, submission.submitted_by_id) == (1, cast.vendor_a_user.pk)
    assert Task.objects.get(pk=task.pk).status == TaskStatus.SUBMITTED

    # 3. The supervising attorney sends it back (through the service).
    review_request_changes(actor=cast.attorney, task=Task.objects.get(pk=task.pk),  # type: ignore[arg-type]
                           submission=latest_submission(task),  # type: ignore[arg-type]
                           comments=COMMENTS, internal_notes=INTERNAL)

    # 4. The vendor reads the comments, and only the comments.
    page.reload()
    expect(page.get_by_text("The supervising attorney asked for changes.")).to_be_visible()
    comments = page.locator("#comments")
    expect(comments).to_contain_text(COMMENTS)
    expect(comments).to_contain_text("Changes requested")
    assert INTERNAL not in page.content()
    assert cast.attorney.get_full_name() not in page.content()
    expect(page.get_by_role("button", name="Upload version")).to_be_visible()
    assert blocking_violations(page) == []
    screenshot(page, "portal-task-changes-requested")

    # 5. Another vendor's user cannot open the task at all.
    other = site.signed_in(cast.vendor_b_user)
    response = other.goto(site.url + reverse("portal:task", args=[task.pk]))
    assert response is not None and response.status == 404
