"""What a sign-off says and stores about QC, and the one rule it adds: a sampled lot is
signed off only on an accepted QC result (the service asks `qc_blocker`; the database's
trigger refuses the row otherwise, migration `qc_signoff_guard`)."""

from __future__ import annotations

from typing import Any

from matters.models import Task
from supervision.models import BarAdmission, Submission
from supervision.qc.models import Lot, QcResult, ResultKind
from supervision.qc.rules import calls_for_legal_judgment


def accepted_result(submission: Submission) -> QcResult | None:
    """The accepted QC result of a version's lot (a full re-review wins over the sample)."""
    return (QcResult.objects.filter(submission=submission, accepted=True)
            .select_related("sample").order_by("-kind", "-pk").first())


def _sampled_lot(submission: Submission) -> Lot | None:
    return Lot.objects.filter(submission=submission, sampled=True).first()


def qc_blocker(submission: Submission) -> str | None:
    """Why this version cannot be signed off yet on QC grounds, or None."""
    lot = _sampled_lot(submission)
    if lot is None or accepted_result(submission) is not None:
        return None
    rejected = QcResult.objects.filter(submission=submission, accepted=False).first()
    if rejected is not None:
        return ("QC rejected this lot: it cannot be signed off. Send it back to the vendor or "
                "record the full re-review on the QC page.")
    return (f"This lot of {lot.item_count:,} items is checked by sampling: draw the sample and "
            "record an accepted QC result on the QC page before signing it off.")


def qc_summary(*, task: Task, submission: Submission) -> tuple[QcResult | None,
                                                              dict[str, Any] | None]:
    """The QC figures a sign-off row stores (and the attestation states). A sampled lot's
    accepted result comes first (the database wants it named, even if the task was marked
    as calling for legal judgment after its lot was sampled)."""
    lot = _sampled_lot(submission)
    result = accepted_result(submission) if lot is not None else None
    if lot is None or result is None:
        if calls_for_legal_judgment(task):
            return None, {"review_level": "full_attorney_review", "legal_judgment": True,
                          "jurisdiction": task.matter.jurisdiction}
        return None, None
    sample = result.sample
    first = QcResult.objects.filter(sample=sample, kind=ResultKind.SAMPLE).first()
    return result, {
        "review_level": "sampled",
        "plan": sample.plan_description,
        "severity": sample.severity,
        "code_letter": sample.code_letter,
        "lot_size": sample.lot_size,
        "sample_size": sample.sample_size,
        "accept_number": sample.accept_number,
        "reject_number": sample.reject_number,
        "defects_found": first.defects_found if first else result.defects_found,
        "seed": str(sample.seed),
        "accepted": True,
        "full_review": result.kind == ResultKind.FULL_REVIEW,
        "result": result.pk,
    }


def qc_attestation(*, task: Task, submission: Submission, bar_admission: BarAdmission) -> str:
    """The sentence the attestation adds: the QC of a sampled lot, or the full review of
    work calling for legal judgment. Empty for other work."""
    result, summary = qc_summary(task=task, submission=submission)
    if summary is None:
        return ""
    if summary["review_level"] == "full_attorney_review":
        where = (f", and I am admitted in {bar_admission.jurisdiction}, where this matter's "
                 "legal work is practised" if task.matter.jurisdiction.strip() else "")
        return (" This work calls for legal judgment: it was not sampled; I reviewed all of it "
                f"myself{where} (ABA Model Rule 5.5).")
    severity = summary["severity"]
    letter = f", code letter {summary['code_letter']}" if summary["code_letter"] else ""
    text = (f" Quality control: lot of {summary['lot_size']:,} items, sampled under "
            f"{summary['plan']} ({severity} inspection{letter}); {summary['sample_size']} items "
            f"inspected, {summary['defects_found']} defective (accept at "
            f"{summary['accept_number']}, reject at {summary['reject_number']}).")
    if summary["full_review"]:
        assert result is not None
        return text + (" The sample rejected the lot; the firm then re-reviewed all "
                       f"{summary['lot_size']:,} items and corrected {result.defects_found} "
                       "defects. The lot is accepted on that full re-review.")
    return text + " The lot was accepted."
