"""Every QC write: a lot with its manifest, the seeded draw, the defect log and the lot's
verdict, the reviewer's disposition of a rejected lot, a full re-review, and the vendor's
inspection severity. Each runs in one transaction and is audited on the task's trail."""

from __future__ import annotations

import secrets
from collections import Counter
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser, User
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from lpo_tracker import uploads
from lpo_tracker.errors import InvalidTransition, RuleViolation
from matters.models import AWAITING_REVIEW_STATES, Task
from matters.services import task_audit, task_lock
from supervision.models import Submission
from supervision.qc.models import (
    DefectCategory,
    DefectSeverity,
    Disposition,
    InspectionState,
    InspectionSwitch,
    Lot,
    QcCheck,
    QcResult,
    QcSample,
    ResultKind,
    Severity,
)
from supervision.qc.redraw import ManifestError, draw, numbered_items, parse_manifest
from supervision.qc.rules import (
    calls_for_legal_judgment,
    is_sampled,
    lot_plan,
    plan_in_force,
    switch_after,
)
from supervision.selectors import review_refusal

MANIFEST_TYPES = {".csv": "text/csv", ".txt": "text/plain"}
MAX_LOT_ITEMS = 10_000_000


@dataclass(frozen=True)
class LotInput:
    """A lot declared with an upload, checked before the upload's transaction opens."""

    item_count: int
    sampled: bool
    manifest: UploadedFile | None = None
    manifest_check: uploads.CheckedUpload | None = None


def lot_check(*, actor: AbstractBaseUser, task: Task, item_count: int | None,
              manifest: UploadedFile | None) -> LotInput | None:
    """Validate a version's declared items before anything is stored.

    1. Sampled work (bulk work without legal judgment) must declare its item count; other
       work may (the lot is then recorded but not sampled).
    2. A manifest is validated, malware-scanned and hashed like the version's file
       (`lpo_tracker.uploads.upload_accept`), read as item ids (`redraw.parse_manifest`), and
       must list exactly the declared number of items.
    """
    sampled = is_sampled(task)
    if item_count is None:
        if manifest is not None:
            raise RuleViolation("Give the number of items the manifest lists.",
                                code="item_count_required")
        if sampled:
            raise RuleViolation(f"{task.get_task_type_display()} is bulk work: declare the "
                                "number of items in this lot.", code="item_count_required")
        return None
    if not 1 <= item_count <= MAX_LOT_ITEMS:
        raise RuleViolation(f"A lot has between 1 and {MAX_LOT_ITEMS:,} items.",
                            code="item_count_invalid")
    checked = None
    if manifest is not None:
        checked = uploads.upload_accept(actor=actor, upload=manifest, about=task,
                                        matter_id=task.matter_id, content_types=MANIFEST_TYPES)
        ids = _manifest_ids(manifest)
        if len(ids) != item_count:
            raise RuleViolation(f"The manifest lists {len(ids):,} items, not {item_count:,}.",
                                code="manifest_count")
    return LotInput(item_count=item_count, sampled=sampled, manifest=manifest,
                    manifest_check=checked)


def _manifest_ids(handle: UploadedFile) -> list[str]:
    handle.seek(0)
    raw = handle.read()
    handle.seek(0)
    try:
        return parse_manifest(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise RuleViolation("The manifest is not UTF-8 text.", code="manifest_invalid") from None
    except ManifestError as exc:
        raise RuleViolation(str(exc), code="manifest_invalid") from None


def lot_record(*, submission: Submission, lot: LotInput) -> Lot:
    """Store the lot with its new version (inside `submission_create`'s transaction)."""
    record = Lot(submission=submission, item_count=lot.item_count, sampled=lot.sampled)
    if lot.manifest is not None and lot.manifest_check is not None:
        record.manifest_name = lot.manifest_check.name
        record.manifest_sha256 = lot.manifest_check.sha256
        record.manifest_size = lot.manifest_check.size
        record.manifest.save(lot.manifest_check.name, lot.manifest, save=False)
    try:
        record.save(force_insert=True)
    except BaseException:
        if record.manifest.name:  # nothing left behind by a refused row
            record.manifest.storage.delete(record.manifest.name)
        raise
    return record


def lot_items(lot: Lot) -> list[str]:
    """The lot's item ids: its manifest's, or "1" … "N"."""
    if not lot.manifest:
        return numbered_items(lot.item_count)
    with lot.manifest.open("rb") as handle:
        return parse_manifest(handle.read().decode("utf-8-sig"))


def inspection_state(vendor_id: int, task_type: str) -> InspectionState:
    """The vendor's current severity for the type (normal until a switch says otherwise)."""
    state, _ = InspectionState.objects.get_or_create(vendor_id=vendor_id, task_type=task_type)
    return state


def _current_lot(task: Task) -> Lot:
    submission = Submission.objects.filter(task=task).order_by("-version").first()
    lot = Lot.objects.filter(submission=submission).first() if submission else None
    if lot is None:
        raise RuleViolation("The latest version declares no lot of items.", code="no_lot")
    return lot


@transaction.atomic
def qc_sample_draw(*, actor: User, task: Task) -> QcSample:
    """Draw the sample of the latest version's lot.

    1. Lock the task; it awaits review; the actor may review it.
    2. Work that calls for legal judgment is never sampled (also refused by the database).
    3. The plan in force (engagement, else task type) at the vendor's current severity gives
       the sample size and Ac/Re; a fresh random seed draws the items (`redraw.draw`).
    4. Seed, plan and drawn ids go into the sample row and the audit trail.
    """
    locked = task_lock(task, allowed_from=AWAITING_REVIEW_STATES, doing="be sampled")
    refusal = review_refusal(actor, locked)
    if refusal is not None:
        raise refusal
    if calls_for_legal_judgment(locked):
        raise RuleViolation("This work calls for legal judgment: it is never sampled. An "
                            "attorney admitted in the matter's jurisdiction reviews all of it.",
                            code="legal_judgment")
    lot = _current_lot(locked)
    if not lot.sampled:
        raise RuleViolation("This lot is reviewed in full, not sampled.", code="not_sampled")
    if QcSample.objects.filter(lot=lot).exists():
        raise InvalidTransition("The sample of this lot is already drawn.", code="drawn")
    vendor_id = locked.engagement.vendor_id if locked.engagement else None
    severity = (inspection_state(vendor_id, locked.task_type).severity if vendor_id
                else Severity.NORMAL)
    plan = lot_plan(plan_in_force(locked.engagement, locked.task_type),
                    lot_size=lot.item_count, severity=severity)
    seed = secrets.randbits(63)
    items = draw(lot_items(lot), seed=seed, size=plan.sample_size)
    sample = QcSample.objects.create(
        lot=lot, plan_description=plan.description, method=plan.method,
        inspection_level=plan.inspection_level, aql=plan.aql, severity=plan.severity,
        code_letter=plan.code_letter, lot_size=lot.item_count, sample_size=len(items),
        accept_number=plan.accept, reject_number=plan.reject, seed=seed, item_ids=items,
        drawn_by=actor,
    )
    task_audit(actor, locked, "qc.sample_drawn", {}, sample=sample.pk,
               version=lot.submission.version, plan=plan.description, severity=severity,
               code_letter=plan.code_letter, lot_size=lot.item_count, sample_size=len(items),
               accept_number=plan.accept, reject_number=plan.reject, seed=str(seed),
               manifest_sha256=lot.manifest_sha256, item_ids=items)
    return sample


@dataclass(frozen=True)
class CheckInput:
    item_id: str
    defective: bool
    category_id: int | None = None
    severity: str = ""
    vendor_note: str = ""
    internal_note: str = ""


def _validated_checks(sample: QcSample, task: Task, checks: list[CheckInput]
                      ) -> list[CheckInput]:
    wanted = set(sample.item_ids)
    given = {check.item_id for check in checks}
    if given != wanted or len(checks) != len(wanted):
        raise RuleViolation("Record every sampled item once, and only those.",
                            code="checks_incomplete")
    categories = set(DefectCategory.objects.filter(task_type=task.task_type, is_active=True)
                     .values_list("pk", flat=True))
    for check in checks:
        if check.defective and (check.category_id not in categories
                                or check.severity not in DefectSeverity.values):
            raise RuleViolation(f"Item {check.item_id}: a defect needs a category of this task "
                                "type and a severity.", code="defect_incomplete")
    return checks


def _vendor_feedback(sample: QcSample, defects: list[QcCheck]) -> str:
    """What the vendor reads on a returned lot: the counts and each defect, never the
    internal notes."""
    lines = [f"QC rejected this lot: {len(defects)} defective of {sample.sample_size} sampled "
             f"items (the plan rejects at {sample.reject_number}). Correct the lot and upload "
             "it again. Defects found:"]
    for check in defects:
        category = check.category.name if check.category else ""
        note = f" — {check.vendor_note}" if check.vendor_note else ""
        lines.append(f"• {check.item_id}: {category} ({check.get_severity_display()}){note}")
    return "\n".join(lines)


def qc_review_record(*, actor: User, task: Task, sample: QcSample, checks: list[CheckInput],
                     disposition: str = "", notes: str = "") -> QcResult:
    """Record the defect log of a sample and the lot's verdict by the plan's Ac/Re.

    1. Lock the task; it awaits review; the actor may review it; the sample is of the latest
       version and has no result yet.
    2. Every sampled item is recorded once: correct, or defective with a category of the
       task type and a severity.
    3. Accepted when the defects are at most Ac. A rejected lot needs the reviewer's choice:
       back to the vendor with the defects (changes requested; the vendor sees the defects,
       never the internal notes) or a full re-review by the firm.
    4. The vendor's inspection severity follows the switching rules.
    """
    from supervision.services import review_request_changes

    with transaction.atomic():
        locked = task_lock(task, allowed_from=AWAITING_REVIEW_STATES, doing="take a QC result")
        refusal = review_refusal(actor, locked)
        if refusal is not None:
            raise refusal
        sample = QcSample.objects.select_related("lot__submission").get(pk=sample.pk)
        if sample.lot.submission.task_id != locked.pk or sample.lot != _current_lot(locked):
            raise InvalidTransition("That sample is not of the latest version; reload.",
                                    code="stale_sample")
        if QcResult.objects.filter(sample=sample).exists():
            raise InvalidTransition("This sample already has its result.", code="decided")
        now = timezone.now()
        rows = [QcCheck(sample=sample, item_id=check.item_id, defective=check.defective,
                        category_id=check.category_id if check.defective else None,
                        severity=check.severity if check.defective else "",
                        vendor_note=check.vendor_note.strip(),
                        internal_note=check.internal_note.strip(),
                        checked_by=actor, checked_at=now)
                for check in _validated_checks(sample, locked, checks)]
        QcCheck.objects.bulk_create(rows)
        defects = [row for row in QcCheck.objects.filter(sample=sample, defective=True)
                   .select_related("category").order_by("pk")]
        severities = Counter(row.severity for row in defects)
        accepted = len(defects) <= sample.accept_number
        if not accepted and disposition not in Disposition.values:
            raise RuleViolation(f"The lot is rejected ({len(defects)} defects, rejection at "
                                f"{sample.reject_number}): send it back to the vendor or "
                                "re-review it in full.", code="disposition_required")
        result = QcResult.objects.create(
            sample=sample, submission=sample.lot.submission, kind=ResultKind.SAMPLE,
            accepted=accepted, items_checked=len(rows), defects_found=len(defects),
            critical=severities[DefectSeverity.CRITICAL], major=severities[DefectSeverity.MAJOR],
            minor=severities[DefectSeverity.MINOR],
            disposition="" if accepted else disposition, notes=notes.strip(),
            decided_by=actor, decided_at=now)
        task_audit(actor, locked, "qc.result_recorded", {}, sample=sample.pk, result=result.pk,
                   accepted=accepted, items_checked=len(rows), defects_found=len(defects),
                   critical=result.critical, major=result.major, minor=result.minor,
                   accept_number=sample.accept_number, reject_number=sample.reject_number,
                   disposition=result.disposition,
                   defective_items=[row.item_id for row in defects])
        inspection_after_result(result=result, task=locked)
        if result.disposition == Disposition.RETURN_TO_VENDOR:
            review_request_changes(actor=actor, task=locked, submission=sample.lot.submission,
                                   comments=_vendor_feedback(sample, defects),
                                   internal_notes=notes)
    return result


@transaction.atomic
def qc_full_review_record(*, actor: User, task: Task, sample: QcSample, defects_corrected: int,
                          notes: str) -> QcResult:
    """After a rejected sample the reviewer chose to re-review in full: the firm reviewed
    (and corrected) every item of the lot; the lot is accepted on that re-review."""
    locked = task_lock(task, allowed_from=AWAITING_REVIEW_STATES, doing="take a full re-review")
    refusal = review_refusal(actor, locked)
    if refusal is not None:
        raise refusal
    rejected = QcResult.objects.filter(sample=sample, kind=ResultKind.SAMPLE, accepted=False,
                                       disposition=Disposition.FULL_REVIEW).first()
    if rejected is None or sample.lot != _current_lot(locked):
        raise InvalidTransition("Only a rejected sample sent to full re-review takes one.",
                                code="no_full_review")
    if not notes.strip():
        raise RuleViolation("Say what the full re-review found and corrected.",
                            code="notes_required")
    if defects_corrected < rejected.defects_found:
        raise RuleViolation(f"The sample alone found {rejected.defects_found} defects; the full "
                            "re-review corrects at least those.", code="defects_too_few")
    result = QcResult.objects.create(
        sample=sample, submission=sample.lot.submission, kind=ResultKind.FULL_REVIEW,
        accepted=True, items_checked=sample.lot_size, defects_found=defects_corrected,
        notes=notes.strip(), decided_by=actor)
    task_audit(actor, locked, "qc.full_review_recorded", {}, sample=sample.pk,
               result=result.pk, items_checked=sample.lot_size,
               defects_corrected=defects_corrected)
    return result


def inspection_after_result(*, result: QcResult, task: Task) -> InspectionSwitch | None:
    """Apply the switching rules after a sample result of the vendor's lot (in the caller's
    transaction): the lots inspected at the current severity since it began decide."""
    if result.kind != ResultKind.SAMPLE or task.engagement is None:
        return None
    vendor_id = task.engagement.vendor_id
    state = InspectionState.objects.select_for_update().get(
        pk=inspection_state(vendor_id, task.task_type).pk)
    outcomes = list(
        QcResult.objects.filter(
            kind=ResultKind.SAMPLE, sample__severity=state.severity,
            sample__drawn_at__gte=state.since,
            submission__task__engagement__vendor_id=vendor_id,
            submission__task__task_type=task.task_type,
        ).order_by("decided_at", "pk").values_list("accepted", flat=True))
    plan = plan_in_force(task.engagement, task.task_type)
    switch = switch_after(state.severity, outcomes, allow_reduced=plan.allow_reduced)
    if switch is None:
        return None
    to_severity, reason = switch
    record = InspectionSwitch.objects.create(
        vendor_id=vendor_id, task_type=task.task_type, from_severity=state.severity,
        to_severity=to_severity, reason=reason, result=result, switched_at=result.decided_at)
    task_audit(None, task, "qc.inspection_switched", {"severity": state.severity},
               severity=to_severity, vendor=vendor_id, task_type=task.task_type, reason=reason,
               result=result.pk)
    state.severity = to_severity
    state.since = timezone.now()
    state.save(update_fields=["severity", "since"])
    return record
