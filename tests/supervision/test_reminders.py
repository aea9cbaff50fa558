# mypy: disable-error-code="operator,arg-type,union-attr"
# Deadlines are Optional on the model; these tests set them before use.
"""Reminder sweeps, called directly with an explicit `now` (no worker, no frozen clock).

The real-worker and Redis tests are in test_reminders_worker.py and test_redis_outage.py.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import smtplib
from collections import Counter
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.models import Permission, User
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.core.management import call_command
from django.db import InterfaceError
from django.db import OperationalError as DatabaseOperationalError
from django.utils import timezone
from kombu.exceptions import OperationalError

from lpo_tracker.audit.models import AuditEvent
from lpo_tracker.clock import firm_today
from matters.models import DueDateKind, Task, TaskStatus
from matters.services import task_assign, task_change_due_date, task_start
from supervision import services as supervision_services
from supervision import tasks as reminder_tasks
from supervision.models import (
    DeliveryPreference,
    EmailState,
    Notification,
    NotificationSettings,
    ReminderKind,
    ReminderRecord,
    SlaPolicy,
)
from supervision.notifications import (
    digests_send,
    notification_mark_read,
    notifications_for,
    unread_count,
)
from supervision.reminders import (
    MAX_EMAIL_ATTEMPTS,
    notification_email_rearm,
    reminders_deliver,
    reminders_plan,
    reminders_record,
    reminders_sweep,
    retry_delay,
    review_waiting_notify,
)
from supervision.reminders.outbox import emails_given_up_for
from supervision.services import latest_submission, review_start, submission_create
from supervision.sla import BusinessCalendar
from tests import factories as f
from tests.conftest import Cast
from tests.supervision.test_sla import cast_at
from vendors.models import DiligenceKind, VendorUser

NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
UTC = dt.UTC
MINUTE = dt.timedelta(minutes=1)


def standard_policy(**fields: Any) -> SlaPolicy:
    """The (any type, any priority) policy, changed for one test."""
    policy = (SlaPolicy.objects.filter(task_type="", priority="", is_active=True).first()
              or SlaPolicy(name="Standard"))
    for name, value in fields.items():
        setattr(policy, name, value)
    policy.save()
    return policy


def records(*kinds: str) -> list[ReminderRecord]:
    """Recorded reminders of these kinds (default: all but the vendor-deadline ladder, which
    its own tests read)."""
    found = ReminderRecord.objects.order_by("id")
    return list(found.filter(kind__in=kinds) if kinds
                else found.exclude(kind=ReminderKind.TASK_ESCALATED))


def recipients_of(record: ReminderRecord) -> set[str]:
    return set(Notification.objects.filter(reminder=record)
               .values_list("user__username", flat=True))


def mailed(subject_start: str = "") -> Counter[str]:
    """How many e-mails each address got (only those whose subject starts so; escalations
    of a missed vendor deadline only when asked for)."""
    return Counter(address for message in mail.outbox
                   if message.subject.startswith(subject_start)
                   and (subject_start or not message.subject.startswith(ESCALATED))
                   for address in message.to)


ESCALATED = "Escalation, vendor deadline missed"


def after_deadline(record: ReminderRecord) -> str:
    """The threshold without the deadline stamp: "-24h", "+0h", ">partner"."""
    return record.threshold.split("Z", 1)[1]


def calendar_of(task: Task) -> BusinessCalendar:
    matter = task.matter
    return BusinessCalendar(time_zone=matter.time_zone, country=matter.holiday_country,
                            subdivision=matter.holiday_subdivision)


# --- Review waiting -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_sweep_catches_up_review_waiting_once_per_version(cast: Cast) -> None:
    task = cast.advance(cast.task, TaskStatus.SUBMITTED)  # no on_commit hooks in this test
    now = timezone.now()

    reminders_sweep(now=now)
    (record,) = records(ReminderKind.REVIEW_WAITING)
    assert (record.object_type, record.object_id, record.threshold) == ("matters.task", task.pk,
                                                                         "v1")
    supervisors = {"attorney", "attorney2", "lapsed"}  # never the screened or the submitter
    assert recipients_of(record) == supervisors
    assert mailed("Review waiting") == {f"{name}@example.com": 1 for name in supervisors}
    assert record.__class__.objects.get(pk=record.pk).sent_at is not None

    reminders_sweep(now=now + dt.timedelta(minutes=5))
    assert len(records(ReminderKind.REVIEW_WAITING)) == 1
    assert len(mail.outbox) == 3

    submission_create(actor=cast.vendor_a_user, task=task, upload=f.pdf_upload("v2"))
    reminders_sweep(now=now + dt.timedelta(minutes=10))
    assert [r.threshold for r in records(ReminderKind.REVIEW_WAITING)] == ["v1", "v2"]
    assert len(mail.outbox) == 6


@pytest.mark.django_db
def test_review_waiting_service_is_idempotent_and_ignores_stale_versions(cast: Cast) -> None:
    task = cast.advance(cast.task, TaskStatus.SUBMITTED)
    first = latest_submission(task)
    assert first is not None
    now = timezone.now()
    assert review_waiting_notify(submission_id=first.pk, now=now).delivery.sent == 3
    assert review_waiting_notify(submission_id=first.pk, now=now).delivery.sent == 0
    second = submission_create(actor=cast.vendor_a_user, task=task, upload=f.pdf_upload("v2"))
    review_waiting_notify(submission_id=first.pk, now=now)  # a late message for v1
    assert [r.threshold for r in records(ReminderKind.REVIEW_WAITING)] == ["v1"]
    review_waiting_notify(submission_id=second.pk, now=now)
    assert [r.threshold for r in records(ReminderKind.REVIEW_WAITING)] == ["v1", "v2"]
    assert len(mail.outbox) == 6


@pytest.mark.django_db
def test_no_review_waiting_once_an_attorney_took_the_review(cast: Cast) -> None:
    cast.advance(cast.task, TaskStatus.IN_REVIEW)
    reminders_sweep(now=timezone.now())
    assert records(ReminderKind.REVIEW_WAITING) == []


def test_after_submit_hook_is_registered() -> None:
    assert reminder_tasks.enqueue_review_waiting in supervision_services.AFTER_SUBMIT_HOOKS


def test_broker_down_when_enqueuing_is_logged_not_raised(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def refuse(*args: object) -> None:
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(reminder_tasks.send_review_waiting, "delay", refuse)
    with caplog.at_level(logging.WARNING, logger="supervision.tasks"):
        reminder_tasks.enqueue_review_waiting(42)
    assert "submission 42" in caplog.text
    assert "next reminder sweep" in caplog.text


# --- Vendor deadlines ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_vendor_deadline_goes_to_vendor_contacts_and_the_team_never_the_screened(
    cast: Cast
) -> None:
    silent = f.vendor_user(cast.engagement_a.vendor, "vendor_a_silent")
    VendorUser.objects.filter(user=silent).update(receives_sla_reminders=False)
    task = cast.advance(cast.task, TaskStatus.IN_PROGRESS)
    overdue_since = Task.objects.get(pk=task.pk).sla_due_at
    reminders_sweep(now=overdue_since + MINUTE)

    (record,) = records(ReminderKind.TASK_OVERDUE)
    assert record.threshold.endswith("+0h")
    assert recipients_of(record) == {"vendor_a", "staff_on"}
    assert mailed("Overdue") == {"vendor_a@example.com": 1, "staff_on@example.com": 1}


@pytest.mark.django_db
def test_only_the_latest_threshold_reached_is_sent(cast: Cast) -> None:
    task = cast.advance(cast.task, TaskStatus.IN_PROGRESS)
    # First seen a week late: no "due soon", no "at the deadline", just "24 h after".
    reminders_sweep(now=task.sla_due_at + dt.timedelta(days=7))
    assert [after_deadline(r) for r in records()] == ["+24h"]


@pytest.mark.django_db
def test_a_deadline_too_close_from_the_start_gets_no_due_soon_notice(cast: Cast) -> None:
    standard_policy(reminder_offsets_hours=[-24, 0, 24])
    task = cast.new_task(sla_due_at=timezone.now() + dt.timedelta(hours=2))
    task = cast.advance(task, TaskStatus.IN_PROGRESS)
    reminders_sweep(now=timezone.now())
    assert records() == []  # 24 h before the deadline came before the assignment


@pytest.mark.django_db
def test_new_york_deadline_reminders_across_thanksgiving_for_a_manila_vendor(
    time_machine: time_machine.TimeMachineFixture
) -> None:
    cast = cast_at(time_machine, dt.datetime(2026, 11, 23, 10, 0, tzinfo=NEW_YORK),
                   time_zone="America/New_York", country="US", subdivision="NY")
    standard_policy(reminder_offsets_hours=[-24, 0, 24])
    manila = f.cleared_engagement(actor=cast.staff_on, matter=cast.matter,
                                  vendor=cast.engagement_b.vendor)
    due = dt.datetime(2026, 11, 30, 14, 0, tzinfo=NEW_YORK)  # Monday after Thanksgiving
    task = cast.new_task(sla_due_at=due)
    task_start(actor=cast.vendor_b_user,
               task=task_assign(actor=cast.staff_on, task=task, engagement=manila))
    # The sweeps below take `now` explicitly; the frozen clock only built the cast.

    # 24 business hours before Mon 14:00: Mon 5 h, Fri 9 h, (Thanksgiving), Wed 9 h, Tue 1 h.
    due_soon = dt.datetime(2026, 11, 24, 17, 0, tzinfo=NEW_YORK)
    reminders_sweep(now=due_soon - MINUTE)
    assert records() == []
    reminders_sweep(now=due_soon)
    (soon,) = records(ReminderKind.TASK_DUE_SOON)
    assert soon.threshold == "20261130T190000Z-24h"
    assert recipients_of(soon) == {"vendor_b", "staff_on"}
    (to_vendor,) = [m for m in mail.outbox if m.to == ["vendor_b@example.com"]]
    assert "Mon 30 Nov 2026 14:00 EST" in to_vendor.body
    assert "Tue 01 Dec 2026 03:00 PST in Asia/Manila" in to_vendor.body

    reminders_sweep(now=due - MINUTE)
    assert len(records()) == 1
    reminders_sweep(now=due)
    assert records(ReminderKind.TASK_OVERDUE)[0].threshold == "20261130T190000Z+0h"
    # 24 business hours after: Mon 4 h, Tue 9 h, Wed 9 h, Thu 2 h → Thu 3 Dec 11:00.
    reminders_sweep(now=dt.datetime(2026, 12, 3, 10, 59, tzinfo=NEW_YORK))
    assert len(records()) == 2
    reminders_sweep(now=dt.datetime(2026, 12, 3, 11, 0, tzinfo=NEW_YORK))
    assert [after_deadline(r) for r in records()] == ["-24h", "+0h", "+24h"]
    assert mailed() == {"vendor_b@example.com": 3, "staff_on@example.com": 3}


@pytest.mark.django_db
def test_london_deadline_reminders_across_easter_for_a_chennai_vendor(
    time_machine: time_machine.TimeMachineFixture
) -> None:
    cast = cast_at(time_machine, dt.datetime(2026, 4, 1, 10, 0, tzinfo=LONDON),
                   time_zone="Europe/London", country="GB", subdivision="ENG")
    standard_policy(reminder_offsets_hours=[-24, 0, 24])
    due = dt.datetime(2026, 4, 9, 14, 0, tzinfo=LONDON)
    cast.advance(cast.new_task(sla_due_at=due), TaskStatus.IN_PROGRESS)

    # 24 business hours before Thu 9 Apr 14:00: Thu 5 h, Wed 9 h, Tue 9 h, (Easter Monday,
    # weekend, Good Friday), Thu 2 Apr 1 h → Thu 2 Apr 17:00 BST.
    due_soon = dt.datetime(2026, 4, 2, 17, 0, tzinfo=LONDON)
    reminders_sweep(now=due_soon - MINUTE)
    assert records() == []
    reminders_sweep(now=due_soon)
    assert [r.kind for r in records()] == [ReminderKind.TASK_DUE_SOON]
    (to_vendor,) = [m for m in mail.outbox if m.to == ["vendor_a@example.com"]]
    assert "Thu 09 Apr 2026 14:00 BST" in to_vendor.body
    assert "Thu 09 Apr 2026 18:30 IST in Asia/Kolkata" in to_vendor.body
    # 24 after: Thu 4 h, Fri 9 h, Mon 9 h, Tue 2 h → Tue 14 Apr 11:00 BST.
    reminders_sweep(now=dt.datetime(2026, 4, 14, 10, 59, tzinfo=LONDON))
    assert [after_deadline(r) for r in records()] == ["-24h", "+0h"]
    reminders_sweep(now=dt.datetime(2026, 4, 14, 11, 0, tzinfo=LONDON))
    assert [after_deadline(r) for r in records()] == ["-24h", "+0h", "+24h"]


@pytest.mark.django_db
def test_a_moved_deadline_gets_fresh_reminders_and_keeps_the_old_record(cast: Cast) -> None:
    task = cast.advance(cast.task, TaskStatus.IN_PROGRESS)
    first_due = task.sla_due_at
    reminders_sweep(now=first_due + MINUTE)
    (old,) = records(ReminderKind.TASK_OVERDUE)
    new_due = first_due + dt.timedelta(days=10)
    task_change_due_date(actor=cast.staff_on, task=task, kind=DueDateKind.SLA,
                         new_value=new_due, reason="Scope doubled")
    reminders_sweep(now=first_due + dt.timedelta(minutes=2))
    assert records(ReminderKind.TASK_OVERDUE) == [old]
    reminders_sweep(now=new_due + MINUTE)
    old_again, new = records(ReminderKind.TASK_OVERDUE)
    assert old_again == old and new.threshold.startswith(new_due.strftime("%Y%m%dT%H%M"))


@pytest.mark.django_db
def test_a_deadline_pulled_in_after_assignment_gets_its_due_soon_and_a_change_notice(
    cast: Cast,
) -> None:
    standard_policy(reminder_offsets_hours=[-24, 0, 24])
    task = Task.objects.select_related("matter").get(
        pk=cast.advance(cast.task, TaskStatus.IN_PROGRESS).pk)
    now = timezone.now()
    reminders_sweep(now=now)
    assert not records(ReminderKind.TASK_DUE_SOON)  # the old deadline is weeks away
    # Pulled in to 10 business hours from now: "24 h before" has passed, yet it was never sent.
    new_due = calendar_of(task).shift_business_hours(now, 10)
    task_change_due_date(actor=cast.staff_on, task=task, kind=DueDateKind.SLA,
                         new_value=new_due, reason="Client moved the hearing")
    reminders_sweep(now=now + MINUTE)
    (due_soon,) = records(ReminderKind.TASK_DUE_SOON)
    assert due_soon.threshold.endswith("-24h")
    assert due_soon.threshold.startswith(new_due.astimezone(dt.UTC).strftime("%Y%m%dT%H%M"))
    (notice,) = records(ReminderKind.DUE_DATE_CHANGED)
    assert recipients_of(notice) == recipients_of(due_soon) == {"vendor_a", "staff_on"}
    moved = [m for m in mail.outbox if m.subject.startswith("Vendor delivery sla moved")]
    assert len(moved) == 2 and "Client moved the hearing" in moved[0].body
    reminders_sweep(now=now + 2 * MINUTE)  # nothing twice
    assert len(records(ReminderKind.TASK_DUE_SOON, ReminderKind.DUE_DATE_CHANGED)) == 2


@pytest.mark.django_db
def test_a_missed_vendor_deadline_escalates_vendor_then_responsible_then_manager(
    cast: Cast,
) -> None:
    standard_policy(reminder_offsets_hours=[0], vendor_escalate_to_responsible_after_hours=8,
                    vendor_escalate_to_manager_after_hours=16)
    manager = User.objects.create_user("vendor_manager", email="vm@example.com")
    vendor = cast.engagement_a.vendor
    vendor.manager = manager
    vendor.save(update_fields=["manager"])
    task = Task.objects.select_related("matter").get(
        pk=cast.advance(cast.task, TaskStatus.IN_PROGRESS).pk)
    calendar, due = calendar_of(task), task.sla_due_at
    eight, sixteen = (calendar.shift_business_hours(due, 8),
                      calendar.shift_business_hours(due, 16))

    def ladder() -> list[tuple[str, set[str]]]:
        return [(after_deadline(r), recipients_of(r)) for r in records(
            ReminderKind.TASK_OVERDUE, ReminderKind.TASK_ESCALATED)]

    reminders_sweep(now=due)
    assert ladder() == [("+0h", {"vendor_a", "staff_on"})]
    reminders_sweep(now=eight - MINUTE)
    assert len(ladder()) == 1
    reminders_sweep(now=eight)
    reminders_sweep(now=sixteen - MINUTE)
    assert ladder()[1:] == [(">responsible", {task.matter.responsible_attorney.username})]
    reminders_sweep(now=sixteen)
    reminders_sweep(now=sixteen + dt.timedelta(days=5))
    assert [rung for rung, _ in ladder()] == ["+0h", ">responsible", ">manager"]
    assert ladder()[2][1] == {"vendor_manager"}
    assert mailed(ESCALATED)["vm@example.com"] == 1


# --- Review windows and the escalation ladder --------------------------------------------------


@pytest.fixture
def ladder(cast: Cast) -> tuple[Cast, Task, Any]:
    """A task in review by attorney2 (the responsible attorney is `attorney`) under a policy
    with a named general counsel at the top of the ladder."""
    general_counsel = f.attorney("general_counsel")
    # The vendor's SLA thresholds differ on purpose: the review window has its own.
    standard_policy(reminder_offsets_hours=[-24, 0, 24], review_reminder_offsets_hours=[-4, 0],
                    review_window_business_hours=16,
                    escalate_to_responsible_after_hours=8, escalate_to_partner_after_hours=16,
                    escalation_partner=general_counsel)
    task = cast.advance(cast.task, TaskStatus.SUBMITTED)
    review_start(actor=cast.attorney2, task=task)
    return cast, Task.objects.select_related("matter").get(pk=task.pk), general_counsel


@pytest.mark.django_db
def test_review_windows_use_their_own_thresholds_not_the_vendor_sla_ones(cast: Cast) -> None:
    standard_policy(reminder_offsets_hours=[-24, 0, 24], review_reminder_offsets_hours=[-2, 0],
                    review_window_business_hours=16)
    task = cast.advance(cast.task, TaskStatus.SUBMITTED)
    task = Task.objects.select_related("matter").get(pk=task.pk)
    closes = task.review_due_at
    two_before = calendar_of(task).subtract_business_hours(closes, 2)

    reminders_sweep(now=two_before - MINUTE)
    assert not [r for r in records() if r.kind == ReminderKind.REVIEW_DUE_SOON]
    reminders_sweep(now=two_before)

    due_soon = [r for r in records() if r.kind == ReminderKind.REVIEW_DUE_SOON]
    assert [after_deadline(r) for r in due_soon] == ["-2h"]


@pytest.mark.django_db
def test_escalation_ladder_fires_in_order(ladder: tuple[Cast, Task, Any]) -> None:
    _, task, _ = ladder
    calendar = calendar_of(task)
    closes = task.review_due_at
    steps = [
        (calendar.subtract_business_hours(closes, 4), ReminderKind.REVIEW_DUE_SOON, "attorney2"),
        (closes, ReminderKind.REVIEW_OVERDUE, "attorney2"),
        (calendar.add_business_hours(closes, 8), ReminderKind.REVIEW_ESCALATED, "attorney"),
        (calendar.add_business_hours(closes, 16), ReminderKind.REVIEW_ESCALATED,
         "general_counsel"),
    ]
    for moment, kind, person in steps:
        reminders_sweep(now=moment - MINUTE)
        reminders_sweep(now=moment)
        latest = records()[-1]
        assert (latest.kind, recipients_of(latest)) == (kind, {person})
        assert mail.outbox[-1].to == [f"{person}@example.com"]
    assert [(r.kind, after_deadline(r)) for r in records()] == [
        ("review_due_soon", "-4h"), ("review_overdue", "+0h"),
        ("review_escalated", ">responsible"), ("review_escalated", ">partner")]
    assert len(mail.outbox) == 4
    reminders_sweep(now=steps[-1][0] + dt.timedelta(days=30))
    assert len(records()) == 4


@pytest.mark.django_db
def test_a_late_sweep_sends_every_rung_in_ladder_order(ladder: tuple[Cast, Task, Any]) -> None:
    _, task, _ = ladder
    reminders_sweep(now=calendar_of(task).add_business_hours(task.review_due_at, 20))
    assert [(r.kind, after_deadline(r)) for r in records()] == [
        ("review_overdue", "+0h"), ("review_escalated", ">responsible"),
        ("review_escalated", ">partner")]
    assert [m.to for m in mail.outbox] == [["attorney2@example.com"], ["attorney@example.com"],
                                           ["general_counsel@example.com"]]


@pytest.mark.django_db
def test_without_a_named_partner_the_top_rung_is_skipped(cast: Cast) -> None:
    standard_policy(escalation_partner=None, reminder_offsets_hours=[0])
    task = cast.advance(cast.task, TaskStatus.SUBMITTED)
    late = calendar_of(task).add_business_hours(task.review_due_at, 40)
    reminders_sweep(now=late)
    overdue, responsible = records(ReminderKind.REVIEW_OVERDUE, ReminderKind.REVIEW_ESCALATED)
    # No review started: the supervising attorneys are chased, not the vendor who submitted.
    assert recipients_of(overdue) == {"attorney", "attorney2", "lapsed"}
    assert recipients_of(responsible) == {"attorney"}


# --- Due diligence ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_diligence_expiry_is_told_at_30_7_and_1_days_each_once(cast: Cast) -> None:
    vendor = cast.engagement_a.vendor
    vendor.manager = cast.staff_on
    vendor.save(update_fields=["manager"])
    expires = dt.date(2027, 3, 31)
    iso = f.DiligenceFactory.create(vendor=vendor, kind=DiligenceKind.ISO27001, expires_on=expires)

    def sweep_days_before(days: int) -> list[str]:
        noon = dt.datetime.combine(expires - dt.timedelta(days=days), dt.time(12),
                                   tzinfo=NEW_YORK)
        reminders_sweep(now=noon)
        return [r.threshold for r in records(ReminderKind.DILIGENCE_EXPIRING)]

    assert sweep_days_before(31) == []
    assert sweep_days_before(30) == ["30d"]
    assert sweep_days_before(20) == ["30d"]
    assert sweep_days_before(5) == ["30d", "7d"]
    assert sweep_days_before(1) == ["30d", "7d", "1d"]
    assert sweep_days_before(0) == ["30d", "7d", "1d"]
    assert {r.object_id for r in records()} == {iso.pk}
    assert mailed() == {"staff_on@example.com": 3}
    assert "ISO/IEC 27001" in mail.outbox[0].subject


@pytest.mark.django_db
def test_renewed_diligence_is_not_chased(cast: Cast) -> None:
    vendor = cast.engagement_a.vendor
    vendor.manager = cast.staff_on
    vendor.save(update_fields=["manager"])
    expires = firm_today() + dt.timedelta(days=10)
    f.DiligenceFactory.create(vendor=vendor, kind=DiligenceKind.INSURANCE, expires_on=expires)
    f.DiligenceFactory.create(vendor=vendor, kind=DiligenceKind.INSURANCE,
                       expires_on=expires + dt.timedelta(days=365))
    reminders_sweep(now=timezone.now())
    assert records(ReminderKind.DILIGENCE_EXPIRING) == []


# --- Claim, then send ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_crash_between_recording_and_sending_is_delivered_once_later(cast: Cast) -> None:
    cast.advance(cast.task, TaskStatus.SUBMITTED)
    now = timezone.now()
    reminders_record(planned=reminders_plan(now=now), now=now)  # then the worker "dies"
    (record,) = records()
    assert record.sent_at is None and mail.outbox == []
    assert Notification.objects.filter(reminder=record).count() == 3  # in-app already

    reminders_sweep(now=now + dt.timedelta(minutes=5))
    reminders_sweep(now=now + dt.timedelta(minutes=10))
    assert mailed() == {"attorney@example.com": 1, "attorney2@example.com": 1,
                        "lapsed@example.com": 1}
    assert ReminderRecord.objects.get(pk=record.pk).sent_at is not None


def failing_for(address: str) -> Callable[..., int]:
    original = LocmemBackend.send_messages

    def send_messages(self: LocmemBackend, messages: list[Any]) -> int:
        if any(address in message.to for message in messages):
            raise smtplib.SMTPRecipientsRefused({address: (450, b"Mailbox busy")})
        return original(self, messages)

    return send_messages


@pytest.mark.django_db
def test_a_failed_email_is_counted_on_itself_and_does_not_block_the_others(
    cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    cast.advance(cast.task, TaskStatus.SUBMITTED)
    monkeypatch.setattr(LocmemBackend, "send_messages", failing_for("attorney2@example.com"))
    now = timezone.now()
    result = reminders_sweep(now=now)
    assert (result.delivery.sent, result.delivery.failed) == (2, 1)
    (record,) = records()
    assert record.sent_at is None and "SMTPRecipientsRefused" in record.last_error
    refused = Notification.objects.get(user=cast.attorney2)
    assert (refused.email_state, refused.email_attempts) == (EmailState.RETRYING, 1)
    assert refused.email_next_attempt_at == now + retry_delay(1)
    assert "SMTPRecipientsRefused" in refused.email_last_error
    reminder_tasks.sweep_reminders()  # the task does not fail: the outbox keeps the e-mail
    assert Notification.objects.get(pk=refused.pk).email_attempts == 1  # not due yet

    monkeypatch.undo()
    assert reminders_deliver(now=now + retry_delay(1)).sent == 1
    assert mailed() == {"attorney@example.com": 1, "attorney2@example.com": 1,
                        "lapsed@example.com": 1}
    assert ReminderRecord.objects.get(pk=record.pk).sent_at is not None


def test_the_backoff_doubles_to_six_hours_and_tries_for_more_than_72_hours() -> None:
    delays = [retry_delay(attempts) for attempts in range(1, MAX_EMAIL_ATTEMPTS)]
    assert delays[:3] == [dt.timedelta(minutes=1), dt.timedelta(minutes=2),
                          dt.timedelta(minutes=4)]
    assert max(delays) == dt.timedelta(hours=6) == delays[-1]
    assert sum(delays, dt.timedelta()) >= dt.timedelta(hours=72)


@pytest.mark.django_db
def test_an_email_that_keeps_failing_gives_up_is_shown_alerted_and_rearmed(
    cast: Cast, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    settings.OPS_ALERT_EMAIL = "ops@example.com"
    cast.advance(cast.task, TaskStatus.SUBMITTED)
    monkeypatch.setattr(LocmemBackend, "send_messages", failing_for("attorney2@example.com"))
    now = timezone.now()
    reminders_sweep(now=now)  # attempt 1
    for attempts in range(1, MAX_EMAIL_ATTEMPTS):
        now += retry_delay(attempts)
        assert reminders_deliver(now=now).failed == 1
    refused = Notification.objects.get(user=cast.attorney2)
    assert (refused.email_state, refused.email_attempts) == (EmailState.GAVE_UP,
                                                             MAX_EMAIL_ATTEMPTS)
    assert reminders_deliver(now=now + dt.timedelta(days=30)).failed == 0  # no longer tried
    # The ops address heard of it once, on a connection that worked.
    alerts = [message for message in mail.outbox if message.to == ["ops@example.com"]]
    assert len(alerts) == 1 and "gave up" in alerts[0].subject
    assert f"#{refused.pk}" in alerts[0].body

    ops = User.objects.create_user("ops", email="ops-person@example.com")
    assert emails_given_up_for(ops).count() == 0  # not without the permission
    with pytest.raises(PermissionDenied):
        notification_email_rearm(actor=ops, notification_ids=[refused.pk])
    ops.user_permissions.add(Permission.objects.get(codename="manage_email_outbox"))
    ops = cast.reload(ops)
    assert list(emails_given_up_for(ops)) == [refused]
    monkeypatch.undo()
    assert notification_email_rearm(actor=ops, notification_ids=[refused.pk]) == 1
    event = AuditEvent.objects.get(action="notification.email_rearmed")
    assert event.before is not None and event.actor_id == ops.pk
    assert event.before["email_attempts"] == MAX_EMAIL_ATTEMPTS
    assert reminders_deliver(now=now).sent == 1
    assert mailed()["attorney2@example.com"] == 1
    assert Notification.objects.get(pk=refused.pk).email_state == EmailState.SENT


@pytest.mark.django_db
def test_an_smtp_outage_counts_no_attempt_on_any_email(
    cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    cast.advance(cast.task, TaskStatus.SUBMITTED)

    def refuse_connection(self: LocmemBackend) -> None:
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(LocmemBackend, "open", refuse_connection, raising=False)
    for _ in range(50):
        result = reminders_sweep(now=timezone.now())
        assert result.delivery.outage and result.delivery.sent == 0
    assert set(Notification.objects.values_list("email_state", "email_attempts")) == {
        (EmailState.PENDING, 0)}
    monkeypatch.undo()
    assert reminders_deliver().sent == 3


@pytest.mark.django_db
def test_user_without_an_email_address_gets_the_in_app_notification_only(cast: Cast) -> None:
    type(cast.lapsed_attorney).objects.filter(pk=cast.lapsed_attorney.pk).update(email="")
    cast.advance(cast.task, TaskStatus.SUBMITTED)
    reminders_sweep(now=timezone.now())
    assert set(mailed()) == {"attorney@example.com", "attorney2@example.com"}
    assert unread_count(cast.lapsed_attorney) == 1
    assert records()[0].sent_at is not None


def test_reminder_tasks_are_reliable_by_configuration() -> None:
    for task in (reminder_tasks.sweep_reminders, reminder_tasks.send_review_waiting,
                 reminder_tasks.send_digests):
        assert task.acks_late is True
        assert task.ignore_result is True
        assert DatabaseOperationalError in task.autoretry_for
        assert InterfaceError in task.autoretry_for
        assert task.retry_backoff and task.max_retries
        # No retry countdown outlives the broker's visibility timeout.
        assert task.retry_backoff_max < settings.CELERY_BROKER_TRANSPORT_OPTIONS.get(
            "visibility_timeout", 3600) - task.time_limit
        assert 0 < task.soft_time_limit < task.time_limit


def test_beat_schedule_is_defined_in_one_place() -> None:
    from lpo_tracker.celery import app
    from lpo_tracker.schedules import BEAT_SCHEDULE

    app.loader.import_default_modules()  # what a worker does at start: autodiscover the tasks
    app.finalize()
    assert app.conf.beat_schedule == BEAT_SCHEDULE
    assert {entry["task"] for entry in BEAT_SCHEDULE.values()} == {
        "supervision.sweep_reminders", "supervision.sweep_budgets", "supervision.send_digests",
        "audit.anchor_head", "core.heartbeat"}
    for entry in BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks
        assert entry["options"]["expires"] > 0  # a run stuck in a queue is dropped, not piled up


# --- Digest -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_digest_readers_get_one_mail_a_day_instead_of_single_mails(cast: Cast) -> None:
    NotificationSettings.objects.create(
        user=cast.attorney2, email_delivery=DeliveryPreference.DAILY_DIGEST, digest_hour=7,
        time_zone="America/New_York")
    cast.advance(cast.task, TaskStatus.SUBMITTED)
    recorded_at = timezone.now()
    reminders_sweep(now=recorded_at)
    assert "attorney2@example.com" not in mailed()
    assert records()[0].sent_at is not None  # the single mails that were due went out

    local = recorded_at.astimezone(NEW_YORK)
    next_seven = local.replace(hour=7, minute=0, second=0, microsecond=0)
    if next_seven <= local:
        next_seven += dt.timedelta(days=1)
    assert digests_send(now=recorded_at + MINUTE).sent == 0  # arrived after today's digest
    assert digests_send(now=next_seven - MINUTE).sent == 0
    assert digests_send(now=next_seven).sent == 1
    assert digests_send(now=next_seven + dt.timedelta(hours=1)).sent == 0
    (digest,) = [m for m in mail.outbox if m.to == ["attorney2@example.com"]]
    assert digest.subject == "Your LPO Tracker digest: 1 notification"
    assert "Review waiting: Review custodian e-mails" in digest.body
    assert not Notification.objects.filter(user=cast.attorney2, emailed_at__isnull=True).exists()


# --- In-app notifications -------------------------------------------------------------------


@pytest.mark.django_db
def test_notification_list_count_and_mark_read_are_per_user(
    cast: Cast, django_assert_num_queries: Any
) -> None:
    cast.advance(cast.task, TaskStatus.SUBMITTED)
    start = timezone.now()
    reminders_sweep(now=start)
    cast.advance(cast.new_task(title="Later", sla_due_at=start + dt.timedelta(days=30)),
                 TaskStatus.SUBMITTED)
    reminders_sweep(now=start + dt.timedelta(hours=1))
    attorney = cast.attorney

    with django_assert_num_queries(1):  # SELECT … ORDER BY created_at DESC
        rows = list(notifications_for(attorney))
    assert [row.subject.split(":")[1].split("(")[0].strip() for row in rows] == [
        "Later", "Review custodian e-mails"]
    with django_assert_num_queries(1):  # SELECT COUNT(*)
        assert unread_count(attorney) == 2
    others = list(Notification.objects.filter(user=cast.attorney2).values_list("pk", flat=True))
    assert notification_mark_read(user=attorney, ids=[rows[0].pk, *others]) == 1
    assert unread_count(attorney) == 1 and unread_count(cast.attorney2) == 2
    assert notification_mark_read(user=attorney, ids=None) == 1
    assert unread_count(attorney) == 0
    assert notifications_for(cast.staff_off).count() == 0


def test_anonymous_users_have_no_notifications() -> None:
    from django.contrib.auth.models import AnonymousUser

    assert unread_count(AnonymousUser()) == 0
    assert notification_mark_read(user=AnonymousUser(), ids=None) == 0


# --- The command ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_send_reminders_dry_run_prints_and_changes_nothing(cast: Cast) -> None:
    task = cast.advance(cast.task, TaskStatus.SUBMITTED)
    out = io.StringIO()
    call_command("send_reminders", "--dry-run", stdout=out)
    printed = out.getvalue()
    assert "review_waiting" in printed
    assert f"task {task.pk}" in printed and "[v1]" in printed
    assert "attorney2 <attorney2@example.com>" in printed
    assert "1 reminder(s) would be recorded" in printed
    assert not ReminderRecord.objects.exists() and not Notification.objects.exists()
    assert mail.outbox == []

    out = io.StringIO()
    call_command("send_reminders", stdout=out)
    assert "1 reminder(s) recorded, 3 e-mail(s) sent" in out.getvalue()


# --- The benchmark, tiny --------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_sweep_benchmark_runs_at_small_scale() -> None:
    from bench.sweep_bench import run

    result = run(tasks=2000, due=20, out=io.StringIO())
    assert result.found_by_sql == result.recorded == 20
    assert result.sent == result.notifications > 0
    assert result.second_sweep_recorded == 0
