"""Budget alerts with time frozen: 80% and 100% of an engagement's cap, each recorded once
under its reminder key and sent to the matter's responsible attorney and team (a screened
member is left out), through the reminder engine's record-then-send."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core import mail

from matters.models import Engagement, EngagementStatus, TaskStatus
from supervision.budget import ENGAGEMENT_OBJECT, budget_plan, budget_sweep
from supervision.models import Notification, ReminderKind, ReminderRecord
from supervision.reminders import reminders_record
from tests.conftest import Cast
from tests.vendors.builders import STANDARD_LINES, rate_card

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 1, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
def capped(cast: Cast) -> Engagement:
    """Vendor A on the cast's matter at 40 an hour for document review, capped at 1,000."""
    engagement = cast.engagement_a
    engagement.rate_card = rate_card(engagement.vendor, *STANDARD_LINES)
    engagement.budget_cap = Decimal("1000")
    engagement.save(update_fields=["rate_card", "budget_cap"])
    return engagement


def add_work(cast: Cast, hours: str) -> None:
    """An assigned review task estimated at `hours` (40 an hour)."""
    cast.advance(cast.new_task(estimated_hours=Decimal(hours)), TaskStatus.ASSIGNED)


def sweep(minutes: int = 0) -> None:
    moment = NOW + dt.timedelta(minutes=minutes)
    with time_machine.travel(moment, tick=False):
        budget_sweep(now=moment)


def thresholds(engagement: Engagement) -> list[str]:
    return sorted(ReminderRecord.objects.filter(
        kind=ReminderKind.BUDGET_THRESHOLD, object_type=ENGAGEMENT_OBJECT,
        object_id=engagement.pk).values_list("threshold", flat=True))


def test_alerts_at_80_and_100_percent_each_once(cast: Cast, capped: Engagement) -> None:
    add_work(cast, "10")  # 400: 40%
    sweep()
    assert thresholds(capped) == []
    add_work(cast, "10")  # 800: 80%
    sweep(5)
    sweep(10)
    assert thresholds(capped) == ["80"]
    add_work(cast, "5")  # 1,000: 100%
    sweep(15)
    sweep(20)
    add_work(cast, "5")  # 1,200: still past 100%, nothing new
    sweep(25)
    assert thresholds(capped) == ["100", "80"]
    assert Notification.objects.filter(kind=ReminderKind.BUDGET_THRESHOLD).count() == 4
    assert len(mail.outbox) == 4
    subjects = sorted({message.subject for message in mail.outbox})
    assert subjects == [
        f"Ashoka Legal Process on {cast.matter.number} has reached its budget cap (100.00%)",
        f"Ashoka Legal Process on {cast.matter.number} has used 80% of its budget (80.00%)",
    ]
    assert ReminderRecord.objects.filter(sent_at__isnull=True).count() == 0


def test_recipients_are_the_responsible_attorney_and_the_team_but_not_the_screened(
    cast: Cast, capped: Engagement
) -> None:
    add_work(cast, "20")
    sweep()
    told = set(Notification.objects.filter(kind=ReminderKind.BUDGET_THRESHOLD)
               .values_list("user__username", flat=True))
    assert told == {"attorney", "staff_on"}  # "screened" is on the team behind a wall
    notice = Notification.objects.filter(user=cast.attorney).get()
    assert notice.url == f"/engagements/{capped.pk}/"
    assert "800.00 USD of a 1000.00 USD cap" in notice.body


def test_a_jump_past_the_cap_sends_only_the_100_alert(cast: Cast, capped: Engagement) -> None:
    add_work(cast, "30")  # 1,200 at once
    sweep()
    assert thresholds(capped) == ["100"]


def test_a_second_sweep_planning_at_the_same_time_records_nothing_twice(
    cast: Cast, capped: Engagement
) -> None:
    """Two beats plan the same alert before either records it: the unique key lets one in."""
    add_work(cast, "20")
    with time_machine.travel(NOW, tick=False):
        first, second = budget_plan(now=NOW), budget_plan(now=NOW)
        assert len(first) == len(second) == 1
        assert reminders_record(planned=first, now=NOW).recorded == 1
        assert reminders_record(planned=second, now=NOW).recorded == 0
    assert thresholds(capped) == ["80"]
    assert Notification.objects.filter(kind=ReminderKind.BUDGET_THRESHOLD).count() == 2


def test_no_alert_without_a_cap_or_on_a_closed_engagement(cast: Cast, capped: Engagement
                                                          ) -> None:
    add_work(cast, "50")
    Engagement.objects.filter(pk=capped.pk).update(budget_cap=Decimal("0"))
    sweep()
    Engagement.objects.filter(pk=capped.pk).update(budget_cap=Decimal("1000"),
                                                   status=EngagementStatus.CLOSED)
    sweep(5)
    assert thresholds(capped) == []
