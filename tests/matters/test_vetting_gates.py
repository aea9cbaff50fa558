"""The engagement's gates: a conflict clearance keeps its grounds and reopens when they
change; the client's consent is evidence that can be revoked, expire and be scoped; the
client's data-residency limits are compared with the vendor's delivery centres."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse

from lpo_tracker.audit.models import AuditEvent
from lpo_tracker.clock import firm_today
from lpo_tracker.errors import NotEligible, RuleViolation
from matters.conflicts import conflict_search, hits_fingerprint, hits_record
from matters.models import (
    ConflictCheckStatus,
    Engagement,
    Party,
    PartyRole,
    Task,
    TaskStatus,
)
from matters.services import (
    conflict_checks_reopen_for_vendor,
    engagement_consent_revoke,
    engagement_create,
    engagement_record_conflict_check,
    engagement_record_consent,
    task_assign,
)
from supervision.models import Notification, ReminderKind
from tests import factories as f
from tests.conftest import Cast
from vendors.models import DeliveryCentre, Vendor
from vendors.services import conflict_declaration_add

pytestmark = pytest.mark.django_db


def client_for(user: Any) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def conflicts_officer(cast: Cast) -> User:
    """A matter team member who also holds the firm's conflicts permission."""
    cast.staff_on.user_permissions.add(Permission.objects.get(codename="clear_conflicts"))
    return User.objects.get(pk=cast.staff_on.pk)


def engagement_with_a_hit(cast: Cast) -> Engagement:
    """A new vendor whose name is an adverse party's: the search reports an exact hit."""
    vendor = f.vetted_vendor(name="Globex Review Services")
    Party.objects.create(client=cast.matter.client, matter=cast.matter,
                         name="Globex Review Services Ltd", role=PartyRole.ADVERSE)
    engagement = engagement_create(actor=cast.staff_on, matter=cast.matter, vendor=vendor,
                                   scope="Overflow review")
    return engagement_record_consent(actor=cast.staff_on, engagement=engagement,
                                     given_by="GC", given_on=firm_today(),
                                     scope="Overflow", evidence=f.pdf_upload(name="c.pdf"))


def assign(cast: Cast, engagement: Engagement) -> str:
    return task_assign(actor=cast.staff_on, task=cast.task,
                       engagement=Engagement.objects.get(pk=engagement.pk)).status


# --- Conflict clearance ---------------------------------------------------------------------


def test_an_associate_cannot_clear_a_check_with_hits_even_with_notes(cast: Cast) -> None:
    engagement = engagement_with_a_hit(cast)

    with pytest.raises(NotEligible, match="conflicts team"):
        engagement_record_conflict_check(actor=cast.staff_on, engagement=engagement,
                                         result=ConflictCheckStatus.CLEARED,
                                         notes="Different company, same name")

    engagement.refresh_from_db()
    assert engagement.conflict_check_status == ConflictCheckStatus.PENDING
    with pytest.raises(RuleViolation, match=r"conflict check .* is not done yet"):
        assign(cast, engagement)


def test_clearing_with_hits_needs_notes_even_with_the_permission(cast: Cast) -> None:
    engagement = engagement_with_a_hit(cast)
    with pytest.raises(RuleViolation, match="possible conflict") as refusal:
        engagement_record_conflict_check(actor=conflicts_officer(cast), engagement=engagement,
                                         result=ConflictCheckStatus.CLEARED)
    assert refusal.value.code == "notes_required"


def test_a_clearance_keeps_the_hits_it_was_made_on_and_their_hash(cast: Cast) -> None:
    engagement = engagement_with_a_hit(cast)
    expected = hits_record(conflict_search(cast.matter, engagement.vendor))

    cleared = engagement_record_conflict_check(
        actor=conflicts_officer(cast), engagement=engagement,
        result=ConflictCheckStatus.CLEARED,
        notes="Unrelated company: different registration number")

    assert cleared.conflict_hits == expected and len(expected) == 1
    assert expected[0]["likeness"] == "same name"
    assert cleared.conflict_hits_sha256 == hits_fingerprint(expected)
    event = AuditEvent.objects.filter(action="engagement.conflict_checked").latest("pk")
    assert (event.after or {})["hits_sha256"] == cleared.conflict_hits_sha256
    assert assign(cast, cleared) == TaskStatus.ASSIGNED


def test_a_decision_on_hits_that_changed_since_the_page_is_refused(cast: Cast) -> None:
    engagement = engagement_with_a_hit(cast)
    stale = hits_fingerprint([])  # the page showed no hits
    with pytest.raises(RuleViolation, match="found something new") as refusal:
        engagement_record_conflict_check(actor=conflicts_officer(cast), engagement=engagement,
                                         result=ConflictCheckStatus.CLEARED, notes="Fine",
                                         seen_hits_sha256=stale)
    assert refusal.value.code == "hits_changed"


def test_a_declaration_after_clearance_reopens_the_check_and_tells_the_responsible(
    cast: Cast, django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        conflict_declaration_add(actor=cast.vendor_a_user, vendor=cast.engagement_a.vendor,
                                 party_name="Acme Corp", relationship="former employer")

    engagement = Engagement.objects.get(pk=cast.engagement_a.pk)
    assert engagement.conflict_check_status == ConflictCheckStatus.PENDING
    assert "Acme Corp" in engagement.conflict_reopen_reason
    with pytest.raises(RuleViolation, match=r"was reopened .* must be decided again"):
        assign(cast, engagement)
    told = set(Notification.objects.filter(kind=ReminderKind.CONFLICT_REOPENED)
               .values_list("user__username", flat=True))
    # The matter's responsible attorney and the person who cleared the check.
    assert told == {"attorney", "staff_on"}
    assert AuditEvent.objects.filter(action="engagement.conflict_check_reopened",
                                     object_id=str(engagement.pk)).count() == 1

    decided = engagement_record_conflict_check(
        actor=cast.staff_on, engagement=engagement, result=ConflictCheckStatus.CLEARED)
    assert assign(cast, decided) == TaskStatus.ASSIGNED


def test_a_new_party_on_the_matter_reopens_its_checks_only(cast: Cast) -> None:
    Party.objects.create(client=cast.matter.client, matter=cast.matter, name="Initrode",
                         role=PartyRole.CO_PARTY)
    assert Engagement.objects.get(pk=cast.engagement_a.pk).conflict_check_status == "pending"
    assert Engagement.objects.get(pk=cast.engagement_b.pk).conflict_check_status == "cleared"


def test_a_party_of_the_client_on_every_matter_reopens_every_matter_of_the_client(
    cast: Cast,
) -> None:
    Party.objects.create(client=cast.matter.client, name="Acme Subsidiary GmbH",
                         role=PartyRole.CLIENT_AFFILIATE)
    assert Engagement.objects.get(pk=cast.engagement_a.pk).conflict_check_status == "pending"


def test_a_new_vendor_staff_member_reopens_the_vendors_checks(cast: Cast) -> None:
    f.vendor_user(cast.engagement_a.vendor, "new_analyst")
    engagement = Engagement.objects.get(pk=cast.engagement_a.pk)
    assert engagement.conflict_check_status == ConflictCheckStatus.PENDING
    assert "new_analyst" in engagement.conflict_reopen_reason


def test_reopening_is_idempotent_and_leaves_flagged_checks_alone(cast: Cast) -> None:
    vendor = cast.engagement_a.vendor
    assert conflict_checks_reopen_for_vendor(vendor=vendor, reason="first") == 1
    assert conflict_checks_reopen_for_vendor(vendor=vendor, reason="again") == 0
    flagged = engagement_record_conflict_check(
        actor=cast.staff_on, engagement=cast.engagement_a, result=ConflictCheckStatus.FLAGGED,
        notes="Analyst worked for the adverse party")
    assert conflict_checks_reopen_for_vendor(vendor=vendor, reason="third") == 0
    assert Engagement.objects.get(pk=flagged.pk).conflict_check_status == "flagged"


def test_over_http_an_associate_clearing_hits_gets_the_reason(cast: Cast) -> None:
    engagement = engagement_with_a_hit(cast)
    client = client_for(cast.staff_on)
    page = client.get(reverse("engagements:detail", args=[engagement.pk]))
    seen = page.context["conflict_form"]["hits_sha256"].value()

    response = client.post(reverse("engagements:conflict_check", args=[engagement.pk]),
                           {"result": "cleared", "notes": "Not the same", "hits_sha256": seen})

    assert response.status_code == 400
    assert "conflicts team" in str(response.context["conflict_form"].errors)
    assert Engagement.objects.get(pk=engagement.pk).conflict_check_status == "pending"


# --- Consent --------------------------------------------------------------------------------


def test_consent_without_its_evidence_file_is_refused(cast: Cast) -> None:
    engagement = engagement_create(actor=cast.staff_on, matter=cast.matter,
                                   vendor=f.vetted_vendor(), scope="Review")
    with pytest.raises(RuleViolation, match="as evidence") as refusal:
        engagement_record_consent(actor=cast.staff_on, engagement=engagement, given_by="GC",
                                  given_on=firm_today(), scope="All",
                                  evidence=None)
    assert refusal.value.code == "evidence_required"
    assert not Engagement.objects.get(pk=engagement.pk).has_client_consent


def test_consent_recorded_without_a_file_by_other_means_does_not_count(cast: Cast) -> None:
    Engagement.objects.filter(pk=cast.engagement_a.pk).update(consent_evidence="")
    with pytest.raises(RuleViolation, match="has not consented"):
        assign(cast, cast.engagement_a)


def test_revoked_consent_blocks_new_assignments_at_once(cast: Cast) -> None:
    """Work already with the vendor stays there, for the team to recall or reassign."""
    earlier = cast.advance(cast.new_task(title="Already with the vendor"),
                           TaskStatus.IN_PROGRESS)
    engagement_consent_revoke(actor=cast.staff_on, engagement=cast.engagement_a,
                              reason="GC's letter of 1 Dec withdrawing consent")
    with pytest.raises(RuleViolation, match="revoked its consent"):
        assign(cast, cast.engagement_a)
    assert Task.objects.get(pk=earlier.pk).status == TaskStatus.IN_PROGRESS
    event = AuditEvent.objects.get(action="engagement.consent_revoked")
    assert (event.after or {})["reason"].startswith("GC's letter")


def test_consent_can_only_be_revoked_by_the_team_with_a_reason(cast: Cast) -> None:
    with pytest.raises(NotEligible):
        engagement_consent_revoke(actor=cast.staff_off, engagement=cast.engagement_a,
                                  reason="no")
    with pytest.raises(RuleViolation, match="Say how"):
        engagement_consent_revoke(actor=cast.staff_on, engagement=cast.engagement_a,
                                  reason=" ")
    assert Engagement.objects.get(pk=cast.engagement_a.pk).has_client_consent


def _reconsent(cast: Cast, **fields: Any) -> Engagement:
    return engagement_record_consent(
        actor=cast.staff_on, engagement=cast.engagement_a, given_by="GC",
        given_on=fields.pop("given_on", firm_today()), scope="Review",
        evidence=f.pdf_upload("renewed consent", name="consent-2.pdf"), **fields)


def test_expired_consent_blocks_new_assignments(cast: Cast) -> None:
    today = firm_today()
    _reconsent(cast, given_on=today - dt.timedelta(days=30),
               expires_on=today - dt.timedelta(days=1))
    with pytest.raises(RuleViolation, match=r"consent .* expired on"):
        assign(cast, cast.engagement_a)


def test_consent_scoped_to_task_types_refuses_other_work(cast: Cast) -> None:
    _reconsent(cast, task_types=["legal_coding"])
    with pytest.raises(RuleViolation, match="does not cover document review work"):
        assign(cast, cast.engagement_a)
    _reconsent(cast, task_types=["legal_coding", "document_review"])
    assert assign(cast, cast.engagement_a) == TaskStatus.ASSIGNED


def test_consent_scoped_to_countries_refuses_a_vendor_elsewhere(cast: Cast) -> None:
    _reconsent(cast, countries=["us"])
    with pytest.raises(RuleViolation, match="handles data in IN; the client's consent covers "
                                            "only US"):
        assign(cast, cast.engagement_a)


# --- Data residency -------------------------------------------------------------------------


def _restrict(cast: Cast, countries: list[str]) -> None:
    client = cast.matter.client
    client.permitted_countries = countries
    client.save(update_fields=["permitted_countries"])


def test_residency_refuses_a_vendor_outside_the_permitted_countries(cast: Cast) -> None:
    _restrict(cast, ["US", "GB"])
    with pytest.raises(RuleViolation, match=r"handles data in IN; .* permits only GB, US "
                                            r"\(data residency\)") as refusal:
        assign(cast, cast.engagement_a)
    assert refusal.value.code == "assignment_blocked"


def test_residency_counts_every_delivery_centre(cast: Cast) -> None:
    _restrict(cast, ["GB"])
    vendor = cast.engagement_a.vendor
    Vendor.objects.filter(pk=vendor.pk).update(countries=[])
    DeliveryCentre.objects.create(vendor=vendor, city="Belfast", country="GB",
                                  time_zone="Europe/London")
    assert assign(cast, cast.engagement_a) == TaskStatus.ASSIGNED

    DeliveryCentre.objects.create(vendor=vendor, city="Manila", country="PH",
                                  time_zone="Asia/Manila")
    second = cast.new_task(title="Second batch")
    with pytest.raises(RuleViolation, match="handles data in PH"):
        task_assign(actor=cast.staff_on, task=second,
                    engagement=Engagement.objects.get(pk=cast.engagement_a.pk))


def test_residency_refuses_a_vendor_with_no_delivery_centre_on_record(cast: Cast) -> None:
    _restrict(cast, ["US"])
    Vendor.objects.filter(pk=cast.engagement_a.vendor_id).update(countries=[])
    with pytest.raises(RuleViolation, match="no delivery centre on record"):
        assign(cast, cast.engagement_a)


# --- The consent pages ----------------------------------------------------------------------


def _revoke_url(cast: Cast) -> str:
    return reverse("engagements:consent_revoke", args=[cast.engagement_a.pk])


def test_revoke_page_permissions(cast: Cast) -> None:
    data = {"reason": "Client withdrew by e-mail"}
    assert client_for(None).post(_revoke_url(cast), data).status_code == 302  # to login
    assert client_for(cast.vendor_a_user).post(_revoke_url(cast), data).status_code == 404
    assert client_for(cast.staff_off).post(_revoke_url(cast), data).status_code == 404
    assert client_for(cast.screened).post(_revoke_url(cast), data).status_code == 404
    assert client_for(cast.attorney).post(_revoke_url(cast), data).status_code == 403
    assert Engagement.objects.get(pk=cast.engagement_a.pk).has_client_consent

    assert client_for(cast.staff_on).post(_revoke_url(cast), {"reason": ""}).status_code == 400
    done = client_for(cast.staff_on).post(_revoke_url(cast), data)
    assert done.status_code == 302
    assert not Engagement.objects.get(pk=cast.engagement_a.pk).has_client_consent


def test_consent_form_records_expiry_and_scope(cast: Cast) -> None:
    today = firm_today()
    response = client_for(cast.staff_on).post(
        reverse("engagements:consent", args=[cast.engagement_a.pk]),
        {"given_by": "Jane Roe, GC", "given_on": today, "scope": "Coding only",
         "expires_on": today + dt.timedelta(days=90), "task_types": ["legal_coding"],
         "countries": "in, gb", "evidence": f.pdf_upload("I consent", name="consent.pdf")})
    assert response.status_code == 302
    engagement = Engagement.objects.get(pk=cast.engagement_a.pk)
    assert (engagement.consent_task_types, engagement.consent_countries) == (
        ["legal_coding"], ["GB", "IN"])
    assert engagement.consent_expires_on == today + dt.timedelta(days=90)
    assert len(engagement.consent_evidence_sha256) == 64


def test_the_admin_cannot_undo_a_revocation_or_edit_a_decision(cast: Cast) -> None:
    engagement_consent_revoke(actor=cast.staff_on, engagement=cast.engagement_a,
                              reason="Client withdrew consent")
    client = client_for(f.superuser("boss"))
    url = reverse("admin:matters_engagement_change", args=[cast.engagement_a.pk])
    form_fields = set(client.get(url).context["adminform"].form.fields)
    assert not {name for name in form_fields
                if name.startswith(("consent_", "conflict_"))}, form_fields

    client.post(url, {"scope": "Changed scope", "budget_cap": "1", "status": "active",
                      "consent_revoked_at": "", "conflict_check_status": "cleared"})

    engagement = Engagement.objects.get(pk=cast.engagement_a.pk)
    assert engagement.consent_revoked_at is not None
    with pytest.raises(RuleViolation, match="revoked its consent"):
        assign(cast, engagement)
