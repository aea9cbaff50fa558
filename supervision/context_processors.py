"""Template context every page needs: the firm's name, the main navigation (the staff's or a
vendor user's) and the unread-notification badge (base.html reads UNREAD_COUNT)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from matters.selectors import matters_open_for_engagement
from supervision.notifications import unread_count
from vendors.selectors import is_vendor_user


def may_engage_vendors(user: Any) -> bool:
    """On the team of an open matter: the rule engagement_create applies."""
    return matters_open_for_engagement(user).exists()


# (url name, label, model permission needed, a predicate of the user, or "").
# Vendor users get their portal instead.
NavEntry = tuple[str, str, str | Callable[[Any], bool]]
STAFF_NAV: list[NavEntry] = [
    ("supervision:dashboard", "Dashboard", ""),
    ("matters:list", "Matters", ""),
    ("tasks:list", "Tasks", ""),
    ("matters:intake", "New matter", "matters.add_matter"),
    ("engagements:start", "Engage a vendor", may_engage_vendors),
    ("clients:list", "Clients", "matters.change_client"),
    ("matters:task_templates", "Task templates", "matters.manage_task_templates"),
    ("supervision:review_queue", "Review queue", ""),
    ("vendors:list", "Vendors", "vendors.view_vendor"),
    ("reports:scorecards", "Scorecards", "vendors.view_vendor"),
    ("supervision:notifications", "Notifications", ""),
]
VENDOR_NAV: list[NavEntry] = [
    ("portal:tasks", "My tasks", ""),
    ("supervision:notifications", "Notifications", ""),
]


def model_permissions(request: HttpRequest) -> frozenset[str] | None:
    """The signed-in user's model permissions as "app_label.codename", read once per request
    (one query: direct and group grants in a UNION) and kept on the request; None for a
    superuser, who holds them all. The same answer as ModelBackend's `has_perm` without an
    object (active users only), which costs two queries (user, then group permissions); the
    set is handed to ModelBackend's cache, so a later `has_perm` costs none.
    """
    cached: frozenset[str] | bool | None = getattr(request, "_lpo_model_permissions", False)
    if cached is not False:
        return cached  # type: ignore[return-value]
    from django.contrib.auth.models import Permission

    user = request.user
    found: frozenset[str] | None
    if not user.is_active:
        found = frozenset()
    elif user.is_superuser:
        found = None
    elif hasattr(user, "_perm_cache"):  # the view asked has_perm already: ModelBackend's set
        found = frozenset(user._perm_cache)
    else:
        fields = ("content_type__app_label", "codename")
        # Unordered: SQLite refuses an ORDER BY (Permission's default) inside a UNION.
        direct = Permission.objects.filter(user=user.pk).order_by().values_list(*fields)
        via_group = Permission.objects.filter(group__user=user.pk).order_by().values_list(*fields)
        found = frozenset(f"{app}.{codename}" for app, codename in direct.union(via_group))
        # ModelBackend keeps the same set under this name: a later has_perm reuses it.
        user._perm_cache = set(found)  # type: ignore[union-attr,attr-defined]
    request._lpo_model_permissions = found  # type: ignore[attr-defined]
    return found


def _allowed(request: HttpRequest, permission: str | Callable[[Any], bool],
             held: frozenset[str] | None) -> bool:
    """May the user open the entry: a model permission (from the per-request set; None for a
    superuser, who holds them all) or a predicate the entry's service also enforces."""
    if callable(permission):
        return permission(request.user)
    return not permission or held is None or permission in held


def _items(request: HttpRequest, entries: list[NavEntry]) -> list[dict[str, Any]]:
    items = []
    held = model_permissions(request) if any(perm for _n, _l, perm in entries) else frozenset()
    for name, label, permission in entries:
        if not _allowed(request, permission, held):
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
        vendor_user = is_vendor_user(user)
        context["NAV_ITEMS"] = _items(request, VENDOR_NAV if vendor_user else STAFF_NAV)
        # The header's search box: firm staff only (matters.search; vendor users have none).
        context["SHOW_SEARCH"] = not vendor_user
    return context


def unread(request: HttpRequest) -> dict[str, int]:
    """One COUNT query for a signed-in user; none for anyone else."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"UNREAD_COUNT": 0}
    return {"UNREAD_COUNT": unread_count(user)}
