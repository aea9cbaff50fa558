"""Page benches: each page's server time and query count next to its floors, same run.

    python -m bench.pages --database-url postgres://postgres@127.0.0.1:5432/lpo_bench

For each page (review queue, matter list, dashboard, task page, admin task changelist):

- server: `django.test.Client` in-process (force_login; the whole middleware stack, session,
  template), median of N requests, query count with CaptureQueriesContext;
- trivial view: a function defined here that runs the same rows (the selector's queryset,
  sliced to what the page shows, as `.values()`) and returns a JsonResponse, called directly
  with a RequestFactory request: the floor for "Django + the same rows";
- SQL: EXPLAIN (ANALYZE, FORMAT JSON) of the selector's own SQL for those rows
  (`query.sql_with_params()`), planning + execution time: the floor for the database;
- page SQL: the same EXPLAIN ANALYZE over every SELECT the page ran, summed: how much of the
  server time is the database at all.

`--sweep` also times the reminder sweep (`supervision.reminders`, owned by its author; this
bench only calls it) next to the raw SQL that finds the due tasks.
`run_pages(reps=…)` is importable; the CI smoke test calls it on a few thousand rows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from bench import (
    BENCH_ADMIN,
    BENCH_ATTORNEY,
    database_name,
    median,
    render_table,
    save_result,
    setup_django,
)


@dataclass
class PageResult:
    page: str
    url: str
    status: int | None = None
    rows: int | None = None
    queries: int | None = None
    server_ms: float | None = None
    server_cpu_ms: float | None = None
    trivial_ms: float | None = None
    trivial_cpu_ms: float | None = None
    trivial_queries: int | None = None
    sql_ms: float | None = None
    page_sql_ms: float | None = None
    best_sql_ms: float | None = None
    note: str = ""
    query_log: list[str] = field(default_factory=list)

    @property
    def vs_trivial(self) -> float | None:
        if self.server_ms is None or not self.trivial_ms:
            return None
        return self.server_ms / self.trivial_ms

    @property
    def vs_sql(self) -> float | None:
        if self.server_ms is None or not self.sql_ms:
            return None
        return self.server_ms / self.sql_ms


# --- measuring -----------------------------------------------------------------------------


def explain_ms(sql: str, params: Sequence[Any] | dict[str, Any] | None = None, *,
               runs: int = 3) -> float:
    """Planning + execution time reported by EXPLAIN (ANALYZE, FORMAT JSON); median of runs."""
    from django.db import connection

    times = []
    with connection.cursor() as cursor:
        for _ in range(runs):
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
            raw = cursor.fetchone()[0]
            plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]
            times.append(plan["Planning Time"] + plan["Execution Time"])
    return median(times)


def explain_queryset_ms(queryset: Any, *, runs: int = 3) -> float:
    sql, params = queryset.query.sql_with_params()
    return explain_ms(sql, params, runs=runs)


def explain_plan_text(queryset: Any) -> str:
    """EXPLAIN ANALYZE in text, for the results file (what the fix has to change)."""
    from django.db import connection

    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def page_sql_ms(captured: list[dict[str, str]]) -> float:
    """EXPLAIN ANALYZE every SELECT a page ran (as Django logged it, params inlined)."""
    total = 0.0
    for query in captured:
        sql = query["sql"]
        if sql.lstrip().upper().startswith("SELECT"):
            total += explain_ms(sql, None, runs=1)
    return total


def timed(function: Callable[[], Any], reps: int, *, budget_s: float = 30.0,
          cpu: list[float] | None = None) -> list[float]:
    """Wall-clock milliseconds per call; at least 3 calls, at most `reps` or `budget_s`
    seconds. `cpu` collects this process's CPU milliseconds per call (immune to other
    processes competing for the cores, but blind to time spent inside PostgreSQL)."""
    times: list[float] = []
    started = time.perf_counter()
    while len(times) < reps:
        t0, c0 = time.perf_counter(), time.process_time()
        function()
        times.append((time.perf_counter() - t0) * 1000)
        if cpu is not None:
            cpu.append((time.process_time() - c0) * 1000)
        if len(times) >= 3 and time.perf_counter() - started > budget_s:
            break
    return times


def count_queries(function: Callable[[], Any]) -> tuple[int, list[dict[str, str]], Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        result = function()
    return len(ctx.captured_queries), list(ctx.captured_queries), result


def page_context(client: Any, url: str) -> tuple[Any, list[Any]]:
    """One request with template instrumentation on, to see what the page shows."""
    from django.template import Template
    from django.test.utils import instrumented_test_render  # type: ignore[attr-defined]

    original = Template._render  # type: ignore[attr-defined]
    Template._render = instrumented_test_render  # type: ignore[attr-defined]
    try:
        response = client.get(url)
    finally:
        Template._render = original  # type: ignore[attr-defined]
    contexts = response.context
    if contexts is None:
        return response, []
    return response, list(contexts) if isinstance(contexts, list) else [contexts]


def rows_shown(contexts: list[Any], model: Any) -> int | None:
    """How many `model` rows the page listed: a Page's object_list if paginated, else the
    longest list/queryset of `model` instances in the context."""
    from django.core.paginator import Page
    from django.db.models import QuerySet

    best: int | None = None
    for context in contexts:
        for layer in getattr(context, "dicts", [context]):
            if not isinstance(layer, dict):
                continue
            if isinstance(layer.get("rows"), list):
                return len(layer["rows"])  # rows as precomputed values (the review queue)
            changelist = layer.get("cl")
            if changelist is not None and hasattr(changelist, "result_list"):
                return len(changelist.result_list)  # the admin's page of rows
            for value in layer.values():
                if isinstance(value, Page):
                    return len(value.object_list)
                if (isinstance(value, QuerySet) and value.model is model
                        and value._result_cache is not None):
                    best = max(best or 0, len(value._result_cache))
                elif isinstance(value, list | tuple) and value and isinstance(value[0], model):
                    best = max(best or 0, len(value))
    return best


# --- the trivial view -----------------------------------------------------------------------


def trivial_rows_view(request: Any, rows: Callable[[Any], Any], fields: Sequence[str]) -> Any:
    """The floor: the same rows as `.values()` in a JsonResponse; no template, no session."""
    from django.http import JsonResponse

    queryset = rows(request.user)
    names = list(dict.fromkeys([*fields, *queryset.query.annotations]))
    return JsonResponse(list(queryset.values(*names)), safe=False)


# --- the pages ------------------------------------------------------------------------------


@dataclass
class Case:
    page: str
    url_name: str
    username: str
    rows: Callable[[Any], Any] | None  # user -> the selector's queryset for the page's rows
    fields: Sequence[str] = ()
    model_label: str = "matters.Task"
    kwargs: Callable[[Any], dict[str, Any]] | None = None
    query: str = ""
    # For pages that are not one list: the trivial view calls this selector instead.
    trivial: Callable[[Any], Any] | None = None
    # For those pages: the SQL floor is every query that selector ran.
    note: str = ""
    # Settings for the page requests (e.g. the page cache off).
    settings: dict[str, Any] = field(default_factory=dict)
    # The page's own SQL for its rows (default: `rows`' queryset) and the best plan written
    # by hand for the same rows: user -> (sql, params).
    page_rows_sql: Callable[[Any], tuple[str, Any]] | None = None
    best_sql: Callable[[Any], tuple[str, Any]] | None = None


def _queue(user: Any) -> Any:
    from supervision.selectors import review_queue_for

    return review_queue_for(user)


def _queue_page_sql(user: Any) -> tuple[str, Any]:
    """The SQL of the queue page's one rows query (`review_queue_page`), as it ran."""
    from supervision.selectors import review_queue_page

    _count, captured, _page = count_queries(lambda: review_queue_page(user, size=50))
    return captured[-1]["sql"], None


# The best plan found by hand for the queue's first page (docs/performance.md): the
# supervised matters minus the walled ones, per matter the tasks awaiting review from the
# partial index (index-only, LIMIT per matter), a top-N sort, then the rows and their latest
# version through LATERAL joins.
QUEUE_BEST_SQL = """
WITH mine AS (
  SELECT p.content_object_id AS id FROM matters_matteruserobjectpermission p
    JOIN auth_permission a ON a.id = p.permission_id AND a.codename = 'supervise_matter'
   WHERE p.user_id = %(user)s
  UNION
  SELECT g.content_object_id FROM matters_mattergroupobjectpermission g
    JOIN auth_permission a ON a.id = g.permission_id AND a.codename = 'supervise_matter'
    JOIN auth_user_groups ug ON ug.group_id = g.group_id AND ug.user_id = %(user)s
  EXCEPT
  SELECT matter_id FROM matters_ethicalwall WHERE user_id = %(user)s
), page AS (
  SELECT t.id, t.review_due_at, t.submitted_at FROM mine m CROSS JOIN LATERAL (
    SELECT id, review_due_at, submitted_at FROM matters_task t
     WHERE t.matter_id = m.id AND t.status IN ('submitted', 'in_review')
     ORDER BY review_due_at NULLS LAST, submitted_at, id LIMIT 51) t
  ORDER BY t.review_due_at NULLS LAST, t.submitted_at, t.id LIMIT 51
)
SELECT t.id, t.title, t.status, t.task_type, t.review_due_at, t.submitted_at, m.number,
       m.time_zone, c.name, v.name, s.version, s.original_name
  FROM page JOIN matters_task t ON t.id = page.id
  JOIN matters_matter m ON m.id = t.matter_id JOIN matters_client c ON c.id = m.client_id
  LEFT JOIN matters_engagement e ON e.id = t.engagement_id
  LEFT JOIN vendors_vendor v ON v.id = e.vendor_id
  LEFT JOIN LATERAL (SELECT version, original_name FROM supervision_submission s
                      WHERE s.task_id = t.id ORDER BY version DESC LIMIT 1) s ON true
 ORDER BY page.review_due_at NULLS LAST, page.submitted_at, page.id
"""


def _queue_best_sql(user: Any) -> tuple[str, Any]:
    return QUEUE_BEST_SQL, {"user": user.pk}


def _matter_list(user: Any) -> Any:
    """What matters.views.matter_list pages through: visible matters with task counts."""
    from django.utils import timezone

    from matters import selectors, views

    return views.annotate_task_counts(selectors.matters_visible_to(user), now=timezone.now())


def _admin_tasks(user: Any) -> Any:
    """The admin changelist's rows, built by the admin itself (same filter, ordering)."""
    from django.contrib import admin
    from django.test import RequestFactory

    from matters.models import Task

    if user.pk not in _ADMIN_QUERYSET:  # built once: building it runs the admin's counts
        model_admin = admin.site._registry[Task]
        request = RequestFactory().get("/admin/matters/task/", {"status__exact": "submitted"})
        request.user = user
        _ADMIN_QUERYSET[user.pk] = model_admin.get_changelist_instance(request).queryset
    return _ADMIN_QUERYSET[user.pk].all()


_ADMIN_QUERYSET: dict[int, Any] = {}


def _dashboard(user: Any) -> Any:
    from django.utils import timezone

    from supervision.reports.dashboard import dashboard_for

    board = dashboard_for(user, now=timezone.now())
    return {
        "open_matters": [m.pk for m in board.open_matters],
        "at_risk": [t.pk for t in board.at_risk_tasks],
        "reviews_waiting": [t.pk for t in board.reviews_waiting],
        "reviews_waiting_total": board.reviews_waiting_total,
        "sla_weeks": [w.delivered for w in board.sla_weeks],
        "review_ages": [b.count for b in board.review_ages],
    }


def _task_page(user: Any) -> Any:
    from supervision.selectors import get_task_for_review, task_page_for

    task = get_task_for_review(user, _first_queue_task_pk(user))
    page = task_page_for(user, task)
    return {"task": task.pk, "submissions": [s.pk for s in page.submissions],
            "reviews": [r.pk for r in page.reviews], "signoffs": [s.pk for s in page.signoffs],
            "actions": asdict(page.actions)}


_FIRST_QUEUE_TASK: dict[int, int] = {}


def _first_queue_task_pk(user: Any) -> int:
    if user.pk not in _FIRST_QUEUE_TASK:
        _FIRST_QUEUE_TASK[user.pk] = _queue(user).values_list("pk", flat=True)[0]
    return _FIRST_QUEUE_TASK[user.pk]


QUEUE_FIELDS = ("pk", "title", "status", "task_type", "review_due_at", "submitted_at",
                "matter__number", "matter__title", "matter__client__name",
                "engagement__vendor__name", "latest_submission_id", "latest_version",
                "latest_name")
MATTER_FIELDS = ("pk", "number", "title", "status", "opened_on", "client__name",
                 "responsible_attorney__first_name", "responsible_attorney__last_name")
ADMIN_FIELDS = ("pk", "matter__number", "title", "task_type", "status", "priority",
                "engagement__vendor__name", "sla_due_at", "review_due_at")

CASES: tuple[Case, ...] = (
    Case("review queue", "supervision:review_queue", BENCH_ATTORNEY, _queue, QUEUE_FIELDS,
         settings={"REVIEW_QUEUE_CACHE_SECONDS": 0}, page_rows_sql=_queue_page_sql,
         best_sql=_queue_best_sql, note="page cache off"),
    Case("review queue, cached", "supervision:review_queue", BENCH_ATTORNEY, _queue,
         QUEUE_FIELDS, page_rows_sql=_queue_page_sql, best_sql=_queue_best_sql,
         note="repeat views: page cache hits"),
    Case("matter list", "matters:list", BENCH_ATTORNEY, _matter_list, MATTER_FIELDS,
         model_label="matters.Matter"),
    Case("dashboard", "supervision:dashboard", BENCH_ATTORNEY, None, trivial=_dashboard,
         note="trivial = dashboard_for() without the template; SQL = its queries"),
    Case("task page", "supervision:task_detail", BENCH_ATTORNEY, None, trivial=_task_page,
         kwargs=lambda user: {"pk": _first_queue_task_pk(user)},
         note="first task of the queue; trivial = task_page_for(); SQL = its queries"),
    Case("admin tasks ?status=submitted", "admin:matters_task_changelist", BENCH_ADMIN,
         _admin_tasks, ADMIN_FIELDS, query="?status__exact=submitted"),
)


def _enrolled_in_mfa(user: Any) -> None:
    """Bench users hold roles that require a second factor; without one every page would
    redirect to enrolment. Enrol them once (the second factor costs nothing per page)."""
    from allauth.mfa.utils import is_mfa_enabled

    from lpo_tracker.signin.policy import mfa_required_for
    from lpo_tracker.signin.services import mfa_enrol

    if mfa_required_for(user) and not is_mfa_enabled(user):
        mfa_enrol(user=user, totp_secret="GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")  # noqa: S106


def measure(case: Case, *, reps: int) -> PageResult:
    from django.test import override_settings

    with override_settings(**case.settings):
        return _measure(case, reps=reps)


def _measure(case: Case, *, reps: int) -> PageResult:
    from django.apps import apps
    from django.contrib.auth.models import User
    from django.test import Client, RequestFactory
    from django.urls import NoReverseMatch, reverse

    user = User.objects.get(username=case.username)
    try:
        url = reverse(case.url_name, kwargs=case.kwargs(user) if case.kwargs else None)
    except (NoReverseMatch, IndexError) as exc:
        why = "view not built yet" if isinstance(exc, NoReverseMatch) else "no rows"
        return PageResult(case.page, case.url_name,
                          note=f"not measured: {exc.__class__.__name__} ({why})")
    url += case.query
    result = PageResult(case.page, url, note=case.note)
    _enrolled_in_mfa(user)
    client = Client()
    client.force_login(user)
    response, contexts = page_context(client, url)
    result.status = response.status_code
    if response.status_code != 200:
        result.note = f"HTTP {response.status_code}"
        return result
    model = apps.get_model(case.model_label)
    shown = rows_shown(contexts, model)
    client.get(url)  # warm caches (templates, URL resolver, PG buffers)
    result.queries, captured, _ = count_queries(lambda: client.get(url))
    result.query_log = [q["sql"][:300] for q in captured]
    cpu: list[float] = []
    result.server_ms = median(timed(lambda: client.get(url), reps, cpu=cpu))
    result.server_cpu_ms = median(cpu)
    result.page_sql_ms = page_sql_ms(captured)

    request = RequestFactory().get(url)
    request.user = user
    if case.rows is not None:
        all_rows = case.rows
        if shown is None:
            shown = all_rows(user).count()
        result.rows = shown
        rows = (lambda u: all_rows(u)[:shown])  # noqa: E731 — same slice the page shows

        def view() -> Any:
            return trivial_rows_view(request, rows, case.fields)

        result.trivial_queries, _, _ = count_queries(view)
        cpu = []
        result.trivial_ms = median(timed(view, reps, cpu=cpu))
        result.trivial_cpu_ms = median(cpu)
        if case.page_rows_sql is not None:
            result.sql_ms = explain_ms(*case.page_rows_sql(user))
        else:
            result.sql_ms = explain_queryset_ms(rows(user))
        if case.best_sql is not None:
            result.best_sql_ms = explain_ms(*case.best_sql(user))
    else:
        assert case.trivial is not None
        trivial = case.trivial

        def view() -> Any:
            from django.http import JsonResponse

            return JsonResponse(trivial(user))

        result.trivial_queries, trivial_captured, _ = count_queries(view)
        result.rows = shown
        cpu = []
        result.trivial_ms = median(timed(view, reps, cpu=cpu))
        result.trivial_cpu_ms = median(cpu)
        result.sql_ms = page_sql_ms(trivial_captured)
    return result


def run_pages(*, reps: int = 20, only: Sequence[str] = ()) -> list[PageResult]:
    from django.conf import settings

    if "testserver" not in settings.ALLOWED_HOSTS and "*" not in settings.ALLOWED_HOSTS:
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    return [measure(case, reps=reps) for case in CASES if not only or case.page in only]


# --- the reminder sweep, on the same firm ------------------------------------------------------

# The rows the sweep has to act on: tasks with the vendor whose SLA deadline falls before the
# sweep's widest horizon, and tasks awaiting review whose review window does. Each branch is
# one range scan of task_status_sla_idx / task_status_review_idx.
SWEEP_FLOOR_SQL = """
    SELECT t.id, t.matter_id, t.sla_due_at AS deadline FROM matters_task t
    WHERE t.status IN ('assigned', 'in_progress', 'changes_requested')
      AND t.sla_due_at <= %(widest)s
    UNION ALL
    SELECT t.id, t.matter_id, t.review_due_at FROM matters_task t
    WHERE t.status IN ('submitted', 'in_review') AND t.review_due_at <= %(widest)s
"""


@dataclass
class SweepResult:
    due_rows: int = 0
    floor_ms: float = 0.0
    their_sql_rows: int | None = None
    their_sql_ms: float | None = None
    plan_ms: float = 0.0
    plan_cpu_ms: float = 0.0
    plan_sql_ms: float = 0.0
    plan_queries: int = 0
    planned: int = 0
    record_ms: float = 0.0
    recorded: int = 0
    deliver_s: float | None = None
    sent: int | None = None
    # The steady state: a watermark where the last complete sweep started (the net reads
    # only what was submitted since), everything due already recorded.
    steady_ms: float | None = None
    steady_cpu_ms: float | None = None
    steady_queries: int | None = None
    steady_planned: int | None = None
    # Nothing due: the same firm planned 8 days earlier (no deadline within reach), with
    # the watermark; its floor is the same raw SQL at that moment.
    quiet_ms: float | None = None
    quiet_cpu_ms: float | None = None
    quiet_queries: int | None = None
    quiet_planned: int | None = None
    quiet_floor_ms: float | None = None
    no_watermark_ms: float | None = None
    no_watermark_queries: int | None = None
    load: tuple[float, float, float] | None = None
    note: str = ""

    @property
    def vs_floor(self) -> float | None:
        return self.plan_ms / self.floor_ms if self.floor_ms else None


def run_sweep(*, reps: int = 3, deliver_budget_s: float = 0.0) -> SweepResult:
    """Time `supervision.reminders` (the sweep other engineers own) on the generated firm,
    next to the raw SQL that finds the due rows. Everything runs inside a transaction that is
    rolled back, so the bench database stays as generated and the run can be repeated.

    1. Floor: EXPLAIN ANALYZE of SWEEP_FLOOR_SQL (and of bench/sweep_bench.py's RAW_SQL, the
       SLA half with the recorded-reminder anti-join, when that script is present).
    2. `reminders_plan(now)`: median of `reps`, with its query count.
    3. `reminders_record(planned)`: once.
    4. `reminders_deliver` with the locmem e-mail backend for `deliver_budget_s` (0 = skip).
    """
    from django.db import connection, transaction
    from django.test import override_settings
    from django.utils import timezone

    from supervision import reminders
    from supervision.sla import PolicySet

    result = SweepResult()
    now = timezone.now()
    try:
        widest = reminders.Clock(now).widest(PolicySet.load())
    except AttributeError:  # the sweep's internals moved: a generous horizon instead
        widest = now + dt.timedelta(days=4)
        result.note = "widest horizon assumed (now + 4 days)"
    with connection.cursor() as cursor:
        cursor.execute(SWEEP_FLOOR_SQL, {"widest": widest})
        result.due_rows = len(cursor.fetchall())
    result.floor_ms = explain_ms(SWEEP_FLOOR_SQL, {"widest": widest})
    try:
        from bench.sweep_bench import RAW_SQL  # the sweep author's own floor
    except ImportError:
        pass
    else:
        with connection.cursor() as cursor:
            cursor.execute(RAW_SQL, {"now": now})
            result.their_sql_rows = len(cursor.fetchall())
        result.their_sql_ms = explain_ms(RAW_SQL, {"now": now})

    with transaction.atomic():
        reminders.reminders_plan(now=now)  # warm: policies, calendars, holidays
        advance = getattr(reminders, "watermark_advance", None)
        if advance is not None:
            # Once, as a new install's first sweep: no watermark, the whole net.
            result.no_watermark_ms, _, result.no_watermark_queries, _ = _plan_timed(now, 1)
            # Then as after a complete sweep five minutes ago (rolled back with the rest).
            advance(reminders.watermark_candidate(now - dt.timedelta(minutes=5)))
        plans: list[float] = []
        cpu: list[float] = []
        planned: list[Any] = []
        captured: list[dict[str, str]] = []
        for _ in range(max(1, reps)):
            started, cpu_started = time.perf_counter(), time.process_time()
            count, captured, planned = count_queries(lambda: reminders.reminders_plan(now=now))
            plans.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - cpu_started) * 1000)
            result.plan_queries = count
        result.plan_ms = median(plans)
        result.plan_cpu_ms = median(cpu)
        result.plan_sql_ms = page_sql_ms(captured)
        result.planned = len(planned)
        started = time.perf_counter()
        recorded = reminders.reminders_record(planned=planned, now=now)
        result.record_ms = (time.perf_counter() - started) * 1000
        result.recorded = recorded.recorded
        result.steady_ms, result.steady_cpu_ms, result.steady_queries, result.steady_planned = (
            _plan_timed(now, reps))
        quiet = now - dt.timedelta(days=8)
        quiet_widest = reminders.Clock(quiet).widest(PolicySet.load())
        result.quiet_floor_ms = explain_ms(SWEEP_FLOOR_SQL, {"widest": quiet_widest})
        result.quiet_ms, result.quiet_cpu_ms, result.quiet_queries, result.quiet_planned = (
            _plan_timed(quiet, reps))
        if deliver_budget_s > 0:
            with override_settings(
                    EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
                started = time.perf_counter()
                delivery = reminders.reminders_deliver(budget_seconds=deliver_budget_s)
                result.deliver_s = time.perf_counter() - started
                result.sent = delivery.sent
        transaction.set_rollback(True)
    result.load = os.getloadavg()
    return result


def _plan_timed(now: dt.datetime, reps: int) -> tuple[float, float, int, int]:
    """Median wall and CPU ms of `reminders_plan(now)`, its queries and reminders."""
    from supervision import reminders

    walls: list[float] = []
    cpus: list[float] = []
    count = 0
    planned: list[Any] = []
    for _ in range(max(1, reps)):
        started, cpu_started = time.perf_counter(), time.process_time()
        count, _, planned = count_queries(lambda: reminders.reminders_plan(now=now))
        walls.append((time.perf_counter() - started) * 1000)
        cpus.append((time.process_time() - cpu_started) * 1000)
    return median(walls), median(cpus), count, len(planned)


def sweep_table(result: SweepResult, *, label: str) -> str:
    rows: list[tuple[str, int | None, str, float, str]] = [
        ("due rows (tasks past or near a deadline)", result.due_rows, "raw SQL", result.floor_ms,
         ""),
        ("sweep: plan (find + thresholds + recipients + texts)", result.planned,
         "reminders_plan", result.plan_ms, f"{result.plan_queries} queries; "
         + (f"{result.vs_floor:.0f}× the raw SQL" if result.vs_floor else "")),
        ("  of which: its queries (EXPLAIN ANALYZE, summed)", result.plan_queries, "SQL",
         result.plan_sql_ms, ""),
        ("  of which: Python CPU in this process", None, "CPU", result.plan_cpu_ms, ""),
        ("sweep: record (claims + notifications)", result.recorded, "reminders_record",
         result.record_ms, "rolled back after the run"),
    ]
    if result.their_sql_ms is not None:
        rows.insert(1, ("SLA rows with no reminder yet (bench/sweep_bench.py RAW_SQL)",
                        result.their_sql_rows, "raw SQL", result.their_sql_ms, ""))
    if result.no_watermark_ms is not None:
        rows.insert(len(rows) - 1, (
            "  the same plan without a watermark (a new install's first sweep)", None,
            "reminders_plan", result.no_watermark_ms,
            f"{result.no_watermark_queries} queries; the net reads every submitted task"))
    if result.steady_ms is not None:
        rows.append(("next sweep, everything due recorded, watermark set: plan",
                     result.steady_planned, "reminders_plan", result.steady_ms,
                     f"{result.steady_queries} queries; CPU {result.steady_cpu_ms:,.1f} ms; "
                     f"{result.steady_ms / result.floor_ms:.1f}× the raw SQL"
                     if result.floor_ms else ""))
    if result.quiet_ms is not None:
        rows.append(("nothing due (8 days earlier), watermark set: raw SQL", 0, "raw SQL",
                     result.quiet_floor_ms or 0.0, ""))
        rows.append(("nothing due (8 days earlier), watermark set: plan", result.quiet_planned,
                     "reminders_plan", result.quiet_ms,
                     f"{result.quiet_queries} queries; CPU {result.quiet_cpu_ms:,.1f} ms"))
    if result.deliver_s is not None:
        rows.append(("sweep: deliver (locmem e-mail, time budget)", result.sent,
                     "reminders_deliver", result.deliver_s * 1000,
                     f"{(result.sent or 0) / result.deliver_s:,.0f} e-mails/s"
                     if result.deliver_s else ""))
    notes = ["targets: planning ≤ 3× the raw SQL that finds the same rows; nothing due ≤ 100 ms",
             "the due rows also carry reminders for escalation rungs, so planned ≥ due rows",
             "plans with the review-waiting watermark set 5 minutes before (as after a "
             "complete sweep) unless said; all inside one rolled-back transaction"]
    if result.load:
        notes.append("load average at the end: "
                     + " / ".join(f"{value:.1f}" for value in result.load))
    if result.note:
        notes.append(result.note)
    return render_table(f"Reminder sweep — {label}", ["step", "rows", "what", "ms", "note"],
                        rows, notes)


def task_count() -> int:
    from django.db import connection

    with connection.cursor() as cursor:  # the planner's estimate: exact enough, instant
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'matters_task'")
        estimate = int(cursor.fetchone()[0])
    if estimate > 0:
        return estimate
    from matters.models import Task

    return Task.objects.count()


def pages_table(results: Sequence[PageResult], *, label: str, reps: int) -> str:
    load = os.getloadavg()
    def ratio(a: float | None, b: float | None) -> str | None:
        return f"{a / b:.1f}×" if a is not None and b else None

    rows = [(r.page, r.rows, r.queries, r.server_ms, r.server_cpu_ms, r.trivial_ms,
             r.trivial_cpu_ms, r.trivial_queries, r.sql_ms, r.best_sql_ms, r.page_sql_ms,
             None if r.vs_trivial is None else f"{r.vs_trivial:.1f}×",
             ratio(r.server_cpu_ms, r.trivial_cpu_ms), ratio(r.sql_ms, r.best_sql_ms),
             r.note or "") for r in results]
    return render_table(
        f"Pages — {label}",
        ["page", "rows shown", "queries", "server ms", "server CPU ms", "trivial view ms",
         "trivial CPU ms", "trivial queries", "SQL ms (EXPLAIN ANALYZE)",
         "best hand-written SQL ms", "page SQL ms (all its queries)", "server ÷ trivial",
         "CPU ÷ trivial CPU", "SQL ÷ best", "note"],
        rows,
        [f"median of up to {reps} requests each; in-process django.test.Client, DEBUG off",
         "CPU ms = this Python process only (not PostgreSQL); robust to a busy machine",
         f"load average at the end of the run: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}",
         "targets: review queue ≤ 2× the trivial view's CPU, ≤ 8 queries, SQL ≤ 2× the best"
         " hand-written plan; dashboard ≤ 2× its queries' best plans, ≤ 60 ms SQL"],
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pages")
    parser.add_argument("--database-url")
    parser.add_argument("--allow-any-database", action="store_true")
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--label", help="results file suffix (default: task count)")
    parser.add_argument("--only", action="append", default=[], help="page name (repeatable)")
    parser.add_argument("--no-pages", action="store_true", help="only the sweep")
    parser.add_argument("--sweep", action="store_true",
                        help="also time the reminder sweep next to its raw SQL")
    parser.add_argument("--sweep-deliver-budget", type=float, default=0.0,
                        help="seconds of e-mail delivery to time (0 = skip)")
    parser.add_argument("--plans", action="store_true",
                        help="also write EXPLAIN ANALYZE text of the list queries")
    args = parser.parse_args(argv)
    setup_django(args.database_url, allow_any_database=args.allow_any_database)
    tasks = task_count()
    label = args.label or f"{tasks:,} tasks"
    results = [] if args.no_pages else run_pages(reps=args.reps, only=args.only)
    sweep = run_sweep(deliver_budget_s=args.sweep_deliver_budget) if args.sweep else None
    text = pages_table(results, label=f"{database_name()}, {label}", reps=args.reps)
    if results:
        print(text)
    suffix = args.label or str(tasks)
    data = {"database": database_name(), "tasks": tasks, "at": dt.datetime.now(dt.UTC),
            "load": os.getloadavg(), "results": [asdict(r) | {"vs_trivial": r.vs_trivial}
                                                  for r in results]}
    if sweep is not None:
        sweep_text = sweep_table(sweep, label=f"{database_name()}, {label}")
        print(sweep_text)
        save_result(f"sweep_{suffix}", sweep_text,
                    {"database": database_name(), "tasks": tasks,
                     "result": asdict(sweep) | {"vs_floor": sweep.vs_floor}})
    if args.plans:
        from django.contrib.auth.models import User

        attorney = User.objects.get(username=BENCH_ATTORNEY)
        plans = [f"-- review queue (all rows)\n{explain_plan_text(_queue(attorney))}"]
        save_result(f"plans_{suffix}", "\n\n".join(plans))
    if results:
        save_result(f"pages_{suffix}", text, data)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
