"""Real Celery workers, in a thread of the test process (celery.contrib.pytest underneath).

Follows the pitfalls in STACK.md:
- Celery's Django worker fix-up would close the *test thread's* database connection when a
  worker starts; it is made a no-op, and the worker thread closes its own connections after
  each task instead (so the test database can be dropped at the end).
- The worker sees only committed rows: tests that use a worker need
  `@pytest.mark.django_db(transaction=True)`.
- `live_worker` (and celery.contrib.pytest's `celery_worker`) run *our* app, with its real
  tasks and settings, on this xdist worker's own Redis database (tests.plugins.services).
- `filesystem_worker` runs a second app on the embedded filesystem broker in `tmp_path`
  (lpo_tracker.filesystem_broker): the default that `make run` uses when REDIS_URL is unset.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from celery.contrib.testing.worker import start_worker
from celery.fixups.django import DjangoWorkerFixup  # type: ignore[attr-defined]  # not in stubs
from celery.signals import task_postrun
from celery.worker import WorkController

from lpo_tracker.celery import app as project_app
from tests.plugins.services import redis_options

# A worker thread stops within this many seconds once its test ends.
SHUTDOWN_TIMEOUT_SECONDS = 30.0


def _skip_worker_fixup(self: DjangoWorkerFixup) -> DjangoWorkerFixup:
    return self


def _close_worker_connections(task: Any = None, **kwargs: Any) -> None:
    # Eager tasks run in the test's own thread, inside its transaction: leave those alone.
    if task is not None and getattr(task.request, "is_eager", False):
        return
    from django.db import connections

    connections.close_all()


def pytest_configure(config: pytest.Config) -> None:
    DjangoWorkerFixup.install = _skip_worker_fixup  # type: ignore[method-assign]
    task_postrun.connect(_close_worker_connections, weak=False, dispatch_uid="lpo-tests-close-db")


@contextmanager
def _conf_overridden(app: Celery, overrides: Mapping[str, Any]) -> Iterator[Celery]:
    saved = {key: app.conf.get(key) for key in overrides}
    app.conf.update(overrides)
    try:
        yield app
    finally:
        app.conf.update(saved)


@pytest.fixture(scope="session")
def celery_config(redis_url: str, redis_key_prefix: str) -> dict[str, Any]:
    return {
        "broker_url": redis_url,
        "result_backend": redis_url,
        # This run's own keys (tests.plugins.services): two runs never meet in Redis.
        "broker_transport_options": redis_options(redis_key_prefix),
        "result_backend_transport_options": {"global_keyprefix": redis_key_prefix},
        "task_always_eager": False,
        # Leave the root logger (and pytest's log capture) alone when a worker starts.
        "worker_hijack_root_logger": False,
    }


@pytest.fixture(scope="session")
def celery_worker_parameters() -> dict[str, Any]:
    # Our app has no `celery.ping` test task; start_worker already waits for the consumer.
    return {"perform_ping_check": False, "shutdown_timeout": SHUTDOWN_TIMEOUT_SECONDS}


@pytest.fixture
def celery_app(request: pytest.FixtureRequest, celery_config: dict[str, Any]) -> Iterator[Celery]:
    """The project's Celery app on this test worker's Redis (+ any `@pytest.mark.celery(...)`)."""
    mark = request.node.get_closest_marker("celery")
    with _conf_overridden(project_app, {**celery_config, **(mark.kwargs if mark else {})}):
        yield project_app


@pytest.fixture
def live_worker(
    celery_app: Celery, celery_worker_pool: str, celery_worker_parameters: dict[str, Any]
) -> Iterator[WorkController]:
    """A real worker consuming from Redis while the test runs."""
    with start_worker(celery_app, pool=celery_worker_pool, **celery_worker_parameters) as worker:
        yield worker


@pytest.fixture
def filesystem_worker(
    tmp_path: Path, celery_worker_parameters: dict[str, Any]
) -> Iterator[WorkController]:
    """A real worker on the filesystem broker; send through `filesystem_worker.app`."""
    broker = tmp_path / "broker"
    for folder in ("out", "processed", "control", "results"):
        (broker / folder).mkdir(parents=True)
    app = Celery("lpo_tracker_filesystem", set_as_current=False)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.update(
        broker_url="filesystem://",
        broker_transport="lpo_tracker.filesystem_broker:Transport",
        broker_transport_options={
            "data_folder_in": str(broker / "out"),
            "data_folder_out": str(broker / "out"),
            "processed_folder": str(broker / "processed"),
            "control_folder": str(broker / "control"),
            "polling_interval": 0.1,
        },
        result_backend=f"file://{broker / 'results'}",
        result_backend_transport_options={},  # no Redis key prefix on file names
        task_always_eager=False,
        worker_hijack_root_logger=False,
    )
    app.autodiscover_tasks(force=True)
    try:
        with start_worker(app, pool="solo", **celery_worker_parameters) as worker:
            yield worker
    finally:
        # start_worker made this app the current and default one; give that back.
        project_app.set_current()
        project_app.set_default()
        app.close()
