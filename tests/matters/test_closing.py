"""Closing a matter: the checklist the software checks, refused with what is still open; a
closed matter takes no new task, engagement or upload (services and HTTP)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from lpo_tracker.audit.models import AuditEvent
from lpo_tracker.clock import firm_today
from lpo_tracker.errors import InvalidTransition, NotEligible, RuleViolation
from matters.closing import engagement_end, matter_close, matter_close_blockers
from matters.models import EngagementStatus, Matter, MatterStatus, Task, TaskStatus
from matters.services import engagement_create, task_create
from supervision.services import submission_create
from tests import factories as f
from tests.conftest import Cast

pytestmark = pytest.mark.django_db


def finish(cast: Cast) -> Matter:
    """Deliver the cast's task, end both engagements of the matter: ready to close."""
    cast.advance(cast.task, TaskStatus.DELIVERED)
    engagement_end(actor=cast.staff_on, engagement=cast.engagement_a, reason="Work done")
    return Matter.objects.get(pk=cast.matter.pk)


def test_close_is_refused_with_the_list_of_what_is_still_open(cast: Cast) -> None:
    in_review = cast.advance(cast.new_task(title="Privilege log"), TaskStatus.IN_REVIEW)

    with pytest.raises(RuleViolation) as refused:
        matter_close(actor=cast.staff_on, matter=cast.matter)

    assert matter_close_blockers(cast.matter) == [
        f"Task “{cast.task.title}” is draft.",
        f"Task “{in_review.title}” waits for a supervising attorney's review.",
        f"The engagement of {cast.engagement_a.vendor} is still active.",
    ]
    assert refused.value.code == "close_blocked"
    assert Matter.objects.get(pk=cast.matter.pk).status == MatterStatus.OPEN


def test_an_engagement_with_work_running_cannot_end(cast: Cast) -> None:
    cast.advance(cast.task, TaskStatus.APPROVED)
    with pytest.raises(RuleViolation, match="still has work"):
        engagement_end(actor=cast.staff_on, engagement=cast.engagement_a, reason="Done")


def test_the_matter_closes_once_everything_is_done_and_the_close_is_audited(cast: Cast) -> None:
    finish(cast)
    matter = matter_close(actor=cast.staff_on, matter=cast.matter, note="All work delivered")

    assert (matter.status, matter.closed_on) == (MatterStatus.CLOSED, firm_today())
    event = AuditEvent.objects.get(action="matter.closed")
    assert event.after is not None and event.after["note"] == "All work delivered"
    assert AuditEvent.objects.filter(action="engagement.ended").count() == 1
    with pytest.raises(InvalidTransition, match="already closed"):
        matter_close(actor=cast.staff_on, matter=matter)


@pytest.mark.parametrize("who", ["attorney", "staff_off", "vendor_a_user"])
def test_only_the_matter_team_closes_it(cast: Cast, who: str) -> None:
    finish(cast)
    with pytest.raises(NotEligible, match="close the matter"):
        matter_close(actor=getattr(cast, who), matter=cast.matter)


def test_a_closed_matter_takes_no_task_engagement_or_upload(cast: Cast) -> None:
    assigned = cast.advance(cast.new_task(title="Still with the vendor"), TaskStatus.IN_PROGRESS)
    # Closed with work in progress only by going around the services (a bulk update), so the
    # upload check itself is what is tested here.
    Matter.objects.filter(pk=cast.matter.pk).update(status=MatterStatus.CLOSED,
                                                    closed_on=cast.matter.opened_on)
    matter = Matter.objects.get(pk=cast.matter.pk)

    with pytest.raises(RuleViolation, match="is closed; it cannot take new tasks"):
        task_create(actor=cast.staff_on, matter=matter, title="More work",
                    task_type="document_review")
    with pytest.raises(RuleViolation, match="is closed; it cannot engage a vendor"):
        engagement_create(actor=cast.staff_on, matter=matter,
                          vendor=f.vetted_vendor(name="Late Vendor"), scope="More")
    with pytest.raises(RuleViolation, match="is closed; it cannot take uploads"):
        submission_create(actor=cast.vendor_a_user, task=Task.objects.get(pk=assigned.pk),
                          upload=f.pdf_upload())
    assert not Task.objects.filter(title="More work").exists()


def test_closing_through_the_page(client: Client, cast: Cast) -> None:
    client.force_login(cast.staff_on)
    url = reverse("matters:close", args=[cast.matter.pk])

    refused = client.post(url, {"note": ""})
    assert refused.status_code == 400
    assert "cannot close yet" in refused.content.decode()
    assert [check.done for check in refused.context["checklist"]] == [False, True, False]

    finish(cast)
    assert client.get(url).context["ready"] is True
    closed = client.post(url, {"note": "Done"})

    assert closed.status_code == 302
    assert Matter.objects.get(pk=cast.matter.pk).status == MatterStatus.CLOSED
    detail = client.get(reverse("matters:detail", args=[cast.matter.pk])).content.decode()
    assert reverse("matters:task_create", args=[cast.matter.pk]) not in detail
    assert reverse("engagements:create", args=[cast.matter.pk]) not in detail


def test_a_closed_matter_refuses_new_tasks_and_engagements_over_http(
    client: Client, cast: Cast
) -> None:
    finish(cast)
    matter_close(actor=cast.staff_on, matter=cast.matter)
    client.force_login(cast.staff_on)

    task = client.post(reverse("matters:task_create", args=[cast.matter.pk]), {
        "title": "Sneaked in", "task_type": "document_review", "priority": "normal",
        "requires_legal_judgment": "on", "estimated_hours": "1", "document_count": "0"})
    engagement = client.post(reverse("engagements:create", args=[cast.matter.pk]), {
        "vendor": cast.engagement_b.vendor_id, "scope": "More", "budget_cap": "0"})

    assert not Task.objects.filter(title="Sneaked in").exists()
    assert "is closed" in task.content.decode()
    assert engagement.status_code == 400 and "is closed" in engagement.content.decode()
    assert not cast.matter.engagements.filter(vendor=cast.engagement_b.vendor).exists()


def test_ending_an_engagement_through_the_page(client: Client, cast: Cast) -> None:
    client.force_login(cast.staff_on)
    url = reverse("engagements:end", args=[cast.engagement_a.pk])
    assert client.post(url, {"reason": ""}).status_code == 400

    response = client.post(url, {"reason": "Scope complete"})

    assert response.status_code == 302
    cast.engagement_a.refresh_from_db()
    assert cast.engagement_a.status == EngagementStatus.CLOSED
