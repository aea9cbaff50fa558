"""Assigning a task to a vendor: every precondition refuses with an error naming what is
missing, and a refused assignment leaves the draft as it was."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from lpo_tracker.audit.models import AuditEvent
from lpo_tracker.clock import firm_today
from lpo_tracker.errors import NotEligible, RuleViolation
from matters.models import ConflictCheckStatus, Engagement, Matter, MatterStatus, Task, TaskStatus
from matters.services import (
    engagement_create,
    engagement_record_conflict_check,
    engagement_record_consent,
    task_assign,
)
from tests import factories as f
from tests.conftest import Cast
from vendors.models import DiligenceKind, DueDiligenceRecord, Vendor, VendorStatus

pytestmark = pytest.mark.django_db

YESTERDAY = dt.timedelta(days=-1)


def _expire(engagement: Engagement, kind: str) -> None:
    """Only an expired record of `kind` is left (dates are fixed once recorded, so the valid
    one goes and an old one stays)."""
    today = firm_today()
    DueDiligenceRecord.objects.filter(vendor=engagement.vendor, kind=kind).delete()
    f.DiligenceFactory.create(vendor=engagement.vendor, kind=kind,
                              valid_from=today - dt.timedelta(days=400),
                              expires_on=today + YESTERDAY)


def suspended_vendor(cast: Cast) -> Engagement:
    engagement = cast.engagement_a
    Vendor.objects.filter(pk=engagement.vendor_id).update(
        status=VendorStatus.SUSPENDED
    )
    return Engagement.objects.get(pk=engagement.pk)


def expired_nda(cast: Cast) -> Engagement:
    _expire(cast.engagement_a, DiligenceKind.NDA)
    return cast.engagement_a


def revoked_nda(cast: Cast) -> Engagement:
    DueDiligenceRecord.objects.filter(
        vendor=cast.engagement_a.vendor, kind=DiligenceKind.NDA
    ).update(revoked_at=timezone.now())
    return cast.engagement_a


def expired_soc2_and_no_iso(cast: Cast) -> Engagement:
    _expire(cast.engagement_a, DiligenceKind.SOC2_TYPE2)
    return cast.engagement_a


def iso_not_yet_valid(cast: Cast) -> Engagement:
    """SOC 2 expired; the ISO certificate only starts next week."""
    _expire(cast.engagement_a, DiligenceKind.SOC2_TYPE2)
    today = firm_today()
    f.DiligenceFactory.create(
        vendor=cast.engagement_a.vendor, kind=DiligenceKind.ISO27001,
        valid_from=today + dt.timedelta(days=7), expires_on=today + dt.timedelta(days=400),
    )
    return cast.engagement_a


def conflict_check_pending(cast: Cast) -> Engagement:
    engagement = engagement_create(actor=cast.staff_on, matter=cast.matter,
                                   vendor=cast.engagement_b.vendor, scope="Overflow")
    return engagement_record_consent(actor=cast.staff_on, engagement=engagement,
                                     given_by="General Counsel",
                                     given_on=firm_today(), scope="Overflow review",
                                     evidence=f.pdf_upload(name="consent.pdf"))


def conflict_flagged(cast: Cast) -> Engagement:
    engagement = conflict_check_pending(cast)
    return engagement_record_conflict_check(
        actor=cast.staff_on, engagement=engagement, result=ConflictCheckStatus.FLAGGED,
        notes="Vendor B's CEO sits on the adverse party's board",
    )


def consent_missing(cast: Cast) -> Engagement:
    engagement = engagement_create(actor=cast.staff_on, matter=cast.matter,
                                   vendor=cast.engagement_b.vendor, scope="Overflow")
    return engagement_record_conflict_check(
        actor=cast.staff_on, engagement=engagement, result=ConflictCheckStatus.CLEARED
    )


def matter_closed(cast: Cast) -> Engagement:
    Matter.objects.filter(pk=cast.matter.pk).update(status=MatterStatus.CLOSED,
                                                    closed_on=firm_today())
    return Engagement.objects.select_related("matter").get(pk=cast.engagement_a.pk)


def matter_on_hold(cast: Cast) -> Engagement:
    Matter.objects.filter(pk=cast.matter.pk).update(status=MatterStatus.ON_HOLD)
    return Engagement.objects.select_related("matter").get(pk=cast.engagement_a.pk)


def engagement_closed(cast: Cast) -> Engagement:
    Engagement.objects.filter(pk=cast.engagement_a.pk).update(status="closed")
    return Engagement.objects.get(pk=cast.engagement_a.pk)


def _today() -> str:
    return f"{firm_today():%d %b %Y}"


# name → (break one precondition, fragments the refusal must contain)
BLOCKED: dict[str, tuple[Callable[[Cast], Engagement], Callable[[Cast], list[str]]]] = {
    "vendor suspended": (suspended_vendor, lambda c: [
        "Ashoka Legal Process is suspended, not approved."]),
    "NDA expired": (expired_nda, lambda c: [
        f"Ashoka Legal Process has no non-disclosure agreement valid on {_today()}."]),
    "NDA revoked": (revoked_nda, lambda c: ["has no non-disclosure agreement valid"]),
    "no valid SOC 2 or ISO 27001": (expired_soc2_and_no_iso, lambda c: [
        "Ashoka Legal Process has no SOC 2 Type II report or ISO/IEC 27001 certificate "
        f"valid on {_today()}."]),
    "ISO 27001 not valid yet": (iso_not_yet_valid, lambda c: [
        "no SOC 2 Type II report or ISO/IEC 27001 certificate"]),
    "conflict check pending": (conflict_check_pending, lambda c: [
        f"The conflict check of Bayanihan Review Partners on {c.matter.number} is not done "
        "yet."]),
    "conflict check flagged": (conflict_flagged, lambda c: [
        f"The conflict check of Bayanihan Review Partners on {c.matter.number} flagged a "
        "conflict."]),
    "client consent missing": (consent_missing, lambda c: [
        f"{c.matter.client} has not consented to outsourcing on {c.matter.number}"]),
    "matter closed": (matter_closed, lambda c: [f"Matter {c.matter.number} is closed."]),
    "matter on hold": (matter_on_hold, lambda c: [f"Matter {c.matter.number} is on hold."]),
    "engagement closed": (engagement_closed, lambda c: [
        f"The engagement of Ashoka Legal Process on {c.matter.number} is closed."]),
}


class _Undo(Exception):
    pass


@contextmanager
def rolled_back() -> Iterator[None]:
    """Run the block in a savepoint and undo it, so each case starts from the same cast."""
    with suppress(_Undo), transaction.atomic():
        yield
        raise _Undo


def test_assignment_is_refused_naming_the_missing_precondition(
    cast: Cast, subtests: pytest.Subtests
) -> None:
    for case, (breaks, fragments) in BLOCKED.items():
        with subtests.test(case), rolled_back():
            engagement = breaks(cast)
            events_before = AuditEvent.objects.order_by("-pk").values_list(
                "pk", flat=True).first() or 0

            with pytest.raises(RuleViolation) as refusal:
                task_assign(actor=cast.staff_on, task=cast.task, engagement=engagement)

            assert refusal.value.code == "assignment_blocked"
            for fragment in fragments(cast):
                assert fragment in refusal.value.message
            task = Task.objects.get(pk=cast.task.pk)
            assert (task.status, task.engagement_id, task.assigned_at) == (
                TaskStatus.DRAFT, None, None)
            # The refusal itself is evidence: one event, naming who tried what and why.
            refusals = AuditEvent.objects.filter(pk__gt=events_before)
            assert list(refusals.values_list("action", "actor_id")) == [
                ("task.assignment_refused", cast.staff_on.pk)]
            assert (refusals.get().after or {})["reason"] == refusal.value.message
    # The undo worked: with every precondition restored, the assignment goes through.
    assert task_assign(actor=cast.staff_on, task=cast.task,
                       engagement=cast.engagement_a).status == TaskStatus.ASSIGNED


def test_assignment_lists_every_missing_precondition_at_once(cast: Cast) -> None:
    _expire(cast.engagement_a, DiligenceKind.NDA)
    _expire(cast.engagement_a, DiligenceKind.SOC2_TYPE2)

    with pytest.raises(RuleViolation) as refusal:
        task_assign(actor=cast.staff_on, task=cast.task, engagement=cast.engagement_a)

    assert "non-disclosure agreement" in refusal.value.message
    assert "SOC 2 Type II report or ISO/IEC 27001" in refusal.value.message


def test_expired_soc2_with_valid_iso27001_passes(cast: Cast) -> None:
    _expire(cast.engagement_a, DiligenceKind.SOC2_TYPE2)
    today = firm_today()
    f.DiligenceFactory.create(
        vendor=cast.engagement_a.vendor, kind=DiligenceKind.ISO27001,
        valid_from=today - dt.timedelta(days=30), expires_on=today + dt.timedelta(days=335),
    )

    task = task_assign(actor=cast.staff_on, task=cast.task, engagement=cast.engagement_a)

    assert (task.status, task.engagement_id) == (TaskStatus.ASSIGNED, cast.engagement_a.pk)


def test_consent_is_not_needed_when_the_matter_does_not_require_it(cast: Cast) -> None:
    Matter.objects.filter(pk=cast.matter.pk).update(
        client_consent_required=False, client_consent_waiver_reason="Client's standing consent")
    engagement = consent_missing(cast)

    task = task_assign(actor=cast.staff_on, task=cast.task,
                       engagement=Engagement.objects.get(pk=engagement.pk))

    assert task.status == TaskStatus.ASSIGNED
    assert task.engagement_id == engagement.pk


def test_assignment_without_a_due_date_is_refused(cast: Cast) -> None:
    task = cast.new_task(sla_due_at=None)

    with pytest.raises(RuleViolation, match="Set the vendor's due date"):
        task_assign(actor=cast.staff_on, task=task, engagement=cast.engagement_a)


def test_assignment_to_an_engagement_on_another_matter_is_refused(cast: Cast) -> None:
    with pytest.raises(RuleViolation, match="not engaged on this task's matter"):
        task_assign(actor=cast.staff_on, task=cast.task, engagement=cast.engagement_b)


def test_assignment_by_staff_off_the_matter_is_refused(cast: Cast) -> None:
    with pytest.raises(NotEligible, match="not allowed to assign tasks"):
        task_assign(actor=cast.staff_off, task=cast.task, engagement=cast.engagement_a)


def test_successful_assignment_is_audited(cast: Cast) -> None:
    moment = dt.datetime(2026, 11, 18, 14, tzinfo=dt.UTC)
    with time_machine.travel(moment, tick=False):
        task = task_assign(actor=cast.staff_on, task=cast.task, engagement=cast.engagement_a)

    assert task.assigned_at == moment
    event = AuditEvent.objects.get(action="task.assigned")
    assert event.actor_id == cast.staff_on.pk
    assert event.before == {"status": "draft", "engagement": None}
    assert event.after == {"status": "assigned", "engagement": cast.engagement_a.pk,
                           "vendor": cast.engagement_a.vendor_id,
                           "vendor_name": cast.engagement_a.vendor.name}


def test_nda_valid_through_its_expiry_day_and_refused_the_day_after(cast: Cast) -> None:
    """An NDA expiring on 30 Nov covers work assigned on 30 Nov, not on 1 Dec: days of the
    firm's calendar (FIRM_TIME_ZONE, New York in the tests), not of UTC."""
    new_york = ZoneInfo("America/New_York")
    expiry = dt.date(2026, 11, 30)
    f.redate_diligence(DueDiligenceRecord.objects.filter(
        vendor=cast.engagement_a.vendor, kind=DiligenceKind.NDA
    ), valid_from=dt.date(2025, 12, 1), expires_on=expiry)
    f.redate_diligence(DueDiligenceRecord.objects.filter(vendor=cast.engagement_a.vendor).exclude(
        kind=DiligenceKind.NDA
    ), valid_from=dt.date(2025, 1, 1), expires_on=dt.date(2027, 12, 31))
    second = cast.new_task(title="Second batch")

    with time_machine.travel(dt.datetime(2026, 11, 30, 23, 59, tzinfo=new_york), tick=False):
        assigned = task_assign(actor=cast.staff_on, task=cast.task,
                               engagement=cast.engagement_a)
    with time_machine.travel(dt.datetime(2026, 12, 1, 0, 1, tzinfo=new_york), tick=False), \
            pytest.raises(RuleViolation) as refusal:
        task_assign(actor=cast.staff_on, task=second, engagement=cast.engagement_a)

    assert assigned.status == TaskStatus.ASSIGNED
    assert "no non-disclosure agreement valid on 01 Dec 2026" in refusal.value.message
    assert Task.objects.get(pk=second.pk).status == TaskStatus.DRAFT
