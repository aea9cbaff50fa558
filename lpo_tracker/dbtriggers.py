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


# --- Version bumps for cached pages -----------------------------------------------------

_PG_BUMP_FUNCTION = """
CREATE OR REPLACE FUNCTION lpo_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    flag text := 'lpo.bumped_' || TG_ARGV[0];
BEGIN
    -- Once per transaction: the flag is transaction-local (set_config(..., true)).
    IF current_setting(flag, true) IS DISTINCT FROM 'on' THEN
        PERFORM set_config(flag, 'on', true);
        EXECUTE format('INSERT INTO %I (id, version) VALUES (1, 1) ON CONFLICT (id) '
                       'DO UPDATE SET version = %I.version + 1', TG_ARGV[0], TG_ARGV[0]);
    END IF;
    RETURN NULL;
END
$$;
"""


def version_bump_sql(
    vendor: str, version_table: str, tables: dict[str, tuple[str, ...]]
) -> tuple[list[str], list[str]]:
    """(forward, reverse) statements that bump row 1 of `version_table` on every write to
    each of `tables` ({table: events}, events among INSERT, UPDATE, DELETE).

    PostgreSQL: a DEFERRABLE INITIALLY DEFERRED constraint trigger per table, run at commit
    and at most once per transaction; the version row is locked last and only for the commit.
    SQLite (one writer at a time anyway): a plain AFTER trigger per table and event.
    """
    forward: list[str] = []
    reverse: list[str] = []
    upsert = (f"INSERT INTO {version_table} (id, version) VALUES (1, 1) ON CONFLICT (id) "  # noqa: S608
              f"DO UPDATE SET version = {version_table}.version + 1")
    if vendor == "postgresql":
        forward.append(_PG_BUMP_FUNCTION)
        for table, events in tables.items():
            name = f"{table}_bumps_{version_table.split('_', 1)[-1]}"
            forward.append(
                f"CREATE CONSTRAINT TRIGGER {name} AFTER {' OR '.join(events)} ON {table} "
                f"DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
                f"EXECUTE FUNCTION lpo_bump_version('{version_table}');"
            )
            reverse.append(f"DROP TRIGGER IF EXISTS {name} ON {table};")
        reverse.append("DROP FUNCTION IF EXISTS lpo_bump_version();")
        return forward, reverse
    if vendor == "sqlite":
        for table, events in tables.items():
            for event in events:
                name = f"{table}_{event.lower()}_bumps_{version_table}"
                forward.append(
                    f"CREATE TRIGGER {name} AFTER {event} ON {table} "
                    f"BEGIN {upsert}; END;"
                )
                reverse.append(f"DROP TRIGGER IF EXISTS {name};")
        return forward, reverse
    raise NotImplementedError(f"No version trigger for database vendor {vendor!r}")
