"""The database's walls around QC, and the built-in task type settings.

1. A sign-off of a sampled lot is refused unless it names an accepted QC result of the
   version it signs (`supervision_signoff.qc_result_id`).
2. A sample is refused for a task that calls for legal judgment, or a lot not sampled.
3. An accepted sample result is refused when its defects reach the sample's rejection number;
   a full re-review result is refused unless the sample was rejected and sent to one.
4. Lots, samples, checks, results and inspection switches are append-only (UPDATE and DELETE
   refused, TRUNCATE too on PostgreSQL).
5. Seeds `TaskTypeQc` (bulk work, legal judgment, default Z1.4 plan) and the defect
   categories of each bulk work type (`supervision.qc.rules`).

On SQLite, a later migration that rebuilds `supervision_signoff` must re-create the
`supervision_signoff_qc_guard` trigger (`all_statements("sqlite")`).
"""

from django.db import migrations

from lpo_tracker.dbtriggers import append_only_sql, refuse_truncate_sql, run_forward, run_reverse

EVIDENCE_TABLES = ("supervision_lot", "supervision_qcsample", "supervision_qccheck",
                   "supervision_qcresult", "supervision_inspectionswitch")

# (table, trigger, condition that refuses the row, message)
GUARDS = [
    (
        "supervision_signoff", "supervision_signoff_qc_guard",
        "EXISTS (SELECT 1 FROM supervision_lot l WHERE l.submission_id = NEW.submission_id "
        "AND l.sampled) AND NOT EXISTS (SELECT 1 FROM supervision_qcresult r "
        "WHERE r.id = NEW.qc_result_id AND r.submission_id = NEW.submission_id AND r.accepted)",
        "lpo: a sampled lot is signed off only with an accepted QC result",
    ),
    (
        "supervision_qcsample", "supervision_qcsample_guard",
        "EXISTS (SELECT 1 FROM supervision_lot l "
        "JOIN supervision_submission s ON s.id = l.submission_id "
        "JOIN matters_task t ON t.id = s.task_id "
        "WHERE l.id = NEW.lot_id AND (t.requires_legal_judgment OR NOT l.sampled))",
        "lpo: work that calls for legal judgment is never sampled",
    ),
    (
        "supervision_qcresult", "supervision_qcresult_guard",
        "(NEW.kind = 'sample' AND NEW.accepted AND EXISTS (SELECT 1 FROM supervision_qcsample q "
        "WHERE q.id = NEW.sample_id AND NEW.defects_found >= q.reject_number)) "
        "OR (NEW.kind = 'full_review' AND NOT EXISTS (SELECT 1 FROM supervision_qcresult r "
        "WHERE r.sample_id = NEW.sample_id AND r.kind = 'sample' AND NOT r.accepted "
        "AND r.disposition = 'full_review'))",
        "lpo: a QC result contradicts its sample",
    ),
]


def all_statements(vendor: str) -> tuple[list[str], list[str]]:
    forward: list[str] = []
    reverse: list[str] = []
    for table, name, condition, message in GUARDS:
        if vendor == "postgresql":
            forward += [
                f"""
                CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF {condition} THEN
                        RAISE EXCEPTION '{message}' USING ERRCODE = 'check_violation';
                    END IF;
                    RETURN NEW;
                END
                $$;
                """,
                f"CREATE TRIGGER {name} BEFORE INSERT ON {table} FOR EACH ROW "
                f"EXECUTE FUNCTION {name}();",
            ]
            reverse += [f"DROP TRIGGER IF EXISTS {name} ON {table};",
                        f"DROP FUNCTION IF EXISTS {name}();"]
        elif vendor == "sqlite":
            forward.append(f"CREATE TRIGGER {name} BEFORE INSERT ON {table} WHEN {condition} "
                           f"BEGIN SELECT RAISE(ABORT, '{message}'); END;")
            reverse.append(f"DROP TRIGGER IF EXISTS {name};")
        else:
            raise NotImplementedError(vendor)
    for table in EVIDENCE_TABLES:
        more_forward, more_reverse = append_only_sql(vendor, table)
        forward += more_forward
        reverse += more_reverse
        if vendor == "postgresql":
            more_forward, more_reverse = refuse_truncate_sql(vendor, table)
            forward += more_forward
            reverse += more_reverse
    return forward, reverse


def seed_defaults(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    from supervision.qc.rules import BULK_WORK, DEFAULT_CATEGORIES, LEGAL_JUDGMENT

    TaskTypeQc = apps.get_model("supervision", "TaskTypeQc")
    DefectCategory = apps.get_model("supervision", "DefectCategory")
    from lpo_tracker.fields import TaskType

    for task_type in TaskType.values:
        TaskTypeQc.objects.get_or_create(
            task_type=task_type,
            defaults={"is_bulk_work": task_type in BULK_WORK,
                      "calls_for_legal_judgment": task_type in LEGAL_JUDGMENT})
    for task_type, names in DEFAULT_CATEGORIES.items():
        for name in names:
            DefectCategory.objects.get_or_create(task_type=task_type, name=name)


class Migration(migrations.Migration):
    dependencies = [("supervision", "0017_qc_lots_sampling_defects")]

    operations = [
        migrations.RunPython(run_forward(all_statements), run_reverse(all_statements)),
        migrations.RunPython(seed_defaults, migrations.RunPython.noop),
    ]
