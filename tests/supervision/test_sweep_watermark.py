# mypy: disable-error-code="operator,arg-type,union-attr,type-var,return-value,func-returns-value"
"""The sweep at firm scale (issue 15): message bodies rendered at delivery from recorded
facts, and the review-waiting safety net bounded by a watermark.

- The texts people read are those planning used to render: e-mail, notifications page.
- Nothing submitted is missed across the watermark, a transaction still open when the sweep
  looked included; a sweep that dies mid-way leaves the watermark where it was.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection, connections, transaction
from django.template.defaultfilters import linebreaksbr
from django.template.loader import render_to_string
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from matters.models import DueDateKind, Task, TaskStatus
from matters.services import task_change_due_date
from supervision import services as supervision_services
from supervision.models import (
    Notification,
    ReminderKind,
    ReminderRecord,
    SlaPolicy,
    SweepWatermark,
)
from supervision.notifications import with_bodies
from supervision.reminders import base as reminders_base
from supervision.reminders import record as record_step
from supervision.reminders import (
    reminders_deliver,
    reminders_plan,
    reminders_record,
    reminders_sweep,
    watermark_advance,
    watermark_read,
    watermark_reset,
)
from supervision.reminders import watermark as watermark_module
from supervision.services import submission_create
from tests import factories as f
from tests.conftest import Cast
from tests.waits import EVENT_TIMEOUT_SECONDS
from vendors.models import DiligenceKind

MINUTE = dt.timedelta(minutes=1)


def review_waiting_versions() -> list[tuple[int, str]]:
    return list(ReminderRecord.objects.filter(kind=ReminderKind.REVIEW_WAITING)
                .order_by("object_id", "threshold").values_list("object_id", "threshold"))


def every_kind_due(cast: Cast) -> dt.datetime:
    """A firm with one reminder of each sweep kind due at the returned moment: a version
    waiting, a review window closed and escalated, a vendor deadline missed and escalated, a
    moved due date, an expiring NDA."""
    SlaPolicy.objects.filter(task_type="", priority="", is_active=True).update(
        reminder_offsets_hours=[0], escalate_to_responsible_after_hours=1,
        vendor_escalate_to_responsible_after_hours=1)
    late = cast.advance(cast.new_task(title="Privilege log, batch 7"), TaskStatus.IN_PROGRESS)
    waiting = cast.advance(cast.new_task(title="Custodian interviews"), TaskStatus.SUBMITTED)
    task_change_due_date(actor=cast.staff_on, task=late, kind=DueDateKind.SLA,
                         new_value=timezone.now() + dt.timedelta(hours=1),
                         reason="Client moved the hearing")
    vendor = cast.engagement_a.vendor
    vendor.manager = cast.staff_on
    vendor.save(update_fields=["manager"])
    late.refresh_from_db()
    waiting.refresh_from_db()
    now = max(late.sla_due_at, waiting.review_due_at) + dt.timedelta(days=3)
    f.DiligenceFactory.create(vendor=vendor, kind=DiligenceKind.ISO27001,
                              expires_on=now.date() + dt.timedelta(days=5))
    return now


# --- Bodies at delivery ---------------------------------------------------------------------


@pytest.mark.django_db
def test_bodies_are_rendered_at_delivery_and_read_as_planning_wrote_them(
    cast: Cast, monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = every_kind_due(cast)
    rendered: list[str] = []
    real_render = reminders_base.render_to_string
    monkeypatch.setattr(reminders_base, "render_to_string",
                        lambda name, context: rendered.append(name) or real_render(name,
                                                                                  context))
    planned = reminders_plan(now=now)
    assert rendered == []  # planning renders no body
    kinds = {item.kind for item in planned}
    assert kinds >= {ReminderKind.REVIEW_WAITING, ReminderKind.REVIEW_OVERDUE,
                     ReminderKind.REVIEW_ESCALATED, ReminderKind.TASK_OVERDUE,
                     ReminderKind.TASK_ESCALATED, ReminderKind.DUE_DATE_CHANGED,
                     ReminderKind.DILIGENCE_EXPIRING}
    # What planning rendered before bodies moved to delivery: the kind's template on the
    # planner's own (in-memory) context.
    before = {item.key: real_render(f"supervision/email/{item.kind}.txt", item.context).strip()
              for item in planned}
    assert all(before.values()) and all(item.body == "" for item in planned)

    reminders_record(planned=planned, now=now)
    assert not Notification.objects.exclude(body="").exists()  # nothing rendered to store
    assert rendered == []
    reminders_deliver(now=now)

    records = {(r.object_type, r.object_id, r.kind, r.threshold): r
               for r in ReminderRecord.objects.exclude(kind=ReminderKind.ACCESS_CHANGED)}
    assert set(records) == set(before)
    by_subject = {message.subject: message for message in mail.outbox}
    for item in planned:
        for note in Notification.objects.filter(reminder=records[item.key]).select_related(
                "user"):
            user = note.user
            expected_mail = render_to_string("supervision/email/message.txt", {
                "name": user.get_full_name() or user.get_username(),
                "body": before[item.key],
                "link": f"{settings.SITE_URL}{item.url}",
            })
            sent = [m for m in mail.outbox if m.to == [user.email]
                    and m.subject == item.subject]
            assert [m.body for m in sent] == [expected_mail], item.key
    assert by_subject  # e-mails went out
    # In the app: the same text, once per reminder whatever the number of readers.
    notes = with_bodies(Notification.objects.exclude(kind=ReminderKind.ACCESS_CHANGED))
    assert {note.body for note in notes} == set(before.values())
    for note in notes:
        key = next(k for k, r in records.items() if r.pk == note.reminder_id)
        assert note.body == before[key]


@pytest.mark.django_db
def test_the_notifications_page_shows_the_body_and_costs_the_same_for_one_or_many(
    cast: Cast, django_assert_num_queries: Any,
) -> None:
    now = every_kind_due(cast)
    reminders_record(planned=reminders_plan(now=now), now=now)
    client = Client()
    client.force_login(cast.staff_on)
    url = reverse("supervision:notifications")
    page = client.get(url)
    notes = [n for n in page.context["page_obj"].object_list
             if n.kind == ReminderKind.DUE_DATE_CHANGED]
    assert notes and "Client moved the hearing" in notes[0].body
    html = page.content.decode()
    assert str(linebreaksbr(notes[0].body, autoescape=True)) in html
    many = Notification.objects.filter(user=cast.staff_on).count()
    assert many >= 4

    # The same number of queries with one notification as with all of them: the bodies of
    # a page come from one read of their reminders.
    with CaptureQueriesContext(connection) as with_many:
        client.get(url)
    keep = Notification.objects.filter(user=cast.staff_on).order_by("pk").first()
    Notification.objects.filter(user=cast.staff_on).exclude(pk=keep.pk).delete()
    with django_assert_num_queries(len(with_many.captured_queries)):
        one = client.get(url)
    assert len(one.context["page_obj"].object_list) == 1
    assert one.context["page_obj"].object_list[0].body


# --- The watermark ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_net_reads_everything_once_then_only_what_was_submitted_since(cast: Cast) -> None:
    # A version whose announcement was lost long ago (no after-commit hook runs here).
    old = cast.advance(cast.new_task(title="Old batch"), TaskStatus.SUBMITTED)
    Task.objects.filter(pk=old.pk).update(submitted_at=timezone.now() - dt.timedelta(days=30))
    assert watermark_read() is None
    now = timezone.now()
    reminders_sweep(now=now)  # no watermark yet: the whole net, then a watermark
    assert review_waiting_versions() == [(old.pk, "v1")]
    mark = watermark_read()
    assert mark is not None and now - dt.timedelta(minutes=11) < mark <= now

    # One submitted since, one (raw SQL, no service) stamped before the watermark.
    fresh = cast.advance(cast.new_task(title="Fresh batch"), TaskStatus.SUBMITTED)
    behind = cast.advance(cast.new_task(title="Backdated batch"), TaskStatus.SUBMITTED)
    Task.objects.filter(pk=behind.pk).update(submitted_at=mark - MINUTE)
    reminders_sweep(now=now + 5 * MINUTE)
    assert review_waiting_versions() == [(old.pk, "v1"), (fresh.pk, "v1")]
    assert watermark_read() >= mark

    watermark_reset()  # the full net once more finds what was put there behind its back
    reminders_sweep(now=now + 10 * MINUTE)
    assert review_waiting_versions() == [(old.pk, "v1"), (fresh.pk, "v1"), (behind.pk, "v1")]


@pytest.mark.django_db
def test_the_watermark_only_moves_forward() -> None:
    later = timezone.now()
    watermark_advance(later)
    watermark_advance(later - dt.timedelta(hours=1))
    assert watermark_read() == later
    watermark_advance(later + MINUTE)
    assert watermark_read() == later + MINUTE
    assert SweepWatermark.objects.count() == 1


@pytest.mark.django_db
def test_a_crash_mid_sweep_leaves_the_watermark_and_the_next_sweep_records_the_rest(
    cast: Cast, monkeypatch: pytest.MonkeyPatch,
) -> None:
    start = timezone.now()
    reminders_sweep(now=start)
    mark = watermark_read()
    tasks = [cast.advance(cast.new_task(title=f"Batch {n}"), TaskStatus.SUBMITTED)
             for n in range(3)]
    monkeypatch.setattr(record_step, "RECORD_BATCH", 1)
    real_batches = record_step.batches

    def dying(items: Any, size: int) -> Any:
        for number, batch in enumerate(real_batches(items, size)):
            if number == 1:
                raise RuntimeError("worker killed mid-sweep")
            yield batch

    monkeypatch.setattr(record_step, "batches", dying)
    with pytest.raises(RuntimeError):
        reminders_sweep(now=start + 5 * MINUTE)
    assert len(review_waiting_versions()) == 1  # the first batch committed, then the crash
    assert watermark_read() == mark  # not moved past the two unrecorded versions

    monkeypatch.setattr(record_step, "batches", real_batches)
    reminders_sweep(now=start + 10 * MINUTE)
    assert review_waiting_versions() == sorted((task.pk, "v1") for task in tasks)
    assert watermark_read() > mark
    assert len([m for m in mail.outbox if m.subject.startswith("Review waiting")]) == 3 * 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_submission_committed_after_the_sweep_looked_is_not_missed(
    cast: Cast, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A version whose transaction is still open while a sweep plans: that sweep cannot see
    it, and its `submitted_at` is earlier than the sweep's `now`. The watermark stops at the
    start of that open transaction, so the next sweep reads it. (No margin, no after-commit
    announcement: the watermark alone must cover it.)"""
    monkeypatch.setattr(watermark_module, "WATERMARK_MARGIN", dt.timedelta(0))
    monkeypatch.setattr(supervision_services, "AFTER_SUBMIT_HOOKS", [])  # the message is lost
    task = cast.advance(cast.new_task(title="Slow upload"), TaskStatus.IN_PROGRESS)
    reminders_sweep(now=timezone.now())
    inside, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def submit_slowly() -> None:
        try:
            with transaction.atomic():
                submission_create(actor=cast.vendor_a_user, task=task,
                                  upload=f.pdf_upload("slow"))
                inside.set()
                assert release.wait(EVENT_TIMEOUT_SECONDS)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=submit_slowly)
    thread.start()
    assert inside.wait(EVENT_TIMEOUT_SECONDS)
    looked = timezone.now()
    reminders_sweep(now=looked)
    assert review_waiting_versions() == []  # not committed yet: invisible to this sweep
    release.set()
    thread.join(EVENT_TIMEOUT_SECONDS)
    assert errors == []
    submitted_at = Task.objects.get(pk=task.pk).submitted_at
    mark = watermark_read()
    assert submitted_at < looked  # a watermark at the sweep's `now` would have missed it
    assert mark <= submitted_at
    reminders_sweep(now=timezone.now())
    assert review_waiting_versions() == [(task.pk, "v1")]
