"""Due diligence with time frozen: the computed status of a record and of a vendor, the gate
on new work the day a required record lapses, the open tasks that the lapse flags, and the
vendor manager's reminders at 30, 7 and 1 days before expiry, each sent once (through the
reminder engine, `supervision.reminders`)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse

from lpo_tracker.clock import firm_today
from lpo_tracker.errors import RuleViolation
from matters.models import Task, TaskStatus
from matters.services import task_assign
from supervision.models import Notification, ReminderKind, ReminderRecord
from supervision.reminders import reminders_sweep
from tests import factories as f
from tests.conftest import Cast
from tests.vendors.builders import new_vendor, vendor_manager
from vendors.models import DiligenceKind, DueDiligenceRecord, Vendor
from vendors.selectors import (
    DiligenceStatus,
    VendorDiligence,
    diligence_status,
    vendor_diligence_state,
    vendors_lapsed_on,
    with_diligence_flags,
)
from vendors.services import vendor_assignment_blockers

pytestmark = pytest.mark.django_db

EXPIRY = dt.date(2026, 9, 30)
# Noon in New York (the firm's zone), so the firm's date and the UTC date agree.
NOON = dt.time(16, 0, tzinfo=dt.UTC)


def at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, NOON)


def record(vendor: Vendor, kind: str = DiligenceKind.NDA, *, valid_from: dt.date | None = None,
           expires_on: dt.date = EXPIRY) -> DueDiligenceRecord:
    return f.DiligenceFactory.create(vendor=vendor, kind=kind,
                                     valid_from=valid_from or dt.date(2025, 10, 1),
                                     expires_on=expires_on)


# --- Computed status ------------------------------------------------------------------------


@pytest.mark.parametrize(("day", "expected"), [
    (dt.date(2025, 9, 30), DiligenceStatus.NOT_YET_VALID),
    (dt.date(2025, 10, 1), DiligenceStatus.VALID),
    (EXPIRY - dt.timedelta(days=31), DiligenceStatus.VALID),
    (EXPIRY - dt.timedelta(days=30), DiligenceStatus.EXPIRING),
    (EXPIRY, DiligenceStatus.EXPIRING),
    (EXPIRY + dt.timedelta(days=1), DiligenceStatus.EXPIRED),
])
def test_record_status_is_computed_for_the_day(day: dt.date, expected: str) -> None:
    assert diligence_status(record(new_vendor()), day) == expected


def test_a_revoked_record_is_revoked_whatever_the_day() -> None:
    nda = record(new_vendor())
    nda.revoked_at = at(dt.date(2026, 1, 1))
    assert diligence_status(nda, dt.date(2026, 2, 1)) == DiligenceStatus.REVOKED


def _state(vendor: Vendor, day: dt.date) -> str:
    return vendor_diligence_state(with_diligence_flags(Vendor.objects.filter(pk=vendor.pk),
                                                       day=day).get())


def test_vendor_state_current_then_expiring_then_lapsed_and_a_renewal_keeps_it_current(
) -> None:
    vendor = new_vendor()
    record(vendor, DiligenceKind.NDA)
    record(vendor, DiligenceKind.ISO27001, expires_on=dt.date(2027, 6, 30))
    assert _state(vendor, EXPIRY - dt.timedelta(days=31)) == VendorDiligence.CURRENT
    assert _state(vendor, EXPIRY - dt.timedelta(days=30)) == VendorDiligence.EXPIRING
    assert _state(vendor, EXPIRY + dt.timedelta(days=1)) == VendorDiligence.LAPSED
    record(vendor, DiligenceKind.NDA, valid_from=EXPIRY - dt.timedelta(days=60),
           expires_on=dt.date(2027, 9, 30))
    assert _state(vendor, EXPIRY - dt.timedelta(days=30)) == VendorDiligence.CURRENT
    assert _state(vendor, EXPIRY + dt.timedelta(days=1)) == VendorDiligence.CURRENT


def test_insurance_and_dpa_alone_do_not_make_a_vendor_current() -> None:
    vendor = new_vendor()
    record(vendor, DiligenceKind.INSURANCE)
    record(vendor, DiligenceKind.DPA)
    assert _state(vendor, dt.date(2026, 1, 1)) == VendorDiligence.LAPSED


# --- Gating new work ------------------------------------------------------------------------


def _cast_nda(cast: Cast) -> DueDiligenceRecord:
    vendor = cast.engagement_a.vendor
    nda = DueDiligenceRecord.objects.get(vendor=vendor, kind=DiligenceKind.NDA)
    f.redate_diligence(DueDiligenceRecord.objects.filter(pk=nda.pk),
                       valid_from=dt.date(2025, 1, 1), expires_on=EXPIRY)
    f.redate_diligence(DueDiligenceRecord.objects.filter(vendor=vendor,
                                                         kind=DiligenceKind.SOC2_TYPE2),
                       valid_from=dt.date(2025, 1, 1), expires_on=dt.date(2027, 12, 31))
    return DueDiligenceRecord.objects.get(vendor=vendor, kind=DiligenceKind.NDA)


def test_assignment_works_on_the_last_valid_day_and_is_blocked_the_day_after(cast: Cast
                                                                              ) -> None:
    _cast_nda(cast)
    vendor = cast.engagement_a.vendor
    with time_machine.travel(at(EXPIRY), tick=False):
        assert vendor_assignment_blockers(vendor, day=EXPIRY) == []
        task_assign(actor=cast.staff_on, task=cast.task, engagement=cast.engagement_a)
    second = cast.new_task(title="Second batch")
    with (time_machine.travel(at(EXPIRY + dt.timedelta(days=1)), tick=False),
          pytest.raises(RuleViolation, match="non-disclosure agreement")):
        task_assign(actor=cast.staff_on, task=second, engagement=cast.engagement_a)
    assert Task.objects.get(pk=second.pk).status == TaskStatus.DRAFT


def test_at_half_past_eleven_in_new_york_on_the_expiry_day_gate_reminder_and_page_agree(
        cast: Cast, settings: Any) -> None:
    """23:30 in New York on the NDA's last day is already the next day in UTC. The firm's day
    (lpo_tracker.clock.firm_today) decides everywhere: the assignment gate lets the work go,
    the reminder says the NDA expires today, and the vendor page shows it as expiring."""
    settings.FIRM_TIME_ZONE = "America/New_York"
    nda = _cast_nda(cast)
    vendor = cast.engagement_a.vendor
    vendor.manager = vendor_manager()
    vendor.save(update_fields=["manager"])
    late = dt.datetime.combine(EXPIRY, dt.time(23, 30), tzinfo=ZoneInfo("America/New_York"))
    assert late.astimezone(dt.UTC).date() == EXPIRY + dt.timedelta(days=1)
    with time_machine.travel(late, tick=False):
        assert firm_today() == EXPIRY
        assert vendor_assignment_blockers(vendor, day=firm_today()) == []
        assigned = task_assign(actor=cast.staff_on, task=cast.task, engagement=cast.engagement_a)
        assert assigned.status == TaskStatus.ASSIGNED
        reminders_sweep(now=late)
        client = Client()
        client.force_login(vendor_manager("reader"))
        page = client.get(reverse("vendors:vendor_detail", args=[vendor.pk]))
    reminder = ReminderRecord.objects.get(kind=ReminderKind.DILIGENCE_EXPIRING, object_id=nda.pk)
    assert reminder.threshold == "1d"
    [message] = [m for m in mail.outbox if "Non-disclosure agreement" in m.subject]
    assert f"expires on {EXPIRY:%d %b %Y}, today." in message.body
    assert page.status_code == 200
    [row] = [row for row in page.context["page"].diligence if row.record.pk == nda.pk]
    assert row.status == DiligenceStatus.EXPIRING


def test_a_lapse_flags_the_vendors_open_tasks(cast: Cast) -> None:
    _cast_nda(cast)
    with time_machine.travel(at(EXPIRY - dt.timedelta(days=10)), tick=False):
        task = cast.advance(cast.task, TaskStatus.IN_PROGRESS)
    after = EXPIRY + dt.timedelta(days=1)
    with time_machine.travel(at(after), tick=False):
        flagged = Task.objects.open().filter(engagement__vendor__in=vendors_lapsed_on(after))
        assert list(flagged) == [task]
        client = Client()
        client.force_login(cast.staff_on)
        page = client.get(reverse("engagements:detail", args=[cast.engagement_a.pk]))
    assert page.status_code == 200
    assert "due diligence has lapsed while it holds open work" in page.content.decode()
    assert task.title in page.content.decode()
    with time_machine.travel(at(EXPIRY), tick=False):
        assert not Task.objects.open().filter(
            engagement__vendor__in=vendors_lapsed_on(EXPIRY)).exists()


# --- Reminders ------------------------------------------------------------------------------


def test_expiry_reminders_go_to_the_vendor_manager_at_30_7_and_1_days_each_once() -> None:
    manager = vendor_manager("vendor_manager")
    vendor = new_vendor(manager=manager)
    nda = record(vendor, DiligenceKind.NDA)
    record(vendor, DiligenceKind.SOC2_TYPE2, expires_on=dt.date(2027, 6, 30))

    def sweep(days_before: int) -> None:
        day = EXPIRY - dt.timedelta(days=days_before)
        with time_machine.travel(at(day), tick=False):
            reminders_sweep(now=at(day))

    def thresholds() -> list[str]:
        return sorted(ReminderRecord.objects.filter(
            kind=ReminderKind.DILIGENCE_EXPIRING, object_id=nda.pk
        ).values_list("threshold", flat=True))

    sweep(31)
    assert thresholds() == []
    sweep(30)
    sweep(30)  # a second beat the same day
    sweep(29)
    assert thresholds() == ["30d"]
    sweep(8)
    sweep(7)
    sweep(6)
    assert thresholds() == ["30d", "7d"]
    sweep(1)
    sweep(1)
    sweep(0)
    assert thresholds() == ["1d", "30d", "7d"]
    notices = Notification.objects.filter(kind=ReminderKind.DILIGENCE_EXPIRING)
    assert notices.count() == 3
    assert set(notices.values_list("user_id", flat=True)) == {manager.pk}
    assert len(mail.outbox) == 3
    assert all(message.to == [manager.email] for message in mail.outbox)
    assert "Non-disclosure agreement" in mail.outbox[0].subject
    assert ReminderRecord.objects.filter(sent_at__isnull=True).count() == 0


def test_no_reminder_once_a_renewal_is_on_file() -> None:
    vendor = new_vendor(manager=vendor_manager())
    record(vendor, DiligenceKind.NDA)
    record(vendor, DiligenceKind.NDA, valid_from=EXPIRY - dt.timedelta(days=60),
           expires_on=dt.date(2027, 9, 30))
    day = EXPIRY - dt.timedelta(days=7)
    with time_machine.travel(at(day), tick=False):
        reminders_sweep(now=at(day))
    assert not ReminderRecord.objects.filter(kind=ReminderKind.DILIGENCE_EXPIRING).exists()
