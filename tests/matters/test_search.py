"""The header search (issue 11, item 7): matters, clients, parties with their aliases, tasks
and vendors, only what the asking user may see (walls included), trigram-matched on
PostgreSQL with its indexes, a plain fallback elsewhere; the page for the whole cast."""

from __future__ import annotations

import importlib

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.urls import reverse

from matters import search as search_module
from matters.intake import party_add
from matters.models import Matter, PartyRole
from matters.search import RESULTS_PER_GROUP, search_for
from tests import factories as f
from tests.conftest import Cast
from tests.matters.test_views_queries import count_queries, layout_baseline

pytestmark = pytest.mark.django_db

URL = reverse("search")
CAST = [
    "admin",
    "staff_on",
    "staff_off",
    "screened",
    "attorney",
    "attorney2",
    "lapsed_attorney",
    "vendor_a_user",
    "vendor_b_user",
]


@pytest.fixture
def parties(cast: Cast) -> None:
    party_add(
        actor=cast.admin,
        client=cast.matter.client,
        matter=cast.matter,
        name="Globex Holdings",
        role=PartyRole.ADVERSE,
        aliases=["Initrode Corp"],
    )
    party_add(
        actor=cast.admin,
        client=cast.other_matter.client,
        matter=cast.other_matter,
        name="Umbrella Pharma",
        role=PartyRole.ADVERSE,
    )


def found(user: object, query: str) -> dict[str, set[str]]:
    results = search_for(user, query)  # type: ignore[arg-type]
    return {
        "matters": {m.number for m in results.matters},
        "clients": {c.name for c in results.clients},
        "parties": {p.name for p in results.parties},
        "tasks": {t.title for t in results.tasks},
        "vendors": {v.name for v in results.vendors},
    }


def with_vendor_pages(user: object) -> object:
    user.user_permissions.add(  # type: ignore[attr-defined]
        Permission.objects.get(content_type__app_label="vendors", codename="view_vendor")
    )
    return type(user).objects.get(pk=user.pk)  # type: ignore[attr-defined]


# --- What each person finds -----------------------------------------------------------------


def test_the_team_finds_its_matter_by_number_title_client_party_alias_and_task(
    cast: Cast, parties: None
) -> None:
    number = cast.matter.number
    assert found(cast.staff_on, number)["matters"] >= {number}
    assert found(cast.staff_on, "globex")["matters"] == {number}
    assert found(cast.staff_on, "globex")["parties"] == {"Globex Holdings"}
    assert found(cast.staff_on, "initrode")["parties"] == {"Globex Holdings"}  # an alias
    assert found(cast.staff_on, "custodian")["tasks"] == {cast.task.title}
    assert found(cast.staff_on, cast.matter.client.name)["clients"] == {cast.matter.client.name}


def test_a_walled_user_finds_nothing_of_the_walled_matter(cast: Cast, parties: None) -> None:
    for query in (cast.matter.number, "globex", "initrode", "custodian", cast.matter.client.name):
        assert found(cast.screened, query) == {
            "matters": set(),
            "clients": set(),
            "parties": set(),
            "tasks": set(),
            "vendors": set(),
        }, query


def test_staff_off_the_matter_find_only_their_own(cast: Cast, parties: None) -> None:
    assert found(cast.staff_off, "globex")["parties"] == set()
    assert found(cast.staff_off, "umbrella")["parties"] == {"Umbrella Pharma"}
    assert found(cast.staff_off, "holdings")["clients"] == {cast.other_matter.client.name}
    assert found(cast.staff_off, "review")["matters"] == {cast.other_matter.number}


def test_intake_staff_find_every_client_and_party_but_no_matter_they_cannot_see(
    cast: Cast, parties: None
) -> None:
    result = found(cast.admin, "holdings")
    assert result["clients"] == {cast.matter.client.name, cast.other_matter.client.name}
    assert result["parties"] == {"Globex Holdings"}
    assert result["matters"] == set()  # intake opens matters, it does not join them


def test_vendors_are_found_by_those_with_the_vendor_pages_only(cast: Cast) -> None:
    assert found(cast.staff_on, "ashoka")["vendors"] == set()
    assert search_for(cast.staff_on, "ashoka").searched_vendors is False
    manager = with_vendor_pages(cast.staff_on)
    assert found(manager, "ashoka")["vendors"] == {"Ashoka Legal Process"}


def test_vendor_users_search_nothing(cast: Cast) -> None:
    assert search_for(cast.vendor_a_user, "custodian").total == 0
    assert search_for(cast.vendor_a_user, "ashoka").total == 0


def test_a_short_query_or_like_wildcards_match_nothing(cast: Cast) -> None:
    assert search_for(cast.staff_on, "a").total == 0
    assert search_for(cast.staff_on, "%%").total == 0
    assert search_for(cast.staff_on, "__").total == 0


def test_on_postgresql_a_typo_still_finds_the_party(cast: Cast, parties: None) -> None:
    assert connection.vendor == "postgresql"
    assert found(cast.staff_on, "Globx")["parties"] == {"Globex Holdings"}


def test_the_plain_fallback_finds_substrings_without_trigrams(
    cast: Cast, parties: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What SQLite (`make run`) runs: icontains only, so a typo finds nothing."""
    monkeypatch.setattr(search_module, "_postgres", lambda: False)
    assert found(cast.staff_on, "initrode")["parties"] == {"Globex Holdings"}
    assert found(cast.staff_on, "custodian")["tasks"] == {cast.task.title}
    assert found(cast.staff_on, "Globx")["parties"] == set()
    assert found(cast.screened, "globex")["parties"] == set()


@pytest.mark.parametrize(
    ("table", "column", "index"),
    [
        ("matters_task", "title", "search_task_title_trgm"),
        ("matters_matter", "title", "search_matter_title_trgm"),
        ("matters_party", "(aliases::text)", "search_party_aliases_trgm"),
    ],
)
def test_postgresql_serves_substring_and_trigram_matches_from_the_gin_index(
    table: str, column: str, index: str
) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        for condition in (f"{column} ILIKE %s", f"%s <%% {column}"):
            cursor.execute(
                f"EXPLAIN SELECT 1 FROM {table} WHERE {condition}",
                ["%custod%" if "ILIKE" in condition else "custod"],
            )
            plan = " ".join(row[0] for row in cursor.fetchall())
            assert index in plan, plan


def test_every_searched_column_has_its_trigram_index() -> None:
    """Unique names (clients, vendors) also have Django's pattern index, which an empty
    table's planner may prefer; the trigram one must exist all the same."""
    migration = importlib.import_module("matters.migrations.0014_search_trigram_indexes")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE indexname LIKE 'search_%%_trgm'"
        )
        defined = dict(cursor.fetchall())
    assert set(defined) == {name for name, _table, _column in migration.INDEXES}
    assert all("gin_trgm_ops" in definition for definition in defined.values())


# --- The page -------------------------------------------------------------------------------

PAGE = {who: 200 for who in CAST} | {"vendor_a_user": 404, "vendor_b_user": 404}


@pytest.mark.parametrize("who", CAST)
def test_search_page_access(client: Client, cast: Cast, who: str) -> None:
    client.force_login(getattr(cast, who))
    assert client.get(URL, {"q": "globex"}).status_code == PAGE[who]


def test_anonymous_is_sent_to_login(client: Client) -> None:
    response = client.get(URL, {"q": "globex"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")


def test_the_page_groups_results_by_kind(client: Client, cast: Cast, parties: None) -> None:
    client.force_login(cast.staff_on)
    body = client.get(URL, {"q": "globex"}).content.decode()
    assert 'id="found-matters"' in body and 'id="found-parties"' in body
    assert reverse("matters:detail", args=[cast.matter.pk]) in body
    assert 'id="found-vendors"' not in body
    body = client.get(URL, {"q": "nothing like this"}).content.decode()
    assert "Nothing you may see matches" in body


def test_the_screened_user_sees_no_trace_on_the_page(
    client: Client, cast: Cast, parties: None
) -> None:
    client.force_login(cast.screened)
    body = client.get(URL, {"q": "globex"}).content.decode()
    assert cast.matter.number not in body and "Globex Holdings" not in body


def test_htmx_gets_only_the_results(client: Client, cast: Cast) -> None:
    client.force_login(cast.staff_on)
    response = client.get(
        URL, {"q": "custodian"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="search-results"
    )
    body = response.content.decode()
    assert "<html" not in body and 'id="search-results"' in body and cast.task.title in body


def test_the_header_has_the_box_for_staff_not_for_vendor_users(client: Client, cast: Cast) -> None:
    client.force_login(cast.staff_on)
    assert 'id="site-search"' in client.get(reverse("supervision:dashboard")).content.decode()
    client.force_login(cast.vendor_a_user)
    assert 'id="site-search"' not in client.get(reverse("portal:tasks")).content.decode()


# The search adds: may_manage_clients's vendor check (model permissions are cached by the
# navigation), then one query per group: matters, clients, parties, tasks (vendors: none,
# the user has no vendor pages).
SEARCH_QUERIES = 5


def test_search_costs_the_same_for_1_and_50_matches(client: Client, cast: Cast) -> None:
    client.force_login(cast.staff_on)
    baseline = layout_baseline(client)
    url = f"{URL}?q=zebra"
    f.draft_task(actor=cast.staff_on, matter=cast.matter, title="Zebra custodian 0")
    one = count_queries(client, url)
    for number in range(1, 50):
        f.draft_task(actor=cast.staff_on, matter=cast.matter, title=f"Zebra custodian {number}")
        party_add(
            actor=cast.admin,
            client=cast.matter.client,
            matter=cast.matter,
            name=f"Zebra Holdings {number}",
            role=PartyRole.RELATED,
        )
    fifty = count_queries(client, url)
    assert one == fifty == baseline + SEARCH_QUERIES
    results = client.get(url).context["results"]
    assert len(results.tasks) == len(results.parties) == RESULTS_PER_GROUP
    assert Matter.objects.count() == 2
