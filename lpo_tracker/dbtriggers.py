"""Database triggers that make evidence append-only, on PostgreSQL and SQLite alike.

Used from migrations. A trigger is the last wall: it holds for a bulk `update()`, a raw SQL
statement, a fixture load and a shell session, which all bypass the model layer.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

_PG_REFUSE_FUNCTION = """
CREATE OR REPLACE FUNCTION lpo_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'lpo: rows of % are append-only; % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END
$$;
"""


def append_only_sql(vendor: str, table: str) -> tuple[list[str], list[str]]:
    """(forward, reverse) statements that refuse UPDATE and DELETE on `table`."""
    name = f"{table}_append_only"
    if vendor == "postgresql":
        return (
            [
                _PG_REFUSE_FUNCTION,
                f"CREATE TRIGGER {name} BEFORE UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION lpo_refuse_change();",
            ],
            [f"DROP TRIGGER IF EXISTS {name} ON {table};"],
        )
    if vendor == "sqlite":
        message = f"lpo: rows of {table} are append-only"
        return (
            [
                f"CREATE TRIGGER {name}_update BEFORE UPDATE ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{message}; UPDATE refused'); END;",
                f"CREATE TRIGGER {name}_delete BEFORE DELETE ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{message}; DELETE refused'); END;",
            ],
            [
                f"DROP TRIGGER IF EXISTS {name}_update;",
                f"DROP TRIGGER IF EXISTS {name}_delete;",
            ],
        )
    raise NotImplementedError(f"No append-only trigger for database vendor {vendor!r}")


Statements = Callable[[str], tuple[list[str], list[str]]]


def run_forward(
    statements: Statements,
) -> Callable[[StateApps, BaseDatabaseSchemaEditor], None]:
    def forward(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        for sql in statements(schema_editor.connection.vendor)[0]:
            schema_editor.execute(sql, params=None)

    return forward


def run_reverse(
    statements: Statements,
) -> Callable[[StateApps, BaseDatabaseSchemaEditor], None]:
    def reverse(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        for sql in statements(schema_editor.connection.vendor)[1]:
            schema_editor.execute(sql, params=None)

    return reverse
