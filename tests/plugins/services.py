"""The real services behind the tests: PostgreSQL and Redis, checked before any test runs.

1. At configuration time nothing is contacted (collecting tests, `pytest --collect-only`,
   touches no service). Each pytest-xdist worker is given a Redis database of its own,
   counted from the one in REDIS_URL (…/0: gw0 → db 1, gw1 → db 2, …; no xdist → db 1), and
   every run a key prefix of its own (`lpo-test-<run id>:`, REDIS_KEY_PREFIX), written into
   the Django settings, the Celery app and the environment (for subprocesses a test starts).
   So two runs on one machine, even with the same REDIS_URL, never see each other's keys,
   and nothing needs flushing: REDIS_URL's own database stays the developer's.
2. At session start (not when only collecting) Redis is pinged and, when the database is
   PostgreSQL, a connection is tried. With `CI` set ("true"/"1"), a missing service stops the
   run with a message saying what to start: a suite that skips its integration tests would
   look green while proving nothing. On a laptop, tests marked `redis` (or `postgres`) are
   skipped with the reason instead.
3. At session end each worker deletes the keys under its own prefix, and only those.

Without Redis (laptop only) Celery is pointed at a throwaway filesystem broker, so a test that
enqueues a task never writes into the developer's ./var.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
import redis

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
CONNECT_TIMEOUT_SECONDS = 2


@dataclass(frozen=True)
class Services:
    redis_url: str
    redis_error: str | None
    postgres_error: str | None
    uses_postgres: bool
    broker_dir: Path | None = None


@dataclass(frozen=True)
class RedisPlace:
    """Where this run's (and this xdist worker's) Redis keys live; known without contact."""

    url: str
    key_prefix: str


_SERVICES = pytest.StashKey[Services]()
_PLACE = pytest.StashKey[RedisPlace]()


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def redis_db_of(url: str) -> int:
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return int(dict(parse_qsl(parts.query)).get("db", 0))
    return int(parts.path.strip("/") or 0)


def redis_db_number(base_url: str) -> int:
    """The database after REDIS_URL's, plus the xdist worker's index: /0 → gw0 → 1, gw1 → 2.

    Two test runs on the same databases still stay apart: each has its own key prefix.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    index = int(worker[2:]) if worker.startswith("gw") else 0
    return redis_db_of(base_url) + 1 + index


def with_redis_db(url: str, db: int) -> str:
    """`url` pointing at database `db` (path for redis://, ?db= for unix:// sockets)."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        query = [(key, value) for key, value in parse_qsl(parts.query) if key != "db"]
        return urlunsplit(parts._replace(query=urlencode([*query, ("db", str(db))])))
    return urlunsplit(parts._replace(path=f"/{db}"))


def _redis_error(url: str) -> str | None:
    client = redis.Redis.from_url(
        url, socket_connect_timeout=CONNECT_TIMEOUT_SECONDS, socket_timeout=CONNECT_TIMEOUT_SECONDS
    )
    try:
        client.ping()
    except redis.RedisError as exc:
        return f"Redis at {_redact(url)} does not answer: {exc}"
    finally:
        client.close()
    return None


def _postgres_error(database: dict[str, Any]) -> str | None:
    """None if the server answers; tries the configured database, then `postgres`."""
    import psycopg

    error = ""
    for name in (database.get("NAME") or "postgres", "postgres"):
        try:
            psycopg.connect(
                host=database.get("HOST") or None,
                port=database.get("PORT") or None,
                user=database.get("USER") or None,
                password=database.get("PASSWORD") or None,
                dbname=name,
                connect_timeout=CONNECT_TIMEOUT_SECONDS,
            ).close()
        except psycopg.Error as exc:
            error = str(exc).strip()
        else:
            return None
    where = f"{database.get('HOST') or 'localhost'}:{database.get('PORT') or 5432}"
    return f"PostgreSQL at {where} does not answer: {error}"


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def _point_celery_at(broker_url: str, result_backend: str, options: dict[str, Any],
                     result_options: dict[str, Any] | None = None) -> None:
    from django.conf import settings

    from lpo_tracker.celery import app

    settings.CELERY_BROKER_URL = broker_url
    settings.CELERY_RESULT_BACKEND = result_backend
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = options
    settings.CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = result_options or {}
    # The app reads settings lazily, but set it too in case something read them already.
    app.conf.update(
        broker_url=broker_url, result_backend=result_backend, broker_transport_options=options,
        result_backend_transport_options=result_options or {},
    )


def run_key_prefix(config: pytest.Config) -> str:
    """One prefix per test run, shared by its xdist workers (xdist's own run id)."""
    workerinput = getattr(config, "workerinput", None)
    run_id = workerinput["testrunuid"] if workerinput else uuid.uuid4().hex
    return f"lpo-test-{run_id[:12]}:"


def redis_options(prefix: str) -> dict[str, Any]:
    return {"visibility_timeout": 3600, "global_keyprefix": prefix}


def pytest_configure(config: pytest.Config) -> None:
    """Decide where this run's keys go; contact nothing (collecting must touch no service)."""
    from django.conf import settings

    base_url = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    place = RedisPlace(with_redis_db(base_url, redis_db_number(base_url)),
                       run_key_prefix(config))
    config.stash[_PLACE] = place
    settings.REDIS_URL = place.url
    settings.REDIS_KEY_PREFIX = place.key_prefix
    os.environ["REDIS_URL"] = place.url  # for subprocesses a test starts
    os.environ["REDIS_KEY_PREFIX"] = place.key_prefix
    _point_celery_at(place.url, place.url, redis_options(place.key_prefix),
                     {"global_keyprefix": place.key_prefix})


def _collecting_only(config: pytest.Config) -> bool:
    return bool(config.getoption("collectonly", False))


def pytest_sessionstart(session: pytest.Session) -> None:
    config = session.config
    if _collecting_only(config):
        return
    from django.conf import settings

    place = config.stash[_PLACE]
    database = settings.DATABASES["default"]
    uses_postgres = database["ENGINE"] == "django.db.backends.postgresql"
    redis_error = _redis_error(place.url)
    postgres_error = _postgres_error(database) if uses_postgres else None
    broker_dir: Path | None = None
    if redis_error is not None and not in_ci():
        broker_dir = Path(tempfile.mkdtemp(prefix="lpo-test-broker-"))
        for folder in ("out", "processed", "control", "results"):
            (broker_dir / folder).mkdir()
        settings.CELERY_BROKER_TRANSPORT = "lpo_tracker.filesystem_broker:Transport"
        from lpo_tracker.celery import app

        app.conf.update(broker_transport="lpo_tracker.filesystem_broker:Transport")
        _point_celery_at(
            "filesystem://",
            f"file://{broker_dir / 'results'}",
            {
                "data_folder_in": str(broker_dir / "out"),
                "data_folder_out": str(broker_dir / "out"),
                "processed_folder": str(broker_dir / "processed"),
                "control_folder": str(broker_dir / "control"),
            },
        )
    services = Services(place.url, redis_error, postgres_error, uses_postgres, broker_dir)
    config.stash[_SERVICES] = services

    problems = [error for error in (postgres_error, redis_error) if error]
    if in_ci() and problems:
        headline = "CI=true and required services are not running (CI never skips them):"
    elif postgres_error:
        # PostgreSQL was asked for explicitly (DATABASE_URL), so every database test needs it.
        problems = [postgres_error]
        headline = "DATABASE_URL names PostgreSQL, but it is not running:"
    else:
        problems = []
    if problems:
        pytest.exit(
            f"{headline}\n  - "
            + "\n  - ".join(problems)
            + "\nStart them (.ci/run shows how), or on a laptop unset DATABASE_URL/REDIS_URL.",
            returncode=pytest.ExitCode.USAGE_ERROR,
        )


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Delete this run's keys (its prefix, its database), nothing else."""
    services = session.config.stash.get(_SERVICES, None)
    if services is None:
        return
    if services.broker_dir is not None:
        shutil.rmtree(services.broker_dir, ignore_errors=True)
    if services.redis_error is not None:
        return
    prefix = session.config.stash[_PLACE].key_prefix
    client = redis.Redis.from_url(services.redis_url, socket_timeout=CONNECT_TIMEOUT_SECONDS)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        for start in range(0, len(keys), 1000):
            client.delete(*keys[start:start + 1000])
    except redis.RedisError:
        pass  # a test stopped Redis, or it went away: nothing of ours is left to clean
    finally:
        client.close()


def _missing(reason: str) -> NoReturn:
    if in_ci():
        pytest.fail(f"{reason} (CI=true: a missing service is a failure, not a skip)")
    pytest.skip(reason)


def pytest_runtest_setup(item: pytest.Item) -> None:
    services = item.config.stash[_SERVICES]
    if services.redis_error and item.get_closest_marker("redis"):
        _missing(services.redis_error)
    if not services.uses_postgres and item.get_closest_marker("postgres"):
        _missing("needs PostgreSQL: set DATABASE_URL=postgres://…")


@pytest.fixture(scope="session")
def redis_key_prefix(pytestconfig: pytest.Config) -> str:
    """Prepended to every Celery key of this run (REDIS_KEY_PREFIX)."""
    return pytestconfig.stash[_PLACE].key_prefix


@pytest.fixture(scope="session")
def redis_url(pytestconfig: pytest.Config) -> str:
    """This xdist worker's own Redis database (also in settings.REDIS_URL and Celery's conf)."""
    services = pytestconfig.stash[_SERVICES]
    if services.redis_error:
        _missing(services.redis_error)
    return services.redis_url


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()
