"""Refused attempts are evidence: a refused sign-off, assignment or download is written to
the audit trail (who, what, why) in its own transaction, so the refusal's rollback does not
take its record with it.

`transaction=True`: no test transaction wraps these, exactly as in production (no
`ATOMIC_REQUESTS`), so "committed" here means committed.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from lpo_tracker.audit.models import AuditEvent
from lpo_tracker.audit.services import audit_verify_chain
from lpo_tracker.errors import NotEligible, RuleViolation
from matters.models import Engagement, Task, TaskStatus
from matters.services import engagement_consent_revoke, task_assign
from supervision.models import Review, SignOff
from supervision.services import latest_submission, signoff_record
from tests import factories as f
from tests.conftest import Cast

pytestmark = pytest.mark.django_db(transaction=True)


def refusals(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("pk"))


def test_a_refused_signoff_is_recorded_and_its_own_writes_are_rolled_back(cast: Cast
                                                                         ) -> None:
    """Straight from `submitted`, a sign-off first opens a review; refused, that review is
    rolled back, and the refusal stays."""
    task = cast.advance(cast.task, TaskStatus.SUBMITTED)
    version = latest_submission(task)
    assert version is not None
    assert not connection.in_atomic_block

    with pytest.raises(NotEligible, match="You have not opened version 1"):
        signoff_record(actor=cast.attorney, task=task, submission=version,
                       attestation_accepted=True, confirmation=f.fresh_confirmation())

    assert not Review.objects.filter(submission=version).exists()
    assert not SignOff.objects.exists()
    (event,) = refusals("signoff.refused")
    assert (event.actor_id, event.object_id, event.matter_id) == (
        cast.attorney.pk, str(task.pk), cast.matter.pk)
    assert event.after is not None
    assert event.after["refused"] is True and event.after["code"] == "not_eligible"
    assert "You have not opened version 1" in event.after["reason"]
    assert (event.after["submission"], event.after["sha256"]) == (version.pk, version.sha256)
    assert audit_verify_chain().ok


def test_a_refused_assignment_is_recorded_with_the_vendor_and_the_reason(cast: Cast) -> None:
    engagement_consent_revoke(actor=cast.staff_on, engagement=cast.engagement_a,
                              reason="Client withdrew consent")

    with pytest.raises(RuleViolation, match="revoked its consent"):
        task_assign(actor=cast.staff_on, task=cast.task,
                    engagement=Engagement.objects.get(pk=cast.engagement_a.pk))

    assert Task.objects.get(pk=cast.task.pk).status == TaskStatus.DRAFT
    (event,) = refusals("task.assignment_refused")
    assert event.actor_id == cast.staff_on.pk
    assert event.after is not None
    assert (event.after["vendor"], event.after["code"]) == (
        cast.engagement_a.vendor_id, "assignment_blocked")
    assert "revoked its consent" in event.after["reason"]


def test_a_refused_download_is_recorded_and_answers_like_a_missing_version(cast: Cast
                                                                          ) -> None:
    task = cast.advance(cast.task, TaskStatus.SUBMITTED)
    version = latest_submission(task)
    assert version is not None
    outsider = Client()
    outsider.force_login(cast.vendor_b_user)

    walled = outsider.get(reverse("supervision:submission_download", args=[version.pk]))
    missing = outsider.get(reverse("supervision:submission_download", args=[version.pk + 999]))
    portal = outsider.get(reverse("portal:submission_download", args=[version.pk]))

    assert walled.status_code == missing.status_code == portal.status_code == 404
    events = refusals("submission.download_refused")
    assert [(e.actor_id, e.object_id, e.matter_id) for e in events] == [
        (cast.vendor_b_user.pk, str(version.pk), cast.matter.pk),
        (cast.vendor_b_user.pk, str(version.pk + 999), None),
        (cast.vendor_b_user.pk, str(version.pk), cast.matter.pk),
    ]
    assert not AuditEvent.objects.filter(action="submission.downloaded",
                                         actor_id=cast.vendor_b_user.pk).exists()


def test_a_screened_attorney_downloading_is_refused_and_recorded(cast: Cast) -> None:
    task = cast.advance(cast.task, TaskStatus.SUBMITTED)
    version = latest_submission(task)
    assert version is not None
    client = Client()
    client.force_login(cast.screened)
    assert client.get(reverse("supervision:submission_inline",
                              args=[version.pk])).status_code == 404
    (event,) = refusals("submission.download_refused")
    assert (event.actor_id, event.matter_id) == (cast.screened.pk, cast.matter.pk)
    assert audit_verify_chain().ok
