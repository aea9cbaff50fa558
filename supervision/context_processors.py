"""Template context every page needs: the firm's name, the main navigation (the staff's or a
vendor user's) and the unread-notification badge (base.html reads UNREAD_COUNT)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from supervision.notifications import unread_count
from vendors.selectors import is_vendor_user

# (url name, label, model permission needed or ""). Vendor users get their portal instead.
STAFF_NAV = [
    ("supervision:dashboard", "Dashboard", ""),
    ("matters:list", "Matters", ""),
    ("supervision:review_queue", "Review queue", ""),
    ("vendors:list", "Vendors", "vendors.view_vendor"),
    ("reports:scorecards", "Scorecards", "vendors.view_vendor"),
    ("supervision:notifications", "Notifications", ""),
]
VENDOR_NAV = [
    ("portal:tasks", "My tasks", ""),
    ("supervision:notifications", "Notifications", ""),
]


def _items(request: HttpRequest, entries: list[tuple[str, str, str]]) -> list[dict[str, Any]]:
    items = []
    for name, label, permission in entries:
        if permission and not request.user.has_perm(permission):
            continue  # a link that would only answer 403
        try:
            url = reverse(name)
        except NoReverseMatch:  # a section not installed in this deployment
            continue
        items.append(
            {
                "name": name,
                "label": label,
                "url": url,
                "active": request.path == url or (url != "/" and request.path.startswith(url)),
            }
        )
    return items


def navigation(request: HttpRequest) -> dict[str, Any]:
    context: dict[str, Any] = {"FIRM_NAME": settings.FIRM_NAME}
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        entries = VENDOR_NAV if is_vendor_user(user) else STAFF_NAV
        context["NAV_ITEMS"] = _items(request, entries)
    return context


def unread(request: HttpRequest) -> dict[str, int]:
    """One COUNT query for a signed-in user; none for anyone else."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"UNREAD_COUNT": 0}
    return {"UNREAD_COUNT": unread_count(user)}
