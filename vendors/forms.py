"""Forms of the vendor pages. They collect and shape input; the rules stay in
`vendors.services` (whose messages come back as these forms' errors)."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat

from lpo_tracker.fields import TIME_ZONE_CHOICES, TaskType
from lpo_tracker.uploads import EVIDENCE_TYPES, UploadRejected, check_upload
from vendors.models import DiligenceKind, RateUnit, VendorStatus, VendorUser
from vendors.selectors import VendorDiligence, VendorFilters

_COUNTRY = re.compile(r"^[A-Za-z]{2}$")
DATE_INPUT = forms.DateInput(attrs={"type": "date"})


class VendorFilterForm(forms.Form):
    q = forms.CharField(
        label="Search", required=False, max_length=100,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Name or contact"}),
    )
    status = forms.ChoiceField(required=False,
                               choices=[("", "Any status"), *VendorStatus.choices])
    country = forms.ChoiceField(required=False, choices=[("", "Any country")])
    service_line = forms.ChoiceField(label="Service line", required=False,
                                     choices=[("", "Any service"), *TaskType.choices])
    diligence = forms.ChoiceField(label="Due diligence", required=False,
                                  choices=[("", "Any"), *VendorDiligence.CHOICES])

    def __init__(self, *args: Any, countries: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["country"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "Any country"), *((code, code) for code in countries)]

    def filters(self) -> VendorFilters:
        data = self.cleaned_data if self.is_valid() else {}
        return VendorFilters(**{name: (data.get(name) or "").strip() for name in
                                ("q", "status", "country", "service_line", "diligence")})


def _country_code(value: str) -> str:
    value = value.strip().upper()
    if not _COUNTRY.match(value):
        raise forms.ValidationError(f"“{value}” is not a two-letter ISO country code.")
    return value


class VendorCreateForm(forms.Form):
    name = forms.CharField(max_length=200)
    legal_name = forms.CharField(max_length=250, required=False)
    headquarters_country = forms.CharField(
        label="Headquarters country", max_length=2, help_text="ISO code, e.g. IN, PH, US."
    )
    countries = forms.CharField(
        label="Countries where staff may touch client data", required=False,
        help_text="ISO codes separated by commas, e.g. IN, PH.",
    )
    service_lines = forms.MultipleChoiceField(
        label="Service lines", required=False, choices=TaskType.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    time_zone = forms.ChoiceField(choices=TIME_ZONE_CHOICES, initial="UTC")
    website = forms.URLField(required=False, assume_scheme="https")
    primary_contact_name = forms.CharField(label="Primary contact", max_length=200,
                                           required=False)
    primary_contact_email = forms.EmailField(label="Primary contact e-mail", required=False)
    manager = forms.ModelChoiceField(
        label="Vendor manager at the firm", required=False, queryset=User.objects.none(),
        help_text="Told when the vendor's due diligence is about to expire.",
    )
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        manager = self.fields["manager"]
        assert isinstance(manager, forms.ModelChoiceField)
        # Firm staff only: a vendor's own people never manage the firm's view of it.
        manager.queryset = User.objects.filter(
            is_active=True, vendor_membership__isnull=True
        ).order_by("last_name", "first_name", "username")

    def clean_headquarters_country(self) -> str:
        return _country_code(self.cleaned_data["headquarters_country"])

    def clean_countries(self) -> list[str]:
        raw = self.cleaned_data.get("countries") or ""
        codes = [_country_code(part) for part in raw.split(",") if part.strip()]
        return list(dict.fromkeys(codes))

    def service_fields(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["countries"] = data["countries"] or [data["headquarters_country"]]
        return data


class VendorStatusForm(forms.Form):
    status = forms.ChoiceField(label="New status")
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Recorded with the change in the audit trail.",
    )

    def __init__(self, *args: Any, choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["status"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices


class EvidenceField(forms.FileField):
    """A file checked like every stored evidence file, so a bad one is a form error before
    anything is written."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("allow_empty_file", True)  # the check says so in its own words
        kwargs.setdefault("widget", forms.ClearableFileInput(
            attrs={"accept": ",".join(sorted(EVIDENCE_TYPES))}
        ))
        super().__init__(**kwargs)
        self.help_text = self.help_text or (
            f"{', '.join(sorted(EVIDENCE_TYPES))}; up to "
            f"{filesizeformat(settings.MAX_UPLOAD_BYTES)}."
        )

    def clean(self, data: Any, initial: Any = None) -> UploadedFile | None:
        upload = super().clean(data, initial)
        if upload:
            try:
                check_upload(upload)
            except UploadRejected as exc:
                raise forms.ValidationError(exc.message, code=exc.code) from None
        return upload  # type: ignore[no-any-return]


class DiligenceForm(forms.Form):
    kind = forms.ChoiceField(label="Document", choices=DiligenceKind.choices)
    reference = forms.CharField(max_length=120, required=False,
                                help_text="Certificate, report or policy number.")
    issuer = forms.CharField(max_length=200, required=False,
                             help_text="Auditor, certification body, insurer or counterparty.")
    valid_from = forms.DateField(label="Valid from", widget=DATE_INPUT)
    expires_on = forms.DateField(label="Expires on", widget=DATE_INPUT)
    coverage_amount = forms.DecimalField(
        label="Coverage amount", required=False, min_value=0, max_digits=14, decimal_places=2,
        help_text="Insurance only.",
    )
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    evidence = EvidenceField(label="Evidence file")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("valid_from"), cleaned.get("expires_on")
        if start and end and end < start:
            self.add_error("expires_on", "A record cannot expire before it becomes valid.")
        insurance = cleaned.get("kind") == DiligenceKind.INSURANCE
        if insurance and cleaned.get("coverage_amount") is None:
            self.add_error("coverage_amount", "Give the insurance policy's coverage amount.")
        return cleaned


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))


class DeclarationForm(forms.Form):
    party_name = forms.CharField(label="Party", max_length=250,
                                 help_text="The person or organisation, as it is usually named.")
    relationship = forms.CharField(max_length=250,
                                   help_text="e.g. former employer, current client, relative.")
    declared_by = forms.ModelChoiceField(
        label="Declared by", required=False, queryset=VendorUser.objects.none(),
        help_text="The vendor's staff member the relationship concerns, if any.",
    )
    declared_on = forms.DateField(label="Declared on", widget=DATE_INPUT)

    def __init__(self, *args: Any, members: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["declared_by"]
        assert isinstance(field, forms.ModelChoiceField)
        if members is None:
            del self.fields["declared_by"]
        else:
            field.queryset = members


class RateCardForm(forms.Form):
    name = forms.CharField(max_length=120)
    currency = forms.CharField(max_length=3, initial="USD",
                               help_text="ISO 4217 code, e.g. USD, EUR, GBP.")
    effective_from = forms.DateField(label="Effective from", widget=DATE_INPUT)
    effective_to = forms.DateField(label="Effective to", required=False, widget=DATE_INPUT)

    def clean_currency(self) -> str:
        value: str = self.cleaned_data["currency"].strip().upper()
        if not re.fullmatch(r"[A-Z]{3}", value):
            raise forms.ValidationError("Use a three-letter currency code.")
        return value


class RateLineForm(forms.Form):
    task_type = forms.ChoiceField(label="Task type", choices=TaskType.choices)
    unit = forms.ChoiceField(choices=RateUnit.choices)
    rate = forms.DecimalField(min_value=0, max_digits=10, decimal_places=2,
                              help_text="The vendor's price per unit.")
    in_house_rate = forms.DecimalField(
        label="In-house rate", min_value=0, max_digits=10, decimal_places=2, initial=0,
        help_text="What the same unit costs the firm in-house, to show the saving.",
    )
