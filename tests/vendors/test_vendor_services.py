"""The vendor services directly: lifecycle with reasons, due-diligence records with evidence,
revocation, conflicts declared by vendor staff, rate cards. Each write is audited in the same
transaction, and only the firm's vendor managers (or, for declarations, the vendor's own
people) may make it."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from lpo_tracker.audit.models import AuditEvent
from lpo_tracker.clock import firm_today
from lpo_tracker.errors import InvalidTransition, NotEligible, RuleViolation
from lpo_tracker.fields import TaskType
from tests import factories as f
from tests.vendors.builders import evidence_pdf, new_vendor, plain_user, vendor_manager
from vendors.models import (
    ConflictDeclaration,
    DiligenceKind,
    DueDiligenceRecord,
    RateUnit,
    VendorStatus,
    VendorUser,
)
from vendors.services import (
    conflict_declaration_add,
    diligence_evidence_open,
    diligence_record_add,
    diligence_record_revoke,
    rate_card_create,
    rate_card_line_add,
    vendor_assignment_blockers,
    vendor_create,
    vendor_set_status,
)

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 5, 4)


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


def after(event: AuditEvent) -> dict[str, Any]:
    return event.after or {}


# --- Lifecycle ------------------------------------------------------------------------------


def test_a_new_vendor_starts_prospective_and_is_audited() -> None:
    manager = vendor_manager()
    vendor = vendor_create(actor=manager, name="Kalinga Legal", headquarters_country="ph",
                           countries=["PH"], time_zone="Asia/Manila")
    assert vendor.status == VendorStatus.PROSPECTIVE
    assert vendor.headquarters_country == "PH"
    [event] = events("vendor.created")
    assert event.actor_id == manager.pk and after(event)["name"] == "Kalinga Legal"


def test_only_vendor_managers_add_vendors() -> None:
    with pytest.raises(NotEligible):
        vendor_create(actor=plain_user("plain"), name="X", headquarters_country="IN")


def test_lifecycle_walks_to_approved_with_a_reason_for_every_step() -> None:
    manager = vendor_manager()
    vendor = vendor_create(actor=manager, name="Kalinga Legal", headquarters_country="PH")
    vendor = vendor_set_status(actor=manager, vendor=vendor, status=VendorStatus.UNDER_REVIEW,
                               reason="Questionnaire received")
    vendor = vendor_set_status(actor=manager, vendor=vendor, status=VendorStatus.APPROVED,
                               reason="References checked")
    assert vendor.status == VendorStatus.APPROVED
    assert [((e.before or {})["status"], after(e)["status"], after(e)["reason"])
            for e in events("vendor.status_changed")] == [
        ("prospective", "under_review", "Questionnaire received"),
        ("under_review", "approved", "References checked"),
    ]


def test_lifecycle_refuses_a_missing_reason_and_an_illegal_move() -> None:
    manager = vendor_manager()
    vendor = vendor_create(actor=manager, name="Kalinga Legal", headquarters_country="PH")
    with pytest.raises(RuleViolation, match="reason"):
        vendor_set_status(actor=manager, vendor=vendor, status=VendorStatus.UNDER_REVIEW,
                          reason="  ")
    with pytest.raises(InvalidTransition):
        vendor_set_status(actor=manager, vendor=vendor, status=VendorStatus.APPROVED,
                          reason="Skipping review")
    vendor.refresh_from_db()
    assert vendor.status == VendorStatus.PROSPECTIVE


# --- Due diligence --------------------------------------------------------------------------


def test_diligence_record_keeps_the_evidence_and_its_sha256() -> None:
    manager = vendor_manager()
    vendor = new_vendor()
    upload = evidence_pdf()
    expected = hashlib.sha256(upload.read()).hexdigest()
    upload.seek(0)
    record = diligence_record_add(
        actor=manager, vendor=vendor, kind=DiligenceKind.NDA, valid_from=TODAY,
        expires_on=TODAY + dt.timedelta(days=365), evidence=upload, reference="NDA-7",
    )
    record.refresh_from_db()
    assert record.evidence_sha256 == expected
    assert record.evidence_name == "nda.pdf"
    assert record.recorded_by_id == manager.pk
    assert hashlib.sha256(record.evidence.open("rb").read()).hexdigest() == expected
    assert record.evidence.name.startswith(f"diligence/{vendor.pk}/")
    [event] = events("diligence.recorded")
    assert after(event)["evidence_sha256"] == expected and event.object_id == str(record.pk)


@pytest.mark.parametrize(("upload", "code"), [
    (None, "evidence_required"),
    (SimpleUploadedFile("nda.pdf", b"not a pdf at all"), "bad_content"),
    (SimpleUploadedFile("nda.exe", b"MZ\x90\x00"), "bad_type"),
    (SimpleUploadedFile("nda.pdf", b""), "empty"),
])
def test_diligence_without_good_evidence_is_refused_and_nothing_is_kept(
    upload: SimpleUploadedFile | None, code: str, _private_media: object
) -> None:
    with pytest.raises(RuleViolation) as caught:
        diligence_record_add(actor=vendor_manager(), vendor=new_vendor(),
                             kind=DiligenceKind.NDA, valid_from=TODAY,
                             expires_on=TODAY + dt.timedelta(days=30), evidence=upload)
    assert caught.value.code == code
    assert not DueDiligenceRecord.objects.exists()
    assert not events("diligence.recorded")


def test_diligence_dates_must_be_in_order_and_insurance_needs_coverage() -> None:
    manager, vendor = vendor_manager(), new_vendor()
    with pytest.raises(RuleViolation, match="cannot expire before"):
        diligence_record_add(actor=manager, vendor=vendor, kind=DiligenceKind.NDA,
                             valid_from=TODAY, expires_on=TODAY - dt.timedelta(days=1),
                             evidence=evidence_pdf())
    with pytest.raises(RuleViolation, match="coverage"):
        diligence_record_add(actor=manager, vendor=vendor, kind=DiligenceKind.INSURANCE,
                             valid_from=TODAY, expires_on=TODAY + dt.timedelta(days=1),
                             evidence=evidence_pdf())
    assert not DueDiligenceRecord.objects.exists()


def test_a_failed_diligence_write_removes_the_stored_file(
    monkeypatch: pytest.MonkeyPatch, _private_media: object
) -> None:
    from pathlib import Path

    import vendors.services

    def broken(**kwargs: object) -> None:
        raise RuntimeError("audit store down")

    def stored() -> set[Path]:
        return {path for path in Path(str(_private_media)).rglob("*") if path.is_file()}

    before = stored()
    monkeypatch.setattr(vendors.services, "audit_record", broken)
    with pytest.raises(RuntimeError):
        diligence_record_add(actor=vendor_manager(), vendor=new_vendor(),
                             kind=DiligenceKind.NDA, valid_from=TODAY,
                             expires_on=TODAY + dt.timedelta(days=30), evidence=evidence_pdf())
    assert not DueDiligenceRecord.objects.exists()
    assert stored() == before


def test_only_vendor_managers_record_diligence_and_vendor_users_never() -> None:
    vendor = new_vendor()
    vendor_user = f.vendor_user(vendor, "vendor_person")
    for actor in (plain_user("plain"), vendor_user):
        with pytest.raises(NotEligible):
            diligence_record_add(actor=actor, vendor=vendor, kind=DiligenceKind.NDA,
                                 valid_from=TODAY, expires_on=TODAY, evidence=evidence_pdf())


def test_revoking_a_record_blocks_new_work_at_once_and_is_audited() -> None:
    manager = vendor_manager()
    vendor = f.vetted_vendor()
    today = firm_today()
    assert vendor_assignment_blockers(vendor, day=today) == []
    nda = DueDiligenceRecord.objects.get(vendor=vendor, kind=DiligenceKind.NDA)
    diligence_record_revoke(actor=manager, record=nda, reason="Agreement terminated")
    assert any("non-disclosure" in b for b in vendor_assignment_blockers(vendor, day=today))
    [event] = events("diligence.revoked")
    assert after(event)["reason"] == "Agreement terminated"
    with pytest.raises(InvalidTransition):
        diligence_record_revoke(actor=manager, record=nda, reason="Again")
    with pytest.raises(RuleViolation, match="why"):
        diligence_record_revoke(actor=manager, record=DueDiligenceRecord.objects.get(
            vendor=vendor, kind=DiligenceKind.SOC2_TYPE2), reason="")


def test_opening_evidence_is_for_managers_and_audited() -> None:
    manager = vendor_manager()
    record = diligence_record_add(actor=manager, vendor=new_vendor(),
                                  kind=DiligenceKind.NDA, valid_from=TODAY,
                                  expires_on=TODAY, evidence=evidence_pdf())
    with diligence_evidence_open(actor=manager, record=record) as handle:
        assert handle.read().startswith(b"%PDF-")
    assert len(events("diligence.evidence_downloaded")) == 1
    reader = vendor_manager("reader", perms=("view_vendor",))
    diligence_evidence_open(actor=reader, record=record).close()
    with pytest.raises(NotEligible):
        diligence_evidence_open(actor=plain_user("plain"), record=record)


# --- Conflict declarations ------------------------------------------------------------------


def test_vendor_staff_declare_their_own_conflicts_only() -> None:
    vendor_a, vendor_b = new_vendor(), new_vendor()
    person = f.vendor_user(vendor_a, "analyst")
    declaration = conflict_declaration_add(actor=person, vendor=vendor_a,
                                           party_name="Globex Corporation",
                                           relationship="Former employer")
    assert declaration.declared_by == VendorUser.objects.get(user=person)
    assert after(events("vendor.conflict_declared")[0])["party_name"] == "Globex Corporation"
    with pytest.raises(NotEligible):
        conflict_declaration_add(actor=person, vendor=vendor_b, party_name="Initech",
                                 relationship="Client")
    assert ConflictDeclaration.objects.filter(vendor=vendor_b).count() == 0


def test_managers_record_declarations_for_a_vendor_and_its_own_people_only() -> None:
    manager = vendor_manager()
    vendor_a, vendor_b = new_vendor(), new_vendor()
    outsider = VendorUser.objects.get(user=f.vendor_user(vendor_b, "outsider"))
    with pytest.raises(RuleViolation, match="does not work for"):
        conflict_declaration_add(actor=manager, vendor=vendor_a, party_name="Initech",
                                 relationship="Client", declared_by=outsider)
    declaration = conflict_declaration_add(actor=manager, vendor=vendor_a,
                                           party_name="Initech", relationship="Client")
    assert declaration.declared_by is None
    with pytest.raises(NotEligible):
        conflict_declaration_add(actor=plain_user("plain"), vendor=vendor_a,
                                 party_name="Initech", relationship="Client")


# --- Rate cards -----------------------------------------------------------------------------


def test_rate_cards_and_lines_are_created_validated_and_audited() -> None:
    manager = vendor_manager()
    vendor = new_vendor()
    card = rate_card_create(actor=manager, vendor=vendor, name="2026", currency="eur",
                            effective_from=TODAY)
    assert card.currency == "EUR"
    line = rate_card_line_add(actor=manager, rate_card=card, task_type=TaskType.LEGAL_CODING,
                              unit=RateUnit.DOCUMENT, rate=Decimal("1.25"),
                              in_house_rate=Decimal("5"))
    assert line.rate == Decimal("1.25")
    with pytest.raises(RuleViolation):  # the same type and unit twice
        rate_card_line_add(actor=manager, rate_card=card, task_type=TaskType.LEGAL_CODING,
                           unit=RateUnit.DOCUMENT, rate=Decimal("2"))
    with pytest.raises(RuleViolation):
        rate_card_create(actor=manager, vendor=vendor, name="Bad range",
                         effective_from=TODAY, effective_to=TODAY - dt.timedelta(days=1))
    assert [e.action for e in AuditEvent.objects.filter(action__startswith="rate_card")
            .order_by("id")] == ["rate_card.created", "rate_card.line_added"]
    with pytest.raises(NotEligible):
        rate_card_create(actor=plain_user("plain"), vendor=vendor, name="X",
                         effective_from=TODAY)
