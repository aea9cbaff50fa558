"""Who works on a matter (/matters/<pk>/people/): the team, the supervising attorneys and the
ethical walls, each change with a confirmation step.

A change is posted twice: first without `confirmed`, which answers the confirmation page
(what will happen, to whom), then with it, which calls the service (`matter_member_add`,
`matter_member_remove`, `wall_add`, `wall_remove`; each audited, the person notified). The
page is for those who may manage the matter's people: its team (change_matter on it) or a
firm administrator who can see it; walls for firm administrators only, the rule the wall
services apply (`is_firm_admin`).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from lpo_tracker.clock import firm_today
from lpo_tracker.errors import RuleViolation
from matters import services
from matters.intake_forms import MemberAddForm, MemberRemoveForm, WallAddForm, WallRemoveForm
from matters.models import EthicalWall, Matter, MatterMembership, MatterRole
from matters.selectors import get_matter_for, is_firm_admin, may_manage_team, supervisor_standing
from vendors.access import signed_in_user, staff_view

ACTIONS: dict[str, type[forms.Form]] = {
    "member_add": MemberAddForm,
    "member_remove": MemberRemoveForm,
    "wall_add": WallAddForm,
    "wall_remove": WallRemoveForm,
}


def _matter_for_people(request: HttpRequest, pk: int) -> Matter:
    matter = get_matter_for(request.user, pk)
    if not may_manage_team(request.user, matter):
        raise PermissionDenied("Only the matter's team or a firm administrator manages its "
                               "people.")
    return matter


def people_context(matter: Matter) -> dict[str, Any]:
    """Team, supervising attorneys (with why any of them cannot sign off today) and walls."""
    walls = list(EthicalWall.objects.filter(matter=matter).select_related("user", "created_by"))
    screened = {wall.user_id for wall in walls}
    memberships = [m for m in MatterMembership.objects.filter(matter=matter)
                   .select_related("user").order_by("user__last_name", "user__first_name",
                                                    "user__username")
                   if m.user_id not in screened]
    supervisors = [m for m in memberships if m.role == MatterRole.SUPERVISING_ATTORNEY]
    standing = supervisor_standing(matter, [m.user for m in supervisors], firm_today())
    return {
        "team": [m for m in memberships if m.role == MatterRole.TEAM],
        "supervisors": [(m, standing.get(m.user_id, [])) for m in supervisors],
        "walls": walls,
    }


def _render(request: HttpRequest, matter: Matter, *, status: int = 200,
            **forms_given: forms.Form) -> HttpResponse:
    can_wall = is_firm_admin(request.user)
    context = {
        "matter": matter,
        **people_context(matter),
        "can_wall": can_wall,
        "member_form": forms_given.get("member_add") or MemberAddForm(auto_id="member-%s"),
        "wall_form": (forms_given.get("wall_add") or WallAddForm(auto_id="wall-%s"))
        if can_wall else None,
        "wall_remove_form": forms_given.get("wall_remove"),
    }
    return render(request, "matters/people/people.html", context, status=status)


@staff_view
@require_GET
def matter_people(request: HttpRequest, pk: int) -> HttpResponse:
    return _render(request, _matter_for_people(request, pk))


def _perform(request: HttpRequest, matter: Matter, action: str, data: dict[str, Any]) -> str:
    actor = signed_in_user(request)
    user = data["user"]
    name = user.get_full_name() or user.get_username()
    if action == "member_add":
        services.matter_member_add(actor=actor, matter=matter, user=user, role=data["role"])
        return f"{name} added as {MatterRole(data['role']).label.lower()}."
    if action == "member_remove":
        services.matter_member_remove(actor=actor, matter=matter, user=user, role=data["role"])
        return f"{name} is no longer {MatterRole(data['role']).label.lower()}."
    if action == "wall_add":
        services.wall_add(actor=actor, matter=matter, user=user, reason=data["reason"])
        return f"{name} is now screened from {matter.number}."
    services.wall_remove(actor=actor, matter=matter, user=user, reason=data["reason"])
    return f"The wall screening {name} from {matter.number} is down."


@staff_view
@require_POST
def people_change(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """One change of the people on the matter: confirm it, then make it."""
    if action not in ACTIONS:
        raise Http404("No such change.")
    matter = _matter_for_people(request, pk)
    if action.startswith("wall_") and not is_firm_admin(request.user):
        raise PermissionDenied("Only a firm administrator puts up or takes down walls.")
    form = ACTIONS[action](request.POST, auto_id=f"{action}-%s")
    if not form.is_valid():
        return _render(request, matter, status=400, **{action: form})
    if request.POST.get("confirmed") != "yes":
        return render(request, "matters/people/confirm.html", {
            "matter": matter, "action": action, "form": form, "data": form.cleaned_data,
            "role_label": MatterRole(form.cleaned_data["role"]).label
            if "role" in form.cleaned_data else "",
        })
    try:
        done = _perform(request, matter, action, form.cleaned_data)
    except RuleViolation as exc:
        form.add_error(None, exc.message)
        messages.error(request, exc.message)
        return _render(request, matter, status=400, **{action: form})
    messages.success(request, done)
    if action == "wall_add" and form.cleaned_data["user"].pk == request.user.pk:
        return HttpResponseRedirect(reverse("matters:list"))  # they no longer see it
    return HttpResponseRedirect(reverse("matters:people", args=[matter.pk]))
