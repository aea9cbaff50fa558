"""Signals that tie sign-in events to the session and the audit trail."""

from __future__ import annotations

import time
from typing import Any

from allauth.account.signals import authentication_step_completed
from allauth.mfa.models import Authenticator
from allauth.mfa.signals import authenticator_added, authenticator_removed
from allauth.mfa.utils import is_mfa_enabled
from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest

from lpo_tracker.signin.middleware import ENROLMENT_DUE, LAST_SEEN_AT, SIGNED_IN_AT
from lpo_tracker.signin.policy import mfa_required_for
from lpo_tracker.signin.services import authenticator_change_record, lockout_record


@receiver(user_logged_in, dispatch_uid="signin_stamp_session")
def stamp_session(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """Django's login() has just rotated the session id. Stamp when it started (absolute
    and idle limits) and whether the user must still enrol a second factor."""
    if request is None or not hasattr(request, "session"):
        return
    now = time.time()
    request.session[SIGNED_IN_AT] = now
    request.session[LAST_SEEN_AT] = now
    request.session[ENROLMENT_DUE] = mfa_required_for(user) and not is_mfa_enabled(user)


@receiver(authentication_step_completed, dispatch_uid="signin_rotate_on_stepup")
def rotate_on_stepup(sender: Any, request: HttpRequest, reauthenticated: bool = False,
                     **kwargs: Any) -> None:
    """A step-up (re-authentication) gets a new session id, as a sign-in does."""
    if reauthenticated:
        request.session.cycle_key()


@receiver(authenticator_added, dispatch_uid="signin_enrolled")
def enrolled(sender: Any, request: HttpRequest, user: Any, authenticator: Authenticator,
             **kwargs: Any) -> None:
    authenticator_change_record(user=user, authenticator=authenticator, added=True)


@receiver(authenticator_removed, dispatch_uid="signin_authenticator_removed")
def removed(sender: Any, request: HttpRequest, user: Any, authenticator: Authenticator,
            **kwargs: Any) -> None:
    authenticator_change_record(user=user, authenticator=authenticator, added=False)


@receiver(user_locked_out, dispatch_uid="signin_audit_lockout")
def audit_lockout(sender: Any, request: HttpRequest, username: str | None = None,
                  ip_address: str | None = None, **kwargs: Any) -> None:
    lockout_record(username=username or "", ip_address=ip_address or "")
