"""Lots, sampling, the defect log and the sign-off of sampled work, through the services and
the database: a rejected lot cannot be signed off (service, admin, SQL), work that calls for
legal judgment is never sampled, and the vendor's inspection level follows its record."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.urls import reverse

from lpo_tracker.audit.models import AuditEvent
from lpo_tracker.errors import NotEligible, RuleViolation
from matters.models import Matter, Task, TaskStatus
from supervision.models import BarAdmission, Review, SignOff, Submission
from supervision.qc import redraw
from supervision.qc.models import InspectionState, InspectionSwitch, Lot, QcResult, QcSample
from supervision.qc.services import qc_full_review_record, qc_sample_draw
from supervision.services import latest_submission, signoff_record, submission_create
from tests import factories as f
from tests.conftest import Cast
from tests.supervision.qc.helpers import (
    bulk_task,
    inspect_lot,
    manifest,
    record,
    submit_lot,
)

pytestmark = pytest.mark.django_db


def version_of(task: Task) -> Submission:
    submission = latest_submission(task)
    assert submission is not None
    return submission


def qc_of(signoff: SignOff) -> dict[str, Any]:
    assert signoff.qc_summary is not None
    return signoff.qc_summary


def after(event: AuditEvent) -> dict[str, Any]:
    assert event.after is not None
    return event.after


def sign(cast: Cast, task: Task) -> SignOff:
    task = Task.objects.get(pk=task.pk)
    return signoff_record(actor=cast.attorney, task=task,
                          submission=f.opened(version_of(task), cast.attorney),
                          attestation_accepted=True, confirmation=f.fresh_confirmation())


def test_bulk_work_declares_its_item_count(cast: Cast) -> None:
    task = bulk_task(cast)
    with pytest.raises(RuleViolation, match="declare the number of items"):
        submission_create(actor=cast.vendor_a_user, task=task, upload=f.pdf_upload())
    assert not Submission.objects.filter(task=task).exists()


def test_the_manifest_is_hashed_and_must_match_the_count(cast: Cast) -> None:
    task = bulk_task(cast)
    with pytest.raises(RuleViolation, match="lists 20 items, not 21"):
        submission_create(actor=cast.vendor_a_user, task=task, upload=f.pdf_upload(),
                          item_count=21, manifest=manifest(20))
    assert not Submission.objects.filter(task=task).exists()
    upload = manifest(20)
    expected = hashlib.sha256(upload.read()).hexdigest()
    upload.seek(0)
    submission = submission_create(actor=cast.vendor_a_user, task=task, upload=f.pdf_upload(),
                                   item_count=20, manifest=upload)
    lot = Lot.objects.get(submission=submission)
    assert lot.sampled and lot.manifest_sha256 == expected and lot.manifest_name == "manifest.csv"
    with lot.manifest.open("rb") as stored:
        assert hashlib.sha256(stored.read()).hexdigest() == expected
    event = AuditEvent.objects.filter(action="submission.created").latest("id")
    assert after(event)["lot_items"] == 20 and after(event)["manifest_sha256"] == expected


def test_the_draw_is_audited_and_the_script_redraws_it(cast: Cast) -> None:
    task = bulk_task(cast)
    submit_lot(cast, task, items=500, with_manifest=True)
    sample = qc_sample_draw(actor=cast.attorney, task=task)
    assert (sample.code_letter, sample.sample_size, sample.accept_number,
            sample.reject_number, sample.severity) == ("H", 50, 3, 4, "normal")
    event = AuditEvent.objects.get(action="qc.sample_drawn")
    assert after(event)["seed"] == str(sample.seed)
    assert after(event)["item_ids"] == sample.item_ids
    assert "Z1.4" in after(event)["plan"]
    with sample.lot.manifest.open("rb") as handle:
        population = redraw.parse_manifest(handle.read().decode())
    assert redraw.draw(population, seed=int(after(event)["seed"]), size=50) == sample.item_ids
    with pytest.raises(RuleViolation, match="already drawn"):
        qc_sample_draw(actor=cast.attorney, task=task)


def test_a_rejected_lot_cannot_be_signed_off_through_the_service(cast: Cast) -> None:
    task = bulk_task(cast)
    submit_lot(cast, task)
    with pytest.raises(NotEligible, match="checked by sampling"):
        sign(cast, task)  # no sample yet
    qc_sample_draw(actor=cast.attorney, task=task)
    result = record(cast, task, defects=4, disposition="full_review")
    assert not result.accepted and result.defects_found == 4 and result.major == 4
    with pytest.raises(NotEligible, match="QC rejected this lot"):
        sign(cast, task)
    assert Task.objects.get(pk=task.pk).status == TaskStatus.SUBMITTED
    assert not SignOff.objects.filter(task=task).exists()
    assert AuditEvent.objects.filter(action="signoff.refused").count() == 2


def test_a_full_re_review_accepts_the_lot_and_the_attestation_says_so(cast: Cast) -> None:
    task = bulk_task(cast)
    submit_lot(cast, task)
    sample = qc_sample_draw(actor=cast.attorney, task=task)
    record(cast, task, defects=5, disposition="full_review")
    with pytest.raises(RuleViolation, match="corrects at least those"):
        qc_full_review_record(actor=cast.attorney, task=task, sample=sample,
                              defects_corrected=2, notes="Fixed")
    qc_full_review_record(actor=cast.attorney, task=task, sample=sample, defects_corrected=31,
                          notes="All 500 re-coded; 31 privilege tags fixed.")
    signoff = sign(cast, task)
    assert signoff.qc_result is not None and signoff.qc_result.kind == "full_review"
    assert qc_of(signoff)["lot_size"] == 500 and qc_of(signoff)["full_review"]
    assert "re-reviewed all 500 items and corrected 31 defects" in signoff.attestation_text


def test_an_accepted_lot_is_signed_off_with_its_qc_in_the_attestation(cast: Cast) -> None:
    task = bulk_task(cast)
    submit_lot(cast, task, items=500)
    qc_sample_draw(actor=cast.attorney, task=task)
    result = record(cast, task, defects=3)
    assert result.accepted  # Ac 3
    signoff = sign(cast, task)
    assert signoff.qc_result_id == result.pk
    assert qc_of(signoff) == qc_of(signoff) | {
        "review_level": "sampled", "lot_size": 500, "sample_size": 50, "accept_number": 3,
        "reject_number": 4, "defects_found": 3, "accepted": True, "code_letter": "H"}
    text = signoff.attestation_text
    assert "lot of 500 items" in text and "50 items inspected, 3 defective" in text
    assert "Z1.4 single sampling, level II, AQL 2.5 %" in text and "accepted" in text


def test_returned_lot_goes_back_to_the_vendor_with_its_defects(cast: Cast) -> None:
    task = bulk_task(cast)
    submit_lot(cast, task)
    qc_sample_draw(actor=cast.attorney, task=task)
    record(cast, task, defects=4, internal="Vendor reviewer seems new")
    task.refresh_from_db()
    assert task.status == TaskStatus.CHANGES_REQUESTED
    review = Review.objects.get(submission__task=task, decision="changes_requested")
    assert "4 defective of 50" in review.comments
    assert "Vendor reviewer seems new" not in review.comments


def _signoff_row(cast: Cast, task: Task, **extra: object) -> dict[str, Any]:
    submission = latest_submission(task)
    assert submission is not None
    review = (Review.objects.filter(submission=submission).first()
              or Review.objects.create(submission=submission, reviewer=cast.attorney))
    from django.utils import timezone

    return {"task_id": task.pk, "submission_id": submission.pk, "review_id": review.pk,
            "attorney_id": cast.attorney.pk,
            "bar_admission_id": BarAdmission.objects.get(attorney__user=cast.attorney).pk,
            "attestation_text": "I reviewed this version.", "sha256": submission.sha256,
            "signed_at": timezone.now(), "confirmation_method": "", **extra}


def _insert(row: dict[str, Any]) -> None:
    columns = ", ".join(row)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO supervision_signoff ({columns}) VALUES "
                       f"({', '.join(['%s'] * len(row))})", list(row.values()))


def test_the_database_refuses_a_sampled_lot_signed_off_without_an_accepted_result(
    cast: Cast,
) -> None:
    task = bulk_task(cast)
    submit_lot(cast, task)
    qc_sample_draw(actor=cast.attorney, task=task)
    rejected = record(cast, task, defects=4, disposition="full_review")
    for extra in ({}, {"qc_result_id": rejected.pk}):
        with pytest.raises(DatabaseError, match="accepted QC result"), transaction.atomic():
            _insert(_signoff_row(cast, task, **extra))
    assert not SignOff.objects.filter(task=task).exists()


def test_the_database_refuses_an_accepted_result_its_defects_contradict(cast: Cast) -> None:
    task = bulk_task(cast)
    submit_lot(cast, task)
    sample = qc_sample_draw(actor=cast.attorney, task=task)
    for kind in ("sample", "full_review"):  # Re is 4; no rejected sample sent to re-review
        with pytest.raises(DatabaseError, match="contradicts its sample"), transaction.atomic():
            QcResult.objects.create(sample=sample, submission=sample.lot.submission, kind=kind,
                                    accepted=True, items_checked=50, defects_found=4,
                                    decided_by=cast.attorney)
    assert not QcResult.objects.exists()


def test_the_database_accepts_the_genuine_row_with_its_accepted_result(cast: Cast) -> None:
    task = bulk_task(cast)
    submit_lot(cast, task)
    qc_sample_draw(actor=cast.attorney, task=task)
    accepted = record(cast, task, defects=0)
    _insert(_signoff_row(cast, task, qc_result_id=accepted.pk))
    assert SignOff.objects.filter(task=task, qc_result=accepted).exists()


def test_the_admin_cannot_add_or_change_a_sign_off_or_a_qc_result(cast: Cast) -> None:
    task = bulk_task(cast)
    submit_lot(cast, task)
    qc_sample_draw(actor=cast.attorney, task=task)
    rejected = record(cast, task, defects=4, disposition="full_review")
    boss = f.superuser("qcboss")
    client = Client()
    client.force_login(boss)
    session = client.session
    session["lpo_mfa_verified"] = True
    session.save()
    row = _signoff_row(cast, task)
    for url in (reverse("admin:supervision_signoff_add"),
                reverse("admin:supervision_qcresult_add")):
        response = client.post(url, {key: str(value) for key, value in row.items()})
        assert response.status_code in (302, 403)
    change = reverse("admin:supervision_qcresult_change", args=[rejected.pk])
    client.post(change, {"accepted": "on", "disposition": ""})
    assert QcResult.objects.get(pk=rejected.pk).accepted is False
    assert not SignOff.objects.filter(task=task).exists()


def test_work_calling_for_legal_judgment_is_never_sampled(cast: Cast) -> None:
    task = cast.advance(cast.new_task(title="Memo on privilege waiver",
                                      task_type="legal_research"), TaskStatus.IN_PROGRESS)
    submission_create(actor=cast.vendor_a_user, task=task, upload=f.pdf_upload(),
                      item_count=40)
    with pytest.raises(RuleViolation, match="never sampled"):
        qc_sample_draw(actor=cast.attorney, task=task)
    # A review marked as calling for judgment is not sampled either, whatever its type.
    review = cast.advance(cast.new_task(title="Privilege calls", task_type="document_review",
                                        requires_legal_judgment=True), TaskStatus.IN_PROGRESS)
    submission_create(actor=cast.vendor_a_user, task=review, upload=f.pdf_upload(),
                      item_count=40)
    with pytest.raises(RuleViolation, match="never sampled"):
        qc_sample_draw(actor=cast.attorney, task=review)
    # The database refuses the sample row as well.
    lot = Lot.objects.get(submission__task=review)
    with pytest.raises(DatabaseError, match="never sampled"), transaction.atomic():
        QcSample.objects.create(lot=lot, plan_description="forged", method="fixed",
                                lot_size=40, sample_size=4, accept_number=0, reject_number=1,
                                seed=1, item_ids=["1", "2", "3", "4"], drawn_by=cast.attorney)
    signoff = sign(cast, task)
    assert signoff.qc_result is None and qc_of(signoff)["review_level"] == (
        "full_attorney_review")
    assert "it was not sampled; I reviewed all of it myself" in signoff.attestation_text


def test_legal_judgment_needs_an_admission_in_the_matters_jurisdiction(
    cast: Cast, settings: pytest.FixtureRequest
) -> None:
    settings.SIGNOFF_REQUIRES_JURISDICTION = False  # type: ignore[attr-defined]
    Matter.objects.filter(pk=cast.matter.pk).update(jurisdiction="New York")
    memo = cast.advance(cast.new_task(title="Research memo", task_type="legal_research"),
                        TaskStatus.IN_REVIEW)
    coding = bulk_task(cast, title="Coding")
    submit_lot(cast, coding, items=10)
    version = f.opened(version_of(memo), cast.attorney2)  # admitted in New Jersey
    with pytest.raises(NotEligible, match="no bar admission in New York"):
        signoff_record(actor=cast.attorney2, task=Task.objects.get(pk=memo.pk),
                       submission=version, attestation_accepted=True,
                       confirmation=f.fresh_confirmation())
    # New York's attorney signs, and the attestation names the jurisdiction.
    signoff = sign(cast, memo)
    assert "admitted in New York, where this matter's legal work is practised" in (
        signoff.attestation_text)


def test_the_inspection_level_switches_by_the_vendors_record(cast: Cast) -> None:
    vendor = cast.engagement_a.vendor
    outcomes = []
    for number, defects in enumerate([0, 4, 0, 5]):  # lots 2 and 4 rejected
        task = bulk_task(cast, title=f"Lot {number}")
        outcomes.append(inspect_lot(cast, task, defects=defects).accepted)
    assert outcomes == [True, False, True, False]
    state = InspectionState.objects.get(vendor=vendor, task_type="document_review")
    assert state.severity == "tightened"
    switch = InspectionSwitch.objects.get(vendor=vendor)
    assert (switch.from_severity, switch.to_severity) == ("normal", "tightened")
    assert "2 of the last 4" in switch.reason
    event = AuditEvent.objects.get(action="qc.inspection_switched")
    assert after(event)["severity"] == "tightened" and after(event)["reason"] == switch.reason
    # The next lot is drawn on tightened inspection automatically: n 50, Ac 2 / Re 3.
    task = bulk_task(cast, title="Lot 5")
    submit_lot(cast, task)
    sample = qc_sample_draw(actor=cast.attorney, task=task)
    assert (sample.severity, sample.sample_size, sample.accept_number) == ("tightened", 50, 2)
    record(cast, task, defects=0)
    for number in range(4):  # five accepted on tightened → normal
        inspect_lot(cast, bulk_task(cast, title=f"Good lot {number}"), defects=0)
    state.refresh_from_db()
    assert state.severity == "normal"
    assert list(InspectionSwitch.objects.filter(vendor=vendor).order_by("pk")
                .values_list("to_severity", flat=True)) == ["tightened", "normal"]
