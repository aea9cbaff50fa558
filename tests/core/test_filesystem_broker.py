"""The embedded broker under concurrent producers: no message is ever read half-written.

The stock kombu filesystem transport created a message file and then wrote it; a worker that
polled in between read "" and died with JSONDecodeError (after 33 minutes of `make run`).
These tests run real producer *processes* against a consumer that polls as fast as it can,
so the window is exercised thousands of times; they count messages, never seconds.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery.worker import WorkController
from kombu import Connection
from kombu.simple import SimpleQueue

from lpo_tracker.core.tasks import ping
from lpo_tracker.filesystem_broker import INCOMING_FOLDER, Transport, unreadable_messages

PRODUCERS = 4
MESSAGES_PER_PRODUCER = 1000
# Generous: only reached if messages are lost; a healthy run stops as soon as all arrive.
DRAIN_TIMEOUT_SECONDS = 300.0

PRODUCER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from kombu import Connection
    from lpo_tracker.filesystem_broker import Transport

    options, producer, count = json.loads(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    go = Path(sys.argv[4])
    while not go.exists():  # start together, so the producers really overlap
        time.sleep(0.01)
    with Connection(transport=Transport, transport_options=options) as connection:
        queue = connection.SimpleQueue("stress")
        for number in range(count):
            # Messages of varying size: a large one takes longer to write.
            queue.put({"producer": producer, "number": number, "pad": "x" * (number % 7 * 4096)})
        queue.close()
    """
)


def broker_options(root: Path) -> dict[str, object]:
    for folder in ("out", "processed", "control"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(root / "out"),
        "data_folder_out": str(root / "out"),
        "processed_folder": str(root / "processed"),
        "control_folder": str(root / "control"),
        "polling_interval": 0.01,
    }


@pytest.fixture
def consumer(tmp_path: Path) -> Iterator[tuple[SimpleQueue, dict[str, object]]]:
    options = broker_options(tmp_path / "broker")
    with Connection(transport=Transport, transport_options=options) as connection:
        queue = connection.SimpleQueue("stress")
        yield queue, options
        queue.close()


def start_producers(
    options: dict[str, object], go: Path, count: int, script: str
) -> list[subprocess.Popen[bytes]]:
    return [
        subprocess.Popen(  # noqa: S603 - our own interpreter and script
            [sys.executable, "-c", script, json.dumps(options), str(n), str(count), str(go)],
            cwd=Path(__file__).resolve().parents[2],
        )
        for n in range(PRODUCERS)
    ]


def test_thousands_of_messages_from_concurrent_producer_processes_all_arrive_whole(
    consumer: tuple[SimpleQueue, dict[str, object]], tmp_path: Path
) -> None:
    queue, options = consumer
    go = tmp_path / "go"
    producers = start_producers(options, go, MESSAGES_PER_PRODUCER, PRODUCER)
    go.touch()

    received: set[tuple[int, int]] = set()
    expected = PRODUCERS * MESSAGES_PER_PRODUCER
    deadline = time.monotonic() + DRAIN_TIMEOUT_SECONDS
    # The consumer polls while the producers write: every half-written file would be seen.
    while len(received) < expected and time.monotonic() < deadline:
        try:
            message = queue.get(timeout=1)
        except queue.Empty:
            if all(p.poll() is not None for p in producers) and not queue.qsize():
                break
            continue
        body = message.payload
        received.add((body["producer"], body["number"]))
        assert body["pad"] == "x" * (body["number"] % 7 * 4096)
        message.ack()

    assert [p.wait(timeout=DRAIN_TIMEOUT_SECONDS) for p in producers] == [0] * PRODUCERS
    assert len(received) == expected
    assert unreadable_messages(str(options["processed_folder"])) == []
    assert list((Path(str(options["data_folder_out"])) / INCOMING_FOLDER).iterdir()) == []


CELERY_PRODUCER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from celery import Celery

    options, producer, count = json.loads(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    go = Path(sys.argv[4])
    app = Celery("producer", set_as_current=False)
    app.conf.update(
        broker_url="filesystem://",
        broker_transport="lpo_tracker.filesystem_broker:Transport",
        broker_transport_options=options,
        task_serializer="json",
    )
    while not go.exists():
        time.sleep(0.01)
    with app.producer_or_acquire() as celery_producer:
        for number in range(count):
            app.send_task("lpo_tracker.core.tasks.ping", producer=celery_producer)
    """
)
TASKS_PER_PRODUCER = 250


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_survives_concurrent_producer_processes_and_runs_every_task(
    filesystem_worker: WorkController, tmp_path: Path
) -> None:
    app = filesystem_worker.app
    options = dict(app.conf.broker_transport_options)
    results = Path(app.conf.result_backend.removeprefix("file://"))
    go = tmp_path / "go"
    producers = start_producers(options, go, TASKS_PER_PRODUCER, CELERY_PRODUCER)
    go.touch()
    assert [p.wait(timeout=DRAIN_TIMEOUT_SECONDS) for p in producers] == [0] * PRODUCERS

    expected = PRODUCERS * TASKS_PER_PRODUCER
    deadline = time.monotonic() + DRAIN_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        done = sum(1 for path in results.iterdir() if path.name.startswith("celery-task-meta-"))
        if done >= expected:
            break
        time.sleep(0.2)

    assert done == expected
    # The worker is still consuming: one more task round-trips.
    assert app.tasks[ping.name].delay().get(timeout=DRAIN_TIMEOUT_SECONDS) == "pong"
    assert unreadable_messages(str(options["processed_folder"])) == []


def test_an_unreadable_message_is_set_aside_and_the_next_one_is_delivered(
    consumer: tuple[SimpleQueue, dict[str, object]], caplog: pytest.LogCaptureFixture
) -> None:
    queue, options = consumer
    out = Path(str(options["data_folder_out"]))
    # As the stock transport could leave it: a message file created but never written.
    (out / f"{0:015d}_torn.stress.msg").write_bytes(b"")
    queue.put({"number": 1})

    with caplog.at_level(logging.ERROR, logger="lpo_tracker.filesystem_broker"):
        message = queue.get(timeout=10)

    assert message.payload == {"number": 1}
    assert [path.name for path in unreadable_messages(str(options["processed_folder"]))] == [
        f"{0:015d}_torn.stress.msg"
    ]
    assert "Unreadable broker message" in caplog.text


def test_while_a_message_is_written_nothing_is_visible_in_the_queue_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    options = broker_options(tmp_path / "broker")
    out = Path(str(options["data_folder_out"]))
    seen_while_writing: list[list[str]] = []
    real_fsync = os.fsync

    def fsync_and_look(fd: int) -> None:  # called after the bytes are written, before rename
        seen_while_writing.append(sorted(p.name for p in out.iterdir() if p.is_file()))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync_and_look)
    with Connection(transport=Transport, transport_options=options) as connection:
        queue = connection.SimpleQueue("whole")
        queue.put({"pad": "y" * 100_000})
        queue.close()

    assert seen_while_writing and all(names == [] for names in seen_while_writing)
    [message] = [path for path in out.iterdir() if path.is_file()]
    assert message.name.endswith(".whole.msg")
    assert json.loads(message.read_bytes())
    assert list((out / INCOMING_FOLDER).iterdir()) == []
