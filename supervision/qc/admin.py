"""Admin of QC: the task type settings, defect categories and engagement plans are data
the firm edits; lots, samples, checks, results, inspection states and switches are evidence
(view-only; the database refuses UPDATE and DELETE of the evidence tables too). Every
matter-scoped list leaves out matters the admin user is screened from."""

from __future__ import annotations

from django.contrib import admin

from lpo_tracker.admin_utils import LpoModelAdmin, MatterWallsAdmin, ViewOnlyAdmin, short_hash
from supervision.qc.models import (
    DefectCategory,
    InspectionState,
    InspectionSwitch,
    Lot,
    QcCheck,
    QcPlan,
    QcResult,
    QcSample,
    TaskTypeQc,
)


@admin.register(TaskTypeQc)
class TaskTypeQcAdmin(LpoModelAdmin):
    list_display = ["task_type", "is_bulk_work", "calls_for_legal_judgment", "method",
                    "inspection_level", "aql", "allow_reduced"]
    list_filter = ["is_bulk_work", "calls_for_legal_judgment", "method"]
    search_fields = ["task_type"]


@admin.register(DefectCategory)
class DefectCategoryAdmin(LpoModelAdmin):
    list_display = ["name", "task_type", "is_active"]
    list_filter = ["task_type", "is_active"]
    search_fields = ["name"]


@admin.register(QcPlan)
class QcPlanAdmin(MatterWallsAdmin, LpoModelAdmin):
    matter_path = "engagement__matter"
    list_display = ["engagement", "task_type", "method", "inspection_level", "aql",
                    "allow_reduced"]
    list_filter = ["method", "task_type", "inspection_level"]
    search_fields = ["engagement__matter__number", "engagement__vendor__name"]
    list_select_related = ["engagement__matter", "engagement__vendor"]


@admin.register(Lot)
class LotAdmin(MatterWallsAdmin, ViewOnlyAdmin):
    matter_path = "submission__task__matter"
    list_display = ["submission", "item_count", "sampled", "manifest_name", "manifest_hash"]
    list_filter = ["sampled"]
    search_fields = ["submission__task__title", "submission__task__matter__number",
                     "manifest_sha256"]
    list_select_related = ["submission__task"]

    @admin.display(description="manifest SHA-256")
    def manifest_hash(self, lot: Lot) -> str:
        return short_hash(lot.manifest_sha256) if lot.manifest_sha256 else "—"


@admin.register(QcSample)
class QcSampleAdmin(MatterWallsAdmin, ViewOnlyAdmin):
    matter_path = "lot__submission__task__matter"
    list_display = ["lot", "plan_description", "severity", "code_letter", "lot_size",
                    "sample_size", "accept_number", "reject_number", "seed", "drawn_at"]
    list_filter = ["severity", "method"]
    search_fields = ["lot__submission__task__title", "lot__submission__task__matter__number"]
    list_select_related = ["lot__submission__task"]


@admin.register(QcCheck)
class QcCheckAdmin(MatterWallsAdmin, ViewOnlyAdmin):
    matter_path = "sample__lot__submission__task__matter"
    list_display = ["item_id", "sample", "defective", "category", "severity", "checked_at"]
    list_filter = ["defective", "severity", "category"]
    search_fields = ["item_id", "sample__lot__submission__task__matter__number"]
    list_select_related = ["sample__lot__submission__task", "category"]


@admin.register(QcResult)
class QcResultAdmin(MatterWallsAdmin, ViewOnlyAdmin):
    matter_path = "submission__task__matter"
    list_display = ["submission", "kind", "accepted", "items_checked", "defects_found",
                    "disposition", "decided_by", "decided_at"]
    list_filter = ["kind", "accepted", "disposition"]
    search_fields = ["submission__task__title", "submission__task__matter__number"]
    list_select_related = ["submission__task", "decided_by"]


@admin.register(InspectionState)
class InspectionStateAdmin(ViewOnlyAdmin):
    list_display = ["vendor", "task_type", "severity", "since"]
    list_filter = ["severity", "task_type"]
    search_fields = ["vendor__name"]
    list_select_related = ["vendor"]


@admin.register(InspectionSwitch)
class InspectionSwitchAdmin(ViewOnlyAdmin):
    list_display = ["vendor", "task_type", "from_severity", "to_severity", "switched_at"]
    list_filter = ["to_severity", "task_type"]
    search_fields = ["vendor__name", "reason"]
    list_select_related = ["vendor"]
