"""Every way around the sign-off and assignment gates we could think of, each tried once and
refused.

Table-driven: each named attempt prepares a task, tries to approve or deliver it without an
eligible attorney's sign-off of its latest version (or to give it to a vendor the gates do
not let through), and must (1) fail with a clear error and (2) leave every task, sign-off,
review, submission, engagement and due-diligence row exactly as it was.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.contrib.messages import get_messages
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from lpo_tracker.clock import firm_today
from lpo_tracker.errors import InvalidTransition, NotEligible, RuleViolation
from matters.models import (
    ConflictCheckStatus,
    Engagement,
    MatterRole,
    Party,
    PartyRole,
    Task,
    TaskStatus,
)
from matters.services import (
    engagement_consent_revoke,
    engagement_create,
    engagement_record_conflict_check,
    engagement_record_consent,
    matter_member_add,
    task_assign,
    wall_add,
)
from supervision.models import Review, SignOff, Submission
from supervision.services import (
    latest_submission,
    review_start,
    signoff_record,
    submission_create,
    task_deliver,
)
from tests import factories as f
from tests.conftest import Cast
from vendors.models import DiligenceKind, DueDiligenceRecord
from vendors.services import conflict_declaration_add

pytestmark = pytest.mark.django_db

# What the database says when its trigger refuses a task row (supervision migration 0002).
TRIGGER_REFUSAL = "needs a sign-off of its latest version"
# What it says when a status move is not in the state machine (matters migration 0005).
MOVE_REFUSAL = "the task state machine does not allow this move"


@dataclass
class Scene:
    """What an attempt works on: the task under attack and, where needed, its accomplices."""

    task: Task
    engagement: Engagement | None = None
    other_signoff: SignOff | None = None
    old_signoff: SignOff | None = None
    tmp_path: Path | None = None


def snapshot() -> dict[str, Any]:
    """Every row an approval would touch, in a comparable form."""
    return {
        "tasks": sorted(
            Task.objects.values_list(
                "pk", "status", "approved_signoff_id", "approved_at", "delivered_at"
            )
        ),
        "signoffs": sorted(SignOff.objects.values_list("pk", "task_id", "submission_id")),
        "reviews": sorted(
            Review.objects.values_list("pk", "submission_id", "reviewer_id", "decision",
                                       "comments")
        ),
        "submissions": Submission.objects.count(),
        "engagements": sorted(
            Engagement.objects.values_list(
                "pk", "conflict_check_status", "conflict_checked_by_id", "conflict_hits_sha256",
                "consent_revoked_at", "consent_evidence")
        ),
        "diligence": sorted(
            DueDiligenceRecord.objects.values_list(
                "pk", "kind", "valid_from", "expires_on", "evidence", "evidence_sha256",
                "revoked_at")
        ),
    }


# --- Scenes -------------------------------------------------------------------------------


def in_review(cast: Cast, tmp_path: Path) -> Scene:
    return Scene(task=cast.advance(cast.task, TaskStatus.IN_REVIEW), tmp_path=tmp_path)


def in_review_beside_an_approved_task(cast: Cast, tmp_path: Path) -> Scene:
    """The target is in review; another task of the same matter holds a genuine sign-off."""
    other = cast.advance(cast.new_task(title="Privilege log"), TaskStatus.APPROVED)
    assert other.approved_signoff is not None
    return Scene(task=cast.advance(cast.task, TaskStatus.IN_REVIEW),
                 other_signoff=other.approved_signoff, tmp_path=tmp_path)


def approved_then_new_version(cast: Cast, tmp_path: Path) -> Scene:
    """Version 1 is signed off, then the vendor uploads version 2."""
    approved = cast.advance(cast.task, TaskStatus.APPROVED)
    old_signoff = approved.approved_signoff
    submission_create(actor=cast.vendor_a_user, task=approved,
                      upload=f.pdf_upload("second version"))
    task = Task.objects.get(pk=approved.pk)
    assert task.status == TaskStatus.SUBMITTED
    assert task.approved_signoff_id is None
    return Scene(task=task, old_signoff=old_signoff, tmp_path=tmp_path)


def submitted_by_an_attorney_on_the_team(cast: Cast, tmp_path: Path) -> Scene:
    """attorney2 supervises the matter and also joins its team, then uploads the version."""
    matter_member_add(actor=cast.admin, matter=cast.matter, user=cast.attorney2,
                      role=MatterRole.TEAM)
    task = cast.advance(cast.task, TaskStatus.IN_PROGRESS)
    submission_create(actor=cast.reload(cast.attorney2), task=task, upload=f.pdf_upload())
    review_start(actor=cast.attorney, task=task)
    return Scene(task=Task.objects.get(pk=task.pk), tmp_path=tmp_path)


def draft_with_an_expired_soc2(cast: Cast, tmp_path: Path) -> Scene:
    """Vendor A's only security certification expired yesterday, its file still on record."""
    vendor = cast.engagement_a.vendor
    today = firm_today()
    DueDiligenceRecord.objects.filter(vendor=vendor, kind=DiligenceKind.SOC2_TYPE2).delete()
    f.DiligenceFactory.create(vendor=vendor, kind=DiligenceKind.SOC2_TYPE2,
                              valid_from=today - dt.timedelta(days=400),
                              expires_on=today - dt.timedelta(days=1))
    return Scene(task=cast.task, tmp_path=tmp_path)


def draft_with_a_pending_check_that_hits(cast: Cast, tmp_path: Path) -> Scene:
    """A second vendor, consented, whose name is an adverse party's: the check is pending."""
    vendor = f.vetted_vendor(name="Globex Review Services")
    Party.objects.create(client=cast.matter.client, matter=cast.matter,
                         name="Globex Review Services Ltd", role=PartyRole.ADVERSE)
    engagement = engagement_create(actor=cast.staff_on, matter=cast.matter, vendor=vendor,
                                   scope="Overflow")
    engagement_record_consent(actor=cast.staff_on, engagement=engagement, given_by="GC",
                              given_on=firm_today(), scope="Overflow",
                              evidence=f.pdf_upload(name="consent.pdf"))
    return Scene(task=cast.task, engagement=engagement, tmp_path=tmp_path)


def draft_after_a_declaration_since_clearance(cast: Cast, tmp_path: Path) -> Scene:
    conflict_declaration_add(actor=cast.vendor_a_user, vendor=cast.engagement_a.vendor,
                             party_name="Globex", relationship="analyst's former employer")
    return Scene(task=cast.task, tmp_path=tmp_path)


def draft_with_consent_revoked(cast: Cast, tmp_path: Path) -> Scene:
    engagement_consent_revoke(actor=cast.staff_on, engagement=cast.engagement_a,
                              reason="Client's letter withdrawing consent")
    return Scene(task=cast.task, tmp_path=tmp_path)


def draft_for_a_client_keeping_data_in_the_us(cast: Cast, tmp_path: Path) -> Scene:
    client = cast.matter.client
    client.permitted_countries = ["US"]
    client.save(update_fields=["permitted_countries"])
    return Scene(task=cast.task, tmp_path=tmp_path)


def in_review_not_opened(cast: Cast, tmp_path: Path) -> Scene:
    """In review; nobody has opened the version."""
    return Scene(task=cast.advance(cast.task, TaskStatus.IN_REVIEW), tmp_path=tmp_path)


def sign(cast: Cast, scene: Scene, attorney: User) -> None:
    """The attorney opened the version first: the rule under test is the only one broken."""
    signoff_record(actor=attorney, task=scene.task,
                   submission=f.opened(latest_submission(scene.task), attorney),  # type: ignore[arg-type]
                   attestation_accepted=True, confirmation=f.fresh_confirmation())


# --- Attempts -----------------------------------------------------------------------------


def queryset_update_to_approved(cast: Cast, scene: Scene) -> None:
    Task.objects.filter(pk=scene.task.pk).update(status=TaskStatus.APPROVED)


def queryset_update_to_delivered(cast: Cast, scene: Scene) -> None:
    Task.objects.filter(pk=scene.task.pk).update(status=TaskStatus.DELIVERED,
                                                 delivered_at=timezone.now())


def save_with_status_approved_by_hand(cast: Cast, scene: Scene) -> None:
    task = Task.objects.get(pk=scene.task.pk)
    task.status = TaskStatus.APPROVED
    task.save()


def save_approved_with_another_tasks_signoff(cast: Cast, scene: Scene) -> None:
    task = Task.objects.get(pk=scene.task.pk)
    task.status = TaskStatus.APPROVED
    task.approved_signoff = scene.other_signoff
    task.save()


def save_draft_straight_to_delivered(cast: Cast, scene: Scene) -> None:
    draft = Task.objects.get(pk=cast.new_task(title="Never assigned").pk)
    draft.status = TaskStatus.DELIVERED
    draft.save()


def raw_sql_update_to_approved(cast: Cast, scene: Scene) -> None:
    with connection.cursor() as cursor:
        cursor.execute("UPDATE matters_task SET status = 'approved' WHERE id = %s",
                       [scene.task.pk])


def raw_sql_borrows_another_tasks_signoff(cast: Cast, scene: Scene) -> None:
    assert scene.other_signoff is not None
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE matters_task SET status = 'approved', approved_signoff_id = %s "
            "WHERE id = %s",
            [scene.other_signoff.pk, scene.task.pk],
        )


def raw_sql_delivers_with_the_old_versions_signoff(cast: Cast, scene: Scene) -> None:
    assert scene.old_signoff is not None
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE matters_task SET status = 'delivered', approved_signoff_id = %s, "
            "delivered_at = now() WHERE id = %s",
            [scene.old_signoff.pk, scene.task.pk],
        )


def _task_fixture(scene: Scene, pk: int) -> Path:
    """A fixture file holding one approved task with no sign-off."""
    assert scene.tmp_path is not None
    task = scene.task
    now = timezone.now().isoformat()
    rows = [{
        "model": "matters.task",
        "pk": pk,
        "fields": {
            "matter": task.matter_id, "engagement": task.engagement_id,
            "title": "Loaded from a fixture", "task_type": task.task_type,
            "status": "approved", "approved_signoff": None, "created_by": task.created_by_id,
            "created_at": now, "updated_at": now, "approved_at": now,
            "estimated_hours": "0", "actual_hours": "0", "document_count": 0,
        },
    }]
    path = scene.tmp_path / "approved_task.json"
    path.write_text(json.dumps(rows))
    return path


def loaddata_overwrites_task_as_approved(cast: Cast, scene: Scene) -> None:
    call_command("loaddata", str(_task_fixture(scene, scene.task.pk)), verbosity=0)


def loaddata_inserts_an_approved_task(cast: Cast, scene: Scene) -> None:
    call_command("loaddata", str(_task_fixture(scene, scene.task.pk + 1000)), verbosity=0)


def submitter_signs_off_own_version(cast: Cast, scene: Scene) -> None:
    sign(cast, scene, cast.reload(cast.attorney2))


def lapsed_bar_admission_signs_off(cast: Cast, scene: Scene) -> None:
    sign(cast, scene, cast.lapsed_attorney)


def attorney_without_supervise_grant_signs_off(cast: Cast, scene: Scene) -> None:
    sign(cast, scene, f.attorney("outsider"))


def screened_attorney_signs_off(cast: Cast, scene: Scene) -> None:
    walled = f.attorney("walled_partner", jurisdiction="Delaware")
    matter_member_add(actor=cast.admin, matter=cast.matter, user=walled,
                      role=MatterRole.SUPERVISING_ATTORNEY)
    wall_add(actor=cast.admin, matter=cast.matter, user=walled,
             reason="Represented the adverse party in a related deal")
    sign(cast, scene, cast.reload(walled))


def vendor_user_signs_off(cast: Cast, scene: Scene) -> None:
    sign(cast, scene, cast.vendor_a_user)


def staff_without_attorney_profile_signs_off(cast: Cast, scene: Scene) -> None:
    sign(cast, scene, cast.staff_on)


def deliver_after_newer_version(cast: Cast, scene: Scene) -> None:
    task_deliver(actor=cast.staff_on, task=scene.task)


def approve_old_version_after_newer_upload(cast: Cast, scene: Scene) -> None:
    review_start(actor=cast.attorney, task=scene.task)
    old = Submission.objects.get(task=scene.task, version=1)
    signoff_record(actor=cast.attorney2, task=scene.task, submission=old,
                   attestation_accepted=True, confirmation=f.fresh_confirmation())


def assign_to_vendor_a(cast: Cast, scene: Scene) -> None:
    task_assign(actor=cast.staff_on, task=scene.task,
                engagement=Engagement.objects.get(pk=cast.engagement_a.pk))


def admin_pushes_the_expiry_date_and_swaps_the_evidence(cast: Cast, scene: Scene) -> None:
    """The change form has no date or evidence fields; what it posts anyway is ignored, the
    trigger refuses the same change by SQL, and the vendor stays blocked."""
    record = DueDiligenceRecord.objects.get(vendor=cast.engagement_a.vendor,
                                            kind=DiligenceKind.SOC2_TYPE2)
    client = _superuser_client()
    url = reverse("admin:vendors_duediligencerecord_change", args=[record.pk])
    data = {**_change_form_data(client.get(url)), "expires_on": "2099-12-31",
            "evidence_sha256": "e" * 64, "evidence": "diligence/other.pdf"}
    assert client.post(url, data).status_code == 302
    with pytest.raises(IntegrityError, match="fixed once recorded"), transaction.atomic(), \
            connection.cursor() as cursor:
        cursor.execute("UPDATE vendors_duediligencerecord SET expires_on = '2099-12-31' "
                       "WHERE id = %s", [record.pk])
    with pytest.raises(RuleViolation, match="no SOC 2 Type II report"), transaction.atomic():
        assign_to_vendor_a(cast, scene)


def associate_clears_a_check_with_hits(cast: Cast, scene: Scene) -> None:
    assert scene.engagement is not None
    engagement_record_conflict_check(actor=cast.staff_on, engagement=scene.engagement,
                                     result=ConflictCheckStatus.CLEARED,
                                     notes="Same name, different company")


def sign_without_opening(cast: Cast, scene: Scene) -> None:
    signoff_record(actor=cast.attorney, task=scene.task,
                   submission=latest_submission(scene.task),  # type: ignore[arg-type]
                   attestation_accepted=True, confirmation=f.fresh_confirmation())


def _superuser_client() -> Client:
    boss = User.objects.create_superuser("boss", "boss@example.com", f.PASSWORD)
    f.enrol_mfa(boss)  # admin access requires a second factor
    client = Client()
    client.force_login(boss)
    return client


def _change_form_data(response: Any) -> dict[str, Any]:
    """The change form exactly as the admin rendered it, ready to post back."""
    data: dict[str, Any] = {}
    form = response.context["adminform"].form
    for name in form.fields:
        value = form[name].value()
        if value is None or value is False:
            continue
        data[name] = "on" if value is True else value
    for inline in response.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = management[name].value()
    return data


def admin_change_form_posts_status_approved(cast: Cast, scene: Scene) -> None:
    """status and approved_signoff are not form fields: the admin saves the title, ignores
    the rest."""
    assert scene.other_signoff is not None
    client = _superuser_client()
    url = reverse("admin:matters_task_change", args=[scene.task.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert "status" not in page.context["adminform"].form.fields
    data = _change_form_data(page)
    data.update(title="Retitled in the admin", status="approved",
                approved_signoff=str(scene.other_signoff.pk), approved_at=timezone.now())
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    saved = Task.objects.get(pk=scene.task.pk)
    assert saved.title == "Retitled in the admin"
    assert saved.status == TaskStatus.IN_REVIEW


def admin_bulk_action_delivers_unsigned_task(cast: Cast, scene: Scene) -> None:
    client = _superuser_client()
    response = client.post(
        reverse("admin:matters_task_changelist"),
        {"action": "deliver_tasks", "_selected_action": [str(scene.task.pk)]},
    )
    assert response.status_code == 302
    texts = [str(message) for message in get_messages(response.wsgi_request)]
    assert any("cannot be delivered now" in text for text in texts), texts
    assert any("Delivered 0 of 1" in text for text in texts), texts


@dataclass(frozen=True)
class Attempt:
    scene: Callable[[Cast, Path], Scene]
    act: Callable[[Cast, Scene], None]
    # The refusal: exception type and a fragment of its message. None: `act` checks it.
    raises: type[Exception] | None
    message: str = ""


ATTEMPTS: dict[str, Attempt] = {
    "queryset update to approved": Attempt(
        in_review, queryset_update_to_approved, IntegrityError, TRIGGER_REFUSAL),
    "queryset update to delivered": Attempt(
        in_review, queryset_update_to_delivered, IntegrityError, MOVE_REFUSAL),
    "save() with status approved set by hand": Attempt(
        in_review, save_with_status_approved_by_hand, InvalidTransition,
        "Only an eligible attorney's sign-off can approve a task"),
    "save() approved with another task's sign-off": Attempt(
        in_review_beside_an_approved_task, save_approved_with_another_tasks_signoff,
        IntegrityError, TRIGGER_REFUSAL),
    "save() of a draft straight to delivered": Attempt(
        in_review, save_draft_straight_to_delivered, InvalidTransition,
        "cannot move from draft to delivered"),
    "admin change form posting status=approved": Attempt(
        in_review_beside_an_approved_task, admin_change_form_posts_status_approved, None),
    "admin bulk action delivering an unsigned task": Attempt(
        in_review, admin_bulk_action_delivers_unsigned_task, None),
    "raw SQL update to approved": Attempt(
        in_review, raw_sql_update_to_approved, IntegrityError, TRIGGER_REFUSAL),
    "raw SQL pointing at another task's sign-off": Attempt(
        in_review_beside_an_approved_task, raw_sql_borrows_another_tasks_signoff,
        IntegrityError, TRIGGER_REFUSAL),
    "loaddata overwriting a task as approved without sign-off": Attempt(
        in_review, loaddata_overwrites_task_as_approved, IntegrityError, TRIGGER_REFUSAL),
    "loaddata inserting an approved task without sign-off": Attempt(
        in_review, loaddata_inserts_an_approved_task, IntegrityError, TRIGGER_REFUSAL),
    "submitter signs off own version": Attempt(
        submitted_by_an_attorney_on_the_team, submitter_signs_off_own_version, NotEligible,
        "You submitted this version"),
    "attorney with a lapsed bar admission": Attempt(
        in_review, lapsed_bar_admission_signs_off, NotEligible, "no bar admission active"),
    "attorney without supervise_matter on the matter": Attempt(
        in_review, attorney_without_supervise_grant_signs_off, NotEligible,
        "not a supervising attorney"),
    "attorney granted supervise but screened": Attempt(
        in_review, screened_attorney_signs_off, NotEligible, "screened from matter"),
    "vendor user": Attempt(
        in_review, vendor_user_signs_off, NotEligible, "Vendor users cannot sign off"),
    "staff member who is not an attorney": Attempt(
        in_review, staff_without_attorney_profile_signs_off, NotEligible,
        "no attorney profile"),
    "deliver after a newer version was uploaded": Attempt(
        approved_then_new_version, deliver_after_newer_version, InvalidTransition,
        "cannot be delivered now"),
    "approve the old version after a newer upload": Attempt(
        approved_then_new_version, approve_old_version_after_newer_upload, InvalidTransition,
        "Version 1 is no longer the latest"),
    "raw SQL delivering with the old version's sign-off": Attempt(
        approved_then_new_version, raw_sql_delivers_with_the_old_versions_signoff,
        IntegrityError, MOVE_REFUSAL),
    "sign-off without opening the version": Attempt(
        in_review_not_opened, sign_without_opening, NotEligible,
        "You have not opened version 1"),
    "admin edit of a diligence record's dates and evidence": Attempt(
        draft_with_an_expired_soc2, admin_pushes_the_expiry_date_and_swaps_the_evidence, None),
    "conflict clearance despite hits by a matter associate": Attempt(
        draft_with_a_pending_check_that_hits, associate_clears_a_check_with_hits, NotEligible,
        "conflicts team"),
    "assignment on a clearance gone stale after a declaration": Attempt(
        draft_after_a_declaration_since_clearance, assign_to_vendor_a, RuleViolation,
        "was reopened"),
    "assignment after the client revoked its consent": Attempt(
        draft_with_consent_revoked, assign_to_vendor_a, RuleViolation, "revoked its consent"),
    "assignment to a vendor outside the client's permitted countries": Attempt(
        draft_for_a_client_keeping_data_in_the_us, assign_to_vendor_a, RuleViolation,
        "data residency"),
}


@pytest.mark.parametrize("name", list(ATTEMPTS))
def test_bypass_attempt_is_refused_and_changes_nothing(
    cast: Cast, tmp_path: Path, name: str
) -> None:
    attempt = ATTEMPTS[name]
    scene = attempt.scene(cast, tmp_path)
    before = snapshot()

    if attempt.raises is None:
        attempt.act(cast, scene)
    else:
        # The savepoint keeps a refused statement from poisoning the test's transaction.
        with pytest.raises(attempt.raises, match=attempt.message), transaction.atomic():
            attempt.act(cast, scene)

    assert snapshot() == before
