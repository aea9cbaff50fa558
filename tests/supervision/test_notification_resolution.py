"""Notifications resolve when their reason is gone (supervision.resolution): a "review
waiting" notice is done once its version is reviewed, replaced or the task is cancelled,
whichever path did it (the services, the review pages, the admin, a raw write caught by the
sweep); done notices stay listed, marked so, and stop counting as unread. The list also
hides what its reader may no longer see (supervision.audience): walls apply at once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from matters.models import MatterRole, Task, TaskStatus
from matters.services import matter_member_add, task_cancel, wall_add
from supervision.models import Notification, ReminderKind, ReminderRecord
from supervision.notifications import notifications_for, unread_count
from supervision.reminders import (
    reminders_plan,
    reminders_record,
    reminders_sweep,
    review_waiting_notify,
)
from supervision.resolution import notifications_resolve
from supervision.services import latest_submission, review_request_changes, submission_create
from tests import factories as f
from tests.conftest import Cast
from tests.signin.flows import step_up

pytestmark = pytest.mark.django_db

WAITING = ReminderKind.REVIEW_WAITING


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def reload(task: Task) -> Task:
    return Task.objects.get(pk=task.pk)


def announced(task: Task) -> Task:
    """The task's latest version announced to its supervising attorneys, as the
    after-commit hook of a submission does."""
    version = latest_submission(task)
    assert version is not None
    review_waiting_notify(submission_id=version.pk, now=timezone.now())
    return reload(task)


def waiting_notices(task: Task, version: int | None = None) -> list[Notification]:
    notices = Notification.objects.filter(kind=WAITING, reminder__object_id=task.pk)
    if version is not None:
        notices = notices.filter(reminder__threshold=f"v{version}")
    return list(notices.order_by("user__username"))


def all_resolved(notices: list[Notification]) -> bool:
    return all(Notification.objects.get(pk=n.pk).resolved_at is not None for n in notices)


@pytest.fixture
def waiting(cast: Cast) -> Task:
    task = announced(cast.advance(cast.task, TaskStatus.SUBMITTED))
    notices = waiting_notices(task)
    assert {n.user_id for n in notices} >= {cast.attorney.pk, cast.attorney2.pk}
    assert all(n.resolved_at is None for n in notices)
    return task


def test_changes_requested_through_the_service_resolve_the_waiting_notice(
    cast: Cast, waiting: Task
) -> None:
    notices = waiting_notices(waiting)
    assert unread_count(cast.attorney2) == 1
    review_request_changes(actor=cast.attorney, task=waiting,
                           submission=latest_submission(waiting),  # type: ignore[arg-type]
                           comments="Tag the privileged documents.")
    # For every supervising attorney told, not only the one who reviewed.
    assert all_resolved(notices)
    assert unread_count(cast.attorney2) == 0


def test_changes_requested_on_the_review_page_resolve_the_waiting_notice(
    cast: Cast, waiting: Task
) -> None:
    notices = waiting_notices(waiting)
    version = latest_submission(waiting)
    assert version is not None
    response = client_for(cast.attorney).post(
        reverse("supervision:request_changes", args=[waiting.pk]),
        {"changes-submission": str(version.pk), "changes-comments": "Add exhibit numbers."})
    assert response.status_code == 302
    assert all_resolved(notices)


def test_a_sign_off_on_the_review_page_resolves_the_waiting_notice(
    cast: Cast, waiting: Task
) -> None:
    notices = waiting_notices(waiting)
    version = latest_submission(waiting)
    assert version is not None
    client = client_for(cast.attorney2)
    step_up(client, cast.attorney2)
    assert client.get(reverse("supervision:submission_inline", args=[version.pk])
                      ).status_code == 200  # the opening a sign-off needs
    response = client.post(reverse("supervision:approve", args=[waiting.pk]), {
        "approve-submission": str(version.pk), "approve-attestation_accepted": "on"})
    assert response.status_code == 302, response
    assert reload(waiting).status == TaskStatus.APPROVED
    assert all_resolved(notices)


def test_starting_a_review_does_not_resolve_it(cast: Cast, waiting: Task) -> None:
    """The attorney has it, but nothing is decided: it still waits."""
    response = client_for(cast.attorney).post(
        reverse("supervision:start_review", args=[waiting.pk]))
    assert response.status_code == 302
    assert reload(waiting).status == TaskStatus.IN_REVIEW
    assert not any(n.resolved_at for n in waiting_notices(waiting))


def test_a_newer_version_resolves_the_notice_of_the_one_it_replaces(
    cast: Cast, waiting: Task
) -> None:
    first = waiting_notices(waiting, 1)
    submission_create(actor=cast.vendor_a_user, task=waiting, upload=f.pdf_upload("v2"))
    second = waiting_notices(announced(waiting), 2)
    assert all_resolved(first)
    assert second and not any(n.resolved_at for n in second)


def test_cancelling_from_the_admin_resolves_the_waiting_notice(
    cast: Cast, waiting: Task, admin_client: Client, admin_user: User
) -> None:
    matter_member_add(actor=cast.admin, matter=cast.matter, user=admin_user,
                      role=MatterRole.TEAM)
    notices = waiting_notices(waiting)
    response = admin_client.post(reverse("admin:matters_task_changelist"),
                                 {"action": "cancel_tasks", "_selected_action": [waiting.pk]},
                                 follow=True)
    assert response.status_code == 200
    assert reload(waiting).status == TaskStatus.CANCELLED
    assert all_resolved(notices)


def test_the_sweep_resolves_what_a_raw_write_left_open(cast: Cast, waiting: Task) -> None:
    notices = waiting_notices(waiting)
    # A bulk update bypasses the save receivers (and the services).
    Task.objects.filter(pk=waiting.pk).update(status=TaskStatus.CANCELLED)
    assert not any(Notification.objects.get(pk=n.pk).resolved_at for n in notices)
    reminders_sweep(now=timezone.now())
    assert all_resolved(notices)


def test_a_deadline_notice_resolves_once_the_vendor_has_submitted(cast: Cast) -> None:
    late = cast.advance(cast.new_task(title="Late batch",
                                      sla_due_at=timezone.now() - dt.timedelta(hours=1)),
                        TaskStatus.IN_PROGRESS)
    reminders_record(planned=reminders_plan(now=timezone.now()), now=timezone.now())
    overdue = list(Notification.objects.filter(kind=ReminderKind.TASK_OVERDUE,
                                               reminder__object_id=late.pk))
    assert overdue and not any(n.resolved_at for n in overdue)
    submission_create(actor=cast.vendor_a_user, task=late, upload=f.pdf_upload())
    assert all_resolved(overdue)


def test_a_notice_that_only_informs_is_never_resolved(cast: Cast, waiting: Task) -> None:
    record = ReminderRecord.objects.create(kind=ReminderKind.DUE_DATE_CHANGED,
                                           object_type="matters.task", object_id=waiting.pk,
                                           threshold="moved-1")
    info = Notification.objects.create(user=cast.attorney, reminder=record,
                                       kind=ReminderKind.DUE_DATE_CHANGED, subject="Moved")
    task_cancel(actor=cast.staff_on, task=reload(waiting), reason="Client withdrew")
    assert notifications_resolve() == 0  # the waiting notices went at the cancel itself
    assert Notification.objects.get(pk=info.pk).resolved_at is None


def test_resolution_is_one_update_whatever_the_number_of_notices(
    cast: Cast, waiting: Task, django_assert_num_queries: object
) -> None:
    Task.objects.filter(pk=waiting.pk).update(status=TaskStatus.CANCELLED)
    with django_assert_num_queries(1):  # type: ignore[operator]
        resolved = notifications_resolve()
    assert resolved == len(waiting_notices(waiting))


def test_a_done_notice_is_listed_as_done_and_no_longer_unread(cast: Cast, waiting: Task
                                                              ) -> None:
    client = client_for(cast.attorney2)
    page = client.get(reverse("supervision:notifications")).content.decode()
    assert "Mark read" in page
    review_request_changes(actor=cast.attorney, task=waiting,
                           submission=latest_submission(waiting),  # type: ignore[arg-type]
                           comments="Tag the privileged documents.")
    page = client.get(reverse("supervision:notifications")).content.decode()
    assert "Done: the version was reviewed or replaced" in page
    assert "Mark read" not in page
    assert 'id="unread-badge"' not in page
    dashboard = client.get(reverse("supervision:dashboard")).content.decode()
    assert "Done: the version was reviewed or replaced" in dashboard


def test_a_wall_hides_a_staff_members_notices_everywhere_at_once(cast: Cast,
                                                                 waiting: Task) -> None:
    reader = cast.attorney2  # a supervising attorney (the responsible one cannot be walled)
    notice = Notification.objects.get(kind=WAITING, user=reader)
    assert notice in notifications_for(reader)
    wall_add(actor=cast.admin, matter=cast.matter, user=reader,
             reason="Joined from the adverse party's firm")
    client = client_for(reader)
    listed = client.get(reverse("supervision:notifications"))
    assert notice.pk not in [n.pk for n in listed.context["page_obj"].object_list]
    assert waiting.title not in listed.content.decode()
    assert notice not in notifications_for(reader)
    assert unread_count(reader) == 1  # only the wall's own notice
    dashboard = client.get(reverse("supervision:dashboard")).content.decode()
    assert waiting.title not in dashboard
    assert client.post(reverse("supervision:notification_read", args=[notice.pk])
                       ).status_code == 404
