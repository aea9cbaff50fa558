"""Writes and rules about vendors: lifecycle and the due diligence that gates new work."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import IO, Any

from django.contrib.auth.models import User
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from lpo_tracker.audit.services import audit_record
from lpo_tracker.clock import firm_today
from lpo_tracker.errors import InvalidTransition, NotEligible, RuleViolation, validated
from lpo_tracker.uploads import upload_accept
from vendors.models import (
    VENDOR_TRANSITIONS,
    ConflictDeclaration,
    DiligenceKind,
    DueDiligenceRecord,
    RateCard,
    RateCardLine,
    Vendor,
    VendorStatus,
    VendorUser,
)
from vendors.selectors import (
    ADD_VENDORS,
    CHANGE_VENDORS,
    VIEW_VENDORS,
    AnyUser,
    is_vendor_user,
    may_manage_vendors,
    required_records_valid,
    vendor_of,
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
    valid = Vendor.objects.filter(pk=vendor.pk).annotate(**required_records_valid(day)).get()
    if not valid.nda_valid:  # type: ignore[attr-defined]
        blockers.append(f"{vendor} has no non-disclosure agreement valid on {day:%d %b %Y}.")
    if not valid.certification_valid:  # type: ignore[attr-defined]
        blockers.append(
            f"{vendor} has no SOC 2 Type II report or ISO/IEC 27001 certificate valid on "
            f"{day:%d %b %Y}."
        )
    return blockers


def vendor_data_countries(vendor: Vendor) -> set[str]:
    """Every country where the vendor's staff may handle client data: its delivery centres
    and the countries declared on the vendor (ISO codes, upper case). One query."""
    centres = vendor.delivery_centres.values_list("country", flat=True)
    declared = [code for code in vendor.countries or [] if isinstance(code, str)]
    return {code.strip().upper() for code in (*centres, *declared) if code.strip()}


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


def _require_manager(actor: AnyUser, doing: str, perm: str = CHANGE_VENDORS) -> None:
    if not may_manage_vendors(actor, perm):
        raise NotEligible(f"Only the firm's vendor managers may {doing}.", code="forbidden")


# --- Vendors --------------------------------------------------------------------------------


@transaction.atomic
def vendor_create(
    *, actor: User, name: str, headquarters_country: str, **fields: Any
) -> Vendor:
    """A new provider starts as prospective; due diligence and approval follow."""
    _require_manager(actor, "add vendors", ADD_VENDORS)
    vendor = Vendor(
        name=name.strip(),
        headquarters_country=headquarters_country.strip().upper(),
        status=VendorStatus.PROSPECTIVE,
        **fields,
    )
    validated(vendor)
    vendor.save()
    audit_record(
        actor=actor,
        action="vendor.created",
        obj=vendor,
        after={"name": vendor.name, "status": vendor.status,
               "headquarters_country": vendor.headquarters_country},
    )
    return vendor


# --- Due diligence --------------------------------------------------------------------------


def diligence_record_add(
    *,
    actor: User,
    vendor: Vendor,
    kind: str,
    valid_from: dt.date,
    expires_on: dt.date,
    evidence: UploadedFile | None,
    reference: str = "",
    issuer: str = "",
    coverage_amount: Decimal | None = None,
    notes: str = "",
) -> DueDiligenceRecord:
    """Record a due-diligence document with its evidence (ABA Formal Opinion 08-451).

    1. Only a firm vendor manager records diligence.
    2. Check the evidence file (name, size, type, content, malware scan: an infected file is
       refused and the attempt audited) and the record (dates in order, insurance with its
       coverage) before anything is written. A renewal is a new record
       with its own evidence: a file already on record for this vendor and kind is refused.
    3. Store the file under a random path with its SHA-256; audit in the same transaction.
       A failed step removes the stored bytes, so nothing is left half-recorded.
    """
    _require_manager(actor, "record due diligence")
    if evidence is None:
        raise RuleViolation("Attach the signed document or certificate as evidence.",
                            code="evidence_required")
    checked = upload_accept(actor=actor, upload=evidence, about=vendor)
    if kind == DiligenceKind.INSURANCE and coverage_amount is None:
        raise RuleViolation("Give the insurance policy's coverage amount.",
                            code="coverage_required")
    if DueDiligenceRecord.objects.filter(vendor=vendor, kind=kind,
                                         evidence_sha256=checked.sha256).exists():
        raise RuleViolation(
            "This file is already the evidence of an earlier record of this kind; a renewal "
            "needs the renewed document.", code="evidence_reused")
    record = DueDiligenceRecord(
        vendor=vendor, kind=kind, valid_from=valid_from, expires_on=expires_on,
        reference=reference.strip(), issuer=issuer.strip(), coverage_amount=coverage_amount,
        notes=notes.strip(), recorded_by=actor, recorded_at=timezone.now(),
        evidence_name=checked.name, evidence_sha256=checked.sha256,
    )
    validated(record, exclude=["evidence"])
    try:
        with transaction.atomic():
            record.evidence.save(checked.name, evidence, save=False)
            record.save(force_insert=True)
            audit_record(
                actor=actor,
                action="diligence.recorded",
                obj=record,
                after={"vendor": vendor.pk, "kind": kind, "reference": record.reference,
                       "valid_from": valid_from, "expires_on": expires_on,
                       "evidence_name": checked.name, "evidence_sha256": checked.sha256,
                       "evidence_size": checked.size},
            )
    except BaseException:
        if record.evidence.name:
            record.evidence.storage.delete(record.evidence.name)
        raise
    return record


@transaction.atomic
def diligence_record_revoke(
    *, actor: User, record: DueDiligenceRecord, reason: str
) -> DueDiligenceRecord:
    """Withdraw a record (a certificate suspended, an agreement terminated): from now on it
    counts for nothing, so a vendor relying on it is blocked from new work at once."""
    _require_manager(actor, "revoke due diligence")
    if not reason.strip():
        raise RuleViolation("Say why the record is revoked.", code="reason_required")
    locked = DueDiligenceRecord.objects.select_for_update().get(pk=record.pk)
    if locked.revoked_at is not None:
        raise InvalidTransition("This record is already revoked.", code="already_revoked")
    locked.revoked_at = timezone.now()
    locked.save(update_fields=["revoked_at"])
    audit_record(
        actor=actor,
        action="diligence.revoked",
        obj=locked,
        before={"revoked_at": None},
        after={"revoked_at": locked.revoked_at, "reason": reason.strip()},
    )
    return locked


@transaction.atomic
def diligence_evidence_open(*, actor: User, record: DueDiligenceRecord) -> IO[bytes]:
    """Open a record's evidence for a firm user who may view vendors; audited."""
    _require_manager(actor, "read due-diligence evidence", VIEW_VENDORS)
    if not record.evidence:
        raise RuleViolation("This record has no evidence file.", code="no_evidence")
    handle = record.evidence.open("rb")
    audit_record(
        actor=actor,
        action="diligence.evidence_downloaded",
        obj=record,
        after={"vendor": record.vendor_id, "evidence_sha256": record.evidence_sha256},
    )
    return handle


# --- Conflicts the vendor's staff declare ---------------------------------------------------


@transaction.atomic
def conflict_declaration_add(
    *,
    actor: User,
    vendor: Vendor,
    party_name: str,
    relationship: str,
    declared_by: VendorUser | None = None,
    declared_on: dt.date | None = None,
) -> ConflictDeclaration:
    """A party the vendor or one of its people has a relationship with; every conflict search
    on a matter engaging this vendor compares the matter's parties with it.

    A vendor user declares for themselves and their own vendor only; a firm vendor manager
    records a declaration on the vendor's behalf (optionally naming the staff member).
    """
    if is_vendor_user(actor):
        own = vendor_of(actor)
        if own is None or own.vendor_id != vendor.pk:
            raise NotEligible("You may declare conflicts for your own organisation only.",
                              code="forbidden")
        declared_by = own
    else:
        _require_manager(actor, "record conflict declarations")
        if declared_by is not None and declared_by.vendor_id != vendor.pk:
            raise RuleViolation("That person does not work for this vendor.", code="invalid")
    if not party_name.strip() or not relationship.strip():
        raise RuleViolation("Name the party and the relationship.", code="invalid")
    declaration = ConflictDeclaration(
        vendor=vendor, declared_by=declared_by, party_name=party_name.strip(),
        relationship=relationship.strip(), declared_on=declared_on or firm_today(),
    )
    validated(declaration)
    declaration.save()
    audit_record(
        actor=actor,
        action="vendor.conflict_declared",
        obj=declaration,
        after={"vendor": vendor.pk, "party_name": declaration.party_name,
               "relationship": declaration.relationship,
               "declared_by": declared_by.pk if declared_by else None},
    )
    return declaration


# --- Rate cards -----------------------------------------------------------------------------


@transaction.atomic
def rate_card_create(
    *,
    actor: User,
    vendor: Vendor,
    name: str,
    effective_from: dt.date,
    currency: str = "USD",
    effective_to: dt.date | None = None,
) -> RateCard:
    _require_manager(actor, "add rate cards")
    card = RateCard(vendor=vendor, name=name.strip(), currency=currency.strip().upper(),
                    effective_from=effective_from, effective_to=effective_to)
    validated(card)
    card.save()
    audit_record(
        actor=actor,
        action="rate_card.created",
        obj=card,
        after={"vendor": vendor.pk, "name": card.name, "currency": card.currency,
               "effective_from": effective_from, "effective_to": effective_to},
    )
    return card


@transaction.atomic
def rate_card_line_add(
    *,
    actor: User,
    rate_card: RateCard,
    task_type: str,
    unit: str,
    rate: Decimal,
    in_house_rate: Decimal = Decimal("0"),
) -> RateCardLine:
    """One price of the card: a task type at a rate per hour, per document or fixed, with what
    the same unit costs the firm in-house (to show the saving)."""
    _require_manager(actor, "change rate cards")
    line = RateCardLine(rate_card=rate_card, task_type=task_type, unit=unit, rate=rate,
                        in_house_rate=in_house_rate)
    validated(line)
    line.save()
    audit_record(
        actor=actor,
        action="rate_card.line_added",
        obj=rate_card,
        after={"line": line.pk, "task_type": task_type, "unit": unit, "rate": rate,
               "in_house_rate": in_house_rate},
    )
    return line
