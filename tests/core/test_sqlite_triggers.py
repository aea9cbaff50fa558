"""The database's walls hold on the embedded default too: SQLite, no DATABASE_URL.

One child process migrates a fresh SQLite database under its own var dir and runs
tests/core/sqlite_attacks.py against it (the standard cast, then each raw-SQL attack); the
tests below read its report. SQLite has no TRUNCATE: its `DELETE FROM t` is what the
append-only triggers refuse.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from matters.models import TASK_TRANSITIONS
from tests.core.test_settings import run_python


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    home = tmp_path_factory.mktemp("embedded")
    migrated = run_python(home, {}, "manage.py", "migrate", "--noinput")
    assert migrated.returncode == 0, migrated.stderr
    finished = run_python(home, {}, "-m", "tests.core.sqlite_attacks")
    assert finished.returncode == 0, finished.stderr[-3000:]
    result: dict[str, Any] = json.loads(finished.stdout.strip().splitlines()[-1])
    result["home"] = str(home)
    return result


def test_sqlite_accepts_the_genuine_signoff(report: dict[str, Any]) -> None:
    assert report["genuine sign-off"] == "accepted"


@pytest.mark.parametrize(
    ("attack", "message"),
    [
        ("vendor user sign-off", "a vendor user cannot sign off"),
        ("wrong hash sign-off", "SHA-256 differs from the signed version"),
        ("foreign submission sign-off", "the signed version belongs to another task"),
        ("illegal move", "the task state machine does not allow this move"),
        ("new version of a delivered task", "takes no new version"),
        ("delete all of audit_auditevent", "rows of audit_auditevent are append-only"),
        ("delete all of supervision_submission", "rows of supervision_submission are append"),
        ("delete all of supervision_signoff", "rows of supervision_signoff are append-only"),
        ("rejected lot sign-off", "a sampled lot is signed off only with an accepted QC"),
        ("sample of legal judgment", "work that calls for legal judgment is never sampled"),
    ],
)
def test_sqlite_refuses(report: dict[str, Any], attack: str, message: str) -> None:
    assert message in report[attack]


def test_sqlite_allowed_moves_are_the_state_machine(report: dict[str, Any]) -> None:
    assert {tuple(pair) for pair in report["transitions"]} == {
        (str(old), str(new)) for old, new in TASK_TRANSITIONS}


def test_sqlite_raw_new_version_withdraws_the_approval(report: dict[str, Any]) -> None:
    assert report["approved task after a raw new version"] == ["submitted", None]


def test_sqlite_anchor_goes_to_a_file_under_the_var_dir(report: dict[str, Any]) -> None:
    assert report["anchor file"] == str(Path(report["home"]) / "var" / "audit-anchors.jsonl")
    assert report["anchor line"] is True


def test_sqlite_cut_chain_verifies_alone_but_not_against_its_anchor(
    report: dict[str, Any]
) -> None:
    assert report["chain ok before the attacks"] is True
    assert report["chain ok after the cut"] is True
    assert "is gone (the chain was cut)" in report["anchor check after the cut"]


def test_sqlite_forged_event_is_caught(report: dict[str, Any]) -> None:
    caught, reason = report["forged event"]
    assert caught and "does not match its hash" in reason
