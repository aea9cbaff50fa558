"""In-app notifications for the signed-in user (the list, the unread count, marking read),
and the daily digest e-mail for those who chose it instead of single e-mails.

The reading functions are scoped to the user they are given: nobody reads or marks anyone
else's rows. Notifications are created by the reminder engine (`supervision.reminders`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils import timezone

from lpo_tracker.clock import zone_named
from supervision.audience import notification_visible, withhold_invisible
from supervision.models import (
    DeliveryPreference,
    EmailState,
    Notification,
    NotificationSettings,
    ReminderRecord,
)
from supervision.reminders import (
    SEND_ERRORS,
    SMTP_TIMEOUT_SECONDS,
    Delivery,
    reminder_body,
)

logger = logging.getLogger(__name__)

AnyUser = User | AnonymousUser


def notifications_for(user: AnyUser) -> QuerySet[Notification]:
    """The user's notifications, newest first (one query; slice it for a page). Those about
    a matter the user is now screened from are left out: a wall takes effect at once."""
    if not user.is_authenticated:
        return Notification.objects.none()
    # Only what the user may still see: a wall or a reassignment since hides it.
    return Notification.objects.filter(notification_visible(), user_id=user.pk).order_by(
        "-created_at", "-id")


def with_bodies(notes: Iterable[Notification]) -> list[Notification]:
    """The notifications of a page with their bodies: the sweep's reminders are rendered
    here, from their recorded facts (`supervision.reminders.reminder_body`), once per
    reminder; one query for the whole page."""
    notes = list(notes)
    missing = {note.reminder_id for note in notes if not note.body and note.reminder_id}
    facts = dict(ReminderRecord.objects.filter(pk__in=missing)
                 .values_list("pk", "context")) if missing else {}
    rendered: dict[int, str] = {}
    for note in notes:
        if not note.body and note.reminder_id in facts:
            if note.reminder_id not in rendered:
                rendered[note.reminder_id] = reminder_body(note.kind,
                                                           facts[note.reminder_id] or {})
            note.body = rendered[note.reminder_id]
    return notes


def unread_count(user: AnyUser) -> int:
    """Unread notifications the user may still see and that still ask for something (one
    COUNT, the list's own filter): a resolved one (supervision.resolution) is done."""
    if not user.is_authenticated:
        return 0
    return notifications_for(user).filter(read_at__isnull=True, resolved_at__isnull=True).count()


def notification_mark_read(*, user: AnyUser, ids: list[int] | None) -> int:
    """Mark the user's notifications read: those in `ids`, or all of them when `ids` is None.
    Ids of other users' notifications are ignored. Returns how many changed."""
    if not user.is_authenticated:
        return 0
    unread = Notification.objects.filter(user_id=user.pk, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=timezone.now())


# --- Daily digest -------------------------------------------------------------------------


def last_digest_moment(now: dt.datetime, preferences: NotificationSettings) -> dt.datetime:
    """The most recent digest time (the user's hour, in the user's zone) at or before `now`."""
    local = now.astimezone(zone_named(preferences.time_zone))
    moment = local.replace(hour=preferences.digest_hour, minute=0, second=0, microsecond=0)
    if moment > local:
        moment -= dt.timedelta(days=1)
    return moment.astimezone(dt.UTC)


def digests_send(*, now: dt.datetime) -> Delivery:
    """One e-mail per digest reader with what arrived before their latest digest time.

    Run hourly: a reader is due once their hour has come, and a digest holds only
    notifications created before that hour, so a reader never gets two on one day, and a
    missed hour is made up at the next run. The reader's settings row is locked (SKIP LOCKED)
    while their digest goes, so two runs at once send it once.
    """
    result = Delivery()
    readers = list(NotificationSettings.objects.filter(
        email_delivery=DeliveryPreference.DAILY_DIGEST, user__is_active=True
    ).values_list("pk", flat=True))
    connection = get_connection(timeout=getattr(settings, "EMAIL_TIMEOUT", None)
                                or SMTP_TIMEOUT_SECONDS)
    try:
        for reader_id in readers:
            try:
                result.sent += _send_digest(reader_id, now, connection)
            except SEND_ERRORS as exc:
                logger.warning("Digest for settings %s failed: %s", reader_id, exc)
                result.failed += 1
                result.errors.append(f"digest {reader_id}: {exc}")
                connection.close()
    finally:
        connection.close()
    return result


def _send_digest(reader_id: int, now: dt.datetime, connection: BaseEmailBackend) -> int:
    with transaction.atomic():
        preferences = (
            NotificationSettings.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("user").filter(pk=reader_id).first()
        )
        if preferences is None:
            return 0
        cutoff = last_digest_moment(now, preferences)
        pending = Notification.objects.filter(user_id=preferences.user_id,
                                              created_at__lt=cutoff)
        withhold_invisible(pending)  # the audience, checked at send time
        items = list(pending.filter(emailed_at__isnull=True, withheld_at__isnull=True)
                     .order_by("created_at", "id"))
        if not items:
            return 0
        user = preferences.user
        if user.email:
            EmailMessage(
                subject=f"Your LPO Tracker digest: {len(items)} notification"
                f"{'' if len(items) == 1 else 's'}",
                body=render_to_string("supervision/email/digest.txt", {
                    "name": user.get_full_name() or user.get_username(),
                    "items": items,
                    "site_url": settings.SITE_URL,
                }),
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=[user.email],
                connection=connection,
                headers={"Auto-Submitted": "auto-generated"},
            ).send()
        Notification.objects.filter(pk__in=[item.pk for item in items],
                                    emailed_at__isnull=True).update(
            emailed_at=timezone.now(), email_state=EmailState.SENT)
        return 1
