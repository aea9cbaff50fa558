"""The reminder engine's vocabulary: what a planned reminder is, the sweep's business-hour
clock, who is told (the audience), and the small helpers every planner shares (subjects
and bodies, keys already recorded). Budget alerts (`supervision.budget`) plan with these too.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, TypeVar

from django.contrib.auth.models import User
from django.db.models import Exists, OuterRef, QuerySet, Subquery
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, get_script_prefix, reverse
from django.utils import timezone

from lpo_tracker.clock import local_text
from matters.models import (
    EthicalWall,
    Matter,
    MatterMembership,
    MatterRole,
    Task,
)
from matters.selectors import supervisors_by_matter
from supervision.models import (
    ReminderKind,
    ReminderRecord,
    SlaPolicy,
    Submission,
)
from supervision.sla import BusinessCalendar, PolicySet
from vendors.models import VendorUser
from vendors.selectors import EXPIRING_WITHIN_DAYS

logger = logging.getLogger(__name__)

TASK_OBJECT = "matters.task"
DILIGENCE_OBJECT = "vendors.duediligencerecord"
# Days before expiry, closest first: a record found at 5 days left gets the "7d" notice only.
# The widest is the "expiring" horizon of the vendor pages (vendors.selectors).
DILIGENCE_THRESHOLDS = ((1, "1d"), (7, "7d"), (EXPIRING_WITHIN_DAYS, f"{EXPIRING_WITHIN_DAYS}d"))
TRAINING_OBJECT = "vendors.stafftraining"
# Staff training is reminded on the same days as due diligence (30, 7 and 1 days before).
TRAINING_THRESHOLDS = DILIGENCE_THRESHOLDS
# Moved due dates older than this are not announced any more (a sweep down for a week).
DUE_DATE_CHANGE_HORIZON = dt.timedelta(days=7)
RECORD_BATCH = 1000
DELIVERY_CHUNK = 500
ID_CHUNK = 2000
# An e-mail the server refused is tried again after 1 minute, doubling to a 6-hour cap; it
# gives up at the 21st refusal, 74.5 hours after the first (more than three days, a long
# weekend of a broken mailbox). An outage (no connection at all) counts on no e-mail.
FIRST_RETRY_DELAY = dt.timedelta(minutes=1)
MAX_RETRY_DELAY = dt.timedelta(hours=6)
MAX_EMAIL_ATTEMPTS = 21
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
    ReminderKind.TASK_ESCALATED: "Escalation, vendor deadline missed: {task_title} "
    "(matter {matter_number})",
    ReminderKind.DUE_DATE_CHANGED: "{due_kind_title} moved to {deadline_local}: {task_title} "
    "(matter {matter_number})",
    ReminderKind.DILIGENCE_EXPIRING: "{document} for {vendor_name} expires {expires_on}",
    ReminderKind.TRAINING_EXPIRING: "{topic} training of {person} ({vendor_name}) expires "
    "{expires_on}",
}

TASK_FIELDS = (
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


@dataclass(frozen=True)
class PlannedReminder:
    """A reminder to record. Its body is either written out (`body`: notices recorded one at
    a time) or, for the sweep's reminders, left to delivery: `context` holds the facts its
    kind's template (`supervision/email/<kind>.txt`) is rendered from, when an e-mail goes
    out or the notification is shown (`reminder_body`)."""

    kind: str
    object_type: str
    object_id: int
    threshold: str
    recipient_ids: tuple[int, ...]
    subject: str
    url: str
    label: str  # what the reminder is about, for people (dry run, logs)
    body: str = ""
    context: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> Key:
        return (self.object_type, self.object_id, self.kind, self.threshold)

    @property
    def text(self) -> str:
        """The body as people will read it (the dry run shows it)."""
        return self.body or reminder_body(self.kind, self.context)


def reminder_body(kind: str, context: dict[str, Any]) -> str:
    """The body of a reminder of `kind`, from the facts the sweep recorded. The one place
    the sweep's message texts are rendered: at delivery and on the notifications page."""
    if not context:
        return ""
    return render_to_string(f"supervision/email/{kind}.txt", context).strip()


@dataclass
class Recorded:
    recorded: int = 0
    reminder_ids: list[int] = field(default_factory=list)


@dataclass
class Delivery:
    sent: int = 0
    failed: int = 0  # sends that failed this run (each counted on its own e-mail)
    gave_up: int = 0
    alerted: int = 0  # given-up e-mails reported to the ops address
    reminders_completed: int = 0
    outage: str = ""  # the mail server was unreachable: the run stopped, nothing counted
    errors: list[str] = field(default_factory=list)


@dataclass
class SweepResult:
    planned: int
    recorded: int
    delivery: Delivery


# --- Small helpers --------------------------------------------------------------------------


def retry_delay(attempts: int) -> dt.timedelta:
    """How long an e-mail refused `attempts` times waits before the next try."""
    return min(FIRST_RETRY_DELAY * 2 ** max(attempts - 1, 0), MAX_RETRY_DELAY)


def batches(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def deadline_stamp(deadline: dt.datetime) -> str:
    """The deadline in a reminder's key: a moved deadline (a new version, an extension) gets
    fresh reminders, while the record of the old one stays."""
    return deadline.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def relative_text(offset: int) -> str:
    if offset == 0:
        return "at the deadline"
    side = "before" if offset < 0 else "after"
    return f"{abs(offset)} business hours {side} the deadline"


def policy_offsets(policy: SlaPolicy, *, review: bool = False) -> list[int]:
    """The policy's reminder offsets for the vendor SLA (or the review window), latest first;
    anything that is not a number is ignored."""
    configured = policy.review_reminder_offsets_hours if review else policy.reminder_offsets_hours
    raw = configured if isinstance(configured, list) else []
    numbers = {int(value) for value in raw
               if isinstance(value, int | float) and not isinstance(value, bool)}
    return sorted(numbers, reverse=True)


_URL_PLACEHOLDER = 987654321012345


@lru_cache(maxsize=64)
def _url_pattern(route: str, prefix: str) -> str:
    try:
        return reverse(route, args=[_URL_PLACEHOLDER])
    except NoReverseMatch:
        return ""


def object_url(route: str, pk: int) -> str:
    """The object's page (a path; e-mails prefix SITE_URL), or "" if the route is missing.
    Resolved once per route and script prefix, then the id is put in: `reverse()` per
    reminder was a tenth of the planning's Python."""
    pattern = _url_pattern(route, get_script_prefix())
    return pattern.replace(str(_URL_PLACEHOLDER), str(int(pk))) if pattern else ""


def one_line(text: str, limit: int = 250) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def planned_reminder(kind: str, object_type: str, object_id: int, threshold: str,
             recipients: Iterable[int], context: dict[str, Any], url: str, label: str
             ) -> PlannedReminder:
    return PlannedReminder(
        kind=kind,
        object_type=object_type,
        object_id=object_id,
        threshold=threshold,
        recipient_ids=tuple(sorted(set(recipients))),
        subject=one_line(SUBJECTS[kind].format(**context)),
        url=url,
        label=label,
        context=context,
    )


def recorded_ids(keys: Iterable[Key]) -> dict[Key, int]:
    """Record id for each key already recorded: an indexed lookup on the unique key."""
    wanted = set(keys)
    ids_by_type: dict[str, set[int]] = defaultdict(set)
    for object_type, object_id, _kind, _threshold in wanted:
        ids_by_type[object_type].add(object_id)
    found: dict[Key, int] = {}
    for object_type, object_ids in ids_by_type.items():
        kinds = {key[2] for key in wanted if key[0] == object_type}
        for chunk in batches(sorted(object_ids), ID_CHUNK):
            rows = ReminderRecord.objects.filter(
                object_type=object_type, object_id__in=chunk, kind__in=kinds
            ).values_list("pk", "object_id", "kind", "threshold")
            for pk, object_id, kind, threshold in rows:
                key = (object_type, object_id, kind, threshold)
                if key in wanted:
                    found[key] = pk
    return found


# --- Business-hour clock --------------------------------------------------------------------


class Clock:
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
                    for offset in (*policy_offsets(policy), *policy_offsets(policy, review=True))),
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


class Audience:
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
        for chunk in batches(sorted(set(matter_ids)), ID_CHUNK):
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
        for chunk in batches(sorted(set(vendor_ids)), ID_CHUNK):
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


def task_context(row: dict[str, Any], deadline: dt.datetime | None) -> dict[str, Any]:
    context: dict[str, Any] = {
        "task_title": one_line(row["title"], 120),
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


def user_label(row: dict[str, Any], prefix: str) -> str:
    """A person's name from a `values()` row (first/last name, else username)."""
    name = f"{row[f'{prefix}first_name'] or ''} {row[f'{prefix}last_name'] or ''}".strip()
    return name or row[f"{prefix}username"] or "someone"


def task_label(row: dict[str, Any]) -> str:
    return f"task {row['id']} “{one_line(row['title'], 60)}” (matter {row['matter__number']})"


def with_latest_version(tasks: QuerySet[Task]) -> QuerySet[Task]:
    latest = Submission.objects.filter(task=OuterRef("pk")).order_by("-version")
    return tasks.annotate(latest_version=Subquery(latest.values("version")[:1]),
                          latest_submitter=Subquery(latest.values("submitted_by_id")[:1]))
