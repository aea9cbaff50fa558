"""The "New matter" page (/matters/new/): intake in two steps, check then open.

1. "Check conflicts" validates the form and runs the conflict search of the client and the
   parties as typed against every approved or engaged vendor and its staff's declarations,
   before anything is saved; the page shows the hits.
2. "Open the matter" saves through `matters.intake.matter_intake`, but only for the parties
   the person saw searched: the form carries the fingerprint of the searched client and
   parties, and a change since then runs the search again instead of saving.

Who may: `may_open_matters` (403 otherwise; vendor users 404, anonymous users the login).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from lpo_tracker.errors import NotEligible, RuleViolation
from matters import intake
from matters.intake_forms import (
    IntakeForm,
    IntakePartyFormSet,
    draft_fingerprint,
    intake_parties,
)
from matters.selectors import may_open_matters
from vendors.access import signed_in_user, staff_view


def _require_intake(request: HttpRequest) -> None:
    if not may_open_matters(request.user):
        raise PermissionDenied("Opening matters is for the firm's intake staff.")


@staff_view
@require_http_methods(["GET", "POST"])
def matter_intake(request: HttpRequest) -> HttpResponse:
    _require_intake(request)
    actor = signed_in_user(request)
    if request.method != "POST":
        initial = {"client": request.GET.get("client")} if request.GET.get("client") else {}
        return _render(request, IntakeForm(actor=actor, initial=initial),
                       IntakePartyFormSet(prefix="parties"))
    form = IntakeForm(request.POST, actor=actor)
    parties = IntakePartyFormSet(request.POST, prefix="parties")
    if not (form.is_valid() and parties.is_valid()):
        return _render(request, form, parties, status=400)
    draft = form.draft(intake_parties(parties))
    fingerprint = draft_fingerprint(draft)
    if request.POST.get("action") == "open" and form.cleaned_data["checked"] == fingerprint:
        try:
            matter = intake.matter_intake(actor=actor, draft=draft)
        except NotEligible as exc:
            raise PermissionDenied(exc.message) from exc
        except RuleViolation as exc:
            _add_service_error(form, exc)
        else:
            messages.success(request, f"Matter {matter.number} opened. Engage a vendor from "
                             "its page; each engagement records its own conflict check.")
            return HttpResponseRedirect(reverse("matters:detail", args=[matter.pk]))
        return _render(request, form, parties, status=400)
    if request.POST.get("action") == "open":
        messages.warning(request, "The client or the parties changed since the last conflict "
                         "search: review the new results, then open the matter.")
    try:
        intake.check_draft(draft)
    except RuleViolation as exc:
        _add_service_error(form, exc)
        return _render(request, form, parties, status=400)
    hits = intake.intake_conflicts(draft)
    data = request.POST.copy()
    data["checked"] = fingerprint
    checked_form = IntakeForm(data, actor=actor)
    checked_form.is_valid()
    return _render(request, checked_form, parties, hits=hits, checked=True)


def _add_service_error(form: IntakeForm, exc: RuleViolation) -> None:
    field = {"holiday_region": "holiday_subdivision",
             "reason_required": "consent_waiver_reason",
             "client_required": "client"}.get(exc.code)
    form.add_error(field, exc.message)


def _render(request: HttpRequest, form: IntakeForm, parties: Any, *,
            hits: dict[Any, Any] | None = None, checked: bool = False,
            status: int = 200) -> HttpResponse:
    return render(request, "matters/intake.html", {
        "form": form,
        "parties": parties,
        "hits": hits or {},
        "hit_count": sum(len(found) for found in (hits or {}).values()),
        "checked": checked,
    }, status=status)


@staff_view
@require_GET
def holiday_regions(request: HttpRequest) -> HttpResponse:
    """The region field for the country typed (htmx, while the person types)."""
    _require_intake(request)
    form = IntakeForm(actor=signed_in_user(request),
                      initial={"holiday_country": request.GET.get("holiday_country", "")})
    return render(request, "matters/_holiday_region.html", {"field": form["holiday_subdivision"]})
