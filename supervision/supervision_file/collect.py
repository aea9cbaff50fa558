"""What the supervision file states, read from the evidence tables.

Everything here is read-only and bounded: the engagements of a matter are few and read
whole; tasks are read in batches (`task_batches`), each batch with a fixed number of
queries, so a matter of thousands of tasks never sits in memory at once.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Prefetch, QuerySet

from lpo_tracker.audit.models import AuditEvent
from lpo_tracker.clock import firm_zone
from matters.models import Engagement, Matter, MatterMembership, Task, TaskDueDateChange
from supervision.models import ReminderRecord, Review, SignOff, Submission
from vendors.models import DiligenceKind, DueDiligenceRecord

TASK_OBJECT = Task._meta.label_lower
ASSIGNING_ACTIONS = ("task.assigned", "task.reassigned")
# The vetting the file shows for each assignment day: the records the gate requires (an NDA,
# a security certification) and the insurance that the firm's diligence keeps beside them.
VETTING_KINDS = (
    DiligenceKind.NDA,
    DiligenceKind.SOC2_TYPE2,
    DiligenceKind.ISO27001,
    DiligenceKind.INSURANCE,
)


def person(user: User | None) -> str:
    if user is None:
        return "—"
    full = user.get_full_name()
    return f"{full} ({user.get_username()})" if full else user.get_username()


@dataclass
class Evidence:
    """A file the ZIP carries under its hash (the hash recorded when it was stored)."""

    kind: str  # "consent", "diligence", "version"
    recorded_sha256: str
    storage_name: str
    original_name: str
    # Filled in when the ZIP is written: where it is in the ZIP and the hash of its bytes.
    path: str = ""
    actual_sha256: str = ""

    @property
    def intact(self) -> bool:
        return self.actual_sha256 == self.recorded_sha256


@dataclass
class VettingOnDay:
    day: dt.date
    tasks: int
    # (kind label, [(record, its status that day: `DueDiligenceRecord.status_on`)])
    records: list[tuple[str, list[tuple[DueDiligenceRecord, str]]]]


@dataclass
class EngagementSection:
    engagement: Engagement
    vetting: list[VettingOnDay]
    consent_evidence: Evidence | None


@dataclass
class TaskSection:
    task: Task
    assignments: list[AuditEvent] = field(default_factory=list)
    deliveries: list[AuditEvent] = field(default_factory=list)
    reminders: list[ReminderRecord] = field(default_factory=list)


def supervisors(matter: Matter) -> list[MatterMembership]:
    return list(
        MatterMembership.objects.filter(matter=matter, role="supervising_attorney")
        .select_related("user")
        .order_by("user__username")
    )


def _assignment_days(matter: Matter) -> dict[int, dict[dt.date, int]]:
    """Engagement id → {assignment day (the firm's day) → tasks assigned that day}, from the
    audit trail: every assignment and reassignment names its engagement."""
    zone = firm_zone()
    days: dict[int, dict[dt.date, int]] = defaultdict(lambda: defaultdict(int))
    events = (
        AuditEvent.objects.filter(matter_id=matter.pk, action__in=ASSIGNING_ACTIONS)
        .order_by("id")
        .values_list("after", "occurred_at")
    )
    for after, occurred_at in events.iterator(chunk_size=2000):
        engagement_id = (after or {}).get("engagement")
        if engagement_id is not None:
            days[int(engagement_id)][occurred_at.astimezone(zone).date()] += 1
    return days


def _vetting(records: Sequence[DueDiligenceRecord], days: dict[dt.date, int]) -> list[VettingOnDay]:
    """The vendor's records of each vetting kind, with the status each had on the day
    (`DueDiligenceRecord.status_on`, the model's one definition). Only records that could
    bear on the day are listed: those recorded by then."""
    labels = dict(DiligenceKind.choices)
    result = []
    for day in sorted(days):
        end_of_day = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=firm_zone())
        relevant = [r for r in records if r.recorded_at < end_of_day]
        grouped = [
            (labels[kind], [(r, r.status_on(day)) for r in relevant if r.kind == kind])
            for kind in VETTING_KINDS
        ]
        result.append(VettingOnDay(day=day, tasks=days[day], records=grouped))
    return result


def engagement_sections(matter: Matter) -> list[EngagementSection]:
    """Each engagement with its vendor's vetting on every assignment day, its conflict
    clearance (the hits it was made on are on the row) and the client's consent."""
    days = _assignment_days(matter)
    engagements = list(
        Engagement.objects.filter(matter=matter)
        .select_related(
            "vendor", "conflict_checked_by", "consent_recorded_by", "consent_revoked_by"
        )
        .prefetch_related(
            Prefetch(
                "vendor__diligence",
                queryset=DueDiligenceRecord.objects.filter(kind__in=VETTING_KINDS)
                .select_related("recorded_by")
                .order_by("kind", "valid_from", "pk"),
            )
        )
        .order_by("created_at", "pk")
    )
    sections = []
    for engagement in engagements:
        consent = None
        if engagement.consent_evidence and engagement.consent_evidence_sha256:
            consent = Evidence(
                "consent",
                engagement.consent_evidence_sha256,
                engagement.consent_evidence.name,
                "consent",
            )
        sections.append(
            EngagementSection(
                engagement=engagement,
                vetting=_vetting(
                    list(engagement.vendor.diligence.all()), days.get(engagement.pk, {})
                ),
                consent_evidence=consent,
            )
        )
    return sections


def diligence_evidence(sections: Sequence[EngagementSection]) -> list[Evidence]:
    """Every vetting record's evidence file shown in the file, once per hash."""
    found: dict[str, Evidence] = {}
    for section in sections:
        for record in section.engagement.vendor.diligence.all():
            if record.has_evidence and record.evidence_sha256 not in found:
                found[record.evidence_sha256] = Evidence(
                    "diligence",
                    record.evidence_sha256,
                    record.evidence.name,
                    record.evidence_name or "evidence",
                )
    return list(found.values())


def matter_tasks(matter: Matter) -> QuerySet[Task]:
    return Task.objects.filter(matter=matter).order_by("pk")


def _task_queryset(ids: Sequence[int]) -> QuerySet[Task]:
    return (
        Task.objects.filter(pk__in=ids)
        .order_by("pk")
        .select_related("engagement__vendor", "created_by")
        .prefetch_related(
            Prefetch(
                "submissions",
                queryset=Submission.objects.select_related(
                    "submitted_by", "submitted_by__vendor_membership__vendor"
                ).order_by("version"),
            ),
            Prefetch(
                "submissions__reviews",
                queryset=Review.objects.select_related("reviewer").order_by("started_at"),
            ),
            Prefetch(
                "signoffs",
                queryset=SignOff.objects.select_related(
                    "attorney", "bar_admission", "submission"
                ).order_by("signed_at"),
            ),
            Prefetch(
                "due_date_changes",
                queryset=TaskDueDateChange.objects.select_related("changed_by").order_by(
                    "changed_at"
                ),
            ),
        )
    )


def _events_by_task(
    matter: Matter, ids: Sequence[int], actions: Sequence[str]
) -> dict[int, list[AuditEvent]]:
    found: dict[int, list[AuditEvent]] = defaultdict(list)
    events = (
        AuditEvent.objects.filter(
            matter_id=matter.pk,
            object_type=TASK_OBJECT,
            object_id__in=[str(i) for i in ids],
            action__in=actions,
        )
        .select_related("actor")
        .order_by("id")
    )
    for event in events:
        found[int(event.object_id)].append(event)
    return found


def task_batches(
    matter: Matter, *, max_task_id: int, batch_size: int = 200
) -> Iterator[list[TaskSection]]:
    """The matter's tasks up to `max_task_id` in id order, `batch_size` at a time, each
    batch read with a fixed number of queries (the tasks and their related rows; audit
    events; reminders)."""
    ids = matter_tasks(matter).filter(pk__lte=max_task_id).values_list("pk", flat=True)
    chunk: list[int] = []
    for task_id in ids.iterator(chunk_size=2000):
        chunk.append(task_id)
        if len(chunk) == batch_size:
            yield _batch(matter, chunk)
            chunk = []
    if chunk:
        yield _batch(matter, chunk)


def _batch(matter: Matter, ids: Sequence[int]) -> list[TaskSection]:
    assignments = _events_by_task(matter, ids, ASSIGNING_ACTIONS)
    deliveries = _events_by_task(matter, ids, ("task.delivered",))
    reminders: dict[int, list[ReminderRecord]] = defaultdict(list)
    sent = ReminderRecord.objects.filter(
        object_type=TASK_OBJECT, object_id__in=ids, sent_at__isnull=False
    ).order_by("sent_at", "pk")
    for reminder in sent:
        reminders[reminder.object_id].append(reminder)
    return [
        TaskSection(
            task=task,
            assignments=assignments.get(task.pk, []),
            deliveries=deliveries.get(task.pk, []),
            reminders=reminders.get(task.pk, []),
        )
        for task in _task_queryset(ids)
    ]


def signed_version(signoff: SignOff) -> Evidence:
    """A version an attorney signed off, as an evidence file (the work product relied on)."""
    submission: Any = signoff.submission
    return Evidence("version", submission.sha256, submission.file.name, submission.original_name)
