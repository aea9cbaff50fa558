"""Deadlines shown the way people read them: in the matter's time zone, with the zone named,
and with a relative clock ("overdue by 2 days", "due in 5 hours").

Stored instants are UTC (docs/architecture.md); every conversion for display happens here so
templates never format a deadline in the server's zone by accident.
"""

from __future__ import annotations

import datetime as dt
from html import escape

from django import template
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from lpo_tracker.clock import zone_named

register = template.Library()

# A deadline closer than this is "soon" (amber) rather than comfortably "ok" (green).
SOON = dt.timedelta(hours=24)


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"


def duration_words(delta: dt.timedelta) -> str:
    """A coarse, readable size for a gap: minutes under an hour, hours under two days, else
    days. Coarse on purpose: "overdue by 2 days" is what a reader needs, not 49h 13m."""
    seconds = abs(int(delta.total_seconds()))
    if seconds < 3600:
        return _plural(max(1, seconds // 60), "minute")
    if seconds < 48 * 3600:
        return _plural(seconds // 3600, "hour")
    return _plural(seconds // 86400, "day")


@register.filter
def relative_due(value: dt.datetime | None, now: dt.datetime | None = None) -> str:
    """ "overdue by 2 days" or "due in 5 hours"; empty for no deadline."""
    if value is None:
        return ""
    delta = value - (now or timezone.now())
    if delta.total_seconds() < 0:
        return f"overdue by {duration_words(delta)}"
    return f"due in {duration_words(delta)}"


def clock_state(value: dt.datetime, now: dt.datetime) -> str:
    if value < now:
        return "overdue"
    if value - now <= SOON:
        return "soon"
    return "ok"


@register.simple_tag
def deadline(value: dt.datetime | None, tz_name: str, running: bool = True) -> SafeString:
    """A deadline in the zone `tz_name` with the zone's abbreviation, and, while the clock is
    `running` (the work is still open), a coloured relative clock. The full zone name is in
    the tooltip and the machine-readable UTC instant in `datetime`.

    Built with one f-string, escaping (`html.escape`, what Django's `escape` calls) the two
    parts that come from data, the zone's name and abbreviation: lists print it twice a row
    (docs/performance.md)."""
    if value is None:
        return mark_safe('<span class="muted">No deadline</span>')
    local = timezone.localtime(value, zone_named(tz_name))
    instant = value.astimezone(dt.UTC).isoformat(timespec="minutes").replace("+00:00", "Z")
    stamp = (f'<time datetime="{instant}" title="{escape(tz_name)}">{local.day} '
             f'{local:%b %Y, %H:%M} {escape(local.tzname() or tz_name)}</time>')
    if not running:
        return mark_safe(stamp)  # noqa: S308 (escaped above)
    now = timezone.now()
    return mark_safe(  # noqa: S308 (escaped above)
        f'{stamp} <span class="clock clock--{clock_state(value, now)}">'
        f"{relative_due(value, now)}</span>"
    )


@register.filter
def zone_abbreviation(tz_name: str) -> str:
    """The zone's abbreviation right now (EST/EDT, IST, …), for headings and help text."""
    return timezone.localtime(timezone.now(), zone_named(tz_name)).tzname() or tz_name
