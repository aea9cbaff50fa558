"""The database's own walls around sign-off.

1. Submissions and sign-offs are append-only (UPDATE and DELETE refused).
2. A task row can be approved or delivered only if `approved_signoff_id` names a sign-off of
   this very task that covers its latest submitted version. This holds against a bulk
   `update()`, raw SQL and `loaddata`, none of which run model code.
"""

from django.db import migrations

from lpo_tracker.dbtriggers import append_only_sql, run_forward, run_reverse

_SIGNED_BY_LATEST = """
    EXISTS (
        SELECT 1 FROM supervision_signoff s
        WHERE s.id = NEW.approved_signoff_id
          AND s.task_id = NEW.id
          AND s.submission_id = (
              SELECT sub.id FROM supervision_submission sub
              WHERE sub.task_id = NEW.id ORDER BY sub.version DESC LIMIT 1
          )
    )
"""

_MESSAGE = "lpo: an approved or delivered task needs a sign-off of its latest version"


def task_guard_sql(vendor: str) -> tuple[list[str], list[str]]:
    if vendor == "postgresql":
        return (
            [
                f"""
                CREATE OR REPLACE FUNCTION lpo_task_signoff_guard() RETURNS trigger
                LANGUAGE plpgsql AS $$
                BEGIN
                    IF NEW.status IN ('approved', 'delivered') AND NOT {_SIGNED_BY_LATEST} THEN
                        RAISE EXCEPTION '{_MESSAGE} (task %, status %)', NEW.id, NEW.status
                            USING ERRCODE = 'check_violation';
                    END IF;
                    RETURN NEW;
                END
                $$;
                """,
                "CREATE TRIGGER matters_task_signoff_guard BEFORE INSERT OR UPDATE ON "
                "matters_task FOR EACH ROW EXECUTE FUNCTION lpo_task_signoff_guard();",
            ],
            [
                "DROP TRIGGER IF EXISTS matters_task_signoff_guard ON matters_task;",
                "DROP FUNCTION IF EXISTS lpo_task_signoff_guard();",
            ],
        )
    if vendor == "sqlite":
        return (
            [
                f"CREATE TRIGGER matters_task_signoff_guard_{event.lower()} BEFORE {event} "
                f"ON matters_task WHEN NEW.status IN ('approved', 'delivered') "
                f"AND NOT {_SIGNED_BY_LATEST} BEGIN SELECT RAISE(ABORT, '{_MESSAGE}'); END;"
                for event in ("INSERT", "UPDATE")
            ],
            [
                "DROP TRIGGER IF EXISTS matters_task_signoff_guard_insert;",
                "DROP TRIGGER IF EXISTS matters_task_signoff_guard_update;",
            ],
        )
    raise NotImplementedError(vendor)


def all_statements(vendor: str) -> tuple[list[str], list[str]]:
    forward: list[str] = []
    reverse: list[str] = []
    for table in ("supervision_submission", "supervision_signoff"):
        f, r = append_only_sql(vendor, table)
        forward += f
        reverse += r
    f, r = task_guard_sql(vendor)
    return forward + f, reverse + r


class Migration(migrations.Migration):
    dependencies = [
        ("supervision", "0001_initial"),
        ("matters", "0002_initial"),
    ]

    operations = [migrations.RunPython(run_forward(all_statements), run_reverse(all_statements))]
