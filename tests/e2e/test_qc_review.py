"""QC of a 500-item lot in a real browser: the vendor uploads the lot with its item count and
manifest; the supervising attorney draws the sample, records four defects and the lot is
rejected and goes back to the vendor, who sees its defects (never the internal notes) and
uploads the corrected lot; its sample is clean, the lot accepted and signed off with the QC
in the attestation."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import FilePayload, Page, expect

from matters.models import Task, TaskStatus
from supervision.models import SignOff
from supervision.qc.models import QcResult, QcSample
from supervision.qc.rules import defaults_ensure
from tests.conftest import Cast
from tests.e2e.conftest import Site, sample_pdf, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

MANIFEST = ("item_id\n" + "".join(f"SMITH{n:06d}\n" for n in range(1, 501))).encode()
INTERNAL = "Firm only: their reviewer missed the counsel domain list."
VENDOR_NOTE = "E-mail from outside counsel coded not privileged"


def upload_lot(page: Page, version: int) -> None:
    page.get_by_label("Work product file").set_input_files(files=FilePayload(
        name=f"smith-coding-v{version}.pdf", mimeType="application/pdf",
        buffer=sample_pdf("Custodian Smith", f"Coding export, version {version}")))
    page.get_by_label("What changed in this version").fill(
        "First lot" if version == 1 else "Corrected per QC")
    page.get_by_label("Items in this lot").fill("500")
    page.get_by_label("Manifest of item ids (optional)").set_input_files(files=FilePayload(
        name="manifest.csv", mimeType="text/csv", buffer=MANIFEST))
    page.get_by_role("button", name="Upload version").click()
    expect(page.get_by_text(f"Version {version} uploaded")).to_be_visible()


def test_qc_of_a_500_item_lot_rejected_corrected_accepted_and_signed_off(
    site: Site, e2e_cast: Cast
) -> None:
    cast = e2e_cast
    defaults_ensure()  # the defect categories, should an earlier test's flush have removed them
    task = cast.new_task(title="First-level review, custodian Smith",
                         task_type="document_review", requires_legal_judgment=False)
    task = cast.advance(task, TaskStatus.IN_PROGRESS)

    # 1. The vendor uploads the lot: 500 items and their manifest.
    vendor = site.signed_in(cast.vendor_a_user)
    site.go(vendor, "portal:task", task.pk)
    upload_lot(vendor, 1)

    # 2. The attorney draws the sample: Z1.4 level II, AQL 2.5 → code H, 50 items, Ac 3.
    attorney = site.signed_in(cast.attorney)
    site.go(attorney, "supervision:qc", task.pk)
    attorney.get_by_role("button", name="Draw the sample").click()
    expect(attorney.get_by_text("The sample is drawn")).to_be_visible()
    sample = QcSample.objects.get(lot__submission__version=1)
    assert (sample.sample_size, sample.accept_number, sample.code_letter) == (50, 3, "H")
    expect(attorney.locator("tr[data-item]")).to_have_count(50)
    expect(attorney.locator("[data-seed]")).to_have_text(str(sample.seed))

    # 3. Four defects recorded: the lot is rejected and goes back to the vendor.
    for index in range(4):
        row = attorney.locator(f'tr[data-item="{sample.item_ids[index]}"]')
        row.locator("input[value=defective]").check()
        attorney.locator(f"#item-{index}-category").select_option(label="Privilege miss")
        attorney.locator(f"#item-{index}-severity").select_option("major")
        attorney.locator(f"#item-{index}-vendor_note").fill(VENDOR_NOTE)
        attorney.locator(f"#item-{index}-internal_note").fill(INTERNAL)
    attorney.get_by_label("Returned to the vendor with the defects").check()
    screenshot(attorney, "qc-defect-log")
    attorney.get_by_role("button", name="Record the QC result").click()
    expect(attorney.locator("[data-verdict]")).to_have_text("Lot rejected")
    rejected = QcResult.objects.get()
    assert not rejected.accepted and rejected.defects_found == 4
    assert Task.objects.get(pk=task.pk).status == TaskStatus.CHANGES_REQUESTED

    # 4. The vendor sees its defects, not the internal notes, and uploads the corrected lot.
    vendor.reload()
    expect(vendor.get_by_role("table", name="Defects found in your lots")).to_be_visible()
    expect(vendor.get_by_text(sample.item_ids[0], exact=True)).to_be_visible()
    expect(vendor.get_by_text(VENDOR_NOTE).first).to_be_visible()
    assert INTERNAL not in vendor.content()
    upload_lot(vendor, 2)

    # 5. The corrected lot's sample is clean: accepted, then signed off.
    site.go(attorney, "supervision:qc", task.pk)
    attorney.get_by_role("button", name="Draw the sample").click()
    expect(attorney.locator("tr[data-item]")).to_have_count(50)
    attorney.get_by_role("button", name="Record the QC result").click()
    expect(attorney.locator("[data-verdict]")).to_have_text("Lot accepted")
    attorney.get_by_role("link", name="Go to the sign-off").click()
    attorney.wait_for_url(re.compile(rf"/tasks/{task.pk}/review/$"))
    attestation = attorney.locator("#attestation-text")
    expect(attestation).to_contain_text("Quality control: lot of 500 items")
    expect(attestation).to_contain_text("50 items inspected, 0 defective")
    attorney.get_by_label("I have read and accept the attestation").check()
    attorney.get_by_role("button", name="Approve version 2").click()
    expect(attorney.locator(".message--success")).to_contain_text("is signed off")
    signoff = SignOff.objects.get(task=task)
    assert signoff.qc_result is not None and signoff.qc_result.accepted
    assert signoff.qc_summary is not None and signoff.qc_summary["lot_size"] == 500
    assert Task.objects.get(pk=task.pk).status == TaskStatus.APPROVED
