"""Admin for the vendor's people's credentials (imported by `vendors.admin`).

Qualifications and training are read-only here: they are recorded, edited and verified on
the vendor's page through `vendors.staff`, which checks, scans and audits. Which task types
need a qualified performer is data, edited here.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from lpo_tracker.admin_utils import LpoModelAdmin, ViewOnlyAdmin
from vendors.staff_models import (
    PerformerRequirement,
    QualificationKind,
    StaffQualification,
    StaffTraining,
)


@admin.register(StaffQualification)
class StaffQualificationAdmin(ViewOnlyAdmin):
    list_display = ["member", "kind", "jurisdiction", "registration_number", "verified_at"]
    list_filter = ["kind", ("verified_at", admin.EmptyFieldListFilter), "member__vendor"]
    search_fields = [
        "member__user__username",
        "member__user__last_name",
        "registration_number",
        "jurisdiction",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[StaffQualification]:
        return super().get_queryset(request).select_related("member__user", "member__vendor")


@admin.register(StaffTraining)
class StaffTrainingAdmin(ViewOnlyAdmin):
    list_display = ["member", "topic", "course", "completed_on", "expires_on", "evidence_name"]
    list_filter = ["topic", "member__vendor", "expires_on"]
    search_fields = [
        "member__user__username",
        "member__user__last_name",
        "course",
        "evidence_sha256",
    ]
    date_hierarchy = "expires_on"

    def get_queryset(self, request: HttpRequest) -> QuerySet[StaffTraining]:
        return super().get_queryset(request).select_related("member__user", "member__vendor")


class PerformerRequirementForm(forms.ModelForm):  # type: ignore[type-arg]
    qualifications = forms.MultipleChoiceField(
        choices=QualificationKind.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="Any one of these, verified, qualifies a person to perform this task type.",
    )

    class Meta:
        model = PerformerRequirement
        fields = ["task_type", "qualifications", "reason"]

    def clean_qualifications(self) -> list[str]:
        return sorted(set(self.cleaned_data["qualifications"]))


@admin.register(PerformerRequirement)
class PerformerRequirementAdmin(LpoModelAdmin):
    form = PerformerRequirementForm
    list_display = ["task_type", "qualification_list", "reason"]
    search_fields = ["task_type", "reason"]
    list_filter = ["task_type"]

    @admin.display(description="Qualifications that count")
    def qualification_list(self, requirement: PerformerRequirement) -> str:
        labels = dict(QualificationKind.choices)
        return ", ".join(str(labels.get(kind, kind)) for kind in requirement.qualifications)

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        return {"qualifications": [QualificationKind.LAWYER]}
