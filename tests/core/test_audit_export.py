"""The audit CSV: readable in Excel, names next to ids, and re-verifiable from the file alone
with the standalone script `lpo_tracker/audit/chain.py` (standard library only)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client

from lpo_tracker.audit.chain import CSV_COLUMNS
from lpo_tracker.audit.models import AuditEvent
from matters.models import TaskStatus
from supervision.models import SignOff
from tests.conftest import Cast
from tests.exports import body

pytestmark = pytest.mark.django_db

SCRIPT = Path(settings.BASE_DIR) / "lpo_tracker" / "audit" / "chain.py"


def export(cast: Cast, user: object, tmp_path: Path, name: str = "trail.csv") -> Path:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    response = client.get(f"/matters/{cast.matter.pk}/audit/export/",
                          {"start": "2000-01-01", "end": "2100-01-01"})
    assert response.status_code == 200
    path = tmp_path / name
    path.write_bytes(body(response))
    return path


def matter_key_args(cast: Cast) -> list[str]:
    out = io.StringIO()
    call_command("audit_matter_key", cast.matter.number, stdout=out)
    return out.getvalue().split()


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    """A clean interpreter without site-packages (-I -S): proof the script needs nothing
    beyond the standard library, as on an auditor's machine."""
    return subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-I", "-S", str(SCRIPT), *args],
        capture_output=True, text=True, timeout=120, check=False,
    )


def rows_of(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as stream:
        return list(csv.DictReader(stream))


def rewrite(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture
def delivered(cast: Cast) -> Cast:
    cast.advance(cast.task, TaskStatus.DELIVERED)
    # A title that a spreadsheet would run as a formula: escaped, and still verifiable.
    cast.new_task(title="=HYPERLINK(\"http://evil.example\")")
    return cast


def test_export_is_utf8_with_a_bom_and_json_with_names_next_to_ids(
    delivered: Cast, tmp_path: Path
) -> None:
    path = export(delivered, delivered.staff_on, tmp_path)

    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    rows = {row["action"]: row for row in rows_of(path)}
    signed = json.loads(rows["signoff.recorded"]["after"])
    signoff = SignOff.objects.select_related("bar_admission").get()
    assert signed["attorney"] == delivered.attorney.pk
    assert signed["attorney_name"] == (delivered.attorney.get_full_name()
                                       or delivered.attorney.username)
    assert (signed["bar_jurisdiction"], signed["bar_number"]) == (
        signoff.bar_admission.jurisdiction, signoff.bar_admission.number)
    assert signed["attestation_text"] == signoff.attestation_text
    assert signed["vendor_name"] == "Ashoka Legal Process"
    assert json.loads(rows["task.assigned"]["after"])["vendor_name"] == "Ashoka Legal Process"
    assert rows["task.created"]["object_repr"].startswith("'=")  # opens as text in Excel


def test_exported_trail_verifies_with_the_matter_key_alone(
    delivered: Cast, tmp_path: Path
) -> None:
    path = export(delivered, delivered.staff_on, tmp_path)

    finished = run_script(str(path), *matter_key_args(delivered))

    assert finished.returncode == 0, finished.stdout + finished.stderr
    events = AuditEvent.objects.filter(matter_id=delivered.matter.pk).count()
    assert f"OK: {events} events verified, 0 withheld" in finished.stdout
    assert "from the matter's first event" in finished.stdout


def test_the_firm_verifies_an_export_with_the_chain_key(delivered: Cast, tmp_path: Path) -> None:
    path = export(delivered, delivered.staff_on, tmp_path)
    key_id = settings.AUDIT_HMAC_KEY_ID

    finished = run_script(str(path), "--chain-key",
                          f"{key_id}={settings.AUDIT_HMAC_KEYS[key_id]}")

    assert finished.returncode == 0, finished.stdout


def test_an_edited_cell_is_caught(delivered: Cast, tmp_path: Path) -> None:
    path = export(delivered, delivered.staff_on, tmp_path)
    rows = rows_of(path)
    signed = next(row for row in rows if row["action"] == "signoff.recorded")
    signed["after"] = signed["after"].replace('"status": "approved"',
                                              '"status": "approved", "note": "added later"')
    rewrite(path, rows)

    finished = run_script(str(path), *matter_key_args(delivered))

    assert finished.returncode == 1
    assert f"(event {signed['id']}): its content does not match its matter hash" in (
        finished.stdout)


def test_a_removed_row_is_caught(delivered: Cast, tmp_path: Path) -> None:
    path = export(delivered, delivered.staff_on, tmp_path)
    rows = rows_of(path)
    removed = next(index for index, row in enumerate(rows) if row["action"] == "task.started")
    del rows[removed]
    rewrite(path, rows)

    finished = run_script(str(path), *matter_key_args(delivered))

    assert finished.returncode == 1
    assert f"(event {rows[removed]['id']}): its link to the previous row is broken" in (
        finished.stdout)


def test_a_wrong_key_verifies_nothing(delivered: Cast, tmp_path: Path) -> None:
    path = export(delivered, delivered.staff_on, tmp_path)
    key_id = settings.AUDIT_HMAC_KEY_ID

    finished = run_script(str(path), "--matter-key", f"{key_id}={'ab' * 32}")

    assert finished.returncode == 1
    assert "does not match its matter hash" in finished.stdout


def test_a_supervisors_export_withholds_wall_events_and_still_verifies(
    delivered: Cast, tmp_path: Path
) -> None:
    path = export(delivered, delivered.attorney, tmp_path)
    text = path.read_text(encoding="utf-8-sig")
    assert "Former counsel to the adverse party" not in text
    assert "wall.added" not in text

    finished = run_script(str(path), *matter_key_args(delivered))

    assert finished.returncode == 0, finished.stdout
    assert "1 withheld" in finished.stdout


def test_the_exports_head_is_the_head_the_firm_sees(delivered: Cast, tmp_path: Path) -> None:
    """Nothing cut from the end: the file's last matter hash is the matter chain's head."""
    path = export(delivered, delivered.staff_on, tmp_path)
    out = io.StringIO()
    call_command("verify_audit", matter=delivered.matter.number, stdout=out)

    finished = run_script(str(path), *matter_key_args(delivered))

    file_head = finished.stdout.strip().rsplit("head ", 1)[1]
    assert f"head {file_head}." in out.getvalue()
