"""Walls bind reminders and notifications: nobody screened from a matter is told about it,
whether the wall came before the reminder was planned or between planning and sending, and
the notification list hides what its reader may no longer see (supervision.audience)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from lpo_tracker.core.tasks import ping
from matters.models import Task, TaskStatus
from matters.services import task_reassign, wall_add
from supervision.models import (
    DeliveryPreference,
    Notification,
    NotificationSettings,
    ReminderKind,
    ReminderRecord,
)
from supervision.notifications import digests_send, notifications_for, unread_count
from supervision.reminders import reminders_deliver, reminders_plan, reminders_record
from supervision.tasks import sweep_reminders
from tests import factories as f
from tests.conftest import Cast

VENDOR_ADDRESS = "vendor_a@example.com"
WAIT_SECONDS = 30.0


def drain() -> None:
    """Wait until the worker has run everything queued before (tasks run in order)."""
    assert ping.delay().get(timeout=WAIT_SECONDS) == "pong"


def overdue(cast: Cast) -> Task:
    """A task with vendor A an hour past its deadline: vendor A's contact and the matter
    team (staff_on) are due a reminder."""
    past = timezone.now() - dt.timedelta(hours=1)
    return cast.advance(cast.new_task(title="Late batch", sla_due_at=past),
                        TaskStatus.IN_PROGRESS)


def screen_vendor(cast: Cast) -> None:
    wall_add(actor=cast.admin, matter=cast.matter, user=cast.vendor_a_user,
             reason="The analyst's spouse works for the adverse party")


def record_now() -> None:
    reminders_record(planned=reminders_plan(now=timezone.now()), now=timezone.now())


def told(kind: str = ReminderKind.TASK_OVERDUE) -> set[str]:
    return set(Notification.objects.filter(kind=kind).values_list("user__username", flat=True))


def mailed_to() -> set[str]:
    """Who received a reminder about the matter's work (the wall's own notice to the
    screened person names no matter, and is theirs to read)."""
    return {address for message in mail.outbox for address in message.to
            if "Late batch" in message.subject or "Later batch" in message.subject
            or "Late batch" in message.body}


def about_the_matter(user: Any) -> list[Notification]:
    return [n for n in notifications_for(user) if n.kind != ReminderKind.ACCESS_CHANGED]


@pytest.mark.django_db
def test_a_walled_vendor_contact_is_dropped_when_the_reminder_is_recorded(cast: Cast
                                                                          ) -> None:
    overdue(cast)
    screen_vendor(cast)
    record_now()

    assert told() == {"staff_on"}
    record = ReminderRecord.objects.get(kind=ReminderKind.TASK_OVERDUE)
    assert cast.vendor_a_user.pk not in record.recipients


@pytest.mark.django_db
def test_a_wall_between_recording_and_sending_withholds_the_email(cast: Cast) -> None:
    overdue(cast)
    record_now()
    assert told() == {"staff_on", "vendor_a"}
    screen_vendor(cast)

    delivery = reminders_deliver()

    assert VENDOR_ADDRESS not in mailed_to() and "staff_on@example.com" in mailed_to()
    held = Notification.objects.get(user=cast.vendor_a_user, kind=ReminderKind.TASK_OVERDUE)
    assert held.withheld_at is not None and held.emailed_at is None
    # A withheld e-mail does not hold its record back (the wall's own notice went too).
    assert delivery.failed == 0
    assert ReminderRecord.objects.get(kind=ReminderKind.TASK_OVERDUE).sent_at is not None


@pytest.mark.django_db
def test_the_notification_list_hides_notifications_of_a_matter_walled_since(cast: Cast
                                                                           ) -> None:
    overdue(cast)
    record_now()
    notification = Notification.objects.get(user=cast.vendor_a_user)
    assert unread_count(cast.vendor_a_user) == 1
    screen_vendor(cast)  # the wall's own notice to them is all they may still read

    client = Client()
    client.force_login(cast.vendor_a_user)
    page = client.get(reverse("supervision:notifications"))
    assert page.status_code == 200
    assert [n.kind for n in page.context["page_obj"].object_list] == [
        ReminderKind.ACCESS_CHANGED]
    assert cast.matter.number not in page.content.decode()
    assert unread_count(cast.vendor_a_user) == 1
    assert client.post(reverse("supervision:notification_read",
                               args=[notification.pk])).status_code == 404


@pytest.mark.django_db
def test_a_vendor_user_no_longer_sees_notifications_of_a_task_reassigned_away(cast: Cast
                                                                             ) -> None:
    task = overdue(cast)
    record_now()
    other = f.cleared_engagement(actor=cast.staff_on, matter=cast.matter,
                                 vendor=cast.engagement_b.vendor)
    task_reassign(actor=cast.staff_on, task=Task.objects.get(pk=task.pk), engagement=other,
                  reason="Vendor A is late")

    assert not notifications_for(cast.vendor_a_user).exists()
    assert notifications_for(cast.staff_on).count() == 1


@pytest.mark.django_db
def test_the_digest_leaves_out_what_its_reader_may_no_longer_see(cast: Cast) -> None:
    NotificationSettings.objects.create(user=cast.vendor_a_user, digest_hour=7,
                                        email_delivery=DeliveryPreference.DAILY_DIGEST)
    overdue(cast)
    record_now()
    screen_vendor(cast)

    digests_send(now=timezone.now() + dt.timedelta(days=1))

    assert VENDOR_ADDRESS not in mailed_to()
    assert Notification.objects.get(user=cast.vendor_a_user,
                                    kind=ReminderKind.TASK_OVERDUE).withheld_at is not None


@pytest.mark.django_db
def test_the_list_costs_the_same_queries_for_one_and_fifty_rows(
    cast: Cast, django_assert_num_queries: Any,
) -> None:
    """Visibility is part of the one query that reads the page (plus the count)."""
    def page_queries(rows: int) -> None:
        Notification.objects.filter(user=cast.staff_on).delete()
        for n in range(rows):
            record = ReminderRecord.objects.create(
                kind=ReminderKind.TASK_OVERDUE, object_type="matters.task",
                object_id=cast.task.pk, threshold=f"t{rows}-{n}")
            Notification.objects.create(user=cast.staff_on, reminder=record,
                                        kind=ReminderKind.TASK_OVERDUE, subject=f"n{n}")
        # The page and its count.
        with django_assert_num_queries(2):
            assert len(list(notifications_for(cast.staff_on)[:50])) == rows
            notifications_for(cast.staff_on).count()

    page_queries(1)
    page_queries(50)


# --- With a real worker and Redis -----------------------------------------------------------


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_walled_vendor_user_gets_no_reminder_mail_and_sees_no_notification(
    cast: Cast, live_worker: Any,
) -> None:
    """Two overdue tasks: the first reminder recorded before the wall (withheld at send
    time), the second planned after it (vendor A's contact is not a recipient at all)."""
    first = overdue(cast)
    second = cast.advance(cast.new_task(title="Later batch",
                                        sla_due_at=timezone.now() - dt.timedelta(hours=1)),
                          TaskStatus.IN_PROGRESS)
    now = timezone.now()
    reminders_record(planned=[item for item in reminders_plan(now=now)
                              if item.object_id == first.pk], now=now)
    screen_vendor(cast)

    sweep_reminders.delay()
    drain()

    assert VENDOR_ADDRESS not in mailed_to()
    team_mail = [m for m in mail.outbox if m.to == ["staff_on@example.com"]]
    assert {first.title in m.subject or second.title in m.subject for m in team_mail} == {True}
    assert len(team_mail) == 2
    assert not about_the_matter(cast.vendor_a_user)
    assert Notification.objects.filter(user=cast.vendor_a_user,
                                       kind=ReminderKind.TASK_OVERDUE).count() == 1  # first
    client = Client()
    client.force_login(cast.vendor_a_user)
    page = client.get(reverse("supervision:notifications")).content.decode()
    assert cast.matter.number not in page and first.title not in page
