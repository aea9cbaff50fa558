"""Proof of review: an attorney signs off only a version they opened, the sign-off records
when, and where the matter names a jurisdiction the signer is admitted there."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from lpo_tracker.errors import NotEligible
from matters.models import Matter, Task, TaskStatus
from supervision.models import OpenedVia, SignOff, Submission, SubmissionOpening
from supervision.services import (
    latest_submission,
    signoff_eligibility,
    signoff_record,
    submission_create,
    submission_open,
)
from tests import factories as f
from tests.conftest import Cast
from tests.signin.flows import step_up

pytestmark = pytest.mark.django_db

NOT_OPENED = "You have not opened version"


def in_review(cast: Cast) -> tuple[Task, Submission]:
    task = cast.advance(cast.task, TaskStatus.IN_REVIEW)
    version = latest_submission(task)
    assert version is not None
    return task, version


def sign(cast: Cast, task: Task, version: Submission) -> SignOff:
    return signoff_record(actor=cast.attorney, task=task, submission=version,
                          attestation_accepted=True, confirmation=f.fresh_confirmation())


def test_signoff_without_opening_the_version_is_refused(cast: Cast) -> None:
    task, version = in_review(cast)
    with pytest.raises(NotEligible, match=NOT_OPENED):
        sign(cast, task, version)
    assert not SignOff.objects.exists()
    assert Task.objects.get(pk=task.pk).status == TaskStatus.IN_REVIEW


def test_opening_an_older_version_or_by_someone_else_does_not_count(cast: Cast) -> None:
    task, first = in_review(cast)
    f.opened(first, cast.attorney)
    submission_create(actor=cast.vendor_a_user, task=task, upload=f.pdf_upload("v2"))
    second = latest_submission(task)
    assert second is not None
    f.opened(second, cast.attorney2)  # another attorney read it; this one did not

    with pytest.raises(NotEligible, match="You have not opened version 2"):
        sign(cast, Task.objects.get(pk=task.pk), second)


def test_the_signoff_records_when_the_version_was_opened(cast: Cast) -> None:
    task, version = in_review(cast)
    opened_at = dt.datetime(2026, 11, 20, 15, 30, tzinfo=dt.UTC)
    with time_machine.travel(opened_at, tick=False):
        submission_open(actor=cast.attorney, submission=version, via=OpenedVia.INLINE).close()

    signoff = sign(cast, task, version)

    assert signoff.opened_at == opened_at
    opening = SubmissionOpening.objects.get(submission=version, user=cast.attorney)
    assert (opening.via, opening.opened_at) == (OpenedVia.INLINE, opened_at)


def test_openings_are_append_only(cast: Cast) -> None:
    _task, version = in_review(cast)
    f.opened(version, cast.attorney)
    opening = SubmissionOpening.objects.get(user=cast.attorney)
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        SubmissionOpening.objects.filter(pk=opening.pk).update(opened_at=opening.opened_at
                                                               - dt.timedelta(days=1))
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        SubmissionOpening.objects.filter(pk=opening.pk).delete()


def test_over_http_the_inline_view_is_the_opening_the_signoff_needs(cast: Cast) -> None:
    task, version = in_review(cast)
    client = Client()
    client.force_login(cast.attorney)
    step_up(client, cast.attorney)  # a fresh second factor first (tests/signin)
    approve = reverse("supervision:approve", args=[task.pk])
    data = {"approve-submission": version.pk, "approve-attestation_accepted": "on"}

    review_page = client.get(reverse("supervision:review", args=[task.pk]))
    assert NOT_OPENED in " ".join(review_page.context["eligibility"].blockers)
    refused = client.post(approve, data)
    assert refused.status_code == 403
    assert Task.objects.get(pk=task.pk).status == TaskStatus.IN_REVIEW

    assert client.get(reverse("supervision:submission_inline",
                              args=[version.pk])).status_code == 200
    assert client.post(approve, data).status_code == 302
    assert Task.objects.get(pk=task.pk).status == TaskStatus.APPROVED


def _name_jurisdiction(cast: Cast, jurisdiction: str) -> Task:
    Matter.objects.filter(pk=cast.matter.pk).update(jurisdiction=jurisdiction)
    return Task.objects.get(pk=cast.task.pk)


def test_where_the_matter_names_a_jurisdiction_the_signer_must_be_admitted_there(
    cast: Cast,
) -> None:
    """attorney2 is admitted in New Jersey only; the matter is New York work."""
    task, version = in_review(cast)
    task = _name_jurisdiction(cast, "New York")
    f.opened(version, cast.attorney2)
    with pytest.raises(NotEligible, match="no bar admission in New York active"):
        signoff_record(actor=cast.reload(cast.attorney2), task=task, submission=version,
                       attestation_accepted=True, confirmation=f.fresh_confirmation())

    f.opened(version, cast.attorney)
    signoff = sign(cast, task, version)
    assert signoff.bar_admission.jurisdiction == "New York"


def test_the_jurisdiction_rule_is_a_firm_setting(cast: Cast, settings: object) -> None:
    """For work that calls for no legal judgment; work that does always needs an admission
    in the matter's jurisdiction (tests/supervision/qc/test_qc_flow.py)."""
    Task.objects.filter(pk=cast.task.pk).update(requires_legal_judgment=False,
                                                task_type="deposition_summary")
    task, version = in_review(cast)
    task = _name_jurisdiction(cast, "New York")
    settings.SIGNOFF_REQUIRES_JURISDICTION = False  # type: ignore[attr-defined]
    f.opened(version, cast.attorney2)
    eligibility = signoff_eligibility(user=cast.reload(cast.attorney2), task=task,
                                      submission=version)
    assert eligibility.eligible, eligibility.blockers
    assert eligibility.bar_admission is not None
    assert eligibility.bar_admission.jurisdiction == "New Jersey"


def test_a_matter_without_a_jurisdiction_takes_any_active_admission(cast: Cast) -> None:
    task, version = in_review(cast)
    f.opened(version, cast.attorney2)
    eligibility = signoff_eligibility(user=cast.reload(cast.attorney2), task=task,
                                      submission=version)
    assert eligibility.eligible, eligibility.blockers
