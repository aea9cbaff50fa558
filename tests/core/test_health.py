"""`/healthz` and `/readyz`: JSON for a load balancer and on-call, with no client data."""

from __future__ import annotations

import datetime as dt
import json
import socket
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from lpo_tracker.celery import app
from lpo_tracker.core.heartbeats import BEAT, WORKER, heartbeat_record
from lpo_tracker.core.models import Heartbeat
from supervision.models import ReminderKind, ReminderRecord
from tests.conftest import Cast

pytestmark = pytest.mark.django_db


def readyz(client: Client, **extra: Any) -> tuple[int, dict[str, Any]]:
    response = client.get("/readyz", **extra)
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    return response.status_code, json.loads(response.content)


def fresh_heartbeats() -> None:
    now = timezone.now()
    heartbeat_record(name=WORKER, now=now)
    heartbeat_record(name=BEAT, now=now)


@pytest.fixture
def broker_url(redis_url: str) -> Any:
    """The broker /readyz checks: this xdist worker's own Redis database."""
    saved = app.conf.broker_url
    app.conf.update(broker_url=redis_url)
    yield redis_url
    app.conf.update(broker_url=saved)


def test_healthz_answers_without_touching_the_database(
    client: Client, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert json.loads(response.content) == {"status": "ok"}
    assert "sessionid" not in response.cookies


@pytest.mark.redis
def test_readyz_is_ready_when_database_broker_worker_beat_and_email_are_fine(
    client: Client, broker_url: str
) -> None:
    fresh_heartbeats()

    status, body = readyz(client)

    assert status == 200
    assert body["status"] == "ready"
    assert set(body["checks"]) == {"database", "broker", "worker", "beat", "email"}
    assert all(check["ok"] for check in body["checks"].values())
    assert body["checks"]["broker"]["transport"] == "redis"
    assert body["checks"]["email"]["unsent"] == 0


def test_readyz_reports_a_down_broker_as_not_ready(client: Client) -> None:
    with socket.socket() as probe:  # a port on which nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    saved = app.conf.broker_url
    app.conf.update(broker_url=f"redis://127.0.0.1:{port}/0")
    try:
        fresh_heartbeats()
        status, body = readyz(client)
    finally:
        app.conf.update(broker_url=saved)

    assert status == 503
    assert body["status"] == "not ready"
    assert body["checks"]["broker"] == {"ok": False, "critical": True,
                                        "error": "OperationalError"}
    assert str(port) not in json.dumps(body)  # no connection details leak
    assert body["checks"]["database"]["ok"]


@pytest.mark.redis
def test_stale_heartbeats_and_an_old_unsent_email_make_it_degraded_not_unready(
    client: Client, broker_url: str, settings: Any
) -> None:
    now = timezone.now()
    heartbeat_record(name=WORKER, now=now - dt.timedelta(minutes=10))
    ReminderRecord.objects.create(kind=ReminderKind.TASK_OVERDUE, object_type="matters.task",
                                  object_id=1, threshold="+0h",
                                  created_at=now - dt.timedelta(hours=2))

    status, body = readyz(client)

    assert status == 200  # a load balancer keeps the web server: it can still serve
    assert body["status"] == "degraded"
    worker, beat, email = (body["checks"][name] for name in ("worker", "beat", "email"))
    assert not worker["ok"] and 590 <= worker["age_seconds"] <= 700
    assert worker["max_age_seconds"] == settings.READYZ_HEARTBEAT_MAX_AGE_SECONDS
    assert beat == {"ok": False, "critical": False, "age_seconds": None,
                    "max_age_seconds": settings.READYZ_HEARTBEAT_MAX_AGE_SECONDS}
    assert not email["ok"] and email["unsent"] == 1 and email["oldest_age_seconds"] >= 7200


@pytest.mark.redis
def test_readyz_shows_no_client_data_to_anyone(
    client: Client, cast: Cast, broker_url: str
) -> None:
    fresh_heartbeats()
    ReminderRecord.objects.create(kind=ReminderKind.TASK_DUE_SOON, object_type="matters.task",
                                  object_id=cast.task.pk, threshold="-24h",
                                  recipients=[cast.vendor_a_user.pk])
    secrets = [cast.task.title, cast.matter.title, cast.vendor_a_user.username,
               cast.admin.username]

    anonymous = client.get("/readyz").content.decode()
    client.force_login(cast.admin)
    as_admin = client.get("/readyz").content.decode()

    # The same report for everyone (no login needed, none gives more), and only names,
    # booleans, counts and ages in it.
    assert json.loads(anonymous)["checks"].keys() == json.loads(as_admin)["checks"].keys()
    for body in (anonymous, as_admin):
        for secret in secrets:
            assert secret not in body
        for check in json.loads(body)["checks"].values():
            assert set(check) <= {"ok", "critical", "ms", "transport", "age_seconds",
                                  "max_age_seconds", "unsent", "oldest_age_seconds", "error"}
            assert all(isinstance(v, bool | int | float | None) or k == "transport"
                       or k == "error" for k, v in check.items())


def test_health_endpoints_answer_plain_http_on_any_host_in_production_shape(
    client: Client, settings: Any
) -> None:
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["lpo.example.com"]

    response = client.get("/healthz", HTTP_HOST="10.0.0.7:8000")

    assert response.status_code == 200  # no redirect to https, no DisallowedHost
    assert client.get("/accounts/login/", HTTP_HOST="10.0.0.7:8000").status_code == 400


def test_health_endpoints_refuse_writes(client: Client) -> None:
    response = client.post("/readyz")
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"


def test_the_worker_heartbeat_task_stamps_the_worker() -> None:
    from lpo_tracker.core.tasks import heartbeat

    heartbeat.run()

    stamp = Heartbeat.objects.get(name=WORKER).at
    assert timezone.now() - stamp < dt.timedelta(minutes=1)


def test_beat_stamps_its_heartbeat_when_it_publishes_and_no_other_process_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from lpo_tracker.core import heartbeats

    heartbeats.on_before_task_publish()  # the web process publishing: not beat
    assert not Heartbeat.objects.filter(name=BEAT).exists()

    monkeypatch.setattr(heartbeats, "_in_beat", False)
    monkeypatch.setattr(heartbeats.connections, "close_all", lambda: None)  # test transaction
    heartbeats.on_beat_init()
    first = Heartbeat.objects.get(name=BEAT).at
    heartbeats.on_before_task_publish()
    assert Heartbeat.objects.get(name=BEAT).at >= first
