"""`supervision.reports.delivery` keeps one definition of "delivered" and "on time" in two
forms: from the deliveries (`deliveries`, the scorecards) and from the tasks
(`delivered_tasks`, the dashboard's chart, which reads a scoped task list once). Both must
count the same, whatever the mix."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import Count
from django.utils import timezone

from matters.models import Task, TaskStatus
from matters.selectors import tasks_visible_to
from supervision.reports.delivery import ON_TIME, ON_TIME_TASK, delivered_tasks, deliveries
from supervision.services import submission_create
from tests import factories as f
from tests.conftest import Cast

pytestmark = pytest.mark.django_db


def test_both_forms_count_the_same_deliveries_and_the_same_on_time(cast: Cast) -> None:
    now = timezone.now()
    tasks = []
    for n, deadline in enumerate((now + dt.timedelta(days=3), now - dt.timedelta(days=1),
                                  None, now + dt.timedelta(days=1))):
        task = cast.advance(cast.new_task(title=f"Delivery {n}"), TaskStatus.SUBMITTED)
        Task.objects.filter(pk=task.pk).update(sla_due_at=deadline)
        tasks.append(task)
    # A second version later: the delivery stays v1's.
    submission_create(actor=cast.vendor_a_user, task=tasks[3], upload=f.pdf_upload("v2"))
    # A task never submitted, and one the attorney cannot see: neither counts for them.
    cast.advance(cast.new_task(title="Still working"), TaskStatus.IN_PROGRESS)
    since, until = now - dt.timedelta(days=7), timezone.now() + dt.timedelta(seconds=1)

    for user in (cast.attorney, cast.staff_off, cast.screened):
        visible = tasks_visible_to(user)
        by_delivery = deliveries(since=since, until=until, tasks=visible).aggregate(
            delivered=Count("pk"), on_time=Count("pk", filter=ON_TIME))
        by_task = delivered_tasks(visible, since=since, until=until).aggregate(
            delivered=Count("pk"), on_time=Count("pk", filter=ON_TIME_TASK))
        assert by_task == by_delivery, user
    attorney = delivered_tasks(tasks_visible_to(cast.attorney), since=since, until=until)
    assert attorney.aggregate(n=Count("pk"), on_time=Count("pk", filter=ON_TIME_TASK)) == {
        "n": 4, "on_time": 2}
    # Outside the window: nothing, in both forms.
    later = until + dt.timedelta(days=1)
    assert not delivered_tasks(Task.objects.all(), since=until, until=later).exists()
    assert not deliveries(since=until, until=later).exists()
