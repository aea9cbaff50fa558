"""The vendor's people as the firm vets them: qualifications, confidentiality and
data-protection training, and which task types need a qualified performer.

Imported by `vendors.models`, so these are models of the vendors app. The rules that read
them are in `vendors.staff` (`performer_refusal` is the one definition of "may this person
perform this work today").
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from lpo_tracker.fields import TaskType


class QualificationKind(models.TextChoices):
    LAWYER = "lawyer", "Lawyer (admitted)"
    PATENT_PRACTITIONER = "patent_practitioner", "Registered patent practitioner"
    PARALEGAL = "paralegal", "Paralegal"
    OTHER = "other", "Other"


# Kinds whose holder is on a public register: the number is what the manager verifies.
REGISTERED_KINDS = (QualificationKind.LAWYER, QualificationKind.PATENT_PRACTITIONER)


class StaffQualification(models.Model):
    """What a vendor user is qualified as. Counts for a task type only once the firm's vendor
    manager has verified it (`verified_at`); an edit clears the verification."""

    member = models.ForeignKey(
        "vendors.VendorUser", on_delete=models.CASCADE, related_name="qualifications"
    )
    kind = models.CharField(max_length=24, choices=QualificationKind.choices)
    jurisdiction = models.CharField(
        max_length=80,
        blank=True,
        help_text="Where a lawyer is admitted (e.g. Maharashtra, New York); the patent "
        "office for a patent practitioner (e.g. USPTO).",
    )
    registration_number = models.CharField(
        max_length=40, blank=True, help_text="Bar enrolment or patent registration number."
    )
    description = models.CharField(
        max_length=200, blank=True, help_text="e.g. the certificate, for paralegal or other"
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    verified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["member", "kind"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="lawyer") | (~Q(jurisdiction="") & ~Q(registration_number="")),
                name="qualification_lawyer_has_admission",
                violation_error_message="A lawyer's qualification names the jurisdiction and "
                "the bar or enrolment number.",
            ),
            models.CheckConstraint(
                condition=~Q(kind="patent_practitioner") | ~Q(registration_number=""),
                name="qualification_patent_has_number",
                violation_error_message="A registered patent practitioner has a "
                "registration number.",
            ),
            models.CheckConstraint(
                condition=Q(verified_at__isnull=True) | Q(verified_by__isnull=False),
                name="qualification_verified_has_who",
            ),
            models.UniqueConstraint(
                fields=["member", "kind", "jurisdiction"], name="uniq_member_qualification"
            ),
        ]

    def __str__(self) -> str:
        where = f", {self.jurisdiction}" if self.jurisdiction else ""
        return f"{self.member.user} – {self.get_kind_display()}{where}"

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None


class TrainingTopic(models.TextChoices):
    CONFIDENTIALITY = "confidentiality", "Confidentiality"
    DATA_PROTECTION = "data_protection", "Data protection"


# Every performer needs both, current on the day of the work.
REQUIRED_TRAINING = (TrainingTopic.CONFIDENTIALITY, TrainingTopic.DATA_PROTECTION)


def training_upload_to(instance: StaffTraining, filename: str) -> str:
    # Non-guessable path; the original name is kept on the row, not in the path.
    return f"training/{instance.member_id}/{uuid.uuid4().hex}"


class TrainingQuerySet(models.QuerySet["StaffTraining"]):
    def valid_on(self, day: dt.date) -> TrainingQuerySet:
        """Completed by `day`, not expired on it, with its evidence file: the one definition
        of "trained on this day"."""
        return self.filter(
            ~Q(evidence="") & ~Q(evidence_sha256=""), completed_on__lte=day, expires_on__gte=day
        )

    def expiring_between(self, start: dt.date, end: dt.date) -> TrainingQuerySet:
        return self.filter(
            ~Q(evidence="") & ~Q(evidence_sha256=""), expires_on__gte=start, expires_on__lte=end
        )


class StaffTraining(models.Model):
    """A completed course with its certificate. Evidence: never edited; a renewal is a new
    record (`vendors.staff.training_record_add`; the admin shows it read-only)."""

    member = models.ForeignKey(
        "vendors.VendorUser", on_delete=models.CASCADE, related_name="trainings"
    )
    topic = models.CharField(max_length=20, choices=TrainingTopic.choices)
    course = models.CharField(max_length=200, blank=True)
    completed_on = models.DateField()
    expires_on = models.DateField()
    evidence = models.FileField(upload_to=training_upload_to)
    evidence_name = models.CharField(max_length=255)
    evidence_sha256 = models.CharField(max_length=64)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    objects = TrainingQuerySet.as_manager()

    class Meta:
        ordering = ["member", "topic", "-expires_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_on__gt=models.F("completed_on")),
                name="training_expires_after_completion",
                violation_error_message="Training expires after it was completed.",
            ),
            models.CheckConstraint(
                condition=Q(evidence_sha256__regex=r"^[0-9a-f]{64}$"), name="training_sha256_hex"
            ),
        ]
        indexes = [models.Index(fields=["expires_on"], name="training_expiry_idx")]

    def __str__(self) -> str:
        return f"{self.member.user} – {self.get_topic_display()} (to {self.expires_on})"


class PerformerRequirement(models.Model):
    """A task type whose work only a qualified person may perform, and the qualifications
    that count (any one of them, verified). Data, edited in the admin; a task type without a
    row needs no particular qualification (training is always required)."""

    task_type = models.CharField(max_length=30, choices=TaskType.choices, unique=True)
    qualifications = models.JSONField(
        default=list, help_text='Qualification kinds that count, e.g. ["patent_practitioner"]'
    )
    reason = models.CharField(
        max_length=250, blank=True, help_text="Why, for the refusal message and the audit trail."
    )

    class Meta:
        ordering = ["task_type"]

    def __str__(self) -> str:
        return f"{self.get_task_type_display()}: {', '.join(self.qualifications)}"
