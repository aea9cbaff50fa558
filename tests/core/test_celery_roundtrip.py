"""A task really travels producer → broker → worker → result backend, on both brokers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import redis
from celery.worker import WorkController
from django.conf import settings

from lpo_tracker.core.tasks import ping
from tests.plugins.services import redis_db_number, redis_db_of
from tests.waits import EVENT_TIMEOUT_SECONDS

pytestmark = pytest.mark.django_db(transaction=True)


def xdist_worker_index() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(worker.removeprefix("gw"))


@pytest.mark.redis
def test_ping_through_redis_is_answered_by_a_real_worker(
    live_worker: WorkController, redis_client: redis.Redis, redis_url: str, redis_key_prefix: str
) -> None:
    assert live_worker.app.conf.broker_url == redis_url
    assert not live_worker.app.conf.task_always_eager

    result = ping.delay()

    assert result.get(timeout=EVENT_TIMEOUT_SECONDS) == "pong"
    # The result came back through this xdist worker's own Redis database, under this run's
    # own key prefix.
    assert redis_client.exists(f"{redis_key_prefix}celery-task-meta-{result.id}")
    assert not redis_client.exists(f"celery-task-meta-{result.id}")


def test_ping_through_the_filesystem_broker_is_answered_by_a_real_worker(
    filesystem_worker: WorkController,
) -> None:
    app = filesystem_worker.app
    assert app.conf.broker_url == "filesystem://"

    result = app.tasks[ping.name].delay()

    assert result.get(timeout=EVENT_TIMEOUT_SECONDS) == "pong"
    results_dir = Path(app.conf.result_backend.removeprefix("file://"))
    assert (results_dir / f"celery-task-meta-{result.id}").exists()


@pytest.mark.redis
@pytest.mark.django_db(transaction=False)
def test_each_xdist_worker_uses_its_own_redis_database(redis_url: str) -> None:
    assert redis_db_number("redis://127.0.0.1:6379/0") == 1 + xdist_worker_index()
    assert redis_db_number("redis://127.0.0.1:6379/8") == 9 + xdist_worker_index()
    assert redis_db_of(redis_url) >= 1  # REDIS_URL's own database is the developer's
    assert redis_url == settings.CELERY_BROKER_URL
    assert redis_url == settings.CELERY_RESULT_BACKEND


@pytest.mark.redis
@pytest.mark.django_db(transaction=False)
def test_each_run_has_its_own_key_prefix_everywhere(redis_key_prefix: str) -> None:
    from lpo_tracker.celery import app

    assert redis_key_prefix.startswith("lpo-test-") and redis_key_prefix.endswith(":")
    assert os.environ["REDIS_KEY_PREFIX"] == redis_key_prefix  # for subprocess workers
    assert app.conf.broker_transport_options["global_keyprefix"] == redis_key_prefix
    assert app.conf.result_backend_transport_options["global_keyprefix"] == redis_key_prefix
