"""The production lock (requirements.lock, the image's) holds what production runs and
nothing else; the dev lock adds the tools on top of the very same pins."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
# Named even if pyproject's dev extra were to drop one, so the image can never regain them.
DEV_TOOLS = {
    "pytest", "pytest-django", "pytest-xdist", "factory-boy", "time-machine", "hypothesis",
    "ruff", "mypy", "django-stubs", "celery-types", "pyyaml", "playwright",
    "axe-playwright-python", "locust", "aiosmtpd", "gevent", "greenlet", "pypdf",
}


@dataclass(frozen=True)
class Pin:
    version: str
    hashes: int
    via: frozenset[str]


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_lock(path: Path) -> dict[str, Pin]:
    """`name==version \\ --hash=… # via a, b` entries of a `uv pip compile` lock."""
    pins: dict[str, Pin] = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", path.read_text()):
        header = re.match(r"([A-Za-z0-9._-]+)(?:\[[^\]]*\])?==(\S+)", block)
        if not header:
            continue
        via = re.findall(r"#\s+(?:via\s+)?([A-Za-z0-9._-]+)(?:\[[^\]]*\])?(?:\s+\(pyproject)?",
                         block.split("--hash", 1)[0] + block.rsplit("--hash", 1)[-1])
        pins[canonical(header[1])] = Pin(
            version=header[2], hashes=block.count("--hash=sha256:"),
            via=frozenset(canonical(name) for name in via if name != "via"),
        )
    return pins


@pytest.fixture(scope="module")
def production() -> dict[str, Pin]:
    return parse_lock(ROOT / "requirements.lock")


@pytest.fixture(scope="module")
def development() -> dict[str, Pin]:
    return parse_lock(ROOT / "requirements-dev.lock")


def project() -> dict[str, list[str]]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = lambda specs: [canonical(re.split(r"[\[<>=!~; ]", spec, maxsplit=1)[0])  # noqa: E731
                           for spec in specs]
    return {"runtime": names(data["dependencies"]),
            "dev": names(data["optional-dependencies"]["dev"])}


def test_the_production_lock_has_no_dev_package(production: dict[str, Pin]) -> None:
    dev = DEV_TOOLS | set(project()["dev"])

    assert len(production) > 30  # the parser found the lock's entries
    assert sorted(dev & set(production)) == []


def test_nothing_in_the_production_lock_is_there_for_a_dev_tool(
    production: dict[str, Pin],
) -> None:
    """Every entry is wanted by the project itself or by another production entry."""
    for name, pin in production.items():
        assert pin.via, name
        assert pin.via <= set(production) | {"lpo-tracker"}, (name, sorted(pin.via))


def test_every_pin_carries_its_hashes(production: dict[str, Pin],
                                      development: dict[str, Pin]) -> None:
    for name, pin in {**production, **development}.items():
        assert pin.hashes >= 1, name
    text = (ROOT / "requirements.lock").read_text()
    assert "--generate-hashes" in text.splitlines()[1]


def test_the_dev_lock_adds_tools_on_the_same_production_pins(
    production: dict[str, Pin], development: dict[str, Pin]
) -> None:
    for name in project()["runtime"]:
        assert name in production, f"{name} (pyproject dependency) is not in requirements.lock"
    for name in project()["dev"]:
        assert name in development, f"{name} (dev extra) is not in requirements-dev.lock"
    assert {name: development[name].version for name in production} == {
        name: pin.version for name, pin in production.items()
    }
