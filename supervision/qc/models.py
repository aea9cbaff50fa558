"""Quality control of bulk work: per task type settings, QC plans, lots, samples, the defect
log, QC results and the vendor's inspection level (supervision/qc/__init__.py explains the
model). Lots, samples, checks, results, dispositions and inspection switches are evidence:
append-only in the database (migration `qc_lots_sampling_defects`)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from lpo_tracker.fields import TaskType
from supervision.qc.z14 import SUPPORTED_AQLS


class InspectionLevel(models.TextChoices):
    I = "I", "General inspection level I"  # noqa: E741 - the standard's name
    II = "II", "General inspection level II"
    III = "III", "General inspection level III"


class Severity(models.TextChoices):
    """Z1.4's inspection severity (named "inspection level" on the vendor page)."""

    NORMAL = "normal", "Normal"
    TIGHTENED = "tightened", "Tightened"
    REDUCED = "reduced", "Reduced"


class PlanMethod(models.TextChoices):
    Z14 = "z14", "ANSI/ASQ Z1.4 single sampling"
    PERCENT = "percent", "Percentage of the lot"
    FIXED = "fixed", "Fixed number of items"


AQL_CHOICES = [(value, f"AQL {value} %") for value in SUPPORTED_AQLS]


class DefectSeverity(models.TextChoices):
    CRITICAL = "critical", "Critical"
    MAJOR = "major", "Major"
    MINOR = "minor", "Minor"


class PlanFields(models.Model):
    """The sampling parameters a task type default and an engagement's plan share."""

    method = models.CharField(max_length=10, choices=PlanMethod.choices, default=PlanMethod.Z14)
    inspection_level = models.CharField(max_length=3, choices=InspectionLevel.choices,
                                        default=InspectionLevel.II)
    aql = models.CharField("AQL", max_length=6, choices=AQL_CHOICES, default="2.5")
    percent = models.PositiveSmallIntegerField(default=10, help_text="Percentage method: 1–100")
    fixed_count = models.PositiveIntegerField(default=50, help_text="Fixed method: items")
    # Acceptance for the percentage and fixed methods: at most this many defective items.
    accept_number = models.PositiveIntegerField(
        default=0, help_text="Percentage / fixed methods: accept with at most this many defects")
    allow_reduced = models.BooleanField(
        default=False, help_text="Switch to reduced inspection after 10 accepted lots")

    class Meta:
        abstract = True

    def describe(self) -> str:
        if self.method == PlanMethod.Z14:
            return f"Z1.4 single sampling, level {self.inspection_level}, AQL {self.aql} %"
        if self.method == PlanMethod.PERCENT:
            return f"{self.percent} % of the lot, accept with ≤ {self.accept_number} defects"
        return f"{self.fixed_count} items, accept with ≤ {self.accept_number} defects"


class TaskTypeQc(PlanFields):
    """Per task type: is it bulk work (sampled lots), does it call for legal judgment (never
    sampled), and the default plan of an engagement without its own."""

    task_type = models.CharField(max_length=30, choices=TaskType.choices, unique=True)
    is_bulk_work = models.BooleanField(
        default=False, help_text="Submitted as lots of items and quality-checked by sampling")
    calls_for_legal_judgment = models.BooleanField(
        default=False, help_text="Never sampled: reviewed in full by an attorney admitted in "
        "the matter's jurisdiction (Model Rule 5.5)")

    class Meta:
        ordering = ["task_type"]
        verbose_name = "task type QC setting"
        constraints = [
            models.CheckConstraint(condition=~Q(is_bulk_work=True, calls_for_legal_judgment=True),
                                   name="qc_type_bulk_or_judgment"),
            models.CheckConstraint(condition=Q(percent__gte=1, percent__lte=100),
                                   name="qc_type_percent_range"),
        ]

    def __str__(self) -> str:
        return self.get_task_type_display()


class DefectCategory(models.Model):
    """A kind of defect reviewers record for a task type (editable data)."""

    task_type = models.CharField(max_length=30, choices=TaskType.choices)
    name = models.CharField(max_length=80)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["task_type", "name"]
        verbose_name_plural = "defect categories"
        constraints = [models.UniqueConstraint(fields=["task_type", "name"],
                                               name="uniq_defect_category")]

    def __str__(self) -> str:
        return self.name


class QcPlan(PlanFields):
    """An engagement's own sampling plan for a task type (empty: every type)."""

    engagement = models.ForeignKey("matters.Engagement", on_delete=models.CASCADE,
                                   related_name="qc_plans")
    task_type = models.CharField(max_length=30, choices=TaskType.choices, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["engagement", "task_type"]
        verbose_name = "QC plan"
        constraints = [
            models.UniqueConstraint(fields=["engagement", "task_type"], name="uniq_qc_plan"),
            models.CheckConstraint(condition=Q(percent__gte=1, percent__lte=100),
                                   name="qc_plan_percent_range"),
        ]

    def __str__(self) -> str:
        return f"{self.engagement}: {self.describe()}"


def manifest_upload_to(instance: Lot, filename: str) -> str:
    return f"lot-manifests/{instance.submission.task_id}/{uuid.uuid4().hex}"


class Lot(models.Model):
    """The items of one version of bulk work: a count, and optionally a manifest of ids,
    stored, hashed and scanned like the version's file."""

    submission = models.OneToOneField("supervision.Submission", on_delete=models.PROTECT,
                                      related_name="lot")
    item_count = models.PositiveIntegerField()
    # A sampled lot's sign-off needs an accepted QC result (database trigger).
    sampled = models.BooleanField(default=True)
    manifest = models.FileField(upload_to=manifest_upload_to, max_length=200, blank=True)
    manifest_name = models.CharField(max_length=255, blank=True)
    manifest_sha256 = models.CharField(max_length=64, blank=True)
    manifest_size = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["submission"]
        constraints = [
            models.CheckConstraint(condition=Q(item_count__gte=1), name="lot_has_items"),
            models.CheckConstraint(
                condition=Q(manifest_sha256="") | Q(manifest_sha256__regex=r"^[0-9a-f]{64}$"),
                name="lot_manifest_sha256_hex"),
        ]

    def __str__(self) -> str:
        return f"Lot of {self.item_count} items ({self.submission})"


class QcSample(models.Model):
    """The sample drawn from a lot, with the plan in force and the seed (reproducible with
    supervision/qc/redraw.py)."""

    lot = models.OneToOneField(Lot, on_delete=models.PROTECT, related_name="sample")
    plan_description = models.CharField(max_length=200)
    method = models.CharField(max_length=10, choices=PlanMethod.choices)
    inspection_level = models.CharField(max_length=3, blank=True)
    aql = models.CharField(max_length=6, blank=True)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.NORMAL)
    code_letter = models.CharField(max_length=1, blank=True)
    lot_size = models.PositiveIntegerField()
    sample_size = models.PositiveIntegerField()
    accept_number = models.PositiveIntegerField()
    reject_number = models.PositiveIntegerField()
    seed = models.BigIntegerField()
    item_ids = models.JSONField()
    drawn_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                 related_name="+")
    drawn_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-drawn_at"]
        constraints = [
            models.CheckConstraint(condition=Q(reject_number__gt=models.F("accept_number")),
                                   name="qc_sample_ac_below_re"),
            models.CheckConstraint(condition=Q(sample_size__gte=1)
                                   & Q(sample_size__lte=models.F("lot_size")),
                                   name="qc_sample_size_in_lot"),
        ]

    def __str__(self) -> str:
        return f"Sample of {self.sample_size} from {self.lot}"


class QcCheck(models.Model):
    """One sampled item, checked: correct, or defective with a category and a severity. The
    vendor sees the category, severity and the note for the vendor, never the internal one."""

    sample = models.ForeignKey(QcSample, on_delete=models.PROTECT, related_name="checks")
    item_id = models.CharField(max_length=200)
    defective = models.BooleanField(default=False)
    category = models.ForeignKey(DefectCategory, on_delete=models.PROTECT, null=True,
                                 blank=True, related_name="+")
    severity = models.CharField(max_length=10, choices=DefectSeverity.choices, blank=True)
    vendor_note = models.TextField(blank=True, help_text="Shown to the vendor")
    internal_note = models.TextField(blank=True, help_text="Firm only; never shown to vendors")
    checked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    checked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["sample", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["sample", "item_id"], name="uniq_qc_check_item"),
            models.CheckConstraint(
                condition=Q(defective=False, category__isnull=True, severity="")
                | Q(defective=True, category__isnull=False) & ~Q(severity=""),
                name="qc_check_defect_complete"),
        ]

    def __str__(self) -> str:
        return f"{self.item_id}: {'defective' if self.defective else 'correct'}"


class ResultKind(models.TextChoices):
    SAMPLE = "sample", "Sample inspection"
    FULL_REVIEW = "full_review", "Full re-review of the lot"


class Disposition(models.TextChoices):
    RETURN_TO_VENDOR = "return_to_vendor", "Returned to the vendor with the defects"
    FULL_REVIEW = "full_review", "Full re-review by the firm"


class QcResult(models.Model):
    """The lot's verdict. A sample result is computed from the checks and the plan's Ac/Re;
    a full re-review result follows a rejected sample the reviewer chose to re-review in full.
    A rejected result names its disposition."""

    sample = models.ForeignKey(QcSample, on_delete=models.PROTECT, related_name="results")
    submission = models.ForeignKey("supervision.Submission", on_delete=models.PROTECT,
                                   related_name="qc_results")
    kind = models.CharField(max_length=12, choices=ResultKind.choices, default=ResultKind.SAMPLE)
    accepted = models.BooleanField()
    items_checked = models.PositiveIntegerField()
    defects_found = models.PositiveIntegerField()
    critical = models.PositiveIntegerField(default=0)
    major = models.PositiveIntegerField(default=0)
    minor = models.PositiveIntegerField(default=0)
    disposition = models.CharField(max_length=20, choices=Disposition.choices, blank=True)
    notes = models.TextField(blank=True, help_text="Firm only")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-decided_at"]
        verbose_name = "QC result"
        constraints = [
            models.UniqueConstraint(fields=["sample", "kind"], name="uniq_qc_result_kind"),
            models.CheckConstraint(condition=Q(accepted=True, disposition="")
                                   | Q(accepted=False) & ~Q(disposition=""),
                                   name="qc_result_rejected_has_disposition"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {'accepted' if self.accepted else 'rejected'}"


class InspectionState(models.Model):
    """A vendor's current inspection severity for a task type (Z1.4 switching rules)."""

    vendor = models.ForeignKey("vendors.Vendor", on_delete=models.CASCADE,
                               related_name="inspection_states")
    task_type = models.CharField(max_length=30, choices=TaskType.choices)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.NORMAL)
    since = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["vendor", "task_type"]
        constraints = [models.UniqueConstraint(fields=["vendor", "task_type"],
                                               name="uniq_inspection_state")]

    def __str__(self) -> str:
        return f"{self.vendor} · {self.get_task_type_display()}: {self.get_severity_display()}"


class InspectionSwitch(models.Model):
    """One switch of a vendor's inspection severity, with the reason (append-only)."""

    vendor = models.ForeignKey("vendors.Vendor", on_delete=models.PROTECT,
                               related_name="inspection_switches")
    task_type = models.CharField(max_length=30, choices=TaskType.choices)
    from_severity = models.CharField(max_length=10, choices=Severity.choices)
    to_severity = models.CharField(max_length=10, choices=Severity.choices)
    reason = models.TextField()
    result = models.ForeignKey(QcResult, on_delete=models.PROTECT, null=True, blank=True,
                               related_name="+")
    switched_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-switched_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.vendor}: {self.from_severity} → {self.to_severity}"
