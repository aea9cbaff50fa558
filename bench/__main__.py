"""The whole bench from one command (docs/performance.md).

    .venv/bin/python -m bench                       # 10k, 100k and 1M tasks; ~30-40 min
    .venv/bin/python -m bench --scales 10k,100k     # quicker
    .venv/bin/python -m bench --regenerate          # rebuild the firms first

1. Generate one firm per scale into its own database (lpo_bench_10k, lpo_bench_100k,
   lpo_bench for 1M), unless it is already there (`--regenerate` rebuilds it).
2. Per scale: the page benches and the reminder sweep, on the code as it is.
3. On the largest scale: the load test (gunicorn + wrk).
4. The growth table: each figure at each scale, from the JSON the steps wrote, next to the
   figures measured before the performance fixes (bench/results/before-fixes/, kept from
   the first run, when present).

Each step is a subprocess with its own DATABASE_URL; each prints its table, and all tables
end up in bench/results/summary.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import RESULTS_DIR, ROOT, fmt, machine_description, render_table

SCALES = {"10k": (10_000, "lpo_bench_10k"), "100k": (100_000, "lpo_bench_100k"),
          "1m": (1_000_000, "lpo_bench")}
SERVER = "postgres://postgres@127.0.0.1:5432"


def step(title: str, *args: str, database_url: str) -> str:
    print(f"\n## {title}\n", flush=True)
    started = time.perf_counter()
    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": str(ROOT),
           "LOG_LEVEL": "WARNING", "PYTHONWARNINGS": "ignore"}
    completed = subprocess.run([sys.executable, "-m", *args],  # noqa: S603 (own modules)
                               cwd=ROOT, env=env,
                               capture_output=True, text=True, check=False)
    sys.stdout.write(completed.stdout)
    if completed.returncode != 0:
        sys.stdout.write(completed.stderr[-3000:])
        raise SystemExit(f"step failed: {title}")
    print(f"({time.perf_counter() - started:.0f} s)", flush=True)
    return completed.stdout


def _load(name: str) -> dict[str, Any] | None:
    path = RESULTS_DIR / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _cell(by_page: dict[str, Any], page: str) -> str:
    r = by_page.get(page)
    if not r or r.get("server_ms") is None:
        return "–"
    return (f"{fmt(r['server_ms'], 0)} (CPU {fmt(r.get('server_cpu_ms'), 0)}) / "
            f"{r['queries']} q; trivial {fmt(r['trivial_ms'], 0)}; "
            f"SQL {fmt(r['sql_ms'], 0)}")


def growth_table(scales: Sequence[str]) -> str:
    """Each page's server time, queries and floor at each scale: now, and before the fixes."""
    rows = []
    for code, pages_name, sweep_name in (
        ("before the fixes", "before-fixes/pages_{scale}_current",
         "before-fixes/sweep_{scale}_current"),
        ("after the fixes", "pages_{scale}", "sweep_{scale}"),
    ):
        for scale in scales:
            data = _load(pages_name.format(scale=scale))
            sweep = _load(sweep_name.format(scale=scale))
            if data is None:
                continue
            by_page = {r["page"]: r for r in data["results"]}
            sweep_cell = "–"
            if sweep:
                s = sweep["result"]
                sweep_cell = (f"{fmt(s['plan_ms'], 0)} ms (raw SQL {fmt(s['floor_ms'], 0)}; "
                              f"{s['due_rows']:,} due)")
            rows.append((code, f"{data['tasks']:,}", _cell(by_page, "review queue"),
                         _cell(by_page, "matter list"), _cell(by_page, "dashboard"),
                         _cell(by_page, "task page"),
                         _cell(by_page, "admin tasks ?status=submitted"), sweep_cell))
    return render_table(
        "Growth: 10,000 → 100,000 → 1,000,000 tasks",
        ["code", "tasks", "review queue", "matter list", "dashboard", "task page",
         "admin changelist", "sweep (plan)"], rows,
        ["each cell, milliseconds: server wall-clock median (its Python CPU) / queries; "
         "trivial-view floor; SQL floor (EXPLAIN ANALYZE of the same rows)",
         "sweep: reminders_plan wall-clock (raw SQL that finds the due rows)",
         "before the fixes: bench/results/before-fixes/, the first run (busier machine)"])


def growth_only(scales: Sequence[str]) -> int:
    """Re-print the growth table from the JSON already in bench/results/."""
    print(growth_table(scales))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", default="10k,100k,1m")
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--load-seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--server", default=SERVER, help="PostgreSQL server URL, no database")
    parser.add_argument("--skip-load", action="store_true")
    parser.add_argument("--growth-only", action="store_true",
                        help="only re-print the growth table from earlier results")
    args = parser.parse_args(argv)
    scales = [s.strip() for s in args.scales.split(",") if s.strip()]
    unknown = [s for s in scales if s not in SCALES]
    if unknown:
        parser.error(f"unknown scale(s) {unknown}; choose from {list(SCALES)}")
    if args.growth_only:
        return growth_only(scales)

    outputs = [f"Machine: {machine_description()}\n"]
    for scale in scales:
        tasks, database = SCALES[scale]
        url = f"{args.server}/{database}"
        outputs.append(step(f"generate {scale}", "bench.generate", "--tasks", str(tasks),
                            "--label", scale,
                            "--reset" if args.regenerate else "--if-missing",
                            database_url=url))
        outputs.append(step(f"pages + sweep {scale}", "bench.pages",
                            "--reps", str(args.reps), "--label", scale, "--sweep",
                            database_url=url))
    if not args.skip_load:
        tasks, database = SCALES[scales[-1]]
        outputs.append(step(f"load test {scales[-1]}", "bench.loadtest",
                            "--label", scales[-1],
                            "--duration", str(args.load_seconds),
                            "--workers", str(args.workers),
                            "--connections", str(args.connections),
                            database_url=f"{args.server}/{database}"))
    growth = growth_table(scales)
    print("\n" + growth)
    outputs.append(growth)
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "summary.md").write_text("\n".join(outputs))
    print(f"\nAll tables: {Path(RESULTS_DIR / 'summary.md').relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
