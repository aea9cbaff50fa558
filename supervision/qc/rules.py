"""The QC rules, one definition each: which task types are bulk work and which call for
legal judgment, whether a task is sampled, the plan in force, the sample size and Ac/Re
of a lot, and the switching rules between normal, tightened and reduced inspection."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from lpo_tracker.fields import TaskType
from matters.models import Engagement, Task
from supervision.qc import z14
from supervision.qc.models import (
    PlanFields,
    PlanMethod,
    QcPlan,
    Severity,
    TaskTypeQc,
)

T = TaskType
# The built-in settings (seeded into TaskTypeQc, editable in the admin). Bulk work is
# checked by sampling; legal judgment is never sampled (docs/rules.md, section 7).
BULK_WORK = (T.DOCUMENT_REVIEW, T.LEGAL_CODING, T.CONTRACT_ABSTRACTION, T.LEGAL_TRANSCRIPTION)
LEGAL_JUDGMENT = (T.LEGAL_RESEARCH, T.CONTRACT_DRAFTING, T.DUE_DILIGENCE, T.PATENT_SUPPORT,
                  T.COMPLIANCE_REVIEW)
DEFAULT_CATEGORIES: dict[str, tuple[str, ...]] = {
    T.DOCUMENT_REVIEW: ("Privilege miss", "Responsiveness error", "Confidentiality tag error",
                        "Issue coding error"),
    T.LEGAL_CODING: ("Coding error", "Date error", "Party name error", "Missed field"),
    T.CONTRACT_ABSTRACTION: ("Missed clause", "Wrong term or date", "Citation error",
                             "Misquoted text"),
    T.LEGAL_TRANSCRIPTION: ("Transcription error", "Speaker attribution", "Missing passage",
                            "Citation error"),
}

SWITCH_TO_TIGHTENED_REJECTED = 2  # of
SWITCH_TO_TIGHTENED_WINDOW = 5  # consecutive lots
SWITCH_TO_NORMAL_ACCEPTED = 5
SWITCH_TO_REDUCED_ACCEPTED = 10


def defaults_ensure() -> None:
    """Create the built-in task type settings and defect categories where missing (the data
    migration does it on a new database; a test database flushed by a committing test needs
    it again)."""
    from supervision.qc.models import DefectCategory

    for task_type in TaskType.values:
        TaskTypeQc.objects.get_or_create(
            task_type=task_type,
            defaults={"is_bulk_work": task_type in BULK_WORK,
                      "calls_for_legal_judgment": task_type in LEGAL_JUDGMENT})
    for task_type, names in DEFAULT_CATEGORIES.items():
        for name in names:
            DefectCategory.objects.get_or_create(task_type=task_type, name=name)


def type_settings(task_type: str) -> TaskTypeQc:
    """The task type's QC settings; the built-in ones where the row is missing."""
    row = TaskTypeQc.objects.filter(task_type=task_type).first()
    return row or TaskTypeQc(task_type=task_type, is_bulk_work=task_type in BULK_WORK,
                             calls_for_legal_judgment=task_type in LEGAL_JUDGMENT)


def calls_for_legal_judgment(task: Task, settings: TaskTypeQc | None = None) -> bool:
    """The task is marked as calling for legal judgment, or its type always does."""
    settings = settings or type_settings(task.task_type)
    return bool(task.requires_legal_judgment or settings.calls_for_legal_judgment)


def is_sampled(task: Task) -> bool:
    """Bulk work that calls for no legal judgment is checked by sampling; everything else is
    reviewed in full."""
    settings = type_settings(task.task_type)
    return settings.is_bulk_work and not calls_for_legal_judgment(task, settings)


def plan_in_force(engagement: Engagement | None, task_type: str) -> PlanFields:
    """The engagement's plan for the type, else its plan for every type, else the type's
    default."""
    if engagement is not None:
        plans = {plan.task_type: plan for plan in
                 QcPlan.objects.filter(engagement=engagement, task_type__in=(task_type, ""))}
        if task_type in plans or "" in plans:
            return plans.get(task_type) or plans[""]
    return type_settings(task_type)


@dataclass(frozen=True)
class LotPlan:
    """What one lot is inspected against."""

    description: str
    method: str
    inspection_level: str
    aql: str
    severity: str
    code_letter: str
    sample_size: int
    accept: int
    reject: int


def lot_plan(plan: PlanFields, *, lot_size: int, severity: str) -> LotPlan:
    """The sample size and Ac/Re for a lot. Z1.4 follows the standard's tables at the given
    severity; the percentage and fixed plans have no severities (their acceptance number is
    the plan's own)."""
    if plan.method == PlanMethod.Z14 and lot_size >= 2:
        drawn = z14.plan_for(lot_size=lot_size, level=plan.inspection_level, aql=plan.aql,
                             severity=severity)
        return LotPlan(description=plan.describe(), method=plan.method,
                       inspection_level=plan.inspection_level, aql=plan.aql, severity=severity,
                       code_letter=drawn.code_letter, sample_size=drawn.sample_size,
                       accept=drawn.accept, reject=drawn.reject)
    if plan.method == PlanMethod.PERCENT:
        size = math.ceil(lot_size * plan.percent / 100)
    elif plan.method == PlanMethod.FIXED:
        size = plan.fixed_count
    else:
        size = lot_size  # a one-item lot: inspect it
    size = max(1, min(size, lot_size))
    accept = min(plan.accept_number, size - 1)
    return LotPlan(description=plan.describe(), method=plan.method, inspection_level="",
                   aql="", severity=Severity.NORMAL, code_letter="", sample_size=size,
                   accept=accept, reject=accept + 1)


def switch_after(severity: str, outcomes: Sequence[bool], *, allow_reduced: bool
                 ) -> tuple[str, str] | None:
    """Z1.4's switching rules (section 8), from the lots inspected at the current severity
    since it began, oldest first (True: accepted). The new severity and why, or None.

    - normal → tightened: 2 of 5 or fewer consecutive lots rejected;
    - tightened → normal: 5 consecutive lots accepted;
    - normal → reduced (only where the plan allows it): 10 consecutive lots accepted;
    - reduced → normal: a lot rejected.
    """
    if severity == Severity.NORMAL:
        window = list(outcomes[-SWITCH_TO_TIGHTENED_WINDOW:])
        if window.count(False) >= SWITCH_TO_TIGHTENED_REJECTED:
            return (Severity.TIGHTENED,
                    f"{window.count(False)} of the last {len(window)} consecutive lots were "
                    "rejected on normal inspection (Z1.4: 2 of 5 or fewer → tightened).")
        recent = outcomes[-SWITCH_TO_REDUCED_ACCEPTED:]
        if allow_reduced and len(recent) == SWITCH_TO_REDUCED_ACCEPTED and all(recent):
            return (Severity.REDUCED,
                    "10 consecutive lots were accepted on normal inspection and the plan "
                    "allows reduced inspection.")
    elif severity == Severity.TIGHTENED:
        recent = outcomes[-SWITCH_TO_NORMAL_ACCEPTED:]
        if len(recent) == SWITCH_TO_NORMAL_ACCEPTED and all(recent):
            return (Severity.NORMAL,
                    "5 consecutive lots were accepted on tightened inspection (Z1.4: → "
                    "normal).")
    elif severity == Severity.REDUCED and outcomes and not outcomes[-1]:
        return (Severity.NORMAL, "A lot was rejected on reduced inspection (Z1.4: → normal).")
    return None
