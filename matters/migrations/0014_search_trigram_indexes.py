"""The header search (matters/search.py): pg_trgm and one GIN trigram index per searched
column, on PostgreSQL only. Each index serves both the substring match (`ILIKE '%term%'`) and
the trigram word match (`%>`). SQLite (`make run`) has neither and searches by a plain scan.

The vendors' name columns are indexed here too: the search is this app's, and vendors may
not depend on it.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

# (index name, table, column expression)
INDEXES = [
    ("search_matter_number_trgm", "matters_matter", "number"),
    ("search_matter_title_trgm", "matters_matter", "title"),
    ("search_client_name_trgm", "matters_client", "name"),
    ("search_client_code_trgm", "matters_client", "code"),
    ("search_party_name_trgm", "matters_party", "name"),
    ("search_party_aliases_trgm", "matters_party", "(aliases::text)"),
    ("search_task_title_trgm", "matters_task", "title"),
    ("search_vendor_name_trgm", "vendors_vendor", "name"),
    ("search_vendor_legal_name_trgm", "vendors_vendor", "legal_name"),
]


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, table, column in INDEXES:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ({column} gin_trgm_ops)"
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _column in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):

    dependencies = [
        ("matters", "0013_task_templates_from_the_old_list"),
        ("vendors", "0003_diligence_evidence_frozen"),
    ]

    operations = [
        TrigramExtension(),
        migrations.RunPython(create_indexes, drop_indexes),
    ]
