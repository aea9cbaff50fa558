"""Locked-out sign-ins in the admin. Unlocking (deleting the attempts) goes through the
audited service; nothing else about an attempt can be changed."""

from __future__ import annotations

from typing import Any

from axes.models import AccessAttempt
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from lpo_tracker.signin.services import lockout_release


@admin.register(AccessAttempt)
class LockedSignInAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("username", "ip_address", "failures_since_start", "attempt_time")
    search_fields = ("username", "ip_address")
    readonly_fields = ("username", "ip_address", "user_agent", "path_info",
                       "failures_since_start", "attempt_time")
    fields = readonly_fields
    actions = ["unlock"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # unlocking is the audited action below
        return actions

    @admin.action(description="Unlock the selected sign-ins (audited)",
                  permissions=["delete"])
    def unlock(self, request: HttpRequest, queryset: QuerySet[AccessAttempt]) -> None:
        released = lockout_release(actor=request.user, attempts=queryset)  # type: ignore[arg-type]
        messages.success(request, f"Unlocked {released} sign-in(s).")

    def delete_model(self, request: HttpRequest, obj: AccessAttempt) -> None:
        lockout_release(actor=request.user,  # type: ignore[arg-type]
                        attempts=AccessAttempt.objects.filter(pk=obj.pk))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[AccessAttempt]) -> None:
        lockout_release(actor=request.user, attempts=queryset)  # type: ignore[arg-type]
