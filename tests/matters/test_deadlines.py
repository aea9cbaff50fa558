"""Deadlines (issue 11, item 5): a new task's vendor deadline from its SLA policy or template in
the matter's business calendar, overridden by a person; moving a due date with a reason,
announced and re-planned at once; task templates as data the firm edits."""

from __future__ import annotations

import datetime as dt
import importlib
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.apps import apps
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError

from lpo_tracker.audit.models import AuditEvent
from lpo_tracker.errors import InvalidTransition, NotEligible, RuleViolation
from matters import deadlines
from matters.deadlines import task_change_due_date, task_template_save
from matters.models import DueDateKind, DueSource, Matter, Task, TaskStatus, TaskTemplate
from matters.services import task_create
from supervision.models import ReminderKind, SlaPolicy
from supervision.reminders import due_date_change_notify, reminders_sweep
from supervision.sla import BusinessCalendar
from tests import factories as f
from tests.conftest import Cast, build_cast
from tests.matters.test_views_queries import count_queries, layout_baseline
from tests.supervision.test_reminders import MINUTE, recipients_of, records

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")


def only_policy(**fields: object) -> SlaPolicy:
    """One (any type, any priority) policy: the data migration's rows are not relied on."""
    SlaPolicy.objects.all().delete()
    return SlaPolicy.objects.create(name=str(fields.pop("name", "Standard turnaround")), **fields)


def new_task(cast: Cast, **fields: Any) -> Task:
    return task_create(
        actor=cast.staff_on,
        matter=cast.matter,
        title=str(fields.pop("title", "Custodian review")),
        task_type=str(fields.pop("task_type", "document_review")),
        **fields,
    )


def cast_on_new_york_calendar(
    time_machine: time_machine.TimeMachineFixture, moment: dt.datetime
) -> Cast:
    time_machine.move_to(moment, tick=False)
    cast = build_cast()
    Matter.objects.filter(pk=cast.matter.pk).update(
        time_zone="America/New_York", holiday_country="US", holiday_subdivision="NY"
    )
    cast.matter.refresh_from_db()
    return cast


# --- The default deadline -----------------------------------------------------------------


def test_a_new_task_is_due_after_the_policys_turnaround_in_the_matters_business_hours(
    time_machine: time_machine.TimeMachineFixture,
) -> None:
    """Wednesday 17:00 before Thanksgiving, New York, 8 business hours (09:00-18:00): one
    hour on Wednesday, Thursday is a public holiday, seven hours on Friday."""
    cast = cast_on_new_york_calendar(
        time_machine, dt.datetime(2027, 11, 24, 17, 0, tzinfo=NEW_YORK)
    )
    only_policy(name="Quick turnaround", turnaround_business_hours=8)

    task = new_task(cast)

    assert task.sla_due_at == dt.datetime(2027, 11, 26, 16, 0, tzinfo=NEW_YORK)
    assert task.sla_due_source == DueSource.POLICY
    assert task.sla_due_set_by is None
    assert task.sla_due_basis == "SLA policy “Quick turnaround”: 8 business hours after creation"
    event = AuditEvent.objects.filter(action="task.created", object_id=str(task.pk)).get()
    assert (event.after or {})["sla_due_source"] == "policy"


def test_the_most_specific_policy_sets_the_deadline(cast: Cast) -> None:
    only_policy(turnaround_business_hours=40)
    SlaPolicy.objects.create(
        name="Urgent review",
        task_type="document_review",
        priority="urgent",
        turnaround_business_hours=4,
    )
    urgent = new_task(cast, priority="urgent")
    normal = new_task(cast)
    calendar = BusinessCalendar(
        time_zone=cast.matter.time_zone,
        country=cast.matter.holiday_country,
        subdivision=cast.matter.holiday_subdivision,
    )
    assert urgent.sla_due_at is not None and normal.sla_due_at is not None
    hours = calendar.business_hours_between(urgent.created_at, urgent.sla_due_at)
    assert hours == pytest.approx(4, abs=0.01)
    assert "Urgent review" in (urgent.sla_due_basis or "")
    assert normal.sla_due_at > urgent.sla_due_at


def test_a_templates_business_days_end_at_close_of_business(
    time_machine: time_machine.TimeMachineFixture,
) -> None:
    """Created Wednesday before Thanksgiving, due in 2 business days: Friday (Thursday is a
    holiday), then Monday, at the policy's close of business."""
    cast = cast_on_new_york_calendar(
        time_machine, dt.datetime(2027, 11, 24, 10, 0, tzinfo=NEW_YORK)
    )
    only_policy(business_day_end_hour=17)
    template = f.task_template(
        name="Deposition summary", task_type="deposition_summary", due_in_business_days=2
    )

    task = new_task(cast, task_type="deposition_summary", template=template)

    assert task.sla_due_at == dt.datetime(2027, 11, 29, 17, 0, tzinfo=NEW_YORK)
    assert task.sla_due_source == DueSource.TEMPLATE
    assert "Deposition summary" in (task.sla_due_basis or "")


def test_a_template_without_business_days_leaves_the_deadline_to_the_policy(cast: Cast) -> None:
    only_policy(name="House rule")
    template = f.task_template(due_in_business_days=None)
    task = new_task(cast, template=template)
    assert task.sla_due_source == DueSource.POLICY and "House rule" in (task.sla_due_basis or "")


def test_a_typed_deadline_overrides_the_policy_and_says_who(cast: Cast) -> None:
    typed = timezone.now() + dt.timedelta(days=3)
    task = new_task(cast, sla_due_at=typed)
    assert task.sla_due_at == typed
    assert task.sla_due_source == DueSource.PERSON
    assert task.sla_due_set_by == cast.staff_on and task.sla_due_basis is None


def test_without_a_registered_rule_task_create_fails_loudly(
    cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(deadlines, "DEADLINE_RULES", [])
    with pytest.raises(RuntimeError, match="No deadline rule"):
        new_task(cast)
    assert not Task.objects.filter(title="Custodian review").exclude(pk=cast.task.pk).exists()


# --- Moving a due date --------------------------------------------------------------------


def test_moving_the_vendor_deadline_keeps_history_and_makes_it_the_persons(cast: Cast) -> None:
    task = new_task(cast)
    old = task.sla_due_at
    assert old is not None
    new = old + dt.timedelta(days=2)
    change = task_change_due_date(
        actor=cast.staff_on,
        task=task,
        kind=DueDateKind.SLA,
        new_value=new,
        reason="  Client sent more documents ",
    )
    task.refresh_from_db()
    assert (change.old_value, change.new_value, change.reason) == (
        old,
        new,
        "Client sent more documents",
    )
    assert task.sla_due_at == new and task.sla_due_source == DueSource.PERSON
    assert task.sla_due_set_by == cast.staff_on
    event = AuditEvent.objects.get(action="task.due_date_changed", object_id=str(task.pk))
    assert (event.after or {})["reason"] == "Client sent more documents"


@pytest.mark.parametrize("who", ["vendor_a_user", "screened", "staff_off", "attorney"])
def test_only_the_matters_team_moves_a_due_date(cast: Cast, who: str) -> None:
    before = Task.objects.get(pk=cast.task.pk).sla_due_at
    with pytest.raises(NotEligible):
        task_change_due_date(
            actor=getattr(cast, who),
            task=cast.task,
            kind=DueDateKind.SLA,
            new_value=timezone.now() + dt.timedelta(days=9),
            reason="Later",
        )
    assert Task.objects.get(pk=cast.task.pk).sla_due_at == before


def test_a_moved_date_needs_a_reason_and_an_open_task(cast: Cast) -> None:
    later = timezone.now() + dt.timedelta(days=9)
    with pytest.raises(RuleViolation, match="Say why"):
        task_change_due_date(
            actor=cast.staff_on, task=cast.task, kind=DueDateKind.SLA, new_value=later, reason="  "
        )
    cast.advance(cast.task, TaskStatus.DELIVERED)
    with pytest.raises(InvalidTransition, match="final"):
        task_change_due_date(
            actor=cast.staff_on,
            task=cast.task,
            kind=DueDateKind.SLA,
            new_value=later,
            reason="Too late",
        )


def test_the_after_commit_hook_runs_once_the_change_commits(
    cast: Cast, django_capture_on_commit_callbacks: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []
    monkeypatch.setattr(deadlines, "AFTER_DUE_DATE_CHANGE_HOOKS", [seen.append])
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        change = task_change_due_date(
            actor=cast.staff_on,
            task=cast.task,
            kind=DueDateKind.SLA,
            new_value=timezone.now() + dt.timedelta(days=4),
            reason="Scope grew",
        )
    assert seen == [change.pk]


def test_supervision_registers_the_announcement_hook() -> None:
    from supervision.tasks import enqueue_due_date_change

    assert enqueue_due_date_change in deadlines.AFTER_DUE_DATE_CHANGE_HOOKS


def test_a_moved_deadline_is_announced_and_replanned_at_once_not_twice_by_the_sweep(
    cast: Cast,
) -> None:
    """Pulled into the past: the announcement and "overdue" are recorded and mailed right
    after the change, to the vendor's contacts and the team (never the screened user); the
    next sweep finds both keys taken."""
    only_policy(reminder_offsets_hours=[-24, 0, 24])
    task = cast.advance(cast.task, TaskStatus.IN_PROGRESS)
    now = timezone.now()
    reminders_sweep(now=now)
    mail.outbox.clear()
    change = task_change_due_date(
        actor=cast.staff_on,
        task=task,
        kind=DueDateKind.SLA,
        new_value=now - dt.timedelta(minutes=5),
        reason="The hearing moved up",
    )

    result = due_date_change_notify(change_id=change.pk, now=now + MINUTE)

    (notice,) = records(ReminderKind.DUE_DATE_CHANGED)
    (overdue,) = records(ReminderKind.TASK_OVERDUE)
    assert recipients_of(notice) == recipients_of(overdue) == {"vendor_a", "staff_on"}
    assert result.recorded == 2 and result.delivery.sent == len(mail.outbox) == 4
    assert any("The hearing moved up" in message.body for message in mail.outbox)
    reminders_sweep(now=now + 2 * MINUTE)
    assert len(records(ReminderKind.DUE_DATE_CHANGED, ReminderKind.TASK_OVERDUE)) == 2


def test_a_lost_announcement_is_left_to_the_sweep(
    cast: Cast, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Broker down after the commit: the change stands, nobody sees an error, and the sweep
    (which reads the database) announces it."""
    from supervision import tasks

    def refuse(*args: object) -> None:
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.send_due_date_change, "delay", refuse)
    task = cast.advance(cast.task, TaskStatus.IN_PROGRESS)
    change = task_change_due_date(
        actor=cast.staff_on,
        task=task,
        kind=DueDateKind.SLA,
        new_value=timezone.now() + dt.timedelta(days=3),
        reason="Extension agreed",
    )
    tasks.enqueue_due_date_change(change.pk)
    assert "will be announced by the next reminder sweep" in caplog.text
    reminders_sweep(now=timezone.now())
    assert len(records(ReminderKind.DUE_DATE_CHANGED)) == 1


def test_the_announcement_of_a_missing_change_does_nothing(cast: Cast) -> None:
    result = due_date_change_notify(change_id=987654, now=timezone.now())
    assert (result.planned, result.recorded) == (0, 0)


# --- Task templates -----------------------------------------------------------------------


def test_a_template_is_saved_by_its_managers_only_and_audited(cast: Cast) -> None:
    template = TaskTemplate(
        name="Coding batch", title="Coding batch", task_type="legal_coding", due_in_business_days=3
    )
    with pytest.raises(NotEligible):
        task_template_save(actor=cast.staff_on, template=template)
    assert not TaskTemplate.objects.filter(name="Coding batch").exists()
    saved = task_template_save(actor=cast.admin, template=template)
    saved.due_in_business_days = 5
    task_template_save(actor=cast.admin, template=saved)
    created, changed = AuditEvent.objects.filter(
        object_id=str(saved.pk), action__startswith="task_template."
    ).order_by("id")
    assert created.action == "task_template.created"
    assert (changed.before, changed.after) == (
        {"due_in_business_days": 3},
        {"due_in_business_days": 5},
    )
    assert TaskTemplate.objects.get(pk=saved.pk).updated_by == cast.admin


def test_a_templates_due_days_stay_in_range(cast: Cast) -> None:
    template = TaskTemplate(
        name="Forever", title="Forever", task_type="legal_coding", due_in_business_days=0
    )
    with pytest.raises(RuleViolation, match="1 to 250"):
        task_template_save(actor=cast.admin, template=template)


def test_the_data_migration_creates_the_four_former_templates_once() -> None:
    migration = importlib.import_module("matters.migrations.0013_task_templates_from_the_old_list")
    TaskTemplate.objects.all().delete()
    migration.create_templates(apps, None)
    migration.create_templates(apps, None)
    assert TaskTemplate.objects.count() == 4
    assert set(TaskTemplate.objects.values_list("due_in_business_days", flat=True)) == {4, 5, 8}


# --- Pages --------------------------------------------------------------------------------

CAST = [
    "admin",
    "staff_on",
    "staff_off",
    "screened",
    "attorney",
    "attorney2",
    "lapsed_attorney",
    "vendor_a_user",
    "vendor_b_user",
]
VENDORS = {"vendor_a_user": 404, "vendor_b_user": 404}
# The due-date page: the task's team; attorneys see the task (403); off the matter, 404.
DUE_DATE_PAGE = {
    "staff_on": 200,
    "attorney": 403,
    "attorney2": 403,
    "lapsed_attorney": 403,
    "staff_off": 404,
    "screened": 404,
    "admin": 404,
} | VENDORS
# Template pages: holders of manage_task_templates (the cast's firm admin) only.
TEMPLATE_PAGES = {who: 403 for who in CAST} | {"admin": 200} | VENDORS


def template_urls(cast: Cast) -> dict[str, str]:
    template = TaskTemplate.objects.first() or f.task_template()
    return {
        "task_templates": reverse("matters:task_templates"),
        "task_template_new": reverse("matters:task_template_new"),
        "task_template_edit": reverse("matters:task_template_edit", args=[template.pk]),
    }


@pytest.mark.parametrize("who", CAST)
def test_due_date_page_access(client: Client, cast: Cast, who: str) -> None:
    client.force_login(getattr(cast, who))
    url = reverse("matters:task_due_date", args=[cast.task.pk])
    assert client.get(url).status_code == DUE_DATE_PAGE[who]
    response = client.post(url, {"kind": "sla", "reason": "x", "new_value": "2099-01-05T17:00"})
    assert response.status_code == (302 if who == "staff_on" else DUE_DATE_PAGE[who])


@pytest.mark.parametrize("who", CAST)
@pytest.mark.parametrize("page", ["task_templates", "task_template_new", "task_template_edit"])
def test_template_pages_access(client: Client, cast: Cast, who: str, page: str) -> None:
    client.force_login(getattr(cast, who))
    assert client.get(template_urls(cast)[page]).status_code == TEMPLATE_PAGES[who]


def test_anonymous_is_sent_to_login_from_every_deadline_page(client: Client, cast: Cast) -> None:
    urls = [reverse("matters:task_due_date", args=[cast.task.pk]), *template_urls(cast).values()]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login") + "?next=")


def test_moving_a_due_date_in_the_browser_form_shows_it_on_the_task(
    client: Client, cast: Cast
) -> None:
    client.force_login(cast.staff_on)
    url = reverse("matters:task_due_date", args=[cast.task.pk])
    response = client.post(url, {"kind": "sla", "new_value": "2099-01-05T17:00", "reason": ""})
    assert response.status_code == 200 and "reason" in response.context["form"].errors
    response = client.post(
        url,
        {
            "kind": "sla",
            "new_value": "2099-01-05T17:00",
            "reason": "Client asked for an extra custodian",
        },
    )
    assert response.status_code == 302
    task = Task.objects.get(pk=cast.task.pk)
    # Typed as wall-clock time in the matter's zone.
    assert task.sla_due_at is not None
    assert task.sla_due_at.astimezone(ZoneInfo(cast.matter.time_zone)).replace(tzinfo=None) == (
        dt.datetime(2099, 1, 5, 17, 0)
    )
    page = client.get(reverse("supervision:task_detail", args=[task.pk])).content.decode()
    assert "Client asked for an extra custodian" in page
    assert "(overridden)" in page and url in page


def test_the_task_page_says_where_the_deadline_came_from_and_links_only_for_the_team(
    client: Client, cast: Cast
) -> None:
    only_policy(name="Standard turnaround")
    task = new_task(cast)
    url = reverse("supervision:task_detail", args=[task.pk])
    move = reverse("matters:task_due_date", args=[task.pk])
    client.force_login(cast.staff_on)
    page = client.get(url).content.decode()
    assert "SLA policy default" in page and "Standard turnaround" in page and move in page
    client.force_login(cast.attorney)
    page = client.get(url).content.decode()
    assert "SLA policy default" in page and move not in page


def test_a_delivered_task_shows_why_its_dates_no_longer_move(client: Client, cast: Cast) -> None:
    task = cast.advance(cast.task, TaskStatus.DELIVERED)
    client.force_login(cast.staff_on)
    url = reverse("matters:task_due_date", args=[task.pk])
    assert "its due dates are final" in client.get(url).content.decode()
    client.post(url, {"kind": "sla", "new_value": "2099-01-05T17:00", "reason": "Why not"})
    assert not task.due_date_changes.exists()


def test_the_template_page_creates_and_edits_templates(client: Client, cast: Cast) -> None:
    client.force_login(cast.admin)
    fields = {
        "name": "Coding batch",
        "title": "Legal coding",
        "task_type": "legal_coding",
        "priority": "normal",
        "estimated_hours": "4",
        "document_count": "100",
        "due_in_business_days": "3",
        "is_active": "on",
        "instructions": "Code it.",
    }
    response = client.post(reverse("matters:task_template_new"), fields)
    assert response.status_code == 302
    template = TaskTemplate.objects.get(name="Coding batch")
    response = client.post(
        reverse("matters:task_template_edit", args=[template.pk]), {**fields, "is_active": ""}
    )
    assert response.status_code == 302
    assert TaskTemplate.objects.get(pk=template.pk).is_active is False
    assert AuditEvent.objects.filter(
        object_id=str(template.pk), action="task_template.changed"
    ).exists()


def test_a_template_made_on_the_page_is_offered_on_the_new_task_page(
    client: Client, cast: Cast
) -> None:
    f.task_template(name="Coding batch", task_type="legal_coding")
    client.force_login(cast.staff_on)
    page = client.get(reverse("matters:task_create", args=[cast.matter.pk])).content.decode()
    assert "Coding batch" in page


# The template list adds: may_manage_task_templates's "is a vendor user at all?" check (the
# model permissions are cached by the navigation) and one query for the templates.
TEMPLATE_LIST_QUERIES = 2


def test_the_template_list_costs_the_same_for_1_and_50_templates(
    client: Client, cast: Cast
) -> None:
    TaskTemplate.objects.all().delete()
    client.force_login(cast.admin)
    baseline = layout_baseline(client)
    url = reverse("matters:task_templates")
    f.task_template(name="Template 0")
    one = count_queries(client, url)
    for number in range(1, 50):
        f.task_template(name=f"Template {number}")
    fifty = count_queries(client, url)
    assert one == fifty == baseline + TEMPLATE_LIST_QUERIES
    assert len(client.get(url).context["templates"]) == 50
