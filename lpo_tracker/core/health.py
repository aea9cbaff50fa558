"""Liveness (`/healthz`) and readiness (`/readyz`), as JSON for a load balancer and on-call.

`/healthz` answers as long as the process serves requests; it touches nothing else.

`/readyz` runs every check and reports each one. Critical checks (the database, the broker)
decide the HTTP status: 200 when they pass, 503 when one fails, because this web process
cannot do its job without them. The others (worker and beat heartbeats, the age of the oldest
unsent e-mail, registered by the apps) make the status "degraded" but keep 200: a load
balancer must not take web servers out of rotation because a worker or the mail server is
down; on-call sees which check failed and since when.

Only ages, counts and check names are reported, never client data, host names or error text
(an exception's message can carry a connection string): errors are reported by type.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection

BROKER_TIMEOUT_SECONDS = 2


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    critical: bool
    detail: dict[str, Any] = field(default_factory=dict)


Check = Callable[[dt.datetime], CheckResult]

# Checks the apps add in their AppConfig.ready (the project package never imports the apps).
_REGISTERED: dict[str, Check] = {}


def readiness_check_register(name: str, check: Check) -> None:
    _REGISTERED[name] = check


@dataclass(frozen=True)
class Readiness:
    status: str  # "ready", "degraded" or "not ready"
    checks: dict[str, dict[str, Any]]

    @property
    def http_status(self) -> int:
        return 503 if self.status == "not ready" else 200

    def as_json(self) -> dict[str, Any]:
        return {"status": self.status, "checks": self.checks}


def _database(now: dt.datetime) -> CheckResult:
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return CheckResult(True, True, {"ms": round((time.monotonic() - started) * 1000, 1)})


def _broker(now: dt.datetime) -> CheckResult:
    from lpo_tracker.celery import app

    started = time.monotonic()
    if str(app.conf.broker_url).startswith("filesystem://"):
        options = app.conf.broker_transport_options or {}
        folders = [str(options.get(key, "")) for key in ("data_folder_in", "data_folder_out")]
        ok = all(os.path.isdir(folder) and os.access(folder, os.W_OK) for folder in folders)
        return CheckResult(ok, True, {"transport": "filesystem"})
    with app.connection_for_write(connect_timeout=BROKER_TIMEOUT_SECONDS) as broker:
        broker.ensure_connection(max_retries=0, timeout=BROKER_TIMEOUT_SECONDS)
        transport = broker.transport.driver_type
    return CheckResult(True, True, {"transport": transport,
                                    "ms": round((time.monotonic() - started) * 1000, 1)})


def _heartbeat(name: str) -> Check:
    def check(now: dt.datetime) -> CheckResult:
        from lpo_tracker.core.heartbeats import heartbeats_latest

        at = heartbeats_latest().get(name)
        age = None if at is None else max(0.0, (now - at).total_seconds())
        limit = settings.READYZ_HEARTBEAT_MAX_AGE_SECONDS
        return CheckResult(age is not None and age <= limit, False,
                           {"age_seconds": None if age is None else round(age),
                            "max_age_seconds": limit})

    return check


def _run(check: Check, now: dt.datetime, *, critical: bool) -> dict[str, Any]:
    try:
        result = check(now)
    except Exception as exc:  # a failing check is a result, never a 500
        result = CheckResult(False, critical, {"error": type(exc).__name__})
    return {"ok": result.ok, "critical": result.critical, **result.detail}


def health_readiness(*, now: dt.datetime) -> Readiness:
    """Every check, each isolated from the others' failures."""
    from lpo_tracker.core.heartbeats import BEAT, WORKER

    checks: dict[str, dict[str, Any]] = {
        "database": _run(_database, now, critical=True),
        "broker": _run(_broker, now, critical=True),
        "worker": _run(_heartbeat(WORKER), now, critical=False),
        "beat": _run(_heartbeat(BEAT), now, critical=False),
    }
    for name, check in _REGISTERED.items():
        checks[name] = _run(check, now, critical=False)
    if any(not c["ok"] and c["critical"] for c in checks.values()):
        status = "not ready"
    elif all(c["ok"] for c in checks.values()):
        status = "ready"
    else:
        status = "degraded"
    return Readiness(status, checks)
