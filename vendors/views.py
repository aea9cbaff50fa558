"""The firm's vendor pages: the list, one vendor (lifecycle, due diligence, declared
conflicts, rate cards), and the forms that change them.

Thin views: access through `vendors.selectors` (vendor users 404, firm users without the
model permission 403, anonymous users to the login page), every write through one
`vendors.services` function whose `RuleViolation` becomes a form error or a message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from lpo_tracker.clock import firm_today
from lpo_tracker.core.request_limits import accepts_upload
from lpo_tracker.errors import NotEligible, RuleViolation
from lpo_tracker.fields import TaskType
from lpo_tracker.uploads import UploadRejected, content_type_for
from vendors import services
from vendors.forms import (
    DeclarationForm,
    DiligenceForm,
    RateCardForm,
    RateLineForm,
    ReasonForm,
    VendorCreateForm,
    VendorFilterForm,
    VendorStatusForm,
)
from vendors.models import Vendor, VendorUser
from vendors.selectors import (
    ADD_VENDORS,
    EXPIRING_WITHIN_DAYS,
    VendorDiligence,
    get_diligence_for,
    get_rate_card_for,
    get_vendor_for,
    may_manage_vendors,
    next_statuses,
    require_vendor_manager,
    vendor_countries,
    vendor_diligence_state,
    vendor_page,
    vendors_matching,
)
from vendors.staff import vendor_credentials

View = Callable[..., HttpResponseBase]
VENDORS_PER_PAGE = 25


def manager_view(view: View) -> View:
    """Signed in (else the login page), and a firm vendor manager who may read (else 403;
    404 for vendor users). Writes check `write=True` again through the selectors."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        require_vendor_manager(request.user)
        return view(request, *args, **kwargs)

    return login_required(wrapped)


def _detail_url(vendor_id: int, anchor: str = "") -> str:
    url = reverse("vendors:vendor_detail", args=[vendor_id])
    return f"{url}#{anchor}" if anchor else url


# --- The list -------------------------------------------------------------------------------

_DILIGENCE_LABELS = dict(VendorDiligence.CHOICES)
_SERVICE_LABELS = dict(TaskType.choices)


@dataclass(frozen=True)
class VendorRow:
    vendor: Vendor
    diligence: str
    diligence_label: str
    diligence_pill: str
    services: list[str]

    @classmethod
    def of(cls, vendor: Vendor) -> VendorRow:
        state = vendor_diligence_state(vendor)
        return cls(vendor, state, _DILIGENCE_LABELS[state], VendorDiligence.PILLS[state],
                   [str(_SERVICE_LABELS.get(line, line)) for line in vendor.service_lines or []])


@manager_view
@require_GET
def vendor_list(request: HttpRequest) -> HttpResponse:
    """Queries, whatever the number of vendors: the permission checks, the country choices,
    the paginator's count and one page of vendors with their diligence flags."""
    form = VendorFilterForm(request.GET or None, countries=vendor_countries())
    filters = form.filters()
    today = firm_today()
    page = Paginator(vendors_matching(filters, day=today), VENDORS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    context = {
        "form": form,
        "page_obj": page,
        "rows": [VendorRow.of(vendor) for vendor in page.object_list],
        "is_filtered": any(vars(filters).values()),
        "can_add": may_manage_vendors(request.user, ADD_VENDORS),
    }
    return render(request, "vendors/vendor_list.html", context)


@manager_view
@require_http_methods(["GET", "POST"])
def vendor_create(request: HttpRequest) -> HttpResponse:
    if not may_manage_vendors(request.user, ADD_VENDORS):
        raise PermissionDenied("You may see vendors but not add them.")
    form = VendorCreateForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            vendor = services.vendor_create(actor=request.user,  # type: ignore[arg-type]
                                            **form.service_fields())
        except RuleViolation as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"{vendor} added as a prospective vendor.")
            return HttpResponseRedirect(_detail_url(vendor.pk))
    return render(request, "vendors/vendor_form.html", {"form": form},
                  status=400 if form.is_bound else 200)


# --- One vendor -----------------------------------------------------------------------------


def _render_detail(request: HttpRequest, vendor: Vendor, *,
                   status_form: VendorStatusForm | None = None, status: int = 200
                   ) -> HttpResponse:
    today = firm_today()
    can_change = may_manage_vendors(request.user)
    choices = next_statuses(vendor)
    context = {
        "vendor": vendor,
        "page": vendor_page(vendor, day=today),
        "credentials": vendor_credentials(vendor, day=today),
        "today": today,
        "expiring_days": EXPIRING_WITHIN_DAYS,
        "can_change": can_change,
        "status_form": (status_form or VendorStatusForm(choices=choices))
        if can_change and choices else None,
    }
    return render(request, "vendors/vendor_detail.html", context, status=status)


@manager_view
@require_GET
def vendor_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_detail(request, get_vendor_for(request.user, pk))


@manager_view
@require_POST
def vendor_set_status(request: HttpRequest, pk: int) -> HttpResponse:
    vendor = get_vendor_for(request.user, pk, write=True)
    form = VendorStatusForm(request.POST, choices=next_statuses(vendor))
    if form.is_valid():
        try:
            vendor = services.vendor_set_status(
                actor=request.user,  # type: ignore[arg-type]
                vendor=vendor, status=form.cleaned_data["status"],
                reason=form.cleaned_data["reason"],
            )
        except RuleViolation as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"{vendor} is now {vendor.get_status_display().lower()}.")
            return HttpResponseRedirect(_detail_url(vendor.pk))
    return _render_detail(request, vendor, status_form=form, status=400)


# --- Due diligence --------------------------------------------------------------------------


@manager_view
@require_http_methods(["GET", "POST"])
@accepts_upload(lambda request, pk: get_vendor_for(request.user, pk, write=True))
def diligence_add(request: HttpRequest, pk: int) -> HttpResponse:
    vendor = get_vendor_for(request.user, pk, write=True)
    form = DiligenceForm(request.POST if request.method == "POST" else None,
                         request.FILES if request.method == "POST" else None,
                         initial={"kind": request.GET.get("kind", "")})
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                record = services.diligence_record_add(
                    actor=request.user,  # type: ignore[arg-type]
                    vendor=vendor, kind=data["kind"], valid_from=data["valid_from"],
                    expires_on=data["expires_on"], evidence=data["evidence"],
                    reference=data["reference"], issuer=data["issuer"],
                    coverage_amount=data["coverage_amount"], notes=data["notes"],
                )
            except RuleViolation as exc:
                form.add_error("evidence" if isinstance(exc, UploadRejected) else None,
                               exc.message)
            else:
                messages.success(request, f"{record.get_kind_display()} recorded for {vendor}.")
                return HttpResponseRedirect(_detail_url(vendor.pk, "diligence"))
    return render(request, "vendors/diligence_form.html", {"vendor": vendor, "form": form},
                  status=status)


@manager_view
@require_POST
def diligence_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    record = get_diligence_for(request.user, pk, write=True)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Not revoked: say why the record is revoked.")
    else:
        try:
            services.diligence_record_revoke(
                actor=request.user,  # type: ignore[arg-type]
                record=record, reason=form.cleaned_data["reason"],
            )
        except RuleViolation as exc:
            messages.error(request, f"Not revoked: {exc.message}")
        else:
            messages.success(request, f"{record.get_kind_display()} revoked.")
    return HttpResponseRedirect(_detail_url(record.vendor_id, "diligence"))


@manager_view
@require_GET
def diligence_evidence(request: HttpRequest, pk: int) -> FileResponse:
    """The evidence file, for firm vendor managers only; every download is audited."""
    record = get_diligence_for(request.user, pk)
    try:
        handle = services.diligence_evidence_open(actor=request.user,  # type: ignore[arg-type]
                                                  record=record)
    except NotEligible as exc:
        raise PermissionDenied(exc.message) from exc
    except RuleViolation as exc:  # no evidence file on this record
        raise Http404(exc.message) from exc
    name = record.evidence_name or f"{record.kind}-evidence"
    response = FileResponse(handle, as_attachment=True, filename=name,
                            content_type=content_type_for(name))
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response


# --- Declared conflicts ---------------------------------------------------------------------


@manager_view
@require_http_methods(["GET", "POST"])
def declaration_add(request: HttpRequest, pk: int) -> HttpResponse:
    vendor = get_vendor_for(request.user, pk, write=True)
    members = VendorUser.objects.filter(vendor=vendor).select_related("user")
    form = DeclarationForm(request.POST if request.method == "POST" else None, members=members,
                           initial={"declared_on": firm_today()})
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.conflict_declaration_add(
                    actor=request.user,  # type: ignore[arg-type]
                    vendor=vendor, party_name=data["party_name"],
                    relationship=data["relationship"], declared_by=data.get("declared_by"),
                    declared_on=data["declared_on"],
                )
            except RuleViolation as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, f"Declaration of “{data['party_name']}” recorded.")
                return HttpResponseRedirect(_detail_url(vendor.pk, "declarations"))
    return render(request, "vendors/declaration_form.html", {"vendor": vendor, "form": form},
                  status=status)


# --- Rate cards -----------------------------------------------------------------------------


@manager_view
@require_http_methods(["GET", "POST"])
def rate_card_add(request: HttpRequest, pk: int) -> HttpResponse:
    vendor = get_vendor_for(request.user, pk, write=True)
    form = RateCardForm(request.POST if request.method == "POST" else None,
                        initial={"effective_from": firm_today()})
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                card = services.rate_card_create(actor=request.user,  # type: ignore[arg-type]
                                                 vendor=vendor, **form.cleaned_data)
            except RuleViolation as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, f"Rate card “{card.name}” created; add its rates.")
                return HttpResponseRedirect(_detail_url(vendor.pk, f"rate-card-{card.pk}"))
    return render(request, "vendors/rate_card_form.html", {"vendor": vendor, "form": form},
                  status=status)


@manager_view
@require_http_methods(["GET", "POST"])
def rate_line_add(request: HttpRequest, pk: int) -> HttpResponse:
    card = get_rate_card_for(request.user, pk, write=True)
    form = RateLineForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                services.rate_card_line_add(actor=request.user,  # type: ignore[arg-type]
                                            rate_card=card, **form.cleaned_data)
            except RuleViolation as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, f"Rate added to “{card.name}”.")
                return HttpResponseRedirect(_detail_url(card.vendor_id, f"rate-card-{card.pk}"))
    return render(request, "vendors/rate_line_form.html",
                  {"vendor": card.vendor, "card": card, "form": form}, status=status)
