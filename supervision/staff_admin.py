"""Admin for matter acknowledgements and engagement ratings (imported by
`supervision.admin`): evidence, so view only, and walled like every matter's data."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from lpo_tracker.admin_utils import MatterWallsAdmin, ViewOnlyAdmin
from supervision.staff_models import EngagementRating, MatterAcknowledgement


@admin.register(MatterAcknowledgement)
class MatterAcknowledgementAdmin(MatterWallsAdmin, ViewOnlyAdmin):
    matter_path = "matter"
    list_display = ["matter", "member", "terms_version", "acknowledged_at", "text_sha256"]
    list_filter = ["terms_version", "member__vendor"]
    search_fields = ["matter__number", "member__user__username", "text_sha256"]
    date_hierarchy = "acknowledged_at"

    def get_queryset(self, request: HttpRequest) -> QuerySet[MatterAcknowledgement]:
        return super().get_queryset(request).select_related(
            "matter", "member__user", "member__vendor"
        )


@admin.register(EngagementRating)
class EngagementRatingAdmin(MatterWallsAdmin, ViewOnlyAdmin):
    matter_path = "engagement__matter"
    list_display = [
        "engagement",
        "quality",
        "timeliness",
        "communication",
        "value",
        "rated_by",
        "rated_at",
    ]
    list_filter = ["engagement__vendor", "quality", "value"]
    search_fields = ["engagement__matter__number", "engagement__vendor__name", "comments"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[EngagementRating]:
        return (
            super()
            .get_queryset(request)
            .select_related("engagement__matter", "engagement__vendor", "rated_by")
        )
