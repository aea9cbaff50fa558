"""docker-compose.yml and its Dockerfile describe a stack this project can actually run.

There is no Docker engine in CI, so every command a service runs is resolved against the
code instead: Celery's `-A` app, gunicorn's WSGI callable, `manage.py` sub-commands.
"""

from __future__ import annotations

import importlib
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from celery import Celery
from celery.app.utils import find_app
from django.conf import settings
from django.core.management import get_commands

ROOT = Path(settings.BASE_DIR)
APP_SERVICES = ("migrate", "web", "worker", "beat")
BACKING_SERVICES = ("postgres", "redis")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


def argv_of(command: str | list[str]) -> list[str]:
    return shlex.split(command) if isinstance(command, str) else [str(part) for part in command]


def commands_in(argv: list[str]) -> list[list[str]]:
    """The programs a command runs: itself, or each step of an `sh -c "a && b"` script."""
    if len(argv) >= 3 and Path(argv[0]).name in ("sh", "bash") and argv[1] == "-c":
        steps = re.split(r"&&|\|\||;", argv[2])
        return [shlex.split(step) for step in steps if step.strip()]
    return [argv]


def option_value(argv: list[str], *names: str) -> str:
    for index, part in enumerate(argv):
        for name in names:
            if part == name:
                return argv[index + 1]
            if part.startswith(f"{name}="):
                return part.split("=", 1)[1]
    raise AssertionError(f"{' '.join(argv)} has none of {names}")


def assert_runs_project_code(argv: list[str]) -> None:
    """Fail unless `argv` names a Celery app, WSGI callable or management command we have."""
    program = Path(argv[0]).name
    if program == "celery":
        app = find_app(option_value(argv, "-A", "--app"))
        assert isinstance(app, Celery), f"{argv}: -A does not name a Celery app"
        assert {"worker", "beat"} & set(argv), f"{argv}: neither worker nor beat"
    elif program == "gunicorn":
        target = next(part for part in argv[1:] if ":" in part and not part.startswith("-"))
        module_name, attribute = target.split(":", 1)
        application = getattr(importlib.import_module(module_name), attribute)
        assert callable(application), f"{target} is not a WSGI callable"
    elif "manage.py" in argv:
        name = argv[argv.index("manage.py") + 1]
        assert name in get_commands(), f"manage.py {name}: no such command"
    else:
        raise AssertionError(f"{argv}: unknown program; teach this test what it runs")


def test_the_stack_has_web_worker_beat_postgres_and_redis(
    services: dict[str, dict[str, Any]],
) -> None:
    assert {*APP_SERVICES, *BACKING_SERVICES} <= set(services)


@pytest.mark.parametrize("name", BACKING_SERVICES)
def test_backing_services_have_healthchecks_and_persistent_volumes(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    service = services[name]

    assert service["healthcheck"]["test"]
    assert service["volumes"], f"{name} would lose its data with the container"


def test_redis_keeps_an_append_only_file(services: dict[str, dict[str, Any]]) -> None:
    argv = argv_of(services["redis"]["command"])

    assert option_value(argv, "--appendonly") == "yes"


@pytest.mark.parametrize("name", ("web", "worker", "beat"))
def test_app_services_wait_for_healthy_services_and_migrations(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    depends_on = services[name]["depends_on"]

    assert depends_on["postgres"]["condition"] == "service_healthy"
    assert depends_on["redis"]["condition"] == "service_healthy"
    assert depends_on["migrate"]["condition"] == "service_completed_successfully"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_run_in_production_mode_on_postgres_and_redis(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    environment = services[name]["environment"]

    assert environment["LPO_ENV"] == "production"
    assert environment["DATABASE_URL"].startswith("postgres://")
    assert environment["REDIS_URL"].startswith("redis://redis:")
    for variable in ("SECRET_KEY", "ALLOWED_HOSTS", "PRIVATE_MEDIA_ROOT"):
        assert environment[variable], variable
    assert services[name]["build"] == "."


def test_private_media_is_a_volume_shared_by_web_and_worker(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    media_root = services["web"]["environment"]["PRIVATE_MEDIA_ROOT"]
    mounts = {
        name: {
            volume.split(":")[0]
            for volume in services[name]["volumes"]
            if volume.split(":")[1] == media_root
        }
        for name in ("web", "worker")
    }

    assert mounts["web"] == mounts["worker"] != set()
    assert mounts["web"] <= set(compose["volumes"])


def test_exactly_one_beat(services: dict[str, dict[str, Any]]) -> None:
    assert services["beat"].get("deploy", {}).get("replicas", 1) == 1


@pytest.mark.filterwarnings("ignore:No directory at:UserWarning")  # whitenoise, no collectstatic
@pytest.mark.parametrize("name", APP_SERVICES)
def test_every_app_command_names_code_the_project_has(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    for argv in commands_in(argv_of(services[name]["command"])):
        assert_runs_project_code(argv)


def test_the_web_service_runs_gunicorn_with_several_workers(
    services: dict[str, dict[str, Any]],
) -> None:
    argv = argv_of(services["web"]["command"])

    assert Path(argv[0]).name == "gunicorn"
    assert int(option_value(argv, "--workers", "-w")) >= 2


def test_the_image_installs_the_lock_file_and_collects_static_files() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()

    assert re.search(r"^FROM python:3\.11-slim$", dockerfile, re.MULTILINE)
    assert re.search(r"^COPY requirements\.lock ", dockerfile, re.MULTILINE)
    assert re.search(r"pip install .*-r requirements\.lock", dockerfile)
    assert "manage.py collectstatic --noinput" in dockerfile
    assert_runs_project_code(["manage.py", "collectstatic"])


def test_the_image_copies_every_local_app() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    local_packages = {
        app.split(".")[0] for app in settings.INSTALLED_APPS if (ROOT / app.split(".")[0]).is_dir()
    }

    for package in sorted(local_packages):
        assert re.search(rf"^COPY {package}/ {package}/$", dockerfile, re.MULTILINE), package


def test_web_is_health_checked_on_readyz_and_the_worker_by_a_ping(
    services: dict[str, dict[str, Any]],
) -> None:
    probe = " ".join(argv_of(services["web"]["healthcheck"]["test"]))
    assert "http://127.0.0.1:8000/readyz" in probe
    assert "urlopen" in probe  # raises (exit 1) on a 503
    assert services["worker"]["healthcheck"]["test"]
