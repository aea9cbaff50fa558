"""Who may open the intake, client, party, people, engagement-start and closing pages (the
whole cast, and anonymous users), what the navigation offers, and what the new list pages
cost in queries for 1 and 50 rows."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from matters.intake import party_add
from matters.models import MatterRole, Party, PartyRole
from matters.services import matter_member_add
from tests import factories as f
from tests.conftest import Cast
from tests.matters.test_views_queries import count_queries, layout_baseline

pytestmark = pytest.mark.django_db

UrlBuilder = Callable[[Cast], str]


def client_party(cast: Cast) -> Party:
    return Party.objects.get_or_create(client=cast.matter.client, matter=None,
                                       name="Globex Holdings", role=PartyRole.RELATED)[0]


def matter_party(cast: Cast) -> Party:
    return Party.objects.get_or_create(client=cast.matter.client, matter=cast.matter,
                                       name="Initech", role=PartyRole.ADVERSE)[0]


URLS: dict[str, UrlBuilder] = {
    "clients": lambda c: reverse("clients:list"),
    "client_create": lambda c: reverse("clients:create"),
    "client_detail": lambda c: reverse("clients:detail", args=[c.matter.client_id]),
    "client_edit": lambda c: reverse("clients:edit", args=[c.matter.client_id]),
    "client_party_add": lambda c: reverse("clients:party_add", args=[c.matter.client_id]),
    "client_party_edit": lambda c: reverse("clients:party_edit", args=[client_party(c).pk]),
    "matter_party_edit": lambda c: reverse("clients:party_edit", args=[matter_party(c).pk]),
    "matter_party_add": lambda c: reverse("matters:party_add", args=[c.matter.pk]),
    "intake": lambda c: reverse("matters:intake"),
    "intake_regions": lambda c: reverse("matters:intake_regions") + "?holiday_country=GB",
    "people": lambda c: reverse("matters:people", args=[c.matter.pk]),
    "people_change": lambda c: reverse("matters:people_change",
                                       args=[c.matter.pk, "member_add"]),
    "close": lambda c: reverse("matters:close", args=[c.matter.pk]),
    "engagement_start": lambda c: reverse("engagements:start"),
    "engagement_end": lambda c: reverse("engagements:end", args=[c.engagement_a.pk]),
}
POST_ONLY = {"people_change"}
CAST = ["admin", "staff_on", "staff_off", "screened", "attorney", "attorney2",
        "lapsed_attorney", "vendor_a_user", "vendor_b_user"]
VENDORS = {"vendor_a_user": 404, "vendor_b_user": 404}
OFF_MATTER = {"staff_off": 404, "screened": 404, "admin": 404}
ATTORNEYS_SEE_ONLY = {"attorney": 403, "attorney2": 403, "lapsed_attorney": 403}

# Intake staff (the cast's admin holds add_matter and change_client) or nobody.
INTAKE_ONLY = {who: 403 for who in CAST} | {"admin": 200} | VENDORS
# The matter's team (change_matter on it); attorneys see the matter (403), others do not.
TEAM_ONLY = {"staff_on": 200} | ATTORNEYS_SEE_ONLY | OFF_MATTER | VENDORS
EXPECTED: dict[str, dict[str, int]] = {
    "clients": INTAKE_ONLY,
    "client_create": INTAKE_ONLY,
    "client_detail": INTAKE_ONLY,
    "client_edit": INTAKE_ONLY,
    "client_party_add": INTAKE_ONLY,
    # A party on every matter is invisible outside intake (404, like a client page would be
    # if it were a page of theirs to see).
    "client_party_edit": {who: 404 for who in CAST} | {"admin": 200},
    # A matter's party: its team and intake staff edit it; attorneys see the matter only.
    "matter_party_edit": TEAM_ONLY | {"admin": 200},
    "matter_party_add": TEAM_ONLY,
    "intake": INTAKE_ONLY,
    "intake_regions": INTAKE_ONLY,
    "people": TEAM_ONLY,
    "people_change": TEAM_ONLY,
    "close": TEAM_ONLY,
    # Everyone on the firm's side (each sees only the matters they may engage on).
    "engagement_start": {who: 200 for who in CAST} | VENDORS,
    "engagement_end": TEAM_ONLY,
}
TABLE = [(page, who, code) for page, codes in EXPECTED.items() for who, code in codes.items()]


def test_the_table_covers_every_page_and_the_whole_cast() -> None:
    assert set(EXPECTED) == set(URLS)
    assert all(set(codes) == set(CAST) for codes in EXPECTED.values())


@pytest.mark.parametrize(("page", "who", "expected"), TABLE)
def test_access(client: Client, cast: Cast, page: str, who: str, expected: int) -> None:
    client.force_login(getattr(cast, who))
    url = URLS[page](cast)
    if page in POST_ONLY:
        response = client.post(url, {"user": cast.staff_off.pk, "role": MatterRole.TEAM})
    else:
        response = client.get(url)
    assert response.status_code == expected


@pytest.mark.parametrize("page", sorted(URLS))
def test_anonymous_is_sent_to_login(client: Client, cast: Cast, page: str) -> None:
    url = URLS[page](cast)
    response = client.post(url) if page in POST_ONLY else client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")


def test_people_changes_refuse_get(client: Client, cast: Cast) -> None:
    client.force_login(cast.staff_on)
    assert client.get(URLS["people_change"](cast)).status_code == 405


# --- Navigation ---------------------------------------------------------------------------


def nav(client: Client, user: object) -> set[str]:
    client.force_login(user)  # type: ignore[arg-type]
    return {item["label"] for item in client.get("/").context["NAV_ITEMS"]}


def test_navigation_offers_each_new_page_to_those_who_may_open_it(
    client: Client, cast: Cast
) -> None:
    new = {"New matter", "Clients", "Engage a vendor"}
    assert nav(client, cast.admin) & new == {"New matter", "Clients"}  # on no matter's team
    assert nav(client, cast.staff_on) & new == {"Engage a vendor"}
    assert nav(client, cast.attorney) & new == set()  # supervises; engaging is the team's


def test_the_matter_page_links_engaging_people_and_closing_for_its_team(
    client: Client, cast: Cast
) -> None:
    client.force_login(cast.staff_on)
    page = client.get(reverse("matters:detail", args=[cast.matter.pk])).content.decode()
    for url in (reverse("engagements:create", args=[cast.matter.pk]),
                reverse("matters:people", args=[cast.matter.pk]),
                reverse("matters:close", args=[cast.matter.pk]),
                reverse("matters:party_add", args=[cast.matter.pk])):
        assert url in page
    client.force_login(cast.attorney)
    page = client.get(reverse("matters:detail", args=[cast.matter.pk])).content.decode()
    assert reverse("engagements:create", args=[cast.matter.pk]) not in page


def test_rate_cards_offered_are_the_vendors_in_the_matters_currency(
    client: Client, cast: Cast
) -> None:
    from vendors.models import RateCard

    vendor = cast.engagement_b.vendor
    usd = RateCard.objects.create(vendor=vendor, name="Standard", currency="USD",
                                  effective_from=cast.matter.opened_on)
    RateCard.objects.create(vendor=vendor, name="London", currency="GBP",
                            effective_from=cast.matter.opened_on)
    other = RateCard.objects.create(vendor=f.vetted_vendor(name="Other LPO"), name="Std",
                                    currency="USD", effective_from=cast.matter.opened_on)
    client.force_login(cast.staff_on)
    url = reverse("engagements:create", args=[cast.matter.pk])

    form = client.get(url, {"vendor": vendor.pk}).context["form"]
    assert list(form.fields["rate_card"].queryset) == [usd]

    response = client.post(url, {"vendor": vendor.pk, "scope": "Review", "budget_cap": "0",
                                 "rate_card": other.pk})
    assert response.status_code == 400
    assert "rate_card" in response.context["form"].errors


# --- Query counts -------------------------------------------------------------------------

# The client list adds: may_manage_clients's "is a vendor user at all?" check (the model
# permissions are cached by the navigation), the paginator's COUNT, and one page of clients
# with their party and matter counts (correlated subqueries).
CLIENT_LIST_QUERIES = 3
# "Engage a vendor": the paginator's COUNT and one page of matters with their clients.
ENGAGEMENT_START_QUERIES = 2


def test_client_list_costs_the_same_for_1_and_50_clients(client: Client, cast: Cast) -> None:
    client.force_login(cast.admin)
    baseline = layout_baseline(client)
    url = reverse("clients:list")
    one = count_queries(client, url)
    for number in range(49):
        extra = f.ClientFactory.create()
        party_add(actor=cast.admin, client=extra, name=f"Adverse {number}",
                  role=PartyRole.ADVERSE)
    fifty = count_queries(client, url)

    assert one == fifty == baseline + CLIENT_LIST_QUERIES
    assert len(client.get(url).context["clients"]) == 50


def test_engagement_start_costs_the_same_for_1_and_50_matters(
    client: Client, cast: Cast
) -> None:
    client.force_login(cast.staff_on)
    baseline = layout_baseline(client)
    url = reverse("engagements:start")
    one = count_queries(client, url)
    for number in range(49):
        matter = f.matter(actor=cast.admin, responsible=cast.attorney, title=f"Matter {number}")
        matter_member_add(actor=cast.admin, matter=matter, user=cast.staff_on,
                          role=MatterRole.TEAM)
    fifty = count_queries(client, url)

    assert one == fifty == baseline + ENGAGEMENT_START_QUERIES
    assert len(client.get(url).context["matters"]) == 50
