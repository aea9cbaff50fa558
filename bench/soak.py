"""Soak test of the embedded default: `make run` for hours with reminders flowing.

    .venv/bin/python bench/soak.py --minutes 130 --port 8510 --out /path/to/results

What it does:

1. Starts `manage.py runstack` (what `make run` runs) with no DATABASE_URL/REDIS_URL, so on
   SQLite and the filesystem broker, in a scratch LPO_VAR_DIR under `--out`, on `--port`.
   E-mail goes over real SMTP to a local aiosmtpd server on `--port + 1`, which records
   every message's Message-ID.
2. A gentle scripted load through the services, every `--interval` seconds: create a task due
   in 12–30 minutes, assign it to a vendor, start it, upload a version (a submission). So
   "review waiting" notices go out at once (from the web side's after-commit hook) and the
   beat's 5-minute sweep records "due soon" and then "overdue" for every task. One HTTP GET
   of the login page per round checks that the web server answers.
3. Every `--check-every` seconds (and at the end) it compares durable state with what was
   sent, with a grace of `--grace` seconds (longer than one sweep period):
   - missed: reminders the app's own planner says were due `grace` ago and are still not
     recorded (`reminders_plan(now=now - grace)`; recorded keys are dropped by the planner);
   - unsent: notifications of reminders recorded more than `grace` ago whose e-mail has not
     been marked sent;
   - lost: e-mails marked sent that the SMTP server never received (by Message-ID);
   - duplicates: Message-IDs received more than once;
   - restarts and crashes: the supervisor's "exited with code" lines, "Unrecoverable error"
     and JSONDecodeError lines in the log, whether the supervisor is still running.
   It writes `summary.json` and `summary.md` to `--out` each time (overwritten), and copies the
   stack's log to `--out/run.log`.
4. At the end it stops the stack with SIGINT and checks "All processes stopped.".

Reading the result: `summary.md` says PASS when crashes, restarts, missed, unsent, lost and
duplicates are all 0 and the stack stopped cleanly; `summary.json` has the same figures plus
the time series of checks. The stack's deadlines are minutes, not days, so every task passes
through both of its thresholds during the run. Keep the load gentle on a shared machine.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import logging
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import traceback
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import asdict, dataclass, field
from email import message_from_bytes
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MESSAGE_ID = re.compile(r"<lpo-notification-(\d+)@")


# --- SMTP sink --------------------------------------------------------------------------------


class Sink:
    """aiosmtpd handler: counts every received message by its notification Message-ID."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: Counter[int] = Counter()
        self.other = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.original_content or envelope.content)
        found = MESSAGE_ID.search(str(message.get("Message-ID", "")))
        with self.lock:
            if found:
                self.received[int(found.group(1))] += 1
            else:
                self.other += 1
        return "250 OK"


# --- figures ----------------------------------------------------------------------------------


@dataclass
class Check:
    at: str
    elapsed_minutes: float
    tasks_created: int
    submissions: int
    load_errors: int
    reminders_recorded: int
    emails_marked_sent: int
    emails_received: int
    missed: int
    missed_checked: bool
    unsent: int
    lost: int
    duplicates: int
    restarts: int
    crashes: int
    web_failures: int
    supervisor_running: bool
    load_average: str


@dataclass
class Soak:
    started_at: str
    minutes: float
    port: int
    var_dir: str
    code: str
    checks: list[Check] = field(default_factory=list)
    load_error_samples: list[str] = field(default_factory=list)
    crash_lines: list[str] = field(default_factory=list)
    missed_samples: list[str] = field(default_factory=list)
    lost_samples: list[int] = field(default_factory=list)
    missed_checked_after_minutes: float = 0.0
    check_errors: int = 0
    check_error_samples: list[str] = field(default_factory=list)
    finished: bool = False
    stopped_cleanly: bool | None = None
    verdict: str = "RUNNING"


# --- the stack --------------------------------------------------------------------------------


def stack_env(var_dir: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(
        LPO_VAR_DIR=str(var_dir),
        PORT=str(port),
        PYTHONUNBUFFERED="1",
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(port + 1),
        SITE_URL=f"http://127.0.0.1:{port}",
    )
    return env


def wait_for_line(
    log: Path, pattern: str, process: subprocess.Popen[bytes], timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while not re.search(pattern, log.read_text(errors="replace")):
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the stack did not log {pattern!r}; see {log}")
        time.sleep(1)


# --- load (through the services, in this process, on the same SQLite file) ---------------------


@dataclass
class Cast:
    staff: Any
    engagement: Any
    vendor_user: Any


def find_cast() -> list[Cast]:
    """Engagements of the demo firm that can take work: a vetted vendor with a user, and a
    team member of the matter to assign."""
    from matters.models import Engagement, MatterMembership, MatterRole
    from vendors.models import VendorUser

    casts = []
    for engagement in Engagement.objects.select_related("matter", "vendor"):
        staff = (MatterMembership.objects.filter(matter=engagement.matter, role=MatterRole.TEAM)
                 .select_related("user").first())
        link = VendorUser.objects.filter(vendor=engagement.vendor).select_related("user").first()
        if staff and link:
            casts.append(Cast(staff=staff.user, engagement=engagement, vendor_user=link.user))
    return casts


def one_round(casts: list[Cast], rng: random.Random, number: int) -> str | None:
    """Create, assign and start one task, and on every other round submit a version; False
    if the engagement refused it. Unsubmitted tasks stay with the vendor, so their vendor
    deadline (12-30 minutes out) brings "due soon" and then "overdue"; submitted ones bring
    "review waiting" at once. Returns "started" or "submitted", None if refused."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone

    from lpo_tracker.errors import RuleViolation
    from matters.services import task_assign, task_create, task_start
    from supervision.services import submission_create

    cast = casts[number % len(casts)]
    due = timezone.now() + dt.timedelta(minutes=rng.uniform(12, 30))
    try:
        task = task_create(actor=cast.staff, matter=cast.engagement.matter,
                           title=f"Soak task {number}", task_type="document_review",
                           sla_due_at=due)
        task = task_assign(actor=cast.staff, task=task, engagement=cast.engagement)
        task = task_start(actor=cast.vendor_user, task=task)
        if number % 2:
            return "started"
        body = f"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% soak {number}\n%%EOF\n"
        submission_create(actor=cast.vendor_user, task=task,
                          upload=SimpleUploadedFile(f"soak-{number}.pdf", body.encode(),
                                                    content_type="application/pdf"))
    except RuleViolation:
        casts.remove(cast)  # e.g. this vendor's diligence lapsed in the demo data
        return None
    return "submitted"


# --- checks -----------------------------------------------------------------------------------


def durable_figures(grace: dt.timedelta, *, plan: bool = True) -> dict[str, Any]:
    from django.db import connections
    from django.utils import timezone

    from matters.models import Task
    from supervision.models import Notification, ReminderRecord
    from supervision.reminders import TASK_OBJECT, reminders_plan

    now = timezone.now()
    old = now - grace
    try:
        # What the app's own planner says was due `grace` ago and is still unrecorded, for
        # tasks untouched since then (a task created a minute ago is not late yet).
        planned = reminders_plan(now=old) if plan else []
        settled = set(Task.objects.filter(updated_at__lt=old).values_list("pk", flat=True))
        missed = [item for item in planned
                  if item.object_type != TASK_OBJECT or item.object_id in settled]
        unsent = (Notification.objects.filter(reminder__created_at__lt=old,
                                              emailed_at__isnull=True)
                  .exclude(user__notification_settings__email_delivery="daily_digest").count())
        emailed = set(Notification.objects.filter(emailed_at__isnull=False)
                      .exclude(user__email="").values_list("pk", flat=True))
        return {
            "missed": [f"{item.kind} {item.object_type}:{item.object_id} @{item.threshold}"
                       for item in missed],
            "unsent": unsent,
            "emailed": emailed,
            "recorded": ReminderRecord.objects.count(),
        }
    finally:
        connections.close_all()


def log_figures(log: Path) -> tuple[int, list[str]]:
    text = log.read_text(errors="replace")
    restarts = len(re.findall(r"^stack \| \S+ exited with code", text, flags=re.MULTILINE))
    crash_lines = [line for line in text.splitlines()
                   if "Unrecoverable error" in line or "JSONDecodeError" in line
                   or re.search(r"^stack \| \S+ exited with code", line)]
    return restarts, crash_lines


def web_answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=30) as r:
            return bool(r.status == 200)
    except Exception:  # any failure to answer counts as a web failure
        return False


def write_summary(out: Path, soak: Soak) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(asdict(soak), indent=2) + "\n")
    last = soak.checks[-1] if soak.checks else None
    lines = [
        f"# Soak of `make run` (embedded default): {soak.verdict}",
        "",
        f"Started {soak.started_at}, planned {soak.minutes:.0f} min, port {soak.port}, "
        f"code {soak.code}, data {soak.var_dir}.",
        "",
    ]
    if last:
        lines += [
            "| figure | value |",
            "| --- | --- |",
            *(f"| {name} | {value} |" for name, value in asdict(last).items()),
            "",
            "missed = due by the planner `grace` ago but not recorded; unsent = recorded "
            "`grace` ago, e-mail not marked sent; lost = marked sent, never received by SMTP; "
            "duplicates = a Message-ID received twice; restarts = children the supervisor "
            "restarted; crashes = restart, Unrecoverable error or JSONDecodeError lines.",
            "",
        ]
    for title, samples in (("Crash lines", soak.crash_lines), ("Missed", soak.missed_samples),
                           ("Lost notification ids", soak.lost_samples),
                           ("Load errors", soak.load_error_samples),
                           ("Check errors", soak.check_error_samples)):
        if samples:
            lines += [f"## {title}", "", *(f"- `{s}`" for s in samples[:20]), ""]
    lines += [f"Checks so far: {len(soak.checks)} ({soak.check_errors} failed and were "
              f"retried); finished: {soak.finished}; stopped "
              f"cleanly: {soak.stopped_cleanly}.", ""]
    (out / "summary.md").write_text("\n".join(lines))


# --- main -------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    from aiosmtpd.controller import Controller

    out: Path = args.out.resolve()
    var_dir = out / "var"
    if var_dir.exists():
        shutil.rmtree(var_dir)
    out.mkdir(parents=True, exist_ok=True)
    env = stack_env(var_dir, args.port)
    os.environ.update({k: v for k, v in env.items() if k != "PORT"})
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)

    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd: one line per command
    sink = Sink()
    smtp = Controller(sink, hostname="127.0.0.1", port=args.port + 1)
    smtp.start()
    log = out / "stack.log"
    code = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,  # noqa: S607
                          capture_output=True, check=False).stdout.strip() \
        or os.environ.get("SOAK_CODE", str(ROOT))
    soak = Soak(started_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                minutes=args.minutes, port=args.port, var_dir=str(var_dir), code=code)
    with log.open("wb") as stream:
        stack = subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
            [sys.executable, "manage.py", "runstack", "--port", str(args.port)],
            cwd=ROOT, env=env, stdout=stream, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        wait_for_line(log, r"Press Ctrl-C", stack, timeout=600)
        wait_for_line(log, r"celery@\S+ ready", stack, timeout=300)

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lpo_tracker.settings")
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        from django.db import connections

        rng = random.Random(14)
        casts = find_cast()
        if not casts:
            raise SystemExit("no engagement of the demo firm can take work")
        started = time.monotonic()
        # Until the stack has been up for `grace`, its first sweep may still be to come.
        soak.missed_checked_after_minutes = round(args.grace / 60, 1)
        end = started + args.minutes * 60
        next_check = started + args.check_every
        grace = dt.timedelta(seconds=args.grace)
        number = tasks = submissions = load_errors = web_failures = 0
        while True:
            now = time.monotonic()
            if now >= end or stack.poll() is not None:
                break
            number += 1
            try:
                outcome = one_round(casts, rng, number) if casts else None
                tasks += outcome is not None
                submissions += outcome == "submitted"
            except Exception:
                load_errors += 1
                soak.load_error_samples.append(traceback.format_exc(limit=3)[-600:])
            finally:
                connections.close_all()
            if not web_answers(args.port):
                web_failures += 1
            if time.monotonic() >= next_check:
                safe_check(out, soak, sink, log, stack, grace, started, tasks, submissions,
                           load_errors, web_failures)
                next_check += args.check_every
            time.sleep(args.interval)
        # Let the last sweeps run before the final count: everything created is due by then.
        settle_end = time.monotonic() + args.settle
        while time.monotonic() < settle_end and stack.poll() is None:
            time.sleep(5)
        for _attempt in range(5):  # the final count must happen: retry a locked database
            if safe_check(out, soak, sink, log, stack, grace, started, tasks, submissions,
                          load_errors, web_failures):
                break
            time.sleep(10)
    finally:
        if stack.poll() is None:
            os.killpg(stack.pid, signal.SIGINT)
            try:
                stack.wait(timeout=120)
            except subprocess.TimeoutExpired:
                os.killpg(stack.pid, signal.SIGKILL)
                stack.wait()
        smtp.stop()
        soak.finished = True
        soak.stopped_cleanly = "All processes stopped." in log.read_text(errors="replace")
        shutil.copyfile(log, out / "run.log")
        last = soak.checks[-1] if soak.checks else None
        zero = ("missed", "unsent", "lost", "duplicates", "restarts", "crashes")
        ok = (last is not None and last.missed_checked and last.supervisor_running
              and bool(soak.stopped_cleanly) and all(getattr(last, n) == 0 for n in zero))
        soak.verdict = "PASS" if ok else "FAIL"
        write_summary(out, soak)
    return 0 if soak.verdict == "PASS" else 1


def safe_check(out: Path, soak: Soak, *args: Any) -> bool:
    """One check and summary; a failure of the check itself (say SQLite busy under load) is
    recorded and retried at the next check instead of ending the soak."""
    try:
        record_check(soak, *args)
    except Exception:
        soak.check_errors += 1
        soak.check_error_samples.append(traceback.format_exc(limit=3)[-600:])
        ok = False
    else:
        ok = True
    with contextlib.suppress(OSError):
        write_summary(out, soak)
    return ok


def record_check(soak: Soak, sink: Sink, log: Path, stack: subprocess.Popen[bytes],
                 grace: dt.timedelta, started: float, tasks: int, submissions: int,
                 load_errors: int, web_failures: int) -> None:
    checked = time.monotonic() - started >= grace.total_seconds()
    figures = durable_figures(grace) if checked else durable_figures(grace, plan=False)
    with sink.lock:
        received = Counter(sink.received)
    restarts, crash_lines = log_figures(log)
    lost = sorted(figures["emailed"] - set(received))
    # Only e-mails marked sent more than a moment ago count as lost (the send is in flight).
    soak.crash_lines = crash_lines
    soak.missed_samples = figures["missed"][:50]
    soak.lost_samples = lost[:50]
    soak.checks.append(Check(
        at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        elapsed_minutes=round((time.monotonic() - started) / 60, 1),
        tasks_created=tasks,
        submissions=submissions,
        load_errors=load_errors,
        reminders_recorded=figures["recorded"],
        emails_marked_sent=len(figures["emailed"]),
        emails_received=sum(received.values()),
        missed=len(figures["missed"]),
        missed_checked=checked,
        unsent=figures["unsent"],
        lost=len(lost),
        duplicates=sum(1 for count in received.values() if count > 1),
        restarts=restarts,
        crashes=len(crash_lines),
        web_failures=web_failures,
        supervisor_running=stack.poll() is None,
        load_average=" ".join(f"{x:.1f}" for x in os.getloadavg()),
    ))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=130)
    parser.add_argument("--port", type=int, default=8510, help="web port; SMTP sink on +1")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "soak")
    parser.add_argument("--interval", type=float, default=6.0, help="seconds between rounds")
    parser.add_argument("--check-every", type=float, default=300.0)
    parser.add_argument("--grace", type=float, default=660.0,
                        help="seconds a reminder may take: two 300 s sweep periods and a "
                        "minute (one failed sweep is recovered by the next)")
    parser.add_argument("--settle", type=float, default=720.0,
                        help="seconds the stack keeps running after the load stops, so "
                        "everything created has become due and been sent at the end")
    args = parser.parse_args(argv)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
