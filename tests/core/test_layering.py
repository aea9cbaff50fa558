"""The layering of docs/architecture.md, checked on every import (module level or not):
each app imports only the apps below it, so no rule can end up with two homes by a cycle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = ("lpo_tracker", "vendors", "matters", "supervision")
MAY_IMPORT = {
    "lpo_tracker": set(),
    "vendors": {"lpo_tracker"},
    "matters": {"vendors", "lpo_tracker"},
    "supervision": {"matters", "vendors", "lpo_tracker"},
}


def imported_apps(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return {name.split(".")[0] for name in names} & set(APPS)


def app_modules(app: str) -> list[Path]:
    return [p for p in sorted((ROOT / app).rglob("*.py")) if "migrations" not in p.parts]


@pytest.mark.parametrize("app", APPS)
def test_an_app_imports_only_the_apps_below_it(app: str) -> None:
    wrong = {
        str(path.relative_to(ROOT)): sorted(imported_apps(path) - MAY_IMPORT[app] - {app})
        for path in app_modules(app)
    }
    assert {module: apps for module, apps in wrong.items() if apps} == {}


def test_the_check_sees_a_wrong_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from supervision.models import SignOff\n")
    assert imported_apps(module) == {"supervision"}
