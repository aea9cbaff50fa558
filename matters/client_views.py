"""Client pages, mounted at /clients/ (namespace "clients"), and the party forms used from the
client and the matter pages.

Clients: the firm's intake staff only (`may_manage_clients`; others 403, vendor users 404,
anonymous users the login page). A party of the client on every matter is kept by intake
staff; a party of one matter also by that matter's team (`may_edit_parties`, the rule of
`matters.intake`). Writes go through `matters.intake`.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from lpo_tracker.errors import RuleViolation
from matters import intake
from matters.intake_forms import ClientForm, ClientSearchForm, PartyForm
from matters.models import Client, Matter, Party
from matters.selectors import CHANGE, get_matter_for, matters_visible_to, may_manage_clients
from vendors.access import signed_in_user, staff_view

CLIENTS_PER_PAGE = 50


def _require_client_pages(request: HttpRequest) -> None:
    if not may_manage_clients(request.user):
        raise PermissionDenied("Clients are kept by the firm's intake staff.")


def _client_for(request: HttpRequest, pk: int) -> Client:
    _require_client_pages(request)
    client = Client.objects.filter(pk=pk).first()
    if client is None:
        raise Http404("No such client.")
    return client


def _party_count(condition: Q) -> Coalesce:
    counted = (Party.objects.filter(condition, client_id=OuterRef("pk")).order_by()
               .values("client_id").annotate(n=Count("pk")).values("n"))
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


@staff_view
@require_GET
def client_list(request: HttpRequest) -> HttpResponse:
    """Queries, whatever the number of rows: the count and one page of clients with their
    party and matter counts as correlated subqueries."""
    _require_client_pages(request)
    form = ClientSearchForm(request.GET or None)
    query = form.query()
    clients = Client.objects.annotate(
        party_count=_party_count(Q(matter__isnull=True)),
        matter_count=Coalesce(Subquery(
            Matter.objects.filter(client_id=OuterRef("pk")).order_by().values("client_id")
            .annotate(n=Count("pk")).values("n"), output_field=IntegerField()), 0),
    ).order_by("name")
    if query:
        clients = clients.filter(Q(name__icontains=query) | Q(code__icontains=query))
    page = Paginator(clients, CLIENTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "matters/clients/list.html",
                  {"page_obj": page, "clients": page.object_list, "query": query, "form": form})


@staff_view
@require_http_methods(["GET", "POST"])
def client_create(request: HttpRequest) -> HttpResponse:
    _require_client_pages(request)
    form = ClientForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in form.Meta.fields}
        try:
            client = intake.client_create(actor=signed_in_user(request), **data)
        except RuleViolation as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Client {client} added.")
            return HttpResponseRedirect(reverse("clients:detail", args=[client.pk]))
    return render(request, "matters/clients/form.html", {"form": form, "client": None},
                  status=400 if form.is_bound and form.errors else 200)


@staff_view
@require_GET
def client_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The client, its parties on every matter, and the matters the user may open."""
    client = _client_for(request, pk)
    return render(request, "matters/clients/detail.html", {
        "client": client,
        "parties": Party.objects.filter(client=client, matter__isnull=True).order_by("name"),
        "matters": matters_visible_to(request.user).filter(client=client)
        .order_by("-opened_on", "-number"),
        "hidden_matters": Matter.objects.filter(client=client)
        .exclude(pk__in=matters_visible_to(request.user).values("pk")).count(),
        "party_form": PartyForm(auto_id="party-%s"),
    })


@staff_view
@require_http_methods(["GET", "POST"])
def client_edit(request: HttpRequest, pk: int) -> HttpResponse:
    client = _client_for(request, pk)
    form = ClientForm(request.POST or None, instance=Client.objects.get(pk=client.pk))
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in form.Meta.fields}
        try:
            intake.client_update(actor=signed_in_user(request), client=client, **data)
        except RuleViolation as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Client {data['name']} saved.")
            return HttpResponseRedirect(reverse("clients:detail", args=[client.pk]))
    return render(request, "matters/clients/form.html", {"form": form, "client": client},
                  status=400 if form.is_bound and form.errors else 200)


# --- Parties --------------------------------------------------------------------------------


def _party_page(party: Party) -> str:
    if party.matter_id is not None:
        return reverse("matters:detail", args=[party.matter_id]) + "#parties"
    return reverse("clients:detail", args=[party.client_id]) + "#parties"


def _party_for(request: HttpRequest, pk: int) -> Party:
    """A party the user may see (404 otherwise: a matter's party needs the matter visible, a
    client's party the client pages) and edit (403)."""
    party = Party.objects.select_related("client", "matter").filter(pk=pk).first()
    if party is None:
        raise Http404("No such party.")
    if party.matter is not None:
        if not (may_manage_clients(request.user)
                or matters_visible_to(request.user).filter(pk=party.matter.pk).exists()):
            raise Http404("No such party.")
    elif not may_manage_clients(request.user):
        raise Http404("No such party.")
    if not intake.may_edit_parties(request.user, party.client, party.matter):
        raise PermissionDenied("You may see this party but not change it.")
    return party


def _add_party(request: HttpRequest, client: Client, matter: Matter | None,
               back: str) -> HttpResponse:
    form = PartyForm(request.POST or None, auto_id="party-%s")
    if request.method == "POST" and form.is_valid():
        try:
            party = intake.party_add(actor=signed_in_user(request), client=client, matter=matter,
                                     **form.service_fields())
        except RuleViolation as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Party {party.name} added.")
            return HttpResponseRedirect(back)
    return render(request, "matters/clients/party_form.html", {
        "form": form, "client": client, "matter": matter, "party": None, "back": back,
    }, status=400 if form.is_bound and form.errors else 200)


@staff_view
@require_http_methods(["GET", "POST"])
def client_party_add(request: HttpRequest, pk: int) -> HttpResponse:
    client = _client_for(request, pk)
    return _add_party(request, client, None,
                      reverse("clients:detail", args=[client.pk]) + "#parties")


@staff_view
@require_http_methods(["GET", "POST"])
def matter_party_add(request: HttpRequest, pk: int) -> HttpResponse:
    matter = get_matter_for(request.user, pk)
    if not intake.may_edit_parties(request.user, matter.client, matter):
        get_matter_for(request.user, pk, perm=CHANGE)  # the usual 403
    return _add_party(request, matter.client, matter,
                      reverse("matters:detail", args=[matter.pk]) + "#parties")


@staff_view
@require_http_methods(["GET", "POST"])
def party_edit(request: HttpRequest, pk: int) -> HttpResponse:
    party = _party_for(request, pk)
    form = (PartyForm(request.POST, auto_id="party-%s") if request.method == "POST"
            else PartyForm.for_party(party, auto_id="party-%s"))
    removing = request.method == "POST" and request.POST.get("remove") == "confirm"
    if removing:
        intake.party_remove(actor=signed_in_user(request), party=party)
        messages.success(request, f"Party {party.name} removed.")
        return HttpResponseRedirect(_party_page(party))
    if request.method == "POST" and form.is_valid():
        try:
            intake.party_update(actor=signed_in_user(request), party=party, **form.service_fields())
        except RuleViolation as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Party {form.cleaned_data['name']} saved.")
            return HttpResponseRedirect(_party_page(party))
    context: dict[str, Any] = {"form": form, "client": party.client, "matter": party.matter,
                               "party": party, "back": _party_page(party),
                               "confirm_remove": request.GET.get("remove") == "1"}
    return render(request, "matters/clients/party_form.html", context,
                  status=400 if form.is_bound and form.errors else 200)
