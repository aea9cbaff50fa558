"""TRUNCATE of the audit trail is refused (a statement-level trigger, PostgreSQL)."""

from functools import partial

from django.db import migrations

from lpo_tracker.dbtriggers import refuse_truncate_sql, run_forward, run_reverse

statements = partial(refuse_truncate_sql, table="audit_auditevent")


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_keyed_chain")]

    operations = [migrations.RunPython(run_forward(statements), run_reverse(statements))]
