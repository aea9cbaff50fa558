"""Template context every page needs: the firm's name and the main navigation.

The unread-notification badge comes from `supervision.context_processors` (this package
imports no app, by the layering rule).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

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
        is_vendor = hasattr(user, "vendor_membership")
        context["NAV_ITEMS"] = _items(request, VENDOR_NAV if is_vendor else STAFF_NAV)
    return context
