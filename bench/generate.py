"""Build a realistic firm on PostgreSQL in minutes: COPY, explicit ids, set-based updates.

    python -m bench.generate --tasks 1000000 --database-url postgres://postgres@127.0.0.1/lpo_bench
    python -m bench.generate --tasks 10000 --database-url …/lpo_bench_10k --reset

Full size (the defaults): 5,000 matters, 500 clients, 50 vendors (4 users each), 200 attorneys,
600 staff, 1,000,000 tasks, 300,000 submissions, guardian object permissions for every
attorney and team member on their matters, ethical walls on 5 % of matters, 1 % of tasks due
(SLA or review deadline passed) for the reminder sweep. `attorney000` supervises
`--queue-matters` (500) matters and is screened from 10 more on which they hold a grant, so
the wall-beats-grant path is exercised.

Every constraint and trigger stays on. The order satisfies them:

1. users, attorneys and bar admissions; clients; vendors, diligence, vendor users;
2. matters, memberships, object permissions, walls; engagements (conflict check cleared);
3. tasks, by COPY; tasks bound for approved/delivered go in as `in_review`;
4. submissions, reviews, sign-offs, by COPY;
5. set-based UPDATEs move those tasks to approved with `approved_signoff_id`, then the
   delivered ones on to delivered: the moves the state machine allows, which the row
   triggers `lpo_task_move_guard` and `lpo_task_signoff_guard` check (timed on their line);
6. sequences moved past the explicit ids; VACUUM ANALYZE.

The generator refuses a database that already holds matters; `--reset` drops the public
schema and migrates afresh (the bench databases are dedicated, so nothing else is lost).
`generate(plan)` is importable for the CI smoke test, which fills pytest's test database.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import random
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from bench import BENCH_ADMIN, fmt, render_table, save_result, setup_django

# Share of tasks in each state (sums to 1). 25 % of tasks have work product; with one task in
# five on a second version that gives 0.30 submissions per task (300,000 at 1M).
STATUS_MIX: tuple[tuple[str, float], ...] = (
    ("draft", 0.04),
    ("assigned", 0.16),
    ("in_progress", 0.45),
    ("submitted", 0.025),
    ("in_review", 0.015),
    ("changes_requested", 0.03),
    ("approved", 0.03),
    ("delivered", 0.15),
    ("cancelled", 0.10),
)
WITH_SUBMISSION = ("submitted", "in_review", "changes_requested", "approved", "delivered")
WITH_VENDOR = ("assigned", "in_progress", "changes_requested")
AWAITING_REVIEW = ("submitted", "in_review")
SIGNED = ("approved", "delivered")
# Of the due tasks, this share is vendor SLA overdue; the rest review overdue.
DUE_SLA_SHARE = 0.7
BULK_TABLES = ("matters_task", "supervision_submission", "supervision_review",
               "supervision_signoff", "supervision_reminderrecord")
TASK_CHUNK = 200_000  # rows per transaction: bounds the deferred FK-check queue
PASSWORD = "bench-password"  # noqa: S105 (bench data only)

TASK_TYPES = (
    ("document_review", "Document review"),
    ("contract_drafting", "Contract drafting"),
    ("contract_abstraction", "Contract abstraction"),
    ("legal_research", "Legal research"),
    ("due_diligence", "Due diligence"),
    ("deposition_summary", "Deposition summary"),
    ("patent_support", "Patent support"),
    ("compliance_review", "Compliance review"),
    ("legal_transcription", "Transcription"),
    ("legal_coding", "Legal coding"),
)
PRIORITIES = (("low", 0.15), ("normal", 0.6), ("high", 0.2), ("urgent", 0.05))
PRACTICE_AREAS = ("litigation", "corporate", "ip", "employment", "regulatory", "real_estate",
                  "finance")
SUBJECTS = ("custodian batch", "vendor agreements", "board minutes", "patent family",
            "privilege log", "lease portfolio", "credit agreement", "witness deposition",
            "policy manual", "data room folder", "employment contracts", "regulatory filings")
FIRST = ("Ada", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas",
         "Kavya", "Liam", "Maya", "Noor", "Owen", "Priya", "Quinn", "Rosa", "Sam", "Tara")
LAST = ("Adler", "Bose", "Castro", "Dunn", "Ekwueme", "Fischer", "Gupta", "Hale", "Ito",
        "Jensen", "Kowalski", "Lopez", "Mensah", "Nakamura", "Okafor", "Petrov", "Quint",
        "Reyes", "Shah", "Tanaka", "Ueda", "Varga", "Whitmore", "Xu", "Young", "Zhou")
CONTENT_TYPES = (("pdf", "application/pdf"),
                 ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml"
                          ".document"),
                 ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
                 ("csv", "text/csv"))


@dataclass
class Plan:
    tasks: int = 1_000_000
    submissions: int | None = None  # default 0.3 × tasks
    matters: int = 5_000
    clients: int | None = None  # default matters / 10
    vendors: int = 50
    users_per_vendor: int = 4
    attorneys: int = 200
    staff: int = 600
    queue_matters: int = 500  # matters attorney000 supervises (and is not screened from)
    walled_share: float = 0.05
    due: int | None = None  # default tasks / 100
    seed: int = 7

    def __post_init__(self) -> None:
        if self.submissions is None:
            self.submissions = round(self.tasks * 0.3)
        if self.clients is None:
            self.clients = max(1, self.matters // 10)
        if self.due is None:
            self.due = self.tasks // 100
        self.queue_matters = min(self.queue_matters, max(1, self.matters - 10))
        if self.attorneys < 3 or self.staff < 6 or self.vendors < 3:
            raise ValueError("a firm needs at least 3 attorneys, 6 staff and 3 vendors")

    @classmethod
    def small(cls, **overrides: Any) -> Plan:
        """A few thousand rows for CI: every kind of row, same shape, seconds to build."""
        values: dict[str, Any] = {"tasks": 3_000, "matters": 60, "vendors": 5,
                                  "users_per_vendor": 2, "attorneys": 12, "staff": 24,
                                  "queue_matters": 30}
        return cls(**{**values, **overrides})


@dataclass
class Report:
    plan: dict[str, Any]
    counts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    anchor: str = ""
    # CPU seconds of this Python process and of its PostgreSQL backend (from /proc): robust
    # to a busy machine, unlike the wall-clock seconds above.
    cpu_seconds: float | None = None
    db_cpu_seconds: float | None = None
    load_before: tuple[float, float, float] | None = None
    load_after: tuple[float, float, float] | None = None

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())

    def table(self, database: str) -> str:
        rows = [(step, self.counts.get(step), secs) for step, secs in self.seconds.items()]
        rows.append(("total", None, self.total_seconds))
        notes = [f"anchor time (deadlines are relative to it): {self.anchor}",
                 "every constraint and trigger enabled; explicit ids; COPY per table;"
                 " secondary indexes and foreign keys rebuilt after the load"]
        if self.cpu_seconds is not None:
            notes.append(f"CPU: Python {self.cpu_seconds:.1f} s, PostgreSQL backend "
                         f"{fmt(self.db_cpu_seconds)} s (wall {self.total_seconds:.1f} s)")
        if self.load_before and self.load_after:
            notes.append("load average before / after: "
                         + " / ".join(f"{v:.1f}" for v in self.load_before) + " → "
                         + " / ".join(f"{v:.1f}" for v in self.load_after))
        return render_table(
            f"Generator — {database}: {self.plan['tasks']:,} tasks",
            ["step", "rows", "seconds"], rows, notes)


class Timer:
    def __init__(self, report: Report, step: str) -> None:
        self.report, self.step = report, step

    def __enter__(self) -> Timer:
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.report.seconds[self.step] = time.perf_counter() - self.started


# --- COPY plumbing ------------------------------------------------------------------------


def _constant_columns(model: Any, given: Sequence[str], now: dt.datetime) -> tuple[list[str],
                                                                                   tuple]:
    """Columns the caller left out that still need a value: model defaults, auto_now(_add),
    blank strings. Other engineers may add fields with defaults; COPY keeps working."""
    from django.db import models

    names: list[str] = []
    values: list[Any] = []
    for f in model._meta.concrete_fields:
        if f.attname in given or f.primary_key:
            continue
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            value: Any = now
        elif f.has_default():
            value = f.get_default()
        elif f.null:
            continue
        elif f.empty_strings_allowed and f.get_internal_type() != "JSONField":
            value = ""
        else:
            raise RuntimeError(f"bench.generate: no value for {model.__name__}.{f.name}")
        if isinstance(f, models.JSONField):
            value = json.dumps(value)
        names.append(f.column)
        values.append(value)
    return names, tuple(values)


def copy_rows(model: Any, columns: Sequence[str], rows: Iterable[tuple], now: dt.datetime
              ) -> int:
    """COPY `rows` (tuples in `columns` order, attnames) into `model`'s table."""
    from django.db import connection

    extra_names, extra_values = _constant_columns(model, columns, now)
    db_columns = [model._meta.get_field(c).column if c != "id" else "id" for c in columns]
    column_sql = ", ".join(f'"{c}"' for c in [*db_columns, *extra_names])
    count = 0
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg 3 cursor under Django's wrapper
        with raw.copy(f'COPY "{model._meta.db_table}" ({column_sql}) FROM STDIN') as copy:
            if extra_values:
                for row in rows:
                    copy.write_row(row + extra_values)
                    count += 1
            else:
                for row in rows:
                    copy.write_row(row)
                    count += 1
    return count


def _next_id(model: Any) -> int:
    from django.db.models import Max

    return int(model.objects.aggregate(m=Max("pk"))["m"] or 0) + 1


def _chunks(iterator: Iterator[tuple], size: int) -> Iterator[list[tuple]]:
    chunk: list[tuple] = []
    for row in iterator:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# --- the firm -----------------------------------------------------------------------------


@dataclass
class MatterPlan:
    id: int
    supervisors: list[int]  # attorney user ids allowed to review (not screened)
    team: list[int]
    engagements: list[tuple[int, int]]  # (engagement id, vendor index)


@dataclass
class Firm:
    """Ids the later steps need, kept in memory (a few MB at full size)."""

    attorney_ids: list[int] = field(default_factory=list)
    bar_admission_of: dict[int, int] = field(default_factory=dict)
    attorney_name: dict[int, str] = field(default_factory=dict)
    staff_ids: list[int] = field(default_factory=list)
    vendor_ids: list[int] = field(default_factory=list)
    vendor_user_ids: list[list[int]] = field(default_factory=list)
    client_ids: list[int] = field(default_factory=list)
    matters: list[MatterPlan] = field(default_factory=list)
    matter_number: dict[int, str] = field(default_factory=dict)


def generate(plan: Plan, *, vacuum: bool = True, keep_foreign_keys: bool = False,
             keep_indexes: bool = False) -> Report:
    """Fill the current database with `plan`'s firm. Refuses a database holding matters.

    Foreign keys of the bulk tables are dropped for the load and added back afterwards,
    which checks every row in one pass instead of one lookup and one parent-row lock
    (FOR KEY SHARE, a write to the parent) per inserted row (`keep_foreign_keys` to compare).
    Their secondary indexes (neither primary key nor unique nor backing a constraint) are
    dropped too and rebuilt after the load: one sort per index instead of a B-tree insert per
    row and index, and the approval UPDATE touches no secondary index (`keep_indexes` to
    compare). Primary keys, unique constraints (the trigger's latest-version lookup uses
    one), check constraints and triggers stay on throughout; afterwards every dropped index
    and key is back and valid (checked).
    """
    from django.db import connection

    from matters.models import Matter

    if connection.vendor != "postgresql":
        raise RuntimeError("bench.generate needs PostgreSQL (it loads with COPY)")
    if Matter.objects.exists():
        raise RuntimeError("the database already holds matters; use --reset on a bench database")
    report = Report(plan=asdict(plan))
    rng = random.Random(plan.seed)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    report.anchor = now.isoformat()
    firm = Firm()
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
        cursor.execute("SET maintenance_work_mem = '512MB'")
    _people(plan, rng, now, firm, report)
    _vendors(plan, rng, now, firm, report)
    _matters(plan, rng, now, firm, report)
    dropped: list[tuple[str, str, str]] = []
    indexes: list[tuple[str, str]] = []
    if not keep_foreign_keys:
        with Timer(report, "drop foreign keys of the bulk tables"):
            dropped = _drop_foreign_keys(BULK_TABLES)
    if not keep_indexes:
        with Timer(report, "drop secondary indexes of the bulk tables"):
            indexes = _drop_secondary_indexes(BULK_TABLES)
        report.counts["drop secondary indexes of the bulk tables"] = len(indexes)
    with_work = _tasks(plan, rng, now, firm, report)
    _work_product(plan, rng, now, firm, with_work, report)
    with Timer(report, "reminder history (review waiting, sent)"):
        report.counts["reminder history (review waiting, sent)"] = record_review_waiting_history()
    if indexes:
        with Timer(report, "rebuild secondary indexes (one sort each)"):
            _create_indexes(indexes)
        report.counts["rebuild secondary indexes (one sort each)"] = len(indexes)
    if dropped:
        with Timer(report, "re-add foreign keys (validates every row)"):
            _add_foreign_keys(dropped)
        report.counts["re-add foreign keys (validates every row)"] = len(dropped)
    _check_schema_intact(dropped, indexes)
    with Timer(report, "sequences reset"):
        _reset_sequences()
    with Timer(report, "VACUUM ANALYZE" if vacuum and not connection.in_atomic_block
               else "ANALYZE"):
        _analyze(vacuum=vacuum and not connection.in_atomic_block)
    return report


def _people(plan: Plan, rng: random.Random, now: dt.datetime, firm: Firm, report: Report
            ) -> None:
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import User
    from django.db import transaction

    from supervision.models import AttorneyProfile, BarAdmission

    password = make_password(PASSWORD)
    joined = now - dt.timedelta(days=900)
    user_id = _next_id(User)
    rows: list[tuple] = []

    def add(username: str, *, superuser: bool = False, staff: bool = False) -> int:
        nonlocal user_id
        first, last = rng.choice(FIRST), rng.choice(LAST)
        rows.append((user_id, password, superuser, username, first, last,
                     f"{username}@bench.example", staff or superuser, True, joined))
        user_id += 1
        return user_id - 1

    with Timer(report, "users, attorneys, bar admissions"), transaction.atomic():
        add(BENCH_ADMIN, superuser=True)
        firm.attorney_ids = [add(f"attorney{i:03d}") for i in range(plan.attorneys)]
        firm.staff_ids = [add(f"staff{i:04d}") for i in range(plan.staff)]
        for v in range(plan.vendors):
            firm.vendor_user_ids.append(
                [add(f"vendor{v:02d}_{u}") for u in range(plan.users_per_vendor)])
        for row in rows:
            if row[3].startswith("attorney"):
                firm.attorney_name[row[0]] = f"{row[4]} {row[5]}"
        report.counts["users, attorneys, bar admissions"] = copy_rows(
            User,
            ["id", "password", "is_superuser", "username", "first_name", "last_name", "email",
             "is_staff", "is_active", "date_joined"],
            rows, now)
        profile_id, admission_id = _next_id(AttorneyProfile), _next_id(BarAdmission)
        profiles, admissions = [], []
        for index, uid in enumerate(firm.attorney_ids):
            pid, aid = profile_id + index, admission_id + index
            profiles.append((pid, uid, "Partner" if index % 4 == 0 else "Senior Associate",
                             index % 4 == 0))
            admissions.append((aid, pid, "New York", f"B{plan.seed:02d}{index:06d}", "active",
                               (now - dt.timedelta(days=3650)).date(),
                               (now + dt.timedelta(days=365)).date()))
            firm.bar_admission_of[uid] = aid
        copy_rows(AttorneyProfile, ["id", "user_id", "title", "is_partner"], profiles, now)
        copy_rows(BarAdmission, ["id", "attorney_id", "jurisdiction", "number", "status",
                                 "admitted_on", "expires_on"], admissions, now)


def _vendors(plan: Plan, rng: random.Random, now: dt.datetime, firm: Firm, report: Report
             ) -> None:
    from django.db import transaction

    from matters.models import Client
    from vendors.models import DueDiligenceRecord, Vendor, VendorUser

    with Timer(report, "clients, vendors, diligence"), transaction.atomic():
        client_id = _next_id(Client)
        assert plan.clients is not None
        clients = [(client_id + i, f"Client {i:04d} {rng.choice(LAST)} Holdings", f"CL{i:05d}",
                    rng.choice(("Banking", "Pharma", "Energy", "Retail", "Technology")), "US")
                   for i in range(plan.clients)]
        firm.client_ids = [c[0] for c in clients]
        copy_rows(Client, ["id", "name", "code", "industry", "country"], clients, now)
        vendor_id = _next_id(Vendor)
        vendors = [(vendor_id + v, f"Bench Vendor {v:02d} Legal Process", "approved", "IN",
                    json.dumps(["IN"]), json.dumps([t for t, _ in TASK_TYPES]), "Asia/Kolkata",
                    firm.staff_ids[v % len(firm.staff_ids)])
                   for v in range(plan.vendors)]
        firm.vendor_ids = [v[0] for v in vendors]
        copy_rows(Vendor, ["id", "name", "status", "headquarters_country", "countries",
                           "service_lines", "time_zone", "manager_id"], vendors, now)
        # A record counts only with its evidence: a (placeholder) file name and fingerprint.
        diligence = [(vid, kind, (now - dt.timedelta(days=200)).date(),
                      (now + dt.timedelta(days=rng.randint(30, 400))).date(), now,
                      f"diligence/{vid}/bench-{kind}", f"{kind}.pdf",
                      hashlib.sha256(f"{vid}-{kind}".encode()).hexdigest())
                     for vid in firm.vendor_ids for kind in ("nda", "soc2_type2")]
        copy_rows(DueDiligenceRecord, ["vendor_id", "kind", "valid_from", "expires_on",
                                       "recorded_at", "evidence", "evidence_name",
                                       "evidence_sha256"], diligence, now)
        members = [(uid, firm.vendor_ids[v], "contact", True, True)
                   for v, uids in enumerate(firm.vendor_user_ids) for uid in uids]
        copy_rows(VendorUser, ["user_id", "vendor_id", "role", "is_active",
                               "receives_sla_reminders"], members, now)
        report.counts["clients, vendors, diligence"] = (
            len(clients) + len(vendors) + len(diligence) + len(members))


def _matters(plan: Plan, rng: random.Random, now: dt.datetime, firm: Firm, report: Report
             ) -> None:
    """Matters, memberships with their object permissions, walls, engagements."""
    from django.contrib.auth.models import Permission
    from django.db import transaction

    from matters.models import (
        Engagement,
        EthicalWall,
        Matter,
        MatterMembership,
        MatterUserObjectPermission,
    )

    perm = {p.codename: p.pk for p in Permission.objects.filter(
        content_type__app_label="matters",
        codename__in=("view_matter", "change_matter", "supervise_matter"))}
    role_perms = {"team": (perm["view_matter"], perm["change_matter"]),
                  "supervising_attorney": (perm["view_matter"], perm["supervise_matter"])}
    bench_attorney = firm.attorney_ids[0]
    others = firm.attorney_ids[1:]
    matter_id = _next_id(Matter)
    bench_matters = set(rng.sample(range(plan.matters), min(plan.matters,
                                                              plan.queue_matters + 10)))
    bench_walled = set(rng.sample(sorted(bench_matters), min(10, len(bench_matters) - 1)))
    matters, memberships, grants, walls, engagements = [], [], [], [], []
    engagement_id = _next_id(Engagement)
    with Timer(report, "matters, memberships, permissions, walls, engagements"), \
            transaction.atomic():
        for index in range(plan.matters):
            mid = matter_id + index
            opened = (now - dt.timedelta(days=rng.randint(30, 2000))).date()
            status = rng.choices(("open", "on_hold", "closed"), (0.85, 0.05, 0.10))[0]
            number = f"{opened.year}-{index + 1:05d}"
            firm.matter_number[mid] = number
            responsible = rng.choice(others)
            matters.append((
                mid, number, f"{rng.choice(LAST)} v. {rng.choice(LAST)} — {rng.choice(SUBJECTS)}",
                rng.choice(firm.client_ids), rng.choice(PRACTICE_AREAS), responsible,
                "America/New_York", "US", f"{rng.randint(20, 900) * 1000}.00", "USD", True,
                status, opened, opened + dt.timedelta(days=rng.randint(1, 20))
                if status == "closed" else None, now, now))
            supervisors = {responsible, rng.choice(others)}
            if index in bench_matters:
                supervisors.add(bench_attorney)
            team = set(rng.sample(firm.staff_ids, rng.randint(3, 5)))
            screened: set[int] = set()
            if index in bench_walled:
                screened.add(bench_attorney)
            if rng.random() < plan.walled_share:
                # Half the time the screened person holds a grant on the matter: a wall beats it.
                pool = sorted(team) if rng.random() < 0.5 else firm.staff_ids
                screened.add(rng.choice(pool))
            for uid in sorted(supervisors):
                memberships.append((mid, uid, "supervising_attorney", now))
                grants += [(uid, p, mid) for p in role_perms["supervising_attorney"]]
            for uid in sorted(team):
                memberships.append((mid, uid, "team", now))
                grants += [(uid, p, mid) for p in role_perms["team"]]
            for uid in sorted(screened):
                walls.append((mid, uid, "Former counsel to an adverse party (bench)", now))
            vendor_indexes = rng.sample(range(plan.vendors), rng.randint(2, 3))
            matter_engagements = []
            for v in vendor_indexes:
                engagements.append((engagement_id, mid, firm.vendor_ids[v], "Outsourced work",
                                    "active", "cleared", responsible, now,
                                    "Client GC", (now - dt.timedelta(days=30)).date(), now))
                matter_engagements.append((engagement_id, v))
                engagement_id += 1
            firm.matters.append(MatterPlan(
                id=mid, supervisors=sorted(supervisors - screened),
                team=sorted(team - screened) or sorted(team), engagements=matter_engagements))
        copy_rows(Matter, ["id", "number", "title", "client_id", "practice_area",
                           "responsible_attorney_id", "time_zone", "holiday_country", "budget",
                           "currency", "client_consent_required", "status", "opened_on",
                           "closed_on", "created_at", "updated_at"], matters, now)
        copy_rows(MatterMembership, ["matter_id", "user_id", "role", "added_at"], memberships,
                  now)
        copy_rows(MatterUserObjectPermission, ["user_id", "permission_id", "content_object_id"],
                  grants, now)
        copy_rows(EthicalWall, ["matter_id", "user_id", "reason", "created_at"], walls, now)
        copy_rows(Engagement, ["id", "matter_id", "vendor_id", "scope", "status",
                               "conflict_check_status", "conflict_checked_by_id",
                               "conflict_checked_at", "consent_given_by", "consent_given_on",
                               "created_at"], engagements, now)
    report.counts["matters, memberships, permissions, walls, engagements"] = (
        len(matters) + len(memberships) + len(grants) + len(walls) + len(engagements))
    report.counts["object permissions"] = len(grants)
    report.counts["ethical walls"] = len(walls)


def _statuses(plan: Plan, rng: random.Random) -> list[str]:
    """Exactly the STATUS_MIX shares, shuffled."""
    statuses: list[str] = []
    for status, share in STATUS_MIX[:-1]:
        statuses += [status] * round(plan.tasks * share)
    statuses += [STATUS_MIX[-1][0]] * (plan.tasks - len(statuses))
    rng.shuffle(statuses)
    return statuses


@dataclass
class ReviewTask:
    """A task with work product: what its submissions and reviews must look like."""

    task_id: int
    status: str
    matter_index: int
    vendor_index: int
    submitted_at: dt.datetime
    title: str


def _tasks(plan: Plan, rng: random.Random, now: dt.datetime, firm: Firm, report: Report
           ) -> list[ReviewTask]:
    """COPY the tasks; return those that get work product (with their final status)."""
    from django.db import transaction

    from matters.models import Task

    statuses = _statuses(plan, rng)
    first_id = _next_id(Task)
    # Exactly `due` tasks overdue: SLA among tasks with the vendor, review among the rest.
    assert plan.due is not None
    vendor_side = [i for i, s in enumerate(statuses) if s in WITH_VENDOR]
    review_side = [i for i, s in enumerate(statuses) if s in AWAITING_REVIEW]
    want_sla = min(len(vendor_side), round(plan.due * DUE_SLA_SHARE))
    want_review = min(len(review_side), plan.due - want_sla)
    due = set(rng.sample(vendor_side, want_sla)) | set(rng.sample(review_side, want_review))
    report.counts["due tasks (sweep)"] = len(due)
    with_work: list[ReviewTask] = []
    n_matters = len(firm.matters)
    hour = dt.timedelta(hours=1)

    def rows() -> Iterator[tuple]:
        for index, status in enumerate(statuses):
            task_id = first_id + index
            m_index = rng.randrange(n_matters)
            matter = firm.matters[m_index]
            engagement_id, vendor_index = rng.choice(matter.engagements)
            created = now - dt.timedelta(hours=rng.randint(24 * 20, 24 * 365))
            task_type, label = rng.choice(TASK_TYPES)
            title = f"{label}: {rng.choice(SUBJECTS)} {index % 997 + 1}"
            priority = rng.choices(("low", "normal", "high", "urgent"), (15, 60, 20, 5))[0]
            sla = review = assigned = submitted = cancelled = None
            if status != "draft":
                assigned = created + dt.timedelta(hours=rng.randint(1, 72))
            if status in WITH_VENDOR:
                sla = (now - hour * rng.randint(1, 72) if index in due
                       else now + hour * rng.randint(24 * 8, 24 * 60))
            elif status in AWAITING_REVIEW:
                submitted = now - hour * rng.randint(1, 24 * 7)
                sla = submitted + hour * rng.randint(-48, 96)
                review = (now - hour * rng.randint(1, 72) if index in due
                          else now + hour * rng.randint(24 * 8, 24 * 30))
            elif status in SIGNED:
                submitted = now - hour * rng.randint(24 * 2, 24 * 360)
                sla = submitted + hour * rng.randint(-24, 120)  # ~1 in 6 late
            elif status == "cancelled":
                cancelled = created + dt.timedelta(days=rng.randint(1, 15))
                sla = cancelled + dt.timedelta(days=10)
            else:  # draft
                sla = now + hour * rng.randint(24 * 8, 24 * 60)
            if status == "changes_requested":
                submitted = now - hour * rng.randint(24, 24 * 20)
            if status in WITH_SUBMISSION:
                assert submitted is not None
                with_work.append(ReviewTask(task_id, status, m_index, vendor_index,
                                            submitted, title))
            yield (
                task_id, matter.id,
                None if status == "draft" else engagement_id, title, task_type, True, "",
                priority, f"{rng.randint(2, 80)}.00", "0.00", rng.randint(0, 5000), sla, review,
                "in_review" if status in SIGNED else status, rng.choice(matter.team),
                created, now, assigned, submitted, cancelled,
                "Client withdrew the request" if status == "cancelled" else "",
            )

    columns = ["id", "matter_id", "engagement_id", "title", "task_type",
               "requires_legal_judgment", "instructions", "priority", "estimated_hours",
               "actual_hours", "document_count", "sla_due_at", "review_due_at", "status",
               "created_by_id", "created_at", "updated_at", "assigned_at", "submitted_at",
               "cancelled_at", "cancel_reason"]
    with Timer(report, "tasks (COPY)"):
        total = 0
        for chunk in _chunks(rows(), TASK_CHUNK):
            with transaction.atomic():
                total += copy_rows(Task, columns, chunk, now)
        report.counts["tasks (COPY)"] = total
    return with_work


def _hex(rng: random.Random) -> str:
    return f"{rng.getrandbits(256):064x}"


def _work_product(plan: Plan, rng: random.Random, now: dt.datetime, firm: Firm,
                  with_work: list[ReviewTask], report: Report) -> None:
    """Submissions, reviews, sign-offs; then the set-based approval of the signed tasks."""
    from django.db import connection, transaction

    from supervision.models import Review, SignOff, Submission
    from supervision.services import ATTESTATION_TEMPLATE

    assert plan.submissions is not None
    # Versions per task: 1, plus extra versions spread over random tasks to reach the total.
    versions = [1] * len(with_work)
    extra = max(0, plan.submissions - len(with_work))
    order = list(range(len(with_work)))
    rng.shuffle(order)
    while extra > 0 and order:
        for index in order:
            if extra == 0:
                break
            versions[index] += 1
            extra -= 1
    submission_id, review_id, signoff_id = (_next_id(Submission), _next_id(Review),
                                            _next_id(SignOff))
    submissions: list[tuple] = []
    reviews: list[tuple] = []
    signoffs: list[tuple] = []
    approvals: list[tuple] = []
    minute = dt.timedelta(minutes=1)
    for task, count in zip(with_work, versions, strict=True):
        matter = firm.matters[task.matter_index]
        submitter = rng.choice(firm.vendor_user_ids[task.vendor_index])
        reviewer = rng.choice(matter.supervisors)
        for version in range(1, count + 1):
            latest = version == count
            at = task.submitted_at - minute * rng.randint(60 * 24, 60 * 24 * 5) * (count - version)
            ext, content_type = rng.choice(CONTENT_TYPES)
            sha = _hex(rng)
            submissions.append((submission_id, task.task_id, version,
                                f"work-product/{task.task_id}/{sha[:32]}",
                                f"deliverable-v{version}.{ext}", content_type,
                                rng.randint(20_000, 20_000_000), sha, "", submitter, at))
            decision = None
            if not latest:
                decision = "changes_requested"
            elif task.status == "in_review":
                decision = "pending"
            elif task.status == "changes_requested":
                decision = "changes_requested"
            elif task.status in SIGNED:
                decision = "approved"
            if decision is not None:
                started = at + minute * rng.randint(10, 600)
                decided = None if decision == "pending" else started + minute * rng.randint(5, 240)
                reviews.append((review_id, submission_id, reviewer, decision,
                                "Tighten the privilege calls in section 2."
                                if decision == "changes_requested" else "",
                                started, decided))
                if decision == "approved":
                    assert decided is not None
                    signoffs.append((signoff_id, task.task_id, submission_id, review_id, reviewer,
                                     firm.bar_admission_of[reviewer], ATTESTATION_TEMPLATE.format(
                                         attorney=firm.attorney_name[reviewer],
                                         jurisdiction="New York", bar_number="(bench)",
                                         version=version, task=task.title,
                                         matter=firm.matter_number[matter.id], sha256=sha),
                                     sha, decided))
                    delivered = (decided + minute * rng.randint(30, 60 * 48)
                                 if task.status == "delivered" else None)
                    approvals.append((task.task_id, task.status, signoff_id, decided, delivered))
                    signoff_id += 1
                review_id += 1
            submission_id += 1
    with Timer(report, "submissions (COPY)"), transaction.atomic():
        report.counts["submissions (COPY)"] = copy_rows(
            Submission, ["id", "task_id", "version", "file", "original_name", "content_type",
                         "size", "sha256", "note", "submitted_by_id", "submitted_at"],
            submissions, now)
    with Timer(report, "reviews + sign-offs (COPY)"), transaction.atomic():
        copy_rows(Review, ["id", "submission_id", "reviewer_id", "decision", "comments",
                           "started_at", "decided_at"], reviews, now)
        copy_rows(SignOff, ["id", "task_id", "submission_id", "review_id", "attorney_id",
                            "bar_admission_id", "attestation_text", "sha256", "signed_at"],
                  signoffs, now)
        report.counts["reviews + sign-offs (COPY)"] = len(reviews) + len(signoffs)
    with Timer(report, "approve signed tasks (UPDATE, row trigger)"), \
            transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE bench_approval (task_id bigint PRIMARY KEY, "
                       "status varchar(20), signoff_id bigint, approved_at timestamptz, "
                       "delivered_at timestamptz) ON COMMIT DROP")
        with cursor.cursor.copy("COPY bench_approval FROM STDIN") as copy:
            for row in approvals:
                copy.write_row(row)
        cursor.execute(
            "UPDATE matters_task t SET status = 'approved', approved_signoff_id = a.signoff_id,"
            " approved_at = a.approved_at FROM bench_approval a WHERE t.id = a.task_id")
        report.counts["approve signed tasks (UPDATE, row trigger)"] = cursor.rowcount
        cursor.execute(
            "UPDATE matters_task t SET status = 'delivered', delivered_at = a.delivered_at"
            " FROM bench_approval a WHERE t.id = a.task_id AND a.status = 'delivered'")


def record_review_waiting_history() -> int:
    """The "review waiting" notice every version got when it was submitted, as sent reminders.

    Without it the first sweep on a generated firm would announce every waiting version at
    once (25,000 at full size) instead of finding the `due` tasks of a steady state. Keyed as
    `supervision.reminders` keys it: (matters.task, id, review_waiting, v<version>).
    """
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO supervision_reminderrecord (kind, object_type, object_id, threshold,"
            " recipients, context, created_at, sent_at, attempts, last_error)"
            " SELECT 'review_waiting', 'matters.task', s.task_id, 'v' || s.version, '[]', '{}',"
            " s.submitted_at, s.submitted_at + interval '1 minute', 1, ''"
            " FROM supervision_submission s ON CONFLICT DO NOTHING")
        return int(cursor.rowcount)


def _drop_foreign_keys(tables: Sequence[str]) -> list[tuple[str, str, str]]:
    """Drop the foreign keys declared on `tables`; return (table, name, definition)."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        # Inside an outer transaction (the CI test), earlier COPYs left deferred checks
        # queued, and ALTER TABLE refuses a table with pending trigger events: run them now.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)"
            " FROM pg_constraint WHERE contype = 'f' AND conrelid::regclass::text = ANY(%s)"
            " ORDER BY 1, 2", [list(tables)])
        keys = [(str(t), str(n), str(d)) for t, n, d in cursor.fetchall()]
        for table, name, _definition in keys:
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    return keys


def _drop_secondary_indexes(tables: Sequence[str]) -> list[tuple[str, str]]:
    """Drop the plain indexes of `tables`; return (name, CREATE INDEX statement) pairs.

    Kept: primary keys, unique indexes and any index a constraint uses (exclusion, unique):
    they enforce rules during the load. Dropped: the indexes that only serve reads.
    """
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i"
            " JOIN pg_class c ON c.oid = i.indexrelid"
            " WHERE i.indrelid::regclass::text = ANY(%s)"
            " AND NOT i.indisprimary AND NOT i.indisunique AND NOT i.indisexclusion"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)"
            " ORDER BY 1", [list(tables)])
        indexes = [(str(name), str(definition)) for name, definition in cursor.fetchall()]
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
    return indexes


def _create_indexes(indexes: Sequence[tuple[str, str]]) -> None:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        for _name, definition in indexes:
            cursor.execute(definition)


def _check_schema_intact(keys: Sequence[tuple[str, str, str]],
                         indexes: Sequence[tuple[str, str]]) -> None:
    """Every foreign key dropped for the load is back and validated, every index back and
    valid: the firm is loaded under exactly the schema the migrations built."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT conname FROM pg_constraint WHERE contype = 'f' AND convalidated"
                       " AND conname = ANY(%s)", [[name for _t, name, _d in keys]])
        valid_keys = {row[0] for row in cursor.fetchall()}
        cursor.execute("SELECT c.relname FROM pg_index i JOIN pg_class c"
                       " ON c.oid = i.indexrelid WHERE i.indisvalid AND i.indisready"
                       " AND c.relname = ANY(%s)", [[name for name, _d in indexes]])
        valid_indexes = {row[0] for row in cursor.fetchall()}
    missing = sorted({name for _t, name, _d in keys} - valid_keys
                     | {name for name, _d in indexes} - valid_indexes)
    if missing:
        raise RuntimeError(f"bench.generate: not restored after the load: {missing}")


def _add_foreign_keys(keys: Sequence[tuple[str, str, str]]) -> None:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        for table, name, definition in keys:
            cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")  # Django's foreign keys' default


def _reset_sequences() -> None:
    from django.apps import apps
    from django.core.management.color import no_style
    from django.db import connection

    models = [m for app in ("auth", "matters", "vendors", "supervision")
              for m in apps.get_app_config(app).get_models()]
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), models):
            cursor.execute(sql)


def _analyze(*, vacuum: bool) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)" if vacuum else "ANALYZE")


def backend_cpu_seconds() -> float | None:
    """User + system CPU seconds of this connection's PostgreSQL backend, from /proc (the
    server runs on this host); None where that is not readable."""
    import os

    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def reset_database() -> None:
    """Drop the public schema and migrate afresh (for a dedicated bench database)."""
    from django.core.management import call_command
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    call_command("migrate", verbosity=0, interactive=False)


def ensure_database(url: str) -> None:
    """CREATE DATABASE for `url` if it does not exist (connects to `postgres`)."""
    import psycopg
    from psycopg import sql

    base, _, name = url.rpartition("/")
    name = name.split("?", 1)[0]
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.generate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="default $DATABASE_URL or …/lpo_bench")
    parser.add_argument("--allow-any-database", action="store_true")
    parser.add_argument("--reset", action="store_true",
                        help="drop the public schema and migrate before generating")
    parser.add_argument("--if-missing", action="store_true",
                        help="do nothing (exit 0) if the database already holds matters")
    parser.add_argument("--small", action="store_true", help="the CI-sized firm")
    parser.add_argument("--keep-foreign-keys", action="store_true",
                        help="load with row-by-row foreign-key checks (slower; for comparison)")
    parser.add_argument("--keep-indexes", action="store_true",
                        help="load with every secondary index in place (slower; to compare)")
    for name in ("tasks", "submissions", "matters", "clients", "vendors", "attorneys", "staff",
                 "queue-matters", "due", "seed"):
        parser.add_argument(f"--{name}", type=int)
    parser.add_argument("--label", help="results file suffix (default: the task count)")
    args = parser.parse_args(argv)

    import os

    url = args.database_url or os.environ.get("DATABASE_URL")
    if url:
        ensure_database(url)
    setup_django(url, allow_any_database=args.allow_any_database)
    from django.core.management import call_command

    from bench import database_name
    from matters.models import Matter

    overrides = {k: v for k, v in vars(args).items()
                 if k in ("tasks", "submissions", "matters", "clients", "vendors", "attorneys",
                          "staff", "queue_matters", "due", "seed") and v is not None}
    plan = Plan.small(**overrides) if args.small else Plan(**overrides)
    if args.reset:
        started = time.perf_counter()
        reset_database()
        print(f"reset: schema dropped and migrated in {time.perf_counter() - started:.1f} s")
    else:
        call_command("migrate", verbosity=0, interactive=False)
    if Matter.objects.exists():
        if args.if_missing:
            print(f"{database_name()} already holds a firm; nothing to do (--if-missing)")
            return 0
        raise SystemExit(f"{database_name()} already holds matters; pass --reset to rebuild")
    load_before = os.getloadavg()
    cpu_started, db_cpu_started = time.process_time(), backend_cpu_seconds()
    report = generate(plan, keep_foreign_keys=args.keep_foreign_keys,
                      keep_indexes=args.keep_indexes)
    report.cpu_seconds = time.process_time() - cpu_started
    db_cpu = backend_cpu_seconds()
    if db_cpu is not None and db_cpu_started is not None:
        report.db_cpu_seconds = db_cpu - db_cpu_started
    report.load_before, report.load_after = load_before, os.getloadavg()
    text = report.table(database_name())
    print(text)
    print(f"total {fmt(report.total_seconds)} s")
    save_result(f"generate_{args.label or plan.tasks}", text, asdict(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
