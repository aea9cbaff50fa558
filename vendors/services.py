"""Writes and rules about vendors: lifecycle and the due diligence that gates new work."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from lpo_tracker.audit.services import audit_record
from lpo_tracker.errors import InvalidTransition, RuleViolation
from vendors.models import (
    SECURITY_CERTIFICATIONS,
    DiligenceKind,
    DueDiligenceRecord,
    Vendor,
    VendorStatus,
)

V = VendorStatus
VENDOR_TRANSITIONS: frozenset[tuple[str, str]] = frozenset(
    {
        (V.PROSPECTIVE, V.UNDER_REVIEW),
        (V.UNDER_REVIEW, V.APPROVED),
        (V.UNDER_REVIEW, V.PROSPECTIVE),
        (V.APPROVED, V.SUSPENDED),
        (V.SUSPENDED, V.APPROVED),
        (V.SUSPENDED, V.UNDER_REVIEW),
    }
    | {(state, V.OFFBOARDED) for state in (V.PROSPECTIVE, V.UNDER_REVIEW, V.APPROVED, V.SUSPENDED)}
)


def vendor_assignment_blockers(vendor: Vendor, *, day: dt.date) -> list[str]:
    """Why `vendor` may not receive new work on `day`; empty when it may.

    1. The vendor is approved.
    2. An NDA is valid on that day.
    3. A security certification (SOC 2 Type II or ISO/IEC 27001) is valid on that day.
    """
    blockers: list[str] = []
    if vendor.status != VendorStatus.APPROVED:
        blockers.append(f"{vendor} is {vendor.get_status_display().lower()}, not approved.")
    valid_kinds = set(
        DueDiligenceRecord.objects.filter(vendor=vendor)
        .valid_on(day)
        .values_list("kind", flat=True)
    )
    if DiligenceKind.NDA not in valid_kinds:
        blockers.append(f"{vendor} has no non-disclosure agreement valid on {day:%d %b %Y}.")
    if not valid_kinds.intersection(SECURITY_CERTIFICATIONS):
        blockers.append(
            f"{vendor} has no SOC 2 Type II report or ISO/IEC 27001 certificate valid on "
            f"{day:%d %b %Y}."
        )
    return blockers


@transaction.atomic
def vendor_set_status(
    *, actor: User, vendor: Vendor, status: str, reason: str
) -> Vendor:
    """Move a vendor through its lifecycle; every change needs a reason and is audited."""
    if not reason.strip():
        raise RuleViolation("Give a reason for the change of status.", code="reason_required")
    locked = Vendor.objects.select_for_update().get(pk=vendor.pk)
    if (locked.status, status) not in VENDOR_TRANSITIONS:
        raise InvalidTransition(
            f"A vendor cannot move from {locked.get_status_display()} to "
            f"{VendorStatus(status).label}.",
            code="vendor_illegal_move",
        )
    before = {"status": locked.status}
    locked.status = status
    locked.status_reason = reason.strip()
    locked.status_changed_at = timezone.now()
    locked.save(update_fields=["status", "status_reason", "status_changed_at", "updated_at"])
    audit_record(
        actor=actor,
        action="vendor.status_changed",
        obj=locked,
        before=before,
        after={"status": status, "reason": locked.status_reason},
    )
    return locked
