"""Engagement pages, mounted at /engagements/ (namespace "engagements"): the list with costs
against budget, engaging a vendor on a matter, and one engagement with its conflict search,
conflict check, the client's consent (with evidence) and what its work costs.

Thin views, like the matter pages: firm staff only (vendor users get 404, anonymous users the
login page); an engagement is visible when its matter is (404 otherwise), and changing it
needs `change_matter` on the matter (403). Writes go through `matters.services`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from lpo_tracker.audit.models import AuditEvent
from lpo_tracker.clock import firm_today
from lpo_tracker.core.request_limits import accepts_upload
from lpo_tracker.errors import NotEligible, RuleViolation
from lpo_tracker.uploads import EVIDENCE_TYPES, UploadRejected, check_upload, content_type_for
from matters import services
from matters.conflicts import conflict_search, hits_fingerprint, hits_record
from matters.costs import engagement_costs, engagements_costs
from matters.forms import ConflictCheckForm, ConsentForm, ConsentRevokeForm
from matters.models import OPEN_STATES, Engagement, Matter, Task
from matters.selectors import CHANGE, VIEW, get_matter_for, matters_with_perm, user_has_matter_perm
from vendors.access import signed_in_user, staff_view
from vendors.models import RateCard, Vendor, VendorStatus
from vendors.selectors import vendors_lapsed_on

ENGAGEMENTS_PER_PAGE = 50
CONSENT_RECORDED = "engagement.consent_recorded"


# --- Forms ----------------------------------------------------------------------------------


class RateCardChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: RateCard) -> str:  # type: ignore[override]
        return f"{obj.vendor.name} – {obj.name} ({obj.currency})"


class EngagementCreateForm(forms.Form):
    vendor = forms.ModelChoiceField(queryset=Vendor.objects.none())
    scope = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What the vendor is engaged to do on this matter.",
    )
    rate_card = RateCardChoiceField(
        label="Rate card", queryset=RateCard.objects.none(), required=False,
        help_text="The vendor's prices for this engagement; without one, its work is unpriced.",
    )
    budget_cap = forms.DecimalField(
        label="Budget cap", min_value=0, max_digits=14, decimal_places=2, initial=0,
        help_text="The matter team is alerted at 80% and 100% of it. 0 means no cap.",
    )

    def __init__(self, *args: Any, matter: Matter, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        vendor_field = self.fields["vendor"]
        card_field = self.fields["rate_card"]
        assert isinstance(vendor_field, forms.ModelChoiceField)
        assert isinstance(card_field, forms.ModelChoiceField)
        vendor_field.queryset = (
            Vendor.objects.exclude(status=VendorStatus.OFFBOARDED)
            .exclude(engagements__matter=matter).order_by("name")
        )
        # Only cards in the matter's currency, and once the vendor is known only its own
        # (engagement_create refuses any other card too).
        cards = RateCard.objects.select_related("vendor").filter(
            currency=matter.currency, vendor__in=vendor_field.queryset
        ).order_by("vendor__name", "-effective_from")
        chosen = (self.data.get(self.add_prefix("vendor")) if self.is_bound
                  else self.initial.get("vendor"))
        if chosen and str(chosen).isdigit():
            cards = cards.filter(vendor_id=int(chosen))
        card_field.queryset = cards

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        vendor, card = cleaned.get("vendor"), cleaned.get("rate_card")
        if vendor and card and card.vendor_id != vendor.pk:
            self.add_error("rate_card", f"That rate card belongs to {card.vendor.name}.")
        return cleaned


class ConsentWithEvidenceForm(ConsentForm):
    # Consent is evidence: every consent recorded comes with its own file.
    evidence = forms.FileField(
        label="Evidence of consent", allow_empty_file=True,
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(sorted(EVIDENCE_TYPES))}),
        help_text="The client's signed letter or e-mail (as PDF), kept with its SHA-256.",
    )

    def clean_evidence(self) -> Any:
        upload = self.cleaned_data.get("evidence")
        if upload:
            try:
                check_upload(upload)
            except UploadRejected as exc:
                raise forms.ValidationError(exc.message, code=exc.code) from None
        return upload


# --- Access ---------------------------------------------------------------------------------


def _engagements_visible_to(user: Any) -> QuerySet[Engagement]:
    return Engagement.objects.filter(
        matter__in=matters_with_perm(user, VIEW).values("pk")
    ).select_related("vendor", "rate_card", "matter", "matter__client")


def _engagement_for(request: HttpRequest, pk: int, *, perm: str = VIEW) -> Engagement:
    """The engagement if its matter is visible (404) and the user holds `perm` on it (403)."""
    engagement = _engagements_visible_to(request.user).filter(pk=pk).first()
    if engagement is None:
        raise Http404("No such engagement.")
    if perm != VIEW and not user_has_matter_perm(request.user, engagement.matter, perm):
        raise PermissionDenied("You may see this engagement but not change it.")
    return engagement


def _detail_url(engagement: Engagement, anchor: str = "") -> str:
    url = reverse("engagements:detail", args=[engagement.pk])
    return f"{url}#{anchor}" if anchor else url


# --- List -----------------------------------------------------------------------------------


def _int_param(request: HttpRequest, name: str) -> int | None:
    value = request.GET.get(name, "")
    return int(value) if value.isdigit() else None


@staff_view
@require_GET
def engagement_list(request: HttpRequest) -> HttpResponse:
    """Engagements on the matters the user may see, with cost against budget. Queries,
    whatever the number of rows: the count, one page of engagements (with vendor, rate card,
    matter and client), the page's rate lines and its billable tasks."""
    engagements = _engagements_visible_to(request.user).order_by("matter__number",
                                                                  "vendor__name")
    vendor_id, matter_id = _int_param(request, "vendor"), _int_param(request, "matter")
    if vendor_id is not None:
        engagements = engagements.filter(vendor_id=vendor_id)
    if matter_id is not None:
        engagements = engagements.filter(matter_id=matter_id)
    page = Paginator(engagements, ENGAGEMENTS_PER_PAGE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    costs = engagements_costs(rows)
    return render(request, "matters/engagements/list.html", {
        "page_obj": page,
        "rows": [costs[engagement.pk] for engagement in rows],
        "is_filtered": vendor_id is not None or matter_id is not None,
    })


# --- Create ---------------------------------------------------------------------------------


@staff_view
@require_http_methods(["GET", "POST"])
def engagement_create(request: HttpRequest, matter_pk: int) -> HttpResponse:
    matter = get_matter_for(request.user, matter_pk, perm=CHANGE)
    form = EngagementCreateForm(request.POST if request.method == "POST" else None, matter=matter,
                                initial={"vendor": request.GET.get("vendor")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            engagement = services.engagement_create(
                actor=request.user,  # type: ignore[arg-type]
                matter=matter, vendor=data["vendor"], scope=data["scope"],
                budget_cap=data["budget_cap"], rate_card=data["rate_card"],
            )
        except NotEligible as exc:
            raise PermissionDenied(exc.message) from exc
        except RuleViolation as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"{engagement.vendor} engaged on {matter.number}. Run the "
                             "conflict search and record its result before assigning work.")
            return HttpResponseRedirect(_detail_url(engagement, "conflicts"))
    return render(request, "matters/engagements/create.html", {"matter": matter, "form": form},
                  status=400 if form.is_bound and form.errors else 200)


# --- Detail ---------------------------------------------------------------------------------


def _evidence_event(engagement: Engagement) -> AuditEvent | None:
    """The audit event that stored the engagement's current consent evidence (its name, size
    and SHA-256 live there)."""
    if not engagement.consent_evidence:
        return None
    return (
        AuditEvent.objects.filter(
            object_type=Engagement._meta.label_lower, object_id=str(engagement.pk),
            action=CONSENT_RECORDED,
            after__consent_evidence=engagement.consent_evidence.name,
        ).order_by("-id").first()
    )


def _render_detail(request: HttpRequest, engagement: Engagement, *,
                   conflict_form: ConflictCheckForm | None = None,
                   consent_form: ConsentWithEvidenceForm | None = None,
                   revoke_form: ConsentRevokeForm | None = None,
                   status: int = 200) -> HttpResponse:
    """The engagement page: blockers, conflict search, consent, costs, open tasks."""
    matter = engagement.matter
    today = firm_today()
    can_change = user_has_matter_perm(request.user, matter, CHANGE)
    lapsed = vendors_lapsed_on(today).filter(pk=engagement.vendor_id).exists()
    open_tasks = list(Task.objects.filter(engagement=engagement, status__in=OPEN_STATES)
                      .order_by("sla_due_at", "pk"))
    hits = conflict_search(matter, engagement.vendor)
    fingerprint = hits_fingerprint(hits_record(hits))
    context = {
        "engagement": engagement,
        "matter": matter,
        "vendor": engagement.vendor,
        "blockers": services.engagement_blockers(engagement, day=today),
        "hits": hits,
        "costs": engagement_costs(engagement),
        "evidence": _evidence_event(engagement),
        "diligence_lapsed": lapsed,
        "open_tasks": open_tasks,
        "can_change": can_change,
        "conflict_form": (conflict_form or ConflictCheckForm(
            auto_id="conflict-%s", initial={"hits_sha256": fingerprint}))
        if can_change else None,
        "consent_form": (consent_form or ConsentWithEvidenceForm(
            auto_id="consent-%s", initial=_consent_initial(engagement, today),
        )) if can_change else None,
        "revoke_form": (revoke_form or ConsentRevokeForm(auto_id="revoke-%s"))
        if can_change and engagement.has_client_consent else None,
    }
    return render(request, "matters/engagements/detail.html", context, status=status)


def _consent_initial(engagement: Engagement, today: dt.date) -> dict[str, Any]:
    if engagement.has_client_consent:
        return {"given_by": engagement.consent_given_by, "given_on": engagement.consent_given_on,
                "scope": engagement.consent_scope, "expires_on": engagement.consent_expires_on,
                "task_types": engagement.consent_task_types,
                "countries": ", ".join(engagement.consent_countries)}
    return {"given_on": today, "scope": engagement.scope}


@staff_view
@require_GET
def engagement_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_detail(request, _engagement_for(request, pk))


@staff_view
@require_POST
def engagement_conflict_check(request: HttpRequest, pk: int) -> HttpResponse:
    """Record the conflict check's result (cleared or flagged, by whom, when, notes)."""
    engagement = _engagement_for(request, pk, perm=CHANGE)
    form = ConflictCheckForm(request.POST, auto_id="conflict-%s")
    if form.is_valid():
        try:
            services.engagement_record_conflict_check(
                actor=request.user,  # type: ignore[arg-type]
                engagement=engagement, result=form.cleaned_data["result"],
                notes=form.cleaned_data["notes"],
                seen_hits_sha256=form.cleaned_data["hits_sha256"] or None,
            )
        except RuleViolation as exc:
            form.add_error("notes" if exc.code == "notes_required" else None, exc.message)
        else:
            messages.success(request, f"Conflict check for {engagement.vendor} recorded.")
            return HttpResponseRedirect(_detail_url(engagement, "conflicts"))
    return _render_detail(request, engagement, conflict_form=form, status=400)


@staff_view
@require_POST
@accepts_upload(lambda request, pk: _engagement_for(request, pk, perm=CHANGE))
def engagement_consent(request: HttpRequest, pk: int) -> HttpResponse:
    """Record the client's consent and, in the same transaction, its evidence file."""
    engagement = _engagement_for(request, pk, perm=CHANGE)
    form = ConsentWithEvidenceForm(request.POST, request.FILES, auto_id="consent-%s")
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.engagement_record_consent(
                actor=signed_in_user(request), engagement=engagement,
                given_by=data["given_by"], given_on=data["given_on"], scope=data["scope"],
                evidence=data["evidence"], expires_on=data["expires_on"],
                task_types=data["task_types"], countries=data["countries"],
            )
        except RuleViolation as exc:
            form.add_error("evidence" if isinstance(exc, UploadRejected) else None, exc.message)
        else:
            messages.success(request, f"Client consent for {engagement.vendor} recorded.")
            return HttpResponseRedirect(_detail_url(engagement, "consent"))
    return _render_detail(request, engagement, consent_form=form, status=400)


@staff_view
@require_POST
def engagement_consent_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """The client withdrew its consent: recorded with how, and new work stops at once."""
    engagement = _engagement_for(request, pk, perm=CHANGE)
    form = ConsentRevokeForm(request.POST, auto_id="revoke-%s")
    if form.is_valid():
        try:
            services.engagement_consent_revoke(
                actor=signed_in_user(request),
                engagement=engagement, reason=form.cleaned_data["reason"],
            )
        except RuleViolation as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Client consent for {engagement.vendor} revoked.")
            return HttpResponseRedirect(_detail_url(engagement, "consent"))
    return _render_detail(request, engagement, revoke_form=form, status=400)


@login_required
@require_GET
def consent_evidence(request: HttpRequest, pk: int) -> FileResponse:
    """The client's consent evidence, for firm users who may see the matter; audited.
    (Vendor users hold no matter permission, so `_engagement_for` answers them 404.)"""
    engagement = _engagement_for(request, pk)
    if not engagement.consent_evidence:
        raise Http404("No consent evidence on file.")
    event = _evidence_event(engagement)
    name = (event.after or {}).get("name") if event else None
    name = name or f"client-consent-{engagement.matter.number}"
    handle = services.engagement_consent_evidence_open(actor=signed_in_user(request),
                                                       engagement=engagement)
    response = FileResponse(handle, as_attachment=True, filename=name,
                            content_type=content_type_for(name))
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response
