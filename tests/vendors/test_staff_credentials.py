"""Vendor staff credentials: the performer rule (`vendors.staff.performer_refusal`),
qualifications recorded, edited and verified by the vendor manager, training recorded with
its certificate (hashed, malware-scanned, audited), who may open each page (the whole cast),
and the vendor page's fixed query count whatever the number of people."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from lpo_tracker.audit.models import AuditEvent
from lpo_tracker.errors import NotEligible, RuleViolation
from lpo_tracker.fields import TaskType
from tests import factories as f
from tests.conftest import Cast
from tests.plugins.clamd import EICAR, Clamd
from tests.vendors.builders import vendor_manager
from vendors.models import (
    PerformerRequirement,
    QualificationKind,
    StaffQualification,
    StaffTraining,
    TrainingTopic,
    VendorUser,
)
from vendors.staff import (
    performer_refusal,
    qualification_add,
    qualification_update,
    qualification_verify,
    training_record_add,
)

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 6, 1)
# The vendor page: its 16 queries before the people section (with the diligence banner and
# the QC inspection panel), plus the section's three.
VENDOR_PAGE_QUERIES = 19


def client_for(user: Any) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def member_of(user: Any) -> VendorUser:
    return VendorUser.objects.select_related("user").get(user=user)


def refusal_code(member: VendorUser, task_type: str = TaskType.DOCUMENT_REVIEW,
                 day: dt.date = DAY) -> str | None:
    refusal = performer_refusal(member, vendor_id=member.vendor_id, task_type=task_type,
                                day=day)
    return refusal.code if refusal is not None else None


# --- The rule -------------------------------------------------------------------------------


def test_patent_support_needs_a_verified_patent_practitioner_by_default(cast: Cast) -> None:
    requirement = PerformerRequirement.objects.get(task_type=TaskType.PATENT_SUPPORT)
    assert requirement.qualifications == [QualificationKind.PATENT_PRACTITIONER]
    member = member_of(cast.vendor_a_user)
    manager = vendor_manager()

    assert refusal_code(member, TaskType.PATENT_SUPPORT) == "performer_unqualified"
    qualification = qualification_add(actor=manager, member=member,
                                       kind=QualificationKind.PATENT_PRACTITIONER,
                                       jurisdiction="USPTO", registration_number="71234")
    assert refusal_code(member, TaskType.PATENT_SUPPORT) == "performer_unqualified"  # unverified
    qualification_verify(actor=manager, qualification=qualification)
    assert refusal_code(member, TaskType.PATENT_SUPPORT) is None
    # Other task types need no qualification, only the training.
    assert refusal_code(member, TaskType.DOCUMENT_REVIEW) is None


def test_the_requirement_is_data_per_task_type(cast: Cast) -> None:
    member = member_of(cast.vendor_a_user)
    PerformerRequirement.objects.create(
        task_type=TaskType.LEGAL_RESEARCH,
        qualifications=[QualificationKind.LAWYER, QualificationKind.PARALEGAL])
    assert refusal_code(member, TaskType.LEGAL_RESEARCH) == "performer_unqualified"
    paralegal = qualification_add(actor=vendor_manager(), member=member,
                                  kind=QualificationKind.PARALEGAL,
                                  description="NALA Certified Paralegal")
    qualification_verify(actor=vendor_manager("m2"), qualification=paralegal)
    assert refusal_code(member, TaskType.LEGAL_RESEARCH) is None


@pytest.mark.parametrize("topic", [TrainingTopic.CONFIDENTIALITY, TrainingTopic.DATA_PROTECTION])
def test_expired_or_missing_training_is_refused(cast: Cast, topic: str) -> None:
    user = f.vendor_user(cast.engagement_a.vendor, "fresh_hire", trained=False)
    member = member_of(user)
    assert refusal_code(member) == "performer_untrained"
    other = ({str(TrainingTopic.CONFIDENTIALITY), str(TrainingTopic.DATA_PROTECTION)}
             - {topic}).pop()
    f.train(member, topics=(other,))
    f.train(member, topics=(topic,), completed_on=DAY - dt.timedelta(days=400),
            expires_on=DAY - dt.timedelta(days=1))
    refusal = performer_refusal(member, vendor_id=member.vendor_id,
                                task_type=TaskType.DOCUMENT_REVIEW, day=DAY)
    assert refusal is not None and refusal.code == "performer_untrained"
    assert TrainingTopic(topic).label.lower() in refusal.message
    # Valid on its last day, not the day after.
    assert refusal_code(member, day=DAY - dt.timedelta(days=1)) is None


def test_another_vendors_or_deactivated_person_is_refused(cast: Cast) -> None:
    member_b = member_of(cast.vendor_b_user)
    refusal = performer_refusal(member_b, vendor_id=cast.engagement_a.vendor_id,
                                task_type=TaskType.DOCUMENT_REVIEW, day=DAY)
    assert refusal is not None and refusal.code == "performer_other_vendor"
    member_a = member_of(cast.vendor_a_user)
    VendorUser.objects.filter(pk=member_a.pk).update(is_active=False)
    assert refusal_code(member_of(cast.vendor_a_user)) == "performer_inactive"
    refusal = performer_refusal(None, vendor_id=member_a.vendor_id,
                                task_type=TaskType.DOCUMENT_REVIEW, day=DAY)
    assert refusal is not None and refusal.code == "performer_required"


# --- Qualifications -------------------------------------------------------------------------


def test_a_lawyer_names_jurisdiction_and_number(cast: Cast) -> None:
    member = member_of(cast.vendor_a_user)
    with pytest.raises(RuleViolation, match="jurisdiction"):
        qualification_add(actor=vendor_manager(), member=member, kind=QualificationKind.LAWYER,
                          jurisdiction="Maharashtra")
    lawyer = qualification_add(actor=vendor_manager("m2"), member=member,
                               kind=QualificationKind.LAWYER, jurisdiction="Maharashtra",
                               registration_number="MAH/1234/2015")
    assert lawyer.pk is not None


def test_only_vendor_managers_record_and_an_edit_clears_the_verification(cast: Cast) -> None:
    member = member_of(cast.vendor_a_user)
    for outsider in (cast.vendor_a_user, cast.staff_on, cast.attorney):
        with pytest.raises(NotEligible):
            qualification_add(actor=outsider, member=member,
                              kind=QualificationKind.PATENT_PRACTITIONER,
                              registration_number="1")
    manager = vendor_manager()
    qualification = qualification_add(actor=manager, member=member,
                                      kind=QualificationKind.PATENT_PRACTITIONER,
                                      jurisdiction="USPTO", registration_number="71234")
    qualification_verify(actor=manager, qualification=qualification)
    with pytest.raises(RuleViolation, match="already verified"):
        qualification_verify(actor=manager, qualification=qualification)
    changed = qualification_update(actor=manager, qualification=qualification,
                                   kind=QualificationKind.PATENT_PRACTITIONER,
                                   jurisdiction="USPTO", registration_number="71235",
                                   description="")
    assert changed.verified_at is None and changed.verified_by is None
    actions = list(AuditEvent.objects.filter(object_type="vendors.staffqualification")
                   .order_by("id").values_list("action", flat=True))
    assert actions == ["staff.qualification_recorded", "staff.qualification_verified",
                       "staff.qualification_changed"]


# --- Training and its evidence --------------------------------------------------------------


def certificate(text: str = "Certificate of completion") -> SimpleUploadedFile:
    return f.pdf_upload(text, name="certificate.pdf")


def test_training_is_stored_with_its_hash_and_audited(cast: Cast) -> None:
    member = member_of(cast.vendor_a_user)
    upload = certificate()
    content = upload.read()
    upload.seek(0)
    record = training_record_add(actor=vendor_manager(), member=member,
                                 topic=TrainingTopic.DATA_PROTECTION, course="GDPR basics",
                                 completed_on=DAY, expires_on=DAY + dt.timedelta(days=365),
                                 evidence=upload)
    assert record.evidence_sha256 == hashlib.sha256(content).hexdigest()
    with record.evidence.open("rb") as handle:
        assert handle.read() == content
    event = AuditEvent.objects.get(action="staff.training_recorded")
    assert (event.after or {})["evidence_sha256"] == record.evidence_sha256
    with pytest.raises(RuleViolation, match="already on record"):
        training_record_add(actor=vendor_manager("m2"), member=member,
                            topic=TrainingTopic.DATA_PROTECTION, completed_on=DAY,
                            expires_on=DAY + dt.timedelta(days=365),
                            evidence=SimpleUploadedFile("certificate.pdf", content))


def test_infected_training_evidence_is_refused_audited_and_not_stored(
    cast: Cast, clamd: Clamd
) -> None:
    member = member_of(cast.vendor_a_user)
    before = StaffTraining.objects.count()
    response = client_for(vendor_manager()).post(
        reverse("vendors:training_add", args=[member.pk]),
        {"topic": TrainingTopic.CONFIDENTIALITY, "completed_on": "2026-05-01",
         "expires_on": "2027-05-01",
         "evidence": SimpleUploadedFile("cert.txt", EICAR, content_type="text/plain")})
    assert response.status_code == 400
    assert "was not stored: the malware scanner found" in response.content.decode()
    assert StaffTraining.objects.count() == before
    event = AuditEvent.objects.get(action="upload.refused_infected")
    assert (event.object_type, event.object_id) == ("vendors.vendoruser", str(member.pk))


# --- Pages: who may open them ---------------------------------------------------------------


def _pages(cast: Cast) -> dict[str, tuple[str, str]]:
    member = member_of(cast.vendor_a_user)
    manager = vendor_manager("setup_manager")
    qualification = qualification_add(actor=manager, member=member,
                                      kind=QualificationKind.PARALEGAL,
                                      description="Certificate")
    training = StaffTraining.objects.filter(member=member).first()
    assert training is not None
    return {
        "qualification_form": ("get", reverse("vendors:qualification_add", args=[member.pk])),
        "qualification_edit": ("get", reverse("vendors:qualification_edit",
                                              args=[qualification.pk])),
        "qualification_verify": ("post", reverse("vendors:qualification_verify",
                                                 args=[qualification.pk])),
        "training_form": ("get", reverse("vendors:training_add", args=[member.pk])),
        "training_evidence": ("get", reverse("vendors:training_evidence", args=[training.pk])),
    }


def test_staff_pages_every_user_of_the_cast(cast: Cast) -> None:
    """Managers in; the cast (no vendor permission) 403; vendor users 404; anonymous login."""
    pages = _pages(cast)
    manager = vendor_manager()
    reader = vendor_manager("reader", perms=("view_vendor",))
    allowed = {"get": 200, "post": 302}
    for name, (method, url) in pages.items():
        response = getattr(client_for(manager), method)(url)
        assert response.status_code == allowed[method], (name, response.status_code)
        reader_status = getattr(client_for(reader), method)(url).status_code
        assert reader_status == (200 if name == "training_evidence" else 403), name
        for who in ("admin", "staff_on", "staff_off", "screened", "attorney", "attorney2",
                    "lapsed_attorney"):
            status = getattr(client_for(getattr(cast, who)), method)(url).status_code
            assert status == 403, (name, who, status)
        for who in ("vendor_a_user", "vendor_b_user"):
            status = getattr(client_for(getattr(cast, who)), method)(url).status_code
            assert status == 404, (name, who, status)
        anonymous = getattr(client_for(None), method)(url)
        assert anonymous.status_code == 302 and reverse("login") in anonymous["Location"]


def test_portal_credentials_show_only_ones_own(cast: Cast) -> None:
    member_a = member_of(cast.vendor_a_user)
    qualification_add(actor=vendor_manager(), member=member_a,
                      kind=QualificationKind.PATENT_PRACTITIONER, jurisdiction="USPTO",
                      registration_number="71234")
    own_training = StaffTraining.objects.filter(member=member_a).first()
    assert own_training is not None
    url = reverse("portal:credentials")
    page = client_for(cast.vendor_a_user).get(url)
    assert page.status_code == 200
    assert "71234" in page.content.decode() and "Not verified" in page.content.decode()
    other = client_for(cast.vendor_b_user).get(url)
    assert other.status_code == 200 and "71234" not in other.content.decode()
    for who in ("admin", "staff_on", "attorney", "screened"):
        assert client_for(getattr(cast, who)).get(url).status_code == 404, who
    assert client_for(None).get(url).status_code == 302

    evidence = reverse("portal:training_evidence", args=[own_training.pk])
    download = client_for(cast.vendor_a_user).get(evidence)
    assert download.status_code == 200
    assert AuditEvent.objects.filter(action="staff.training_evidence_downloaded").count() == 1
    assert client_for(cast.vendor_b_user).get(evidence).status_code == 404
    assert client_for(cast.staff_on).get(evidence).status_code == 404


def test_the_vendor_page_shows_credentials_and_managers_record_them(cast: Cast) -> None:
    manager = vendor_manager()
    member = member_of(cast.vendor_a_user)
    client = client_for(manager)
    response = client.post(reverse("vendors:qualification_add", args=[member.pk]),
                           {"kind": QualificationKind.LAWYER, "jurisdiction": "Delhi",
                            "registration_number": "D/555/2019"})
    assert response.status_code == 302
    qualification = StaffQualification.objects.get(member=member)
    assert client.post(reverse("vendors:qualification_verify",
                               args=[qualification.pk])).status_code == 302
    page = client.get(reverse("vendors:vendor_detail", args=[member.vendor_id]))
    text = page.content.decode()
    assert "D/555/2019" in text and "Verified" in text and "Confidentiality" in text
    bad = client.post(reverse("vendors:qualification_add", args=[member.pk]),
                      {"kind": QualificationKind.LAWYER, "jurisdiction": "Delhi"})
    assert bad.status_code == 400


def test_the_vendor_page_costs_the_same_queries_for_one_person_or_six(
    cast: Cast, django_assert_num_queries: Callable[..., Any]
) -> None:
    manager = vendor_manager()
    client = client_for(manager)
    vendor = cast.engagement_a.vendor
    url = reverse("vendors:vendor_detail", args=[vendor.pk])

    def count() -> int:
        # The page's queries as before, plus three for the people section whatever their
        # number: the members with their users, their qualifications (with the verifying
        # user), their training records.
        with django_assert_num_queries(VENDOR_PAGE_QUERIES) as context:
            assert client.get(url).status_code == 200
        return len(context.captured_queries)

    few = count()
    for index in range(5):
        user = f.vendor_user(vendor, f"extra_{index}")
        qualification_add(actor=manager, member=member_of(user),
                          kind=QualificationKind.PARALEGAL, description="Certificate")
    assert count() == few


def test_a_crash_while_recording_training_leaves_no_row_and_no_file(
    cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The audit write fails after the certificate was stored: the row rolls back and the
    stored bytes are removed, so nothing is left half-recorded."""
    from pathlib import Path

    from django.core.files.storage import storages

    import vendors.staff as staff_module

    root = Path(storages["default"].location)  # type: ignore[attr-defined]
    before = {path for path in root.rglob("*") if path.is_file()}
    records_before = StaffTraining.objects.count()

    def failing_audit(**kwargs: Any) -> None:
        raise RuntimeError("audit store down")

    monkeypatch.setattr(staff_module, "audit_record", failing_audit)
    with pytest.raises(RuntimeError):
        training_record_add(actor=vendor_manager(), member=member_of(cast.vendor_a_user),
                            topic=TrainingTopic.CONFIDENTIALITY, completed_on=DAY,
                            expires_on=DAY + dt.timedelta(days=365), evidence=certificate())
    assert StaffTraining.objects.count() == records_before
    assert {path for path in root.rglob("*") if path.is_file()} == before
