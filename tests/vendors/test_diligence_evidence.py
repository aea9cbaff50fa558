"""Due diligence is evidence: what a record attests is fixed once saved, a renewal is a new
record with its own evidence, and a record without evidence counts for nothing.

Each attempt below is the one an audit found (an expired SOC 2 pushed into the future in the
admin with its old file; an ISO 27001 record added with no file) or its way round the model
(queryset update, raw SQL); each is refused and the vendor stays blocked.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from lpo_tracker.clock import firm_today
from lpo_tracker.errors import RuleViolation
from matters.models import TaskStatus
from matters.services import task_assign
from tests import factories as f
from tests.conftest import Cast
from tests.vendors.builders import evidence_pdf, vendor_manager
from vendors.models import DiligenceKind, DueDiligenceRecord
from vendors.services import diligence_record_add, vendor_assignment_blockers

pytestmark = pytest.mark.django_db

FROZEN_MESSAGE = "kind, dates and evidence are fixed once recorded"


def _expired_soc2(cast: Cast) -> DueDiligenceRecord:
    """Vendor A's only security certification is a SOC 2 report that expired yesterday."""
    vendor = cast.engagement_a.vendor
    today = firm_today()
    DueDiligenceRecord.objects.filter(vendor=vendor, kind=DiligenceKind.SOC2_TYPE2).delete()
    return f.DiligenceFactory.create(vendor=vendor, kind=DiligenceKind.SOC2_TYPE2,
                                     valid_from=today - dt.timedelta(days=400),
                                     expires_on=today - dt.timedelta(days=1))


def _superuser_client() -> Client:
    client = Client()
    client.force_login(f.superuser("boss"))
    return client


def _blocked(cast: Cast) -> bool:
    return bool(vendor_assignment_blockers(cast.engagement_a.vendor,
                                           day=firm_today()))


def test_model_save_refuses_new_dates_on_a_saved_record(cast: Cast) -> None:
    record = _expired_soc2(cast)
    record.expires_on = firm_today() + dt.timedelta(days=365)

    with pytest.raises(RuleViolation, match=FROZEN_MESSAGE):
        record.save()

    assert DueDiligenceRecord.objects.get(pk=record.pk).expires_on < firm_today()
    assert _blocked(cast)


@pytest.mark.parametrize("column, value", [
    ("expires_on", "2099-12-31"),
    ("valid_from", "2000-01-01"),
    ("kind", DiligenceKind.ISO27001),
    ("evidence_sha256", "0" * 64),
    ("evidence", "diligence/forged.pdf"),
])
def test_the_database_refuses_a_changed_kind_date_or_evidence(cast: Cast, column: str,
                                                                value: str) -> None:
    """A queryset update and raw SQL skip the model; the trigger holds for both."""
    record = _expired_soc2(cast)
    with pytest.raises(IntegrityError, match=FROZEN_MESSAGE), transaction.atomic():
        DueDiligenceRecord.objects.filter(pk=record.pk).update(**{column: value})
    with pytest.raises(IntegrityError, match=FROZEN_MESSAGE), transaction.atomic(), \
            connection.cursor() as cursor:
        cursor.execute(f"UPDATE vendors_duediligencerecord SET {column} = %s WHERE id = %s",
                       [value, record.pk])
    assert _blocked(cast)


def test_a_revocation_is_never_undone(cast: Cast) -> None:
    nda = DueDiligenceRecord.objects.get(vendor=cast.engagement_a.vendor,
                                         kind=DiligenceKind.NDA)
    DueDiligenceRecord.objects.filter(pk=nda.pk).update(revoked_at=timezone.now())

    with pytest.raises(IntegrityError, match=FROZEN_MESSAGE), transaction.atomic():
        DueDiligenceRecord.objects.filter(pk=nda.pk).update(revoked_at=None)
    assert _blocked(cast)


def test_notes_and_reference_stay_editable(cast: Cast) -> None:
    record = _expired_soc2(cast)
    record.notes = "Auditor's bridge letter requested"
    record.save(update_fields=["notes"])
    assert DueDiligenceRecord.objects.get(pk=record.pk).notes.startswith("Auditor")


def test_admin_change_form_cannot_push_an_expiry_date_or_swap_the_evidence(cast: Cast
                                                                          ) -> None:
    record = _expired_soc2(cast)
    client = _superuser_client()
    url = reverse("admin:vendors_duediligencerecord_change", args=[record.pk])
    page = client.get(url)
    assert page.status_code == 200
    form_fields = set(page.context["adminform"].form.fields)
    assert not form_fields & {"kind", "vendor", "valid_from", "expires_on", "evidence",
                              "evidence_name", "evidence_sha256", "revoked_at"}

    response = client.post(url, {
        "reference": "SOC2-2026", "issuer": "Auditor LLP", "notes": "renewed?",
        "expires_on": "2099-12-31", "valid_from": "2020-01-01", "evidence_sha256": "f" * 64,
    })

    assert response.status_code == 302
    saved = DueDiligenceRecord.objects.get(pk=record.pk)
    assert (saved.expires_on, saved.valid_from, saved.evidence_sha256) == (
        record.expires_on, record.valid_from, record.evidence_sha256)
    assert saved.reference == "SOC2-2026"
    assert _blocked(cast)


def test_admin_cannot_add_a_record_nor_edit_one_inline(cast: Cast) -> None:
    client = _superuser_client()
    assert client.get(reverse("admin:vendors_duediligencerecord_add")).status_code == 403
    vendor_page = client.get(reverse("admin:vendors_vendor_change",
                                     args=[cast.engagement_a.vendor_id]))
    inline = next(formset for formset in vendor_page.context["inline_admin_formsets"]
                  if formset.formset.model is DueDiligenceRecord)
    assert inline.formset.extra == 0 and not inline.has_add_permission
    assert not inline.has_change_permission


def test_a_record_without_evidence_never_counts(cast: Cast) -> None:
    """The audit's second finding: an ISO 27001 row with no file lifted the block."""
    _expired_soc2(cast)
    today = firm_today()
    DueDiligenceRecord.objects.create(
        vendor=cast.engagement_a.vendor, kind=DiligenceKind.ISO27001,
        valid_from=today - dt.timedelta(days=10), expires_on=today + dt.timedelta(days=300))

    assert not DueDiligenceRecord.objects.filter(kind=DiligenceKind.ISO27001).valid_on(today)
    with pytest.raises(RuleViolation, match="no SOC 2 Type II report or ISO/IEC 27001"):
        task_assign(actor=cast.staff_on, task=cast.task, engagement=cast.engagement_a)
    record = DueDiligenceRecord.objects.get(kind=DiligenceKind.ISO27001)
    assert record.status_on(today) == "no_evidence"


def test_a_record_with_a_file_but_no_fingerprint_never_counts(cast: Cast) -> None:
    nda = DueDiligenceRecord.objects.get(vendor=cast.engagement_a.vendor,
                                         kind=DiligenceKind.NDA)
    DueDiligenceRecord.objects.filter(pk=nda.pk).delete()
    f.DiligenceFactory.create(vendor=cast.engagement_a.vendor, kind=DiligenceKind.NDA,
                              evidence_sha256="")
    assert "no non-disclosure agreement valid" in " ".join(
        vendor_assignment_blockers(cast.engagement_a.vendor, day=firm_today()))


def test_a_renewal_is_a_new_record_with_its_own_evidence(cast: Cast) -> None:
    old = _expired_soc2(cast)
    manager = vendor_manager()
    today = firm_today()
    first = diligence_record_add(
        actor=manager, vendor=cast.engagement_a.vendor, kind=DiligenceKind.SOC2_TYPE2,
        valid_from=today - dt.timedelta(days=5), expires_on=today + dt.timedelta(days=360),
        evidence=evidence_pdf("SOC 2 report, period 2026", name="soc2-2026.pdf"))

    with pytest.raises(RuleViolation, match="already the evidence of an earlier record"):
        diligence_record_add(
            actor=manager, vendor=cast.engagement_a.vendor, kind=DiligenceKind.SOC2_TYPE2,
            valid_from=today, expires_on=today + dt.timedelta(days=720),
            evidence=evidence_pdf("SOC 2 report, period 2026", name="soc2-again.pdf"))

    assert first.pk != old.pk
    assert DueDiligenceRecord.objects.get(pk=old.pk).expires_on == old.expires_on
    assert not _blocked(cast)
    assert task_assign(actor=cast.staff_on, task=cast.task,
                       engagement=cast.engagement_a).status == TaskStatus.ASSIGNED


def test_diligence_without_evidence_is_not_offered_as_valid_on_the_vendor_page(
    cast: Cast,
) -> None:
    DueDiligenceRecord.objects.create(
        vendor=cast.engagement_a.vendor, kind=DiligenceKind.DPA,
        valid_from=firm_today(), expires_on=firm_today())
    client = Client()
    client.force_login(vendor_manager())
    page = client.get(reverse("vendors:vendor_detail", args=[cast.engagement_a.vendor_id]))
    rows: list[Any] = [row for row in page.context["page"].diligence
                       if row.record.kind == DiligenceKind.DPA]
    assert [row.label for row in rows] == ["No evidence (does not count)"]
