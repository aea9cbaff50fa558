"""The embedded default (SQLite, `make run` without DATABASE_URL) has the same evidence
triggers as PostgreSQL: a due-diligence record's dates and evidence are fixed, a revocation is
never undone, and the openings a sign-off relies on carry the append-only triggers.

One fresh interpreter migrates a throwaway SQLite database and tries each change by SQL.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.core.test_settings import run_python

ATTEMPTS = """
import json, django
django.setup()
from django.core.management import call_command
from django.db import IntegrityError, connection
call_command("migrate", verbosity=0)
assert connection.vendor == "sqlite"
statements = {
    "notes": "UPDATE vendors_duediligencerecord SET notes = 'ok' WHERE id = 1",
    "expiry": "UPDATE vendors_duediligencerecord SET expires_on = '2099-12-31' WHERE id = 1",
    "evidence": "UPDATE vendors_duediligencerecord SET evidence_sha256 = 'f' WHERE id = 1",
    "revoke": "UPDATE vendors_duediligencerecord SET revoked_at = '2026-01-02' WHERE id = 1",
    "unrevoke": "UPDATE vendors_duediligencerecord SET revoked_at = NULL WHERE id = 1",
}
with connection.cursor() as cursor:
    cursor.execute("INSERT INTO vendors_vendor (name, legal_name, status, status_reason, "
                   "headquarters_country, countries, service_lines, time_zone, website, "
                   "primary_contact_name, primary_contact_email, notes, created_at, "
                   "updated_at) VALUES ('V', '', 'approved', '', 'IN', '[]', '[]', 'UTC', "
                   "'', '', '', '', '2026-01-01', '2026-01-01')")
    cursor.execute("INSERT INTO vendors_duediligencerecord (vendor_id, kind, reference, "
                   "issuer, valid_from, expires_on, evidence, evidence_name, "
                   "evidence_sha256, notes, recorded_at) VALUES (1, 'nda', '', '', "
                   "'2025-01-01', '2026-01-01', 'diligence/1/a', 'nda.pdf', 'e', '', "
                   "'2026-01-01')")
outcome = {}
for name, sql in statements.items():
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
        outcome[name] = "accepted"
    except IntegrityError as exc:
        outcome[name] = str(exc)
with connection.cursor() as cursor:
    cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                   "AND tbl_name = 'supervision_submissionopening' ORDER BY name")
    outcome["opening_triggers"] = [row[0] for row in cursor.fetchall()]
print(json.dumps(outcome))
"""


def test_sqlite_refuses_what_postgresql_refuses(tmp_path: Path) -> None:
    finished = run_python(tmp_path, {}, "-c", ATTEMPTS)
    assert finished.returncode == 0, finished.stderr
    outcome = json.loads(finished.stdout.strip().splitlines()[-1])

    assert outcome["notes"] == outcome["revoke"] == "accepted"
    for change in ("expiry", "evidence", "unrevoke"):
        assert "kind, dates and evidence are fixed once recorded" in outcome[change], change
    assert outcome["opening_triggers"] == [
        "supervision_submissionopening_append_only_delete",
        "supervision_submissionopening_append_only_update",
    ]
