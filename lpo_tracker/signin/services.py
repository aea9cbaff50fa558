"""Writes of the sign-in package: lockouts and unlocks, audited."""

from __future__ import annotations

from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from axes.models import AccessAttempt
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet

from lpo_tracker.audit.services import audit_record


@transaction.atomic
def lockout_record(*, username: str, ip_address: str) -> None:
    """django-axes locked a username or address out: put it on the audit trail."""
    audit_record(actor=None, action="signin.locked_out", object_type="signin.lockout",
                 object_id=username[:64], after={"username": username,
                                                 "ip_address": ip_address})


@transaction.atomic
def lockout_release(*, actor: User, attempts: QuerySet[AccessAttempt]) -> int:
    """Unlock: delete the failed attempts that hold a lock, one audit event for each.

    Deleting the attempts is how django-axes unlocks; the audit keeps who did it and what
    the attempts were.
    """
    released = 0
    for attempt in attempts.select_for_update().order_by("pk"):
        audit_record(actor=actor, action="signin.unlocked", object_type="signin.lockout",
                     object_id=(attempt.username or "")[:64],
                     before={"username": attempt.username, "ip_address": attempt.ip_address,
                             "failures": attempt.failures_since_start})
        attempt.delete()
        released += 1
    return released


@transaction.atomic
def mfa_enrol(*, user: User, totp_secret: str) -> list[str]:
    """Give `user` an authenticator-app secret and recovery codes (allauth's own records, as
    its enrolment page makes them); return the recovery codes. Used by the demo seed and
    the tests; people enrol themselves on the QR-code page."""
    TOTP.activate(user, totp_secret)
    codes = RecoveryCodes.activate(user)
    audit_record(actor=user, action="signin.mfa_enrolled", obj=user,
                 after={"types": ["totp", "recovery_codes"]})
    return codes.get_unused_codes()


@transaction.atomic
def authenticator_change_record(*, user: User, authenticator: Authenticator,
                                added: bool) -> None:
    """A second factor was added or removed (allauth's pages): on the audit trail."""
    audit_record(actor=user, action="signin.mfa_added" if added else "signin.mfa_removed",
                 obj=user, after={"type": authenticator.type})


@transaction.atomic
def authenticators_reset(*, actor: User, authenticators: QuerySet[Authenticator]) -> int:
    """Remove second factors (a lost phone): one audit event each, naming whose and which."""
    removed = 0
    locked = authenticators.select_for_update(of=("self",)).select_related("user")
    for authenticator in locked.order_by("pk"):
        audit_record(actor=actor, action="signin.mfa_reset", obj=authenticator.user,
                     before={"type": authenticator.type})
        authenticator.delete()
        removed += 1
    return removed
