"""The supervision pages over HTTP: who may open each one (the standard cast), what each
action does through its service, and how refusals come back (form errors, 403, 404)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

import pytest
from django.contrib.auth.models import AbstractBaseUser, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from pytest_django import Settings

from lpo_tracker.audit.models import AuditEvent
from lpo_tracker.clock import firm_today
from matters.models import Task, TaskStatus
from supervision.models import Notification, ReminderKind, Review, SignOff, Submission
from supervision.selectors import review_queue_for
from supervision.services import latest_submission, submission_create
from supervision.views import VENDOR_HOME
from tests import factories as f
from tests.conftest import Cast
from tests.signin.flows import step_up

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as Response

pytestmark = pytest.mark.django_db

# Who may not even see the cast's task: a 404, never a hint that it exists.
CANNOT_SEE = {"staff_off": 404, "screened": 404, "vendor_b_user": 404}


def client_for(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def as_member(cast: Cast, name: str) -> Client:
    return client_for(getattr(cast, name))


def reload(task: Task) -> Task:
    return Task.objects.get(pk=task.pk)


def assert_login_redirect(response: Response) -> None:
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def _get(url: str, client: Client) -> Response:
    return client.get(url)


def assert_statuses(cast: Cast, expected: dict[str, int],
                    send: Callable[[Client], Response]) -> None:
    """Each named member of the cast gets the expected status from `send`."""
    for name, status in expected.items():
        response = send(as_member(cast, name))
        assert response.status_code == status, f"{name} got {response.status_code}"


@pytest.fixture
def submitted(cast: Cast) -> Task:
    return cast.advance(cast.task, TaskStatus.SUBMITTED)


@pytest.fixture
def approved(cast: Cast) -> Task:
    return cast.advance(cast.task, TaskStatus.APPROVED)


def _approve_data(task: Task, **extra: str) -> dict[str, str]:
    submission = latest_submission(task)
    assert submission is not None
    return {"approve-submission": str(submission.pk), **extra}


def _changes_data(task: Task, **extra: str) -> dict[str, str]:
    submission = latest_submission(task)
    assert submission is not None
    return {"changes-submission": str(submission.pk), **extra}


# --- Anonymous: every page sends you to the login -------------------------------------------

ALL_PAGES: list[tuple[str, str, bool]] = [
    # (url name, method, takes the task's pk)
    ("supervision:dashboard", "get", False),
    ("supervision:review_queue", "get", False),
    ("supervision:notifications", "get", False),
    ("supervision:notifications_read_all", "post", False),
    ("supervision:task_detail", "get", True),
    ("supervision:start", "post", True),
    ("supervision:submission_upload", "post", True),
    ("supervision:start_review", "post", True),
    ("supervision:review", "get", True),
    ("supervision:approve", "post", True),
    ("supervision:request_changes", "post", True),
    ("supervision:deliver", "post", True),
]


def test_anonymous_is_sent_to_login_everywhere(cast: Cast, submitted: Task) -> None:
    submission = latest_submission(submitted)
    assert submission is not None
    note = Notification.objects.create(user=cast.attorney, kind=ReminderKind.REVIEW_WAITING,
                                       subject="Review waiting")
    anonymous = Client()
    for name, method, takes_pk in ALL_PAGES:
        url = reverse(name, args=[submitted.pk] if takes_pk else [])
        assert_login_redirect(getattr(anonymous, method)(url))
    for name in ("supervision:submission_download", "supervision:submission_inline"):
        assert_login_redirect(anonymous.get(reverse(name, args=[submission.pk])))
    assert_login_redirect(anonymous.post(reverse("supervision:notification_read",
                                                 args=[note.pk])))
    assert reload_note(note).read_at is None
    assert reload(submitted).status == TaskStatus.SUBMITTED
    assert not AuditEvent.objects.filter(action="submission.downloaded").exists()


def test_actions_refuse_get(cast: Cast, submitted: Task) -> None:
    client = client_for(cast.attorney)
    for name, method, takes_pk in ALL_PAGES:
        if method == "post" and takes_pk:
            assert client.get(reverse(name, args=[submitted.pk])).status_code == 405, name


# --- Dashboard -------------------------------------------------------------------------------


def test_dashboard_shows_the_attorney_reviews_risks_charts_and_notifications(
    cast: Cast, submitted: Task
) -> None:
    at_risk = cast.advance(
        cast.new_task(title="Privilege log", sla_due_at=timezone.now() + dt.timedelta(hours=3)),
        TaskStatus.ASSIGNED,
    )
    Notification.objects.create(user=cast.attorney, kind=ReminderKind.REVIEW_WAITING,
                                subject="Version 1 of Review custodian e-mails is waiting")
    response = client_for(cast.attorney).get(reverse("supervision:dashboard"))
    assert response.status_code == 200
    page = response.content.decode()
    assert reverse("supervision:review", args=[submitted.pk]) in page
    assert at_risk.title in page
    assert cast.matter.number in page
    assert "Version 1 of Review custodian e-mails is waiting" in page
    # Charts: named SVGs, each with a data table alternative.
    assert page.count('role="img"') == 2
    assert '<title id="sla-chart-title">SLA compliance by week</title>' in page
    assert "<caption>SLA compliance by week</caption>" in page
    assert "<caption>Reviews waiting by age</caption>" in page
    board = response.context["board"]
    assert board.reviews_waiting_total == 1
    assert [bucket.count for bucket in board.review_ages] == [1, 0, 0, 0]
    assert (board.sla_weeks[-1].delivered, board.sla_weeks[-1].on_time) == (1, 1)
    assert board.at_risk_total == 1
    assert 'id="unread-badge"' in page


def test_dashboard_shows_emails_that_gave_up_to_the_ops_permission_only(cast: Cast) -> None:
    from django.contrib.auth.models import Permission

    from supervision.models import EmailState

    gave_up = Notification.objects.create(
        user=cast.attorney, kind=ReminderKind.TASK_OVERDUE, subject="Overdue: the gave-up one",
        email_state=EmailState.GAVE_UP, email_attempts=21,
        email_last_error="SMTPRecipientsRefused: mailbox full")
    ops = f.attorney("ops_person")
    ops.user_permissions.add(Permission.objects.get(codename="manage_email_outbox"))
    page = client_for(ops).get(reverse("supervision:dashboard")).content.decode()
    assert "E-mails that gave up" in page and gave_up.subject in page
    assert "?email_state__exact=gave_up" in page
    for user in (cast.attorney, cast.staff_on):  # no permission: no panel
        page = client_for(user).get(reverse("supervision:dashboard")).content.decode()
        assert "E-mails that gave up" not in page


def test_the_admin_rearms_emails_that_gave_up_in_one_action(cast: Cast, admin_client: Client
                                                            ) -> None:
    from supervision.models import EmailState

    rows = [Notification.objects.create(
        user=cast.attorney, kind=ReminderKind.TASK_OVERDUE, subject=f"Overdue {n}",
        email_state=EmailState.GAVE_UP, email_attempts=21) for n in range(2)]
    client = admin_client
    listing = client.get(reverse("admin:supervision_notification_changelist"),
                         {"email_state__exact": "gave_up"})
    assert listing.status_code == 200 and "Overdue 1" in listing.content.decode()
    response = client.post(reverse("admin:supervision_notification_changelist"), {
        "action": "rearm_emails", "_selected_action": [row.pk for row in rows]})
    assert response.status_code == 302
    assert set(Notification.objects.values_list("email_state", "email_attempts")) == {
        (EmailState.PENDING, 0)}
    assert AuditEvent.objects.filter(action="notification.email_rearmed").count() == 2


def test_dashboard_hides_matters_the_user_may_not_see(cast: Cast, submitted: Task) -> None:
    for name in ("staff_off", "screened"):
        response = as_member(cast, name).get(reverse("supervision:dashboard"))
        assert response.status_code == 200
        page = response.content.decode()
        assert submitted.title not in page and cast.matter.number not in page, name
        assert response.context["board"].reviews_waiting_total == 0


def test_dashboard_sends_vendor_users_to_their_own_tasks(cast: Cast, submitted: Task) -> None:
    for name in ("vendor_a_user", "vendor_b_user"):
        response = as_member(cast, name).get(reverse("supervision:dashboard"))
        if response.status_code == 302:  # the vendor portal is installed
            assert response["Location"] == reverse(VENDOR_HOME)
            continue
        assert response.status_code == 200
        assert "supervision/vendor_tasks.html" in [t.name for t in response.templates]
        assert (submitted.title in response.content.decode()) is (name == "vendor_a_user")


# --- Task page -------------------------------------------------------------------------------


def test_task_page_opens_for_those_who_may_see_the_task_only(cast: Cast, submitted: Task) -> None:
    url = reverse("supervision:task_detail", args=[submitted.pk])
    for name in ("staff_on", "attorney", "attorney2", "lapsed_attorney", "vendor_a_user"):
        response = as_member(cast, name).get(url)
        assert response.status_code == 200, name
        assert submitted.title in response.content.decode()
    assert_statuses(cast, CANNOT_SEE, lambda client: client.get(url))


def test_task_page_offers_the_vendor_only_its_own_actions(cast: Cast) -> None:
    task = cast.advance(cast.task, TaskStatus.IN_PROGRESS)
    response = client_for(cast.vendor_a_user).get(
        reverse("supervision:task_detail", args=[task.pk])
    )
    actions = response.context["page"].actions
    assert actions.upload and not (actions.deliver or actions.review or actions.start)
    page = response.content.decode()
    assert reverse("supervision:submission_upload", args=[task.pk]) in page
    assert reverse("supervision:deliver", args=[task.pk]) not in page
    assert "Due-date changes" not in page and "Sign-off" not in page


def test_task_page_offers_the_attorney_review_not_upload(cast: Cast, submitted: Task) -> None:
    response = client_for(cast.attorney).get(
        reverse("supervision:task_detail", args=[submitted.pk])
    )
    page = response.content.decode()
    assert reverse("supervision:start_review", args=[submitted.pk]) in page
    assert reverse("supervision:review", args=[submitted.pk]) + "#approve" in page
    assert reverse("supervision:submission_upload", args=[submitted.pk]) not in page


def test_task_page_shows_versions_deadlines_signoff_and_due_date_history(
    cast: Cast, approved: Task
) -> None:
    from matters.services import task_change_due_date

    task_change_due_date(actor=cast.staff_on, task=approved, kind="sla",
                         new_value=timezone.now() + dt.timedelta(days=9),
                         reason="Client extended the production deadline")
    response = client_for(cast.staff_on).get(
        reverse("supervision:task_detail", args=[approved.pk])
    )
    page = response.content.decode()
    submission = latest_submission(approved)
    assert submission is not None
    assert submission.sha256[:12] in page
    assert reverse("supervision:submission_download", args=[submission.pk]) in page
    signoff = SignOff.objects.get(task=approved)
    assert escape(signoff.attestation_text) in page and signoff.sha256 in page
    assert approved.matter.time_zone in page
    assert "Client extended the production deadline" in page
    assert reverse("supervision:deliver", args=[approved.pk]) in page


# --- Start -----------------------------------------------------------------------------------


def test_vendor_starts_an_assigned_task(cast: Cast) -> None:
    task = cast.advance(cast.task, TaskStatus.ASSIGNED)
    url = reverse("supervision:start", args=[task.pk])
    assert_statuses(cast, {"attorney": 403, **CANNOT_SEE}, lambda client: client.post(url))
    assert reload(task).status == TaskStatus.ASSIGNED
    assert client_for(cast.vendor_a_user).post(url).status_code == 302
    assert reload(task).status == TaskStatus.IN_PROGRESS


def test_team_starts_a_task_and_starting_twice_is_a_message(cast: Cast) -> None:
    task = cast.advance(cast.task, TaskStatus.ASSIGNED)
    client = client_for(cast.staff_on)
    url = reverse("supervision:start", args=[task.pk])
    assert client.post(url).status_code == 302
    assert reload(task).status == TaskStatus.IN_PROGRESS
    again = client.post(url, follow=True)
    assert again.status_code == 200
    assert "cannot be started now" in again.content.decode()


# --- Upload ----------------------------------------------------------------------------------


@pytest.fixture
def in_progress(cast: Cast) -> Task:
    return cast.advance(cast.task, TaskStatus.IN_PROGRESS)


def _upload(client: Client, task: Task, upload: SimpleUploadedFile, note: str = "First cut",
            **headers: str) -> Response:
    return client.post(reverse("supervision:submission_upload", args=[task.pk]),
                       {"file": upload, "note": note}, headers=headers)


def test_vendor_uploads_a_version_and_others_cannot(cast: Cast, in_progress: Task) -> None:
    assert_statuses(cast, {"attorney": 403, **CANNOT_SEE},
                    lambda client: _upload(client, in_progress, f.pdf_upload()))
    assert not Submission.objects.filter(task=in_progress).exists()
    response = _upload(client_for(cast.vendor_a_user), in_progress, f.pdf_upload())
    assert response.status_code == 302
    assert reload(in_progress).status == TaskStatus.SUBMITTED
    assert Submission.objects.get(task=in_progress).note == "First cut"


def test_team_may_upload_too(cast: Cast, in_progress: Task) -> None:
    assert _upload(client_for(cast.staff_on), in_progress, f.pdf_upload()).status_code == 302
    assert Submission.objects.get(task=in_progress).submitted_by_id == cast.staff_on.pk


def test_a_bad_file_re_renders_the_form_with_the_reason_and_keeps_the_note(
    cast: Cast, in_progress: Task, settings: Settings
) -> None:
    settings.MAX_UPLOAD_BYTES = 1024
    client = client_for(cast.vendor_a_user)
    for upload, message in [
        (SimpleUploadedFile("payload.exe", b"MZ\x90\x00"), "are not accepted"),
        (SimpleUploadedFile("empty.pdf", b""), "The file is empty."),
        (SimpleUploadedFile("fake.pdf", b"not a pdf at all"), "is not a PDF"),
        (SimpleUploadedFile("big.pdf", b"%PDF-1.4\n" + b"0" * 2048), "the limit is 1.0"),
        (SimpleUploadedFile("m" * 210 + ".pdf", b"%PDF-1.4\n"), "longer than 200 characters"),
    ]:
        response = _upload(client, in_progress, upload,
                           note="Batch 3 of 5, privilege tags applied")
        assert response.status_code == 400
        page = response.content.decode()
        assert message in page, upload.name
        assert "Batch 3 of 5, privilege tags applied" in page
    assert not Submission.objects.filter(task=in_progress).exists()
    assert reload(in_progress).status == TaskStatus.IN_PROGRESS


def test_upload_script_gets_json_errors_and_a_redirect(cast: Cast, in_progress: Task) -> None:
    client = client_for(cast.vendor_a_user)
    refused = _upload(client, in_progress, SimpleUploadedFile("x.zip", b"PK"),
                      Accept="application/json")
    assert refused.status_code == 400
    assert "are not accepted" in json.loads(refused.content)["errors"][0]
    accepted = _upload(client, in_progress, f.pdf_upload(), Accept="application/json")
    assert accepted.status_code == 200
    assert json.loads(accepted.content) == {
        "redirect": reverse("supervision:task_detail", args=[in_progress.pk])
    }


def test_upload_form_loads_the_progress_script(cast: Cast, in_progress: Task) -> None:
    page = client_for(cast.vendor_a_user).get(
        reverse("supervision:task_detail", args=[in_progress.pk])
    ).content.decode()
    assert "lpo/upload.js" in page and "<progress" in page and "data-max-bytes" in page


# --- Downloads -------------------------------------------------------------------------------


def test_downloads_are_served_to_those_who_see_the_task_and_audited(cast: Cast,
                                                                    submitted: Task) -> None:
    submission = latest_submission(submitted)
    assert submission is not None
    url = reverse("supervision:submission_download", args=[submission.pk])
    for name in ("staff_on", "attorney", "vendor_a_user"):
        user = getattr(cast, name)
        response = client_for(user).get(url)
        assert response.status_code == 200, name
        assert response["Content-Disposition"].startswith("attachment")
        assert response.getvalue().startswith(b"%PDF-")
        event = AuditEvent.objects.filter(action="submission.downloaded").latest("id")
        assert event.actor_id == user.pk
        assert event.after is not None and event.after["sha256"] == submission.sha256
    assert AuditEvent.objects.filter(action="submission.downloaded").count() == 3


def test_downloads_are_404_for_everyone_else_and_not_audited(cast: Cast,
                                                             submitted: Task) -> None:
    submission = latest_submission(submitted)
    assert submission is not None
    for view in ("supervision:submission_download", "supervision:submission_inline"):
        assert_statuses(cast, CANNOT_SEE, partial(_get, reverse(view, args=[submission.pk])))
    assert not AuditEvent.objects.filter(action="submission.downloaded").exists()
    missing = reverse("supervision:submission_download", args=[submission.pk + 1000])
    assert client_for(cast.attorney).get(missing).status_code == 404


def test_inline_pdf_is_sandboxed_and_audited(cast: Cast, submitted: Task) -> None:
    submission = latest_submission(submitted)
    assert submission is not None
    response = client_for(cast.attorney).get(reverse("supervision:submission_inline",
                                                     args=[submission.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("inline")
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Security-Policy"] == "sandbox"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert AuditEvent.objects.filter(action="submission.downloaded",
                                     actor_id=cast.attorney.pk).count() == 1


def test_office_files_have_no_inline_view(cast: Cast, in_progress: Task) -> None:
    submission = submission_create(actor=cast.vendor_a_user, task=in_progress,
                                   upload=f.docx_upload())
    response = client_for(cast.attorney).get(reverse("supervision:submission_inline",
                                                     args=[submission.pk]))
    assert response.status_code == 404


# --- Review queue ----------------------------------------------------------------------------


def queued(response: Any) -> list[int]:
    """The task ids the review queue listed, in order."""
    return [row["pk"] for row in response.context["rows"]]


def test_review_queue_lists_work_for_the_matters_supervisors(cast: Cast,
                                                             submitted: Task) -> None:
    for name in ("attorney", "attorney2", "lapsed_attorney"):
        response = as_member(cast, name).get(reverse("supervision:review_queue"))
        assert response.status_code == 200
        assert queued(response) == [submitted.pk], name
    page = response.content.decode()
    assert 'data-approve-url="' + reverse("supervision:review", args=[submitted.pk]) in page
    assert "lpo/review-queue.js" in page and "<kbd>j</kbd>" in page


def test_review_queue_is_empty_for_others_and_forbidden_to_vendors(cast: Cast,
                                                                   submitted: Task) -> None:
    url = reverse("supervision:review_queue")
    for name in ("staff_on", "staff_off", "screened"):
        response = as_member(cast, name).get(url)
        assert response.status_code == 200
        assert queued(response) == [], name
        assert submitted.title not in response.content.decode()
    assert_statuses(cast, {"vendor_a_user": 404, "vendor_b_user": 404},
                    lambda client: client.get(url))


def test_review_queue_filters_by_matter_vendor_and_type(cast: Cast, submitted: Task) -> None:
    research = cast.advance(cast.new_task(title="Choice-of-law memo", task_type="legal_research"),
                            TaskStatus.SUBMITTED)
    client = client_for(cast.attorney)
    url = reverse("supervision:review_queue")

    def listed(**params: str | int) -> set[int]:
        return set(queued(client.get(url, params)))

    everything = {submitted.pk, research.pk}
    assert listed() == everything
    assert listed(task_type="legal_research") == {research.pk}
    # The matter filter is a search: the start of the number, or words of the title.
    assert listed(matter=cast.matter.number) == everything
    assert listed(matter=cast.matter.number[:4]) == everything
    assert listed(matter=cast.matter.title.split()[-1].upper()) == everything
    assert listed(matter="no such matter") == set()
    # Another matter's number finds nothing: the queue never reaches beyond supervised ones.
    assert listed(matter=cast.other_matter.number) == set()
    assert listed(vendor=cast.engagement_a.vendor_id) == everything
    assert listed(vendor=cast.engagement_b.vendor_id) == everything  # not offered: ignored


def test_review_queue_pages_without_counting(cast: Cast, submitted: Task,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """One row more than the page tells whether there is a next page; no COUNT, no total."""
    from supervision import views

    monkeypatch.setattr(views, "QUEUE_PAGE_SIZE", 2)
    later = [cast.advance(cast.new_task(title=f"Batch {n}"), TaskStatus.SUBMITTED)
             for n in range(2)]
    client = client_for(cast.attorney)
    url = reverse("supervision:review_queue")
    first = client.get(url)
    second = client.get(url, {"page": 2})
    assert queued(first) + queued(second) == [t.pk for t in
                                              review_queue_for(cast.attorney)]
    assert len(queued(first)) == 2 and len(queued(second)) == 1
    assert 'rel="next"' in first.content.decode() and "Tasks 1–2" in first.content.decode()
    assert 'rel="prev"' in second.content.decode() and 'rel="next"' not in second.content.decode()
    assert queued(client.get(url, {"page": 9})) == []
    assert queued(client.get(url, {"page": "x"})) == queued(first)  # not a number: page 1
    assert {submitted.pk, *(t.pk for t in later)} == set(queued(first) + queued(second))


# --- Review page -----------------------------------------------------------------------------


def test_review_page_shows_document_attestation_versions_and_history(cast: Cast,
                                                                     submitted: Task) -> None:
    response = client_for(cast.attorney).get(reverse("supervision:review", args=[submitted.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    submission = latest_submission(submitted)
    assert submission is not None
    inline = reverse("supervision:submission_inline", args=[submission.pk])
    assert f'<iframe class="doc-frame" src="{inline}"' in page
    assert escape(response.context["attestation"]) in page
    assert "I have read and accept the attestation" in page
    assert "submission.created" in page  # the task's audit trail
    assert reverse("supervision:start_review", args=[submitted.pk]) in page


def test_review_page_prints_text_files_escaped(cast: Cast, in_progress: Task) -> None:
    submission_create(actor=cast.vendor_a_user, task=in_progress, upload=SimpleUploadedFile(
        "summary.txt", b"Witness: <script>alert(1)</script>\n"))
    page = client_for(cast.attorney).get(
        reverse("supervision:review", args=[in_progress.pk])).content.decode()
    assert "Witness: &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)</script>" not in page


def test_review_page_is_refused_to_non_supervisors(cast: Cast, submitted: Task) -> None:
    url = reverse("supervision:review", args=[submitted.pk])
    assert_statuses(cast, {"staff_on": 403, "vendor_a_user": 404, **CANNOT_SEE},
                    lambda client: client.get(url))
    assert client_for(cast.attorney2).get(url).status_code == 200


def test_ineligible_attorney_sees_why_instead_of_an_approve_button(cast: Cast,
                                                                   submitted: Task) -> None:
    response = client_for(cast.lapsed_attorney).get(
        reverse("supervision:review", args=[submitted.pk])
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "You cannot sign off this version" in page
    assert "no bar admission active" in page
    assert reverse("supervision:approve", args=[submitted.pk]) not in page
    # Sending work back needs no sign-off licence.
    assert reverse("supervision:request_changes", args=[submitted.pk]) in page


def test_attorney_who_uploaded_the_version_is_told_someone_else_must_sign(
    cast: Cast, in_progress: Task
) -> None:
    from matters.services import matter_member_add

    matter_member_add(actor=cast.admin, matter=cast.matter, user=cast.attorney2, role="team")
    uploader = cast.reload(cast.attorney2)
    submission_create(actor=uploader, task=in_progress, upload=f.pdf_upload())
    page = client_for(uploader).get(
        reverse("supervision:review", args=[in_progress.pk])).content.decode()
    assert "another attorney must sign it off" in page


# --- Start review ----------------------------------------------------------------------------


def test_attorney_starts_a_review_and_others_cannot(cast: Cast, submitted: Task) -> None:
    url = reverse("supervision:start_review", args=[submitted.pk])
    assert_statuses(cast, {"staff_on": 403, "vendor_a_user": 404, **CANNOT_SEE},
                    lambda client: client.post(url))
    assert reload(submitted).status == TaskStatus.SUBMITTED
    response = client_for(cast.attorney).post(url)
    assert response.status_code == 302
    assert response["Location"] == reverse("supervision:review", args=[submitted.pk])
    assert reload(submitted).status == TaskStatus.IN_REVIEW


# --- Approve ---------------------------------------------------------------------------------


def test_attorney_approves_with_the_attestation_and_others_cannot(cast: Cast,
                                                                  submitted: Task) -> None:
    url = reverse("supervision:approve", args=[submitted.pk])
    data = _approve_data(submitted, **{"approve-attestation_accepted": "on"})
    assert_statuses(cast, {"staff_on": 403, "vendor_a_user": 404, **CANNOT_SEE},
                    lambda client: client.post(url, data))
    assert reload(submitted).status == TaskStatus.SUBMITTED
    attorney2 = client_for(cast.attorney2)
    step_up(attorney2, cast.attorney2)  # a fresh second factor first (tests/signin)
    version = latest_submission(submitted)
    assert version is not None
    assert attorney2.get(reverse("supervision:submission_inline", args=[version.pk])
                         ).status_code == 200  # the framed document: the opening
    response = attorney2.post(url, data)
    assert response.status_code == 302
    assert response["Location"] == reverse("supervision:task_detail", args=[submitted.pk])
    task = reload(submitted)
    assert task.status == TaskStatus.APPROVED
    signoff = SignOff.objects.get(task=task)
    assert signoff.attorney_id == cast.attorney2.pk
    assert signoff.sha256 == latest_submission(task).sha256  # type: ignore[union-attr]


def test_approval_needs_the_attestation_ticked(cast: Cast, submitted: Task) -> None:
    f.opened(latest_submission(submitted), cast.attorney)  # type: ignore[arg-type]
    response = client_for(cast.attorney).post(
        reverse("supervision:approve", args=[submitted.pk]), _approve_data(submitted)
    )
    assert response.status_code == 400
    assert "accept the attestation" in response.content.decode()
    assert reload(submitted).status == TaskStatus.SUBMITTED
    assert not SignOff.objects.exists()


def test_ineligible_attorney_approval_shows_reasons_and_changes_nothing(
    cast: Cast, submitted: Task
) -> None:
    before = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    response = client_for(cast.lapsed_attorney).post(
        reverse("supervision:approve", args=[submitted.pk]),
        _approve_data(submitted, **{"approve-attestation_accepted": "on"}),
    )
    assert response.status_code == 403
    page = response.content.decode()
    assert "You cannot sign off this version" in page
    assert "no bar admission active" in page
    assert reload(submitted).status == TaskStatus.SUBMITTED
    assert not SignOff.objects.exists()
    assert not Review.objects.exists()
    # The only new event is the refusal itself (docs/rules.md, "Refused attempts").
    assert list(AuditEvent.objects.filter(pk__gt=before).values_list("action", flat=True)) == [
        "signoff.refused"]


def test_approving_a_superseded_or_foreign_version_is_refused(cast: Cast,
                                                              submitted: Task) -> None:
    url = reverse("supervision:approve", args=[submitted.pk])
    client = client_for(cast.attorney)
    stale = _approve_data(submitted, **{"approve-attestation_accepted": "on"})
    submission_create(actor=cast.vendor_a_user, task=submitted,
                      upload=f.pdf_upload("second cut"))
    response = client.post(url, stale)
    assert response.status_code == 400
    assert "no longer the latest" in response.content.decode()
    other = cast.advance(cast.new_task(title="Second batch"), TaskStatus.SUBMITTED)
    response = client.post(url, _approve_data(other, **{"approve-attestation_accepted": "on"}))
    assert response.status_code == 400
    assert "not part of this task" in response.content.decode()
    assert not SignOff.objects.exists()


# --- Request changes -------------------------------------------------------------------------


def test_request_changes_needs_comments(cast: Cast, submitted: Task) -> None:
    response = client_for(cast.attorney).post(
        reverse("supervision:request_changes", args=[submitted.pk]),
        _changes_data(submitted, **{"changes-comments": "   "}),
    )
    assert response.status_code == 400
    assert "Say what must change" in response.content.decode()
    assert reload(submitted).status == TaskStatus.SUBMITTED
    assert not Review.objects.exists()


def test_supervisor_requests_changes_and_others_cannot(cast: Cast, submitted: Task) -> None:
    url = reverse("supervision:request_changes", args=[submitted.pk])
    data = _changes_data(submitted, **{"changes-comments": "Tag privilege on items 4-9."})
    assert_statuses(cast, {"staff_on": 403, "vendor_a_user": 404, **CANNOT_SEE},
                    lambda client: client.post(url, data))
    assert reload(submitted).status == TaskStatus.SUBMITTED
    # A lapsed licence stops a sign-off, not a request for changes.
    response = client_for(cast.lapsed_attorney).post(url, data)
    assert response.status_code == 302
    assert response["Location"] == reverse("supervision:review_queue")
    assert reload(submitted).status == TaskStatus.CHANGES_REQUESTED


def test_vendor_sees_review_comments_but_never_internal_notes(cast: Cast,
                                                              submitted: Task) -> None:
    client_for(cast.attorney).post(
        reverse("supervision:request_changes", args=[submitted.pk]),
        _changes_data(submitted, **{"changes-comments": "Tag privilege on items 4-9.",
                                    "changes-internal_notes": "Second slip this month."}),
    )
    url = reverse("supervision:task_detail", args=[submitted.pk])
    vendor_page = client_for(cast.vendor_a_user).get(url).content.decode()
    assert "Tag privilege on items 4-9." in vendor_page
    assert "Second slip this month." not in vendor_page
    firm_page = client_for(cast.staff_on).get(url).content.decode()
    assert "Second slip this month." in firm_page


# --- Deliver ---------------------------------------------------------------------------------


def test_team_delivers_approved_work_and_others_cannot(cast: Cast, approved: Task) -> None:
    url = reverse("supervision:deliver", args=[approved.pk])
    assert_statuses(cast, {"vendor_a_user": 404, **CANNOT_SEE},
                    lambda client: client.post(url))
    assert reload(approved).status == TaskStatus.APPROVED
    response = client_for(cast.staff_on).post(url, {"note": "Sent to the GC"})
    assert response.status_code == 302
    assert reload(approved).status == TaskStatus.DELIVERED


def test_supervising_attorney_may_deliver(cast: Cast, approved: Task) -> None:
    client_for(cast.attorney).post(reverse("supervision:deliver", args=[approved.pk]))
    assert reload(approved).status == TaskStatus.DELIVERED


def test_delivering_unapproved_work_is_a_message(cast: Cast, submitted: Task) -> None:
    response = client_for(cast.staff_on).post(
        reverse("supervision:deliver", args=[submitted.pk]), follow=True
    )
    assert response.status_code == 200
    assert "cannot be delivered now" in response.content.decode()
    assert reload(submitted).status == TaskStatus.SUBMITTED


# --- Notifications ---------------------------------------------------------------------------


def reload_note(note: Notification) -> Notification:
    return Notification.objects.get(pk=note.pk)


def note_for(user: AbstractBaseUser, subject: str, **fields: Any) -> Notification:
    return Notification.objects.create(user_id=user.pk, kind=ReminderKind.REVIEW_WAITING,
                                       subject=subject, **fields)


def test_notifications_list_unread_first_and_only_ones_own(cast: Cast) -> None:
    note_for(cast.attorney, "Fresh and unread")
    note_for(cast.attorney, "Old and read", read_at=timezone.now())
    note_for(cast.attorney2, "Someone else's")
    response = client_for(cast.attorney).get(reverse("supervision:notifications"))
    assert response.status_code == 200
    subjects = [note.subject for note in response.context["page_obj"].object_list]
    assert subjects == ["Fresh and unread", "Old and read"]
    assert response.context["UNREAD_COUNT"] == 1


def test_mark_one_read_and_follow_it_on_site_only(cast: Cast) -> None:
    client = client_for(cast.attorney)
    note = note_for(cast.attorney, "Review waiting", url="/review/")
    response = client.post(reverse("supervision:notification_read", args=[note.pk]),
                           {"open": "1"})
    assert response.status_code == 302 and response["Location"] == "/review/"
    assert reload_note(note).read_at is not None
    phish = note_for(cast.attorney, "Phish", url="https://evil.example/")
    response = client.post(reverse("supervision:notification_read", args=[phish.pk]),
                           {"open": "1"})
    assert response["Location"] == reverse("supervision:notifications")


def test_someone_elses_notification_is_404(cast: Cast) -> None:
    note = note_for(cast.attorney2, "Not yours")
    response = client_for(cast.attorney).post(
        reverse("supervision:notification_read", args=[note.pk])
    )
    assert response.status_code == 404
    assert reload_note(note).read_at is None


def test_mark_all_read_touches_only_ones_own(cast: Cast) -> None:
    mine = [note_for(cast.attorney, f"Mine {n}") for n in range(3)]
    theirs = note_for(cast.attorney2, "Theirs")
    response = client_for(cast.attorney).post(reverse("supervision:notifications_read_all"))
    assert response.status_code == 302
    assert all(reload_note(note).read_at is not None for note in mine)
    assert reload_note(theirs).read_at is None


def test_header_badge_counts_unread(cast: Cast) -> None:
    note_for(cast.vendor_a_user, "Task due soon")
    note_for(cast.vendor_a_user, "Task overdue")
    response = client_for(cast.vendor_a_user).get(reverse("supervision:notifications"))
    assert response.context["UNREAD_COUNT"] == 2
    assert 'id="unread-badge"' in response.content.decode()


def test_dashboard_flags_open_tasks_of_a_vendor_whose_diligence_lapsed(cast, client):
    import datetime as dt

    from matters.models import TaskStatus
    from vendors.models import DiligenceKind, DueDiligenceRecord

    task = cast.advance(cast.task, TaskStatus.IN_PROGRESS)
    f.redate_diligence(DueDiligenceRecord.objects.filter(
        vendor=cast.engagement_a.vendor, kind=DiligenceKind.SOC2_TYPE2
    ), expires_on=firm_today() - dt.timedelta(days=1))
    client.force_login(cast.staff_on)

    response = client.get("/")

    assert response.status_code == 200
    assert task in response.context["board"].lapsed_vendor_tasks
    assert b"due diligence has lapsed" in response.content


def test_no_template_syntax_leaks_into_the_main_pages(cast):
    """A multi-line {# … #} comment renders as text; no page may show template syntax."""
    from matters.models import TaskStatus

    task = cast.advance(cast.task, TaskStatus.SUBMITTED)
    client = client_for(cast.attorney)
    for url in ("/", "/review/", "/matters/", f"/tasks/{task.pk}/", f"/tasks/{task.pk}/review/",
                f"/matters/{cast.matter.pk}/", "/notifications/"):
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.content.decode()
        assert "{#" not in body and "{%" not in body and "{{" not in body, url
