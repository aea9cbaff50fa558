"""The audit trail: every change that matters is recorded with who, what, before and after;
the database refuses to rewrite it; and a rewrite made behind the database's back is caught by
the hash chain and named by `verify_audit`."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction

from lpo_tracker.audit.chain import GENESIS_HASH, event_hash, event_matter_hash, matter_key
from lpo_tracker.audit.models import AuditEvent
from lpo_tracker.audit.services import audit_verify_chain, chain_keys, event_fields
from lpo_tracker.core.context import RequestContext, request_context
from matters.models import MatterRole, TaskStatus
from matters.selectors import VIEW
from matters.services import (
    matter_member_add,
    permission_grant,
    permission_revoke,
    task_assign,
    wall_add,
    wall_remove,
)
from supervision.models import SignOff, Submission, SubmissionOpening
from supervision.services import submission_open
from tests import factories as f
from tests.conftest import Cast

pytestmark = pytest.mark.django_db


def last_event(action: str) -> AuditEvent:
    return AuditEvent.objects.filter(action=action).latest("id")


@pytest.fixture
def trigger_disabled() -> Iterator[None]:
    """Switch the append-only trigger off, as an attacker with DDL rights could."""
    with connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE audit_auditevent DISABLE TRIGGER audit_auditevent_append_only"
        )
    yield
    with connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE audit_auditevent ENABLE TRIGGER audit_auditevent_append_only"
        )


# --- What gets recorded ---------------------------------------------------------------------


def test_task_state_change_records_actor_object_before_and_after(cast: Cast) -> None:
    context = RequestContext(request_id="req-7f3a", ip_address="203.0.113.9", source="web")
    with request_context(context):
        task = task_assign(actor=cast.staff_on, task=cast.task, engagement=cast.engagement_a)

    event = last_event("task.assigned")
    assert event.actor_id == cast.staff_on.pk
    assert event.actor_label == "staff_on"
    assert (event.object_type, event.object_id) == ("matters.task", str(task.pk))
    assert event.object_repr == task.title
    assert event.matter_id == cast.matter.pk
    assert event.before == {"status": "draft", "engagement": None}
    assert event.after is not None and event.after["status"] == "assigned"
    assert (event.request_id, event.ip_address, event.source) == ("req-7f3a", "203.0.113.9",
                                                                  "web")


def test_grant_and_revoke_are_recorded(cast: Cast) -> None:
    newcomer = f.UserFactory.create(username="newcomer")

    permission_grant(actor=cast.admin, matter=cast.matter, user=newcomer, codename=VIEW)
    granted = last_event("permission.granted")
    permission_revoke(actor=cast.admin, matter=cast.matter, user=newcomer, codename=VIEW)
    revoked = last_event("permission.revoked")

    assert granted.actor_id == cast.admin.pk
    assert (granted.object_type, granted.object_id) == ("matters.matter", str(cast.matter.pk))
    assert granted.after == {"user": newcomer.pk, "username": "newcomer",
                             "permission": VIEW}
    assert revoked.before == {"user": newcomer.pk, "username": "newcomer",
                              "permission": VIEW}
    assert revoked.after is None


def test_membership_grants_are_recorded_one_per_permission(cast: Cast) -> None:
    newcomer = f.UserFactory.create(username="paralegal")
    before = AuditEvent.objects.count()

    matter_member_add(actor=cast.admin, matter=cast.matter, user=newcomer, role=MatterRole.TEAM)

    # One event per permission granted, then the membership itself.
    *granted, added = AuditEvent.objects.filter(pk__gt=0).order_by("id")[before:]
    assert AuditEvent.objects.count() == before + 3
    assert {(e.after or {}).get("permission") for e in granted} == {"view_matter",
                                                                     "change_matter"}
    assert (added.action, (added.after or {}).get("role")) == ("membership.added",
                                                               MatterRole.TEAM)


def test_wall_up_and_down_are_recorded(cast: Cast) -> None:
    wall_add(actor=cast.admin, matter=cast.matter, user=cast.staff_on,
             reason="Joined from the adverse party's firm")
    wall_remove(actor=cast.admin, matter=cast.matter, user=cast.staff_on,
                reason="Screening period over")

    added, removed = last_event("wall.added"), last_event("wall.removed")
    assert added.after == {"user": cast.staff_on.pk, "username": "staff_on",
                           "reason": "Joined from the adverse party's firm"}
    assert removed.before == {"user": cast.staff_on.pk, "username": "staff_on"}
    assert removed.after == {"reason": "Screening period over"}
    assert added.actor_id == removed.actor_id == cast.admin.pk


def test_signoff_and_download_are_recorded(cast: Cast) -> None:
    task = cast.advance(cast.task, TaskStatus.APPROVED)
    signoff = SignOff.objects.get()

    with submission_open(actor=cast.staff_on, submission=signoff.submission) as handle:
        assert handle.read().startswith(b"%PDF-")

    signed = last_event("signoff.recorded")
    assert signed.actor_id == cast.attorney.pk
    assert signed.before == {"status": "in_review"}
    assert signed.after is not None
    assert signed.after["status"] == "approved"
    assert signed.after["signoff"] == signoff.pk
    assert signed.after["sha256"] == signoff.sha256
    downloaded = last_event("submission.downloaded")
    assert downloaded.actor_id == cast.staff_on.pk
    assert (downloaded.object_type, downloaded.object_id) == (
        "supervision.submission", str(signoff.submission_id))
    opening = SubmissionOpening.objects.filter(user=cast.staff_on).get()
    assert downloaded.after == {"task": task.pk, "version": 1, "sha256": signoff.sha256,
                                "via": "download", "opening": opening.pk}


def test_every_task_move_of_a_full_flow_is_in_the_trail(cast: Cast) -> None:
    task = cast.advance(cast.task, TaskStatus.DELIVERED)

    actions = list(AuditEvent.objects.filter(object_type="matters.task", object_id=str(task.pk))
                   .order_by("id").values_list("action", "after__status"))
    assert actions == [
        ("task.created", "draft"), ("task.assigned", "assigned"), ("task.started", "in_progress"),
        ("submission.created", "submitted"), ("review.started", "in_review"),
        ("signoff.recorded", "approved"), ("task.delivered", "delivered"),
    ]


# --- The chain ------------------------------------------------------------------------------


def test_chain_verifies_after_a_full_flow(cast: Cast) -> None:
    cast.advance(cast.task, TaskStatus.DELIVERED)

    report = audit_verify_chain()

    assert report.ok, report
    assert report.checked == AuditEvent.objects.count() > 20
    first = AuditEvent.objects.order_by("id").first()
    assert first is not None and first.prev_hash == GENESIS_HASH


def test_verify_audit_command_reports_ok_and_the_count(cast: Cast) -> None:
    out = io.StringIO()

    call_command("verify_audit", stdout=out)

    assert "OK" in out.getvalue()
    assert str(AuditEvent.objects.count()) in out.getvalue()


# --- The database refuses rewrites ----------------------------------------------------------


def test_orm_update_of_an_audit_event_is_refused(cast: Cast) -> None:
    event = AuditEvent.objects.filter(action="matter.created").order_by("id").first()
    assert event is not None

    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(after={"status": "approved"})
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        event.action = "nothing.happened"
        event.save()

    assert AuditEvent.objects.get(pk=event.pk).action == "matter.created"


def test_orm_delete_of_audit_events_is_refused(cast: Cast) -> None:
    count = AuditEvent.objects.count()

    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(actor_id=cast.admin.pk).delete()
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        AuditEvent.objects.order_by("-id").first().delete()  # type: ignore[union-attr]

    assert AuditEvent.objects.count() == count


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE {table} SET id = id",
        "DELETE FROM {table}",
    ],
    ids=["update", "delete"],
)
@pytest.mark.parametrize(
    "table", ["audit_auditevent", "supervision_submission", "supervision_signoff"]
)
def test_raw_sql_cannot_rewrite_evidence(cast: Cast, statement: str, table: str) -> None:
    cast.advance(cast.task, TaskStatus.APPROVED)
    counts = (AuditEvent.objects.count(), Submission.objects.count(), SignOff.objects.count())
    assert min(counts) > 0

    with pytest.raises(IntegrityError, match=f"rows of {table} are append-only"), \
            transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement.format(table=table))

    assert (AuditEvent.objects.count(), Submission.objects.count(),
            SignOff.objects.count()) == counts


# --- Tampering behind the database's back --------------------------------------------------


def test_tampered_event_is_named_by_the_chain_and_the_command(
    cast: Cast, trigger_disabled: None
) -> None:
    task = task_assign(actor=cast.staff_on, task=cast.task, engagement=cast.engagement_a)
    assigned = last_event("task.assigned")
    cast.advance(task, TaskStatus.IN_PROGRESS)  # events after the tampered one
    with connection.cursor() as cursor:
        cursor.execute(
            """UPDATE audit_auditevent SET after = jsonb_set(after, '{status}', '"approved"')
               WHERE id = %s""",
            [assigned.pk],
        )

    report = audit_verify_chain()

    assert not report.ok
    assert report.first_broken_id == assigned.pk
    assert "does not match its hash" in report.reason
    with pytest.raises(CommandError, match=f"#{assigned.pk}\\b"):
        call_command("verify_audit")


def test_deleted_event_breaks_the_link_of_the_next_one(
    cast: Cast, trigger_disabled: None
) -> None:
    victim = last_event("wall.added")
    successor = AuditEvent.objects.filter(pk__gt=victim.pk).order_by("id").first()
    assert successor is not None
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [victim.pk])

    report = audit_verify_chain()

    assert report.first_broken_id == successor.pk
    assert "link to the previous event is broken" in report.reason
    with pytest.raises(CommandError, match=f"#{successor.pk}\\b"):
        call_command("verify_audit")


def test_rehashing_one_event_still_breaks_the_next_link(
    cast: Cast, trigger_disabled: None
) -> None:
    """Even someone holding the chain key who re-seals the tampered event is caught one
    event later (and, without the key, at the event itself: see tests/core/test_audit_keyed)."""
    victim = last_event("wall.added")
    assert victim.matter_id is not None
    victim.after = {**(victim.after or {}), "reason": "nothing to see"}
    key = chain_keys()[victim.key_id]
    victim.hash = event_hash(event_fields(victim), key)
    victim.matter_hash = event_matter_hash(event_fields(victim), matter_key(key, victim.matter_id))
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET after = %s::jsonb, hash = %s, "
                       "matter_hash = %s WHERE id = %s",
                       [json.dumps(victim.after), victim.hash, victim.matter_hash, victim.pk])
    successor = AuditEvent.objects.filter(pk__gt=victim.pk).order_by("id").first()
    assert successor is not None

    report = audit_verify_chain()

    assert report.first_broken_id == successor.pk
