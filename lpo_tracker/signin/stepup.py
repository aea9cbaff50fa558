"""The fresh confirmation a sign-off needs (step-up), as the sign-off service sees it.

allauth keeps a log of how the session authenticated (password, or MFA with its type, and
when), at sign-in and at every re-authentication. The view turns the latest entry into a
`Confirmation`; `supervision.services.signoff_record` decides whether it is fresh enough
and of the right kind (`confirmation_problem`), and records it on the sign-off.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from allauth.account.authentication import get_authentication_records
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import HttpRequest
from django.utils import timezone

from lpo_tracker.fields import ConfirmationMethod

SECOND_FACTORS = frozenset({ConfirmationMethod.TOTP, ConfirmationMethod.RECOVERY_CODE,
                            ConfirmationMethod.WEBAUTHN})


@dataclass(frozen=True)
class Confirmation:
    """How and when the person at the keyboard last proved who they are."""

    method: ConfirmationMethod
    confirmed_at: dt.datetime


def confirmation_from_request(request: HttpRequest) -> Confirmation | None:
    """The session's latest authentication (sign-in or re-authentication), if any."""
    for record in reversed(get_authentication_records(request, request.user)):  # type: ignore[arg-type]
        kind = record.get("type") if record.get("method") == "mfa" else record.get("method")
        if kind in ConfirmationMethod.values and kind != ConfirmationMethod.DEMO:
            return Confirmation(
                method=ConfirmationMethod(kind),
                confirmed_at=dt.datetime.fromtimestamp(float(record["at"]), tz=dt.UTC),
            )
    return None


def confirmation_problem(
    *, user: AbstractBaseUser | AnonymousUser, confirmation: Confirmation | None,
    now: dt.datetime | None = None,
) -> str | None:
    """Why `confirmation` does not do for a sign-off by `user`, or None if it does.

    1. There must be one, no older than SIGNOFF_CONFIRMATION_SECONDS.
    2. A user with a second factor must have used it; a password does only for a user
       without one (MFA not required for them and not enrolled).
    """
    if confirmation is None:
        return "Confirm it is you (second factor, or password) before signing off."
    if confirmation.method == ConfirmationMethod.DEMO:
        return None
    now = now or timezone.now()
    age = (now - confirmation.confirmed_at).total_seconds()
    if age > settings.SIGNOFF_CONFIRMATION_SECONDS or age < -60:
        minutes = max(1, settings.SIGNOFF_CONFIRMATION_SECONDS // 60)
        return (f"Confirm it is you again: a sign-off needs a confirmation from the last "
                f"{minutes} minutes.")
    if confirmation.method not in SECOND_FACTORS and is_mfa_enabled(user):
        return "Confirm with your second factor (a password alone does not do) to sign off."
    return None
