"""Intake: clients and their parties, and opening a matter through `matter_intake` and the
"New matter" page (the conflict search runs before saving; holiday regions; consent waiver).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.test import Client as HttpClient
from django.urls import reverse

from lpo_tracker.audit.models import AuditEvent
from lpo_tracker.clock import firm_today
from lpo_tracker.errors import NotEligible, RuleViolation
from matters.conflicts import conflict_search
from matters.intake import (
    MatterDraft,
    NewClient,
    PartyInput,
    client_create,
    client_update,
    intake_conflicts,
    matter_intake,
    party_add,
    party_remove,
    party_update,
)
from matters.models import Client, Matter, MatterMembership, MatterRole, Party, PartyRole
from matters.selectors import get_matter_for
from supervision.models import Notification, ReminderKind
from supervision.sla import BusinessCalendar
from tests import factories as f
from tests.conftest import Cast
from vendors.models import ConflictDeclaration

pytestmark = pytest.mark.django_db

EASTER_MONDAY_2026 = dt.date(2026, 4, 6)


def draft(cast: Cast, **changes: Any) -> MatterDraft:
    values: dict[str, Any] = {
        "title": "Globex v. Initech: supply dispute",
        "practice_area": "litigation",
        "responsible_attorney": cast.attorney,
        "client": cast.matter.client,
        "supervising_attorneys": [cast.attorney2],
        "team": [cast.staff_on],
        "time_zone": "Europe/London",
        "holiday_country": "GB",
        "holiday_subdivision": "ENG",
        "budget": Decimal("25000"),
        "currency": "GBP",
        "parties": (PartyInput("Initech Holdings plc", PartyRole.ADVERSE,
                               ("Initrode Ltd",)),),
    }
    values.update(changes)
    return MatterDraft(**values)


def declare(cast: Cast, party_name: str) -> ConflictDeclaration:
    return ConflictDeclaration.objects.create(
        vendor=cast.engagement_a.vendor, party_name=party_name,
        relationship="former employer of a reviewer")


# --- Clients and parties ------------------------------------------------------------------


def test_intake_staff_create_and_edit_clients_audited(cast: Cast) -> None:
    client = client_create(actor=cast.admin, name="Umbrella Corp", code="UMB", country="US")
    client_update(actor=cast.admin, client=client, name="Umbrella Corporation", country="US")

    client.refresh_from_db()
    assert client.name == "Umbrella Corporation"
    updated = AuditEvent.objects.get(action="client.updated")
    assert (updated.before, updated.after) == ({"name": "Umbrella Corp"},
                                               {"name": "Umbrella Corporation"})
    assert AuditEvent.objects.filter(action="client.created", object_id=str(client.pk)).exists()


@pytest.mark.parametrize("who", ["staff_on", "attorney", "vendor_a_user"])
def test_only_intake_staff_create_clients(cast: Cast, who: str) -> None:
    with pytest.raises(NotEligible, match="intake staff"):
        client_create(actor=getattr(cast, who), name="Umbrella Corp", code="UMB")
    assert not Client.objects.filter(code="UMB").exists()


def test_a_party_alias_is_found_by_the_engagement_conflict_search(cast: Cast) -> None:
    declare(cast, "Initrode Limited")
    party = party_add(actor=cast.staff_on, client=cast.matter.client, matter=cast.matter,
                      name="Initech Holdings plc", role=PartyRole.ADVERSE,
                      aliases=["Initrode Ltd", " ", "Initech Holdings plc"])

    assert party.aliases == ["Initrode Ltd"]  # blanks and the name itself dropped
    hits = conflict_search(cast.matter, cast.engagement_a.vendor)
    assert [(hit.party.name, hit.matched_name, hit.likeness) for hit in hits] == [
        ("Initrode Ltd", "Initrode Limited", "same name")]
    assert "alias of “Initech Holdings plc”" in hits[0].reason


def test_matter_team_edits_its_parties_and_each_change_is_audited(cast: Cast) -> None:
    party = party_add(actor=cast.staff_on, client=cast.matter.client, matter=cast.matter,
                      name="Initech", role=PartyRole.ADVERSE)
    party_update(actor=cast.staff_on, party=party, name="Initech Inc.",
                 role=PartyRole.ADVERSE_COUNSEL, aliases=["Initech Legal"])
    party_remove(actor=cast.staff_on, party=party)

    actions = list(AuditEvent.objects.filter(action__startswith="party.")
                   .order_by("id").values_list("action", "matter_id"))
    assert actions == [("party.added", cast.matter.pk), ("party.updated", cast.matter.pk),
                       ("party.removed", cast.matter.pk)]
    assert not Party.objects.filter(pk=party.pk).exists()


@pytest.mark.parametrize("who", ["staff_off", "attorney", "screened"])
def test_people_off_the_matter_team_may_not_edit_its_parties(cast: Cast, who: str) -> None:
    with pytest.raises(NotEligible, match="may not change the parties"):
        party_add(actor=getattr(cast, who), client=cast.matter.client, matter=cast.matter,
                  name="Initech", role=PartyRole.ADVERSE)


def test_client_wide_parties_are_for_intake_staff_only(cast: Cast) -> None:
    with pytest.raises(NotEligible):
        party_add(actor=cast.staff_on, client=cast.matter.client, name="Initech",
                  role=PartyRole.ADVERSE)
    party_add(actor=cast.admin, client=cast.matter.client, name="Initech",
              role=PartyRole.ADVERSE)
    assert Party.objects.filter(client=cast.matter.client, matter__isnull=True).count() == 1


# --- Opening a matter ---------------------------------------------------------------------


def test_intake_searches_conflicts_before_anything_is_saved(cast: Cast) -> None:
    declare(cast, "Initrode Limited")
    matters_before = Matter.objects.count()

    hits = intake_conflicts(draft(cast))

    assert Matter.objects.count() == matters_before
    assert {vendor.name: [hit.matched_name for hit in found]
            for vendor, found in hits.items()} == {"Ashoka Legal Process": ["Initrode Limited"]}


def test_intake_finds_a_party_that_is_the_vendor_itself(cast: Cast) -> None:
    hits = intake_conflicts(draft(cast, parties=(
        PartyInput("Bayanihan Review Partners Inc.", PartyRole.RELATED),)))

    assert [vendor.name for vendor in hits] == ["Bayanihan Review Partners"]
    assert hits[cast.engagement_b.vendor][0].source == "vendor"


def test_matter_intake_opens_the_matter_with_people_parties_and_calendar(cast: Cast) -> None:
    matter = matter_intake(actor=cast.admin, draft=draft(cast))

    assert matter.number.startswith(f"{firm_today().year}-")
    roles = set(MatterMembership.objects.filter(matter=matter)
                .values_list("user__username", "role"))
    assert roles == {("attorney", MatterRole.SUPERVISING_ATTORNEY),
                     ("attorney2", MatterRole.SUPERVISING_ATTORNEY),
                     ("staff_on", MatterRole.TEAM)}
    party = Party.objects.get(matter=matter)
    assert (party.name, party.aliases) == ("Initech Holdings plc", ["Initrode Ltd"])
    assert (matter.holiday_country, matter.holiday_subdivision, matter.currency) == (
        "GB", "ENG", "GBP")
    assert get_matter_for(cast.reload(cast.staff_on), matter.pk) == matter
    # Each person is told, in the app (and by e-mail once the transaction commits).
    notified = set(Notification.objects.filter(kind=ReminderKind.ACCESS_CHANGED)
                   .values_list("user__username", flat=True))
    assert notified == {"attorney", "attorney2", "staff_on"}


def test_e_mail_of_an_access_notice_goes_after_commit(
    cast: Cast, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the one task runs in-process here
    with django_capture_on_commit_callbacks(execute=True):
        matter_intake(actor=cast.admin, draft=draft(cast, supervising_attorneys=[], team=[]))

    assert [message.to for message in mail.outbox] == [[cast.attorney.email]]
    assert "You now supervise matter" in mail.outbox[0].subject


def test_gb_without_a_region_is_refused_because_it_would_drop_easter_monday(cast: Cast) -> None:
    # The library's own calendar: GB alone lacks Easter Monday, England has it.
    assert BusinessCalendar(time_zone="Europe/London", country="GB").is_business_day(
        EASTER_MONDAY_2026)
    assert not BusinessCalendar(time_zone="Europe/London", country="GB",
                                subdivision="ENG").is_business_day(EASTER_MONDAY_2026)

    with pytest.raises(RuleViolation, match="differ by region"):
        matter_intake(actor=cast.admin, draft=draft(cast, holiday_subdivision=""))


@pytest.mark.parametrize(("country", "region", "accepted"), [
    ("US", "NY", True), ("US", "", False), ("IN", "KA", True), ("AU", "NSW", True),
    ("AU", "", False), ("JP", "", True), ("GB", "NY", False), ("ZZ", "", False),
])
def test_holiday_regions_come_from_the_holidays_library(
    cast: Cast, country: str, region: str, accepted: bool
) -> None:
    intake = draft(cast, holiday_country=country, holiday_subdivision=region)
    if accepted:
        assert matter_intake(actor=cast.admin, draft=intake).holiday_country == country
    else:
        with pytest.raises(RuleViolation):
            matter_intake(actor=cast.admin, draft=intake)


def test_turning_consent_off_needs_a_reason_and_is_audited(cast: Cast) -> None:
    with pytest.raises(RuleViolation, match="no client consent"):
        matter_intake(actor=cast.admin, draft=draft(cast, client_consent_required=False))

    matter = matter_intake(actor=cast.admin, draft=draft(
        cast, client_consent_required=False, consent_waiver_reason="Standing consent letter"))

    assert matter.client_consent_waiver_reason == "Standing consent letter"
    event = AuditEvent.objects.get(action="matter.consent_waived")
    assert event.matter_id == matter.pk and event.after is not None
    assert event.after["reason"] == "Standing consent letter"


def test_a_new_client_inline_needs_the_client_permission(cast: Cast) -> None:
    opener = f.UserFactory.create(username="opener")
    opener.user_permissions.add(*f.permissions("add_matter"))
    opener = cast.reload(opener)
    new = NewClient(name="Umbrella Corp", code="UMB")

    with pytest.raises(NotEligible, match="intake staff"):
        matter_intake(actor=opener, draft=draft(cast, client=None, new_client=new))
    assert not Matter.objects.filter(title__startswith="Globex v. Initech").exists()

    matter = matter_intake(actor=cast.admin, draft=draft(cast, client=None, new_client=new))
    assert matter.client.name == "Umbrella Corp"


@pytest.mark.parametrize("who", ["staff_on", "attorney", "vendor_a_user"])
def test_only_those_who_may_open_matters_run_intake(cast: Cast, who: str) -> None:
    with pytest.raises(NotEligible, match="open matters"):
        matter_intake(actor=getattr(cast, who), draft=draft(cast))


# --- The "New matter" page ----------------------------------------------------------------


def intake_post(cast: Cast, **changes: str) -> dict[str, str]:
    data = {
        "client": str(cast.matter.client.pk), "title": "Globex v. Initech: supply dispute",
        "practice_area": "litigation", "responsible_attorney": str(cast.attorney.pk),
        "supervising_attorneys": str(cast.attorney2.pk), "team": str(cast.staff_on.pk),
        "time_zone": "Europe/London", "holiday_country": "GB", "holiday_subdivision": "ENG",
        "budget": "25000", "currency": "gbp", "client_consent_required": "on",
        "parties-TOTAL_FORMS": "2", "parties-INITIAL_FORMS": "0",
        "parties-MIN_NUM_FORMS": "0", "parties-MAX_NUM_FORMS": "30",
        "parties-0-name": "Initech Holdings plc", "parties-0-role": "adverse",
        "parties-0-aliases": "Initrode Ltd", "parties-1-name": "", "parties-1-role": "adverse",
        "action": "check",
    }
    data.update(changes)
    return data


def test_the_page_shows_the_hits_then_opens_the_matter(client: HttpClient, cast: Cast) -> None:
    declare(cast, "Initrode Limited")
    client.force_login(cast.admin)
    url = reverse("matters:intake")

    checked = client.post(url, intake_post(cast))

    assert checked.status_code == 200
    page = checked.content.decode()
    assert "1 possible conflict" in page and "Initrode Limited" in page
    assert not Matter.objects.filter(title__startswith="Globex").exists()
    fingerprint = checked.context["form"]["checked"].value()

    opened = client.post(url, intake_post(cast, action="open", checked=fingerprint))

    matter = Matter.objects.get(title="Globex v. Initech: supply dispute")
    assert opened.status_code == 302 and opened["Location"] == reverse("matters:detail",
                                                                       args=[matter.pk])
    assert matter.currency == "GBP"


def test_changed_parties_are_searched_again_instead_of_saved(
    client: HttpClient, cast: Cast
) -> None:
    client.force_login(cast.admin)
    url = reverse("matters:intake")
    fingerprint = client.post(url, intake_post(cast)).context["form"]["checked"].value()

    response = client.post(url, intake_post(cast, action="open", checked=fingerprint,
                                            **{"parties-1-name": "Ashoka Legal Process"}))

    assert response.status_code == 200
    assert not Matter.objects.filter(title__startswith="Globex").exists()
    assert "Ashoka Legal Process" in response.content.decode()
    assert response.context["checked"] is True


def test_the_page_asks_for_the_region_of_gb(client: HttpClient, cast: Cast) -> None:
    client.force_login(cast.admin)

    response = client.post(reverse("matters:intake"),
                           intake_post(cast, holiday_subdivision=""))

    assert response.status_code == 400
    assert response.context["form"].errors["holiday_subdivision"] == [
        "Public holidays in GB differ by region: choose the region, or the calendar would "
        "leave out regional holidays."]
    regions = client.get(reverse("matters:intake_regions"), {"holiday_country": "GB"})
    assert 'value="SCT"' in regions.content.decode()
    assert "whole country" in client.get(reverse("matters:intake_regions"),
                                         {"holiday_country": "JP"}).content.decode()


def test_the_page_defaults_from_the_firm(client: HttpClient, cast: Cast, settings: Any) -> None:
    settings.FIRM_HOLIDAY_COUNTRY = "US"
    settings.FIRM_HOLIDAY_SUBDIVISION = "NY"
    client.force_login(cast.admin)

    form = client.get(reverse("matters:intake")).context["form"]

    assert form["time_zone"].value() == str(settings.FIRM_TIME_ZONE)
    assert (form["holiday_country"].value(), form["holiday_subdivision"].value()) == ("US", "NY")
    assert form["client_consent_required"].value() is True
    assert form["team"].value() == [cast.admin.pk]
