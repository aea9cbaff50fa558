"""docker-compose.yml and its Dockerfile describe a stack this project can actually run.

There is no Docker engine in CI, so every command a service runs is resolved against the
code instead: Celery's `-A` app, gunicorn's WSGI callable (from gunicorn.conf.py), `manage.py`
sub-commands; and the proxy's and scanner's configuration is checked against the app's.
"""

from __future__ import annotations

import fnmatch
import importlib
import ipaddress
import re
import runpy
import shlex
import subprocess
import sys
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


def gunicorn_conf(argv: list[str]) -> dict[str, Any]:
    """The settings of the config file a gunicorn command names (`-c`/`--config`)."""
    return runpy.run_path(str(ROOT / option_value(argv, "-c", "--config")))


def assert_runs_project_code(argv: list[str]) -> None:
    """Fail unless `argv` names a Celery app, WSGI callable or management command we have."""
    program = Path(argv[0]).name
    if program == "celery":
        app = find_app(option_value(argv, "-A", "--app"))
        assert isinstance(app, Celery), f"{argv}: -A does not name a Celery app"
        assert {"worker", "beat"} & set(argv), f"{argv}: neither worker nor beat"
    elif program == "gunicorn":
        targets = [part for part in argv[1:] if ":" in part and not part.startswith("-")]
        target = targets[0] if targets else gunicorn_conf(argv)["wsgi_app"]
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
    conf = gunicorn_conf(argv)

    assert Path(argv[0]).name == "gunicorn"
    assert conf["workers"] >= 2
    assert conf["bind"] == "0.0.0.0:8000"


def test_gunicorn_believes_forwarded_headers_from_the_apps_proxies_only(
    monkeypatch: pytest.MonkeyPatch, services: dict[str, dict[str, Any]]
) -> None:
    proxies = services["web"]["environment"]["TRUSTED_PROXIES"]
    monkeypatch.setenv("TRUSTED_PROXIES", proxies)

    assert runpy.run_path(str(ROOT / "gunicorn.conf.py"))["forwarded_allow_ips"] == proxies


def test_gunicorn_accepts_its_config_file_and_loads_the_app(tmp_path: Path) -> None:
    """gunicorn's own check: the file parses, every setting is valid, the WSGI app imports."""
    finished = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--check-config", "--config", "gunicorn.conf.py"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "lpo_tracker.settings",
             "LPO_VAR_DIR": str(tmp_path / "var")},
    )

    assert finished.returncode == 0, finished.stderr


# --- The image -----------------------------------------------------------------------------


def dockerfile_stages() -> dict[str, list[str]]:
    """Each stage's instructions (continuation lines joined), by the stage's name."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    stages: dict[str, list[str]] = {}
    current: list[str] = []
    for line in text.splitlines():
        if match := re.match(r"FROM (\S+) AS (\w+)$", line):
            current = stages.setdefault(match[2], [f"FROM {match[1]}"])
        elif line.strip() and not line.startswith("#"):
            current.append(line.strip())
    return stages


def test_the_image_is_built_in_stages_and_ships_only_the_production_lock() -> None:
    stages = dockerfile_stages()
    build, app = "\n".join(stages["build"]), "\n".join(stages["app"])

    assert list(stages)[-1] == "app"  # the default target: what `docker build .` produces
    assert stages["build"][0] == stages["app"][0] == "FROM python:3.11-slim"
    assert re.search(r"^COPY requirements\.lock ", build, re.MULTILINE)
    assert re.search(r"uv pip install .*--require-hashes .*-r \S*requirements\.lock", build)
    # The final stage installs nothing: it copies the built virtualenv.
    assert "COPY --from=build /opt/venv /opt/venv" in app
    assert not re.search(r"pip install|requirements", app)
    # Its one system install: Pango and the fonts of the supervision file's PDF report.
    installs = re.findall(r"apt-get install -y --no-install-recommends ([^&]+)", app)
    assert [set(i.split()) for i in installs] == [
        {"libpango-1.0-0", "libpangoft2-1.0-0", "fonts-dejavu-core"}]
    assert "manage.py collectstatic --noinput" in app
    assert_runs_project_code(["manage.py", "collectstatic"])


def test_the_image_runs_as_a_user_and_checks_its_health() -> None:
    app = dockerfile_stages()["app"]
    user = [line.split()[1] for line in app if line.startswith("USER ")]
    [healthcheck] = [line for line in app if line.startswith("HEALTHCHECK ")]

    assert user and user[-1] not in ("root", "0")
    assert healthcheck.endswith('CMD ["python", "-m", "lpo_tracker.healthprobe"]')
    assert importlib.util.find_spec("lpo_tracker.healthprobe") is not None


def test_the_proxy_and_scanner_stages_use_debians_packages() -> None:
    stages = dockerfile_stages()

    assert stages["proxy"][0] == stages["clamav"][0] == "FROM debian:bookworm-slim"
    assert any("apt-get install" in line and " nginx" in line for line in stages["proxy"])
    assert "COPY deploy/nginx.conf /etc/nginx/nginx.conf" in stages["proxy"]
    assert any("apt-get install" in line and "clamav-daemon" in line
               for line in stages["clamav"])
    assert "COPY deploy/clamd.conf /etc/clamav/clamd.conf" in stages["clamav"]


def dockerignore() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def ignored(path: str, patterns: list[str]) -> bool:
    parts = Path(path.rstrip("/")).parts
    return any(
        fnmatch.fnmatch(path.rstrip("/"), pattern.rstrip("/"))
        or fnmatch.fnmatch(parts[0], pattern.rstrip("/"))
        for pattern in patterns
    )


def test_the_build_context_leaves_out_the_venv_demo_data_tests_and_git() -> None:
    patterns = dockerignore()

    for path in (".venv", "var", "var/lpo_tracker.sqlite3", ".git", "tests",
                 "test-artifacts", "staticfiles", "requirements-dev.lock"):
        assert ignored(path, patterns), path


def test_everything_the_dockerfile_copies_is_in_the_build_context() -> None:
    patterns = dockerignore()
    sources = [
        source
        for stage in dockerfile_stages().values()
        for line in stage
        if line.startswith("COPY ") and "--from=" not in line
        for source in line.split()[1:-1]
    ]

    assert "gunicorn.conf.py" in sources
    for source in sources:
        assert (ROOT / source).exists(), source
        assert not ignored(source, patterns), f"{source} is excluded by .dockerignore"


def test_the_image_copies_every_local_app() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    local_packages = {
        app.split(".")[0] for app in settings.INSTALLED_APPS if (ROOT / app.split(".")[0]).is_dir()
    }

    for package in sorted(local_packages):
        assert re.search(rf"^COPY {package}/ {package}/$", dockerfile, re.MULTILINE), package


# --- The reverse proxy ----------------------------------------------------------------------


def nginx_directives() -> dict[str, list[str]]:
    """Every `name value;` of deploy/nginx.conf, by name (comments dropped)."""
    text = re.sub(r"#[^\n]*", "", (ROOT / "deploy/nginx.conf").read_text())
    found: dict[str, list[str]] = {}
    for name, value in re.findall(r"^\s*([a-z_0-9]+)\s+([^;{]*);", text, re.MULTILINE):
        found.setdefault(name, []).append(" ".join(value.split()))
    return found


def test_only_the_proxy_is_published_and_it_terminates_tls(
    services: dict[str, dict[str, Any]],
) -> None:
    nginx = nginx_directives()

    assert set(services["proxy"]["ports"]) == {"80:80", "443:443"}
    assert [name for name, service in services.items()
            if service.get("ports") and name != "proxy"] == []
    assert services["proxy"]["build"]["target"] == "proxy"
    assert "443 ssl http2 default_server" in nginx["listen"]
    assert nginx["ssl_certificate"] == ["/etc/nginx/tls/fullchain.pem"]
    assert nginx["ssl_protocols"] == ["TLSv1.2 TLSv1.3"]
    assert "https://$host$request_uri" in nginx["return"][0]
    assert any(volume.endswith(":/etc/nginx/tls:ro") for volume in services["proxy"]["volumes"])


def test_the_proxy_refuses_and_buffers_bodies_as_the_app_does(
    services: dict[str, dict[str, Any]],
) -> None:
    nginx = nginx_directives()
    upload_mb = int(services["web"]["environment"]["MAX_UPLOAD_MB"])

    assert nginx["client_max_body_size"] == [f"{upload_mb + 1}m"]
    assert (upload_mb + 1) * 1024 * 1024 == settings.MAX_REQUEST_BYTES  # the app's default
    assert nginx["proxy_request_buffering"] == ["on"]
    assert nginx["proxy_pass"] == ["http://app"]
    assert nginx["server"] == ["web:8000"]


def test_the_app_trusts_forwarded_addresses_from_the_proxy_alone(
    compose: dict[str, Any], services: dict[str, dict[str, Any]],
) -> None:
    nginx = nginx_directives()
    proxy_address = services["proxy"]["networks"]["edge"]["ipv4_address"]
    [subnet] = compose["networks"]["edge"]["ipam"]["config"]

    assert services["web"]["environment"]["TRUSTED_PROXIES"] == proxy_address
    assert ipaddress.ip_address(proxy_address) in ipaddress.ip_network(subnet["subnet"])
    assert "edge" in services["web"]["networks"]
    # nginx overwrites what the app trusts; X-Forwarded-For gets the peer it saw appended.
    headers = dict(value.split(" ", 1) for value in nginx["proxy_set_header"])
    assert headers["X-Forwarded-Proto"] == "https"
    assert headers["X-Forwarded-For"] == "$proxy_add_x_forwarded_for"


# --- The malware scanner --------------------------------------------------------------------


def test_every_app_service_scans_with_the_clamav_service(
    services: dict[str, dict[str, Any]],
) -> None:
    clamd = dict(line.split(" ", 1) for line in (ROOT / "deploy/clamd.conf").read_text(
    ).splitlines() if line.strip() and not line.startswith("#"))
    upload_mb = int(services["web"]["environment"]["MAX_UPLOAD_MB"])

    for name in APP_SERVICES:
        assert services[name]["environment"]["CLAMAV_ADDRESS"] == (
            f"tcp://clamav:{clamd['TCPSocket']}"), name
    assert services["clamav"]["build"]["target"] == "clamav"
    assert any(volume.endswith(":/var/lib/clamav") for volume in services["clamav"]["volumes"])
    # clamd must take a whole upload in one stream, or it answers "size limit exceeded".
    assert int(clamd["StreamMaxLength"].rstrip("M")) > upload_mb
    assert services["web"]["depends_on"]["clamav"]["condition"] == "service_started"
def test_web_is_health_checked_on_readyz_and_the_worker_by_a_ping(
    services: dict[str, dict[str, Any]],
) -> None:
    probe = " ".join(argv_of(services["web"]["healthcheck"]["test"]))
    assert "http://127.0.0.1:8000/readyz" in probe
    assert "urlopen" in probe  # raises (exit 1) on a 503
    assert services["worker"]["healthcheck"]["test"]
