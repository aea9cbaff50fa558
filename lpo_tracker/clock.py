"""The one answer to "what day is it" and "in which zone".

Instants are stored in UTC (`TIME_ZONE = "UTC"`); a *day* is always a day somewhere. The firm
decides by its own calendar (`FIRM_TIME_ZONE`, America/New_York by default): whether a
vendor's NDA or certification is valid for new work today, whether an attorney's bar
admission is active, the year of a new matter number, which diligence reminders are due, the
reporting period, the dashboard's weeks. So at 23:30 in New York on the day an NDA expires,
the assignment gate, the reminder and the vendor page all say it expires today (UTC is
already on the next day).

A matter's own zone (`Matter.time_zone`) is for deadlines on that matter: due dates typed
into forms and shown on its pages. `zone_named` turns a free-text zone name into a zone.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.utils import timezone


def zone_named(name: str) -> dt.tzinfo:
    """The named zone; UTC for a name the zone database does not know (free-text settings)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def firm_zone() -> dt.tzinfo:
    """The firm's own zone (`FIRM_TIME_ZONE`)."""
    return zone_named(str(settings.FIRM_TIME_ZONE))


def day_in(zone: str | dt.tzinfo, now: dt.datetime | None = None) -> dt.date:
    """The calendar day of `now` (default: this instant) in `zone` (a name or a tzinfo)."""
    tz = zone_named(zone) if isinstance(zone, str) else zone
    return (now or timezone.now()).astimezone(tz).date()


def firm_today(now: dt.datetime | None = None) -> dt.date:
    """The firm's day of `now` (default: this instant): the "today" of every business rule."""
    return day_in(firm_zone(), now)


def local_text(instant: dt.datetime, zone: str) -> str:
    """`instant` as people read it in `zone`: "Tue 01 Dec 2026 18:30 EST"."""
    return instant.astimezone(zone_named(zone)).strftime("%a %d %b %Y %H:%M %Z")
