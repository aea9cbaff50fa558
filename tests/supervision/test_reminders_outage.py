"""The outbox through real faults: a real Celery worker on Redis, PostgreSQL, and a real SMTP
server (aiosmtpd on a local port) that the test stops and starts again.

- SMTP down, sweeps keep running, then SMTP back: every e-mail delivered exactly once, and
  the outage cost no e-mail an attempt.
- The worker's PostgreSQL connection terminated in the middle of a sweep: the task retries on
  a fresh connection and finishes (at most the one e-mail in flight goes twice: the SMTP
  boundary).
"""

from __future__ import annotations

import email
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.db import connection
from django.test import override_settings

from supervision.models import EmailState, Notification
from supervision.tasks import sweep_reminders
from tests.conftest import Cast
from tests.supervision.test_reminders_worker import drain, overdue_tasks
from tests.waits import EVENT_TIMEOUT_SECONDS, wait_for

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]

SMTP_PORT = 8125


class Sink:
    """Counts each Message-ID received; `on_message` runs once per message, before the
    server answers (a hook for faults)."""

    def __init__(self) -> None:
        self.received: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.on_message: Any = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content)
        with self.lock:
            self.received[message["Message-ID"]] += 1
        if self.on_message is not None:
            self.on_message()
        return "250 OK"


class SmtpServer:
    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=SMTP_PORT)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer(Sink())
    server.start()
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
                           EMAIL_HOST="127.0.0.1", EMAIL_PORT=SMTP_PORT, EMAIL_TIMEOUT=10):
        try:
            yield server
        finally:
            server.stop()


def received_per_notification(sink: Sink) -> Counter[int]:
    return Counter({int(message_id.split("-")[2].split("@")[0]): count
                    for message_id, count in sink.received.items()})


def test_an_smtp_outage_then_recovery_delivers_every_email_exactly_once(
    cast: Cast, smtp: SmtpServer, live_worker: Any
) -> None:
    overdue_tasks(cast, 20)  # 20 reminders, 2 recipients each: 40 e-mails
    smtp.stop()
    for _ in range(10):  # the beat keeps sweeping through the outage
        sweep_reminders.delay()
    drain()
    assert Notification.objects.filter(emailed_at__isnull=True).count() == 40
    # The outage cost nobody an attempt: nothing is closer to giving up.
    assert set(Notification.objects.values_list("email_state", "email_attempts")) == {
        (EmailState.PENDING, 0)}
    assert not smtp.sink.received

    smtp.start()
    sweep_reminders.delay()
    drain()
    wait_for(lambda: sum(smtp.sink.received.values()) >= 40, "the 40 e-mails")
    sweep_reminders.delay()  # and a sweep after recovery sends nothing again
    drain()
    per_notification = received_per_notification(smtp.sink)
    expected = set(Notification.objects.values_list("pk", flat=True))
    assert set(per_notification) == expected  # none lost
    assert set(per_notification.values()) == {1}  # none twice
    assert not Notification.objects.exclude(email_state=EmailState.SENT).exists()


def test_a_database_connection_dropped_mid_sweep_is_retried_and_the_sweep_finishes(
    cast: Cast, smtp: SmtpServer, live_worker: Any
) -> None:
    overdue_tasks(cast, 10)  # 20 e-mails
    own_pid = connection.cursor().connection.info.backend_pid
    database = connection.settings_dict["NAME"]
    terminated = threading.Event()

    def terminate_the_worker_backend() -> None:
        """At the 5th message: terminate every other session on the test database (the
        worker's), as a failover or an administrator would."""
        if terminated.is_set() or sum(smtp.sink.received.values()) < 5:
            return
        import psycopg

        params = {key: value for key, value in {
            "host": connection.settings_dict["HOST"], "port": connection.settings_dict["PORT"],
            "user": connection.settings_dict["USER"], "dbname": database,
            "password": connection.settings_dict["PASSWORD"]}.items() if value}
        with psycopg.connect(**params, autocommit=True) as admin:
            killed = admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = %s AND pid NOT IN (%s, pg_backend_pid())",
                [database, own_pid]).fetchone()
        assert killed and killed[0] >= 1
        terminated.set()

    smtp.sink.on_message = terminate_the_worker_backend
    sweep_reminders.delay()  # no beat in this test: only the task's own retry can finish it
    wait_for(terminated.is_set, "the worker's backend to be terminated")
    wait_for(lambda: not Notification.objects.filter(emailed_at__isnull=True).exists(),
             "the retried sweep to send the rest", timeout=EVENT_TIMEOUT_SECONDS * 2)
    per_notification = received_per_notification(smtp.sink)
    assert set(per_notification) == set(Notification.objects.values_list("pk", flat=True))
    # At-least-once at the SMTP boundary only: the one message in flight may go twice.
    assert sum(count - 1 for count in per_notification.values()) <= 1
