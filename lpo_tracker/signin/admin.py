"""Sign-in records in the admin, each change through an audited service:

- failed and locked-out sign-ins (django-axes): unlock = delete the attempts;
- second factors (allauth): reset = delete them, for a lost phone; the user enrols again
  at the next sign-in.

allauth's e-mail address admin is removed: accounts are identified by username, and an
address that could be changed would be a way around the second factor.
"""

from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from axes.models import AccessAttempt
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from lpo_tracker.signin.services import authenticators_reset, lockout_release

admin.site.unregister(EmailAddress)
admin.site.unregister(Authenticator)


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


@admin.register(Authenticator)
class SecondFactorAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("user", "type", "created_at", "last_used_at")
    list_filter = ("type",)
    list_select_related = ("user",)
    search_fields = ("user__username",)
    fields = ("user", "type", "created_at", "last_used_at")
    readonly_fields = fields
    actions = ["reset"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # people enrol themselves, with their own device

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.action(description="Reset the selected second factors (audited)",
                  permissions=["delete"])
    def reset(self, request: HttpRequest, queryset: QuerySet[Authenticator]) -> None:
        removed = authenticators_reset(actor=request.user, authenticators=queryset)  # type: ignore[arg-type]
        messages.success(request, f"Reset {removed} second factor(s); the user enrols again "
                                  "at the next sign-in.")

    def delete_model(self, request: HttpRequest, obj: Authenticator) -> None:
        authenticators_reset(actor=request.user,  # type: ignore[arg-type]
                             authenticators=Authenticator.objects.filter(pk=obj.pk))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Authenticator]) -> None:
        authenticators_reset(actor=request.user, authenticators=queryset)  # type: ignore[arg-type]
