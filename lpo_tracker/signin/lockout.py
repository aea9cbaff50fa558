"""django-axes glue: which username a request is about, and the page a lockout shows."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def username_of(request: HttpRequest, credentials: dict[str, Any] | None = None) -> str | None:
    """allauth authenticates with `username`; its form posts the field as `login`."""
    if credentials and credentials.get("username"):
        return str(credentials["username"])
    posted = request.POST.get("login") or request.POST.get("username")
    return posted or None


def lockout_response(request: HttpRequest, credentials: dict[str, Any] | None = None,
                     *args: Any, **kwargs: Any) -> HttpResponse:
    """429 with a page that says what happened, for how long, and whom to ask."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return render(request, "registration/locked_out.html", {
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "lockout_minutes": minutes,
        "help_contact": settings.SIGNIN_HELP_CONTACT,
    }, status=429)
