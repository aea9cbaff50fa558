"""`make test` on a fresh machine: throwaway PostgreSQL and Redis, or one line on what to install.

Real servers are started (on free ports, in temporary directories) and must be gone after.
"""

from __future__ import annotations

import json
import shutil
import socket
import sys
from pathlib import Path

import pytest

from tests import throwaway_services as throwaway
from tests.plugins.services import in_ci


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def needs(found: object, what: str) -> None:
    if not found:
        if in_ci():
            pytest.fail(f"{what} is not installed (CI=true: a failure, not a skip)")
        pytest.skip(f"{what} is not installed")


PRINT_URLS = ("import json, os; print(json.dumps({k: os.environ.get(k) "
              "for k in ('DATABASE_URL', 'REDIS_URL')}))")


def test_without_servers_installed_one_line_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setattr(throwaway.shutil, "which", lambda name: None)
    monkeypatch.setattr(throwaway.glob, "glob", lambda pattern: [])

    code = throwaway.run([sys.executable, "-c", "raise SystemExit(0)"],
                         database_default=f"postgres://postgres@127.0.0.1:{free_port()}/x",
                         redis_default=f"redis://127.0.0.1:{free_port()}/0")

    assert code == 2
    assert capsys.readouterr().err.strip().splitlines() == [throwaway.INSTALL_HINT]


def test_urls_set_by_the_caller_are_used_as_they_are(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://someone@db.example:5432/theirs")
    monkeypatch.setenv("REDIS_URL", "redis://cache.example:6379/4")

    code = throwaway.run([sys.executable, "-c", PRINT_URLS],
                         database_default="postgres://postgres@127.0.0.1:1/unused",
                         redis_default="redis://127.0.0.1:1/0")

    assert code == 0
    assert json.loads(capfd.readouterr().out) == {
        "DATABASE_URL": "postgres://someone@db.example:5432/theirs",
        "REDIS_URL": "redis://cache.example:6379/4"}


def test_servers_that_are_installed_but_not_running_are_started_and_stopped(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    needs(throwaway.postgres_bindir(), "PostgreSQL")
    needs(shutil.which("redis-server"), "redis-server")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    pg_port, redis_port = free_port(), free_port()
    made: list[str] = []
    real_mkdtemp = throwaway.tempfile.mkdtemp

    def mkdtemp(**kwargs: str) -> str:
        made.append(real_mkdtemp(**kwargs))
        return made[-1]

    monkeypatch.setattr(throwaway.tempfile, "mkdtemp", mkdtemp)
    check = (
        "import os, psycopg, redis; "
        "psycopg.connect(os.environ['DATABASE_URL'].replace('/lpo_tracker', '/postgres'))"
        ".close(); assert redis.Redis.from_url(os.environ['REDIS_URL']).ping(); " + PRINT_URLS
    )

    code = throwaway.run([sys.executable, "-c", check],
                         database_default=f"postgres://postgres@127.0.0.1:{pg_port}/lpo_tracker",
                         redis_default=f"redis://127.0.0.1:{redis_port}/0")

    captured = capfd.readouterr()
    assert code == 0, captured.err
    assert json.loads(captured.out) == {
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{pg_port}/lpo_tracker",
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0"}
    assert "Started throwaway PostgreSQL" in captured.err
    # Stopped, and their directories removed.
    assert not throwaway.answers("127.0.0.1", pg_port)
    assert not throwaway.answers("127.0.0.1", redis_port)
    assert len(made) == 2 and not any(Path(folder).exists() for folder in made)
