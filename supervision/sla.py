"""Business-hour clocks: deadlines counted in working hours of the matter's own time zone,
skipping weekends, public holidays (the `holidays` package, per country and subdivision) and
the firm's own closures. Results are aware UTC instants, ready to store.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
from django.conf import settings

from matters.deadlines import DefaultDeadline
from matters.models import DueSource, Matter
from supervision.models import FirmHoliday, SlaPolicy

# Far enough for any real SLA (a year of business days) yet bounded against bad policy data.
_MAX_DAYS_SCANNED = 800


@lru_cache(maxsize=256)
def _public_holidays(country: str, subdivision: str, year: int) -> frozenset[dt.date]:
    try:
        calendar = holidays.country_holidays(country, subdiv=subdivision or None, years=year)
    except NotImplementedError:
        calendar = holidays.country_holidays(country, years=year)
    return frozenset(calendar.keys())


class BusinessCalendar:
    """Working days and hours of one place. Firm closures are read once per calendar."""

    def __init__(
        self,
        *,
        time_zone: str,
        country: str = "",
        subdivision: str = "",
        day_start_hour: int = 9,
        day_end_hour: int = 18,
    ) -> None:
        self.zone = ZoneInfo(time_zone)
        self.country = (country or settings.FIRM_HOLIDAY_COUNTRY).upper()
        self.subdivision = subdivision
        self.day_start = dt.time(day_start_hour)
        self.day_end_hour = day_end_hour
        self._firm_closures = frozenset(
            FirmHoliday.objects.filter(country__in=("", self.country)).values_list("day", flat=True)
        )

    def is_business_day(self, day: dt.date) -> bool:
        return (
            day.weekday() < 5
            and day not in _public_holidays(self.country, self.subdivision, day.year)
            and day not in self._firm_closures
        )

    def _window(self, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
        opens = dt.datetime.combine(day, self.day_start, tzinfo=self.zone)
        closes = (
            dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=self.zone)
            if self.day_end_hour == 24
            else dt.datetime.combine(day, dt.time(self.day_end_hour), tzinfo=self.zone)
        )
        return opens, closes

    def add_business_hours(self, start: dt.datetime, hours: float) -> dt.datetime:
        """The instant `hours` working hours after `start` (an aware datetime).

        1. Walk forward one local day at a time from the day `start` falls on.
        2. On a business day, spend what is left of its working window after `start`.
        3. When the remaining hours fit in a window, the deadline falls inside it.
        """
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        remaining = dt.timedelta(hours=hours)
        cursor = start.astimezone(self.zone)
        day = cursor.date()
        for _ in range(_MAX_DAYS_SCANNED):
            if self.is_business_day(day):
                opens, closes = self._window(day)
                begin = max(cursor, opens)
                if begin < closes:
                    available = closes - begin
                    if remaining <= available:
                        return (begin + remaining).astimezone(dt.UTC)
                    remaining -= available
            day += dt.timedelta(days=1)
            cursor = dt.datetime.combine(day, dt.time(0), tzinfo=self.zone)
        raise ValueError("No deadline within the scanned period: check the calendar's policy")

    def subtract_business_hours(self, end: dt.datetime, hours: float) -> dt.datetime:
        """The instant `hours` working hours before `end`: `add_business_hours` run backwards.

        A reminder "24 business hours before the deadline" fires once the deadline is within
        24 business hours of now; one "24 after" once the deadline is 24 business hours behind
        now. The sweep needs both directions to turn such offsets into plain instants.
        """
        if end.tzinfo is None:
            raise ValueError("end must be timezone-aware")
        remaining = dt.timedelta(hours=hours)
        cursor = end.astimezone(self.zone)
        day = cursor.date()
        for _ in range(_MAX_DAYS_SCANNED):
            if self.is_business_day(day):
                opens, closes = self._window(day)
                finish = min(cursor, closes)
                if finish > opens:
                    available = finish - opens
                    if remaining <= available:
                        return (finish - remaining).astimezone(dt.UTC)
                    remaining -= available
            cursor = dt.datetime.combine(day, dt.time(0), tzinfo=self.zone)
            day -= dt.timedelta(days=1)
        raise ValueError("No instant within the scanned period: check the calendar's policy")

    def shift_business_hours(self, instant: dt.datetime, hours: float) -> dt.datetime:
        """`instant` moved by `hours` working hours: later when positive, earlier when negative."""
        if hours > 0:
            return self.add_business_hours(instant, hours)
        if hours < 0:
            return self.subtract_business_hours(instant, -hours)
        return instant.astimezone(dt.UTC)

    def close_of_business_after(self, start: dt.datetime, business_days: int) -> dt.datetime:
        """The close of business of the `business_days`-th business day after the local day
        of `start` (that day itself not counted): "due in 5 business days"."""
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        day = start.astimezone(self.zone).date()
        remaining = business_days
        for _ in range(_MAX_DAYS_SCANNED):
            day += dt.timedelta(days=1)
            if self.is_business_day(day):
                remaining -= 1
                if remaining <= 0:
                    return self._window(day)[1].astimezone(dt.UTC)
        raise ValueError("No business day within the scanned period: check the calendar")

    def business_hours_between(self, start: dt.datetime, end: dt.datetime) -> float:
        """Working hours from `start` to `end` (negative when end is before start)."""
        if end < start:
            return -self.business_hours_between(end, start)
        total = dt.timedelta()
        day = start.astimezone(self.zone).date()
        last = end.astimezone(self.zone).date()
        while day <= last:
            if self.is_business_day(day):
                opens, closes = self._window(day)
                begin, finish = max(opens, start), min(closes, end)
                if finish > begin:
                    total += finish - begin
            day += dt.timedelta(days=1)
        return total.total_seconds() / 3600


DEFAULT_REMINDER_OFFSETS = [-24, 0, 24]


def default_policy() -> SlaPolicy:
    """The built-in policy used when no SlaPolicy row matches (unsaved)."""
    return SlaPolicy(
        name="Built-in default",
        turnaround_business_hours=40,
        review_window_business_hours=16,
        reminder_offsets_hours=DEFAULT_REMINDER_OFFSETS,
        review_reminder_offsets_hours=[-4, 0],
        escalate_to_responsible_after_hours=8,
        escalate_to_partner_after_hours=24,
    )


class PolicySet:
    """Active policies read once, resolved in memory: a sweep over thousands of tasks asks
    for a policy per task without a query per task."""

    def __init__(self, policies: Iterable[SlaPolicy]) -> None:
        self._by_scope = {(policy.task_type, policy.priority): policy for policy in policies}
        self.default = default_policy()

    @classmethod
    def load(cls) -> PolicySet:
        return cls(SlaPolicy.objects.filter(is_active=True).select_related("escalation_partner"))

    def resolve(self, *, task_type: str, priority: str) -> SlaPolicy:
        """The most specific policy: (type, priority), (type, any), (any, priority), (any,
        any); the built-in default when none is configured."""
        for key in ((task_type, priority), (task_type, ""), ("", priority), ("", "")):
            if key in self._by_scope:
                return self._by_scope[key]
        return self.default

    def all(self) -> list[SlaPolicy]:
        """Every policy a task can resolve to, the built-in default included."""
        return [*self._by_scope.values(), self.default]


def policy_for(*, task_type: str, priority: str) -> SlaPolicy:
    """The policy for one task (see `PolicySet.resolve`), reading only the candidate rows."""
    return PolicySet(
        SlaPolicy.objects.filter(
            is_active=True, task_type__in=(task_type, ""), priority__in=(priority, "")
        ).select_related("escalation_partner")
    ).resolve(task_type=task_type, priority=priority)


def calendar_for_matter(
    *, time_zone: str, holiday_country: str, holiday_subdivision: str, policy: SlaPolicy
) -> BusinessCalendar:
    return BusinessCalendar(
        time_zone=time_zone,
        country=holiday_country,
        subdivision=holiday_subdivision,
        day_start_hour=policy.business_day_start_hour,
        day_end_hour=policy.business_day_end_hour,
    )


def compute_deadline(
    *,
    start: dt.datetime,
    hours: float,
    time_zone: str,
    holiday_country: str = "",
    holiday_subdivision: str = "",
    policy: SlaPolicy | None = None,
) -> dt.datetime:
    policy = policy or default_policy()
    calendar = calendar_for_matter(
        time_zone=time_zone,
        holiday_country=holiday_country,
        holiday_subdivision=holiday_subdivision,
        policy=policy,
    )
    return calendar.add_business_hours(start, hours)



def policy_deadline(
    *, matter: Matter, task_type: str, priority: str, start: dt.datetime,
    business_days: int | None = None, template_name: str = "",
) -> DefaultDeadline:
    """A new task's vendor deadline by the firm's rules, in the matter's business calendar
    (its zone, public holidays of its country and region, the firm's closures, the policy's
    working hours). With `business_days` (a task template's relative due date): the close of
    business that many business days after `start`; otherwise the SLA policy's turnaround
    (`turnaround_business_hours`) counted from `start`. Registered with
    `matters.deadlines.DEADLINE_RULES` (SupervisionConfig.ready)."""
    policy = policy_for(task_type=task_type, priority=priority)
    calendar = calendar_for_matter(
        time_zone=matter.time_zone, holiday_country=matter.holiday_country,
        holiday_subdivision=matter.holiday_subdivision, policy=policy,
    )
    if business_days:
        return DefaultDeadline(
            due_at=calendar.close_of_business_after(start, business_days),
            source=DueSource.TEMPLATE,
            basis=f"Template “{template_name}”: close of business {business_days} business "
                  f"day{'s' if business_days != 1 else ''} after creation",
        )
    hours = policy.turnaround_business_hours
    return DefaultDeadline(
        due_at=calendar.add_business_hours(start, hours),
        source=DueSource.POLICY,
        basis=f"SLA policy “{policy.name}”: {hours:g} business hours after creation",
    )
