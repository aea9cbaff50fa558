"""Step 3, deliver: the outbox. Claim one e-mail at a time, send it, mark it sent.

Each notification is the outbox row of its e-mail (state, attempts, next attempt, last
error). The rules, in the order a sweep meets them:

- Only rows due are read: pending, or retrying with `email_next_attempt_at <= now`.
- Before the first e-mail the connection to the mail server is opened. If that fails (the
  server is down, the network is, the login is refused) it is an outage: the sweep stops
  there, counts nothing on any e-mail and leaves them all for the next sweep. An outage of
  any length costs no e-mail an attempt.
- A server that refuses one message (a recipient, the sender, the data) is that message's
  fault: its attempts go up by one and its next attempt waits `retry_delay(attempts)`
  (1 minute doubling to a 6-hour cap). After `MAX_EMAIL_ATTEMPTS` (more than 72 hours of
  trying) it gives up: state `gave_up`, shown to the ops permission on the dashboard and in
  the admin, told to `OPS_ALERT_EMAIL`, re-armed by `notification_email_rearm`.
- A connection lost in the middle of a message counts once on that message only (a message
  that always breaks the connection must not block the queue for ever) and stops the sweep.
- A recipient screened from the matter since the reminder was planned is not sent the
  e-mail (`withheld`): the wall is checked again in the claim.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
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
    EmailState,
    Notification,
    ReminderRecord,
)
from supervision.reminders.base import (
    DELIVERY_BUDGET_SECONDS,
    DELIVERY_CHUNK,
    MAX_EMAIL_ATTEMPTS,
    SEND_ERRORS,
    SMTP_TIMEOUT_SECONDS,
    Delivery,
    batches,
    one_line,
    reminder_body,
    retry_delay,
)

logger = logging.getLogger(__name__)

# What a server says about one message (it stays up and answers the next one).
MESSAGE_ERRORS: tuple[type[Exception], ...] = (
    smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError,
    smtplib.SMTPNotSupportedError,
)
# Rows whose e-mail is still to go: the outbox's open states.
OPEN_STATES = (EmailState.PENDING, EmailState.RETRYING)


# --- 3. Deliver -----------------------------------------------------------------------------


def _wants_digest() -> Q:
    return Q(user__notification_settings__email_delivery=DeliveryPreference.DAILY_DIGEST)


def reader_screened() -> Q:
    """The reader may no longer see what the notification is about: the complement of
    `supervision.audience.notification_visible`, the one definition (docs/rules.md, 3)."""
    return ~notification_visible()


def due_emails(now: dt.datetime) -> Q:
    """Outbox rows to try at `now`: open, and not waiting out a back-off."""
    return (Q(emailed_at__isnull=True, withheld_at__isnull=True, email_state__in=OPEN_STATES)
            & (Q(email_next_attempt_at__isnull=True) | Q(email_next_attempt_at__lte=now)))


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
    unsent = ReminderRecord.objects.filter(sent_at__isnull=True)
    if reminder_ids is not None:
        unsent = unsent.filter(pk__in=list(reminder_ids))
    # Ordered by the partial index on created_at WHERE sent_at IS NULL: older reminders first.
    return list(unsent.order_by("created_at", "id").values_list("pk", flat=True))


def _waiting_emails(reminder_ids: Sequence[int], now: dt.datetime) -> list[_Email]:
    """The e-mails due for these reminders, in the reminders' order: one query for a whole
    chunk of reminders."""
    position = {reminder_id: index for index, reminder_id in enumerate(reminder_ids)}
    rows = (
        Notification.objects.filter(due_emails(now), reminder_id__in=reminder_ids)
        .exclude(_wants_digest())
        .values_list("pk", "reminder_id", "user__email", "user__first_name",
                     "user__last_name", "user__username", "subject", "body", "url",
                     "reminder__kind", "reminder__context")
    )
    bodies: dict[int, str] = {}  # rendered once per reminder, for all its recipients
    emails = []
    for (pk, reminder_id, address, first, last, username, subject, body, url, kind,
         context) in rows:
        if reminder_id is None:
            continue
        if not body:
            if reminder_id not in bodies:
                bodies[reminder_id] = reminder_body(kind, context or {})
            body = bodies[reminder_id]
        emails.append(_Email(notification_id=pk, reminder_id=reminder_id, address=address,
                             name=f"{first} {last}".strip() or username, subject=subject,
                             body=body, url=url))
    return sorted(emails, key=lambda email: (position[email.reminder_id],
                                             email.notification_id))


def _send_one(email: _Email, connection: BaseEmailBackend, now: dt.datetime) -> bool:
    """Claim one e-mail, send it and mark it sent, in one transaction.

    The claim is one statement: UPDATE … SET emailed_at WHERE id IN (SELECT … WHERE it is
    still due and its recipient not screened FOR UPDATE SKIP LOCKED). A second deliverer
    skips a row another one holds instead of waiting and sending it again, and finds nothing
    once it is committed. The mark is only visible at commit, after the send: a send error
    rolls it back (the e-mail stays open) and comes out as `_SendFailed`. False: someone
    else has it, or it is no longer due.
    """
    with transaction.atomic():
        # The audience is checked again at the claim: a wall put up since is obeyed.
        claimable = (
            Notification.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(notification_visible(), due_emails(now), pk=email.notification_id)
            .order_by()
        )
        if not Notification.objects.filter(pk__in=claimable.values("pk")).update(
                emailed_at=timezone.now(), email_state=EmailState.SENT,
                email_next_attempt_at=None):
            return False
        if email.address:  # no address: in-app only
            try:
                _message(email, connection).send()
            except SEND_ERRORS as exc:
                raise _SendFailed(exc) from exc
        return True


def _complete_where_done(reminder_ids: Sequence[int]) -> int:
    """Mark records sent once no immediate e-mail of theirs is left to send or given up
    (digest readers get theirs later, in the digest; withheld ones are not sent)."""
    waiting = (Notification.objects.filter(reminder_id=OuterRef("pk"), emailed_at__isnull=True)
               .exclude(email_state=EmailState.WITHHELD).exclude(_wants_digest())
               .exclude(reader_screened()))
    return (ReminderRecord.objects.filter(pk__in=reminder_ids, sent_at__isnull=True)
            .exclude(Exists(waiting)).update(sent_at=timezone.now()))


def _count_failure(email: _Email, error: Exception, now: dt.datetime) -> bool:
    """One attempt more on this e-mail and its next one after the back-off; True if it gave
    up. One conditional UPDATE: the counter is the row's, not the process's."""
    text = one_line(f"{type(error).__name__}: {error}", 2000)
    row = Notification.objects.filter(pk=email.notification_id, emailed_at__isnull=True)
    attempts = (row.values_list("email_attempts", flat=True).first() or 0) + 1
    gave_up = attempts >= MAX_EMAIL_ATTEMPTS
    row.update(
        email_attempts=F("email_attempts") + 1,
        email_state=EmailState.GAVE_UP if gave_up else EmailState.RETRYING,
        email_next_attempt_at=None if gave_up else now + retry_delay(attempts),
        email_last_error=text,
    )
    ReminderRecord.objects.filter(pk=email.reminder_id).update(last_error=text)
    if gave_up:
        logger.error("E-mail %s (reminder %s) gave up after %d attempts: %s",
                     email.notification_id, email.reminder_id, attempts, text)
    else:
        logger.warning("E-mail %s (reminder %s) failed (attempt %d), next try in %s: %s",
                       email.notification_id, email.reminder_id, attempts,
                       retry_delay(attempts), text)
    return gave_up


def _alert_ops(connection: BaseEmailBackend) -> int:
    """Tell the ops address about e-mails that gave up since the last alert, once each, over
    a connection that just worked. Marked in the same transaction as the send."""
    address = settings.OPS_ALERT_EMAIL
    if not address:
        return 0
    with transaction.atomic():
        fresh = list(
            Notification.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(email_state=EmailState.GAVE_UP, email_alerted_at__isnull=True)
            .order_by("created_at", "id")
            .values_list("pk", "subject", "user__email", "email_last_error")[:200]
        )
        if not fresh:
            return 0
        Notification.objects.filter(pk__in=[row[0] for row in fresh]).update(
            email_alerted_at=timezone.now())
        body = render_to_string("supervision/email/outbox_gave_up.txt", {
            "emails": [{"id": pk, "subject": subject, "address": to, "error": error}
                       for pk, subject, to, error in fresh],
            "link": f"{settings.SITE_URL}/admin/supervision/notification/"
                    "?email_state__exact=gave_up",
        })
        EmailMessage(subject=f"LPO Tracker: {len(fresh)} e-mail(s) gave up", body=body,
                     from_email=settings.DEFAULT_FROM_EMAIL, to=[address],
                     connection=connection,
                     headers={"Auto-Submitted": "auto-generated"}).send()
    return len(fresh)


def reminders_deliver(*, reminder_ids: Iterable[int] | None = None,
                      budget_seconds: float = DELIVERY_BUDGET_SECONDS,
                      now: dt.datetime | None = None) -> Delivery:
    """Send every due e-mail of the outbox (or those of `reminder_ids`), oldest first.

    1. List the unsent records (a partial index keeps this cheap however large the table),
       and, a chunk of records at a time, their e-mails due now.
    2. Open the mail connection before the first one: if it fails, stop (an outage counts
       on no e-mail). Claim, send and mark each e-mail in its own transaction.
    3. A message refused counts on that e-mail (back-off, then give up); a connection lost
       mid-message counts on that one and stops the sweep.
    4. Mark the chunk's records sent where nothing immediate is left. Then, the server being
       up, tell the ops address what gave up.
    """
    now = now or timezone.now()
    started = time.monotonic()
    result = Delivery()
    connection = get_connection(timeout=getattr(settings, "EMAIL_TIMEOUT", None)
                                or SMTP_TIMEOUT_SECONDS)
    opened = False
    try:
        for chunk in batches(_unsent_reminder_ids(reminder_ids), DELIVERY_CHUNK):
            withhold_invisible(Notification.objects.filter(reminder_id__in=chunk))
            for email in _waiting_emails(chunk, now):
                if time.monotonic() - started >= budget_seconds:
                    return result  # the next sweep carries on
                if email.address and not opened:
                    try:
                        connection.open()
                    except SEND_ERRORS as exc:
                        result.outage = one_line(f"{type(exc).__name__}: {exc}", 500)
                        logger.warning("Mail server unreachable, e-mails wait for the next "
                                       "sweep (no attempt counted): %s", result.outage)
                        return result
                    opened = True
                try:
                    result.sent += _send_one(email, connection, now)
                except _SendFailed as failure:
                    result.failed += 1
                    result.gave_up += _count_failure(email, failure.error, now)
                    result.errors.append(f"e-mail {email.notification_id}: {failure.error}")
                    if not isinstance(failure.error, MESSAGE_ERRORS):
                        result.outage = one_line(str(failure.error), 500)
                        return result  # the connection broke: the rest wait, uncounted
            result.reminders_completed += _complete_where_done(chunk)
        if opened or reminder_ids is None:
            try:
                result.alerted = _alert_ops(connection)
            except SEND_ERRORS as exc:
                logger.warning("Could not alert %s: %s", settings.OPS_ALERT_EMAIL, exc)
    finally:
        connection.close()
    return result


class _SendFailed(Exception):
    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error
