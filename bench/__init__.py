"""Benchmarks of LPO Tracker on a generated firm (issue 7).

    python -m bench                  # everything: generate 10k/100k/1M firms, page and sweep
                                     # benches, load test; prints the tables (docs/performance.md)
    python -m bench.generate --tasks 1000000 --database-url postgres://…/lpo_bench
    python -m bench.pages    --database-url postgres://…/lpo_bench --sweep
    python -m bench.loadtest --database-url postgres://…/lpo_bench

(bench/sweep_bench.py is the reminder sweep's own benchmark, by the sweep's author; the
`--sweep` table of bench.pages calls the same sweep functions on the generated firm.)

Every script prints one table per run, each figure next to its floor measured in the same
run, and writes it (plus a JSON twin) under bench/results/. The scripts refuse a database
whose name does not contain "bench" unless told otherwise: they reset and fill it.

This module only holds what the scripts share; it never sets Django up on import, so the
CI smoke test (tests/bench/) can import the scripts inside pytest-django's test database.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/lpo_bench"
# Usernames the generator creates and the benches log in as.
BENCH_ATTORNEY = "attorney000"  # supervises `queue_matters` matters (500 at full size)
BENCH_ADMIN = "bench_admin"  # superuser for the admin changelist


def setup_django(database_url: str | None, *, allow_any_database: bool = False) -> None:
    """Point Django at `database_url` (or $DATABASE_URL) and set it up, for a script run.

    The benches truncate and fill their database, so a name without "bench" is refused
    unless `allow_any_database`: the developer's `lpo_tracker` and the engineers' `test_*`
    databases are never touched by accident.
    """
    url = database_url or os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    name = url.rsplit("/", 1)[-1].split("?", 1)[0]
    if not url.startswith(("postgres://", "postgresql://")):
        raise SystemExit(f"bench: needs PostgreSQL, got {url!r}")
    if "bench" not in name and not allow_any_database:
        raise SystemExit(
            f"bench: refusing database {name!r}; use a dedicated one such as lpo_bench "
            "(or pass --allow-any-database)"
        )
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lpo_tracker.settings")
    os.environ.setdefault("LPO_ENV", "development")
    os.environ.setdefault("DJANGO_DEBUG", "false")
    import django

    django.setup()


def database_name() -> str:
    from django.db import connection

    return str(connection.settings_dict["NAME"])


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        if value != value:  # NaN
            return "–"
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def render_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]],
                 notes: Sequence[str] = ()) -> str:
    """A Markdown table (pipes line up in a terminal too), with a title and notes."""
    cells = [[fmt(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h)
              for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        return "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)) + " |"

    out = [f"### {title}", "", line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in cells]
    out += [""] + [f"- {n}" for n in notes]
    return "\n".join(out).rstrip() + "\n"


def save_result(name: str, text: str, data: dict[str, Any] | None = None) -> Path:
    """bench/results/<name>.txt (the table) and <name>.json (the numbers), small files."""
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{name}.txt"
    path.write_text(text)
    if data is not None:
        (RESULTS_DIR / f"{name}.json").write_text(json.dumps(data, indent=2, default=str))
    return path


def machine_description() -> str:
    """CPU, cores, memory and versions, for the docs' "machine" section."""
    cpu = platform.processor() or platform.machine()
    try:
        for raw in Path("/proc/cpuinfo").read_text().splitlines():
            if raw.startswith("model name"):
                cpu = raw.split(":", 1)[1].strip()
                break
        mem_kb = next(int(raw.split()[1]) for raw in Path("/proc/meminfo").read_text().splitlines()
                      if raw.startswith("MemTotal"))
        memory = f"{mem_kb / 1024 / 1024:.0f} GiB"
    except (OSError, StopIteration, ValueError):
        memory = "?"
    try:
        pg = subprocess.run(["psql", "--version"],  # noqa: S607 (the PATH psql)
                            capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pg = "psql ?"
    return (f"{cpu}, {os.cpu_count()} cores, {memory} RAM; Python {sys.version.split()[0]}; "
            f"{pg}")
