"""The audit trail in the admin: view-only, as the database refuses UPDATE and DELETE on it."""

from __future__ import annotations

from django.contrib import admin
from django.utils.safestring import SafeString

from lpo_tracker.admin_utils import MatterWallsAdmin, ViewOnlyAdmin, pretty_json
from lpo_tracker.audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(MatterWallsAdmin, ViewOnlyAdmin):
    matter_path = "matter_id"
    list_display = [
        "id",
        "occurred_at",
        "actor_label",
        "action",
        "object_type",
        "object_id",
        "matter_id",
        "request_id",
    ]
    list_filter = ["action", "object_type", "source"]
    search_fields = ["object_repr", "actor_label", "request_id", "hash"]
    date_hierarchy = "occurred_at"
    ordering = ["-id"]
    # The table only grows; an exact count of all of it on every page is wasted work.
    show_full_result_count = False
    fields = [
        "id",
        "occurred_at",
        "actor",
        "actor_label",
        "action",
        "object_type",
        "object_id",
        "object_repr",
        "matter_id",
        "before_json",
        "after_json",
        "request_id",
        "ip_address",
        "source",
        "prev_hash",
        "hash",
    ]
    readonly_fields = ["id", "before_json", "after_json"]

    @admin.display(description="before")
    def before_json(self, event: AuditEvent) -> SafeString:
        return pretty_json(event.before)

    @admin.display(description="after")
    def after_json(self, event: AuditEvent) -> SafeString:
        return pretty_json(event.after)
