"""The feed as iCalendar text (RFC 5545, icalendar 7).

Time zones, so that Outlook and Google Calendar show the same instant: a moment is written
in its zone with a TZID (`DTSTART;TZID=America/New_York:20270315T170000`) and the calendar
carries a VTIMEZONE for every zone used, generated from the zone database for the span of the
events (with their daylight-saving changes); UTC moments are written with a trailing Z. A
whole-day deadline (an expiry) is a VALUE=DATE event, which no zone shifts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from django.utils import timezone
from icalendar import Calendar, Event

from lpo_tracker.clock import zone_named
from supervision.calendar.deadlines import Deadline

PRODID = "-//LPO Tracker//Deadlines//EN"
# How long a moment's event lasts on the calendar: a deadline is an instant, shown as a slot.
SLOT = dt.timedelta(minutes=30)
# Calendar programs poll a subscription at their own pace; this asks for hourly.
REFRESH = dt.timedelta(hours=1)
# The VTIMEZONE covers the events' span with this margin on each side.
ZONE_MARGIN = dt.timedelta(days=31)


def _span(deadlines: Sequence[Deadline], today: dt.date) -> tuple[dt.date, dt.date]:
    days = [today]
    for deadline in deadlines:
        if deadline.at is not None:
            days.append(deadline.at.astimezone(dt.UTC).date())
        elif deadline.day is not None:
            days.append(deadline.day)
    return min(days) - ZONE_MARGIN, max(days) + ZONE_MARGIN


def _event(deadline: Deadline, url: str, stamp: dt.datetime) -> Event:
    start: dt.date | dt.datetime
    if deadline.at is not None:
        start = timezone.localtime(deadline.at, zone_named(deadline.time_zone))
        end: dt.date | dt.datetime = start + SLOT
    else:
        assert deadline.day is not None
        start, end = deadline.day, deadline.day + dt.timedelta(days=1)
    event = Event.new(
        uid=deadline.uid,
        summary=deadline.summary,
        description=f"{deadline.description}\n{url}",
        start=start,
        end=end,
        stamp=stamp,
        url=url,
        categories=[deadline.category],
    )
    event.add("TRANSP", "TRANSPARENT")  # a deadline does not make the person busy
    return event


def render_calendar(
    deadlines: Sequence[Deadline],
    *,
    name: str,
    uid: str,
    url_for: Callable[[Deadline], str],
    today: dt.date,
) -> bytes:
    """The whole calendar: the events, then the VTIMEZONEs they need."""
    calendar = Calendar.new(
        prodid=PRODID, name=name, uid=uid, refresh_interval=REFRESH, method="PUBLISH"
    )
    calendar.add("X-PUBLISHED-TTL", REFRESH)  # Outlook's name for the refresh interval
    stamp = timezone.now().astimezone(dt.UTC)
    for deadline in deadlines:
        calendar.add_component(_event(deadline, url_for(deadline), stamp))
    first, last = _span(deadlines, today)
    calendar.add_missing_timezones(first_date=first, last_date=last)
    return bytes(calendar.to_ical())
