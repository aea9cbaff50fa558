"""Benchmark: a matter's supervision file at thousands of tasks; time and peak memory.

    .venv/bin/python bench/supervision_file_bench.py --tasks 5000 \
        --database-url postgres://postgres@127.0.0.1:5432/lpo_sfile_bench

The database is dropped and recreated, migrated and seeded through the services (the same
paths as the product, so every trigger and audit event is real): one matter with `--tasks`
tasks and a small one with `--small` tasks: 50 walked through the services (assigned,
started, submitted, reviewed, signed off with a step-up confirmation and delivered; every
tenth left in review), the rest bulk copies of them (`_clone`) with real audit events.
Then each matter's file is generated in a fresh child process, twice: once plain (wall and
CPU time, peak RSS from `ru_maxrss`: Pango and WeasyPrint's C allocations included), once
under `tracemalloc` (peak Python allocations; slower, so its time is not the figure). The
load average is printed next to the figures: this machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


TEMPLATE_TASKS = 50


def _walk(tasks: int, matter: Any, engagement: Any, cast: Any) -> None:
    """`tasks` tasks through the services: assigned, started, submitted, reviewed, signed
    off with a step-up and delivered; every tenth left in review."""
    from matters.models import TaskStatus
    from tests import factories as f

    for number in range(tasks):
        task = f.draft_task(actor=cast.staff_on, matter=matter, title=f"Review batch {number}")
        target = TaskStatus.IN_REVIEW if number % 10 == 9 else TaskStatus.DELIVERED
        f.advance(task, target, staff=cast.staff_on, engagement=engagement,
                  vendor_actor=cast.vendor_a_user, attorney_actor=cast.attorney)


def _clone(templates: list[Any], copies: int, matter: Any, engagement: Any) -> None:
    """Copy the template tasks' rows (task, versions, reviews, sign-offs) `copies` times in
    bulk, with the database's triggers off for this session (a bench database only: the
    services take ~0.7 s a task on this machine), then write each copy's audit events
    through `audit_record`, so the matter's chain is real and verifies. Each copied version
    gets its own SHA-256 (so each is its own evidence file in the ZIP, as in real life); its
    bytes are the template's, so the report flags them as not matching: a bench artefact."""
    import hashlib

    from django.db import connection, transaction

    from lpo_tracker.audit.services import audit_record
    from matters.models import Task
    from supervision.models import Review, SignOff, Submission

    made: list[tuple[Any, Any]] = []
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        for copy in range(copies):
            template = templates[copy % len(templates)]
            task = Task.objects.get(pk=template.pk)
            task.pk, task.id, task.matter, task.engagement = None, None, matter, engagement
            # In review until its sign-off exists (the check constraint is not a trigger).
            task.approved_signoff_id, status = None, task.status
            task.status = "in_review"
            task.title = f"{template.title} (copy {copy})"
            Task.objects.bulk_create([task])
            signed = None
            for submission in Submission.objects.filter(task_id=template.pk).order_by("version"):
                reviews = list(Review.objects.filter(submission=submission))
                signoffs = list(SignOff.objects.filter(submission=submission))
                submission.pk, submission.task = None, task
                submission.sha256 = hashlib.sha256(f"{task.pk}:{submission.version}".encode()
                                                   ).hexdigest()
                Submission.objects.bulk_create([submission])
                for review in reviews:
                    review.pk, review.submission = None, submission
                Review.objects.bulk_create(reviews)
                for signoff, review in zip(signoffs, reviews[-len(signoffs):] if signoffs
                                           else [], strict=False):
                    signoff.pk, signoff.task, signoff.submission = None, task, submission
                    signoff.review, signoff.sha256 = review, submission.sha256
                    SignOff.objects.bulk_create([signoff])
                    signed = signoff
            if signed is not None:
                Task.objects.filter(pk=task.pk).update(approved_signoff=signed, status=status)
            made.append((task, signed))
    for start in range(0, len(made), 200):
        with transaction.atomic():
            for task, signed in made[start:start + 200]:
                for action in ("task.created", "task.assigned", "task.started",
                               "submission.created", "review.started", "signoff.recorded",
                               "task.delivered"):
                    if signed is None and action in ("signoff.recorded", "task.delivered"):
                        continue
                    audit_record(actor=None, action=action, obj=task, matter_id=matter.pk,
                                 after={"engagement": engagement.pk, "vendor": engagement.vendor_id,
                                        "sha256": signed.sha256 if signed else None})


def seed(*, tasks: int, small: int) -> dict[str, int]:
    """Two matters of delivered work; returns their ids by name."""
    from matters.models import MatterRole, Task
    from matters.services import matter_member_add
    from tests import factories as f
    from tests.conftest import build_cast

    cast = build_cast()
    small_matter = f.matter(actor=cast.admin, responsible=cast.attorney, title="Small matter")
    matter_member_add(actor=cast.admin, matter=small_matter, user=cast.staff_on,
                      role=MatterRole.TEAM)
    small_engagement = f.cleared_engagement(actor=cast.staff_on, matter=small_matter,
                                            vendor=cast.engagement_a.vendor)
    _walk(min(TEMPLATE_TASKS, tasks), cast.matter, cast.engagement_a, cast)
    print("  template tasks done", file=sys.stderr, flush=True)
    templates = list(Task.objects.filter(matter=cast.matter).exclude(pk=cast.task.pk))
    _clone(templates, tasks - len(templates) - 1, cast.matter, cast.engagement_a)
    _clone(templates, small, small_matter, small_engagement)
    return {"large": cast.matter.pk, "small": small_matter.pk}


def generate_child(matter_id: int, *, trace: bool) -> dict[str, Any]:
    """In this (child) process: request and generate the file, measured."""
    import resource
    import tracemalloc

    from django.contrib.auth.models import User

    from matters.models import Matter
    from supervision.supervision_file import report
    from supervision.supervision_file.models import SupervisionFile
    from supervision.supervision_file.services import (
        supervision_file_generate,
        supervision_file_request,
    )

    # The peak RSS after each PDF volume: flat from the first volume on means the memory is
    # bounded by a volume, not by the matter.
    peaks: list[float] = []
    render = report.write_pdf

    def measured(*args: Any, **kwargs: Any) -> None:
        render(*args, **kwargs)
        peaks.append(round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1))

    report.write_pdf = measured  # type: ignore[assignment]
    matter = Matter.objects.get(pk=matter_id)
    job = supervision_file_request(actor=User.objects.get(pk=matter.responsible_attorney_id),
                                   matter=matter)
    if trace:
        tracemalloc.start()
    wall, cpu = time.perf_counter(), time.process_time()
    supervision_file_generate(job_id=job.pk)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    traced = tracemalloc.get_traced_memory()[1] if trace else None
    job = SupervisionFile.objects.get(pk=job.pk)
    return {"status": job.status, "error": job.error, "tasks": job.task_count,
            "events": job.event_count, "zip_bytes": job.size, "wall_s": round(wall, 1),
            "cpu_s": round(cpu, 1), "peak_rss_mib": round(
                resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "tracemalloc_peak_mib": round(traced / 2**20, 1) if traced else None,
            "peak_rss_after_each_volume_mib": peaks, "load_average": os.getloadavg()}


def _child(matter_id: int, trace: bool) -> dict[str, Any]:
    output = subprocess.run(  # noqa: S603 (this script, this interpreter)
        [sys.executable, __file__, "--child", str(matter_id), *(["--trace"] if trace else [])],
        capture_output=True, text=True, check=True, env=os.environ.copy())
    return json.loads(output.stdout.strip().splitlines()[-1])


def _django(database_url: str) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lpo_tracker.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("CLAMAV_ADDRESS", "off")
    import django

    django.setup()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=5000)
    parser.add_argument("--small", type=int, default=500)
    parser.add_argument("--database-url",
                        default="postgres://postgres@127.0.0.1:5432/lpo_sfile_bench",
                        help="A PostgreSQL database that will be DROPPED and recreated.")
    parser.add_argument("--keep", action="store_true", help="reuse the seeded database")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _django(os.environ.get("DATABASE_URL", args.database_url))
        print(json.dumps(generate_child(args.child, trace=args.trace)))
        return
    sys.path.insert(0, str(ROOT))
    from bench.sweep_bench import _recreate_database

    state = Path(os.environ.get("LPO_VAR_DIR", ROOT / "var")) / "sfile-bench.json"
    if not args.keep:
        _recreate_database(args.database_url)
    _django(args.database_url)
    if not args.keep:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        matters = seed(tasks=args.tasks, small=args.small)
        print(f"seeded in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        state.write_text(json.dumps(matters))
    matters = json.loads(state.read_text())
    rows = []
    for name in ("small", "large"):
        load_before = os.getloadavg()[0]
        plain = _child(matters[name], trace=False)
        traced = _child(matters[name], trace=True)
        rows.append((name, plain, traced, load_before, os.getloadavg()[0]))
    print("| matter | tasks | audit events | ZIP | wall | CPU | peak RSS | peak Python "
          "(tracemalloc) | load avg (1 min) before / after |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, plain, traced, before, after in rows:
        print(f"| {name} | {plain['tasks']} | {plain['events']} | "
              f"{plain['zip_bytes'] / 2**20:.1f} MiB | {plain['wall_s']} s | {plain['cpu_s']} s | "
              f"{plain['peak_rss_mib']} MiB | {traced['tracemalloc_peak_mib']} MiB | "
              f"{before:.1f} / {after:.1f} |")


if __name__ == "__main__":
    main()
