"""The pages a refused or failed request gets (settings.DEBUG off; wired as handler403,
handler404 and handler500 in lpo_tracker/urls.py, and as CSRF_FAILURE_VIEW).

Each says what happened and where to go from here, inside the site's layout: firm staff are
offered their dashboard, a vendor user their portal (a staff page does not exist for them),
anyone signed out the sign-in page. The refusal itself is still logged by Django as one line
(`lpo_tracker.logs.RefusedRequestFilter`); these views only choose the page.

The 500 page is rendered without the request's context processors: they read the database
(navigation, unread count), and the database may be why the request failed. It gets the
firm's name from the settings and the request id from the request, both already in memory,
and if even that template cannot be rendered a plain page is returned.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.template import loader
from django.urls import NoReverseMatch, reverse

from vendors.selectors import is_vendor_user

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Destination:
    label: str
    url: str


def _url(name: str) -> str | None:
    try:
        return reverse(name)
    except NoReverseMatch:  # a section not installed in this deployment
        return None


def destinations_for(user: Any) -> tuple[str, list[Destination]]:
    """Who is asking ("anonymous", "vendor" or "staff") and the pages to offer them, the
    first being their home: a vendor user goes back to the portal, staff to the dashboard."""
    if user is None or not user.is_authenticated:
        return "anonymous", [Destination("Sign in", reverse("login"))]
    if is_vendor_user(user):
        choices = [
            ("portal:tasks", "Your tasks in the vendor portal"),
            ("supervision:notifications", "Your notifications"),
        ]
        audience = "vendor"
    else:
        choices = [
            ("supervision:dashboard", "Your dashboard"),
            ("matters:list", "Matters"),
            ("supervision:review_queue", "The review queue"),
        ]
        audience = "staff"
    return audience, [
        Destination(label, url) for name, label in choices if (url := _url(name)) is not None
    ]


def error_page(
    request: HttpRequest, template: str, status: int, context: dict[str, Any]
) -> HttpResponse:
    """`template` (one extending errors/_page.html) with the audience and its destinations.
    For a view that refuses with more to say than a PermissionDenied's sentence."""
    audience, places = destinations_for(getattr(request, "user", None))
    page = {
        "status": status,
        "audience": audience,
        "destinations": places,
        "request_id": getattr(request, "request_id", ""),
        **context,
    }
    try:
        body = loader.render_to_string(template, page, request=request)
    except DatabaseError as exc:
        # The layout's context processors read the database; without it, the static page.
        logger.warning("Error page %s rendered without the database: %s", status, exc)
        return server_error(request, status=status)
    return HttpResponse(body, status=status)


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """403: signed in, may see the page, may not do this. The refusal's own sentence (every
    PermissionDenied this app raises carries one a user can act on) is shown."""
    reason = str(exception) if isinstance(exception, PermissionDenied) else ""
    return error_page(request, "403.html", 403, {"reason": reason})


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """404: no such page, or one this user may not see (the two are told apart nowhere, so
    the page reveals nothing about what exists)."""
    return error_page(request, "404.html", 404, {"path": request.path})


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """403 from the CSRF check: in practice a form left open past the session's end, or
    sent from another site."""
    return error_page(request, "403_csrf.html", 403, {})


STATIC_FALLBACK = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Something went '
    "wrong · LPO Tracker</title></head><body><main><h1>Something went wrong on our side"
    "</h1><p>Nothing you did caused this, and it has been logged. Please try again in a "
    'minute.</p><p><a href="/">Go to the start page</a></p></main></body></html>'
)


def server_error(request: HttpRequest, *, status: int = 500) -> HttpResponse:
    """500 (and the database-less fallback of the other pages): no context processor, no
    query, nothing that can fail the way the request did."""
    page = {
        "status": status,
        "FIRM_NAME": settings.FIRM_NAME,
        "path": request.path,
        "request_id": getattr(request, "request_id", ""),
    }
    body: str
    try:
        body = loader.render_to_string("500.html", page)  # no request: no context processors
    except Exception:  # the last resort must not raise
        logger.exception("The 500 page could not be rendered")
        body = STATIC_FALLBACK
    return HttpResponse(body, status=status)
