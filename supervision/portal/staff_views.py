"""The vendor portal's pages about the person signed in: acknowledging a matter's
instructions and confidentiality terms before first access, and their own credentials
(qualifications, training and its certificates). Nobody else's: the selectors scope every
row to the signed-in vendor user.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods

from lpo_tracker.clock import firm_today
from lpo_tracker.errors import NotEligible
from lpo_tracker.uploads import content_type_for
from matters.selectors import get_task_for
from supervision.acknowledgements import (
    TERMS_VERSION,
    acknowledgement_text,
    has_acknowledged,
    matter_acknowledge,
    text_sha256,
)
from vendors.access import portal_membership, portal_view, signed_in_user
from vendors.models import VendorUser
from vendors.staff import credentials_of, get_training_for, training_evidence_open


class AcknowledgeForm(forms.Form):
    accepted = forms.BooleanField(
        label="I have read the instructions and the confidentiality terms above and will "
        "follow them.",
        required=True,
    )
    text_sha256 = forms.CharField(widget=forms.HiddenInput, max_length=64)


def _next_url(request: HttpRequest, default: str) -> str:
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if wanted and url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return default


@portal_view
@require_http_methods(["GET", "POST"])
def acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    """The matter's instructions and confidentiality terms, and the box that accepts them.
    Reached through one of the user's own tasks (404 for anyone else's)."""
    membership = portal_membership(request)
    task = get_task_for(request.user, pk)
    text = acknowledgement_text(task.matter, membership.vendor_id)
    digest = text_sha256(text)
    next_url = _next_url(request, reverse("portal:task", args=[task.pk]))
    form = AcknowledgeForm(
        request.POST if request.method == "POST" else None, initial={"text_sha256": digest}
    )
    if request.method == "POST" and form.is_valid():
        try:
            matter_acknowledge(
                actor=signed_in_user(request),
                task=task,
                text_sha256_seen=form.cleaned_data["text_sha256"],
            )
        except NotEligible as exc:
            if exc.code != "terms_changed":
                raise PermissionDenied(exc.message) from exc
            form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                f"Thank you: your acknowledgement of matter {task.matter.number} is recorded.",
            )
            return HttpResponseRedirect(next_url)
    return render(
        request,
        "portal/acknowledge.html",
        {
            "task": task,
            "vendor": membership.vendor,
            "matter_number": task.matter.number,
            "text": text,
            "text_sha256": digest,
            "terms_version": TERMS_VERSION,
            "form": form,
            "next": next_url,
            "acknowledged": has_acknowledged(membership, task.matter),
        },
        status=400 if form.is_bound and form.errors else 200,
    )


@portal_view
@require_GET
def my_credentials(request: HttpRequest) -> HttpResponse:
    """The signed-in person's own qualifications and training (four queries of its own)."""
    membership = portal_membership(request)
    rows = credentials_of(VendorUser.objects.filter(pk=membership.pk), day=firm_today())
    return render(
        request,
        "portal/credentials.html",
        {
            "vendor": membership.vendor,
            "credentials": rows[0],
            "today": firm_today(),
        },
    )


@portal_view
@require_GET
def training_evidence(request: HttpRequest, pk: int) -> FileResponse:
    """One's own training certificate (404 for anyone else's); audited."""
    training = get_training_for(request.user, pk)
    handle = training_evidence_open(actor=signed_in_user(request), training=training)
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=training.evidence_name,
        content_type=content_type_for(training.evidence_name),
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response
