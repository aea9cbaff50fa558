"""The database refuses forged sign-offs and stale approvals, and TRUNCATE of evidence.

1. A sign-off row is accepted only if its version belongs to its task, its SHA-256 is that
   version's, its review is of that version, and its attorney has an attorney profile, is not
   a vendor user, and owns the bar admission relied on. A raw INSERT is checked like the
   service's write.
2. A new version of an approved task withdraws the approval (the task returns to submitted,
   its sign-off reference cleared), so an INSERT behind the services' back cannot leave the
   old approval standing; a delivered or cancelled task takes no new version at all.
3. TRUNCATE of submissions and sign-offs is refused (statement-level trigger, PostgreSQL).
"""

from django.db import migrations

from lpo_tracker.dbtriggers import refuse_truncate_sql, run_forward, run_reverse

# (condition that makes the row a forgery, message). Shared by both vendors' triggers.
SIGNOFF_FORGERIES = [
    (
        "EXISTS (SELECT 1 FROM vendors_vendoruser v WHERE v.user_id = NEW.attorney_id)",
        "lpo: a vendor user cannot sign off",
    ),
    (
        "NOT EXISTS (SELECT 1 FROM supervision_attorneyprofile p "
        "WHERE p.user_id = NEW.attorney_id)",
        "lpo: only an attorney with an attorney profile can sign off",
    ),
    (
        "NOT EXISTS (SELECT 1 FROM supervision_baradmission b "
        "JOIN supervision_attorneyprofile p ON p.id = b.attorney_id "
        "WHERE b.id = NEW.bar_admission_id AND p.user_id = NEW.attorney_id)",
        "lpo: the bar admission relied on does not belong to the signing attorney",
    ),
    (
        "NOT EXISTS (SELECT 1 FROM supervision_submission s "
        "WHERE s.id = NEW.submission_id AND s.task_id = NEW.task_id)",
        "lpo: the signed version belongs to another task",
    ),
    (
        "NOT EXISTS (SELECT 1 FROM supervision_submission s "
        "WHERE s.id = NEW.submission_id AND s.sha256 = NEW.sha256)",
        "lpo: the sign-off SHA-256 differs from the signed version",
    ),
    (
        "NOT EXISTS (SELECT 1 FROM supervision_review r "
        "WHERE r.id = NEW.review_id AND r.submission_id = NEW.submission_id)",
        "lpo: the sign-off review is of another version",
    ),
]

CLOSED_TO_NEW_VERSIONS = "('delivered', 'cancelled')"
_CLOSED_TASK = (
    "EXISTS (SELECT 1 FROM matters_task t WHERE t.id = NEW.task_id "
    f"AND t.status IN {CLOSED_TO_NEW_VERSIONS})"
)
_CLOSED_MESSAGE = "lpo: a delivered or cancelled task takes no new version"
_WITHDRAW_APPROVAL = (
    "UPDATE matters_task SET status = 'submitted', approved_signoff_id = NULL, "
    "approved_at = NULL WHERE id = NEW.task_id AND status = 'approved';"
)


def _postgresql() -> tuple[list[str], list[str]]:
    checks = "\n".join(
        f"IF {condition} THEN RAISE EXCEPTION '{message} (sign-off of task %)', NEW.task_id "
        "USING ERRCODE = 'check_violation'; END IF;"
        for condition, message in SIGNOFF_FORGERIES
    )
    return (
        [
            f"""
            CREATE OR REPLACE FUNCTION lpo_signoff_forgery_guard() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                {checks}
                RETURN NEW;
            END
            $$;
            """,
            "CREATE TRIGGER supervision_signoff_forgery_guard BEFORE INSERT ON "
            "supervision_signoff FOR EACH ROW EXECUTE FUNCTION lpo_signoff_forgery_guard();",
            f"""
            CREATE OR REPLACE FUNCTION lpo_submission_closed_guard() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                IF {_CLOSED_TASK} THEN
                    RAISE EXCEPTION '{_CLOSED_MESSAGE} (task %)', NEW.task_id
                        USING ERRCODE = 'check_violation';
                END IF;
                RETURN NEW;
            END
            $$;
            """,
            "CREATE TRIGGER supervision_submission_closed_guard BEFORE INSERT ON "
            "supervision_submission FOR EACH ROW EXECUTE FUNCTION "
            "lpo_submission_closed_guard();",
            f"""
            CREATE OR REPLACE FUNCTION lpo_submission_withdraws_approval() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                {_WITHDRAW_APPROVAL}
                RETURN NULL;
            END
            $$;
            """,
            "CREATE TRIGGER supervision_submission_withdraws_approval AFTER INSERT ON "
            "supervision_submission FOR EACH ROW EXECUTE FUNCTION "
            "lpo_submission_withdraws_approval();",
        ],
        [
            "DROP TRIGGER IF EXISTS supervision_signoff_forgery_guard ON supervision_signoff;",
            "DROP FUNCTION IF EXISTS lpo_signoff_forgery_guard();",
            "DROP TRIGGER IF EXISTS supervision_submission_closed_guard "
            "ON supervision_submission;",
            "DROP FUNCTION IF EXISTS lpo_submission_closed_guard();",
            "DROP TRIGGER IF EXISTS supervision_submission_withdraws_approval "
            "ON supervision_submission;",
            "DROP FUNCTION IF EXISTS lpo_submission_withdraws_approval();",
        ],
    )


def _sqlite() -> tuple[list[str], list[str]]:
    checks = " ".join(
        f"SELECT RAISE(ABORT, '{message}') WHERE {condition};"
        for condition, message in SIGNOFF_FORGERIES
    )
    return (
        [
            "CREATE TRIGGER supervision_signoff_forgery_guard BEFORE INSERT ON "
            f"supervision_signoff BEGIN {checks} END;",
            "CREATE TRIGGER supervision_submission_closed_guard BEFORE INSERT ON "
            f"supervision_submission WHEN {_CLOSED_TASK} "
            f"BEGIN SELECT RAISE(ABORT, '{_CLOSED_MESSAGE}'); END;",
            "CREATE TRIGGER supervision_submission_withdraws_approval AFTER INSERT ON "
            f"supervision_submission BEGIN {_WITHDRAW_APPROVAL} END;",
        ],
        [
            "DROP TRIGGER IF EXISTS supervision_signoff_forgery_guard;",
            "DROP TRIGGER IF EXISTS supervision_submission_closed_guard;",
            "DROP TRIGGER IF EXISTS supervision_submission_withdraws_approval;",
        ],
    )


def all_statements(vendor: str) -> tuple[list[str], list[str]]:
    if vendor == "postgresql":
        forward, reverse = _postgresql()
    elif vendor == "sqlite":
        forward, reverse = _sqlite()
    else:
        raise NotImplementedError(vendor)
    for table in ("supervision_submission", "supervision_signoff"):
        more_forward, more_reverse = refuse_truncate_sql(vendor, table)
        forward += more_forward
        reverse += more_reverse
    return forward, reverse


class Migration(migrations.Migration):
    dependencies = [
        ("supervision", "0004_review_reminder_offsets"),
        ("vendors", "0001_initial"),
        ("matters", "0005_task_transition_trigger"),
    ]

    operations = [migrations.RunPython(run_forward(all_statements), run_reverse(all_statements))]
