"""The review queue's cache version: one row, bumped by triggers on every table a cached
queue page depends on (lpo_tracker.dbtriggers.version_bump_sql)."""

from django.db import migrations, models

from lpo_tracker.dbtriggers import run_forward, run_reverse, version_bump_sql

VERSION_TABLE = "supervision_reviewqueueversion"
TABLES: dict[str, tuple[str, ...]] = {
    "matters_task": ("INSERT", "UPDATE", "DELETE"),
    "supervision_submission": ("INSERT",),  # append-only
    "matters_matter": ("INSERT", "UPDATE", "DELETE"),
    "matters_client": ("UPDATE",),
    "matters_engagement": ("INSERT", "UPDATE", "DELETE"),
    "vendors_vendor": ("UPDATE",),
    "matters_matteruserobjectpermission": ("INSERT", "UPDATE", "DELETE"),
    "matters_mattergroupobjectpermission": ("INSERT", "UPDATE", "DELETE"),
    "matters_ethicalwall": ("INSERT", "UPDATE", "DELETE"),
    "auth_user_groups": ("INSERT", "UPDATE", "DELETE"),
}


def statements(vendor: str) -> tuple[list[str], list[str]]:
    return version_bump_sql(vendor, VERSION_TABLE, TABLES)


def first_row(apps, schema_editor):  # type: ignore[no-untyped-def]
    apps.get_model("supervision", "ReviewQueueVersion").objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [
        ("supervision", "0007_access_changed_notices"),
        ("matters", "0007_task_awaiting_review_idx"),
        ("vendors", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.CreateModel(
            name="ReviewQueueVersion",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                           verbose_name="ID")),
                ("version", models.BigIntegerField(default=0)),
            ],
        ),
        migrations.RunPython(first_row, migrations.RunPython.noop),
        migrations.RunPython(run_forward(statements), run_reverse(statements)),
    ]
