"""The outbox seen by people: e-mails that gave up, for whoever holds the ops permission, and
the one action that re-arms them (admin action, dashboard, `rearm_emails` command).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet

from lpo_tracker.audit.services import audit_record
from supervision.models import EmailState, Notification

OUTBOX_PERMISSION = "supervision.manage_email_outbox"

AnyUser = User | AnonymousUser


def may_manage_outbox(user: AnyUser) -> bool:
    return bool(user.is_authenticated and user.is_active and user.has_perm(OUTBOX_PERMISSION))


def emails_given_up_for(user: AnyUser) -> QuerySet[Notification]:
    """E-mails that gave up, oldest first, for the ops permission (nothing for anyone else)."""
    if not may_manage_outbox(user):
        return Notification.objects.none()
    return (Notification.objects.filter(email_state=EmailState.GAVE_UP)
            .select_related("user").order_by("created_at", "id"))


def notification_email_rearm(*, actor: AnyUser, notification_ids: Iterable[int]) -> int:
    """Give e-mails that gave up a fresh start: pending, no attempts, due at the next sweep.
    One audit event per e-mail (its attempts and last error before). Returns how many."""
    if not may_manage_outbox(actor):
        raise PermissionDenied("Re-arming e-mails needs the outbox permission.")
    with transaction.atomic():
        rows = list(
            Notification.objects.select_for_update(of=("self",))
            .filter(pk__in=list(notification_ids), email_state=EmailState.GAVE_UP,
                    emailed_at__isnull=True)
            .order_by("pk")
        )
        for row in rows:
            audit_record(actor=actor, action="notification.email_rearmed", obj=row,
                         before={"email_state": row.email_state,
                                 "email_attempts": row.email_attempts,
                                 "email_last_error": row.email_last_error},
                         after={"email_state": EmailState.PENDING, "email_attempts": 0})
        Notification.objects.filter(pk__in=[row.pk for row in rows]).update(
            email_state=EmailState.PENDING, email_attempts=0, email_next_attempt_at=None,
            email_alerted_at=None)
    return len(rows)
