"""The header's search: matter numbers and titles, clients, parties (their aliases too), tasks
and vendors, scoped to what the asking user may see.

Scope is the selectors' own, never a second list:

- matters and tasks: `matters_visible_to` / `tasks_visible_to` (grants, and walls: a screened
  user finds nothing of the matter);
- clients: those of a matter the user may see; every client for intake staff
  (`may_manage_clients`, who keep the client list);
- parties: those of a matter the user may see, and the client-wide parties of the clients
  found that way; every party for intake staff;
- vendors: holders of `vendors.view_vendor` (who have the vendor pages);
- vendor users: no search at all (the page answers 404, the header has no box).

Matching: on PostgreSQL a case-insensitive substring (`ILIKE`) or a trigram word match
(`%>`, pg_trgm), both served by one GIN trigram index per searched column
(migration `matters/0012_search_trigram_indexes`), best match first; on SQLite (`make run`)
a plain case-insensitive substring, by name. Each group is one query, at most
`RESULTS_PER_GROUP` rows, so a search costs the same however much matches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.contrib.postgres.lookups import TrigramWordSimilar
from django.contrib.postgres.search import TrigramWordSimilarity
from django.db import connection
from django.db.models import CharField, Exists, F, Lookup, OuterRef, Q, QuerySet, TextField
from django.db.models.functions import Cast, Greatest

from matters.models import Client, Matter, Party, Task
from matters.selectors import matters_visible_to, may_manage_clients, tasks_visible_to
from vendors.models import Vendor
from vendors.selectors import VIEW_VENDORS, is_vendor_user

AnyUser = User | AnonymousUser

RESULTS_PER_GROUP = 10
# Shorter queries match too much to be useful (and make no trigram).
MIN_QUERY_LENGTH = 2
MAX_QUERY_LENGTH = 100


# django.contrib.postgres is not an installed app (SQLite must work too), so the trigram word
# lookup (`%>`) is registered here, for the columns searched.
CharField.register_lookup(TrigramWordSimilar)
TextField.register_lookup(TrigramWordSimilar)


@CharField.register_lookup
@TextField.register_lookup
class ContainsInsensitive(Lookup):  # type: ignore[type-arg]
    """`col ILIKE '%term%'` (PostgreSQL): unlike Django's `icontains` (`UPPER(col) LIKE …`)
    it is served by a GIN trigram index on the column itself."""

    lookup_name = "ilike_contains"

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} ILIKE {rhs}", [*lhs_params, *rhs_params]

    def get_db_prep_lookup(self, value: Any, connection: Any) -> tuple[str, list[Any]]:
        escaped = str(value).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return "%s", [f"%{escaped}%"]


@dataclass
class SearchResults:
    query: str
    matters: list[Matter] = field(default_factory=list)
    clients: list[Client] = field(default_factory=list)
    parties: list[Party] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    vendors: list[Vendor] = field(default_factory=list)
    # Whether the user has the client and vendor pages (the results link there).
    links_clients: bool = False
    searched_vendors: bool = False

    @property
    def total(self) -> int:
        return sum(
            len(group)
            for group in (self.matters, self.clients, self.parties, self.tasks, self.vendors)
        )


def may_search(user: AnyUser) -> bool:
    """Signed-in firm staff; vendor users work from their portal and have no search."""
    return bool(user.is_authenticated and user.is_active and not is_vendor_user(user))


def clean_query(raw: str) -> str:
    return " ".join(raw.split())[:MAX_QUERY_LENGTH]


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def _matching(
    queryset: QuerySet[Any],
    term: str,
    columns: tuple[str, ...],
    order: tuple[Any, ...],
    limit: int = RESULTS_PER_GROUP,
) -> list[Any]:
    """At most `limit` rows where any of `columns` (text columns, real or annotated)
    contains `term`; on PostgreSQL also a trigram word match, the best similarity first,
    then `order`."""
    if not _postgres():
        condition = Q()
        for column in columns:
            condition |= Q(**{f"{column}__icontains": term})
        return list(queryset.filter(condition).order_by(*order)[:limit])
    condition = Q()
    for column in columns:
        condition |= Q(**{f"{column}__ilike_contains": term})
        if len(term) >= 3:
            condition |= Q(**{f"{column}__trigram_word_similar": term})
    similarities = [TrigramWordSimilarity(term, column) for column in columns]
    rank = Greatest(*similarities) if len(similarities) > 1 else similarities[0]
    return list(queryset.filter(condition).annotate(rank=rank).order_by("-rank", *order)[:limit])


def search_for(user: AnyUser, raw_query: str) -> SearchResults:
    """What `user` may see that matches `raw_query`, by kind; empty for a query too short or
    a user with no search."""
    term = clean_query(raw_query)
    results = SearchResults(query=term)
    if len(term) < MIN_QUERY_LENGTH or not may_search(user):
        return results
    matters = matters_visible_to(user)
    manages_clients = may_manage_clients(user)
    results.links_clients = manages_clients
    results.matters = _matching(matters, term, ("number", "title"), ("-opened_on", "pk"))
    clients = Client.objects.all()
    if not manages_clients:
        clients = clients.filter(Exists(matters.filter(client=OuterRef("pk"))))
    results.clients = _matching(clients, term, ("name", "code"), ("name",))
    parties = Party.objects.select_related("client", "matter").annotate(
        aliases_text=Cast("aliases", TextField())
    )
    if not manages_clients:
        parties = parties.filter(
            Q(Exists(matters.filter(pk=OuterRef("matter_id"))))
            | Q(matter__isnull=True) & Q(Exists(matters.filter(client=OuterRef("client_id"))))
        )
    results.parties = _matching(parties, term, ("name", "aliases_text"), ("name", "pk"))
    results.tasks = _matching(
        tasks_visible_to(user), term, ("title",), (F("sla_due_at").asc(nulls_last=True), "pk")
    )
    if user.has_perm(VIEW_VENDORS):
        results.searched_vendors = True
        results.vendors = _matching(Vendor.objects.all(), term, ("name", "legal_name"), ("name",))
    return results
