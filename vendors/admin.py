"""Admin for providers, their people, due diligence, rate cards and declared conflicts.

A vendor's status is read-only here: approval, suspension and offboarding are lifecycle steps
with rules of their own, made through a service.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from lpo_tracker.admin_utils import LpoModelAdmin, ReadOnlyTabularInline
from lpo_tracker.clock import firm_today
from vendors.models import (
    ConflictDeclaration,
    DeliveryCentre,
    DueDiligenceRecord,
    RateCard,
    RateCardLine,
    Vendor,
    VendorUser,
)


class DeliveryCentreInline(admin.TabularInline):
    model = DeliveryCentre
    extra = 0
    fields = ["city", "country", "time_zone", "headcount"]


class DueDiligenceInline(ReadOnlyTabularInline):
    """Shown for context; a record is added with its evidence on the vendor's page
    (`diligence_record_add`) and is never edited afterwards."""

    model = DueDiligenceRecord
    fields = [
        "kind",
        "reference",
        "issuer",
        "valid_from",
        "expires_on",
        "coverage_amount",
        "revoked_at",
        "evidence_name",
        "recorded_by",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[DueDiligenceRecord]:
        return super().get_queryset(request).select_related("recorded_by")


class RateCardInline(admin.TabularInline):
    model = RateCard
    extra = 0
    fields = ["name", "currency", "effective_from", "effective_to"]
    show_change_link = True  # the lines are edited on the rate card's own page


class VendorUserInline(admin.TabularInline):
    model = VendorUser
    extra = 0
    fields = ["user", "role", "title", "is_active", "receives_sla_reminders"]
    autocomplete_fields = ["user"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[VendorUser]:
        return super().get_queryset(request).select_related("user")


@admin.register(Vendor)
class VendorAdmin(LpoModelAdmin):
    list_display = [
        "name",
        "status",
        "headquarters_country",
        "time_zone",
        "manager",
        "primary_contact_email",
        "status_changed_at",
        "updated_at",
    ]
    list_filter = ["status", "headquarters_country"]
    search_fields = ["name", "legal_name", "primary_contact_name", "primary_contact_email"]
    list_select_related = ["manager"]
    autocomplete_fields = ["manager"]
    readonly_fields = ["status", "status_reason", "status_changed_at", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["name", "legal_name", "manager", "notes"]}),
        ("Status", {"fields": ["status", "status_reason", "status_changed_at"]}),
        (
            "Where and what",
            {"fields": ["headquarters_country", "countries", "service_lines", "time_zone"]},
        ),
        ("Contact", {"fields": ["website", "primary_contact_name", "primary_contact_email"]}),
        ("Record", {"fields": ["created_at", "updated_at"]}),
    ]
    inlines = [DeliveryCentreInline, DueDiligenceInline, RateCardInline, VendorUserInline]


@admin.register(DeliveryCentre)
class DeliveryCentreAdmin(LpoModelAdmin):
    list_display = ["city", "country", "vendor", "time_zone", "headcount"]
    list_filter = ["country", "vendor"]
    search_fields = ["city", "country", "vendor__name"]
    list_select_related = ["vendor"]
    autocomplete_fields = ["vendor"]


@admin.register(VendorUser)
class VendorUserAdmin(LpoModelAdmin):
    list_display = ["user", "vendor", "role", "title", "is_active", "receives_sla_reminders"]
    list_filter = ["role", "is_active", "vendor"]
    search_fields = [
        "user__username",
        "user__first_name",
        "user__last_name",
        "user__email",
        "vendor__name",
    ]
    list_select_related = ["user", "vendor"]
    autocomplete_fields = ["user", "vendor"]
    readonly_fields = ["created_at"]


@admin.register(DueDiligenceRecord)
class DueDiligenceRecordAdmin(LpoModelAdmin):
    list_display = [
        "vendor",
        "kind",
        "reference",
        "issuer",
        "valid_from",
        "expires_on",
        "validity_today",
        "revoked_at",
    ]
    list_filter = ["kind", "vendor"]
    search_fields = ["vendor__name", "reference", "issuer", "evidence_name", "evidence_sha256"]
    date_hierarchy = "expires_on"
    list_select_related = ["vendor"]
    # Evidence is uploaded with its hash by a service; the admin shows it and never sets it
    # (and never links to the file: there is no public URL for private storage). What the
    # record attests is fixed once saved (the model and a trigger refuse a change too); a
    # revocation goes through the vendor page, which asks why.
    exclude = ["evidence"]
    readonly_fields = ["vendor", "kind", "valid_from", "expires_on", "evidence_name",
                       "evidence_sha256", "revoked_at", "recorded_by", "recorded_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A record is born with its evidence file, which only the vendor page uploads.
        return False

    @admin.display(description="today")
    def validity_today(self, record: DueDiligenceRecord) -> str:
        return record.status_on(firm_today()).replace("_", " ")


class RateCardLineInline(admin.TabularInline):
    model = RateCardLine
    extra = 0
    fields = ["task_type", "unit", "rate", "in_house_rate"]


@admin.register(RateCard)
class RateCardAdmin(LpoModelAdmin):
    list_display = ["name", "vendor", "currency", "effective_from", "effective_to"]
    list_filter = ["currency", "vendor"]
    search_fields = ["name", "vendor__name"]
    date_hierarchy = "effective_from"
    list_select_related = ["vendor"]
    autocomplete_fields = ["vendor"]
    inlines = [RateCardLineInline]


@admin.register(RateCardLine)
class RateCardLineAdmin(LpoModelAdmin):
    list_display = ["rate_card", "task_type", "unit", "rate", "in_house_rate", "saving"]
    list_filter = ["task_type", "unit", "rate_card__vendor"]
    search_fields = ["rate_card__name", "rate_card__vendor__name"]
    list_select_related = ["rate_card__vendor"]
    autocomplete_fields = ["rate_card"]

    @admin.display(description="saving per unit")
    def saving(self, line: RateCardLine) -> str:
        return str(line.in_house_rate - line.rate) if line.in_house_rate else ""


@admin.register(ConflictDeclaration)
class ConflictDeclarationAdmin(LpoModelAdmin):
    list_display = ["party_name", "relationship", "vendor", "declared_by", "declared_on"]
    list_filter = ["vendor"]
    search_fields = ["party_name", "relationship", "vendor__name"]
    date_hierarchy = "declared_on"
    list_select_related = ["vendor", "declared_by__user", "declared_by__vendor"]
    autocomplete_fields = ["vendor", "declared_by"]

from vendors import staff_admin  # noqa: E402, F401  (registers the credential admins)
