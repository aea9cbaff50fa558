"""A due-diligence record is evidence: once saved, its vendor, kind, dates and evidence never
change, and a revocation is never undone (a renewal is a new record). The trigger holds for a
bulk `update()`, raw SQL and the admin alike."""

from django.db import migrations

from lpo_tracker.dbtriggers import frozen_columns_sql, run_forward, run_reverse

FROZEN = ("vendor_id", "kind", "valid_from", "expires_on", "evidence", "evidence_name",
          "evidence_sha256")
MESSAGE = ("a due-diligence record''s kind, dates and evidence are fixed once recorded; "
           "record a renewal instead")


def statements(vendor: str) -> tuple[list[str], list[str]]:
    return frozen_columns_sql(vendor, "vendors_duediligencerecord", FROZEN, MESSAGE,
                              set_once=("revoked_at",))


class Migration(migrations.Migration):
    dependencies = [("vendors", "0002_declared_on_firm_day")]

    operations = [migrations.RunPython(run_forward(statements), run_reverse(statements))]
