"""Benchmark: one reminder sweep over many tasks, next to the raw SQL that finds the same rows.

    .venv/bin/python bench/sweep_bench.py --tasks 1000000 --due 10000 \
        --database-url postgres://postgres@127.0.0.1:5432/lpo_bench_reminders

The database named in --database-url is dropped and recreated, migrated, and seeded: `--tasks`
tasks spread over 1,000 matters in three time zones (New York, London, Kolkata), of which
`--due` are with the vendor and past their deadline; the rest are cancelled, drafts, or open
with deadlines a month or more away. It then times, on PostgreSQL:

1. the raw SQL query: open vendor tasks past their deadline with no reminder recorded yet;
2. the sweep's plan (the same rows found through the ORM, with business-hour thresholds,
   recipients and message texts), the record step (claims), and the e-mail delivery (one
   claimed row per transaction; Django's locmem backend, so no SMTP time is counted);
3. a second sweep, when everything is recorded (the steady state every 5 minutes).

`run()` is also called by the test suite with a tiny size, inside the test database.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

MATTERS = 1000
VENDORS = 10
ZONES = (("America/New_York", "US", "NY"), ("Europe/London", "GB", "ENG"),
         ("Asia/Kolkata", "IN", ""))


@dataclass(frozen=True)
class Timing:
    wall: float
    cpu: float  # this process only: the rest of the wall time is waiting (mostly PostgreSQL)


@dataclass
class BenchResult:
    tasks: int
    due: int
    found_by_sql: int
    sql: Timing
    plan: Timing
    record: Timing
    deliver: Timing
    recorded: int
    notifications: int
    sent: int
    second_sweep: Timing
    second_sweep_recorded: int
    seed_seconds: float
    sql_plan: str
    load_average: tuple[float, float]  # 1-minute load average before and after

    @property
    def sweep_seconds(self) -> float:
        return self.plan.wall + self.record.wall + self.deliver.wall


def _timed(action: Any) -> tuple[Any, Timing]:
    wall, cpu = time.perf_counter(), time.process_time()
    value = action()
    return value, Timing(time.perf_counter() - wall, time.process_time() - cpu)


def seed(*, tasks: int, due: int, now: dt.datetime) -> None:
    """Users, vendors, matters and engagements through the ORM; the tasks with one INSERT …
    SELECT over generate_series (PostgreSQL)."""
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import User
    from django.db import connection

    from matters.models import Client, Engagement, Matter, MatterMembership, MatterRole
    from vendors.models import Vendor, VendorUser

    password = make_password(None)
    attorney = User.objects.create(username="bench_attorney", email="attorney@bench.test",
                                   password=password)
    staff = User.objects.bulk_create(
        [User(username=f"bench_staff{i}", email=f"staff{i}@bench.test", password=password)
         for i in range(MATTERS)])
    vendors = Vendor.objects.bulk_create(
        [Vendor(name=f"Bench vendor {i}", status="approved", headquarters_country="IN",
                time_zone="Asia/Kolkata") for i in range(VENDORS)])
    contacts = User.objects.bulk_create(
        [User(username=f"bench_vendor{i}", email=f"vendor{i}@bench.test", password=password)
         for i in range(VENDORS)])
    VendorUser.objects.bulk_create(
        [VendorUser(user=user, vendor=vendor) for user, vendor in zip(contacts, vendors,
                                                                      strict=True)])
    client = Client.objects.create(name="Bench client", code="BENCH")
    matters = Matter.objects.bulk_create(
        [Matter(number=f"2026-{i + 1:05d}", title=f"Bench matter {i}", client=client,
                practice_area="litigation", responsible_attorney=attorney,
                time_zone=ZONES[i % 3][0], holiday_country=ZONES[i % 3][1],
                holiday_subdivision=ZONES[i % 3][2]) for i in range(MATTERS)])
    MatterMembership.objects.bulk_create(
        [MatterMembership(matter=matter, user=member, role=MatterRole.TEAM)
         for matter, member in zip(matters, staff, strict=True)])
    engagements = Engagement.objects.bulk_create(
        [Engagement(matter=matter, vendor=vendors[i % VENDORS], scope="Bench")
         for i, matter in enumerate(matters)])
    pairs = ", ".join(f"({i}, {matter.pk}, {engagement.pk})"
                      for i, (matter, engagement) in enumerate(zip(matters, engagements,
                                                                   strict=True)))
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_matters")
        cursor.execute("CREATE TEMP TABLE bench_matters (idx int primary key, matter_id bigint,"
                       " engagement_id bigint)")
        cursor.execute(f"INSERT INTO bench_matters VALUES {pairs}")
        # g <= due: with the vendor, 1 minute to 2 days past the deadline. The others, by
        # g % 10: 0-3 cancelled, 4-6 in progress due in 30+ days, 7-8 drafts, 9 in review
        # with the review window closing in 30+ days.
        cursor.execute(
            """
            INSERT INTO matters_task (
                matter_id, engagement_id, title, task_type, requires_legal_judgment,
                instructions, priority, estimated_hours, actual_hours, document_count,
                sla_due_at, review_due_at, status, created_by_id, created_at, updated_at,
                assigned_at, cancelled_at, cancel_reason)
            SELECT
                m.matter_id,
                CASE WHEN g > %(due)s AND g %% 10 IN (7, 8) THEN NULL ELSE m.engagement_id END,
                'Bench task ' || g, 'document_review', true, '', 'normal', 0, 0, 0,
                CASE
                    WHEN g <= %(due)s THEN %(now)s - ((g %% 2880) + 1) * interval '1 minute'
                    WHEN g %% 10 <= 3 THEN %(now)s - interval '400 days' + g * interval '1 s'
                    ELSE %(now)s + interval '30 days' + (g %% 300) * interval '1 day'
                END,
                CASE WHEN g > %(due)s AND g %% 10 = 9
                     THEN %(now)s + interval '30 days' + (g %% 200) * interval '1 hour' END,
                CASE
                    WHEN g <= %(due)s THEN 'in_progress'
                    WHEN g %% 10 <= 3 THEN 'cancelled'
                    WHEN g %% 10 <= 6 THEN 'in_progress'
                    WHEN g %% 10 <= 8 THEN 'draft'
                    ELSE 'in_review'
                END,
                %(creator)s, %(now)s, %(now)s,
                CASE WHEN g > %(due)s AND g %% 10 IN (7, 8) THEN NULL
                     ELSE %(now)s - interval '30 days' END,
                CASE WHEN g > %(due)s AND g %% 10 <= 3 THEN %(now)s - interval '300 days' END,
                CASE WHEN g > %(due)s AND g %% 10 <= 3 THEN 'bench' ELSE '' END
            FROM generate_series(1, %(tasks)s) AS g
            JOIN bench_matters m ON m.idx = g %% %(matters)s
            """,
            {"due": due, "tasks": tasks, "now": now, "creator": attorney.pk,
             "matters": MATTERS},
        )
        cursor.execute("DROP TABLE bench_matters")
        cursor.execute("ANALYZE matters_task")
        cursor.execute("ANALYZE supervision_reminderrecord")
        cursor.execute("ANALYZE supervision_notification")


RAW_SQL = """
    SELECT t.id FROM matters_task t
    WHERE t.status IN ('assigned', 'in_progress', 'changes_requested')
      AND t.sla_due_at <= %(now)s
      AND NOT EXISTS (
          SELECT 1 FROM supervision_reminderrecord r
          WHERE r.object_type = 'matters.task' AND r.object_id = t.id
            AND r.kind IN ('task_due_soon', 'task_overdue'))
"""


def run(*, tasks: int, due: int, out: TextIO) -> BenchResult:
    """Seed, then time the raw query and the sweep's steps. Prints a Markdown table."""
    from django.db import connection
    from django.test import override_settings
    from django.utils import timezone

    from supervision.models import Notification
    from supervision.reminders import reminders_deliver, reminders_plan, reminders_record

    if connection.vendor != "postgresql":
        raise SystemExit("The benchmark runs on PostgreSQL (generate_series, EXPLAIN).")
    load_before = os.getloadavg()[0]
    now = timezone.now()
    _, seeding = _timed(lambda: seed(tasks=tasks, due=due, now=now))

    def raw() -> list[int]:
        with connection.cursor() as cursor:
            cursor.execute(RAW_SQL, {"now": now})
            return [row[0] for row in cursor.fetchall()]

    raw()  # warm the cache, as the sweep below will find it warm too
    sql = min((_timed(raw)[1] for _ in range(3)), key=lambda timing: timing.wall)
    found = len(raw())
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS OFF, TIMING OFF) " + RAW_SQL, {"now": now})
        sql_plan = "\n".join(row[0] for row in cursor.fetchall())

    # A worker is a long-running process: its first sweep loads the holiday calendars and
    # templates once. Planning only reads, so warm up with it.
    reminders_plan(now=now)
    planned, plan = _timed(lambda: reminders_plan(now=now))
    recorded, record = _timed(lambda: reminders_record(planned=planned, now=now))
    notifications = Notification.objects.count()
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
        delivery, deliver = _timed(lambda: reminders_deliver(budget_seconds=3600))
    again, second = _timed(lambda: reminders_plan(now=now))

    result = BenchResult(
        tasks=tasks, due=due, found_by_sql=found, sql=sql, plan=plan, record=record,
        deliver=deliver, recorded=recorded.recorded, notifications=notifications,
        sent=delivery.sent, second_sweep=second, second_sweep_recorded=len(again),
        seed_seconds=seeding.wall, sql_plan=sql_plan,
        load_average=(load_before, os.getloadavg()[0]),
    )
    report(result, out)
    return result


def _ms(timing: Timing) -> str:
    return f"{timing.wall * 1000:,.1f} ms (CPU {timing.cpu * 1000:,.1f} ms)"


def report(result: BenchResult, out: TextIO) -> None:
    deliver = result.deliver
    rows = [
        ("tasks / due now", f"{result.tasks:,} / {result.due:,}"),
        ("raw SQL: rows found", f"{result.found_by_sql:,}"),
        ("raw SQL: time (best of 3)", _ms(result.sql)),
        ("sweep, plan: find, thresholds, recipients, texts", _ms(result.plan)),
        ("sweep, record: claims", f"{_ms(result.record)}; {result.recorded:,} records, "
         f"{result.notifications:,} notifications"),
        ("sweep, deliver: one e-mail per transaction",
         f"{deliver.wall:,.1f} s (CPU {deliver.cpu:,.1f} s); {result.sent:,} e-mails"),
        ("sweep, total", f"{result.sweep_seconds:,.1f} s"),
        ("reminders sent per second (wall)",
         f"{result.recorded / deliver.wall:,.0f} ({result.sent / deliver.wall:,.0f} e-mails/s)"
         if deliver.wall else "n/a"),
        ("reminders sent per CPU second",
         f"{result.recorded / deliver.cpu:,.0f} ({result.sent / deliver.cpu:,.0f} e-mails)"
         if deliver.cpu else "n/a"),
        ("next sweep, nothing new: plan", f"{_ms(result.second_sweep)}; "
         f"{result.second_sweep_recorded} planned"),
        ("seeding (not part of the sweep)", f"{result.seed_seconds:,.1f} s"),
        ("machine load average (1 min), before / after",
         f"{result.load_average[0]:.1f} / {result.load_average[1]:.1f} on {os.cpu_count()} CPUs"),
    ]
    out.write("| measure | value |\n| --- | --- |\n")
    for name, value in rows:
        out.write(f"| {name} | {value} |\n")
    out.write("\nRaw query plan:\n\n```\n" + result.sql_plan + "\n```\n")


def _recreate_database(url: str) -> None:
    from urllib.parse import urlsplit

    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name.replace("_", "").isalnum() or "bench" not in name:
        raise SystemExit(f"Refusing to drop {name!r}: the name must contain 'bench'.")
    with psycopg.connect(host=parts.hostname, port=parts.port or 5432,
                         user=parts.username or None, password=parts.password or None,
                         dbname="postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--database-url",
                        default="postgres://postgres@127.0.0.1:5432/lpo_bench_reminders",
                        help="A PostgreSQL database that will be DROPPED and recreated.")
    args = parser.parse_args(argv)
    if not 0 < args.due <= args.tasks:
        parser.error("--due must be between 1 and --tasks")

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lpo_tracker.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    _recreate_database(args.database_url)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    buffer = io.StringIO()
    run(tasks=args.tasks, due=args.due, out=buffer)
    sys.stdout.write(buffer.getvalue())


if __name__ == "__main__":
    main()
