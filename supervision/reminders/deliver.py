"""Step 3, deliver: claim one notification at a time, send its e-mail, mark it sent.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.utils import DNS_NAME
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.template.loader import render_to_string
from django.utils import timezone

from supervision.audience import notification_visible, withhold_invisible
from supervision.models import (
    DeliveryPreference,
    Notification,
    ReminderRecord,
)
from supervision.reminders.base import (
    DELIVERY_BUDGET_SECONDS,
    DELIVERY_CHUNK,
    MAX_DELIVERY_ATTEMPTS,
    SEND_ERRORS,
    SMTP_TIMEOUT_SECONDS,
    Delivery,
    batches,
    one_line,
)

logger = logging.getLogger(__name__)


# --- 3. Deliver -----------------------------------------------------------------------------


def _wants_digest() -> Q:
    return Q(user__notification_settings__email_delivery=DeliveryPreference.DAILY_DIGEST)


def reader_screened() -> Q:
    """The reader may no longer see what the notification is about: the complement of
    `supervision.audience.notification_visible`, the one definition (docs/rules.md, 3)."""
    return ~notification_visible()


@dataclass(frozen=True)
class _Email:
    """One notification's e-mail, read with its chunk before it is claimed."""

    notification_id: int
    reminder_id: int
    address: str
    name: str
    subject: str
    body: str
    url: str


def _message(email: _Email, connection: BaseEmailBackend) -> EmailMessage:
    body = render_to_string("supervision/email/message.txt", {
        "name": email.name,
        "body": email.body,
        "link": f"{settings.SITE_URL}{email.url}" if email.url else "",
    })
    return EmailMessage(
        subject=email.subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email.address],
        connection=connection,
        headers={
            # The same notification always has the same Message-ID: a repeat after a crash at
            # the SMTP boundary is recognisable as the same message.
            "Message-ID": f"<lpo-notification-{email.notification_id}@{DNS_NAME}>",
            "Auto-Submitted": "auto-generated",  # RFC 3834: no auto-replies, please
        },
    )


def _unsent_reminder_ids(reminder_ids: Iterable[int] | None) -> list[int]:
    unsent = ReminderRecord.objects.filter(sent_at__isnull=True,
                                           attempts__lt=MAX_DELIVERY_ATTEMPTS)
    if reminder_ids is not None:
        unsent = unsent.filter(pk__in=list(reminder_ids))
    # Ordered by the partial index on created_at WHERE sent_at IS NULL: older reminders first.
    return list(unsent.order_by("created_at", "id").values_list("pk", flat=True))


def _waiting_emails(reminder_ids: Sequence[int]) -> list[_Email]:
    """The e-mails still to send for these reminders, in the reminders' order: one query
    for a whole chunk of reminders."""
    position = {reminder_id: index for index, reminder_id in enumerate(reminder_ids)}
    rows = (
        Notification.objects.filter(reminder_id__in=reminder_ids, emailed_at__isnull=True,
                                    withheld_at__isnull=True)
        .exclude(_wants_digest())
        .exclude(reader_screened())
        .values_list("pk", "reminder_id", "user__email", "user__first_name",
                     "user__last_name", "user__username", "subject", "body", "url")
    )
    emails = [
        _Email(notification_id=pk, reminder_id=reminder_id, address=address,
               name=f"{first} {last}".strip() or username, subject=subject, body=body, url=url)
        for pk, reminder_id, address, first, last, username, subject, body, url in rows
        if reminder_id is not None
    ]
    return sorted(emails, key=lambda email: (position[email.reminder_id],
                                             email.notification_id))


def _send_one(email: _Email, connection: BaseEmailBackend) -> bool:
    """Claim one e-mail, send it and mark it sent, in one transaction.

    The claim is one statement: UPDATE … SET emailed_at WHERE id IN (SELECT … WHERE
    emailed_at IS NULL FOR UPDATE SKIP LOCKED). A second deliverer skips a row another one
    holds instead of waiting and sending it again, and finds nothing once it is committed.
    The mark is only visible at commit, after the send: a send error rolls it back (the
    e-mail stays unsent) and comes out as `_SendFailed`. False: someone else has it.
    """
    with transaction.atomic():
        # The audience is checked again at the claim: a wall put up since is obeyed.
        claimable = Notification.objects.select_for_update(skip_locked=True, of=("self",)).filter(
            notification_visible(), pk=email.notification_id, emailed_at__isnull=True,
        ).order_by()
        if not Notification.objects.filter(pk__in=claimable.values("pk")).update(
                emailed_at=timezone.now()):
            return False
        if email.address:  # no address: in-app only
            try:
                _message(email, connection).send()
            except SEND_ERRORS as exc:
                raise _SendFailed(exc) from exc
        return True


def _complete_where_done(reminder_ids: Sequence[int]) -> int:
    """Mark records sent once no immediate e-mail of theirs is left (digest readers get
    theirs later, in the digest)."""
    waiting = Notification.objects.filter(reminder_id=OuterRef("pk"), emailed_at__isnull=True,
                                          withheld_at__isnull=True).exclude(_wants_digest())
    return (ReminderRecord.objects.filter(pk__in=reminder_ids, sent_at__isnull=True)
            .exclude(Exists(waiting)).update(sent_at=timezone.now()))


def _record_failure(reminder_id: int, error: Exception) -> None:
    logger.warning("E-mail for reminder %s failed: %s", reminder_id, error)
    ReminderRecord.objects.filter(pk=reminder_id).update(
        attempts=F("attempts") + 1,
        last_error=one_line(f"{type(error).__name__}: {error}", 2000),
    )


def reminders_deliver(*, reminder_ids: Iterable[int] | None = None,
                      budget_seconds: float = DELIVERY_BUDGET_SECONDS) -> Delivery:
    """Send every recorded e-mail not yet sent (or those of `reminder_ids`), oldest first.

    1. List the unsent records (a partial index keeps this cheap however large the table),
       and, a chunk of records at a time, their e-mails still to send.
    2. Claim, send and mark each e-mail in its own transaction (`_send_one`).
    3. A failed send is counted on its record and left for the next run; the rest go on.
    4. Mark the chunk's records sent where nothing immediate is left.
    """
    started = time.monotonic()
    result = Delivery()
    connection = get_connection(timeout=getattr(settings, "EMAIL_TIMEOUT", None)
                                or SMTP_TIMEOUT_SECONDS)
    try:
        for chunk in batches(_unsent_reminder_ids(reminder_ids), DELIVERY_CHUNK):
            withhold_invisible(Notification.objects.filter(reminder_id__in=chunk))
            for email in _waiting_emails(chunk):
                if time.monotonic() - started >= budget_seconds:
                    return result  # the next sweep carries on
                try:
                    result.sent += _send_one(email, connection)
                except _SendFailed as failure:
                    _record_failure(email.reminder_id, failure.error)
                    result.failed += 1
                    result.errors.append(f"reminder {email.reminder_id}: {failure.error}")
                    connection.close()  # a broken SMTP session is not reused
            result.reminders_completed += _complete_where_done(chunk)
    finally:
        connection.close()
    return result



class _SendFailed(Exception):
    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error
