"""Two intakes at once get two numbers (PostgreSQL, two connections).

The first intake holds its transaction open after taking the next number; the second one
starts meanwhile, reads the same "last number", and waits on the unique index (or the audit
chain) until the first commits. It must then take the following number rather than fail or
duplicate: `matter_create` retries a collision inside its savepoint.
"""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction

from matters.intake import MatterDraft, matter_intake
from matters.models import Matter
from tests.conftest import build_cast

pytestmark = pytest.mark.django_db(transaction=True)

WAIT_SECONDS = 60


def _lock_waiters() -> int:
    """Sessions of this database waiting on a lock (the second intake, once it blocks)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                       "current_database() AND wait_event_type = 'Lock'")
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def test_two_concurrent_intakes_get_two_consecutive_numbers() -> None:
    assert connection.vendor == "postgresql", "this test needs PostgreSQL's locking"
    cast = build_cast()
    taken_by_first = threading.Event()
    let_first_commit = threading.Event()
    numbers: dict[str, str] = {}
    errors: list[BaseException] = []

    def draft(title: str) -> MatterDraft:
        return MatterDraft(title=title, practice_area="litigation",
                           responsible_attorney=cast.attorney, client=cast.matter.client,
                           time_zone="America/New_York", holiday_country="US",
                           holiday_subdivision="NY", budget=Decimal("0"))

    def first() -> None:
        try:
            with transaction.atomic():
                numbers["first"] = matter_intake(actor=cast.admin, draft=draft("First")).number
                taken_by_first.set()
                assert let_first_commit.wait(WAIT_SECONDS), "the second intake never blocked"
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
            taken_by_first.set()
        finally:
            connections.close_all()

    def second() -> None:
        try:
            assert taken_by_first.wait(WAIT_SECONDS)
            numbers["second"] = matter_intake(actor=cast.admin, draft=draft("Second")).number
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    assert taken_by_first.wait(WAIT_SECONDS)
    deadline = time.monotonic() + WAIT_SECONDS
    while _lock_waiters() == 0 and time.monotonic() < deadline and not errors:
        time.sleep(0.05)
    blocked = _lock_waiters() > 0
    let_first_commit.set()
    for thread in threads:
        thread.join(WAIT_SECONDS)

    assert errors == []
    assert blocked, "the second intake ran without waiting for the first"
    year, first_seq = numbers["first"].split("-")
    assert numbers["second"] == f"{year}-{int(first_seq) + 1:04d}"
    assert sorted(Matter.objects.filter(title__in=["First", "Second"])
                  .values_list("number", flat=True)) == [numbers["first"], numbers["second"]]
