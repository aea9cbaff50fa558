"""The database checks every task status move against the state machine.

The allowed moves are generated from `matters.models.TASK_TRANSITIONS`, the one table the
services and `Task.save()` use, into a read-only view `lpo_task_transitions`; a trigger
refuses an UPDATE that changes `status` to a pair the view does not list (PostgreSQL and
SQLite). `tests/supervision/test_bypass_database.py` and `tests/core/test_sqlite_triggers.py`
compare the view with the Python table, so a change to the table without a new migration
regenerating the view fails the suite.
"""

from functools import partial

from django.db import migrations

from lpo_tracker.dbtriggers import run_forward, run_reverse, task_transitions_sql
from matters.models import TASK_TRANSITIONS

statements = partial(task_transitions_sql, transitions=TASK_TRANSITIONS)


class Migration(migrations.Migration):
    dependencies = [("matters", "0004_opened_on_firm_day")]

    operations = [migrations.RunPython(run_forward(statements), run_reverse(statements))]
