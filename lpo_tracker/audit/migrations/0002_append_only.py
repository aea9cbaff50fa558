from functools import partial

from django.db import migrations

from lpo_tracker.dbtriggers import append_only_sql, run_forward, run_reverse

statements = partial(append_only_sql, table="audit_auditevent")


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(run_forward(statements), run_reverse(statements))]
