"""Calendar feeds: the ICS each person subscribes to, parsed back with icalendar.

What a feed holds is read at every fetch through the pages' selectors: walls, lost grants and
reassignments show on the next poll; a revoked or rotated token is a 404; the token is kept
only as a hash; the zones come out right across a daylight-saving change, as the VTIMEZONE a
calendar program reads them with.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import zoneinfo
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse
from icalendar import Calendar, Timezone

from lpo_tracker.audit.models import AuditEvent
from matters.models import Task, TaskStatus
from matters.selectors import SUPERVISE
from matters.services import permission_revoke, wall_add
from supervision.calendar.services import calendar_feed_issue, calendar_feed_revoke
from supervision.models import CalendarFeed
from tests import factories as f
from tests.conftest import Cast
from tests.vendors.builders import vendor_manager
from vendors.models import DueDiligenceRecord

pytestmark = pytest.mark.django_db

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
# 2027's change to daylight time in New York: Sunday 14 March, 02:00 EST → 03:00 EDT.
BEFORE_DST = dt.datetime(2027, 3, 12, 17, 0, tzinfo=NEW_YORK)  # 22:00 UTC
AFTER_DST = dt.datetime(2027, 3, 16, 17, 0, tzinfo=NEW_YORK)  # 21:00 UTC


def feed_url(user: User) -> str:
    _feed, token = calendar_feed_issue(actor=user)
    return reverse("calendar:feed", args=[token])


def fetch(url: str) -> Calendar:
    response = Client().get(url)
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    return Calendar.from_ical(response.content)


def events(calendar: Calendar) -> dict[str, Any]:
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


def assigned(cast: Cast, **fields: Any) -> Task:
    task = cast.new_task(**fields)
    return cast.advance(task, TaskStatus.ASSIGNED)


@pytest.fixture
def new_york(cast: Cast) -> Cast:
    cast.matter.time_zone = "America/New_York"
    cast.matter.save(update_fields=["time_zone"])
    return cast


def test_the_feed_parses_and_its_zones_hold_across_a_dst_change(new_york: Cast) -> None:
    before = assigned(new_york, title="Before the change", sla_due_at=BEFORE_DST)
    after = assigned(new_york, title="After the change", sla_due_at=AFTER_DST)

    calendar = fetch(feed_url(new_york.staff_on))

    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["PRODID"]) == "-//LPO Tracker//Deadlines//EN"
    found = events(calendar)
    for task, utc_hour in ((before, 22), (after, 21)):
        event = found[f"sla-{task.pk}@lpo-tracker"]
        start = event.decoded("DTSTART")
        # Written in the matter's zone with its TZID: 17:00 local both times…
        assert event["DTSTART"].params["TZID"] == "America/New_York"
        assert (start.hour, start.minute) == (17, 0)
        # …and the same instant as stored: 22:00 UTC in winter, 21:00 UTC in summer time.
        assert start.astimezone(dt.UTC) == task.sla_due_at
        assert start.astimezone(dt.UTC).hour == utc_hour
        assert event.decoded("DTEND") - start == dt.timedelta(minutes=30)
        assert str(event["SUMMARY"]) == f"Vendor deadline: {task.title}"
        assert str(event["URL"]).endswith(reverse("supervision:task_detail", args=[task.pk]))

    # A program that reads only the VTIMEZONE (Outlook) gets the same instants: build the
    # zone from the feed's own VTIMEZONE, not from the zone database.
    (vtimezone,) = [
        zone for zone in calendar.walk("VTIMEZONE") if str(zone["TZID"]) == "America/New_York"
    ]
    offsets = {
        (component.name, component.decoded("TZOFFSETTO")) for component in vtimezone.subcomponents
    }
    assert {("STANDARD", dt.timedelta(hours=-5)), ("DAYLIGHT", dt.timedelta(hours=-4))} <= offsets
    daylight_starts = {
        component.decoded("DTSTART")
        for component in vtimezone.subcomponents
        if component.name == "DAYLIGHT"
    }
    rdates: set[Any] = set()
    for component in vtimezone.subcomponents:
        if component.name == "DAYLIGHT" and "RDATE" in component:
            listed: Any = component["RDATE"]
            for rdate in listed if isinstance(listed, list) else [listed]:
                rdates.update(period.dt for period in rdate.dts)
    assert dt.datetime(2027, 3, 14, 3, 0) in daylight_starts | rdates
    assert isinstance(vtimezone, Timezone)
    from_feed = vtimezone.to_tz()
    for task in (before, after):
        wall_clock = events(calendar)[f"sla-{task.pk}@lpo-tracker"].decoded("DTSTART")
        rebuilt = wall_clock.replace(tzinfo=None).replace(tzinfo=from_feed)
        assert rebuilt.astimezone(dt.UTC) == task.sla_due_at


def test_a_utc_matter_is_written_in_utc(cast: Cast) -> None:
    cast.matter.time_zone = "UTC"
    cast.matter.save(update_fields=["time_zone"])
    task = assigned(cast, sla_due_at=dt.datetime(2027, 5, 3, 9, 30, tzinfo=dt.UTC))

    response = Client().get(feed_url(cast.staff_on))

    assert "DTSTART:20270503T093000Z" in response.content.decode()
    event = events(Calendar.from_ical(response.content))[f"sla-{task.pk}@lpo-tracker"]
    assert event.decoded("DTSTART") == task.sla_due_at


def test_reviews_due_go_to_the_supervising_attorneys(new_york: Cast) -> None:
    task = new_york.advance(new_york.new_task(title="Privilege log"), TaskStatus.SUBMITTED)
    task.refresh_from_db()
    assert task.review_due_at is not None
    uid = f"review-{task.pk}@lpo-tracker"

    for supervisor in (new_york.attorney, new_york.attorney2):
        event = events(fetch(feed_url(supervisor)))[uid]
        assert event.decoded("DTSTART").astimezone(dt.UTC) == task.review_due_at
        assert str(event["SUMMARY"]) == "Review due: Privilege log"
    # The team member is not a reviewer; their feed has no review event.
    assert uid not in events(fetch(feed_url(new_york.staff_on)))


def test_a_walled_matter_is_absent(cast: Cast) -> None:
    task = assigned(cast)
    uid = f"sla-{task.pk}@lpo-tracker"
    assert uid in events(fetch(feed_url(cast.staff_on)))
    # On the matter's team, but screened: nothing of the matter.
    assert events(fetch(feed_url(cast.screened))) == {}
    # Another matter's team member sees none of this matter either.
    assert uid not in events(fetch(feed_url(cast.staff_off)))


def test_a_person_who_loses_access_sees_the_event_vanish_on_the_next_fetch(cast: Cast) -> None:
    task = cast.advance(cast.new_task(title="Deposition summary"), TaskStatus.SUBMITTED)
    staff_url, attorney_url = feed_url(cast.staff_on), feed_url(cast.attorney2)
    assert f"sla-{cast.task.pk}@lpo-tracker" not in events(fetch(staff_url))  # a draft
    assigned_task = assigned(cast)
    assert f"sla-{assigned_task.pk}@lpo-tracker" in events(fetch(staff_url))
    assert f"review-{task.pk}@lpo-tracker" in events(fetch(attorney_url))

    wall_add(actor=cast.admin, matter=cast.matter, user=cast.staff_on, reason="Conflict")
    permission_revoke(actor=cast.admin, matter=cast.matter, user=cast.attorney2, codename=SUPERVISE)

    # Same URLs, nothing re-issued: the next poll no longer holds the events.
    assert events(fetch(staff_url)) == {}
    assert f"review-{task.pk}@lpo-tracker" not in events(fetch(attorney_url))


def test_a_vendor_user_gets_their_own_tasks_in_their_zone_linked_to_the_portal(
    cast: Cast,
) -> None:
    task = assigned(cast, sla_due_at=dt.datetime(2027, 6, 1, 12, 0, tzinfo=dt.UTC))
    cast.engagement_a.vendor.time_zone = "Asia/Kolkata"
    cast.engagement_a.vendor.save(update_fields=["time_zone"])

    event = events(fetch(feed_url(cast.vendor_a_user)))[f"sla-{task.pk}@lpo-tracker"]

    assert event["DTSTART"].params["TZID"] == "Asia/Kolkata"
    assert event.decoded("DTSTART").hour == 17  # 12:00 UTC is 17:30 in India
    assert event.decoded("DTSTART").astimezone(dt.UTC) == task.sla_due_at
    assert str(event["URL"]).endswith(reverse("portal:task", args=[task.pk]))
    assert "Review due" not in str(event["SUMMARY"])
    # The other vendor sees nothing of it.
    assert events(fetch(feed_url(cast.vendor_b_user))) == {}


def test_the_vendor_manager_sees_expiring_diligence_as_whole_days(cast: Cast) -> None:
    manager = vendor_manager("vm", perms=("view_vendor",))
    vendor = cast.engagement_a.vendor
    vendor.manager = manager
    vendor.save(update_fields=["manager"])
    record = DueDiligenceRecord.objects.filter(vendor=vendor).order_by("expires_on").first()
    assert record is not None

    url = feed_url(manager)
    found = events(fetch(url))
    event = found[f"diligence-{record.pk}@lpo-tracker"]
    # Vendor B (managed by no one here) is not in it.
    others = DueDiligenceRecord.objects.filter(vendor=cast.engagement_b.vendor)
    assert others.exists()
    assert not {f"diligence-{other.pk}@lpo-tracker" for other in others} & set(found)

    assert event.decoded("DTSTART") == record.expires_on  # a date, no zone to shift it
    assert event["DTSTART"].params.get("VALUE") == "DATE"
    assert event.decoded("DTEND") == record.expires_on + dt.timedelta(days=1)
    assert vendor.name in str(event["SUMMARY"])
    # Without the vendor permission, the expiries leave the feed.
    manager.user_permissions.remove(*Permission.objects.filter(codename="view_vendor"))
    assert f"diligence-{record.pk}@lpo-tracker" not in events(fetch(url))


# --- The token ------------------------------------------------------------------------------


def test_revoked_rotated_unknown_and_deactivated_tokens_are_404(cast: Cast) -> None:
    first, first_token = calendar_feed_issue(actor=cast.staff_on)
    first_url = reverse("calendar:feed", args=[first_token])
    assert Client().get(first_url).status_code == 200

    _second, second_token = calendar_feed_issue(actor=cast.staff_on)  # rotation
    second_url = reverse("calendar:feed", args=[second_token])
    assert Client().get(first_url).status_code == 404
    assert Client().get(second_url).status_code == 200

    calendar_feed_revoke(actor=cast.staff_on)
    assert Client().get(second_url).status_code == 404
    assert Client().get(reverse("calendar:feed", args=["not-a-token"])).status_code == 404

    _third, third_token = calendar_feed_issue(actor=cast.staff_on)
    cast.staff_on.is_active = False
    cast.staff_on.save(update_fields=["is_active"])
    assert Client().get(reverse("calendar:feed", args=[third_token])).status_code == 404
    first.refresh_from_db()
    assert first.revoked_at is not None


def test_the_token_is_stored_only_as_its_hash(cast: Cast) -> None:
    feed, token = calendar_feed_issue(actor=cast.staff_on)
    assert feed.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert not CalendarFeed.objects.filter(token_hash=token).exists()
    assert len(token) >= 43  # 32 random bytes
    event = AuditEvent.objects.get(action="calendar_feed.created")
    assert token not in repr(event.after) and token not in repr(event.before)


def test_a_fetch_is_noted_on_the_feed(cast: Cast) -> None:
    feed, token = calendar_feed_issue(actor=cast.staff_on)
    Client().get(reverse("calendar:feed", args=[token]))
    feed.refresh_from_db()
    assert feed.last_fetched_at is not None


def test_one_live_feed_per_person_is_a_database_rule(cast: Cast) -> None:
    from django.db import IntegrityError, transaction

    calendar_feed_issue(actor=cast.staff_on)
    with pytest.raises(IntegrityError), transaction.atomic():
        CalendarFeed.objects.create(user=cast.staff_on, token_hash="0" * 64)


# --- The settings page ----------------------------------------------------------------------

PEOPLE = [
    "staff_on",
    "staff_off",
    "screened",
    "attorney",
    "lapsed_attorney",
    "admin",
    "vendor_a_user",
    "vendor_b_user",
]


def test_the_settings_page_answers_everyone_signed_in_for_their_own_feed(cast: Cast) -> None:
    url = reverse("calendar:settings")
    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith(reverse("login"))
    for name in ("issue", "revoke"):
        refused = Client().post(reverse(f"calendar:{name}"))
        assert refused.status_code == 302 and refused["Location"].startswith(reverse("login"))
    for person in PEOPLE:
        client = Client()
        client.force_login(getattr(cast, person))
        assert client.get(url).status_code == 200, person
        assert client.get(reverse("calendar:issue")).status_code == 405  # POST only


def test_making_copying_rotating_and_revoking_through_the_page(cast: Cast) -> None:
    client = Client()
    client.force_login(cast.staff_on)
    settings_url = reverse("calendar:settings")

    response = client.post(reverse("calendar:issue"), follow=True)
    shown = response.context["new_url"]
    assert shown.startswith("http://testserver/calendar/feed/") and shown.endswith(".ics")
    assert 'data-copy-from="feed-url"' in response.content.decode()
    assert Client().get(shown.removeprefix("http://testserver")).status_code == 200
    # Shown once: the next visit says the feed is on, without the address.
    again = client.get(settings_url)
    assert again.context["new_url"] is None and shown not in again.content.decode()

    client.post(reverse("calendar:issue"))
    assert Client().get(shown.removeprefix("http://testserver")).status_code == 404
    client.post(reverse("calendar:revoke"))
    assert not CalendarFeed.objects.filter(user=cast.staff_on, revoked_at__isnull=True).exists()
    actions = list(
        AuditEvent.objects.filter(action__startswith="calendar_feed.")
        .order_by("id")
        .values_list("action", "actor_id")
    )
    assert actions == [
        ("calendar_feed.created", cast.staff_on.pk),
        ("calendar_feed.rotated", cast.staff_on.pk),
        ("calendar_feed.revoked", cast.staff_on.pk),
    ]


def test_the_feed_ignores_any_session_and_answers_for_its_owner_only(cast: Cast) -> None:
    task = assigned(cast)
    url = feed_url(cast.staff_off)  # staff_off is not on the task's matter
    client = Client()
    client.force_login(cast.staff_on)  # a session of someone who could see it
    calendar = Calendar.from_ical(client.get(url).content)
    assert f"sla-{task.pk}@lpo-tracker" not in events(calendar)


def test_an_administrator_revokes_a_leaked_feed_in_the_admin(cast: Cast) -> None:
    _feed, token = calendar_feed_issue(actor=cast.staff_on)
    superuser = f.superuser("root")
    client = Client()
    client.force_login(superuser)
    feed = CalendarFeed.objects.get(user=cast.staff_on)
    response = client.post(reverse("admin:supervision_calendarfeed_changelist"), {
        "action": "revoke_feeds", "_selected_action": [str(feed.pk)]}, follow=True)
    assert response.status_code == 200
    assert Client().get(reverse("calendar:feed", args=[token])).status_code == 404
    event = AuditEvent.objects.get(action="calendar_feed.revoked")
    assert event.before is not None
    assert (event.actor_id, event.before["user"]) == (superuser.pk, cast.staff_on.pk)


def test_a_calendar_program_may_ask_with_head_first(cast: Cast) -> None:
    url = feed_url(cast.staff_on)
    assert Client().head(url).status_code == 200
    assert Client().post(url).status_code == 405
