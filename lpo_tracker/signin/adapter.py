"""allauth's account adapter: the firm creates accounts, and step-up asks for MFA first."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False  # accounts are created by the firm's administrators

    def get_reauthentication_methods(self, user: Any) -> list[dict[str, Any]]:
        """A user with a second factor confirms with it: offer it before the password."""
        methods: list[dict[str, Any]] = super().get_reauthentication_methods(user)
        return sorted(methods, key=lambda method: method["id"] != "mfa_reauthenticate")
