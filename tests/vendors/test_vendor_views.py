"""The vendor pages over HTTP: who may open each one, the list's search and filters at a fixed
query count, the lifecycle form, due diligence with evidence upload and download, declared
conflicts and rate cards."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse

from lpo_tracker.audit.models import AuditEvent
from lpo_tracker.clock import firm_today
from lpo_tracker.fields import TaskType
from tests import factories as f
from tests.vendors.builders import evidence_pdf, new_vendor, plain_user, rate_card, vendor_manager
from vendors.models import (
    ConflictDeclaration,
    DiligenceKind,
    DueDiligenceRecord,
    RateCardLine,
    RateUnit,
    Vendor,
    VendorStatus,
)
from vendors.services import diligence_record_add

pytestmark = pytest.mark.django_db


def client_for(user: Any) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def people() -> dict[str, Any]:
    vendor = f.vetted_vendor(name="Ashoka Legal Process")
    superuser = plain_user("root", is_superuser=True, is_staff=True)
    f.enrol_mfa(superuser)  # admin access requires a second factor
    return {
        "manager": vendor_manager("manager"),
        "reader": vendor_manager("reader", perms=("view_vendor",)),
        "superuser": superuser,
        "plain": plain_user("plain"),
        "vendor_user": f.vendor_user(vendor, "vendor_person"),
        "anonymous": None,
        "vendor": vendor,
    }


def _record(people: dict[str, Any]) -> DueDiligenceRecord:
    return diligence_record_add(
        actor=people["manager"], vendor=people["vendor"], kind=DiligenceKind.ISO27001,
        valid_from=firm_today(), expires_on=firm_today() + dt.timedelta(days=90),
        evidence=evidence_pdf("ISO certificate", name="iso-27001.pdf"), reference="ISO-1",
    )


def _pages(people: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Every vendor page, as (method, url); the writes post an empty form."""
    vendor = people["vendor"]
    record = _record(people)
    card = rate_card(vendor, (TaskType.DOCUMENT_REVIEW, RateUnit.HOUR, "40", "250"))
    return {
        "list": ("get", reverse("vendors:list")),
        "detail": ("get", reverse("vendors:vendor_detail", args=[vendor.pk])),
        "evidence": ("get", reverse("vendors:diligence_evidence", args=[record.pk])),
        "create_form": ("get", reverse("vendors:create")),
        "diligence_form": ("get", reverse("vendors:diligence_add", args=[vendor.pk])),
        "declaration_form": ("get", reverse("vendors:declaration_add", args=[vendor.pk])),
        "rate_card_form": ("get", reverse("vendors:rate_card_add", args=[vendor.pk])),
        "rate_line_form": ("get", reverse("vendors:rate_line_add", args=[card.pk])),
        "set_status": ("post", reverse("vendors:set_status", args=[vendor.pk])),
        "revoke": ("post", reverse("vendors:diligence_revoke", args=[record.pk])),
    }


READS = {"list", "detail", "evidence"}


def test_who_may_open_each_vendor_page(people: dict[str, Any]) -> None:
    """Managers and superusers everything; readers (view only) the reads and 403 for writes;
    other staff 403; vendor users 404 everywhere; anonymous users the login page."""
    pages = _pages(people)
    for who in ("manager", "reader", "superuser", "plain", "vendor_user", "anonymous"):
        client = client_for(people[who])
        for name, (method, url) in pages.items():
            response: HttpResponse = getattr(client, method)(url)
            if who == "anonymous":
                assert response.status_code == 302, (who, name)
                assert response["Location"].startswith(reverse("login")), (who, name)
                continue
            expected = {
                "manager": 400 if method == "post" and name == "set_status" else 200,
                "superuser": 400 if method == "post" and name == "set_status" else 200,
                "reader": 200 if name in READS else 403,
                "plain": 403,
                "vendor_user": 404,
            }[who]
            if method == "post" and name == "revoke" and who in ("manager", "superuser"):
                expected = 302  # an empty reason comes back as a message
            assert response.status_code == expected, (who, name, response.status_code)


def test_unknown_vendor_and_record_ids_are_404_for_managers(people: dict[str, Any]) -> None:
    client = client_for(people["manager"])
    for url in (reverse("vendors:vendor_detail", args=[999_999]),
                reverse("vendors:diligence_evidence", args=[999_999]),
                reverse("vendors:rate_line_add", args=[999_999])):
        assert client.get(url).status_code == 404


# --- The list -------------------------------------------------------------------------------


def _fleet() -> dict[str, Vendor]:
    today = firm_today()
    current = f.vetted_vendor(name="Current Co", headquarters_country="IN", countries=["IN"],
                              service_lines=[TaskType.DOCUMENT_REVIEW])
    expiring = new_vendor(name="Expiring Ltd", headquarters_country="PH",
                               countries=["PH", "IN"], service_lines=[TaskType.LEGAL_CODING])
    f.DiligenceFactory.create(vendor=expiring, kind=DiligenceKind.NDA,
                       expires_on=today + dt.timedelta(days=10))
    f.DiligenceFactory.create(vendor=expiring, kind=DiligenceKind.ISO27001)
    lapsed = new_vendor(name="Lapsed LLC", headquarters_country="US", countries=["US"],
                             status=VendorStatus.SUSPENDED,
                             service_lines=[TaskType.DOCUMENT_REVIEW, TaskType.LEGAL_CODING])
    f.DiligenceFactory.create(vendor=lapsed, kind=DiligenceKind.NDA,
                       expires_on=today - dt.timedelta(days=1),
                       valid_from=today - dt.timedelta(days=400))
    return {"current": current, "expiring": expiring, "lapsed": lapsed}


def _names(response: Any) -> list[str]:
    return [row.vendor.name for row in response.context["rows"]]


@pytest.mark.parametrize(("query", "expected"), [
    ("", ["Current Co", "Expiring Ltd", "Lapsed LLC"]),
    ("q=expir", ["Expiring Ltd"]),
    ("status=suspended", ["Lapsed LLC"]),
    ("country=IN", ["Current Co", "Expiring Ltd"]),
    ("country=US", ["Lapsed LLC"]),
    (f"service_line={TaskType.LEGAL_CODING}", ["Expiring Ltd", "Lapsed LLC"]),
    ("diligence=current", ["Current Co"]),
    ("diligence=expiring", ["Expiring Ltd"]),
    ("diligence=lapsed", ["Lapsed LLC"]),
    ("country=IN&diligence=expiring&service_line=legal_coding", ["Expiring Ltd"]),
])
def test_list_search_and_filters(query: str, expected: list[str]) -> None:
    _fleet()
    response = client_for(vendor_manager()).get(f"{reverse('vendors:list')}?{query}")
    assert response.status_code == 200
    assert _names(response) == expected


def test_list_shows_each_vendors_diligence_state() -> None:
    _fleet()
    response = client_for(vendor_manager()).get(reverse("vendors:list"))
    states = {row.vendor.name: row.diligence_label for row in response.context["rows"]}
    assert states == {"Current Co": "Current", "Expiring Ltd": "Expiring within 30 days",
                      "Lapsed LLC": "Lapsed (blocks new work)"}


def test_list_costs_the_same_queries_for_three_vendors_or_thirty(
    django_assert_num_queries: Callable[..., Any]
) -> None:
    manager = vendor_manager()
    client = client_for(manager)
    _fleet()

    def count() -> int:
        # 1 session, 2 user, 3 vendor membership (the 404 check; cached for the navigation),
        # 4-5 permissions (user, group), 6 country choices, 7 paginator count, 8 one page of
        # vendors with their managers and diligence flags, 9 unread notifications (badge),
        # 10 may they engage a vendor on some open matter (the navigation's link).
        with django_assert_num_queries(10) as context:
            response = client.get(f"{reverse('vendors:list')}?diligence=current&country=IN")
        assert response.status_code == 200
        return len(context.captured_queries)

    few = count()
    for index in range(27):
        f.vetted_vendor(name=f"More {index}", headquarters_country="IN", countries=["IN"])
    assert count() == few


# --- Detail and lifecycle -------------------------------------------------------------------


def test_detail_shows_records_with_their_computed_status(people: dict[str, Any]) -> None:
    vendor = people["vendor"]
    today = firm_today()
    f.DiligenceFactory.create(vendor=vendor, kind=DiligenceKind.INSURANCE, valid_from=today
                       - dt.timedelta(days=400), expires_on=today - dt.timedelta(days=5))
    _record(people)
    response = client_for(people["manager"]).get(
        reverse("vendors:vendor_detail", args=[vendor.pk]))
    rows = {row.record.get_kind_display(): row.label for row in response.context["page"].diligence}
    assert rows == {"Non-disclosure agreement": "Valid",
                    "SOC 2 Type II report": "Valid",
                    "ISO/IEC 27001 certificate": "Valid",
                    "Professional liability insurance": "Expired"}
    assert "iso-27001.pdf" in response.content.decode()


def test_status_change_through_the_form_needs_a_reason(people: dict[str, Any]) -> None:
    vendor = people["vendor"]
    url = reverse("vendors:set_status", args=[vendor.pk])
    client = client_for(people["manager"])
    refused = client.post(url, {"status": VendorStatus.SUSPENDED, "reason": ""})
    assert refused.status_code == 400
    assert refused.context["status_form"].errors["reason"]
    illegal = client.post(url, {"status": VendorStatus.PROSPECTIVE, "reason": "Why not"})
    assert illegal.status_code == 400  # not a move open to an approved vendor
    done = client.post(url, {"status": VendorStatus.SUSPENDED, "reason": "Data breach"})
    assert done.status_code == 302
    vendor.refresh_from_db()
    assert (vendor.status, vendor.status_reason) == (VendorStatus.SUSPENDED, "Data breach")
    page = client.get(reverse("vendors:vendor_detail", args=[vendor.pk])).content.decode()
    assert "Data breach" in page


def test_manager_adds_a_vendor(people: dict[str, Any]) -> None:
    manager: User = people["manager"]
    response = client_for(manager).post(reverse("vendors:create"), {
        "name": "Kalinga Legal", "headquarters_country": "ph", "countries": "PH, in",
        "service_lines": [TaskType.LEGAL_CODING], "time_zone": "Asia/Manila",
        "manager": manager.pk,
    })
    assert response.status_code == 302
    vendor = Vendor.objects.get(name="Kalinga Legal")
    assert (vendor.status, vendor.countries, vendor.manager_id) == (
        VendorStatus.PROSPECTIVE, ["PH", "IN"], manager.pk)
    bad = client_for(manager).post(reverse("vendors:create"), {
        "name": "X", "headquarters_country": "Philippines", "time_zone": "UTC"})
    assert bad.status_code == 400 and bad.context["form"].errors["headquarters_country"]


# --- Due diligence pages --------------------------------------------------------------------


def test_manager_records_diligence_with_an_uploaded_evidence_file(people: dict[str, Any]
                                                                  ) -> None:
    vendor = people["vendor"]
    url = reverse("vendors:diligence_add", args=[vendor.pk])
    response = client_for(people["manager"]).post(url, {
        "kind": DiligenceKind.DPA, "reference": "DPA-2026", "issuer": "Firm GC",
        "valid_from": "2026-01-01", "expires_on": "2027-12-31",
        "evidence": evidence_pdf("Signed DPA", name="dpa.pdf"),
    })
    assert response.status_code == 302
    record = DueDiligenceRecord.objects.get(vendor=vendor, kind=DiligenceKind.DPA)
    assert (record.evidence_name, len(record.evidence_sha256)) == ("dpa.pdf", 64)


@pytest.mark.parametrize(("fields", "error_field"), [
    ({"evidence": SimpleUploadedFile("dpa.pdf", b"plain text")}, "evidence"),
    ({"evidence": SimpleUploadedFile("dpa.html", b"<html>")}, "evidence"),
    ({}, "evidence"),
    ({"expires_on": "2025-01-01", "evidence": "pdf"}, "expires_on"),
    ({"kind": DiligenceKind.INSURANCE, "evidence": "pdf"}, "coverage_amount"),
])
def test_bad_diligence_input_comes_back_as_a_form_error_and_stores_nothing(
    people: dict[str, Any], fields: dict[str, Any], error_field: str
) -> None:
    data: dict[str, Any] = {"kind": DiligenceKind.DPA, "valid_from": "2026-01-01",
                            "expires_on": "2027-12-31"}
    data.update(fields)
    if data.get("evidence") == "pdf":
        data["evidence"] = evidence_pdf()
    response = client_for(people["manager"]).post(
        reverse("vendors:diligence_add", args=[people["vendor"].pk]), data)
    assert response.status_code == 400
    assert response.context["form"].errors[error_field]
    assert not DueDiligenceRecord.objects.filter(kind__in=[DiligenceKind.DPA,
                                                           DiligenceKind.INSURANCE]).exists()


def test_evidence_download_is_firm_only_and_audited(people: dict[str, Any]) -> None:
    record = _record(people)
    url = reverse("vendors:diligence_evidence", args=[record.pk])
    response = client_for(people["reader"]).get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF-")  # type: ignore[attr-defined]
    assert 'filename="iso-27001.pdf"' in response["Content-Disposition"]
    assert AuditEvent.objects.filter(action="diligence.evidence_downloaded",
                                     actor=people["reader"]).count() == 1
    # The vendor's own people do not get the firm's copy of their evidence.
    assert client_for(people["vendor_user"]).get(url).status_code == 404
    assert client_for(people["plain"]).get(url).status_code == 403


def test_revoke_from_the_page(people: dict[str, Any]) -> None:
    record = _record(people)
    response = client_for(people["manager"]).post(
        reverse("vendors:diligence_revoke", args=[record.pk]), {"reason": "Withdrawn"})
    assert response.status_code == 302
    record.refresh_from_db()
    assert record.revoked_at is not None


# --- Declarations and rate cards ------------------------------------------------------------


def test_manager_records_a_declaration_for_a_vendor_staff_member(people: dict[str, Any]
                                                                 ) -> None:
    vendor = people["vendor"]
    member = vendor.members.get()
    response = client_for(people["manager"]).post(
        reverse("vendors:declaration_add", args=[vendor.pk]),
        {"party_name": "Globex Corporation", "relationship": "Former employer",
         "declared_by": member.pk, "declared_on": "2026-03-01"})
    assert response.status_code == 302
    declaration = ConflictDeclaration.objects.get(vendor=vendor)
    assert (declaration.party_name, declaration.declared_by_id) == ("Globex Corporation",
                                                                    member.pk)


def test_manager_creates_a_rate_card_and_adds_rates(people: dict[str, Any]) -> None:
    vendor = people["vendor"]
    client = client_for(people["manager"])
    response = client.post(reverse("vendors:rate_card_add", args=[vendor.pk]),
                           {"name": "2026 rates", "currency": "usd",
                            "effective_from": "2026-01-01"})
    assert response.status_code == 302
    card = vendor.rate_cards.get(name="2026 rates")
    line_url = reverse("vendors:rate_line_add", args=[card.pk])
    added = client.post(line_url, {"task_type": TaskType.LEGAL_CODING,
                                   "unit": RateUnit.DOCUMENT, "rate": "1.20",
                                   "in_house_rate": "5.00"})
    assert added.status_code == 302
    duplicate = client.post(line_url, {"task_type": TaskType.LEGAL_CODING,
                                       "unit": RateUnit.DOCUMENT, "rate": "2",
                                       "in_house_rate": "5"})
    assert duplicate.status_code == 400
    assert RateCardLine.objects.get(rate_card=card).rate == Decimal("1.20")
    page = client.get(reverse("vendors:vendor_detail", args=[vendor.pk])).content.decode()
    assert "2026 rates" in page and "1.20" in page
