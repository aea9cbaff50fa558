"""Load test: gunicorn on loopback, wrk (Debian) or locust (fallback), logged-in attorney.

    python -m bench.loadtest --database-url postgres://postgres@127.0.0.1:5432/lpo_bench \
        --workers 4 --connections 8 --duration 20

Starts `gunicorn lpo_tracker.wsgi -w <workers> -b 127.0.0.1:<port>` against the bench
database (LPO_ENV=development, DJANGO_DEBUG=false, ALLOWED_HOSTS=127.0.0.1), creates a session
for `attorney000` with Django's SessionStore and hands its cookie to wrk, then for each of
the dashboard, the review queue and a task page: a short warm-up, then `--duration` seconds
of load. Prints requests/s and p50/p95/p99 latency with the worker count, and how many
responses were not 200. wrk shares the 2 cores with gunicorn and PostgreSQL: that is in the
figures (the table says so).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from bench import (
    BENCH_ATTORNEY,
    ROOT,
    database_name,
    render_table,
    save_result,
    setup_django,
)

WRK_SCRIPT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH requests=%d duration_us=%d errors=%d non2xx=%d\\n",
    summary.requests, summary.duration,
    e.connect + e.read + e.write + e.timeout, e.status))
  for _, p in ipairs({50, 95, 99}) do
    io.write(string.format("BENCH p%d=%d\\n", p, latency:percentile(p)))
  end
end
"""


@dataclass
class LoadResult:
    page: str
    path: str
    tool: str
    workers: int
    connections: int
    seconds: float
    requests: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int
    non_2xx: int
    cpu_ms_per_request: float | None = None  # gunicorn workers + their PostgreSQL backends

    @property
    def capacity_rps(self) -> float | None:
        """Requests/s the server side could sustain on this machine's cores if nothing else
        ran: cores ÷ CPU per request (the load generator's own CPU left out)."""
        if not self.cpu_ms_per_request:
            return None
        return (os.cpu_count() or 1) * 1000 / self.cpu_ms_per_request


def database_url_from_settings() -> str:
    """The URL of the database Django is connected to (pytest's test database in CI)."""
    from urllib.parse import quote

    from django.db import connection

    settings = connection.settings_dict
    credentials = quote(settings["USER"] or "postgres")
    if settings.get("PASSWORD"):
        credentials += ":" + quote(settings["PASSWORD"])
    return (f"postgres://{credentials}@{settings['HOST'] or '127.0.0.1'}:"
            f"{settings['PORT'] or 5432}/{settings['NAME']}")


def _cpu_seconds(pids: Sequence[int]) -> dict[int, float]:
    """User + system CPU seconds of each of `pids` so far, from /proc (Linux)."""
    tick = os.sysconf("SC_CLK_TCK")
    seconds = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        seconds[pid] = (int(fields[11]) + int(fields[12])) / tick
    return seconds


def _cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU spent between two readings; a process that appeared in between counts whole."""
    return sum(value - before.get(pid, 0.0) for pid, value in after.items())


def server_pids(master_pid: int, database: str) -> list[int]:
    """gunicorn's workers and the PostgreSQL backends connected to `database` (persistent
    connections: DB_CONN_MAX_AGE > 0), this process's own backend excepted."""
    from django.db import connection

    workers = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == master_pid:
                workers.append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s"
                       " AND pid <> pg_backend_pid()", [database])
        backends = [int(row[0]) for row in cursor.fetchall()]
    return workers + backends


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def session_cookie(username: str = BENCH_ATTORNEY) -> str:
    """A logged-in session for `username`, stored in the database gunicorn reads."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import User
    from django.contrib.sessions.backends.db import SessionStore

    user = User.objects.get(username=username)
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    assert store.session_key is not None
    return store.session_key


def task_path(username: str = BENCH_ATTORNEY) -> str:
    from django.contrib.auth.models import User
    from django.urls import reverse

    from supervision.selectors import review_queue_for

    user = User.objects.get(username=username)
    pk = review_queue_for(user).values_list("pk", flat=True)[0]
    return reverse("supervision:task_detail", kwargs={"pk": pk})


@contextlib.contextmanager
def gunicorn(database_url: str, *, workers: int, port: int, conn_max_age: int,
             env: dict[str, str] | None = None) -> Iterator[tuple[str, int]]:
    app = "lpo_tracker.wsgi"
    env = {**os.environ, **(env or {}), "DATABASE_URL": database_url, "LPO_ENV": "development",
           "DJANGO_DEBUG": "false", "ALLOWED_HOSTS": "127.0.0.1", "LOG_LEVEL": "WARNING",
           "DB_CONN_MAX_AGE": str(conn_max_age), "PYTHONPATH": str(ROOT)}
    command = [str(Path(sys.executable).parent / "gunicorn"), app, "-w", str(workers),
               "-b", f"127.0.0.1:{port}", "--log-level", "warning", "--timeout", "120"]
    log = tempfile.NamedTemporaryFile(  # noqa: SIM115 (lives as long as gunicorn)
        prefix="bench-gunicorn-", suffix=".log", delete=False)
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)  # noqa: S603
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/accounts/login/", timeout=5).read()  # noqa: S310
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not start: "
                                       + Path(log.name).read_text()[-2000:]) from None
                time.sleep(0.3)
        yield base, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        os.unlink(log.name)


def check_page(base: str, path: str, cookie: str) -> None:
    request = urllib.request.Request(  # noqa: S310 (loopback http only)
        base + path, headers={"Cookie": f"sessionid={cookie}"})
    with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310 (loopback)
        if response.status != 200 or response.geturl() != base + path:
            raise RuntimeError(f"{path}: HTTP {response.status} at {response.geturl()}")


def run_wrk(base: str, path: str, cookie: str, *, connections: int, seconds: float,
            threads: int) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT)
    try:
        output = subprocess.run(  # noqa: S603
            ["wrk",  # noqa: S607 (Debian's wrk on the PATH)
             f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
             "--latency", "--timeout", "30s", "-s", script.name,
             "-H", f"Cookie: sessionid={cookie}", base + path],
            capture_output=True, text=True, check=True, timeout=seconds + 120).stdout
    finally:
        os.unlink(script.name)
    values = {key: float(value) for key, value in re.findall(r"(\w+)=(\d+)", output)}
    duration = values["duration_us"] / 1e6
    return {"requests": values["requests"], "rps": values["requests"] / duration,
            "p50": values["p50"] / 1000, "p95": values["p95"] / 1000,
            "p99": values["p99"] / 1000, "errors": values["errors"],
            "non2xx": values["non2xx"], "seconds": duration}


def run_locust(base: str, path: str, cookie: str, *, connections: int, seconds: float
               ) -> dict[str, float]:
    """Fallback where wrk is not installed (e.g. CI): locust headless, same numbers."""
    import csv

    locustfile = Path(__file__).with_name("locustfile.py")
    with tempfile.TemporaryDirectory() as folder:
        prefix = Path(folder) / "stats"
        env = {**os.environ, "BENCH_PATH": path, "BENCH_SESSION": cookie}
        subprocess.run(  # noqa: S603
            [str(Path(sys.executable).parent / "locust"), "-f", str(locustfile), "--headless",
             "-u", str(connections), "-r", str(connections),
             # locust counts its start-up (seconds here) inside --run-time
             "-t", f"{max(1, round(seconds)) + 5}s",
             "--host", base, "--csv", str(prefix), "--only-summary", "--loglevel", "ERROR"],
            env=env, capture_output=True, text=True, timeout=seconds + 120, check=False)
        with open(f"{prefix}_stats.csv") as handle:
            row = next(r for r in csv.DictReader(handle) if r["Name"] == "Aggregated")
    requests = float(row["Request Count"])
    return {"requests": requests, "rps": float(row["Requests/s"]),
            "p50": float(row["50%"]), "p95": float(row["95%"]), "p99": float(row["99%"]),
            "errors": float(row["Failure Count"]), "non2xx": float(row["Failure Count"]),
            "seconds": seconds}


def run_load(database_url: str, *, workers: int = 4, connections: int = 8,
             seconds: float = 20.0, warmup: float = 3.0,
             tool: str = "auto", conn_max_age: int = 600, port: int | None = None,
             pages: Sequence[str] = (), env: dict[str, str] | None = None
             ) -> list[LoadResult]:
    """Serve the bench database with gunicorn and load three pages, one after the other
    (`pages`: only those, by name). `port`: where gunicorn listens (a free one if None)."""
    if tool == "auto":
        tool = "wrk" if shutil.which("wrk") else "locust"
    cookie = session_cookie()
    every = [("dashboard", "/"), ("review queue", "/review/"), ("task page", task_path())]
    chosen = [(page, path) for page, path in every if not pages or page in pages]
    results = []
    port = port or free_port()
    from bench import database_name

    with gunicorn(database_url, workers=workers, port=port, conn_max_age=conn_max_age,
                  env=env) as (base, master_pid):
        for page, path in chosen:
            check_page(base, path, cookie)
            if tool == "wrk":
                run_wrk(base, path, cookie, connections=connections, seconds=warmup,
                        threads=min(2, connections))
            database = database_url.rsplit("/", 1)[-1] or database_name()
            cpu_before = _cpu_seconds(server_pids(master_pid, database))
            if tool == "wrk":
                numbers = run_wrk(base, path, cookie, connections=connections,
                                  seconds=seconds, threads=min(2, connections))
            else:
                numbers = run_locust(base, path, cookie, connections=connections,
                                     seconds=seconds)
            cpu_used = _cpu_used(cpu_before, _cpu_seconds(server_pids(master_pid, database)))
            results.append(LoadResult(
                page=page, path=path, tool=tool, workers=workers, connections=connections,
                seconds=numbers["seconds"], requests=int(numbers["requests"]),
                rps=numbers["rps"], p50_ms=numbers["p50"], p95_ms=numbers["p95"],
                p99_ms=numbers["p99"], errors=int(numbers["errors"]),
                non_2xx=int(numbers["non2xx"]),
                cpu_ms_per_request=(cpu_used * 1000 / numbers["requests"]
                                    if numbers["requests"] and conn_max_age > 0 else None)))
    return results


def load_table(results: Sequence[LoadResult], *, label: str, conn_max_age: int) -> str:
    load = os.getloadavg()
    first = results[0] if results else None
    rows = [(r.page, r.path, r.requests, r.rps, r.p50_ms, r.p95_ms, r.p99_ms,
             r.errors + r.non_2xx, r.cpu_ms_per_request, r.capacity_rps) for r in results]
    notes = [f"gunicorn sync workers: {first.workers}; {first.tool} with {first.connections} "
             f"connections for {first.seconds:.0f} s per page after a warm-up; loopback; "
             f"DB_CONN_MAX_AGE={conn_max_age}" if first else "no results",
             "the load generator shares the machine's cores with gunicorn and PostgreSQL",
             "server CPU = gunicorn workers + their PostgreSQL backends (from /proc), per "
             "request; capacity = cores ÷ that: what the server side could sustain alone",
             f"load average at the end of the run: {load[0]:.1f} / {load[1]:.1f} / "
             f"{load[2]:.1f}",
             "target: review queue ≥ 300 requests/s with p95 < 100 ms on 2 cores"]
    return render_table(f"Load test — {label}",
                        ["page", "path", "requests", "requests/s", "p50 ms", "p95 ms", "p99 ms",
                         "errors + non-200", "server CPU ms / request",
                         f"capacity on {os.cpu_count()} idle cores, req/s"], rows, notes)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.loadtest")
    parser.add_argument("--database-url")
    parser.add_argument("--allow-any-database", action="store_true")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per page")
    parser.add_argument("--tool", choices=("auto", "wrk", "locust"), default="auto")
    parser.add_argument("--conn-max-age", type=int, default=600,
                        help="DB_CONN_MAX_AGE for gunicorn (0 = a connection per request; "
                        "then the CPU per request cannot be counted)")
    parser.add_argument("--label")
    parser.add_argument("--port", type=int, help="gunicorn's loopback port (default: a free one)")
    parser.add_argument("--page", action="append", default=[],
                        help="only this page (repeatable): dashboard, review queue, "
                        "task page")
    parser.add_argument("--no-page-cache", action="store_true",
                        help="serve with REVIEW_QUEUE_CACHE_SECONDS=0 (the uncached figures)")
    args = parser.parse_args(argv)
    # A TERM (Ctrl-C, a killed runner) unwinds normally: gunicorn is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    setup_django(args.database_url, allow_any_database=args.allow_any_database)
    results = run_load(os.environ["DATABASE_URL"], workers=args.workers,
                       connections=args.connections, seconds=args.duration, tool=args.tool,
                       conn_max_age=args.conn_max_age, port=args.port, pages=args.page,
                       env={"REVIEW_QUEUE_CACHE_SECONDS": "0"} if args.no_page_cache else None)
    from bench.pages import task_count

    tasks = task_count()
    label = f"{database_name()}, {tasks:,} tasks" + (
        ", page cache off" if args.no_page_cache else "")
    text = load_table(results, label=label, conn_max_age=args.conn_max_age)
    print(text)
    save_result(f"load_{args.label or tasks}", text,
                {"database": database_name(), "tasks": tasks,
                 "results": [asdict(r) | {"capacity_rps": r.capacity_rps} for r in results]})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
