"""The admin: every page loads, changelists cost a fixed number of queries, evidence is
view-only, and the admin is never a way around the task state machine or the audit trail.

Rows are built directly with the ORM (one "world" holds a row of every model), so these
tests do not depend on factories or on the services beyond the ones the actions call.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from axes.models import AccessAttempt
from django.contrib import admin
from django.contrib.auth.models import Group, Permission, User
from django.contrib.messages import get_messages
from django.db import connection
from django.db.models import Model
from django.forms import BaseForm
from django.test import Client as HttpClient
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from lpo_tracker.audit.models import AuditEvent
from lpo_tracker.audit.services import audit_record
from lpo_tracker.fields import Priority, TaskType
from matters.admin import task_label
from matters.models import (
    Client,
    DueDateKind,
    DueSource,
    Engagement,
    EthicalWall,
    Matter,
    MatterGroupObjectPermission,
    MatterMembership,
    MatterRole,
    MatterUserObjectPermission,
    Party,
    PartyRole,
    PracticeArea,
    Task,
    TaskDueDateChange,
    TaskStatus,
    TaskTemplate,
)
from supervision.models import (
    AttorneyProfile,
    BarAdmission,
    CalendarFeed,
    EngagementRating,
    FirmHoliday,
    MatterAcknowledgement,
    Notification,
    NotificationSettings,
    OpenedVia,
    ReminderKind,
    ReminderRecord,
    Review,
    ReviewDecision,
    ReviewQueueVersion,
    SignOff,
    SlaPolicy,
    Submission,
    SubmissionOpening,
    SweepWatermark,
)
from supervision.qc.models import (
    DefectCategory,
    InspectionState,
    InspectionSwitch,
    Lot,
    QcCheck,
    QcPlan,
    QcResult,
    QcSample,
    TaskTypeQc,
)
from supervision.qc.rules import defaults_ensure
from supervision.supervision_file.models import FileStatus, SupervisionFile
from tests.query_counts import fresh_last_seen
from vendors.models import (
    ConflictDeclaration,
    DeliveryCentre,
    DiligenceKind,
    DueDiligenceRecord,
    PerformerRequirement,
    QualificationKind,
    RateCard,
    RateCardLine,
    StaffQualification,
    StaffTraining,
    TrainingTopic,
    Vendor,
    VendorUser,
)

pytestmark = pytest.mark.django_db

SHA256 = "0123456789abcdef" * 4
SLA_DUE = dt.datetime(2026, 3, 2, 17, 0, tzinfo=dt.UTC)
TASK_TYPES = list(TaskType)
PRIORITIES = list(Priority)


# --- One row of every model ---------------------------------------------------------------


def make_user(username: str) -> User:
    # No password hashing: it is slow on purpose and these users never log in.
    user = User(username=username, email=f"{username}@example.com", last_name=username.title())
    user.set_unusable_password()
    user.save()
    return user


def matter_permission(codename: str) -> Permission:
    return Permission.objects.get(content_type__app_label="matters", codename=codename)


@dataclass
class World:
    staff: User
    attorney: User
    matter: Matter
    vendor: Vendor
    engagement: Engagement
    task: Task
    submission: Submission
    signoff: SignOff


def build_world(n: int) -> World:
    """Matter, vendor, engaged task with a signed-off version, and everything around them.

    Every world has its own users, client, vendor and matter, so a changelist of many worlds
    shows as many distinct related rows (which is what makes an N+1 query visible).
    """
    staff = make_user(f"staff{n}")
    attorney = make_user(f"attorney{n}")
    vendor_person = make_user(f"vendor{n}")

    client = Client.objects.create(name=f"Client {n} Holdings", code=f"cl{n}", country="US")
    matter = Matter.objects.create(
        number=f"2026-{n:04d}",
        title=f"Acme v. Initech {n}",
        client=client,
        practice_area=PracticeArea.LITIGATION,
        responsible_attorney=attorney,
        opened_on=dt.date(2026, 1, 5),
    )
    Party.objects.create(client=client, matter=matter, name=f"Initech {n}", role=PartyRole.ADVERSE)
    TaskTemplate.objects.create(name=f"Privilege review {n}", title="Privilege review",
                                task_type="document_review", updated_by=staff)
    MatterMembership.objects.create(
        matter=matter, user=attorney, role=MatterRole.SUPERVISING_ATTORNEY, added_by=staff
    )
    EthicalWall.objects.create(
        matter=matter, user=make_user(f"screened{n}"), reason="Former counsel", created_by=staff
    )
    MatterUserObjectPermission.objects.create(
        permission=matter_permission("supervise_matter"), user=attorney, content_object=matter
    )
    MatterGroupObjectPermission.objects.create(
        permission=matter_permission("view_matter"),
        group=Group.objects.create(name=f"Litigation team {n}"),
        content_object=matter,
    )

    vendor = Vendor.objects.create(
        name=f"Vendor {n} Legal Process", headquarters_country="IN", manager=staff
    )
    DeliveryCentre.objects.create(
        vendor=vendor, city="Pune", country="IN", time_zone="Asia/Kolkata", headcount=40
    )
    vendor_user = VendorUser.objects.create(user=vendor_person, vendor=vendor)
    DueDiligenceRecord.objects.create(
        vendor=vendor,
        kind=DiligenceKind.NDA,
        valid_from=dt.date(2025, 1, 1),
        expires_on=dt.date(2027, 1, 1),
        evidence_name="nda.pdf",
        evidence_sha256=SHA256,
        recorded_by=staff,
    )
    rate_card = RateCard.objects.create(
        vendor=vendor, name="Standard", effective_from=dt.date(2026, 1, 1)
    )
    RateCardLine.objects.create(
        rate_card=rate_card,
        task_type=TaskType.DOCUMENT_REVIEW,
        rate=Decimal("25.00"),
        in_house_rate=Decimal("90.00"),
    )
    ConflictDeclaration.objects.create(
        vendor=vendor, declared_by=vendor_user, party_name="Initech", relationship="client"
    )
    engagement = Engagement.objects.create(
        matter=matter, vendor=vendor, scope="First-level review", rate_card=rate_card
    )

    task = Task.objects.create(
        matter=matter,
        engagement=engagement,
        title=f"Review custodian e-mail {n}",
        task_type=TaskType.DOCUMENT_REVIEW,
        created_by=staff,
        sla_due_at=SLA_DUE,
    )
    TaskDueDateChange.objects.create(
        task=task, kind=DueDateKind.SLA, new_value=SLA_DUE, reason="Initial", changed_by=staff
    )

    profile = AttorneyProfile.objects.create(user=attorney, title="Partner", is_partner=True)
    admission = BarAdmission.objects.create(
        attorney=profile, jurisdiction="New York", number=f"NY{n}", admitted_on=dt.date(2010, 1, 4)
    )
    submission = Submission.objects.create(
        task=task,
        version=1,
        file=f"work-product/{task.pk}/abc",
        original_name="review.pdf",
        content_type="application/pdf",
        size=123_456,
        sha256=SHA256,
        submitted_by=vendor_person,
    )
    SubmissionOpening.objects.create(submission=submission, user=attorney,
                                     via=OpenedVia.INLINE)
    review = Review.objects.create(
        submission=submission,
        reviewer=attorney,
        decision=ReviewDecision.APPROVED,
        decided_at=timezone.now(),
    )
    signoff = SignOff.objects.create(
        task=task,
        submission=submission,
        review=review,
        attorney=attorney,
        bar_admission=admission,
        attestation_text="I reviewed this version.",
        sha256=SHA256,
    )

    SlaPolicy.objects.create(
        name=f"Policy {n}",
        task_type=TASK_TYPES[n % len(TASK_TYPES)],
        priority=PRIORITIES[(n // len(TASK_TYPES)) % len(PRIORITIES)],
        escalation_partner=attorney,
    )
    FirmHoliday.objects.create(country="US", day=dt.date(2026, 1, 1) + dt.timedelta(n), name="Off")
    reminder = ReminderRecord.objects.create(
        kind=ReminderKind.TASK_DUE_SOON,
        object_type="matters.task",
        object_id=task.pk,
        threshold="-24h",
        recipients=[staff.pk],
    )
    Notification.objects.create(
        user=staff, reminder=reminder, kind=reminder.kind, subject="Task due soon"
    )
    NotificationSettings.objects.create(user=staff)
    CalendarFeed.objects.create(user=staff, token_hash=f"{n:064x}")
    TOTP.activate(attorney, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")  # allauth's second-factor row
    AccessAttempt.objects.create(  # a failed sign-in, as django-axes records it
        username=f"mistyped{n}", ip_address="192.0.2.1", user_agent="test", get_data="",
        post_data="", http_accept="text/html", path_info="/accounts/login/",
        failures_since_start=1,
    )
    # Vendor staff credentials, the matter's acknowledgement, the engagement's rating.
    StaffQualification.objects.create(
        member=vendor_user, kind=QualificationKind.LAWYER, jurisdiction="Maharashtra",
        registration_number=f"MAH/{n}/2015", recorded_by=staff, verified_by=staff,
        verified_at=timezone.now())
    StaffTraining.objects.create(
        member=vendor_user, topic=TrainingTopic.CONFIDENTIALITY, completed_on=dt.date(2026, 1, 5),
        expires_on=dt.date(2027, 1, 5), evidence=f"training/{vendor_user.pk}/abc",
        evidence_name="certificate.pdf", evidence_sha256=SHA256, recorded_by=staff)
    PerformerRequirement.objects.get_or_create(
        task_type=TASK_TYPES[n % len(TASK_TYPES)],
        defaults={"qualifications": [QualificationKind.LAWYER]})
    MatterAcknowledgement.objects.create(member=vendor_user, matter=matter,
                                         terms_version="2026-1", text_sha256=SHA256)
    EngagementRating.objects.create(engagement=engagement, rated_by=attorney, quality=4,
                                    timeliness=4, communication=5, value=3)
    # Quality control of the world's lot (supervision.qc), as the services would leave it.
    task.requires_legal_judgment = False
    task.save(update_fields=["requires_legal_judgment"])
    defaults_ensure()
    category = DefectCategory.objects.create(task_type=TaskType.DOCUMENT_REVIEW,
                                             name=f"Coding error {n}")
    lot = Lot.objects.create(submission=submission, item_count=500, manifest_name="ids.csv",
                             manifest_sha256=SHA256, manifest_size=4_000)
    sample = QcSample.objects.create(
        lot=lot, plan_description="Z1.4 single sampling, level II, AQL 2.5 %", method="z14",
        inspection_level="II", aql="2.5", code_letter="H", lot_size=500, sample_size=2,
        accept_number=1, reject_number=2, seed=n, item_ids=["1", "2"], drawn_by=attorney)
    QcCheck.objects.create(sample=sample, item_id="1", defective=True, category=category,
                           severity="minor", vendor_note="Date wrong", checked_by=attorney)
    QcCheck.objects.create(sample=sample, item_id="2", checked_by=attorney)
    result = QcResult.objects.create(sample=sample, submission=submission, accepted=True,
                                     items_checked=2, defects_found=1, minor=1,
                                     decided_by=attorney)
    QcPlan.objects.create(engagement=engagement, task_type=TaskType.DOCUMENT_REVIEW)
    InspectionState.objects.create(vendor=vendor, task_type=TaskType.DOCUMENT_REVIEW,
                                   severity="tightened")
    InspectionSwitch.objects.create(vendor=vendor, task_type=TaskType.DOCUMENT_REVIEW,
                                    from_severity="normal", to_severity="tightened",
                                    reason="2 of the last 5 lots rejected", result=result)
    # Row 1 comes from the migration, but a committing test's flush may have removed it.
    ReviewQueueVersion.objects.get_or_create(pk=1)
    # The sweep's watermark: one row per safety net (supervision/reminders/watermark.py).
    SweepWatermark.objects.get_or_create(name="review_waiting",
                                         defaults={"value": timezone.now()})
    # A supervision file job of the matter (supervision/supervision_file/).
    SupervisionFile.objects.create(matter=matter, requested_by=attorney,
                                   status=FileStatus.FAILED, error="Worker stopped")
    audit_record(actor=staff, action="task.created", obj=task, matter_id=matter.pk)
    return World(staff, attorney, matter, vendor, engagement, task, submission, signoff)


@pytest.fixture
def world() -> World:
    return build_world(1)


# --- Helpers ------------------------------------------------------------------------------


def admin_url(model: type[Model], view: str, *args: Any) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def change_form_data(response: Any) -> dict[str, Any]:
    """The POST a browser would send back for a change form as rendered."""
    forms: list[BaseForm] = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        forms.append(inline.formset.management_form)
        forms.extend(inline.formset.forms)
    data: dict[str, Any] = {}
    for form in forms:
        for bound in form:
            value = bound.value()
            if bound.field.show_hidden_initial:  # fields with a callable default
                data[bound.html_initial_name] = "" if value is None else value
            if value is None or value is False:
                continue
            data[bound.html_name] = "on" if value is True else value
    return data


def action_names(response: Any) -> set[str]:
    action_form = response.context["action_form"]  # None when the changelist has no action
    if action_form is None:
        return set()
    return {name for name, _label in action_form.fields["action"].choices} - {""}


def message_texts(response: Any) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def grant(user: User, matter: Matter, *codenames: str) -> None:
    for codename in codenames:
        MatterUserObjectPermission.objects.create(
            permission=matter_permission(codename), user=user, content_object=matter
        )


# --- Every page loads ---------------------------------------------------------------------


REGISTERED = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


@pytest.mark.parametrize(
    ("model", "model_admin"), REGISTERED, ids=[m._meta.label_lower for m, _ in REGISTERED]
)
def test_every_admin_page_loads_for_a_superuser(
    admin_client: HttpClient,
    admin_user: User,
    world: World,
    model: type[Model],
    model_admin: admin.ModelAdmin,
) -> None:
    request = RequestFactory().get("/")
    request.user = admin_user
    obj = model._default_manager.order_by("pk").first()
    assert obj is not None, f"the world has no {model._meta.label} row"

    assert admin_client.get(admin_url(model, "changelist")).status_code == 200
    assert admin_client.get(admin_url(model, "change", obj.pk)).status_code == 200
    add = admin_client.get(admin_url(model, "add"))
    if model is Matter:  # opening a matter is intake: the admin sends you to its page
        assert (add.status_code, add["Location"]) == (302, reverse("matters:intake"))
    else:
        assert add.status_code == (200 if model_admin.has_add_permission(request) else 403)


def test_every_model_of_the_project_has_an_admin() -> None:
    from django.apps import apps

    ours = {"audit", "vendors", "matters", "supervision"}
    missing = [
        model._meta.label
        for model in apps.get_models()
        if model._meta.app_label in ours and model not in admin.site._registry
    ]
    assert missing == []


def _autocomplete_fields() -> list[tuple[type[Model], str]]:
    pairs = []
    for model, model_admin in REGISTERED:
        pairs += [(model, name) for name in model_admin.autocomplete_fields]
        for inline in model_admin.inlines:
            pairs += [(inline.model, name) for name in inline.autocomplete_fields]
    return pairs


@pytest.mark.parametrize(
    ("model", "field"),
    _autocomplete_fields(),
    ids=[f"{m._meta.label_lower}.{f}" for m, f in _autocomplete_fields()],
)
def test_every_autocomplete_field_searches(
    admin_client: HttpClient, world: World, model: type[Model], field: str
) -> None:
    response = admin_client.get(
        reverse("admin:autocomplete"),
        {
            "app_label": model._meta.app_label,
            "model_name": model._meta.model_name or "",
            "field_name": field,
            "term": "1",
        },
    )
    assert response.status_code == 200
    assert response.json()["results"], f"nothing found for {model._meta.label}.{field}"


# --- Changelists cost a fixed number of queries -------------------------------------------


def _changelist_queries(client: HttpClient) -> dict[str, tuple[int, int]]:
    """(queries, rows) of every registered changelist."""
    measured: dict[str, tuple[int, int]] = {}
    for model, _model_admin in REGISTERED:
        fresh_last_seen(client)  # the session's once-a-minute stamp is not the page's cost
        with CaptureQueriesContext(connection) as queries:
            response = client.get(admin_url(model, "changelist"))
        assert response.status_code == 200, model._meta.label
        measured[model._meta.label] = (len(queries), response.context["cl"].result_count)
    return measured


def test_every_changelist_costs_the_same_queries_for_one_row_and_for_twenty(
    admin_client: HttpClient,
) -> None:
    """Covers Task, Matter, Vendor, AuditEvent and Submission, and every other admin too.

    Each world has its own related rows, so a missing select_related shows up as one more
    query per row. The first pass warms per-process caches (content types, the session).
    """
    covered = (Task, Matter, Vendor, AuditEvent, Submission)
    # Rows from before the worlds: the admin's own MFA enrolment is on the audit trail.
    before = {model: model._default_manager.count() for model in covered}
    build_world(1)
    _changelist_queries(admin_client)
    with_one = _changelist_queries(admin_client)
    for n in range(2, 21):
        build_world(n)
    with_twenty = _changelist_queries(admin_client)

    for model in covered:
        assert with_one[model._meta.label][1] == before[model] + 1
        assert with_twenty[model._meta.label][1] == before[model] + 20
    growing = {
        label: (with_one[label][0], with_twenty[label][0])
        for label in with_one
        if with_one[label][0] != with_twenty[label][0]
    }
    assert growing == {}, "queries for (1 row, 20 rows) per changelist"
    # The page cache's version and the sweep's watermark are one row by design, however
    # many worlds there are.
    singletons = {ReviewQueueVersion._meta.label, SweepWatermark._meta.label}
    # At most one performer requirement per task type.
    per_task_type = {PerformerRequirement._meta.label, TaskTypeQc._meta.label}
    assert all(rows >= 20 for label, (_queries, rows) in with_twenty.items()
               if label not in singletons | per_task_type)
    assert with_twenty[PerformerRequirement._meta.label][1] >= len(TASK_TYPES)
    # One QC setting per task type, by design (supervision.qc.models.TaskTypeQc).
    assert with_twenty[TaskTypeQc._meta.label][1] == len(TaskType.values)
    assert with_twenty[ReviewQueueVersion._meta.label][1] == 1
    assert with_twenty[SweepWatermark._meta.label][1] == 1


# --- Evidence is view-only ----------------------------------------------------------------


EVIDENCE = [
    AuditEvent,
    Submission,
    SignOff,
    Lot,
    QcSample,
    QcCheck,
    QcResult,
    InspectionState,
    InspectionSwitch,
    Review,
    ReminderRecord,
    TaskDueDateChange,
    MatterMembership,
    EthicalWall,
    MatterUserObjectPermission,
    MatterGroupObjectPermission,
    StaffTraining,
    StaffQualification,
    MatterAcknowledgement,
    EngagementRating,
]


@pytest.mark.parametrize("model", EVIDENCE, ids=lambda m: m._meta.label_lower)
def test_evidence_cannot_be_added_changed_or_deleted_in_the_admin(
    admin_client: HttpClient, world: World, model: type[Model]
) -> None:
    obj = model._default_manager.order_by("pk").first()
    assert obj is not None

    assert admin_client.get(admin_url(model, "add")).status_code == 403
    assert admin_client.post(admin_url(model, "add"), {}).status_code == 403
    assert admin_client.post(admin_url(model, "change", obj.pk), {}).status_code == 403
    assert admin_client.post(admin_url(model, "delete", obj.pk), {"post": "yes"}).status_code == (
        403
    )
    assert model._default_manager.filter(pk=obj.pk).exists()


@pytest.mark.parametrize("model", [Task, Submission, SignOff, AuditEvent, Review])
def test_no_bulk_delete_action(admin_client: HttpClient, world: World, model: type[Model]) -> None:
    response = admin_client.get(admin_url(model, "changelist"))
    assert "delete_selected" not in action_names(response)


def test_task_actions_are_the_service_transitions_and_never_approve(
    admin_client: HttpClient, world: World
) -> None:
    response = admin_client.get(admin_url(Task, "changelist"))
    assert action_names(response) == {
        "start_work",
        "cancel_tasks",
        "start_review",
        "deliver_tasks",
    }


# --- Fields that change only through services are not form fields ------------------------


@pytest.mark.parametrize(
    ("model", "field"),
    [
        (Task, "status"),
        (Task, "approved_signoff"),
        (Task, "assigned_at"),
        (Task, "approved_at"),
        (Task, "sla_due_at"),
        (Task, "review_due_at"),
        (Task, "created_by"),
        (Vendor, "status"),
        (Vendor, "status_changed_at"),
        (Engagement, "conflict_check_status"),
        (Engagement, "conflict_checked_by"),
        (Engagement, "consent_given_by"),
        (Engagement, "consent_given_on"),
        (Engagement, "matter"),
        (Engagement, "vendor"),
        (Matter, "responsible_attorney"),
        (Matter, "number"),
        (Matter, "client"),
        (Matter, "status"),
        (Matter, "closed_on"),
        (Matter, "client_consent_required"),
        (Matter, "client_consent_waiver_reason"),
        (Engagement, "status"),
        (DueDiligenceRecord, "evidence_sha256"),
    ],
)
def test_rule_bound_field_is_shown_but_not_editable(
    admin_client: HttpClient, world: World, model: type[Model], field: str
) -> None:
    obj = model._default_manager.order_by("pk").first()
    assert obj is not None
    response = admin_client.get(admin_url(model, "change", obj.pk))

    assert response.status_code == 200
    assert field not in response.context["adminform"].form.fields
    assert f'name="{field}"' not in response.content.decode()


def test_adding_a_matter_in_the_admin_is_the_intake_page(
    admin_client: HttpClient, world: World
) -> None:
    """Opening a matter is intake (`matter_intake`): the admin's add page leads there, and a
    raw POST to it creates nothing."""
    response = admin_client.get(admin_url(Matter, "add"))
    assert (response.status_code, response["Location"]) == (302, reverse("matters:intake"))
    assert admin_client.post(admin_url(Matter, "add"), {
        "number": "2026-0999", "title": "Raw", "client": world.matter.client_id,
        "practice_area": "ip", "time_zone": "UTC", "budget": "0", "currency": "USD",
        "status": "open", "opened_on": "2026-01-05"}).status_code == 302
    assert not Matter.objects.filter(number="2026-0999").exists()
    # Someone who may not open matters is not offered "Add matter" (the intake rule).
    request = RequestFactory().get("/")
    request.user = world.staff
    assert not admin.site._registry[Matter].has_add_permission(request)


def test_a_task_cannot_be_added_to_a_closed_matter_in_the_admin(
    admin_client: HttpClient, world: World
) -> None:
    Matter.objects.filter(pk=world.matter.pk).update(status="closed",
                                                     closed_on=dt.date(2026, 2, 1))
    response = admin_client.post(admin_url(Task, "add"), {
        "matter": world.matter.pk, "title": "Late work", "task_type": TaskType.LEGAL_RESEARCH,
        "priority": Priority.NORMAL, "estimated_hours": "1", "actual_hours": "0",
        "document_count": "0", "sla_due_at_0": "2026-03-09", "sla_due_at_1": "17:00:00",
        "due_date_changes-TOTAL_FORMS": "0", "due_date_changes-INITIAL_FORMS": "0",
        "submissions-TOTAL_FORMS": "0", "submissions-INITIAL_FORMS": "0",
    })

    assert response.status_code == 200  # the form again, with the error
    assert "is closed; it cannot take new tasks" in response.content.decode()
    assert not Task.objects.filter(title="Late work").exists()


def test_engagements_are_not_added_in_the_admin(admin_client: HttpClient, world: World) -> None:
    assert admin_client.get(admin_url(Engagement, "add")).status_code == 403


def test_a_draft_task_can_be_reassigned_in_the_admin_but_a_started_one_cannot(
    admin_client: HttpClient, world: World
) -> None:
    draft = admin_client.get(admin_url(Task, "change", world.task.pk))
    assert "engagement" in draft.context["adminform"].form.fields

    Task.objects.filter(pk=world.task.pk).update(status=TaskStatus.CANCELLED)
    cancelled = admin_client.get(admin_url(Task, "change", world.task.pk))
    assert "engagement" not in cancelled.context["adminform"].form.fields
    assert "matter" not in cancelled.context["adminform"].form.fields


# --- Admin writes: partial, audited -------------------------------------------------------


def test_admin_edit_never_writes_back_a_status_changed_meanwhile(
    admin_client: HttpClient, world: World
) -> None:
    url = admin_url(Task, "change", world.task.pk)
    data = change_form_data(admin_client.get(url))
    # A service moves the task while the admin form is open.
    Task.objects.filter(pk=world.task.pk).update(status=TaskStatus.CANCELLED)

    data["title"] = "Review custodian e-mail (narrowed)"
    response = admin_client.post(url, data)

    assert response.status_code == 302
    world.task.refresh_from_db()
    assert world.task.title == "Review custodian e-mail (narrowed)"
    assert world.task.status == TaskStatus.CANCELLED


def test_admin_change_is_audited_with_before_and_after(
    admin_client: HttpClient, admin_user: User, world: World
) -> None:
    url = admin_url(Matter, "change", world.matter.pk)
    data = change_form_data(admin_client.get(url))
    data["title"] = "Acme v. Initech (consolidated)"

    response = admin_client.post(url, data)

    assert response.status_code == 302
    event = AuditEvent.objects.get(action="admin.change")
    assert event.object_type == "matters.matter"
    assert event.object_id == str(world.matter.pk)
    assert event.matter_id == world.matter.pk
    assert event.actor_id == admin_user.pk
    assert event.before == {"title": "Acme v. Initech 1"}
    assert event.after == {"title": "Acme v. Initech (consolidated)"}


def test_a_task_added_in_the_admin_is_a_draft_created_by_the_admin_user(
    admin_client: HttpClient, admin_user: User, world: World
) -> None:
    response = admin_client.post(
        admin_url(Task, "add"),
        {
            "matter": world.matter.pk,
            "title": "Abstract the supply agreements",
            "task_type": TaskType.CONTRACT_ABSTRACTION,
            "priority": Priority.HIGH,
            "estimated_hours": "12",
            "actual_hours": "0",
            "document_count": "40",
            "sla_due_at_0": "2026-03-09",
            "sla_due_at_1": "17:00:00",
            "due_date_changes-TOTAL_FORMS": "0",
            "due_date_changes-INITIAL_FORMS": "0",
            "submissions-TOTAL_FORMS": "0",
            "submissions-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302
    task = Task.objects.get(title="Abstract the supply agreements")
    assert task.status == TaskStatus.DRAFT
    assert task.created_by == admin_user
    event = AuditEvent.objects.get(action="admin.add")
    assert event.object_id == str(task.pk)
    assert event.matter_id == world.matter.pk
    assert event.after is not None and event.after["status"] == TaskStatus.DRAFT
    # The typed date is the admin user's (matters.deadlines, the new-task page's rule).
    assert (task.sla_due_source, task.sla_due_set_by) == (DueSource.PERSON, admin_user)


def test_a_task_added_in_the_admin_without_a_date_is_due_by_the_policy(
    admin_client: HttpClient, world: World
) -> None:
    response = admin_client.post(
        admin_url(Task, "add"),
        {
            "matter": world.matter.pk,
            "title": "Undated abstraction",
            "task_type": TaskType.CONTRACT_ABSTRACTION,
            "priority": Priority.NORMAL,
            "estimated_hours": "1",
            "actual_hours": "0",
            "document_count": "1",
            "due_date_changes-TOTAL_FORMS": "0",
            "due_date_changes-INITIAL_FORMS": "0",
            "submissions-TOTAL_FORMS": "0",
            "submissions-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    task = Task.objects.get(title="Undated abstraction")
    assert task.sla_due_source == DueSource.POLICY and task.sla_due_at is not None


def test_an_inline_edit_is_audited_row_by_row(admin_client: HttpClient, world: World) -> None:
    url = admin_url(Vendor, "change", world.vendor.pk)
    data = change_form_data(admin_client.get(url))
    data["delivery_centres-0-headcount"] = "55"

    response = admin_client.post(url, data)

    assert response.status_code == 302
    event = AuditEvent.objects.get(action="admin.change")
    assert event.object_type == "vendors.deliverycentre"
    assert (event.before, event.after) == ({"headcount": 40}, {"headcount": 55})


def test_saving_an_unchanged_form_writes_nothing(admin_client: HttpClient, world: World) -> None:
    url = admin_url(Vendor, "change", world.vendor.pk)
    updated_at = world.vendor.updated_at

    response = admin_client.post(url, change_form_data(admin_client.get(url)))

    assert response.status_code == 302
    world.vendor.refresh_from_db()
    assert world.vendor.updated_at == updated_at
    assert not AuditEvent.objects.filter(action__startswith="admin.").exists()


def test_only_a_draft_task_can_be_deleted_and_the_deletion_is_audited(
    admin_client: HttpClient, world: World
) -> None:
    draft = Task.objects.create(
        matter=world.matter,
        title="Spare draft",
        task_type=TaskType.LEGAL_RESEARCH,
        created_by=world.staff,
    )
    response = admin_client.post(admin_url(Task, "delete", draft.pk), {"post": "yes"})

    assert response.status_code == 302
    assert not Task.objects.filter(pk=draft.pk).exists()
    event = AuditEvent.objects.get(action="admin.delete")
    assert event.object_id == str(draft.pk)
    assert event.before is not None and event.before["title"] == "Spare draft"

    Task.objects.filter(pk=world.task.pk).update(status=TaskStatus.CANCELLED)
    assert admin_client.get(admin_url(Task, "delete", world.task.pk)).status_code == 403


# --- Transition actions call the services -------------------------------------------------


def test_cancel_action_cancels_through_the_service_and_reports_each_refusal(
    admin_client: HttpClient, admin_user: User, world: World
) -> None:
    other = build_world(2)
    grant(admin_user, world.matter, "view_matter", "change_matter")  # not on other.matter

    response = admin_client.post(
        admin_url(Task, "changelist"),
        {"action": "cancel_tasks", "_selected_action": [world.task.pk, other.task.pk]},
        follow=True,
    )

    assert response.status_code == 200
    world.task.refresh_from_db()
    other.task.refresh_from_db()
    assert world.task.status == TaskStatus.CANCELLED
    assert world.task.cancel_reason == f"Cancelled from the admin by {admin_user.username}"
    assert other.task.status == TaskStatus.DRAFT
    texts = message_texts(response)
    assert any(text.startswith(f"{task_label(other.task)}: ") for text in texts)
    assert "Cancelled 1 of 2 selected tasks." in texts
    assert AuditEvent.objects.filter(action="task.cancelled", object_id=str(world.task.pk))


@pytest.mark.parametrize("action", ["start_work", "start_review", "deliver_tasks"])
def test_a_transition_the_task_is_not_ready_for_is_refused_with_a_message(
    admin_client: HttpClient, admin_user: User, world: World, action: str
) -> None:
    grant(admin_user, world.matter, "view_matter", "change_matter")

    response = admin_client.post(
        admin_url(Task, "changelist"),
        {"action": action, "_selected_action": [world.task.pk]},
        follow=True,
    )

    assert response.status_code == 200
    world.task.refresh_from_db()
    assert world.task.status == TaskStatus.DRAFT
    texts = message_texts(response)
    assert any(text.startswith(f"{task_label(world.task)}: ") for text in texts)
    assert any(text.endswith("0 of 1 selected task.") for text in texts)
