"""Celery tasks for reminders. Each loads what it needs by id and calls a service in
`supervision.reminders`; each is idempotent, so a retry, a redelivery after a crash
(`acks_late`) or a second beat does no harm. Mail-server errors retry with backoff.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.utils import timezone
from kombu.exceptions import KombuError
from redis.exceptions import RedisError

from supervision.budget import budget_sweep
from supervision.notifications import digests_send
from supervision.reminders import (
    SEND_ERRORS,
    Delivery,
    DeliveryIncomplete,
    reminders_deliver,
    reminders_sweep,
    review_waiting_notify,
)

logger = logging.getLogger(__name__)

# What `.delay()` raises when the broker is unreachable (kombu wraps most of it).
BROKER_ERRORS: tuple[type[Exception], ...] = (KombuError, RedisError, OSError)

RETRYING: dict[str, Any] = {
    "acks_late": True,
    "ignore_result": True,
    "autoretry_for": SEND_ERRORS,
    "retry_backoff": 5,  # 5 s, 10 s, 20 s … with jitter
    "retry_backoff_max": 300,  # well inside the broker's visibility timeout
    "retry_jitter": True,
    "max_retries": 6,
}


def _raise_if_failed(delivery: Delivery) -> None:
    if delivery.failed:
        raise DeliveryIncomplete(f"{delivery.failed} e-mail(s) failed: {delivery.errors[:3]}")


@shared_task(name="supervision.send_review_waiting", soft_time_limit=60, time_limit=90,
             **RETRYING)
def send_review_waiting(submission_id: int) -> None:
    """Right after a submission commits: tell the matter's supervising attorneys."""
    result = review_waiting_notify(submission_id=submission_id, now=timezone.now())
    _raise_if_failed(result.delivery)


@shared_task(name="supervision.send_access_notice", soft_time_limit=60, time_limit=90,
             **RETRYING)
def send_access_notice(reminder_id: int) -> None:
    """Right after a change of someone's access to a matter commits: their e-mail."""
    _raise_if_failed(reminders_deliver(reminder_ids=[reminder_id]))


@shared_task(name="supervision.sweep_reminders", soft_time_limit=240, time_limit=300,
             **RETRYING)
def sweep_reminders() -> None:
    """The periodic sweep: record what is due and send whatever is still unsent."""
    result = reminders_sweep(now=timezone.now())
    _raise_if_failed(result.delivery)


@shared_task(name="supervision.sweep_budgets", soft_time_limit=240, time_limit=300,
             **RETRYING)
def sweep_budgets() -> None:
    """Engagements whose accrued cost reached 80% or 100% of their budget cap."""
    _raise_if_failed(budget_sweep(now=timezone.now()).delivery)


@shared_task(name="supervision.send_digests", soft_time_limit=240, time_limit=300, **RETRYING)
def send_digests() -> None:
    """Hourly: the daily digest of each reader whose digest hour has come."""
    _raise_if_failed(digests_send(now=timezone.now()))


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
