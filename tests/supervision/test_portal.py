"""The vendor portal: the permission matrix (every portal URL × every kind of object id ×
every kind of user: only a vendor user's own vendor's non-draft tasks answer, everything else
is a 404 that looks like a missing id, anonymous users go to the login page), what a task
page shares and what it never shows, uploads with their errors, starting work, the state
filter, declared conflicts, and the list's fixed query count."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse

from matters.models import Party, PartyRole, Task, TaskStatus
from supervision.models import Submission
from supervision.services import latest_submission, review_request_changes
from tests import factories as f
from tests.conftest import Cast
from vendors.models import ConflictDeclaration, VendorUser

pytestmark = pytest.mark.django_db

MISSING = 999_999
INTERNAL_NOTE = "Internal: vendor's reviewer seems junior; watch the privilege calls."
COMMENT = "Tag privilege on items 4-9 and re-run the search terms."


def client_for(user: Any) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@dataclass
class World:
    cast: Cast
    tasks: dict[str, int]  # kind of object → task id
    submissions: dict[str, int]


@pytest.fixture
def world(cast: Cast) -> World:
    """Vendor A: a task in progress and one sent back with comments (and internal notes); a
    draft on the same matter; vendor B: a submitted task on another matter."""
    a_working = cast.advance(cast.task, TaskStatus.IN_PROGRESS)
    a_returned = cast.advance(cast.new_task(title="Privilege log, batch 2"),
                              TaskStatus.IN_REVIEW)
    review_request_changes(actor=cast.attorney, task=a_returned,  # type: ignore[arg-type]
                           submission=latest_submission(a_returned),  # type: ignore[arg-type]
                           comments=COMMENT, internal_notes=INTERNAL_NOTE)
    a_draft = cast.new_task(title="Draft, not yet shared")
    b_task = f.draft_task(actor=cast.staff_off, matter=cast.other_matter,
                          title="Initech 10-K tie-out")
    b_task = f.advance(b_task, TaskStatus.SUBMITTED, staff=cast.staff_off,
                       engagement=cast.engagement_b, vendor_actor=cast.vendor_b_user,
                       attorney_actor=cast.attorney2)
    return World(
        cast=cast,
        tasks={"a_working": a_working.pk, "a_returned": a_returned.pk, "a_draft": a_draft.pk,
               "b_submitted": b_task.pk, "missing": MISSING},
        submissions={"a_version": latest_submission(a_returned).pk,  # type: ignore[union-attr]
                     "b_version": latest_submission(b_task).pk,  # type: ignore[union-attr]
                     "missing": MISSING},
    )


# What each user may reach: (object kind) → visible. Everything else is a 404.
OWN = {
    "vendor_a_user": {"a_working", "a_returned", "a_version"},
    "vendor_b_user": {"b_submitted", "b_version"},
}
FIRM_USERS = ("staff_on", "staff_off", "attorney", "attorney2", "admin", "screened")


def _requests(world: World) -> list[tuple[str, str, str, str]]:
    """(object kind, method, url name, url) for every portal URL and every object id."""
    requests = [("-", "get", "tasks", reverse("portal:tasks")),
                ("-", "get", "conflicts", reverse("portal:conflicts")),
                ("-", "post", "conflicts", reverse("portal:conflicts"))]
    for kind, pk in world.tasks.items():
        for method, name in (("get", "task"), ("post", "task_start"),
                             ("post", "submission_upload")):
            requests.append((kind, method, name, reverse(f"portal:{name}", args=[pk])))
    for kind, pk in world.submissions.items():
        requests.append((kind, "get", "submission_download",
                         reverse("portal:submission_download", args=[pk])))
    return requests


def _visible_status(method: str, name: str) -> set[int]:
    """What a reachable URL may answer: a page, a redirect after a post, or a form error."""
    if name == "submission_upload":
        return {400}  # an empty form: the file is missing
    if name == "conflicts" and method == "post":
        return {400}
    if method == "post":
        return {302}
    return {200}


def test_permission_matrix_every_portal_url_every_object_every_user(world: World) -> None:
    cast = world.cast
    users: dict[str, Any] = {name: getattr(cast, name) for name in (*OWN, *FIRM_USERS)}
    users["anonymous"] = None
    checked = 0
    for who, user in users.items():
        client = client_for(user)
        for kind, method, name, url in _requests(world):
            response: HttpResponse = getattr(client, method)(url)
            checked += 1
            label = (who, kind, method, name, response.status_code)
            if user is None:
                assert response.status_code == 302, label
                assert response["Location"].startswith(reverse("login")), label
            elif who not in OWN:
                assert response.status_code == 404, label
            elif kind == "-" or kind in OWN[who]:
                assert response.status_code in _visible_status(method, name), label
            else:
                assert response.status_code == 404, label
    assert checked == len(users) * (3 + 3 * len(world.tasks) + len(world.submissions))
    # Nothing above changed anyone's work.
    assert Task.objects.get(pk=world.tasks["b_submitted"]).status == TaskStatus.SUBMITTED
    assert Task.objects.get(pk=world.tasks["a_draft"]).status == TaskStatus.DRAFT


def test_an_inactive_vendor_membership_reaches_nothing(world: World) -> None:
    VendorUser.objects.filter(user=world.cast.vendor_a_user).update(is_active=False)
    client = client_for(world.cast.vendor_a_user)
    assert client.get(reverse("portal:tasks")).status_code == 404
    assert client.get(reverse("portal:task", args=[world.tasks["a_working"]])
                      ).status_code == 404


# --- What the vendor sees -------------------------------------------------------------------


def test_the_task_list_shows_only_own_tasks_and_no_matter_details(world: World) -> None:
    cast = world.cast
    response = client_for(cast.vendor_a_user).get(reverse("portal:tasks"))
    page = response.content.decode()
    assert [task.pk for task in response.context["tasks"]] == sorted(
        [world.tasks["a_working"], world.tasks["a_returned"]],
        key=lambda pk: (Task.objects.get(pk=pk).sla_due_at, pk))
    assert cast.matter.number in page
    for secret in ("Initech 10-K tie-out", "Draft, not yet shared", cast.matter.title,
                   cast.matter.client.name, cast.other_matter.number,
                   cast.engagement_a.scope, "Bayanihan"):
        assert secret not in page, secret


def test_the_task_page_shares_the_task_and_the_comments_never_the_internal_notes(
    world: World
) -> None:
    cast = world.cast
    Party.objects.create(client=cast.matter.client, matter=cast.matter, name="Globex Corp",
                         role=PartyRole.ADVERSE)
    task = Task.objects.get(pk=world.tasks["a_returned"])
    task.instructions = "Use the privilege protocol v3."
    task.save(update_fields=["instructions"])
    response = client_for(cast.vendor_a_user).get(reverse("portal:task", args=[task.pk]))
    page = response.content.decode()
    for shared in (task.title, "Use the privilege protocol v3.", cast.matter.number,
                   COMMENT, "Changes requested", "Document review", "Asia/Kolkata"):
        assert shared in page, shared
    for secret in (INTERNAL_NOTE, cast.matter.title, cast.matter.client.name, "Globex Corp",
                   cast.engagement_a.scope, cast.attorney.get_full_name(),
                   "signoff", "attestation"):
        assert secret not in page, secret
    assert all("internal_notes" not in review for review in response.context["comments"])


def test_deadlines_are_shown_in_the_vendors_zone_and_the_matters(world: World) -> None:
    response = client_for(world.cast.vendor_b_user).get(
        reverse("portal:task", args=[world.tasks["b_submitted"]]))
    page = response.content.decode()
    assert 'title="Asia/Manila"' in page
    assert f'title="{world.cast.other_matter.time_zone}"' in page


def test_state_filter(world: World) -> None:
    client = client_for(world.cast.vendor_a_user)

    def listed(state: str) -> list[int]:
        response = client.get(f"{reverse('portal:tasks')}?state={state}")
        return [task.pk for task in response.context["tasks"]]

    assert listed("changes_requested") == [world.tasks["a_returned"]]
    assert listed("in_progress") == [world.tasks["a_working"]]
    assert listed("in_review") == []
    assert listed("draft") == listed("")  # drafts are never a filter: the whole list
    assert len(listed("open")) == 2


def test_the_list_costs_the_same_queries_for_two_tasks_or_twelve(
    world: World, django_assert_num_queries: Callable[..., Any]
) -> None:
    cast = world.cast
    client = client_for(cast.vendor_a_user)

    def fetch() -> int:
        # 1 session, 2 user, 3 vendor membership, 4 its vendor, 5 count, 6 one page of tasks
        # with their matter and latest version, 7-8 the matters awaiting acknowledgement (the
        # engagements' scopes, the acknowledgements), 9 unread notifications.
        with django_assert_num_queries(9):
            response = client.get(reverse("portal:tasks"))
        return len(response.context["tasks"])

    assert fetch() == 2
    for index in range(10):
        cast.advance(cast.new_task(title=f"Batch {index}"), TaskStatus.ASSIGNED)
    assert fetch() == 12


# --- What the vendor does -------------------------------------------------------------------


def test_start_work_then_upload_a_version(world: World) -> None:
    cast = world.cast
    task = cast.advance(cast.new_task(title="Fresh batch"), TaskStatus.ASSIGNED)
    client = client_for(cast.vendor_a_user)
    page = client.get(reverse("portal:task", args=[task.pk])).content.decode()
    assert "Start work" in page and "Upload version" not in page
    started = client.post(reverse("portal:task_start", args=[task.pk]))
    assert started.status_code == 302
    assert Task.objects.get(pk=task.pk).status == TaskStatus.IN_PROGRESS
    uploaded = client.post(reverse("portal:submission_upload", args=[task.pk]),
                           {"file": f.pdf_upload(), "note": "First pass"})
    assert uploaded.status_code == 302
    assert uploaded["Location"] == reverse("portal:task", args=[task.pk])
    submission = Submission.objects.get(task=task)
    assert (submission.version, submission.submitted_by_id, submission.note) == (
        1, cast.vendor_a_user.pk, "First pass")
    assert Task.objects.get(pk=task.pk).status == TaskStatus.SUBMITTED
    download = client.get(reverse("portal:submission_download", args=[submission.pk]))
    assert download.status_code == 200
    assert b"".join(download.streaming_content).startswith(b"%PDF")  # type: ignore[attr-defined]


@pytest.mark.parametrize(("upload", "message"), [
    (SimpleUploadedFile("memo.pdf", b"not really a pdf"), "is not a PDF"),
    (SimpleUploadedFile("memo.exe", b"MZ"), "are not accepted"),
    (SimpleUploadedFile("memo.pdf", b""), "empty"),
])
def test_a_bad_upload_shows_its_error_and_stores_nothing(world: World, upload: Any,
                                                         message: str) -> None:
    task_id = world.tasks["a_working"]
    response = client_for(world.cast.vendor_a_user).post(
        reverse("portal:submission_upload", args=[task_id]), {"file": upload, "note": "x"})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Submission.objects.filter(task_id=task_id).exists()


def test_the_upload_answers_json_for_the_progress_script(world: World) -> None:
    url = reverse("portal:submission_upload", args=[world.tasks["a_working"]])
    client = client_for(world.cast.vendor_a_user)
    bad = client.post(url, {"file": SimpleUploadedFile("x.pdf", b"nope")},
                      headers={"accept": "application/json"})
    assert bad.status_code == 400 and "is not a PDF" in json.loads(bad.content)["errors"][0]
    good = client.post(url, {"file": f.pdf_upload()}, headers={"accept": "application/json"})
    assert json.loads(good.content) == {"redirect": reverse("portal:task",
                                                            args=[world.tasks["a_working"]])}


def test_a_resubmission_after_changes_requested(world: World) -> None:
    task_id = world.tasks["a_returned"]
    response = client_for(world.cast.vendor_a_user).post(
        reverse("portal:submission_upload", args=[task_id]), {"file": f.pdf_upload("v2")})
    assert response.status_code == 302
    assert latest_submission(Task.objects.get(pk=task_id)).version == 2  # type: ignore[union-attr]


def test_vendor_users_declare_conflicts_for_their_own_vendor(world: World) -> None:
    cast = world.cast
    response = client_for(cast.vendor_a_user).post(reverse("portal:conflicts"), {
        "party_name": "Globex Corporation", "relationship": "Former employer",
        "declared_on": "2026-03-01"})
    assert response.status_code == 302
    declaration = ConflictDeclaration.objects.get()
    assert declaration.vendor_id == cast.engagement_a.vendor_id
    assert declaration.declared_by.user_id == cast.vendor_a_user.pk  # type: ignore[union-attr]
    other = client_for(cast.vendor_b_user).get(reverse("portal:conflicts")).content.decode()
    assert "Globex Corporation" not in other
