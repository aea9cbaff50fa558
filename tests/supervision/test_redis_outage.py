# mypy: disable-error-code="attr-defined,assignment"
# The test stops and restarts Redis, so it resets Celery's private connection pools.
"""Redis goes down while work is submitted, then comes back.

The test owns its Redis server (a `redis-server` child on a free port), so it can stop and
restart it without touching the shared one. The promise (reminders come from durable state): the
submission succeeds and nobody sees an error; the "review waiting" message is lost with the
broker, but the database remembers the waiting review, and once Redis is back the sweep sends
the reminder exactly once, even if the original message turns up late as well.
"""

from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
from celery import Celery
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.core import mail

from matters.models import Task, TaskStatus
from supervision.models import ReminderKind, ReminderRecord
from supervision.services import submission_create
from supervision.tasks import send_review_waiting, sweep_reminders
from tests import factories as f
from tests.conftest import Cast
from tests.plugins.services import in_ci
from tests.waits import EVENT_TIMEOUT_SECONDS, wait_for

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]

ATTORNEYS = {"attorney@example.com", "attorney2@example.com", "lapsed@example.com"}




@contextmanager
def captured_logs(level: int = logging.WARNING) -> Iterator[list[logging.LogRecord]]:
    """Records of `level` and above from anywhere. (A worker started in this process
    reconfigures logging: it detaches pytest's caplog handler and may leave the root logger
    at ERROR, so both are set here.)"""
    records: list[logging.LogRecord] = []
    handler = logging.Handler(level)
    handler.emit = records.append  # type: ignore[method-assign]
    root = logging.getLogger()
    saved_level = root.level
    root.addHandler(handler)
    root.setLevel(level)
    try:
        yield records
    finally:
        root.removeHandler(handler)
        root.setLevel(saved_level)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class OwnRedis:
    """A throwaway redis-server: no persistence, so a restart comes back empty (the queued
    messages are gone, as after a real crash without AOF)."""

    binary: str
    directory: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
        try:
            wait_for(lambda: self._answers(client), "redis-server to start")
        finally:
            client.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=EVENT_TIMEOUT_SECONDS)
        self.process = None

    @staticmethod
    def _answers(client: redis.Redis) -> bool:
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    binary = shutil.which("redis-server")
    if binary is None:
        message = "needs the redis-server binary to own a Redis server"
        if in_ci():
            pytest.fail(f"{message} (CI=true: a missing service is a failure, not a skip)")
        pytest.skip(message)
    server = OwnRedis(binary=binary, directory=tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def forget_connections(app: Celery, backend: Any = None) -> None:
    """Make the app look its broker pools and result backend up again (as Celery does after
    a fork), so they follow `broker_url` and `result_backend` as they are now. The pools stay
    open in kombu's global registry, one per URL, for the tests that come after this one."""
    app._pool = None
    app.amqp._producer_pool = None
    app._backend_cache = None  # a thread-safe backend is shared, the others are per thread
    app._local.__dict__.pop("backend", None)
    if backend is not None:
        app._backend = backend


@pytest.fixture
def app_on_own_redis(celery_app: Celery, own_redis: OwnRedis) -> Iterator[Celery]:
    """The project's Celery app pointed at the test's own Redis, and back afterwards."""
    saved = {key: celery_app.conf[key] for key in ("broker_url", "result_backend")}
    saved_backend = celery_app._backend
    forget_connections(celery_app)
    celery_app.conf.update(broker_url=own_redis.url, result_backend=own_redis.url)
    try:
        yield celery_app
    finally:
        forget_connections(celery_app, saved_backend)
        celery_app.conf.update(saved)


def test_submission_during_a_redis_outage_succeeds_and_is_reminded_once_afterwards(
    cast: Cast, own_redis: OwnRedis, app_on_own_redis: Celery,
    celery_worker_parameters: dict[str, Any],
) -> None:
    task = cast.advance(cast.task, TaskStatus.IN_PROGRESS)
    finished: list[str] = []

    def count_finished(sender: Any = None, **kwargs: Any) -> None:
        finished.append(getattr(sender, "name", ""))

    task_postrun.connect(count_finished, weak=False)
    try:
        with start_worker(app_on_own_redis, pool="solo", **celery_worker_parameters):
            own_redis.stop()
            started = time.monotonic()
            with captured_logs() as logged:
                submission = submission_create(actor=cast.vendor_a_user, task=task,
                                               upload=f.pdf_upload())
            took = time.monotonic() - started

            # The person submitting saw success, quickly; the lost message is only logged,
            # as a warning (not the ERROR a failing on_commit hook would leave).
            assert Task.objects.get(pk=task.pk).status == TaskStatus.SUBMITTED
                # Bounded by the publish retry policy (about a second), not by the broker coming
            # back: the bound catches a hang (e.g. retrying forever), not a slow machine.
            assert took < EVENT_TIMEOUT_SECONDS / 2, f"submission took {took:.1f} s"
            ours = [r for r in logged if not r.name.startswith(("celery", "kombu", "py.warn"))]
            assert [(r.name, r.levelname) for r in ours] == [("supervision.tasks", "WARNING")]
            assert "will be sent by the next reminder sweep" in ours[0].getMessage()
            assert not ReminderRecord.objects.exists() and mail.outbox == []

            own_redis.start()  # same port, empty: the message is gone for good
            sweep_reminders.delay()  # what beat sends every 5 minutes
            wait_for(lambda: len(mail.outbox) >= len(ATTORNEYS),
                     "the reminder once Redis is back")
            # Late duplicates change nothing: the original message, had it survived, and
            # another sweep (a second beat, a retry).
            send_review_waiting.delay(submission.pk)
            sweep_reminders.delay()
            wait_for(lambda: finished.count("supervision.send_review_waiting") == 1
                     and finished.count("supervision.sweep_reminders") == 2,
                     "the late messages to be processed")
    finally:
        task_postrun.disconnect(count_finished)

    assert Counter(address for m in mail.outbox for address in m.to) == dict.fromkeys(
        ATTORNEYS, 1)
    assert all(m.subject.startswith("Review waiting") for m in mail.outbox)
    (record,) = ReminderRecord.objects.all()
    assert (record.kind, record.threshold) == (ReminderKind.REVIEW_WAITING, "v1")
    assert record.sent_at is not None
