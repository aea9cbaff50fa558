"""Who must sign in with a second factor: the one definition (setting MFA_REQUIRED_FOR)."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User

# Roles an app defines (`"vendors"`: an active vendor membership), registered by that app's
# AppConfig.ready(): lpo_tracker imports nothing of the apps.
_ROLE_TESTS: dict[str, Callable[[User], bool]] = {}


def register_mfa_role(name: str, test: Callable[[User], bool]) -> None:
    """Let a setting of MFA_REQUIRED_FOR name a role that `test` recognises."""
    _ROLE_TESTS[name] = test


def mfa_required_for(user: User | AnonymousUser) -> bool:
    """True if `user` holds a role the firm protects with MFA: attorneys (an attorney
    profile), vendor users (an active vendor membership), anyone who can open the admin."""
    if not user.is_authenticated:
        return False
    roles = settings.MFA_REQUIRED_FOR
    if "admins" in roles and (user.is_staff or user.is_superuser):
        return True
    if "attorneys" in roles and hasattr(user, "attorney_profile"):
        return True
    return any(name in roles and test(user) for name, test in _ROLE_TESTS.items())
