# mypy: disable-error-code="operator,arg-type,union-attr"
# Deadlines are Optional on the model; these tests set them before use.
"""The two clocks: business hours in the matter's own zone, weekends, public holidays, DST.

Two set-ups recur (ISSUE 4): a New York matter whose vendor works in Manila, and a London
matter whose vendor works in Chennai. Deadlines follow the matter's calendar, never the
vendor's; the vendor is shown the same instant in their own zone.
"""

from __future__ import annotations

import datetime as dt
import importlib
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from lpo_tracker.errors import RuleViolation
from matters.deadlines import task_change_due_date
from matters.models import DueDateKind, Matter, Task, TaskDueDateChange, TaskStatus
from matters.services import task_assign, task_start
from supervision.models import FirmHoliday, SlaPolicy
from supervision.services import submission_create
from supervision.sla import BusinessCalendar, PolicySet, compute_deadline, policy_for
from tests import factories as f
from tests.conftest import Cast, build_cast

NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
MANILA = ZoneInfo("Asia/Manila")
CHENNAI = ZoneInfo("Asia/Kolkata")
UTC = dt.UTC


def ny_calendar() -> BusinessCalendar:
    return BusinessCalendar(time_zone="America/New_York", country="US", subdivision="NY")


def london_calendar() -> BusinessCalendar:
    return BusinessCalendar(time_zone="Europe/London", country="GB", subdivision="ENG")


# --- The calendar itself ----------------------------------------------------------------------


@pytest.mark.django_db
def test_review_window_in_new_york_skips_thanksgiving_and_the_weekend() -> None:
    # Wed 25 Nov 2026 16:00 + 16 business hours: Wed 2 h, Thanksgiving off, Fri 9 h,
    # weekend off, Mon 5 h → Mon 30 Nov 14:00 EST.
    start = dt.datetime(2026, 11, 25, 16, 0, tzinfo=NEW_YORK)
    due = ny_calendar().add_business_hours(start, 16)
    assert due == dt.datetime(2026, 11, 30, 19, 0, tzinfo=UTC)
    assert due.tzinfo is UTC
    # The vendor in Manila sees the same instant as Tuesday 03:00.
    assert due.astimezone(MANILA) == dt.datetime(2026, 12, 1, 3, 0, tzinfo=MANILA)


@pytest.mark.django_db
def test_review_window_in_london_skips_the_easter_bank_holidays() -> None:
    # Thu 2 Apr 2026 15:00 BST + 16 h: Thu 3 h, Good Friday, weekend, Easter Monday off,
    # Tue 9 h, Wed 4 h → Wed 8 Apr 13:00 BST.
    start = dt.datetime(2026, 4, 2, 15, 0, tzinfo=LONDON)
    due = london_calendar().add_business_hours(start, 16)
    assert due == dt.datetime(2026, 4, 8, 12, 0, tzinfo=UTC)
    assert due.astimezone(CHENNAI) == dt.datetime(2026, 4, 8, 17, 30, tzinfo=CHENNAI)


@pytest.mark.django_db
def test_deadline_across_the_clock_change_counts_wall_clock_hours() -> None:
    # Fri 27 Mar 2026 16:00 GMT + 16 h: Fri 2 h, Mon 30 (now BST) 9 h, Tue 5 h → 14:00 BST.
    start = dt.datetime(2026, 3, 27, 16, 0, tzinfo=LONDON)
    assert london_calendar().add_business_hours(start, 16) == dt.datetime(
        2026, 3, 31, 13, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_work_started_outside_hours_counts_from_the_next_opening() -> None:
    saturday_night = dt.datetime(2026, 11, 28, 23, 0, tzinfo=NEW_YORK)
    assert ny_calendar().add_business_hours(saturday_night, 2) == dt.datetime(
        2026, 11, 30, 16, 0, tzinfo=UTC)  # Mon 11:00 EST


@pytest.mark.django_db
@pytest.mark.parametrize("hours", [1, 5, 9, 16, 24, 40, 80])
@pytest.mark.parametrize(
    "start",
    [
        dt.datetime(2026, 11, 24, 10, 30, tzinfo=NEW_YORK),
        dt.datetime(2026, 11, 25, 17, 15, tzinfo=NEW_YORK),
        dt.datetime(2026, 12, 24, 9, 0, tzinfo=NEW_YORK),
    ],
)
def test_subtracting_business_hours_undoes_adding_them(start: dt.datetime, hours: int) -> None:
    calendar = ny_calendar()
    due = calendar.add_business_hours(start, hours)
    assert calendar.subtract_business_hours(due, hours) == start
    assert calendar.business_hours_between(start, due) == pytest.approx(hours)
    assert calendar.shift_business_hours(due, -hours) == start
    assert calendar.shift_business_hours(start, 0) == start


@pytest.mark.django_db
def test_subtracting_from_a_weekend_counts_back_from_fridays_close() -> None:
    sunday = dt.datetime(2026, 11, 29, 12, 0, tzinfo=NEW_YORK)
    assert ny_calendar().subtract_business_hours(sunday, 3) == dt.datetime(
        2026, 11, 27, 20, 0, tzinfo=UTC)  # Fri 15:00 EST


@pytest.mark.django_db
def test_a_firm_closure_counts_like_a_public_holiday() -> None:
    FirmHoliday.objects.create(country="US", day=dt.date(2026, 11, 27), name="Firm retreat")
    start = dt.datetime(2026, 11, 25, 16, 0, tzinfo=NEW_YORK)
    # Thanksgiving and the retreat: Wed 2 h, Mon 9 h, Tue 5 h → Tue 1 Dec 14:00 EST.
    assert ny_calendar().add_business_hours(start, 16) == dt.datetime(
        2026, 12, 1, 19, 0, tzinfo=UTC)


def test_naive_datetimes_are_refused() -> None:
    calendar = BusinessCalendar.__new__(BusinessCalendar)
    with pytest.raises(ValueError, match="aware"):
        calendar.subtract_business_hours(dt.datetime(2026, 1, 5, 12), 1)


# --- Policies as data ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_default_policies_ship_with_a_data_migration() -> None:
    from django.apps import apps
    from django.db.migrations.recorder import MigrationRecorder

    assert MigrationRecorder.Migration.objects.filter(
        app="supervision", name="0003_default_policies").exists()
    # Run its function again on a known table (transactional tests empty the tables).
    SlaPolicy.objects.all().delete()
    SlaPolicy.objects.create(name="Our urgent rule", priority="urgent",
                             review_window_business_hours=2)
    shipped = importlib.import_module("supervision.migrations.0003_default_policies")
    shipped.add_defaults(apps, None)
    shipped.add_defaults(apps, None)  # twice: still one of each

    names = sorted(SlaPolicy.objects.values_list("name", flat=True))
    assert names == ["High priority", "Legal research", "Legal transcription", "Low priority",
                     "Our urgent rule", "Standard"]  # the firm's own urgent rule was kept
    standard = SlaPolicy.objects.get(task_type="", priority="", is_active=True)
    assert standard.reminder_offsets_hours == [-24, 0, 24]
    assert (standard.turnaround_business_hours, standard.review_window_business_hours,
            standard.escalate_to_responsible_after_hours,
            standard.escalate_to_partner_after_hours) == (40, 16, 8, 24)


@pytest.mark.django_db
def test_most_specific_policy_wins() -> None:
    SlaPolicy.objects.all().delete()
    assert policy_for(task_type="legal_research", priority="low").name == "Built-in default"
    for name, task_type, priority in (("Any", "", ""), ("Low", "", "low"),
                                      ("Research", "legal_research", ""),
                                      ("Urgent research", "legal_research", "urgent")):
        SlaPolicy.objects.create(name=name, task_type=task_type, priority=priority)
    SlaPolicy.objects.create(name="Retired", task_type="legal_research", priority="low",
                             is_active=False)
    expected = {("legal_research", "urgent"): "Urgent research",
                ("legal_research", "low"): "Research",
                ("document_review", "low"): "Low",
                ("document_review", "normal"): "Any"}
    policies = PolicySet.load()
    for (task_type, priority), name in expected.items():
        assert policy_for(task_type=task_type, priority=priority).name == name
        assert policies.resolve(task_type=task_type, priority=priority).name == name


# --- Both clocks end to end, time frozen ----------------------------------------------------------


def cast_at(time_machine: time_machine.TimeMachineFixture, moment: dt.datetime, *,
            time_zone: str, country: str, subdivision: str) -> Cast:
    """The standard cast, built with time frozen at `moment` (vetting dates and bar admissions
    are relative to "today"), its main matter set to the given calendar."""
    time_machine.move_to(moment, tick=False)
    cast = build_cast()
    Matter.objects.filter(pk=cast.matter.pk).update(
        time_zone=time_zone, holiday_country=country, holiday_subdivision=subdivision)
    cast.matter.refresh_from_db()
    return cast


@pytest.mark.django_db
def test_new_york_matter_with_a_manila_vendor(time_machine: time_machine.TimeMachineFixture
                                              ) -> None:
    """Assigned Monday 10:00 New York with a 40-hour turnaround, submitted the day before
    Thanksgiving: both clocks land on Monday afternoon in New York, Tuesday in Manila."""
    cast = cast_at(time_machine, dt.datetime(2026, 11, 23, 10, 0, tzinfo=NEW_YORK),
                   time_zone="America/New_York", country="US", subdivision="NY")
    manila = f.cleared_engagement(actor=cast.staff_on, matter=cast.matter,
                                  vendor=cast.engagement_b.vendor)
    assert manila.vendor.time_zone == "Asia/Manila"
    sla_due = compute_deadline(start=timezone.now(), hours=40, time_zone="America/New_York",
                               holiday_country="US", holiday_subdivision="NY")
    # Mon 8 h, Tue 9, Wed 9, Thanksgiving off, Fri 9, Mon 5 → Mon 30 Nov 14:00 EST.
    assert sla_due == dt.datetime(2026, 11, 30, 19, 0, tzinfo=UTC)
    task = cast.new_task(title="Privilege log", sla_due_at=sla_due)
    task = task_assign(actor=cast.staff_on, task=task, engagement=manila)
    task = task_start(actor=cast.vendor_b_user, task=task)

    time_machine.move_to(dt.datetime(2026, 11, 25, 16, 0, tzinfo=NEW_YORK), tick=False)
    submission_create(actor=cast.vendor_b_user, task=task, upload=f.pdf_upload())
    task = Task.objects.get(pk=task.pk)
    assert task.status == TaskStatus.SUBMITTED
    assert task.submitted_at == dt.datetime(2026, 11, 25, 21, 0, tzinfo=UTC)
    # The 16-hour review window: Wed 2 h, Fri 9 h, Mon 5 h → Mon 30 Nov 14:00 EST.
    assert task.review_due_at == dt.datetime(2026, 11, 30, 19, 0, tzinfo=UTC)
    assert task.review_due_at.astimezone(MANILA).strftime("%a %H:%M") == "Tue 03:00"


@pytest.mark.django_db
def test_london_matter_with_a_chennai_vendor(time_machine: time_machine.TimeMachineFixture
                                             ) -> None:
    """Submitted on Maundy Thursday in London: Good Friday and Easter Monday are English
    bank holidays but working days in Chennai; the London calendar decides."""
    cast = cast_at(time_machine, dt.datetime(2026, 4, 1, 10, 0, tzinfo=LONDON),
                   time_zone="Europe/London", country="GB", subdivision="ENG")
    assert cast.engagement_a.vendor.time_zone == "Asia/Kolkata"  # Chennai
    sla_due = compute_deadline(start=timezone.now(), hours=40, time_zone="Europe/London",
                               holiday_country="GB", holiday_subdivision="ENG")
    # Wed 8 h, Thu 9, Good Friday, weekend, Easter Monday, Tue 9, Wed 9, Thu 5 → Thu 9 Apr
    # 14:00 BST.
    assert sla_due == dt.datetime(2026, 4, 9, 13, 0, tzinfo=UTC)
    task = cast.advance(cast.new_task(title="Lease abstracts", sla_due_at=sla_due),
                        TaskStatus.IN_PROGRESS)

    time_machine.move_to(dt.datetime(2026, 4, 2, 15, 0, tzinfo=LONDON), tick=False)
    task = cast.advance(task, TaskStatus.SUBMITTED)
    assert task.review_due_at == dt.datetime(2026, 4, 8, 12, 0, tzinfo=UTC)
    assert task.review_due_at.astimezone(CHENNAI).strftime("%a %d %b %H:%M") == (
        "Wed 08 Apr 17:30")


# --- Due-date changes keep their history ------------------------------------------------------


@pytest.mark.django_db
def test_due_date_change_keeps_who_when_why_and_the_original(
    time_machine: time_machine.TimeMachineFixture, cast: Cast
) -> None:
    task = cast.advance(cast.task, TaskStatus.IN_PROGRESS)
    original = task.sla_due_at
    first = dt.datetime(2026, 12, 4, 17, 0, tzinfo=NEW_YORK)
    second = dt.datetime(2026, 12, 8, 12, 0, tzinfo=NEW_YORK)
    time_machine.move_to(dt.datetime(2026, 11, 24, 9, 30, tzinfo=UTC), tick=False)
    task_change_due_date(actor=cast.staff_on, task=task, kind=DueDateKind.SLA, new_value=first,
                         reason="Client added 2,000 documents")
    time_machine.move_to(dt.datetime(2026, 11, 27, 14, 0, tzinfo=UTC), tick=False)
    task_change_due_date(actor=cast.staff_on, task=task, kind=DueDateKind.SLA,
                         new_value=second, reason="Custodian interviews moved")

    history = list(TaskDueDateChange.objects.filter(task=task).order_by("changed_at"))
    assert [(change.old_value, change.new_value) for change in history] == [
        (original, first), (first, second)]
    assert [change.reason for change in history] == ["Client added 2,000 documents",
                                                     "Custodian interviews moved"]
    assert {change.changed_by_id for change in history} == {cast.staff_on.pk}
    assert [change.changed_at for change in history] == [
        dt.datetime(2026, 11, 24, 9, 30, tzinfo=UTC), dt.datetime(2026, 11, 27, 14, 0, tzinfo=UTC)]
    assert Task.objects.get(pk=task.pk).sla_due_at == second


@pytest.mark.django_db
def test_due_date_change_needs_a_reason_an_aware_time_and_permission(cast: Cast) -> None:
    task = cast.advance(cast.task, TaskStatus.IN_PROGRESS)
    later = task.sla_due_at + dt.timedelta(days=2)
    with pytest.raises(RuleViolation, match="why"):
        task_change_due_date(actor=cast.staff_on, task=task, kind=DueDateKind.SLA,
                             new_value=later, reason="  ")
    with pytest.raises(RuleViolation, match="time zone"):
        task_change_due_date(actor=cast.staff_on, task=task, kind=DueDateKind.SLA,
                             new_value=later.replace(tzinfo=None), reason="Because")
    with pytest.raises(RuleViolation):
        task_change_due_date(actor=cast.staff_off, task=task, kind=DueDateKind.SLA,
                             new_value=later, reason="Not my matter")
    assert not TaskDueDateChange.objects.filter(task=task).exists()
