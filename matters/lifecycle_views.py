"""Starting and ending work with vendors, and closing a matter.

- /engagements/start/: "Engage a vendor" from the navigation: the open matters on which the
  user may engage one (`matters_open_for_engagement`, the rule `engagement_create` applies),
  each linking to the engagement form of that matter.
- /engagements/<pk>/end/: end an engagement, with a reason (`engagement_end`).
- /matters/<pk>/close/: the closing checklist the software checks, and the close itself
  (`matter_close`), refused with the list of what is still open.

Firm staff only (vendor users 404, anonymous users the login page); changing needs
change_matter on the matter (403), seeing it the usual visibility (404).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from lpo_tracker.errors import RuleViolation
from matters import closing
from matters.intake_forms import CloseForm, ReasonForm
from matters.models import Engagement, MatterStatus
from matters.selectors import (
    CHANGE,
    get_matter_for,
    matters_open_for_engagement,
    matters_with_perm,
    user_has_matter_perm,
)
from vendors.access import signed_in_user, staff_view

MATTERS_PER_PAGE = 50


@staff_view
@require_GET
def engagement_start(request: HttpRequest) -> HttpResponse:
    """Queries, whatever the number of rows: the count and one page of matters with their
    clients."""
    matters = matters_open_for_engagement(request.user).order_by("-opened_on", "-number")
    page = Paginator(matters, MATTERS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "matters/engagements/start.html",
                  {"page_obj": page, "matters": page.object_list})


def _engagement_for_change(request: HttpRequest, pk: int) -> Engagement:
    engagement = (Engagement.objects.select_related("matter", "matter__client", "vendor")
                  .filter(pk=pk, matter__in=matters_with_perm(request.user).values("pk"))
                  .first())
    if engagement is None:
        raise Http404("No such engagement.")
    if not user_has_matter_perm(request.user, engagement.matter, CHANGE):
        raise PermissionDenied("You may see this engagement but not end it.")
    return engagement


@staff_view
@require_http_methods(["GET", "POST"])
def engagement_end(request: HttpRequest, pk: int) -> HttpResponse:
    engagement = _engagement_for_change(request, pk)
    form = ReasonForm(request.POST or None, auto_id="end-%s")
    if request.method == "POST" and form.is_valid():
        try:
            closing.engagement_end(actor=signed_in_user(request), engagement=engagement,
                                   reason=form.cleaned_data["reason"])
        except RuleViolation as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"The engagement of {engagement.vendor} has ended.")
            return HttpResponseRedirect(reverse("matters:detail", args=[engagement.matter_id])
                                        + "#engagements")
    return render(request, "matters/engagements/end.html",
                  {"engagement": engagement, "matter": engagement.matter, "form": form},
                  status=400 if form.is_bound and form.errors else 200)


@staff_view
@require_http_methods(["GET", "POST"])
def matter_close(request: HttpRequest, pk: int) -> HttpResponse:
    matter = get_matter_for(request.user, pk, perm=CHANGE)
    form = CloseForm(request.POST or None, auto_id="close-%s")
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            closing.matter_close(actor=signed_in_user(request), matter=matter,
                                 note=form.cleaned_data["note"])
        except RuleViolation as exc:
            form.add_error(None, exc.message)
            status = 400
        else:
            messages.success(request, f"Matter {matter.number} is closed.")
            return HttpResponseRedirect(reverse("matters:detail", args=[matter.pk]))
    checklist = closing.matter_close_checklist(matter)
    return render(request, "matters/close.html", {
        "matter": matter, "form": form, "checklist": checklist,
        "ready": all(check.done for check in checklist),
        "closed": matter.status == MatterStatus.CLOSED,
    }, status=status)
