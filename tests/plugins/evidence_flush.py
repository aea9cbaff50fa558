"""Let the test database's flush TRUNCATE the evidence tables.

The database refuses TRUNCATE of audit events, submissions and sign-offs (a statement
trigger) unless the transaction set `lpo.allow_truncate` (lpo_tracker.dbtriggers). Django
empties the database between `transaction=True` tests with one TRUNCATE of every table, so
the test run, and only the test run, prefixes that flush with the setting. Production's
`manage.py flush` stays refused.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db.backends.postgresql.operations import DatabaseOperations

from lpo_tracker.dbtriggers import truncate_allowed_sql

_original_sql_flush = DatabaseOperations.sql_flush


def _sql_flush_allowing_truncate(self: DatabaseOperations, *args: Any, **kwargs: Any) -> list[str]:
    statements = _original_sql_flush(self, *args, **kwargs)
    allow = truncate_allowed_sql("postgresql")
    return [allow, *statements] if statements and allow else statements


def pytest_configure(config: pytest.Config) -> None:
    DatabaseOperations.sql_flush = _sql_flush_allowing_truncate  # type: ignore[method-assign,assignment]
