"""Engagements: the conflict search (names normalised; client, adverse and related parties
against the vendor and its staff's declarations), the conflict-check and consent gates on
assignment, and the engagement pages over HTTP (who may see and change what, consent
evidence, the list's query count)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from lpo_tracker.audit.models import AuditEvent
from lpo_tracker.clock import firm_today
from lpo_tracker.errors import RuleViolation
from matters.conflicts import compare_names, conflict_search, normalise_name
from matters.models import Client as LawClient
from matters.models import (
    ConflictCheckStatus,
    Engagement,
    Party,
    PartyRole,
    Task,
    TaskStatus,
)
from matters.services import (
    engagement_create,
    engagement_record_conflict_check,
    engagement_record_consent,
    task_assign,
)
from tests import factories as f
from tests.conftest import Cast
from tests.vendors.builders import STANDARD_LINES, evidence_pdf, rate_card
from vendors.models import ConflictDeclaration, VendorUser

pytestmark = pytest.mark.django_db


def client_for(user: Any) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


# --- Names ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "normal"), [
    ("Globex Corporation", "globex"),
    ("GLOBEX, Inc.", "globex"),
    ("The Globex Co.", "globex"),
    ("Société Générale S.A.", "societe generale"),
    ("Smith & Jones LLP", "smith jones"),
    ("Müller GmbH", "muller"),
    ("Initech Pvt. Ltd.", "initech"),
])
def test_names_are_normalised(raw: str, normal: str) -> None:
    assert normalise_name(raw) == normal


@pytest.mark.parametrize(("first", "second", "likeness"), [
    ("Globex Corporation", "globex inc", "same name"),
    ("Globex", "Globex Pharma Holdings", "similar name"),
    ("Globex Pharma Holdings", "Globex", "similar name"),
    ("Initech", "Initrode", None),
    ("AB", "AB Testing Group", None),  # one short word is too weak to report
    ("Inc.", "Inc.", None),  # nothing left once legal forms are dropped
])
def test_names_are_compared(first: str, second: str, likeness: str | None) -> None:
    assert compare_names(first, second) == likeness


# --- The search -----------------------------------------------------------------------------


def _parties(cast: Cast) -> None:
    client = cast.matter.client
    Party.objects.create(client=client, matter=cast.matter, name="Globex Corporation",
                         role=PartyRole.ADVERSE)
    Party.objects.create(client=client, matter=None, name="Hooli Holdings",
                         role=PartyRole.CLIENT_AFFILIATE)
    Party.objects.create(client=client, matter=cast.other_matter, name="Ashoka Trust",
                         role=PartyRole.ADVERSE)  # another matter of the client: not this one
    other_client = LawClient.objects.create(name="Umbrella plc", code="UMB")
    Party.objects.create(client=other_client, name="Ashoka Legal", role=PartyRole.ADVERSE)


def test_search_finds_declared_conflicts_and_the_vendor_itself_among_the_parties(cast: Cast
                                                                                 ) -> None:
    _parties(cast)
    vendor = cast.engagement_a.vendor  # "Ashoka Legal Process"
    member = VendorUser.objects.get(user=cast.vendor_a_user)
    ConflictDeclaration.objects.create(vendor=vendor, declared_by=member,
                                       party_name="GLOBEX, Inc.", relationship="Former employer")
    ConflictDeclaration.objects.create(vendor=vendor, party_name="Hooli",
                                       relationship="Current client")
    ConflictDeclaration.objects.create(vendor=vendor, party_name="Umbrella",
                                       relationship="Client")  # not a party of this matter
    Party.objects.create(client=cast.matter.client, matter=cast.matter,
                         name="Ashoka Legal Process Pvt Ltd", role=PartyRole.RELATED)
    hits = conflict_search(cast.matter, vendor)
    found = [(hit.party.name, hit.party.role, hit.matched_name, hit.source, hit.likeness)
             for hit in hits]
    assert found == [
        ("Ashoka Legal Process Pvt Ltd", "Related party", "Ashoka Legal Process", "vendor",
         "same name"),
        ("Globex Corporation", "Adverse party", "GLOBEX, Inc.", "declaration", "same name"),
        ("Hooli Holdings", "Client affiliate", "Hooli", "declaration", "similar name"),
    ]
    assert "Former employer" in hits[1].reason
    assert cast.vendor_a_user.get_full_name() in hits[1].reason


def test_search_compares_the_client_itself(cast: Cast) -> None:
    vendor = cast.engagement_a.vendor
    ConflictDeclaration.objects.create(vendor=vendor, party_name=cast.matter.client.name,
                                       relationship="Sister company")
    [hit] = conflict_search(cast.matter, vendor)
    assert (hit.party.role, hit.exact) == ("Client", True)


def test_search_with_nothing_in_common_is_empty(cast: Cast) -> None:
    _parties(cast)
    assert conflict_search(cast.matter, cast.engagement_a.vendor) == []


# --- Gates on assignment --------------------------------------------------------------------


def _new_engagement(cast: Cast, **vendor_fields: Any) -> Engagement:
    vendor = f.vetted_vendor(**vendor_fields)
    return engagement_create(actor=cast.staff_on, matter=cast.matter, vendor=vendor,
                             scope="Second-level review")


def test_assignment_needs_a_cleared_conflict_check(cast: Cast) -> None:
    engagement = _new_engagement(cast)
    engagement_record_consent(actor=cast.staff_on, engagement=engagement, given_by="GC",
                              given_on=firm_today(), scope="Review",
                              evidence=f.pdf_upload(name="consent.pdf"))
    with pytest.raises(RuleViolation, match=r"conflict check .* is not done yet"):
        task_assign(actor=cast.staff_on, task=cast.task, engagement=engagement)
    engagement = engagement_record_conflict_check(
        actor=cast.staff_on, engagement=engagement, result=ConflictCheckStatus.FLAGGED,
        notes="Analyst worked for Globex")
    with pytest.raises(RuleViolation, match="flagged a conflict"):
        task_assign(actor=cast.staff_on, task=cast.task, engagement=engagement)
    engagement = engagement_record_conflict_check(
        actor=cast.staff_on, engagement=engagement, result=ConflictCheckStatus.CLEARED,
        notes="Analyst screened off the matter")
    assert task_assign(actor=cast.staff_on, task=cast.task,
                       engagement=engagement).status == TaskStatus.ASSIGNED


def test_assignment_needs_the_clients_consent_where_the_matter_requires_it(cast: Cast) -> None:
    engagement = _new_engagement(cast)
    engagement = engagement_record_conflict_check(
        actor=cast.staff_on, engagement=engagement, result=ConflictCheckStatus.CLEARED)
    with pytest.raises(RuleViolation, match="has not consented"):
        task_assign(actor=cast.staff_on, task=cast.task, engagement=engagement)
    assert Task.objects.get(pk=cast.task.pk).status == TaskStatus.DRAFT
    engagement = engagement_record_consent(actor=cast.staff_on, engagement=engagement,
                                           given_by="Jane Roe, GC", given_on=firm_today(),
                                           scope="Second-level review",
                                           evidence=f.pdf_upload(name="consent.pdf"))
    assert task_assign(actor=cast.staff_on, task=cast.task,
                       engagement=engagement).status == TaskStatus.ASSIGNED


def test_no_consent_needed_where_the_matter_does_not_require_it(cast: Cast) -> None:
    cast.matter.client_consent_required = False
    cast.matter.client_consent_waiver_reason = "The client's standing outsourcing consent"
    cast.matter.save(update_fields=["client_consent_required", "client_consent_waiver_reason"])
    engagement = engagement_record_conflict_check(
        actor=cast.staff_on, engagement=_new_engagement(cast),
        result=ConflictCheckStatus.CLEARED)
    assigned = task_assign(actor=cast.staff_on, task=cast.task, engagement=engagement)
    assert (assigned.status, assigned.engagement_id) == (TaskStatus.ASSIGNED, engagement.pk)


def test_the_gates_hold_over_http_too(cast: Cast) -> None:
    """Through the engagement page: record the check (flagged needs notes), then consent with
    its evidence; the assignment form refuses until both are done."""
    engagement = _new_engagement(cast)
    client = client_for(cast.staff_on)
    assign_url = reverse("matters:task_assign", args=[cast.task.pk])
    refused = client.post(assign_url, {"engagement": engagement.pk})
    assert refused.status_code == 200
    assert Task.objects.get(pk=cast.task.pk).status == TaskStatus.DRAFT

    check_url = reverse("engagements:conflict_check", args=[engagement.pk])
    no_notes = client.post(check_url, {"result": ConflictCheckStatus.FLAGGED, "notes": ""})
    assert no_notes.status_code == 400
    assert no_notes.context["conflict_form"].errors["notes"]
    assert client.post(check_url, {"result": ConflictCheckStatus.CLEARED}).status_code == 302

    consent_url = reverse("engagements:consent", args=[engagement.pk])
    data = {"given_by": "Jane Roe, General Counsel", "given_on": firm_today(),
            "scope": "Second-level review by the named provider"}
    missing = client.post(consent_url, data)
    assert missing.status_code == 400 and missing.context["consent_form"].errors["evidence"]
    bad = client.post(consent_url, {**data, "evidence": SimpleUploadedFile("c.pdf", b"nope")})
    assert bad.status_code == 400 and bad.context["consent_form"].errors["evidence"]
    engagement.refresh_from_db()
    assert not engagement.has_client_consent
    done = client.post(consent_url, {**data, "evidence": evidence_pdf("I consent", "consent.pdf")})
    assert done.status_code == 302
    engagement.refresh_from_db()
    assert engagement.has_client_consent and engagement.consent_evidence
    stored = AuditEvent.objects.get(action="engagement.consent_recorded",
                                    object_id=str(engagement.pk))
    assert (stored.after["name"], len(stored.after["sha256"])) == ("consent.pdf", 64)

    assert client.post(assign_url, {"engagement": engagement.pk}).status_code == 302
    assert Task.objects.get(pk=cast.task.pk).status == TaskStatus.ASSIGNED


def test_consent_evidence_download_is_for_firm_users_on_the_matter(cast: Cast) -> None:
    engagement = cast.engagement_a
    client = client_for(cast.staff_on)
    client.post(reverse("engagements:consent", args=[engagement.pk]), {
        "given_by": "GC", "given_on": firm_today(), "scope": "Review",
        "evidence": evidence_pdf("I consent", "consent.pdf")})
    url = reverse("engagements:consent_evidence", args=[engagement.pk])
    response = client.get(url)
    assert response.status_code == 200
    assert 'filename="consent.pdf"' in response["Content-Disposition"]
    assert b"".join(response.streaming_content).startswith(b"%PDF")  # type: ignore[attr-defined]
    assert AuditEvent.objects.filter(action="engagement.consent_evidence_downloaded").exists()
    for user, status in ((cast.attorney, 200), (cast.staff_off, 404), (cast.screened, 404),
                         (cast.vendor_a_user, 404), (cast.vendor_b_user, 404)):
        assert client_for(user).get(url).status_code == status, user


# --- Pages ----------------------------------------------------------------------------------


def test_who_may_see_an_engagement_and_who_may_change_it(cast: Cast) -> None:
    engagement = cast.engagement_a
    detail = reverse("engagements:detail", args=[engagement.pk])
    check = reverse("engagements:conflict_check", args=[engagement.pk])
    for user, seen in ((cast.staff_on, 200), (cast.attorney, 200), (cast.staff_off, 404),
                       (cast.screened, 404), (cast.vendor_a_user, 404),
                       (cast.vendor_b_user, 404)):
        assert client_for(user).get(detail).status_code == seen, user
    # The attorney sees the matter but does not hold change_matter on it.
    assert client_for(cast.attorney).post(check, {"result": "cleared"}).status_code == 403
    assert client_for(cast.staff_off).post(check, {"result": "cleared"}).status_code == 404
    assert client_for(cast.vendor_a_user).post(check, {"result": "cleared"}).status_code == 404
    anonymous = Client().get(detail)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith(reverse("login"))
    assert client_for(cast.staff_on).get(
        reverse("engagements:detail", args=[999_999])).status_code == 404


def test_the_engagement_page_shows_search_hits_costs_and_saving(cast: Cast) -> None:
    engagement = cast.engagement_a
    engagement.rate_card = rate_card(engagement.vendor, *STANDARD_LINES)
    engagement.save(update_fields=["rate_card"])
    Party.objects.create(client=cast.matter.client, matter=cast.matter, name="Globex Corp",
                         role=PartyRole.ADVERSE)
    ConflictDeclaration.objects.create(vendor=engagement.vendor, party_name="Globex",
                                       relationship="Former employer")
    cast.advance(cast.new_task(title="Hot docs", estimated_hours=Decimal("10")),
                 TaskStatus.ASSIGNED)
    response = client_for(cast.staff_on).get(reverse("engagements:detail",
                                                     args=[engagement.pk]))
    page = response.content.decode()
    assert [hit.matched_name for hit in response.context["hits"]] == ["Globex"]
    assert response.context["costs"].total == Decimal("400.00")
    assert "Former employer" in page and "2100.00" in page  # in-house 2,500 − 400 saving


def test_engage_a_vendor_from_the_matter(cast: Cast) -> None:
    vendor = f.vetted_vendor(name="Kalinga Legal")
    card = rate_card(vendor, *STANDARD_LINES)
    other_card = rate_card(cast.engagement_a.vendor, *STANDARD_LINES, name="Other")
    url = reverse("engagements:create", args=[cast.matter.pk])
    client = client_for(cast.staff_on)
    form = client.get(url).context["form"]
    offered = set(form.fields["vendor"].queryset.values_list("name", flat=True))
    assert "Kalinga Legal" in offered and cast.engagement_a.vendor.name not in offered
    data = {"vendor": vendor.pk, "scope": "Privilege log", "budget_cap": "25000"}
    wrong = client.post(url, {**data, "rate_card": other_card.pk})
    assert wrong.status_code == 400 and wrong.context["form"].errors["rate_card"]
    created = client.post(url, {**data, "rate_card": card.pk})
    engagement = Engagement.objects.get(matter=cast.matter, vendor=vendor)
    assert created.status_code == 302
    assert created["Location"].startswith(reverse("engagements:detail", args=[engagement.pk]))
    assert (engagement.rate_card_id, engagement.budget_cap, engagement.conflict_check_status) == (
        card.pk, Decimal("25000.00"), ConflictCheckStatus.PENDING)
    for user, status in ((cast.attorney, 403), (cast.staff_off, 404),
                         (cast.vendor_a_user, 404)):
        assert client_for(user).get(url).status_code == status, user


def test_the_list_shows_only_visible_engagements_at_a_fixed_query_count(
    cast: Cast, django_assert_num_queries: Callable[..., Any]
) -> None:
    client = client_for(cast.staff_on)
    url = reverse("engagements:list")
    cast.engagement_a.rate_card = rate_card(cast.engagement_a.vendor, *STANDARD_LINES)
    cast.engagement_a.save(update_fields=["rate_card"])

    def fetch() -> list[int]:
        # 1 session, 2 user, 3 vendor membership (404 check; cached for the navigation),
        # 4 count, 5 one page of engagements with vendor, rate card, matter and client,
        # 6 their rate lines, 7 their billable tasks, 8 unread notifications, 9 the user's
        # model permissions, direct and through groups in one query (the navigation hides
        # what they can't open), 10 may they engage a vendor on some open matter (the
        # navigation's "Engage a vendor").
        with django_assert_num_queries(10):
            response = client.get(url)
        return [costs.engagement.pk for costs in response.context["rows"]]

    assert fetch() == [cast.engagement_a.pk]
    for index in range(5):
        _new_engagement(cast, name=f"Extra vendor {index}")
    assert len(fetch()) == 6
    assert cast.engagement_b.pk not in fetch()
    vendor_filter = client.get(f"{url}?vendor={cast.engagement_a.vendor_id}")
    assert [c.engagement.pk for c in vendor_filter.context["rows"]] == [cast.engagement_a.pk]


def test_vendor_users_have_no_engagement_list(cast: Cast) -> None:
    assert client_for(cast.vendor_a_user).get(reverse("engagements:list")).status_code == 404
