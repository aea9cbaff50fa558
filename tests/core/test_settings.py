"""Settings come from the environment and fail loudly, naming the variable, on a bad value.

Each case starts a fresh interpreter: settings are read once, at import.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

# The child inherits only these, so neither the developer's shell (DATABASE_URL, …) nor what
# other tests put into os.environ (e.g. DJANGO_ALLOW_ASYNC_UNSAFE) can leak into a case.
INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV")
GOOD_SECRET = "k" * 20 + "x7Q-pL9_vR2mZ4sT8wY1cF6hJ3nB5dG0aE" + "u" * 10
AUDIT_KEY = "a" * 16 + "Zr8-Kq2_mW5nX9pL" + "b" * 8
# As docker-compose.yml runs it: clamd at its service address (checked, not connected to).
PRODUCTION = {"LPO_ENV": "production", "SECRET_KEY": GOOD_SECRET, "ALLOWED_HOSTS": "lpo.example",
              "AUDIT_HMAC_KEY": AUDIT_KEY, "CLAMAV_ADDRESS": "tcp://clamav:3310"}

REPORT = """
import json, django
django.setup()
from django.conf import settings as s
print(json.dumps({
    "engine": s.DATABASES["default"]["ENGINE"],
    "name": str(s.DATABASES["default"]["NAME"]),
    "host": s.DATABASES["default"].get("HOST", ""),
    "broker": s.CELERY_BROKER_URL,
    "results": s.CELERY_RESULT_BACKEND,
    "debug": s.DEBUG,
    "secure_cookies": getattr(s, "SESSION_COOKIE_SECURE", False),
}))
"""


def run_python(
    tmp_path: Path, variables: dict[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    """`python <args>` (default: print the settings as JSON) in the project, with `variables`."""
    env = {key: os.environ[key] for key in INHERITED if key in os.environ}
    env.update(
        DJANGO_SETTINGS_MODULE="lpo_tracker.settings",
        LPO_VAR_DIR=str(tmp_path / "var"),
        **variables,
    )
    return subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, *(args or ("-c", REPORT))],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def report(tmp_path: Path, variables: dict[str, str]) -> dict[str, Any]:
    finished = run_python(tmp_path, variables)
    assert finished.returncode == 0, finished.stderr
    result: dict[str, Any] = json.loads(finished.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"DATABASE_URL": "mysql://db/lpo"}, "DATABASE_URL"),
        ({"DATABASE_URL": "not a url"}, "DATABASE_URL"),
        ({"DATABASE_URL": "postgres://db.example"}, "DATABASE_URL"),
        ({"DATABASE_URL": "postgres://db:port/lpo"}, "DATABASE_URL"),
        ({"REDIS_URL": "http://cache.example"}, "REDIS_URL"),
        ({"DJANGO_DEBUG": "maybe"}, "DJANGO_DEBUG"),
        ({"MAX_UPLOAD_MB": "abc"}, "MAX_UPLOAD_MB"),
        ({"MAX_UPLOAD_MB": "0"}, "MAX_UPLOAD_MB"),
        ({"FIRM_TIME_ZONE": "Mars/Base"}, "FIRM_TIME_ZONE"),
        ({"LPO_ENV": "staging"}, "LPO_ENV"),
        ({"LPO_ENV": "production"}, "SECRET_KEY"),
        ({**PRODUCTION, "SECRET_KEY": "short"}, "SECRET_KEY"),
        ({**PRODUCTION, "ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS"),
        ({**PRODUCTION, "AUDIT_HMAC_KEY": ""}, "AUDIT_HMAC_KEY"),
        ({**PRODUCTION, "AUDIT_HMAC_KEY": "short"}, "AUDIT_HMAC_KEY"),
        ({"AUDIT_HMAC_RETIRED_KEYS": "k0"}, "AUDIT_HMAC_RETIRED_KEYS"),
        ({"AUDIT_HMAC_RETIRED_KEYS": "k0:short"}, "AUDIT_HMAC_RETIRED_KEYS"),
    ],
    ids=lambda value: (
        "-".join(f"{k}={v}" for k, v in value.items()) if isinstance(value, dict) else ""
    ),
)
def test_a_bad_value_stops_start_up_naming_the_variable(
    tmp_path: Path, variables: dict[str, str], named: str
) -> None:
    finished = run_python(tmp_path, variables)

    assert finished.returncode != 0
    last_line = finished.stderr.strip().splitlines()[-1]
    assert last_line.startswith("django.core.exceptions.ImproperlyConfigured:"), finished.stderr
    assert named in last_line


def test_without_service_urls_the_app_uses_sqlite_and_the_filesystem_broker(
    tmp_path: Path,
) -> None:
    result = report(tmp_path, {})

    assert result["engine"] == "django.db.backends.sqlite3"
    assert result["name"] == str(tmp_path / "var" / "lpo_tracker.sqlite3")
    assert result["broker"] == "filesystem://"
    assert result["results"] == f"file://{tmp_path / 'var' / 'celery-results'}"
    assert result["debug"] is True


def test_service_urls_select_postgresql_and_redis(tmp_path: Path) -> None:
    result = report(
        tmp_path,
        {
            "DATABASE_URL": "postgres://lpo:secret@db.internal:5433/lpo_tracker",
            "REDIS_URL": "redis://cache.internal:6379/3",
        },
    )

    assert result["engine"] == "django.db.backends.postgresql"
    assert (result["name"], result["host"]) == ("lpo_tracker", "db.internal")
    assert result["broker"] == result["results"] == "redis://cache.internal:6379/3"


def test_production_settings_pass_the_deployment_checklist(tmp_path: Path) -> None:
    finished = run_python(
        tmp_path,
        PRODUCTION,
        *("manage.py", "check", "--deploy", "--fail-level", "WARNING"),
    )

    assert finished.returncode == 0, finished.stderr
    assert report(tmp_path, PRODUCTION)["secure_cookies"] is True


def test_a_relative_var_dir_is_taken_from_the_checkout_not_the_current_directory(
    tmp_path: Path,
) -> None:
    """`manage.py` run from anywhere finds the database `make run` made (issue 14)."""
    env = {key: os.environ[key] for key in INHERITED if key in os.environ}
    relative = f"var-test-{os.getpid()}"
    env.update(DJANGO_SETTINGS_MODULE="lpo_tracker.settings", LPO_VAR_DIR=relative)
    elsewhere = tmp_path / "somewhere-else"
    elsewhere.mkdir()
    try:
        finished = subprocess.run(  # noqa: S603 - our own interpreter and code
            [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "shell", "-c",
             "from django.conf import settings; print(settings.DATABASES['default']['NAME'])"],
            cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120, check=True,
        )
    finally:
        shutil.rmtree(Path(settings.BASE_DIR) / relative, ignore_errors=True)
    name = finished.stdout.strip().splitlines()[-1]
    assert name == str(Path(settings.BASE_DIR) / relative / "lpo_tracker.sqlite3")
    assert not (elsewhere / relative).exists()
