"""LPO providers, their people, their due diligence, their rates and their declared conflicts."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from lpo_tracker.clock import firm_today
from lpo_tracker.errors import RuleViolation
from lpo_tracker.fields import TIME_ZONE_CHOICES, TaskType


class VendorStatus(models.TextChoices):
    PROSPECTIVE = "prospective", "Prospective"
    UNDER_REVIEW = "under_review", "Under review"
    APPROVED = "approved", "Approved"
    SUSPENDED = "suspended", "Suspended"
    OFFBOARDED = "offboarded", "Offboarded"


class Vendor(models.Model):
    name = models.CharField(max_length=200, unique=True)
    legal_name = models.CharField(max_length=250, blank=True)
    status = models.CharField(
        max_length=20, choices=VendorStatus.choices, default=VendorStatus.PROSPECTIVE
    )
    status_reason = models.TextField(blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    headquarters_country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2 code")
    # ISO country codes of every place the vendor's staff may touch client data.
    countries = models.JSONField(default=list, blank=True)
    service_lines = models.JSONField(default=list, blank=True, help_text="Task types offered")
    time_zone = models.CharField(max_length=64, choices=TIME_ZONE_CHOICES, default="UTC")
    website = models.URLField(blank=True)
    primary_contact_name = models.CharField(max_length=200, blank=True)
    primary_contact_email = models.EmailField(blank=True)
    notes = models.TextField(blank=True)
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="managed_vendors",
        help_text="The firm's vendor manager, who is told when due diligence expires.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class DeliveryCentre(models.Model):
    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="delivery_centres")
    city = models.CharField(max_length=120)
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2 code")
    time_zone = models.CharField(max_length=64, choices=TIME_ZONE_CHOICES)
    headcount = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["vendor", "city"]
        constraints = [
            models.UniqueConstraint(fields=["vendor", "city", "country"], name="uniq_centre"),
        ]

    def __str__(self) -> str:
        return f"{self.vendor} – {self.city}, {self.country}"


class VendorUserRole(models.TextChoices):
    CONTACT = "contact", "Delivery contact"
    REVIEWER = "reviewer", "Reviewer / analyst"
    ADMIN = "admin", "Vendor administrator"


class VendorUser(models.Model):
    """A person at the provider. One vendor per user: a vendor user never sees another's data."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="vendor_membership"
    )
    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="members")
    role = models.CharField(
        max_length=20, choices=VendorUserRole.choices, default=VendorUserRole.CONTACT
    )
    title = models.CharField(max_length=120, blank=True)
    is_active = models.BooleanField(default=True)
    receives_sla_reminders = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["vendor", "user__username"]

    def __str__(self) -> str:
        return f"{self.user} @ {self.vendor}"


class DiligenceKind(models.TextChoices):
    NDA = "nda", "Non-disclosure agreement"
    SOC2_TYPE2 = "soc2_type2", "SOC 2 Type II report"
    ISO27001 = "iso27001", "ISO/IEC 27001 certificate"
    INSURANCE = "insurance", "Professional liability insurance"
    DPA = "dpa", "Data-protection agreement"


SECURITY_CERTIFICATIONS = (DiligenceKind.SOC2_TYPE2, DiligenceKind.ISO27001)


# What may never change once a record is saved: a renewal is a new record with its own
# evidence (the model refuses it, and so does a database trigger, vendors migration 0002).
DILIGENCE_FROZEN_FIELDS = (
    "vendor", "kind", "valid_from", "expires_on", "evidence", "evidence_name",
    "evidence_sha256",
)


def _with_evidence() -> Q:
    return ~Q(evidence="") & ~Q(evidence_sha256="")


class DiligenceQuerySet(models.QuerySet["DueDiligenceRecord"]):
    def valid_on(self, day: dt.date) -> DiligenceQuerySet:
        """The one definition of "vetted on this day": in its dates, not revoked, and backed
        by its evidence file. A record without evidence counts for nothing anywhere."""
        return self.filter(_with_evidence(), valid_from__lte=day, expires_on__gte=day,
                           revoked_at__isnull=True)

    def expiring_between(self, start: dt.date, end: dt.date) -> DiligenceQuerySet:
        return self.filter(_with_evidence(), expires_on__gte=start, expires_on__lte=end,
                           revoked_at__isnull=True)


def diligence_upload_to(instance: DueDiligenceRecord, filename: str) -> str:
    # Non-guessable path; the original name is kept on the row, not in the path.
    return f"diligence/{instance.vendor_id}/{uuid.uuid4().hex}"


class DueDiligenceRecord(models.Model):
    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="diligence")
    kind = models.CharField(max_length=20, choices=DiligenceKind.choices)
    reference = models.CharField(max_length=120, blank=True, help_text="Certificate/policy no.")
    issuer = models.CharField(max_length=200, blank=True, help_text="Auditor, insurer or party")
    valid_from = models.DateField()
    expires_on = models.DateField()
    evidence = models.FileField(upload_to=diligence_upload_to, blank=True)
    evidence_name = models.CharField(max_length=255, blank=True)
    evidence_sha256 = models.CharField(max_length=64, blank=True)
    coverage_amount = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True, help_text="Insurance only"
    )
    notes = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = DiligenceQuerySet.as_manager()

    class Meta:
        ordering = ["vendor", "kind", "-expires_on"]
        verbose_name = "due-diligence record"
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_on__gte=models.F("valid_from")),
                name="diligence_valid_range",
                violation_error_message="A record cannot expire before it becomes valid.",
            ),
            models.CheckConstraint(
                condition=Q(coverage_amount__isnull=True) | Q(coverage_amount__gte=0),
                name="diligence_coverage_non_negative",
            ),
        ]
        indexes = [models.Index(fields=["kind", "expires_on"], name="diligence_expiry_idx")]

    def __str__(self) -> str:
        return f"{self.vendor} – {self.get_kind_display()} (to {self.expires_on})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Refuse, before the database has to, a change to what the record attests."""
        if not self._state.adding and self.pk is not None:
            stored = type(self).objects.filter(pk=self.pk).values(
                "revoked_at", *(f"{name}_id" if name == "vendor" else name
                                for name in DILIGENCE_FROZEN_FIELDS)).first()
            if stored is not None:
                changed = [name for name in DILIGENCE_FROZEN_FIELDS
                           if _stored_value(self, name) != stored[
                               f"{name}_id" if name == "vendor" else name]]
                if stored["revoked_at"] is not None and self.revoked_at != stored["revoked_at"]:
                    changed.append("revoked_at")
                if changed:
                    raise RuleViolation(
                        "A due-diligence record's kind, dates and evidence are fixed once "
                        f"recorded ({', '.join(changed)}); record the renewal as a new "
                        "record with its own evidence.", code="diligence_frozen")
        super().save(*args, **kwargs)

    @property
    def has_evidence(self) -> bool:
        return bool(self.evidence and self.evidence_sha256)

    def status_on(self, day: dt.date) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if not self.has_evidence:
            return "no_evidence"
        if day < self.valid_from:
            return "not_yet_valid"
        if day > self.expires_on:
            return "expired"
        return "valid"


def _stored_value(record: DueDiligenceRecord, name: str) -> object:
    value = getattr(record, "vendor_id" if name == "vendor" else name)
    return value.name if name == "evidence" else value


class RateUnit(models.TextChoices):
    HOUR = "hour", "Per hour"
    DOCUMENT = "document", "Per document"
    FIXED = "fixed", "Fixed fee per task"


class RateCard(models.Model):
    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="rate_cards")
    name = models.CharField(max_length=120)
    currency = models.CharField(max_length=3, default="USD")
    effective_from = models.DateField()
    effective_to = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["vendor", "-effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["vendor", "name"], name="uniq_rate_card_name"),
            models.CheckConstraint(
                condition=Q(effective_to__isnull=True)
                | Q(effective_to__gte=models.F("effective_from")),
                name="rate_card_valid_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.vendor} – {self.name}"


class RateCardLine(models.Model):
    rate_card = models.ForeignKey(RateCard, on_delete=models.CASCADE, related_name="lines")
    task_type = models.CharField(max_length=30, choices=TaskType.choices)
    unit = models.CharField(max_length=10, choices=RateUnit.choices, default=RateUnit.HOUR)
    rate = models.DecimalField(max_digits=10, decimal_places=2)
    in_house_rate = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        default=Decimal("0"),
        help_text="What the same unit costs the firm in-house, to show the saving.",
    )

    class Meta:
        ordering = ["rate_card", "task_type"]
        constraints = [
            models.UniqueConstraint(
                fields=["rate_card", "task_type", "unit"], name="uniq_rate_line"
            ),
            models.CheckConstraint(condition=Q(rate__gte=0), name="rate_non_negative"),
            models.CheckConstraint(
                condition=Q(in_house_rate__gte=0), name="in_house_rate_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_task_type_display()}: {self.rate} {self.get_unit_display().lower()}"


class ConflictDeclaration(models.Model):
    """A party that the vendor or one of its staff declares a relationship with."""

    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="declarations")
    declared_by = models.ForeignKey(
        VendorUser, on_delete=models.SET_NULL, null=True, blank=True, related_name="declarations"
    )
    party_name = models.CharField(max_length=250, db_index=True)
    relationship = models.CharField(max_length=250, help_text="e.g. former employer, client")
    declared_on = models.DateField(default=firm_today)

    class Meta:
        ordering = ["vendor", "party_name"]

    def __str__(self) -> str:
        return f"{self.vendor}: {self.party_name} ({self.relationship})"


V = VendorStatus
# Every legal move of a vendor through its lifecycle; `vendor_set_status` enforces it.
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


# The vendor's people as the firm vets them (their own module; models of this app).
from vendors.staff_models import (  # noqa: E402, F401
    PerformerRequirement,
    QualificationKind,
    StaffQualification,
    StaffTraining,
    TrainingTopic,
)
