"""allauth's account adapter: the firm creates accounts, and step-up asks for MFA first."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest

from lpo_tracker.signin.middleware import ENROLMENT_DUE


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False  # accounts are created by the firm's administrators

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        """Wrong passwords are django-axes's rule alone (its counts, its lockout page);
        allauth's `login_failed` limit keeps guarding the second-factor codes."""
        self._login_failed_rl_usage = None

    def is_reauthentication_required(self, *, app: str, **kwargs: Any) -> bool:
        """Enrolling at first sign-in follows the password by seconds: asking for it again
        would only get in the way. Adding or removing a factor later asks again."""
        if app == "allauth.mfa" and self.request is not None and \
                self.request.session.get(ENROLMENT_DUE):
            return False
        return bool(super().is_reauthentication_required(app=app, **kwargs))

    def get_reauthentication_methods(self, user: Any) -> list[dict[str, Any]]:
        """A user with a second factor confirms with it: offer it before the password."""
        methods: list[dict[str, Any]] = super().get_reauthentication_methods(user)
        return sorted(methods, key=lambda method: method["id"] != "mfa_reauthenticate")
