"""Celery tasks for reminders. Each loads what it needs by id and calls a service in
`supervision.reminders`; each is idempotent, so a retry, a redelivery after a crash
(`acks_late`) or a second beat does no harm.

A transient database error (a terminated backend, a failover, a restart: psycopg's
OperationalError / InterfaceError, which Django re-raises as its own) retries the task with
back-off: 2 s, 4 s … at most 120 s, on a fresh connection. Reminder e-mails that fail are
not the task's business: the outbox keeps each one with its own back-off
(`supervision.reminders.deliver`) and the next sweep tries what is due. Digests still retry
the task on mail-server errors.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from celery import shared_task
from django.db import InterfaceError, OperationalError, connections
from django.utils import timezone
from kombu.exceptions import KombuError
from redis.exceptions import RedisError

from supervision.budget import budget_sweep
from supervision.notifications import digests_send
from supervision.reminders import (
    SEND_ERRORS,
    Delivery,
    DeliveryIncomplete,
    due_date_change_notify,
    reminders_deliver,
    reminders_sweep,
    review_waiting_notify,
)
from supervision.supervision_file.tasks import supervision_file_generate_task  # noqa: F401

logger = logging.getLogger(__name__)

# What `.delay()` raises when the broker is unreachable (kombu wraps most of it).
BROKER_ERRORS: tuple[type[Exception], ...] = (KombuError, RedisError, OSError)

# Errors of the database connection, not of the data: worth another try on a new connection.
DB_ERRORS: tuple[type[Exception], ...] = (OperationalError, InterfaceError)

RETRYING: dict[str, Any] = {
    "acks_late": True,
    "ignore_result": True,
    "autoretry_for": DB_ERRORS,
    "retry_backoff": 2,  # 2 s, 4 s, 8 s … with jitter
    # Countdowns stay far inside the broker's visibility timeout (600 s, settings.py): a
    # retry waiting in a worker is never handed to a second one.
    "retry_backoff_max": 120,
    "retry_jitter": True,
    "max_retries": 10,
}
DIGEST_RETRYING: dict[str, Any] = {**RETRYING, "autoretry_for": (*DB_ERRORS, *SEND_ERRORS),
                                   "max_retries": 6}


@contextmanager
def _fresh_connection_on_db_error() -> Iterator[None]:
    """A broken connection is closed before the retry, so the retry opens a new one."""
    try:
        yield
    except DB_ERRORS:
        connections.close_all()
        raise


def _log_delivery(delivery: Delivery) -> None:
    if delivery.failed or delivery.outage:
        logger.warning("%d e-mail(s) failed%s; the outbox retries them with back-off",
                       delivery.failed,
                       f", mail server unreachable ({delivery.outage})" if delivery.outage else "")


def _raise_if_failed(delivery: Delivery) -> None:
    if delivery.failed:
        raise DeliveryIncomplete(f"{delivery.failed} e-mail(s) failed: {delivery.errors[:3]}")


@shared_task(name="supervision.send_review_waiting", soft_time_limit=60, time_limit=90,
             **RETRYING)
def send_review_waiting(submission_id: int) -> None:
    """Right after a submission commits: tell the matter's supervising attorneys."""
    with _fresh_connection_on_db_error():
        result = review_waiting_notify(submission_id=submission_id, now=timezone.now())
    _log_delivery(result.delivery)


@shared_task(name="supervision.send_access_notice", soft_time_limit=60, time_limit=90,
             **RETRYING)
def send_access_notice(reminder_id: int) -> None:
    """Right after a change of someone's access to a matter commits: their e-mail (a failed
    one stays in the outbox, which retries it with back-off)."""
    with _fresh_connection_on_db_error():
        delivery = reminders_deliver(reminder_ids=[reminder_id])
    _log_delivery(delivery)


@shared_task(name="supervision.send_due_date_change", soft_time_limit=60, time_limit=90,
             **RETRYING)
def send_due_date_change(change_id: int) -> None:
    """Right after a due date moved: the announcement and the new deadline's reminders."""
    with _fresh_connection_on_db_error():
        result = due_date_change_notify(change_id=change_id, now=timezone.now())
    _log_delivery(result.delivery)


@shared_task(name="supervision.sweep_reminders", soft_time_limit=240, time_limit=300,
             **RETRYING)
def sweep_reminders() -> None:
    """The periodic sweep: record what is due and send whatever is still unsent."""
    with _fresh_connection_on_db_error():
        result = reminders_sweep(now=timezone.now())
    _log_delivery(result.delivery)


@shared_task(name="supervision.sweep_budgets", soft_time_limit=240, time_limit=300,
             **RETRYING)
def sweep_budgets() -> None:
    """Engagements whose accrued cost reached 80% or 100% of their budget cap."""
    with _fresh_connection_on_db_error():
        result = budget_sweep(now=timezone.now())
    _log_delivery(result.delivery)


@shared_task(name="supervision.send_digests", soft_time_limit=240, time_limit=300,
             **DIGEST_RETRYING)
def send_digests() -> None:
    """Hourly: the daily digest of each reader whose digest hour has come."""
    with _fresh_connection_on_db_error():
        delivery = digests_send(now=timezone.now())
    _raise_if_failed(delivery)


def enqueue_review_waiting(submission_id: int) -> None:
    """After-submit hook (registered in `SupervisionConfig.ready`).

    The submission is committed by now. If the broker is down the message is lost, but
    nothing is: the sweep finds the waiting review in the database and sends the notice when
    the workers are back. So the person submitting never sees an error for it.
    """
    try:
        send_review_waiting.delay(submission_id)
    except BROKER_ERRORS as exc:
        logger.warning(
            "Broker unavailable; the review-waiting notice for submission %s was not queued "
            "and will be sent by the next reminder sweep (%s: %s)",
            submission_id, type(exc).__name__, exc,
        )


def enqueue_access_notice(reminder_id: int) -> None:
    """After-commit step of `access_change_record`; a lost message is sent by the sweep."""
    try:
        send_access_notice.delay(reminder_id)
    except BROKER_ERRORS as exc:
        logger.warning(
            "Broker unavailable; the access notice of reminder %s will be sent by the next "
            "reminder sweep (%s: %s)", reminder_id, type(exc).__name__, exc,
        )


def enqueue_due_date_change(change_id: int) -> None:
    """After-commit step of `task_change_due_date`; a lost message is done by the sweep (the
    announcement and the moved deadline's reminders are planned from the database)."""
    try:
        send_due_date_change.delay(change_id)
    except BROKER_ERRORS as exc:
        logger.warning(
            "Broker unavailable; the moved due date %s will be announced by the next "
            "reminder sweep (%s: %s)", change_id, type(exc).__name__, exc,
        )
