"""Walls bind the admin: a screened administrator, superuser included, finds nothing of the
walled matter in any admin list, search, autocomplete, change, history or delete page, and an
object they may not see answers exactly like one that does not exist."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import models
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from lpo_tracker.audit.models import AuditEvent
from matters.deadlines import task_change_due_date
from matters.models import (
    DueDateKind,
    Engagement,
    EthicalWall,
    Matter,
    MatterMembership,
    MatterUserObjectPermission,
    Party,
    PartyRole,
    Task,
    TaskDueDateChange,
    TaskStatus,
)
from matters.services import wall_add
from supervision.models import (
    Notification,
    ReminderKind,
    ReminderRecord,
    Review,
    SignOff,
    Submission,
    SubmissionOpening,
)
from tests import factories as f
from tests.conftest import Cast

pytestmark = pytest.mark.django_db


@dataclass
class Walled:
    boss: User  # a superuser screened from cast.matter
    rows: dict[type[models.Model], models.Model]  # one row of the walled matter per model


@pytest.fixture
def walled(cast: Cast) -> Walled:
    task = cast.advance(cast.task, TaskStatus.APPROVED)
    task_change_due_date(actor=cast.staff_on, task=task, kind=DueDateKind.REVIEW,
                         new_value=timezone.now() + dt.timedelta(days=3), reason="Client asked")
    party = Party.objects.create(client=cast.matter.client, matter=cast.matter,
                                 name="Globex Corporation", role=PartyRole.ADVERSE)
    record = ReminderRecord.objects.create(kind=ReminderKind.TASK_OVERDUE,
                                           object_type="matters.task", object_id=task.pk,
                                           threshold="test")
    notification = Notification.objects.create(
        user=cast.staff_on, reminder=record, kind=ReminderKind.TASK_OVERDUE,
        subject=f"Overdue: {task.title} (matter {cast.matter.number})")
    boss = f.superuser("boss")
    wall_add(actor=cast.admin, matter=cast.matter, user=boss,
             reason="Joined from the adverse party's firm")
    submission = Submission.objects.get(task=task)
    rows: dict[type[models.Model], models.Model | None] = {
        Matter: cast.matter,
        Task: task,
        Engagement: cast.engagement_a,
        Submission: submission,
        Review: Review.objects.get(submission=submission),
        SignOff: SignOff.objects.get(task=task),
        SubmissionOpening: SubmissionOpening.objects.filter(submission=submission).first(),
        TaskDueDateChange: TaskDueDateChange.objects.get(task=task),
        MatterMembership: MatterMembership.objects.filter(matter=cast.matter).first(),
        EthicalWall: EthicalWall.objects.get(matter=cast.matter, user=cast.screened),
        Party: party,
        MatterUserObjectPermission: MatterUserObjectPermission.objects.filter(
            content_object=cast.matter).first(),
        AuditEvent: AuditEvent.objects.filter(matter_id=cast.matter.pk).order_by("-pk").first(),
        Notification: notification,
    }
    found = {model: row for model, row in rows.items() if row is not None}
    assert found.keys() == rows.keys()
    return Walled(boss=User.objects.get(pk=boss.pk), rows=found)


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _url(model: type[models.Model], view: str, *args: Any) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def _listed(client: Client, model: type[models.Model], **params: str) -> set[Any]:
    response = client.get(_url(model, "changelist"), params)
    assert response.status_code == 200
    return {row.pk for row in response.context["cl"].result_list}


def test_changelists_leave_out_every_row_of_the_walled_matter(walled: Walled,
                                                              cast: Cast) -> None:
    screened, unscreened = _client(walled.boss), _client(f.superuser("chief"))
    for model, row in walled.rows.items():
        assert row.pk in _listed(unscreened, model), model  # the row is there to be found
        assert row.pk not in _listed(screened, model), model


def test_admin_search_finds_nothing_of_the_walled_matter(walled: Walled, cast: Cast) -> None:
    client = _client(walled.boss)
    assert not _listed(client, Task, q=cast.task.title)
    assert not _listed(client, Matter, q=cast.matter.number)
    assert not _listed(client, Party, q="Globex")
    assert cast.other_matter.pk in _listed(client, Matter, q=cast.other_matter.number)


def test_autocomplete_offers_no_walled_matter(walled: Walled, cast: Cast) -> None:
    response = _client(walled.boss).get(reverse("admin:autocomplete"), {
        "app_label": "matters", "model_name": "task", "field_name": "matter", "term": "20"})
    assert response.status_code == 200
    offered = {int(item["id"]) for item in response.json()["results"]}
    assert cast.other_matter.pk in offered and cast.matter.pk not in offered


@pytest.mark.parametrize("view", ["change", "history", "delete"])
def test_a_walled_object_answers_exactly_like_a_missing_one(walled: Walled, view: str
                                                            ) -> None:
    client = _client(walled.boss)
    for model, row in walled.rows.items():
        hidden = client.get(_url(model, view, row.pk))
        missing = client.get(_url(model, view, 10**9))
        assert (hidden.status_code, hidden.get("Location")) == (
            missing.status_code, missing.get("Location")), (model, view)
        # Not found: redirected to the index; evidence has no delete page at all (403).
        assert hidden.status_code in (302, 403), (model, view)


def test_history_without_the_model_permission_is_403_for_existing_and_missing_alike(
    walled: Walled, cast: Cast,
) -> None:
    clerk = f.UserFactory.create(username="clerk", is_staff=True)
    f.enrol_mfa(clerk)
    client = _client(clerk)
    task = walled.rows[Task]
    other = Task.objects.create(matter=cast.other_matter, title="Elsewhere",
                                task_type="document_review", created_by=cast.staff_off)
    for pk in (task.pk, other.pk, 10**9):
        assert client.get(_url(Task, "history", pk)).status_code == 403
