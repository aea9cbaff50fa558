"""Who must sign in with a second factor: the one definition (setting MFA_REQUIRED_FOR)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User

from vendors.selectors import is_vendor_user


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
    return "vendors" in roles and is_vendor_user(user)
