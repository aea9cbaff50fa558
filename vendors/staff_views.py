"""The firm's pages about a vendor's people: record, edit and verify qualifications, record
training with its certificate, download a certificate. For the firm's vendor managers only
(`vendors.staff`: vendor users 404, other staff 403, anonymous users to the login page); the
credentials themselves are shown on the vendor's page.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from lpo_tracker.core.request_limits import accepts_upload
from lpo_tracker.errors import NotEligible, RuleViolation
from lpo_tracker.uploads import UploadRejected, content_type_for
from vendors import staff
from vendors.access import signed_in_user
from vendors.staff_forms import QualificationForm, TrainingForm
from vendors.views import manager_view


def _people_url(vendor_id: int, member_id: int) -> str:
    return f"{reverse('vendors:vendor_detail', args=[vendor_id])}#person-{member_id}"


@manager_view
@require_http_methods(["GET", "POST"])
def qualification_add(request: HttpRequest, pk: int) -> HttpResponse:
    member = staff.get_member_for(request.user, pk, write=True)
    form = QualificationForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            staff.qualification_add(
                actor=signed_in_user(request), member=member, **form.cleaned_data
            )
        except RuleViolation as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request, "Qualification recorded; verify it against the register for it to count."
            )
            return HttpResponseRedirect(_people_url(member.vendor_id, member.pk))
    return render(
        request,
        "vendors/qualification_form.html",
        {"vendor": member.vendor, "member": member, "form": form},
        status=400 if form.is_bound else 200,
    )


@manager_view
@require_http_methods(["GET", "POST"])
def qualification_edit(request: HttpRequest, pk: int) -> HttpResponse:
    qualification = staff.get_qualification_for(request.user, pk)
    member = qualification.member
    initial = {
        name: getattr(qualification, name)
        for name in ("kind", "jurisdiction", "registration_number", "description")
    }
    form = QualificationForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            staff.qualification_update(
                actor=signed_in_user(request), qualification=qualification, **form.cleaned_data
            )
        except RuleViolation as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Qualification changed; verify it again for it to count.")
            return HttpResponseRedirect(_people_url(member.vendor_id, member.pk))
    return render(
        request,
        "vendors/qualification_form.html",
        {"vendor": member.vendor, "member": member, "form": form, "editing": True},
        status=400 if form.is_bound else 200,
    )


@manager_view
@require_POST
def qualification_verify(request: HttpRequest, pk: int) -> HttpResponse:
    qualification = staff.get_qualification_for(request.user, pk)
    try:
        staff.qualification_verify(actor=signed_in_user(request), qualification=qualification)
    except NotEligible as exc:
        raise PermissionDenied(exc.message) from exc
    except RuleViolation as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{qualification.get_kind_display()} verified.")
    member = qualification.member
    return HttpResponseRedirect(_people_url(member.vendor_id, member.pk))


@manager_view
@require_http_methods(["GET", "POST"])
@accepts_upload(lambda request, pk: staff.get_member_for(request.user, pk, write=True))
def training_add(request: HttpRequest, pk: int) -> HttpResponse:
    member = staff.get_member_for(request.user, pk, write=True)
    form = TrainingForm(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
    )
    if request.method == "POST" and form.is_valid():
        try:
            staff.training_record_add(
                actor=signed_in_user(request), member=member, **form.cleaned_data
            )
        except RuleViolation as exc:
            form.add_error("evidence" if isinstance(exc, UploadRejected) else None, exc.message)
        else:
            messages.success(request, "Training recorded.")
            return HttpResponseRedirect(_people_url(member.vendor_id, member.pk))
    return render(
        request,
        "vendors/training_form.html",
        {"vendor": member.vendor, "member": member, "form": form},
        status=400 if form.is_bound else 200,
    )


@manager_view
@require_GET
def training_evidence(request: HttpRequest, pk: int) -> FileResponse:
    """A training certificate, for firm users who may view vendors; audited."""
    training = staff.get_training_for(request.user, pk)
    handle = staff.training_evidence_open(actor=signed_in_user(request), training=training)
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=training.evidence_name,
        content_type=content_type_for(training.evidence_name),
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response
