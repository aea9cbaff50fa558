"""The bench scripts on a few thousand rows, so they cannot rot (issue 7).

No timing assertions: these check that the generator builds a firm that satisfies every
constraint and trigger, and that each bench produces its table with sane numbers. The real
figures come from `python -m bench` on a dedicated database (docs/performance.md).
"""

from __future__ import annotations

import re
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from bench.generate import Plan, generate
from bench.loadtest import (
    database_url_from_settings,
    free_port,
    gunicorn,
    load_table,
    run_load,
    session_cookie,
    task_path,
)
from bench.pages import (
    CASES,
    pages_table,
    run_pages,
    run_sweep,
    sweep_table,
)
from matters.models import EthicalWall, Matter, MatterUserObjectPermission, Task
from supervision.models import SignOff, Submission

pytestmark = pytest.mark.postgres
SMALL_TASKS = 2_000
REQUESTS_PER_PAGE = 10


def fetch(base: str, path: str, cookie: str) -> int:
    request = urllib.request.Request(  # noqa: S310 - loopback http only
        base + path, headers={"Cookie": f"sessionid={cookie}"})
    with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310 - loopback
        return int(response.status) if response.geturl() == base + path else 0


def build_small_firm() -> Plan:
    plan = Plan.small(tasks=SMALL_TASKS)
    generate(plan, vacuum=False)
    return plan


@pytest.mark.django_db
def test_generator_builds_a_consistent_firm() -> None:
    """Counts as planned; every signed task carries a sign-off of its latest version (the
    trigger allowed the set-based approval); foreign keys are back after the load."""
    plan = Plan.small(tasks=SMALL_TASKS)
    report = generate(plan, vacuum=False)

    assert Task.objects.count() == SMALL_TASKS
    assert Submission.objects.count() == plan.submissions == round(SMALL_TASKS * 0.3)
    assert Matter.objects.count() == plan.matters
    assert all(re.fullmatch(r"\d{4}-\d{4,}", n) for n in Matter.objects.values_list(
        "number", flat=True))
    signed = Task.objects.filter(status__in=("approved", "delivered"))
    assert signed.exists()
    assert not signed.filter(approved_signoff__isnull=True).exists()
    assert SignOff.objects.count() == signed.count()
    assert EthicalWall.objects.filter(user__username="attorney000").count() == 10
    assert MatterUserObjectPermission.objects.filter(
        user__username="attorney000", permission__codename="supervise_matter"
    ).count() == plan.queue_matters + 10
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_constraint WHERE contype = 'f' "
                       "AND conrelid = 'matters_task'::regclass")
        assert cursor.fetchone()[0] >= 4
    table = report.table("test")
    assert "tasks (COPY)" in table and "approve signed tasks" in table


@pytest.mark.django_db
def test_generator_refuses_a_database_with_matters() -> None:
    build_small_firm()
    with pytest.raises(RuntimeError, match="already holds matters"):
        generate(Plan.small(tasks=100), vacuum=False)


@pytest.mark.django_db
def test_page_benches_print_a_table_with_floors() -> None:
    build_small_firm()
    results = run_pages(reps=2)

    assert [r.page for r in results] == [case.page for case in CASES]
    for result in results:
        assert result.status == 200, (result.page, result.note)
        assert result.queries and 0 < result.queries < 50, result.page
        assert result.server_ms and result.server_ms > 0
        assert result.trivial_ms and result.trivial_ms > 0
        assert result.sql_ms is not None and result.sql_ms >= 0
    queue = results[0]
    assert queue.rows and queue.rows > 0
    table = pages_table(results, label="smoke", reps=2)
    assert table.count("\n|") >= len(CASES) + 2
    assert "review queue" in table and "server ÷ trivial" in table


@pytest.mark.django_db
def test_sweep_bench_finds_the_due_tasks_and_rolls_back() -> None:
    plan = build_small_firm()
    from supervision.models import ReminderRecord

    records_before = ReminderRecord.objects.count()
    result = run_sweep(reps=1, deliver_budget_s=1.0)

    assert plan.due is not None and result.due_rows >= plan.due
    assert result.planned >= plan.due
    assert result.plan_ms > 0 and result.floor_ms >= 0 and result.plan_queries > 0
    assert ReminderRecord.objects.count() == records_before  # rolled back
    assert "reminders_plan" in sweep_table(result, label="smoke")


@pytest.mark.django_db(transaction=True)
def test_gunicorn_serves_a_counted_number_of_requests_for_each_page() -> None:
    """The pages the load test drives, through gunicorn (1 worker), two at a time: counted
    requests, so a slow machine makes this slower, never failing (issue 14)."""
    build_small_firm()
    cookie = session_cookie()
    pages = ["/", "/review/", task_path()]
    requests = [path for path in pages for _ in range(REQUESTS_PER_PAGE)]
    with (gunicorn(database_url_from_settings(), workers=1, port=free_port(),
                   conn_max_age=0) as (base, _), ThreadPoolExecutor(max_workers=2) as pool):
        statuses = list(pool.map(lambda path: fetch(base, path, cookie), requests))
    assert statuses == [200] * (len(pages) * REQUESTS_PER_PAGE)


@pytest.mark.django_db(transaction=True)
def test_load_test_reports_its_numbers_for_the_three_pages() -> None:
    """The load tool (wrk, or locust without it) runs for its window and its output is read
    into the table. How many requests fit into the window depends on the machine, so only
    their quality is asserted: no errors, no non-2xx, ordered percentiles when any finished."""
    build_small_firm()

    results = run_load(database_url_from_settings(), workers=1, connections=2, seconds=1,
                       warmup=0.5)

    assert [r.page for r in results] == ["dashboard", "review queue", "task page"]
    for result in results:
        assert result.non_2xx == 0 and result.errors == 0, result
        assert result.requests >= 0
        if result.requests:
            assert 0 < result.p50_ms <= result.p95_ms <= result.p99_ms
    assert "requests/s" in load_table(results, label="smoke", conn_max_age=0)
