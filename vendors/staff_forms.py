"""Forms of the vendor staff credential pages; the rules stay in `vendors.staff`."""

from __future__ import annotations

from typing import Any

from django import forms

from vendors.forms import DATE_INPUT, EvidenceField
from vendors.staff_models import QualificationKind, TrainingTopic


class QualificationForm(forms.Form):
    kind = forms.ChoiceField(label="Qualification", choices=QualificationKind.choices)
    jurisdiction = forms.CharField(
        max_length=80,
        required=False,
        help_text="Lawyers: where admitted. Patent practitioners: the patent office, e.g. USPTO.",
    )
    registration_number = forms.CharField(
        label="Bar / registration number",
        max_length=40,
        required=False,
        help_text="Required for lawyers and registered patent practitioners.",
    )
    description = forms.CharField(
        max_length=200, required=False, help_text="Paralegal or other: the certificate or training."
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        kind = cleaned.get("kind")
        if kind == QualificationKind.LAWYER and not (
            cleaned.get("jurisdiction") and cleaned.get("registration_number")
        ):
            self.add_error(
                "registration_number",
                "A lawyer's qualification names the jurisdiction and the number.",
            )
        if kind == QualificationKind.PATENT_PRACTITIONER and not cleaned.get("registration_number"):
            self.add_error("registration_number", "Give the patent registration number.")
        return cleaned


class TrainingForm(forms.Form):
    topic = forms.ChoiceField(choices=TrainingTopic.choices)
    course = forms.CharField(
        max_length=200, required=False, help_text="The course or provider, as on the certificate."
    )
    completed_on = forms.DateField(label="Completed on", widget=DATE_INPUT)
    expires_on = forms.DateField(
        label="Expires on", widget=DATE_INPUT, help_text="When the training must be renewed."
    )
    evidence = EvidenceField(label="Certificate")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("completed_on"), cleaned.get("expires_on")
        if start and end and end <= start:
            self.add_error("expires_on", "Training expires after it was completed.")
        return cleaned
