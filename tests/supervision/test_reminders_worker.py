"""Reminders through a real Redis broker and real Celery workers.

- a submission, once committed, produces exactly one "review waiting" mail per attorney;
- a worker killed (SIGKILL) in the middle of a sweep loses nothing and duplicates nothing;
- two sweeps running at once send each reminder once (two worker threads, and two claims
  racing on PostgreSQL).

Workers only see committed rows, hence `transaction=True` throughout.
"""

from __future__ import annotations

import datetime as dt
import email
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.conf import settings
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.core.mail.utils import DNS_NAME
from django.db import connection, connections
from django.utils import timezone

from lpo_tracker.core.tasks import ping
from matters.models import Task, TaskStatus
from supervision.models import Notification, ReminderKind, ReminderRecord
from supervision.reminders import reminders_deliver, reminders_plan, reminders_record
from supervision.services import submission_create
from supervision.tasks import sweep_reminders
from tests import factories as f
from tests.conftest import Cast
from tests.waits import EVENT_TIMEOUT_SECONDS, wait_for

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]

ROOT = Path(settings.BASE_DIR)




def drain() -> None:
    """Wait until the (solo) worker has run everything queued before: tasks run in order."""
    assert ping.delay().get(timeout=EVENT_TIMEOUT_SECONDS) == "pong"


def overdue_tasks(cast: Cast, count: int) -> list[Task]:
    """`count` tasks with vendor A, past their deadline: each one reminder, two recipients
    (vendor_a and staff_on, the matter team; never the screened team member)."""
    past = timezone.now() - dt.timedelta(hours=1)
    return [cast.advance(cast.new_task(title=f"Batch {n:02d}", sla_due_at=past),
                         TaskStatus.IN_PROGRESS) for n in range(count)]


def unsent() -> int:
    return Notification.objects.filter(emailed_at__isnull=True).count()


# --- Review waiting after commit ---------------------------------------------------------------


def test_a_submission_produces_exactly_one_review_waiting_mail(cast: Cast, live_worker: Any
                                                             ) -> None:
    task = cast.advance(cast.task, TaskStatus.IN_PROGRESS)
    submission_create(actor=cast.vendor_a_user, task=task, upload=f.pdf_upload())

    attorneys = {"attorney@example.com", "attorney2@example.com", "lapsed@example.com"}
    wait_for(lambda: len(mail.outbox) >= len(attorneys), "the review-waiting mails")
    # The sweep is the safety net; after the hook it must find nothing left to send.
    sweep_reminders.delay()
    drain()

    waiting = [m for m in mail.outbox if m.subject.startswith("Review waiting")]
    assert Counter(address for m in waiting for address in m.to) == dict.fromkeys(attorneys, 1)
    assert len(mail.outbox) == len(attorneys)
    (record,) = ReminderRecord.objects.filter(kind=ReminderKind.REVIEW_WAITING)
    assert (record.object_id, record.threshold) == (task.pk, "v1")
    assert record.sent_at is not None


# --- A worker killed mid-sweep ---------------------------------------------------------------

# A real worker process whose mail backend writes each message to a file and, at message
# number HANG_AFTER + 1, hangs (marker file "hanging") until it is killed. The hang sits
# inside the send, so the kill lands with a row claimed and its transaction open.
HANGING_WORKER = textwrap.dedent(
    """
    import os, time, uuid
    from pathlib import Path

    import django

    django.setup()
    from django.conf import settings
    from django.core.mail.backends.base import BaseEmailBackend

    OUT = Path(os.environ["LPO_TEST_MAIL_DIR"])
    HANG_AFTER = int(os.environ["LPO_TEST_HANG_AFTER"])


    class HangingBackend(BaseEmailBackend):
        def send_messages(self, messages):
            for message in messages:
                if len(list(OUT.glob("*.eml"))) >= HANG_AFTER:
                    (OUT / "hanging").touch()
                    time.sleep(3600)
                (OUT / f"{uuid.uuid4().hex}.eml").write_bytes(message.message().as_bytes())
            return len(messages)


    settings.EMAIL_BACKEND = "__main__.HangingBackend"
    from lpo_tracker.celery import app

    app.worker_main(["worker", "--pool=solo", "--loglevel=WARNING", "--without-gossip",
                     "--without-mingle", "--without-heartbeat", "--hostname=doomed@%h"])
    """
)


def database_url() -> str:
    db = connection.settings_dict
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def doomed_worker(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    mails = tmp_path / "mails"
    mails.mkdir()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "lpo_tracker.settings",
        "DATABASE_URL": database_url(),
        "REDIS_URL": str(settings.REDIS_URL),
        "LPO_TEST_MAIL_DIR": str(mails),
        "LPO_TEST_HANG_AFTER": "3",
        "LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen([sys.executable, "-c", HANGING_WORKER], cwd=ROOT, env=env,  # noqa: S603
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        yield process, mails
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=EVENT_TIMEOUT_SECONDS)
        if process.stderr:
            process.stderr.close()


@pytest.mark.postgres
def test_a_worker_killed_mid_sweep_loses_nothing_and_duplicates_nothing(
    doomed_worker: tuple[subprocess.Popen[bytes], Path], cast: Cast,
    request: pytest.FixtureRequest
) -> None:
    """The worker process starts first (it takes a few seconds) while the cast is built."""
    process, mails = doomed_worker
    overdue_tasks(cast, 4)  # 4 reminders, 8 e-mails
    sweep_reminders.delay()
    try:
        wait_for(lambda: (mails / "hanging").exists() or process.poll() is not None,
                 "the worker to hang in its fourth e-mail")
    finally:
        if process.poll() is not None and process.stderr:
            pytest.fail(process.stderr.read().decode()[-3000:])
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=EVENT_TIMEOUT_SECONDS)

    # Killed with every reminder recorded, three e-mails out, the fourth claimed but not sent.
    assert ReminderRecord.objects.filter(kind=ReminderKind.TASK_OVERDUE).count() == 4
    assert Notification.objects.count() == 8
    wait_for(lambda: unsent() == 5, "the killed worker's open transaction to roll back")

    request.getfixturevalue("live_worker")  # a healthy worker; beat would send the next sweep
    sweep_reminders.delay()
    wait_for(lambda: unsent() == 0 and not ReminderRecord.objects.filter(
        sent_at__isnull=True).exists(), "the next sweep to deliver the rest")

    before_kill = [email.message_from_bytes(path.read_bytes()) for path in mails.glob("*.eml")]
    after_kill = [message.message() for message in mail.outbox]
    message_ids = Counter(str(message["Message-ID"]) for message in before_kill + after_kill)
    assert (len(before_kill), len(after_kill)) == (3, 5)
    assert len(message_ids) == 8 and set(message_ids.values()) == {1}
    assert message_ids.keys() == {f"<lpo-notification-{pk}@{DNS_NAME}>"
                                  for pk in Notification.objects.values_list("pk", flat=True)}


# --- Two sweeps at once -------------------------------------------------------------------------


@pytest.fixture
def two_worker_threads(celery_app: Celery, celery_worker_parameters: dict[str, Any]
                       ) -> Iterator[Any]:
    with start_worker(celery_app, pool="threads", concurrency=2,
                      **celery_worker_parameters) as worker:
        yield worker


def test_two_sweeps_at_once_send_each_reminder_once(
    cast: Cast, monkeypatch: pytest.MonkeyPatch, two_worker_threads: Any
) -> None:
    overdue_tasks(cast, 6)  # 6 reminders, 12 e-mails
    senders: list[str] = []
    both_sending = threading.Event()
    original = LocmemBackend.send_messages

    def send_slowly(self: LocmemBackend, messages: list[Any]) -> int:
        # The first sender waits (a claimed row locked) until the other sweep sends too:
        # proof that both deliver at the same time, not one after the other.
        senders.append(threading.current_thread().name)
        if len(set(senders)) > 1:
            both_sending.set()
        both_sending.wait(timeout=EVENT_TIMEOUT_SECONDS)
        time.sleep(0.02)
        return original(self, messages)

    monkeypatch.setattr(LocmemBackend, "send_messages", send_slowly)
    finished: list[str] = []

    def count_sweeps(sender: Any = None, **kwargs: Any) -> None:
        if getattr(sender, "name", "") == "supervision.sweep_reminders":
            finished.append(kwargs["task_id"])

    task_postrun.connect(count_sweeps, weak=False)
    try:
        sweep_reminders.delay()
        sweep_reminders.delay()
        wait_for(lambda: len(finished) == 2, "both sweeps to finish")
    finally:
        task_postrun.disconnect(count_sweeps)

    assert both_sending.is_set(), "the two sweeps never delivered at the same time"
    sent = Counter((m.to[0], m.subject) for m in mail.outbox)
    assert len(sent) == 12 and set(sent.values()) == {1}
    assert ReminderRecord.objects.filter(sent_at__isnull=False).count() == 6
    assert unsent() == 0


@pytest.mark.postgres
def test_two_claims_racing_record_each_reminder_once(cast: Cast) -> None:
    """The record step itself, raced from two threads (two connections) on PostgreSQL: the
    unique keys make one claim win each reminder; delivery then sends each e-mail once."""
    overdue_tasks(cast, 8)
    now = timezone.now()
    planned = reminders_plan(now=now)
    assert len(planned) == 8
    start = threading.Barrier(2, timeout=EVENT_TIMEOUT_SECONDS)
    errors: list[BaseException] = []
    delivered: list[int] = []

    def race(step: Callable[[], object]) -> None:
        def body() -> None:
            try:
                start.wait()
                result = step()
                delivered.append(getattr(result, "sent", 0))
            except BaseException as exc:  # reported below
                errors.append(exc)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=body) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=EVENT_TIMEOUT_SECONDS)

    race(lambda: reminders_record(planned=planned, now=now))
    assert errors == []
    assert ReminderRecord.objects.count() == 8
    assert Notification.objects.count() == 16

    race(reminders_deliver)
    assert errors == []
    assert sum(delivered) == 16
    assert Counter((m.to[0], m.subject) for m in mail.outbox).most_common(1)[0][1] == 1
    assert len(mail.outbox) == 16
