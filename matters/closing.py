"""Ending an engagement and closing a matter, with the checklist the software checks.

A matter closes only when nothing on it is still running: every task delivered or
cancelled, no review pending, every engagement ended. `matter_close_blockers` is that
checklist, the one the close page shows and the one `matter_close` enforces. A closed
matter takes no new task, engagement or upload (`matters.services.require_matter_open`).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction

from lpo_tracker.audit.services import audit_record
from lpo_tracker.clock import firm_today
from lpo_tracker.errors import InvalidTransition, RuleViolation
from matters.guards import require_matter_perm
from matters.models import (
    AWAITING_REVIEW_STATES,
    OPEN_STATES,
    Engagement,
    EngagementStatus,
    Matter,
    MatterStatus,
    Task,
    TaskStatus,
)
from matters.selectors import CHANGE

# A task is finished once delivered to the client or cancelled; anything else keeps the
# matter open (a draft too: it is work someone meant to send out).
FINISHED_STATES = (TaskStatus.DELIVERED, TaskStatus.CANCELLED)


@dataclass(frozen=True)
class CloseCheck:
    label: str
    open_items: list[str]

    @property
    def done(self) -> bool:
        return not self.open_items


def matter_close_checklist(matter: Matter) -> list[CloseCheck]:
    """The three checks, each with what is still open (three queries)."""
    tasks = list(Task.objects.filter(matter=matter).exclude(status__in=FINISHED_STATES)
                 .order_by("pk").only("pk", "title", "status"))
    engagements = list(Engagement.objects.filter(matter=matter, status=EngagementStatus.ACTIVE)
                       .select_related("vendor").order_by("vendor__name"))
    return [
        CloseCheck("Every task delivered or cancelled", [
            f"Task “{task.title}” is {task.get_status_display().lower()}." for task in tasks
            if task.status not in AWAITING_REVIEW_STATES]),
        CloseCheck("No review pending", [
            f"Task “{task.title}” waits for a supervising attorney's review." for task in tasks
            if task.status in AWAITING_REVIEW_STATES]),
        CloseCheck("Every engagement ended", [
            f"The engagement of {engagement.vendor} is still active."
            for engagement in engagements]),
    ]


def matter_close_blockers(matter: Matter) -> list[str]:
    return [item for check in matter_close_checklist(matter) for item in check.open_items]


@transaction.atomic
def matter_close(*, actor: User, matter: Matter, note: str = "") -> Matter:
    """Close the matter once the checklist is clear; refused with the list otherwise.

    The matter row is locked first, so a task or engagement created at the same moment
    either commits before the check (and blocks the close) or sees the matter closed.
    """
    require_matter_perm(actor, matter, CHANGE, "close the matter")
    locked = Matter.objects.select_for_update().get(pk=matter.pk)
    if locked.status == MatterStatus.CLOSED:
        raise InvalidTransition(f"Matter {locked.number} is already closed.", code="closed")
    blockers = matter_close_blockers(locked)
    if blockers:
        raise RuleViolation(f"Matter {locked.number} cannot close yet: " + " ".join(blockers),
                            code="close_blocked")
    before = {"status": locked.status}
    locked.status = MatterStatus.CLOSED
    locked.closed_on = max(firm_today(), locked.opened_on)
    locked.save(update_fields=["status", "closed_on", "updated_at"])
    audit_record(actor=actor, action="matter.closed", obj=locked, matter_id=locked.pk,
                 before=before, after={"status": locked.status,
                                       "closed_on": locked.closed_on.isoformat(),
                                       "note": note.strip()})
    return locked


@transaction.atomic
def engagement_end(*, actor: User, engagement: Engagement, reason: str) -> Engagement:
    """End a vendor's engagement on the matter: it takes no further work. Refused while any
    of its tasks is still open with the vendor or in review."""
    require_matter_perm(actor, engagement.matter, CHANGE, "end an engagement")
    if not reason.strip():
        raise RuleViolation("Say why the engagement ends.", code="reason_required")
    locked = Engagement.objects.select_for_update().select_related("vendor").get(
        pk=engagement.pk)
    if locked.status != EngagementStatus.ACTIVE:
        raise InvalidTransition(f"The engagement of {locked.vendor} has already ended.",
                                code="closed")
    running = list(Task.objects.filter(engagement=locked, status__in=(*OPEN_STATES,
                                                                      TaskStatus.APPROVED))
                   .values_list("title", flat=True).order_by("pk"))
    if running:
        raise RuleViolation(
            f"{locked.vendor} still has work on this matter: "
            + ", ".join(f"“{title}”" for title in running)
            + ". Deliver or cancel it first.", code="engagement_busy")
    locked.status = EngagementStatus.CLOSED
    locked.save(update_fields=["status"])
    audit_record(actor=actor, action="engagement.ended", obj=locked,
                 matter_id=locked.matter_id, before={"status": EngagementStatus.ACTIVE},
                 after={"status": locked.status, "reason": reason.strip()})
    return locked
