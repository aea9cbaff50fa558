"""Database triggers that make evidence append-only, on PostgreSQL and SQLite alike.

Used from migrations. A trigger is the last wall: it holds for a bulk `update()`, a raw SQL
statement, a fixture load and a shell session, which all bypass the model layer.

SQLite pitfall: Django rebuilds a SQLite table for most schema changes (e.g. adding a NOT NULL
column), and dropping the old table drops its triggers. A migration that alters a table
guarded here must re-create that table's triggers on SQLite afterwards (as audit migration
0003 does); tests/core/test_sqlite_triggers.py migrates a fresh SQLite database and attacks it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

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


# --- TRUNCATE -----------------------------------------------------------------------------

# The one session setting that lets TRUNCATE through: Django's test flush sets it (see
# `tests/plugins/evidence_flush.py`). It is a guard against accidents and tools, not against
# a database owner, who can set it too (or drop the trigger); anchoring catches that case.
TRUNCATE_SETTING = "lpo.allow_truncate"

_PG_REFUSE_TRUNCATE_FUNCTION = f"""
CREATE OR REPLACE FUNCTION lpo_refuse_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('{TRUNCATE_SETTING}', true), '') = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'lpo: % is evidence; TRUNCATE refused', TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END
$$;
"""


def refuse_truncate_sql(vendor: str, table: str) -> tuple[list[str], list[str]]:
    """(forward, reverse) statements that refuse TRUNCATE of `table` (a statement trigger).

    SQLite has no TRUNCATE: its `DELETE FROM t` without WHERE is refused row by row by the
    append-only trigger, so there is nothing to add there.
    """
    name = f"{table}_no_truncate"
    if vendor == "postgresql":
        return (
            [
                _PG_REFUSE_TRUNCATE_FUNCTION,
                f"CREATE TRIGGER {name} BEFORE TRUNCATE ON {table} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION lpo_refuse_truncate();",
            ],
            [f"DROP TRIGGER IF EXISTS {name} ON {table};"],
        )
    if vendor == "sqlite":
        return [], []
    raise NotImplementedError(f"No TRUNCATE trigger for database vendor {vendor!r}")


def truncate_allowed_sql(vendor: str) -> str | None:
    """The statement that lets this transaction TRUNCATE evidence tables (PostgreSQL only)."""
    if vendor == "postgresql":
        return f"SET LOCAL {TRUNCATE_SETTING} = 'on'"
    return None


# --- Task status moves --------------------------------------------------------------------

TRANSITIONS_VIEW = "lpo_task_transitions"


def task_transitions_sql(
    vendor: str, transitions: Iterable[tuple[str, str]]
) -> tuple[list[str], list[str]]:
    """A read-only view listing every legal move, and a trigger refusing any other move.

    The view is generated from the Python table (`matters.models.TASK_TRANSITIONS`) so the
    database and the services share one definition; tests compare the two. A move is a change
    of `status`; an update that keeps the status (a new title) is not checked here.
    """
    pairs = sorted({(str(old), str(new)) for old, new in transitions})
    for status in {s for pair in pairs for s in pair}:
        if not status.replace("_", "").isalnum():
            raise ValueError(f"Unexpected status {status!r}")
    values = ", ".join(f"('{old}', '{new}')" for old, new in pairs)
    view = (
        f"CREATE VIEW {TRANSITIONS_VIEW} (from_status, to_status) AS VALUES {values};"
    )
    allowed = (
        f"EXISTS (SELECT 1 FROM {TRANSITIONS_VIEW} t "  # noqa: S608 - a constant, no input
        f"WHERE t.from_status = OLD.status AND t.to_status = NEW.status)"
    )
    message = "lpo: the task state machine does not allow this move"
    if vendor == "postgresql":
        return (
            [
                view,
                f"""
                CREATE OR REPLACE FUNCTION lpo_task_move_guard() RETURNS trigger
                LANGUAGE plpgsql AS $$
                BEGIN
                    IF NEW.status IS DISTINCT FROM OLD.status AND NOT {allowed} THEN
                        RAISE EXCEPTION '{message} (task %: % to %)',
                            NEW.id, OLD.status, NEW.status USING ERRCODE = 'check_violation';
                    END IF;
                    RETURN NEW;
                END
                $$;
                """,
                "CREATE TRIGGER matters_task_move_guard BEFORE UPDATE OF status ON "
                "matters_task FOR EACH ROW EXECUTE FUNCTION lpo_task_move_guard();",
            ],
            [
                "DROP TRIGGER IF EXISTS matters_task_move_guard ON matters_task;",
                "DROP FUNCTION IF EXISTS lpo_task_move_guard();",
                f"DROP VIEW IF EXISTS {TRANSITIONS_VIEW};",
            ],
        )
    if vendor == "sqlite":
        return (
            [
                view,
                "CREATE TRIGGER matters_task_move_guard BEFORE UPDATE OF status ON "
                f"matters_task WHEN NEW.status IS NOT OLD.status AND NOT {allowed} "
                f"BEGIN SELECT RAISE(ABORT, '{message}'); END;",
            ],
            [
                "DROP TRIGGER IF EXISTS matters_task_move_guard;",
                f"DROP VIEW IF EXISTS {TRANSITIONS_VIEW};",
            ],
        )
    raise NotImplementedError(f"No transition trigger for database vendor {vendor!r}")
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


def frozen_columns_sql(
    vendor: str, table: str, columns: tuple[str, ...], message: str, *,
    set_once: tuple[str, ...] = (),
) -> tuple[list[str], list[str]]:
    """(forward, reverse) statements that refuse an UPDATE changing any of `columns`, or
    changing a `set_once` column after it was set (NULL to a value is allowed, once)."""
    name = f"{table}_frozen"
    if vendor == "postgresql":
        changed = " OR ".join(
            [f"NEW.{column} IS DISTINCT FROM OLD.{column}" for column in columns]
            + [f"(OLD.{column} IS NOT NULL AND NEW.{column} IS DISTINCT FROM OLD.{column})"
               for column in set_once]
        )
        function = f"lpo_{table}_frozen"
        return (
            [
                f"""
                CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF {changed} THEN
                        RAISE EXCEPTION 'lpo: {message} (% %)', TG_TABLE_NAME, OLD.id
                            USING ERRCODE = 'integrity_constraint_violation';
                    END IF;
                    RETURN NEW;
                END
                $$;
                """,
                f"CREATE TRIGGER {name} BEFORE UPDATE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {function}();",
            ],
            [f"DROP TRIGGER IF EXISTS {name} ON {table};",
             f"DROP FUNCTION IF EXISTS {function}();"],
        )
    if vendor == "sqlite":
        changed = " OR ".join(
            [f"NEW.{column} IS NOT OLD.{column}" for column in columns]
            + [f"(OLD.{column} IS NOT NULL AND NEW.{column} IS NOT OLD.{column})"
               for column in set_once]
        )
        return (
            [f"CREATE TRIGGER {name} BEFORE UPDATE ON {table} WHEN {changed} "
             f"BEGIN SELECT RAISE(ABORT, 'lpo: {message}'); END;"],
            [f"DROP TRIGGER IF EXISTS {name};"],
        )
    raise NotImplementedError(f"No frozen-columns trigger for database vendor {vendor!r}")


def sqlite_only(
    statements: Callable[[], list[str]],
) -> Callable[[StateApps, BaseDatabaseSchemaEditor], None]:
    """A RunPython body that runs `statements()` on SQLite only (see the pitfall above:
    around a table rebuild, drop the triggers that name the table, then re-create them)."""

    def run(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
        if schema_editor.connection.vendor == "sqlite":
            for sql in statements():
                schema_editor.execute(sql, params=None)

    return run
