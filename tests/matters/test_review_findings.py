"""Walls bind vendor users; a new provider never sees the previous provider's versions;
supervisors' audit exports leave out who is screened."""

from __future__ import annotations

import pytest
from django.test import Client

from lpo_tracker.errors import NotEligible
from matters.models import TaskStatus
from matters.selectors import tasks_visible_to
from matters.services import task_reassign, task_start, wall_add
from supervision.models import Submission
from supervision.services import submission_create
from tests import factories as f
from tests.conftest import Cast
from tests.exports import body

pytestmark = pytest.mark.django_db


def test_a_screened_vendor_user_sees_and_does_nothing_on_the_matter(cast: Cast) -> None:
    task = cast.advance(cast.task, TaskStatus.ASSIGNED)
    wall_add(actor=cast.admin, matter=cast.matter, user=cast.vendor_a_user,
             reason="Worked for the adverse party")
    vendor = cast.reload(cast.vendor_a_user)

    assert not tasks_visible_to(vendor).filter(pk=task.pk).exists()
    client = Client()
    client.force_login(vendor)
    assert client.get(f"/portal/tasks/{task.pk}/").status_code == 404
    assert client.get(f"/tasks/{task.pk}/").status_code == 404
    with pytest.raises(NotEligible):
        task_start(actor=vendor, task=task)


def test_after_reassignment_the_new_vendor_sees_none_of_the_old_versions(cast: Cast) -> None:
    task = cast.advance(cast.task, TaskStatus.CHANGES_REQUESTED)
    old_version = Submission.objects.get(task=task)
    vendor_c = f.vetted_vendor(name="Cebu Document Services")
    engagement_c = f.cleared_engagement(actor=cast.staff_on, matter=cast.matter, vendor=vendor_c)
    task_reassign(actor=cast.staff_on, task=task, engagement=engagement_c, reason="Capacity")
    vendor_c_user = f.vendor_user(vendor_c, "vendor_c")
    f.acknowledge(vendor_c_user, cast.matter)  # the new vendor's first access to the matter
    client = Client()
    client.force_login(vendor_c_user)

    page = client.get(f"/portal/tasks/{task.pk}/")

    assert page.status_code == 200
    assert old_version.original_name.encode() not in page.content
    assert b"Tag privilege" not in page.content  # the attorney's comment on vendor A's work
    assert client.get(f"/portal/submissions/{old_version.pk}/download/").status_code == 404
    assert client.get(f"/submissions/{old_version.pk}/download/").status_code == 404
    task_start(actor=vendor_c_user, task=task)
    mine = submission_create(actor=vendor_c_user, task=task, upload=f.pdf_upload(name="c.pdf"))
    assert client.get(f"/portal/submissions/{mine.pk}/download/").status_code == 200


def test_a_supervisors_audit_export_leaves_out_who_is_screened(cast: Cast) -> None:
    client = Client()
    client.force_login(cast.attorney)  # supervises, cannot change the matter
    url = f"/matters/{cast.matter.pk}/audit/export/?start=2000-01-01&end=2100-01-01"

    supervisor_csv = body(client.get(url)).decode()
    client.force_login(cast.staff_on)  # the matter team may change it
    team_csv = body(client.get(url)).decode()

    assert "wall.added" not in supervisor_csv
    assert "Former counsel to the adverse party" not in supervisor_csv
    assert "wall.added" in team_csv


