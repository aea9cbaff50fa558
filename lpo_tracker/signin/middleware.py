"""Session limits and MFA enrolment, checked on every request after authentication.

Both read only the session (stamped at sign-in by `receivers`), so they cost no query, but
while a user still has to enrol.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse

SIGNED_IN_AT = "signin_at"
LAST_SEEN_AT = "signin_last_seen"
ENROLMENT_DUE = "signin_mfa_enrolment_due"
# Rewrite the last-seen stamp at most this often: a session write per request would cost
# an UPDATE on every page.
LAST_SEEN_GRANULARITY = 60


class SessionTimeoutMiddleware:
    """Sign out after SESSION_IDLE_TIMEOUT without a request, and SESSION_COOKIE_AGE after
    sign-in whatever happens (the cookie's own expiry moves when the session is saved)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = time.time()
            # A session from before these stamps existed starts its clocks now.
            signed_in_at = float(request.session.setdefault(SIGNED_IN_AT, now))
            last_seen = float(request.session.get(LAST_SEEN_AT, now))
            if (now - last_seen > settings.SESSION_IDLE_TIMEOUT
                    or now - signed_in_at > settings.SESSION_COOKIE_AGE):
                logout(request)
                messages.info(request, "You were signed out after a period without activity "
                                       "or at the end of the day's session. Sign in again.")
                return redirect_to_login(request)
            if now - last_seen > LAST_SEEN_GRANULARITY or LAST_SEEN_AT not in request.session:
                request.session[LAST_SEEN_AT] = now
        return self.get_response(request)


def redirect_to_login(request: HttpRequest) -> HttpResponseRedirect:
    from django.contrib.auth.views import redirect_to_login as django_redirect

    return django_redirect(request.get_full_path(), reverse(settings.LOGIN_URL))


# Where a user who still has to enrol may go: the MFA pages, re-authentication and sign-out.
_ENROLMENT_ALLOWED = frozenset({"logout", "account_logout", "account_reauthenticate"})


class MFAEnrolmentMiddleware:
    """A user whom MFA_REQUIRED_FOR covers and who has no second factor yet is sent to set
    one up (QR code) before any other page; the admin included."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view: Callable[..., Any], args: Any,
                     kwargs: Any) -> HttpResponse | None:
        if not (request.user.is_authenticated and request.session.get(ENROLMENT_DUE)):
            return None
        name = request.resolver_match.url_name if request.resolver_match else ""
        if (name or "").startswith("mfa_") or name in _ENROLMENT_ALLOWED:
            return None
        if is_mfa_enabled(request.user):  # enrolled since: one query, during enrolment only
            del request.session[ENROLMENT_DUE]
            return None
        messages.warning(request, "Your role requires a second factor. Scan the QR code with "
                                  "an authenticator app to finish signing in.")
        return redirect("mfa_activate_totp")
