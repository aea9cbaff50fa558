"""Who performed a version's work, on every path (the service, the portal's and the shared
upload pages, the admin), and the acknowledgement a vendor user gives before first reaching
a matter's pages (the gate, what is kept, the audit event)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from lpo_tracker.audit.models import AuditEvent
from lpo_tracker.clock import firm_today
from lpo_tracker.errors import NotEligible
from lpo_tracker.fields import TaskType
from matters.models import Task, TaskStatus
from supervision.acknowledgements import (
    TERMS_VERSION,
    acknowledgement_text,
    matter_acknowledge,
    text_sha256,
)
from supervision.models import MatterAcknowledgement, Submission
from supervision.services import latest_submission, submission_create
from tests import factories as f
from tests.conftest import Cast
from tests.vendors.builders import vendor_manager
from vendors.models import QualificationKind, StaffTraining, TrainingTopic, VendorUser
from vendors.staff import qualification_add, qualification_verify

pytestmark = pytest.mark.django_db


def client_for(user: Any) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def member_of(user: User) -> VendorUser:
    return VendorUser.objects.select_related("user").get(user=user)


def working_task(cast: Cast, task_type: str = TaskType.DOCUMENT_REVIEW) -> Task:
    task = cast.new_task(title=f"{task_type} work", task_type=task_type)
    return cast.advance(task, TaskStatus.IN_PROGRESS)


def expire_training(user: User, topic: str = TrainingTopic.DATA_PROTECTION) -> None:
    """Replace the member's current training of `topic` by one that ended yesterday."""
    member = member_of(user)
    StaffTraining.objects.filter(member=member, topic=topic).delete()
    today = firm_today()
    f.train(member, topics=(topic,), completed_on=today - dt.timedelta(days=400),
            expires_on=today - dt.timedelta(days=1))


def verified_patent_practitioner(user: User) -> None:
    manager = vendor_manager("qualifier")
    qualification = qualification_add(actor=manager, member=member_of(user),
                                      kind=QualificationKind.PATENT_PRACTITIONER,
                                      jurisdiction="USPTO", registration_number="70001")
    qualification_verify(actor=manager, qualification=qualification)


# --- The service ----------------------------------------------------------------------------


def test_the_uploader_is_the_default_performer(cast: Cast) -> None:
    task = working_task(cast)
    submission = submission_create(actor=cast.vendor_a_user, task=task, upload=f.pdf_upload())
    assert submission.performed_by == member_of(cast.vendor_a_user)
    event = AuditEvent.objects.filter(action="submission.created").latest("id")
    assert (event.after or {})["performed_by"] == member_of(cast.vendor_a_user).pk


def test_the_service_refuses_an_unqualified_performer_for_patent_work(cast: Cast) -> None:
    task = working_task(cast, TaskType.PATENT_SUPPORT)
    with pytest.raises(NotEligible, match="registered patent practitioner") as refused:
        submission_create(actor=cast.vendor_a_user, task=task, upload=f.pdf_upload())
    assert refused.value.code == "performer_unqualified"
    assert not Submission.objects.filter(task=task).exists()
    assert Task.objects.get(pk=task.pk).status == TaskStatus.IN_PROGRESS

    # Naming a qualified colleague works; so does the uploader once verified.
    colleague = f.vendor_user(cast.engagement_a.vendor, "patent_agent")
    verified_patent_practitioner(colleague)
    submission = submission_create(actor=cast.vendor_a_user, task=task, upload=f.pdf_upload(),
                                   performed_by=member_of(colleague))
    assert submission.performed_by == member_of(colleague)


def test_a_firm_upload_of_patent_work_must_name_a_qualified_performer(cast: Cast) -> None:
    task = working_task(cast, TaskType.PATENT_SUPPORT)
    with pytest.raises(NotEligible) as refused:
        submission_create(actor=cast.staff_on, task=task, upload=f.pdf_upload())
    assert refused.value.code == "performer_required"
    # Ordinary work uploaded by the matter team names nobody.
    review = working_task(cast)
    assert submission_create(actor=cast.staff_on, task=review,
                             upload=f.pdf_upload()).performed_by is None


def test_the_service_refuses_an_untrained_performer(cast: Cast) -> None:
    task = working_task(cast)
    expire_training(cast.vendor_a_user)
    with pytest.raises(NotEligible, match="data protection") as refused:
        submission_create(actor=cast.vendor_a_user, task=task, upload=f.pdf_upload())
    assert refused.value.code == "performer_untrained"
    assert not Submission.objects.filter(task=task).exists()


def test_another_vendors_person_cannot_be_named(cast: Cast) -> None:
    task = working_task(cast)
    with pytest.raises(NotEligible) as refused:
        submission_create(actor=cast.vendor_a_user, task=task, upload=f.pdf_upload(),
                          performed_by=member_of(cast.vendor_b_user))
    assert refused.value.code == "performer_other_vendor"


# --- The upload pages -----------------------------------------------------------------------


@pytest.mark.parametrize("route", ["portal:submission_upload", "supervision:submission_upload"])
def test_the_upload_pages_refuse_an_unqualified_performer(cast: Cast, route: str) -> None:
    task = working_task(cast, TaskType.PATENT_SUPPORT)
    response = client_for(cast.vendor_a_user).post(reverse(route, args=[task.pk]),
                                                   {"file": f.pdf_upload()})
    assert response.status_code == 403
    assert not Submission.objects.filter(task=task).exists()

    verified_patent_practitioner(cast.vendor_a_user)
    response = client_for(cast.vendor_a_user).post(reverse(route, args=[task.pk]),
                                                   {"file": f.pdf_upload()})
    assert response.status_code == 302
    assert latest_submission(task).performed_by == member_of(cast.vendor_a_user)  # type: ignore[union-attr]


def test_the_portal_upload_refuses_expired_training_and_names_a_colleague(cast: Cast) -> None:
    task = working_task(cast)
    url = reverse("portal:submission_upload", args=[task.pk])
    colleague = f.vendor_user(cast.engagement_a.vendor, "colleague")
    expire_training(colleague, TrainingTopic.CONFIDENTIALITY)
    refused = client_for(cast.vendor_a_user).post(
        url, {"file": f.pdf_upload(), "performed_by": member_of(colleague).pk})
    assert refused.status_code == 403
    assert not Submission.objects.filter(task=task).exists()
    # Another vendor's person is not even a choice of the form.
    foreign = client_for(cast.vendor_a_user).post(
        url, {"file": f.pdf_upload(), "performed_by": member_of(cast.vendor_b_user).pk})
    assert foreign.status_code == 400
    f.train(member_of(colleague), topics=(TrainingTopic.CONFIDENTIALITY,),
            completed_on=dt.date(2001, 1, 1))
    accepted = client_for(cast.vendor_a_user).post(
        url, {"file": f.pdf_upload(), "performed_by": member_of(colleague).pk})
    assert accepted.status_code == 302
    assert latest_submission(task).performed_by == member_of(colleague)  # type: ignore[union-attr]
    # The firm's task page says who performed the version.
    page = client_for(cast.staff_on).get(reverse("supervision:task_detail", args=[task.pk]))
    name = colleague.get_full_name() or colleague.username
    assert f"Performed by {name}" in page.content.decode()


def test_the_task_page_offers_the_vendors_people_as_performers(cast: Cast) -> None:
    task = working_task(cast)
    page = client_for(cast.vendor_a_user).get(reverse("portal:task", args=[task.pk]))
    text = page.content.decode()
    assert 'name="performed_by"' in text
    assert "vendor_a" in text and "vendor_b" not in text


def test_the_admin_cannot_add_a_submission_at_all(cast: Cast, admin_client: Client) -> None:
    """The admin's only path to a version would bypass the performer rule: it has none."""
    client = admin_client
    url = reverse("admin:supervision_submission_add")
    assert client.get(url).status_code == 403
    assert client.post(url, {"task": cast.task.pk, "performed_by": 1}).status_code == 403
    assert not Submission.objects.exists()


# --- The acknowledgement gate ---------------------------------------------------------------


def newcomer(cast: Cast) -> User:
    """A trained vendor A user who has not acknowledged the matter."""
    return f.vendor_user(cast.engagement_a.vendor, "newcomer")


def test_a_vendor_user_cannot_see_the_matters_pages_before_acknowledging(cast: Cast) -> None:
    task = working_task(cast)
    submission = submission_create(actor=cast.vendor_a_user, task=task, upload=f.pdf_upload())
    user = newcomer(cast)
    client = client_for(user)
    gate = reverse("portal:acknowledge", args=[task.pk])
    for url in (reverse("portal:task", args=[task.pk]),
                reverse("supervision:task_detail", args=[task.pk]),
                reverse("portal:submission_download", args=[submission.pk]),
                reverse("supervision:submission_download", args=[submission.pk])):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(gate), url
    for url in (reverse("portal:task_start", args=[task.pk]),
                reverse("portal:submission_upload", args=[task.pk]),
                reverse("supervision:submission_upload", args=[task.pk])):
        assert client.post(url, {"file": f.pdf_upload()}).status_code == 403, url
    assert Submission.objects.filter(task=task).count() == 1
    # The list of tasks is not a matter's page: it shows the task, and what is asked first.
    listing = client.get(reverse("portal:tasks"))
    assert listing.status_code == 200
    assert "Read the matter's terms first" in listing.content.decode()
    assert "Read the matter's terms first" not in client_for(cast.vendor_a_user).get(
        reverse("portal:tasks")).content.decode()


def test_after_acknowledging_the_pages_open_and_the_acknowledgement_is_kept(cast: Cast) -> None:
    task = working_task(cast)
    user = newcomer(cast)
    client = client_for(user)
    detail = reverse("portal:task", args=[task.pk])
    page = client.get(reverse("portal:acknowledge", args=[task.pk]), {"next": detail})
    text = page.content.decode()
    assert page.status_code == 200
    assert cast.engagement_a.scope.split()[0] in text and TERMS_VERSION in text
    digest = text_sha256(acknowledgement_text(task.matter, cast.engagement_a.vendor_id))
    assert digest in text

    unticked = client.post(reverse("portal:acknowledge", args=[task.pk]),
                           {"text_sha256": digest, "next": detail})
    assert unticked.status_code == 400
    assert not MatterAcknowledgement.objects.filter(member=member_of(user)).exists()

    done = client.post(reverse("portal:acknowledge", args=[task.pk]),
                       {"accepted": "on", "text_sha256": digest, "next": detail})
    assert done.status_code == 302 and done["Location"] == detail
    kept = MatterAcknowledgement.objects.get(member=member_of(user), matter=task.matter)
    assert (kept.terms_version, kept.text_sha256) == (TERMS_VERSION, digest)
    event = AuditEvent.objects.get(action="matter.acknowledged")
    assert event.matter_id == task.matter_id and event.actor_id == user.pk
    assert (event.after or {})["text_sha256"] == digest
    assert client.get(detail).status_code == 200


def test_a_changed_scope_asks_again(cast: Cast) -> None:
    task = working_task(cast)
    cast.engagement_a.scope = "Second-level review and privilege log, now with redactions"
    cast.engagement_a.save(update_fields=["scope"])
    response = client_for(cast.vendor_a_user).get(reverse("portal:task", args=[task.pk]))
    assert response.status_code == 302
    with pytest.raises(NotEligible) as stale:
        matter_acknowledge(actor=cast.vendor_a_user, task=task, text_sha256_seen="0" * 64)
    assert stale.value.code == "terms_changed"


def test_an_open_redirect_is_not_followed(cast: Cast) -> None:
    task = working_task(cast)
    user = newcomer(cast)
    digest = text_sha256(acknowledgement_text(task.matter, cast.engagement_a.vendor_id))
    done = client_for(user).post(reverse("portal:acknowledge", args=[task.pk]),
                                 {"accepted": "on", "text_sha256": digest,
                                  "next": "https://evil.example/"})
    assert done["Location"] == reverse("portal:task", args=[task.pk])


def test_the_acknowledgement_page_every_user_of_the_cast(cast: Cast) -> None:
    task = working_task(cast)
    url = reverse("portal:acknowledge", args=[task.pk])
    assert client_for(cast.vendor_a_user).get(url).status_code == 200
    assert client_for(cast.vendor_b_user).get(url).status_code == 404
    for who in ("admin", "staff_on", "staff_off", "screened", "attorney", "attorney2",
                "lapsed_attorney"):
        assert client_for(getattr(cast, who)).get(url).status_code == 404, who
        assert client_for(getattr(cast, who)).post(url, {"accepted": "on"}).status_code == 404
    anonymous = client_for(None).get(url)
    assert anonymous.status_code == 302 and reverse("login") in anonymous["Location"]
    # Firm staff never meet the gate.
    assert client_for(cast.staff_on).get(
        reverse("supervision:task_detail", args=[task.pk])).status_code == 200
    with pytest.raises(NotEligible):
        matter_acknowledge(actor=cast.vendor_b_user, task=task, text_sha256_seen="0" * 64)
