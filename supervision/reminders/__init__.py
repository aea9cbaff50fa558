"""Reminders and escalations from durable state (DESIGN.md, invariant 4).

A reminder goes through three steps. Each is safe to repeat, and safe to run twice at once:

1. Plan (read only). Set-based, indexed queries find what is due soon, due or overdue now:
   reviews waiting for an attorney, review windows closing or closed (then the escalation
   ladder), vendor deadlines, expiring due diligence. Each reminder has a key (object, kind,
   threshold); keys already recorded are dropped.
2. Record (the claim). In one transaction per batch: insert the `ReminderRecord`s (INSERT …
   ON CONFLICT DO NOTHING on the unique key) and one in-app `Notification` per recipient
   (unique per user and reminder). A retry, a rerun or a second sweep records nothing twice.
3. Deliver. Claim one notification at a time (SELECT … FOR UPDATE SKIP LOCKED on PostgreSQL),
   send its e-mail, mark `emailed_at` with a conditional update, commit. A record's `sent_at`
   is set once none of its immediate e-mails is left. Whatever a crash leaves unsent, the next
   sweep sends; two deliverers never pick the same row.

The one gap no database can close is the SMTP boundary: if the process dies after the mail
server accepted a message and before the commit that marks it, that one message goes again
(at-least-once). Each message carries a Message-ID derived from its notification, so the
repeat is recognisable as the same message. Everything before that boundary is exactly once.

Thresholds are business hours relative to the deadline (`SlaPolicy.reminder_offsets_hours`,
e.g. [-24, 0, 24]). To keep the sweep set-based, `now` is shifted by each offset once per
business calendar (matter zone, holidays, policy hours) rather than once per task: "24
business hours before" becomes "deadline <= now + 24 business hours on that calendar".
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.utils import DNS_NAME
from django.db import transaction
from django.db.models import CharField, Exists, F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Cast, Concat
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from lpo_tracker.clock import firm_today, local_text
from matters.models import (
    AWAITING_REVIEW_STATES,
    WITH_VENDOR_STATES,
    EthicalWall,
    Matter,
    MatterMembership,
    MatterRole,
    Task,
    TaskStatus,
)
from matters.selectors import supervisors_by_matter
from supervision.models import (
    DeliveryPreference,
    Notification,
    ReminderKind,
    ReminderRecord,
    Review,
    ReviewDecision,
    SlaPolicy,
    Submission,
)
from supervision.sla import BusinessCalendar, PolicySet
from vendors.models import DueDiligenceRecord, VendorUser

logger = logging.getLogger(__name__)

TASK_OBJECT = "matters.task"
DILIGENCE_OBJECT = "vendors.duediligencerecord"
# Days before expiry, closest first: a record found at 5 days left gets the "7d" notice only.
DILIGENCE_THRESHOLDS = ((1, "1d"), (7, "7d"), (30, "30d"))
RECORD_BATCH = 1000
DELIVERY_CHUNK = 500
ID_CHUNK = 2000
# A reminder whose e-mail failed this often is left for a person (admin shows last_error).
MAX_DELIVERY_ATTEMPTS = 8
# Stop claiming new e-mails after this long, well inside the tasks' soft time limit; the next
# sweep carries on.
DELIVERY_BUDGET_SECONDS = 180.0
SMTP_TIMEOUT_SECONDS = 30
# What a mail server (or the network to it) raises; Celery retries the task with backoff.
SEND_ERRORS: tuple[type[Exception], ...] = (smtplib.SMTPException, OSError)

Key = tuple[str, int, str, str]  # (object_type, object_id, kind, threshold)
CalendarKey = tuple[str, str, str, int, int]  # zone, country, subdivision, day start, day end
T = TypeVar("T")

SUBJECTS: dict[str, str] = {
    ReminderKind.REVIEW_WAITING: "Review waiting: {task_title} (matter {matter_number}, "
    "v{version})",
    ReminderKind.REVIEW_DUE_SOON: "Review due {deadline_local}: {task_title} "
    "(matter {matter_number})",
    ReminderKind.REVIEW_OVERDUE: "Review overdue: {task_title} (matter {matter_number})",
    ReminderKind.REVIEW_ESCALATED: "Escalation, review overdue: {task_title} "
    "(matter {matter_number})",
    ReminderKind.TASK_DUE_SOON: "Due {deadline_local}: {task_title} (matter {matter_number})",
    ReminderKind.TASK_OVERDUE: "Overdue: {task_title} (matter {matter_number})",
    ReminderKind.DILIGENCE_EXPIRING: "{document} for {vendor_name} expires {expires_on}",
}

_TASK_FIELDS = (
    "id",
    "title",
    "task_type",
    "priority",
    "matter_id",
    "matter__number",
    "matter__time_zone",
    "matter__holiday_country",
    "matter__holiday_subdivision",
    "matter__responsible_attorney_id",
    "engagement__vendor_id",
    "engagement__vendor__name",
    "engagement__vendor__time_zone",
)


class DeliveryIncomplete(smtplib.SMTPException):
    """Some e-mails failed; they stay unsent and the Celery task retries with backoff."""


class _SendFailed(Exception):
    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass(frozen=True)
class PlannedReminder:
    kind: str
    object_type: str
    object_id: int
    threshold: str
    recipient_ids: tuple[int, ...]
    subject: str
    body: str
    url: str
    label: str  # what the reminder is about, for people (dry run, logs)

    @property
    def key(self) -> Key:
        return (self.object_type, self.object_id, self.kind, self.threshold)


@dataclass
class Recorded:
    recorded: int = 0
    reminder_ids: list[int] = field(default_factory=list)


@dataclass
class Delivery:
    sent: int = 0
    failed: int = 0
    reminders_completed: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class SweepResult:
    planned: int
    recorded: int
    delivery: Delivery


# --- Small helpers --------------------------------------------------------------------------


def _batches(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _stamp(deadline: dt.datetime) -> str:
    """The deadline in a reminder's key: a moved deadline (a new version, an extension) gets
    fresh reminders, while the record of the old one stays."""
    return deadline.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def _relative(offset: int) -> str:
    if offset == 0:
        return "at the deadline"
    side = "before" if offset < 0 else "after"
    return f"{abs(offset)} business hours {side} the deadline"


def _offsets(policy: SlaPolicy, *, review: bool = False) -> list[int]:
    """The policy's reminder offsets for the vendor SLA (or the review window), latest first;
    anything that is not a number is ignored."""
    configured = policy.review_reminder_offsets_hours if review else policy.reminder_offsets_hours
    raw = configured if isinstance(configured, list) else []
    numbers = {int(value) for value in raw
               if isinstance(value, int | float) and not isinstance(value, bool)}
    return sorted(numbers, reverse=True)


def _url(route: str, pk: int) -> str:
    """The object's page (a path; e-mails prefix SITE_URL), or "" if the route is missing."""
    try:
        return reverse(route, args=[pk])
    except NoReverseMatch:
        return ""


def _one_line(text: str, limit: int = 250) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _planned(kind: str, object_type: str, object_id: int, threshold: str,
             recipients: Iterable[int], context: dict[str, Any], url: str, label: str
             ) -> PlannedReminder:
    return PlannedReminder(
        kind=kind,
        object_type=object_type,
        object_id=object_id,
        threshold=threshold,
        recipient_ids=tuple(sorted(set(recipients))),
        subject=_one_line(SUBJECTS[kind].format(**context)),
        body=render_to_string(f"supervision/email/{kind}.txt", context).strip(),
        url=url,
        label=label,
    )


def _recorded_ids(keys: Iterable[Key]) -> dict[Key, int]:
    """Record id for each key already recorded: an indexed lookup on the unique key."""
    wanted = set(keys)
    ids_by_type: dict[str, set[int]] = defaultdict(set)
    for object_type, object_id, _kind, _threshold in wanted:
        ids_by_type[object_type].add(object_id)
    found: dict[Key, int] = {}
    for object_type, object_ids in ids_by_type.items():
        kinds = {key[2] for key in wanted if key[0] == object_type}
        for chunk in _batches(sorted(object_ids), ID_CHUNK):
            rows = ReminderRecord.objects.filter(
                object_type=object_type, object_id__in=chunk, kind__in=kinds
            ).values_list("pk", "object_id", "kind", "threshold")
            for pk, object_id, kind, threshold in rows:
                key = (object_type, object_id, kind, threshold)
                if key in wanted:
                    found[key] = pk
    return found


# --- Business-hour clock --------------------------------------------------------------------


class _Clock:
    """`now` shifted by business hours, once per calendar and offset for the whole sweep."""

    def __init__(self, now: dt.datetime) -> None:
        if timezone.is_naive(now):
            raise ValueError("now must be timezone-aware")
        self.now = now
        self._calendars: dict[CalendarKey, BusinessCalendar] = {}
        self._moments: dict[tuple[CalendarKey, int], dt.datetime] = {}

    @staticmethod
    def calendar_key(row: dict[str, Any], policy: SlaPolicy) -> CalendarKey:
        return (row["matter__time_zone"], row["matter__holiday_country"],
                row["matter__holiday_subdivision"], policy.business_day_start_hour,
                policy.business_day_end_hour)

    def calendar(self, key: CalendarKey) -> BusinessCalendar:
        calendar = self._calendars.get(key)
        if calendar is None:
            zone, country, subdivision, start, end = key
            calendar = self._calendars[key] = BusinessCalendar(
                time_zone=zone, country=country, subdivision=subdivision,
                day_start_hour=start, day_end_hour=end,
            )
        return calendar

    def moment(self, key: CalendarKey, hours: int) -> dt.datetime:
        cached = self._moments.get((key, hours))
        if cached is None:
            cached = self.calendar(key).shift_business_hours(self.now, hours)
            self._moments[(key, hours)] = cached
        return cached

    def reached(self, key: CalendarKey, deadline: dt.datetime, offset: int) -> bool:
        """Has `now` reached `deadline` + `offset` business hours?"""
        return deadline <= self.moment(key, -offset)

    def latest_reached(self, key: CalendarKey, deadline: dt.datetime, offsets: list[int],
                       started_at: dt.datetime | None) -> int | None:
        """The latest threshold `now` has reached. A "before the deadline" threshold that
        fell before the clock started (a deadline that close from the outset) is not one:
        the assignment or the review-waiting notice already told everyone."""
        offset = next((offset for offset in offsets if self.reached(key, deadline, offset)),
                      None)
        if offset is not None and offset < 0 and started_at is not None and (
            self.calendar(key).subtract_business_hours(deadline, -offset) <= started_at
        ):
            return None
        return offset

    def widest(self, policies: PolicySet) -> dt.datetime:
        """The latest deadline any reminder can fire for now, over every calendar in use: the
        upper bound of the indexed range scans."""
        lead = max((-offset for policy in policies.all()
                    for offset in (*_offsets(policy), *_offsets(policy, review=True))),
                   default=0)
        zones = Matter.objects.order_by().values_list(
            "time_zone", "holiday_country", "holiday_subdivision"
        ).distinct()
        hours = {(policy.business_day_start_hour, policy.business_day_end_hour)
                 for policy in policies.all()}
        return max(
            (self.moment((zone, country, subdivision, start, end), max(lead, 0))
             for zone, country, subdivision in zones for start, end in hours),
            default=self.now,
        )


# --- Who is told ----------------------------------------------------------------------------


class _Audience:
    """Recipients, read in batches and cached for one sweep."""

    def __init__(self) -> None:
        self._supervisors: dict[int, list[int]] = {}

    def supervisors(self, matter_ids: Iterable[int]) -> dict[int, list[int]]:
        """Supervising attorneys per matter, through the selector that applies grants and
        ethical walls: set-based, two queries per 2,000 matters, cached."""
        missing = set(matter_ids) - set(self._supervisors)
        if missing:
            self._supervisors.update(supervisors_by_matter(missing))
        return self._supervisors

    @staticmethod
    def teams(matter_ids: Iterable[int]) -> dict[int, list[int]]:
        """The matter team (active, not screened: a wall beats membership)."""
        walled = EthicalWall.objects.filter(matter_id=OuterRef("matter_id"),
                                            user_id=OuterRef("user_id"))
        members: dict[int, list[int]] = defaultdict(list)
        for chunk in _batches(sorted(set(matter_ids)), ID_CHUNK):
            rows = (
                MatterMembership.objects.filter(matter_id__in=chunk, role=MatterRole.TEAM,
                                                user__is_active=True)
                .exclude(Exists(walled)).values_list("matter_id", "user_id")
            )
            for matter_id, user_id in rows:
                members[matter_id].append(user_id)
        return members

    @staticmethod
    def vendor_contacts(vendor_ids: Iterable[int]) -> dict[int, list[int]]:
        contacts: dict[int, list[int]] = defaultdict(list)
        for chunk in _batches(sorted(set(vendor_ids)), ID_CHUNK):
            rows = VendorUser.objects.filter(
                vendor_id__in=chunk, is_active=True, receives_sla_reminders=True,
                user__is_active=True,
            ).values_list("vendor_id", "user_id")
            for vendor_id, user_id in rows:
                contacts[vendor_id].append(user_id)
        return contacts

    @staticmethod
    def active(user_ids: Iterable[int]) -> set[int]:
        wanted = {user_id for user_id in user_ids if user_id}
        return set(User.objects.filter(pk__in=wanted, is_active=True).values_list("pk", flat=True))


def _task_context(row: dict[str, Any], deadline: dt.datetime | None) -> dict[str, Any]:
    context: dict[str, Any] = {
        "task_title": _one_line(row["title"], 120),
        "matter_number": row["matter__number"],
        "vendor_name": row["engagement__vendor__name"] or "",
    }
    if deadline is not None:
        context.update(
            deadline_local=local_text(deadline, row["matter__time_zone"]),
            deadline_utc=local_text(deadline, "UTC"),
            deadline_vendor=(local_text(deadline, row["engagement__vendor__time_zone"])
                             if row["engagement__vendor__time_zone"] else ""),
            vendor_time_zone=row["engagement__vendor__time_zone"] or "",
        )
    return context


def _task_label(row: dict[str, Any]) -> str:
    return f"task {row['id']} “{_one_line(row['title'], 60)}” (matter {row['matter__number']})"


def _with_latest_version(tasks: QuerySet[Task]) -> QuerySet[Task]:
    latest = Submission.objects.filter(task=OuterRef("pk")).order_by("-version")
    return tasks.annotate(latest_version=Subquery(latest.values("version")[:1]),
                          latest_submitter=Subquery(latest.values("submitted_by_id")[:1]))


# --- 1. Plan --------------------------------------------------------------------------------


def _plan_review_waiting(tasks: QuerySet[Task], audience: _Audience) -> list[PlannedReminder]:
    """Supervising attorneys are told once per version that a review is waiting.

    The versions already announced (nearly all of them: the after-commit hook records each
    one) are dropped by the database with an anti-join on the reminder's unique key, so the
    sweep does not read every submitted task of the firm back into Python on each run."""
    announced = ReminderRecord.objects.filter(
        object_type=TASK_OBJECT, object_id=OuterRef("pk"), kind=ReminderKind.REVIEW_WAITING,
        threshold=Concat(Value("v"), Cast(OuterRef("latest_version"), CharField())),
    )
    rows = list(
        _with_latest_version(tasks.filter(status=TaskStatus.SUBMITTED))
        .exclude(Exists(announced))
        .values(*_TASK_FIELDS, "review_due_at", "latest_version", "latest_submitter")
    )
    fresh = {(TASK_OBJECT, row["id"], ReminderKind.REVIEW_WAITING, f"v{row['latest_version']}"):
             row for row in rows if row["latest_version"]}
    supervisors = audience.supervisors(row["matter_id"] for row in fresh.values())
    planned = []
    for key, row in fresh.items():
        recipients = [user_id for user_id in supervisors.get(row["matter_id"], [])
                      if user_id != row["latest_submitter"]]
        context = {**_task_context(row, row["review_due_at"]), "version": row["latest_version"]}
        planned.append(_planned(key[2], TASK_OBJECT, row["id"], key[3], recipients, context,
                                _url("supervision:task_detail", row["id"]), _task_label(row)))
    return planned


def _plan_review_deadlines(clock: _Clock, policies: PolicySet, audience: _Audience,
                           widest: dt.datetime) -> list[PlannedReminder]:
    """Review windows closing or closed: the reviewer first (the latest threshold reached),
    then each rung of the escalation ladder whose delay has passed, in ladder order.

    1. One indexed range scan: awaiting review and `review_due_at <= widest`.
    2. In memory, per task: its policy, its calendar, the thresholds `now` has reached.
    3. Drop keys already recorded; read recipients in batches for what is left.
    """
    rows = list(
        _with_latest_version(
            Task.objects.filter(status__in=AWAITING_REVIEW_STATES, review_due_at__lte=widest)
        ).values(*_TASK_FIELDS, "review_due_at", "submitted_at", "latest_submitter")
    )
    due: list[tuple[Key, dict[str, Any], SlaPolicy, str]] = []
    for row in rows:
        policy = policies.resolve(task_type=row["task_type"], priority=row["priority"])
        calendar = clock.calendar_key(row, policy)
        deadline = row["review_due_at"]
        stamp = _stamp(deadline)
        offset = clock.latest_reached(calendar, deadline, _offsets(policy, review=True),
                                      row["submitted_at"])
        if offset is not None:
            reviewer_kind = (ReminderKind.REVIEW_DUE_SOON if offset < 0
                             else ReminderKind.REVIEW_OVERDUE)
            due.append(((TASK_OBJECT, row["id"], reviewer_kind, f"{stamp}{offset:+d}h"), row,
                        policy, _relative(offset)))
        for rung, delay in (("responsible", policy.escalate_to_responsible_after_hours),
                            ("partner", policy.escalate_to_partner_after_hours)):
            if clock.reached(calendar, deadline, delay):
                due.append(((TASK_OBJECT, row["id"], ReminderKind.REVIEW_ESCALATED,
                             f"{stamp}>{rung}"), row, policy, rung))
    recorded = _recorded_ids(key for key, *_ in due)
    due = [item for item in due if item[0] not in recorded]
    if not due:
        return []
    reviewers: dict[int, list[int]] = defaultdict(list)
    task_ids = sorted({row["id"] for _, row, _, _ in due})
    for chunk in _batches(task_ids, ID_CHUNK):
        for task_id, reviewer_id in Review.objects.filter(
            submission__task_id__in=chunk, decision=ReviewDecision.PENDING
        ).values_list("submission__task_id", "reviewer_id"):
            reviewers[task_id].append(reviewer_id)
    supervisors = audience.supervisors(
        row["matter_id"] for _, row, _, _ in due if not reviewers.get(row["id"]))
    active = audience.active(
        [row["matter__responsible_attorney_id"] for _, row, _, _ in due]
        + [policy.escalation_partner_id or 0 for _, _, policy, _ in due]
    )
    planned = []
    for key, row, policy, detail in due:
        kind = key[2]
        if kind == ReminderKind.REVIEW_ESCALATED:
            person = (row["matter__responsible_attorney_id"] if detail == "responsible"
                      else policy.escalation_partner_id)
            if person not in active:
                continue  # no one named for this rung (yet): nothing to record
            recipients = [person]
            hours = (policy.escalate_to_responsible_after_hours if detail == "responsible"
                     else policy.escalate_to_partner_after_hours)
            when = f"{hours} business hours after the review window closed"
        else:
            recipients = reviewers.get(row["id"]) or [
                user_id for user_id in supervisors.get(row["matter_id"], [])
                if user_id != row["latest_submitter"]]
            when = detail
        context = {**_task_context(row, row["review_due_at"]), "when": when, "rung": detail,
                   "reviewer_assigned": bool(reviewers.get(row["id"]))}
        planned.append(_planned(kind, TASK_OBJECT, row["id"], key[3], recipients, context,
                                _url("supervision:task_detail", row["id"]), _task_label(row)))
    return planned


def _plan_task_deadlines(clock: _Clock, policies: PolicySet, audience: _Audience,
                         widest: dt.datetime) -> list[PlannedReminder]:
    """Vendor deadlines (the SLA) due soon or passed: vendor contacts and the matter team.
    Only the latest threshold reached is sent: nobody needs "due soon" for overdue work."""
    rows = list(
        Task.objects.filter(status__in=WITH_VENDOR_STATES, sla_due_at__lte=widest)
        .values(*_TASK_FIELDS, "sla_due_at", "assigned_at")
    )
    due: list[tuple[Key, dict[str, Any], int]] = []
    for row in rows:
        policy = policies.resolve(task_type=row["task_type"], priority=row["priority"])
        deadline = row["sla_due_at"]
        offset = clock.latest_reached(clock.calendar_key(row, policy), deadline,
                                      _offsets(policy), row["assigned_at"])
        if offset is not None:
            kind = ReminderKind.TASK_DUE_SOON if offset < 0 else ReminderKind.TASK_OVERDUE
            due.append(((TASK_OBJECT, row["id"], kind, f"{_stamp(deadline)}{offset:+d}h"),
                        row, offset))
    recorded = _recorded_ids(key for key, _, _ in due)
    due = [item for item in due if item[0] not in recorded]
    if not due:
        return []
    contacts = audience.vendor_contacts(row["engagement__vendor_id"] for _, row, _ in due
                                        if row["engagement__vendor_id"])
    teams = audience.teams(row["matter_id"] for _, row, _ in due)
    planned = []
    for key, row, offset in due:
        recipients = [*contacts.get(row["engagement__vendor_id"], []),
                      *teams.get(row["matter_id"], [])]
        context = {**_task_context(row, row["sla_due_at"]), "when": _relative(offset)}
        planned.append(_planned(key[2], TASK_OBJECT, row["id"], key[3], recipients, context,
                                _url("supervision:task_detail", row["id"]), _task_label(row)))
    return planned


def _plan_diligence(today: dt.date) -> list[PlannedReminder]:
    """NDAs and certifications expiring within 30 days, unless a newer record already covers
    the same kind: the vendor manager hears at 30, 7 and 1 days, each once."""
    longest = max(days for days, _ in DILIGENCE_THRESHOLDS)
    renewed = DueDiligenceRecord.objects.filter(
        vendor_id=OuterRef("vendor_id"), kind=OuterRef("kind"),
        expires_on__gt=OuterRef("expires_on"), revoked_at__isnull=True,
    )
    records = list(
        DueDiligenceRecord.objects.expiring_between(today, today + dt.timedelta(days=longest))
        .exclude(Exists(renewed))
        .filter(vendor__manager__isnull=False, vendor__manager__is_active=True)
        .select_related("vendor")
    )
    due: dict[Key, tuple[DueDiligenceRecord, int]] = {}
    for record in records:
        days_left = (record.expires_on - today).days
        threshold = next(label for days, label in DILIGENCE_THRESHOLDS if days_left <= days)
        due[(DILIGENCE_OBJECT, record.pk, ReminderKind.DILIGENCE_EXPIRING, threshold)] = (
            record, days_left)
    recorded = _recorded_ids(due)
    planned = []
    for key, (record, days_left) in due.items():
        if key in recorded:
            continue
        context = {
            "document": record.get_kind_display(),
            "vendor_name": record.vendor.name,
            "expires_on": record.expires_on.strftime("%d %b %Y"),
            "days_left": days_left,
            "reference": record.reference,
        }
        label = f"{record.get_kind_display()} of {record.vendor.name} (record {record.pk})"
        assert record.vendor.manager_id is not None
        planned.append(_planned(key[2], DILIGENCE_OBJECT, record.pk, key[3],
                                [record.vendor.manager_id], context,
                                _url("vendors:vendor_detail", record.vendor_id),
                                label))
    return planned


def reminders_plan(*, now: dt.datetime) -> list[PlannedReminder]:
    """Everything that should go out at `now` and has not been recorded. Reads only."""
    clock = _Clock(now)
    policies = PolicySet.load()
    audience = _Audience()
    widest = clock.widest(policies)
    return [
        *_plan_review_waiting(Task.objects.all(), audience),
        *_plan_review_deadlines(clock, policies, audience, widest),
        *_plan_task_deadlines(clock, policies, audience, widest),
        *_plan_diligence(firm_today(now)),
    ]


# --- 2. Record ------------------------------------------------------------------------------


def reminders_record(*, planned: Sequence[PlannedReminder], now: dt.datetime) -> Recorded:
    """Claim planned reminders: each record under its unique key, with one notification per
    recipient, in one transaction per batch. Keys someone else recorded first are left alone
    (their notifications are unique per user and reminder, so nothing doubles either)."""
    result = Recorded()
    for batch in _batches(planned, RECORD_BATCH):
        with transaction.atomic():
            known = _recorded_ids(item.key for item in batch)
            ReminderRecord.objects.bulk_create(
                [ReminderRecord(kind=item.kind, object_type=item.object_type,
                                object_id=item.object_id, threshold=item.threshold,
                                recipients=list(item.recipient_ids), created_at=now)
                 for item in batch if item.key not in known],
                ignore_conflicts=True,
            )
            ids = _recorded_ids(item.key for item in batch)
            fresh = [item for item in batch if item.key not in known and item.key in ids]
            Notification.objects.bulk_create(
                [Notification(user_id=user_id, reminder_id=ids[item.key], kind=item.kind,
                              subject=item.subject, body=item.body, url=item.url,
                              created_at=now)
                 for item in fresh for user_id in item.recipient_ids],
                ignore_conflicts=True,
            )
            nobody = [ids[item.key] for item in fresh if not item.recipient_ids]
            if nobody:
                ReminderRecord.objects.filter(pk__in=nobody, sent_at__isnull=True).update(
                    sent_at=now)
            result.recorded += len(fresh)
            result.reminder_ids.extend(ids[item.key] for item in batch if item.key in ids)
    return result


# --- 3. Deliver -----------------------------------------------------------------------------


def _wants_digest() -> Q:
    return Q(user__notification_settings__email_delivery=DeliveryPreference.DAILY_DIGEST)


@dataclass(frozen=True)
class _Email:
    """One notification's e-mail, read with its chunk before it is claimed."""

    notification_id: int
    reminder_id: int
    address: str
    name: str
    subject: str
    body: str
    url: str


def _message(email: _Email, connection: BaseEmailBackend) -> EmailMessage:
    body = render_to_string("supervision/email/message.txt", {
        "name": email.name,
        "body": email.body,
        "link": f"{settings.SITE_URL}{email.url}" if email.url else "",
    })
    return EmailMessage(
        subject=email.subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email.address],
        connection=connection,
        headers={
            # The same notification always has the same Message-ID: a repeat after a crash at
            # the SMTP boundary is recognisable as the same message.
            "Message-ID": f"<lpo-notification-{email.notification_id}@{DNS_NAME}>",
            "Auto-Submitted": "auto-generated",  # RFC 3834: no auto-replies, please
        },
    )


def _unsent_reminder_ids(reminder_ids: Iterable[int] | None) -> list[int]:
    unsent = ReminderRecord.objects.filter(sent_at__isnull=True,
                                           attempts__lt=MAX_DELIVERY_ATTEMPTS)
    if reminder_ids is not None:
        unsent = unsent.filter(pk__in=list(reminder_ids))
    # Ordered by the partial index on created_at WHERE sent_at IS NULL: older reminders first.
    return list(unsent.order_by("created_at", "id").values_list("pk", flat=True))


def _waiting_emails(reminder_ids: Sequence[int]) -> list[_Email]:
    """The e-mails still to send for these reminders, in the reminders' order: one query
    for a whole chunk of reminders."""
    position = {reminder_id: index for index, reminder_id in enumerate(reminder_ids)}
    rows = (
        Notification.objects.filter(reminder_id__in=reminder_ids, emailed_at__isnull=True)
        .exclude(_wants_digest())
        .values_list("pk", "reminder_id", "user__email", "user__first_name",
                     "user__last_name", "user__username", "subject", "body", "url")
    )
    emails = [
        _Email(notification_id=pk, reminder_id=reminder_id, address=address,
               name=f"{first} {last}".strip() or username, subject=subject, body=body, url=url)
        for pk, reminder_id, address, first, last, username, subject, body, url in rows
        if reminder_id is not None
    ]
    return sorted(emails, key=lambda email: (position[email.reminder_id],
                                             email.notification_id))


def _send_one(email: _Email, connection: BaseEmailBackend) -> bool:
    """Claim one e-mail, send it and mark it sent, in one transaction.

    The claim is one statement: UPDATE … SET emailed_at WHERE id IN (SELECT … WHERE
    emailed_at IS NULL FOR UPDATE SKIP LOCKED). A second deliverer skips a row another one
    holds instead of waiting and sending it again, and finds nothing once it is committed.
    The mark is only visible at commit, after the send: a send error rolls it back (the
    e-mail stays unsent) and comes out as `_SendFailed`. False: someone else has it.
    """
    with transaction.atomic():
        claimable = Notification.objects.select_for_update(skip_locked=True).filter(
            pk=email.notification_id, emailed_at__isnull=True).order_by()
        if not Notification.objects.filter(pk__in=claimable.values("pk")).update(
                emailed_at=timezone.now()):
            return False
        if email.address:  # no address: in-app only
            try:
                _message(email, connection).send()
            except SEND_ERRORS as exc:
                raise _SendFailed(exc) from exc
        return True


def _complete_where_done(reminder_ids: Sequence[int]) -> int:
    """Mark records sent once no immediate e-mail of theirs is left (digest readers get
    theirs later, in the digest)."""
    waiting = Notification.objects.filter(reminder_id=OuterRef("pk"), emailed_at__isnull=True
                                          ).exclude(_wants_digest())
    return (ReminderRecord.objects.filter(pk__in=reminder_ids, sent_at__isnull=True)
            .exclude(Exists(waiting)).update(sent_at=timezone.now()))


def _record_failure(reminder_id: int, error: Exception) -> None:
    logger.warning("E-mail for reminder %s failed: %s", reminder_id, error)
    ReminderRecord.objects.filter(pk=reminder_id).update(
        attempts=F("attempts") + 1,
        last_error=_one_line(f"{type(error).__name__}: {error}", 2000),
    )


def reminders_deliver(*, reminder_ids: Iterable[int] | None = None,
                      budget_seconds: float = DELIVERY_BUDGET_SECONDS) -> Delivery:
    """Send every recorded e-mail not yet sent (or those of `reminder_ids`), oldest first.

    1. List the unsent records (a partial index keeps this cheap however large the table),
       and, a chunk of records at a time, their e-mails still to send.
    2. Claim, send and mark each e-mail in its own transaction (`_send_one`).
    3. A failed send is counted on its record and left for the next run; the rest go on.
    4. Mark the chunk's records sent where nothing immediate is left.
    """
    started = time.monotonic()
    result = Delivery()
    connection = get_connection(timeout=getattr(settings, "EMAIL_TIMEOUT", None)
                                or SMTP_TIMEOUT_SECONDS)
    try:
        for chunk in _batches(_unsent_reminder_ids(reminder_ids), DELIVERY_CHUNK):
            for email in _waiting_emails(chunk):
                if time.monotonic() - started >= budget_seconds:
                    return result  # the next sweep carries on
                try:
                    result.sent += _send_one(email, connection)
                except _SendFailed as failure:
                    _record_failure(email.reminder_id, failure.error)
                    result.failed += 1
                    result.errors.append(f"reminder {email.reminder_id}: {failure.error}")
                    connection.close()  # a broken SMTP session is not reused
            result.reminders_completed += _complete_where_done(chunk)
    finally:
        connection.close()
    return result


# --- Entry points ---------------------------------------------------------------------------


def reminders_sweep(*, now: dt.datetime) -> SweepResult:
    """Plan, record and deliver everything due at `now`, then retry what earlier runs left."""
    planned = reminders_plan(now=now)
    recorded = reminders_record(planned=planned, now=now)
    delivery = reminders_deliver()
    logger.info("Reminder sweep at %s: %d planned, %d recorded, %d e-mails sent, %d failed",
                now.isoformat(), len(planned), recorded.recorded, delivery.sent, delivery.failed)
    return SweepResult(planned=len(planned), recorded=recorded.recorded, delivery=delivery)


def review_waiting_notify(*, submission_id: int, now: dt.datetime) -> SweepResult:
    """Tell the supervising attorneys that this version waits for review, right after the
    submission commits. Nothing happens if a newer version or a reviewer got there first."""
    submission = Submission.objects.filter(pk=submission_id).values("task_id", "version").first()
    if submission is None:
        return SweepResult(planned=0, recorded=0, delivery=Delivery())
    newer = Submission.objects.filter(task=OuterRef("pk"), version__gt=submission["version"])
    still_latest = Task.objects.filter(pk=submission["task_id"]).exclude(Exists(newer))
    planned = _plan_review_waiting(still_latest, _Audience())
    recorded = reminders_record(planned=planned, now=now)
    key = (TASK_OBJECT, submission["task_id"], ReminderKind.REVIEW_WAITING,
           f"v{submission['version']}")
    delivery = reminders_deliver(reminder_ids=_recorded_ids([key]).values())
    return SweepResult(planned=len(planned), recorded=recorded.recorded, delivery=delivery)


def pending_delivery_count() -> int:
    return ReminderRecord.objects.filter(sent_at__isnull=True,
                                         attempts__lt=MAX_DELIVERY_ATTEMPTS).count()
