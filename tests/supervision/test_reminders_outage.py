"""The outbox through real faults: a real Celery worker on Redis, PostgreSQL, and a real SMTP
server (aiosmtpd on a local port) that the test stops and starts again.

- SMTP down for 10 minutes of simulated clock (the outage real: the server is stopped),
  sweeps keep running, then SMTP back: every e-mail delivered exactly once, the outage cost
  no e-mail an attempt and moved no back-off, and the back-off of e-mails the server refused
  runs on the simulated clock.
- The worker's PostgreSQL connection terminated in the middle of a sweep: the task retries on
  a fresh connection and finishes (at most the one e-mail in flight goes twice: the SMTP
  boundary).
"""

from __future__ import annotations

import datetime as dt
import email
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from aiosmtpd.controller import Controller
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from lpo_tracker.schedules import BEAT_SCHEDULE
from supervision.models import EmailState, Notification
from supervision.tasks import sweep_reminders
from tests.conftest import Cast
from tests.supervision.test_reminders_worker import drain, overdue_tasks
from tests.waits import EVENT_TIMEOUT_SECONDS, wait_for

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


class Sink:
    """Counts each Message-ID received; `on_message` runs once per message, before the
    server answers (a hook for faults)."""

    def __init__(self) -> None:
        self.received: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.on_message: Any = None
        self.refuse = False  # answer every message with a permanent refusal
        self.refused = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content)
        with self.lock:
            if self.refuse:
                self.refused += 1
                return "554 5.6.0 Message refused by the test"
            self.received[message["Message-ID"]] += 1
        if self.on_message is not None:
            self.on_message()
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SmtpServer:
    """A real SMTP server on a free loopback port; stopped, the port refuses connections."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self.port = free_port()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer(Sink())
    server.start()
    with override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=server.port,
        EMAIL_TIMEOUT=10,
    ):
        try:
            yield server
        finally:
            server.stop()


def received_per_notification(sink: Sink) -> Counter[int]:
    return Counter(
        {
            int(message_id.split("-")[2].split("@")[0]): count
            for message_id, count in sink.received.items()
        }
    )


Outbox = dict[int, tuple[str, int, dt.datetime | None]]


def outbox() -> Outbox:
    """Each unsent e-mail's outbox state by notification: (state, attempts, next attempt)."""
    return {
        pk: (state, attempts, next_at)
        for pk, state, attempts, next_at in Notification.objects.filter(
            emailed_at__isnull=True
        ).values_list("pk", "email_state", "email_attempts", "email_next_attempt_at")
    }


def sweep_as_the_beat_does() -> None:
    """One sweep, sent with the beat's own options (its `expires`), run to the end."""
    sweep_reminders.apply_async(**BEAT_SCHEDULE["sweep-reminders"]["options"])
    drain()


def test_smtp_down_ten_minutes_then_back_delivers_every_email_exactly_once(
    cast: Cast, smtp: SmtpServer, live_worker: Any
) -> None:
    """The issue's outage test. The clock is simulated (time-machine: the worker thread, the
    outbox's back-off and the beat's `expires` all read it), the outage is real: the aiosmtpd
    server is stopped for 10 simulated minutes, during which the sweep runs every simulated
    minute (five times as often as the beat), then started again.

    Before the outage the server refuses 4 e-mails twice (their own fault): their back-off
    runs on the simulated clock (1 minute, then 2). Then 36 more become due while the server
    is down. The outage must cost no e-mail an attempt and move no back-off; after it every
    one of the 40 arrives exactly once."""
    minute = dt.timedelta(minutes=1)
    with time_machine.travel(timezone.now(), tick=True) as clock:
        start = timezone.now()
        # 1. The server is up but refuses every message: 2 tasks, 4 e-mails, one attempt each.
        smtp.sink.refuse = True
        overdue_tasks(cast, 2)
        sweep_as_the_beat_does()
        assert smtp.sink.refused == 4
        first = outbox()
        assert {(state, attempts) for state, attempts, _ in first.values()} == {
            (EmailState.RETRYING, 1)
        }
        for _state, _attempts, next_at in first.values():  # a 1-minute back-off
            assert next_at is not None
            assert start + minute <= next_at <= timezone.now() + minute
        # Half a minute before the back-off ends (set from the rows, so a slow machine cannot
        # carry the clock past it): not due yet, not tried.
        backoff_ends = min(next_at for _state, _attempts, next_at in first.values() if next_at)
        clock.move_to(backoff_ends - dt.timedelta(seconds=30))
        sweep_as_the_beat_does()
        assert smtp.sink.refused == 4
        assert outbox() == first
        # Past the back-off: tried again, refused again, 2 minutes this time.
        clock.move_to(
            max(next_at for _state, _attempts, next_at in first.values() if next_at)
            + dt.timedelta(seconds=1)
        )
        sweep_as_the_beat_does()
        assert smtp.sink.refused == 8
        second = outbox()
        assert len(second) == 4
        for key, (state, attempts, next_at) in second.items():
            assert (state, attempts) == (EmailState.RETRYING, 2)
            first_next_at = first[key][2]
            assert next_at is not None and first_next_at is not None
            assert next_at >= first_next_at + 2 * minute
        smtp.sink.refuse = False

        # 2. The server goes down (really: the port is closed) for 10 simulated minutes, and
        #    18 more tasks become overdue: 36 e-mails more, recorded by the first sweep.
        smtp.stop()
        overdue_tasks(cast, 18)
        outage_started = timezone.now()
        during: Outbox = {}
        for sweep in range(10):
            clock.shift(60)
            sweep_as_the_beat_does()
            if sweep == 0:
                during = outbox()
                assert len(during) == 40
            # Nothing arrived, nothing counted: attempts and back-off stay as they were, even
            # for the 4 whose next attempt came due in the middle of the outage.
            assert outbox() == during
        assert timezone.now() - outage_started >= 10 * minute
        assert {key: value for key, value in during.items() if key in second} == second
        assert {
            (state, attempts, next_at)
            for key, (state, attempts, next_at) in during.items()
            if key not in second
        } == {(EmailState.PENDING, 0, None)}
        assert not smtp.sink.received

        # 3. The server is back: the next sweep sends all 40, each exactly once.
        smtp.start()
        sweep_as_the_beat_does()
        wait_for(lambda: sum(smtp.sink.received.values()) >= 40, "the 40 e-mails")
        clock.shift(300)
        sweep_as_the_beat_does()  # and a sweep after recovery sends nothing again
    per_notification = received_per_notification(smtp.sink)
    expected = set(Notification.objects.values_list("pk", flat=True))
    assert len(expected) == 40
    assert set(per_notification) == expected  # none lost
    assert set(per_notification.values()) == {1}  # none twice
    assert not Notification.objects.exclude(email_state=EmailState.SENT).exists()
    # The only attempts counted are the 4 x 2 refusals before the outage.
    assert sorted(Notification.objects.values_list("email_attempts", flat=True)) == (
        [0] * 36 + [2] * 4
    )


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

        params = {
            key: value
            for key, value in {
                "host": connection.settings_dict["HOST"],
                "port": connection.settings_dict["PORT"],
                "user": connection.settings_dict["USER"],
                "dbname": database,
                "password": connection.settings_dict["PASSWORD"],
            }.items()
            if value
        }
        with psycopg.connect(**params, autocommit=True) as admin:
            killed = admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = %s AND pid NOT IN (%s, pg_backend_pid())",
                [database, own_pid],
            ).fetchone()
        assert killed and killed[0] >= 1
        terminated.set()

    smtp.sink.on_message = terminate_the_worker_backend
    sweep_reminders.delay()  # no beat in this test: only the task's own retry can finish it
    wait_for(terminated.is_set, "the worker's backend to be terminated")
    wait_for(
        lambda: not Notification.objects.filter(emailed_at__isnull=True).exists(),
        "the retried sweep to send the rest",
        timeout=EVENT_TIMEOUT_SECONDS * 2,
    )
    per_notification = received_per_notification(smtp.sink)
    assert set(per_notification) == set(Notification.objects.values_list("pk", flat=True))
    # At-least-once at the SMTP boundary only: the one message in flight may go twice.
    assert sum(count - 1 for count in per_notification.values()) <= 1
