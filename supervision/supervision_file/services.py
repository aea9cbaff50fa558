"""Requesting, generating and downloading a matter's supervision file; each step audited.

The generation runs in a Celery worker (`tasks.py`) and writes its ZIP under a temporary
name; only a finished file is renamed into place and marked `done`, so a crash, a time
limit or a killed worker never leaves a half file that a download could reach. The job then
shows as failed (at once, or once its heartbeat is older than `STALE_AFTER`) and can be
requested again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

from django.contrib.auth.models import User
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.safestring import SafeString

from lpo_tracker.audit.models import AuditEvent
from lpo_tracker.audit.selectors import events_for_matter
from lpo_tracker.audit.services import audit_record, audit_verify_matter
from lpo_tracker.errors import NotEligible
from lpo_tracker.storage import ScannedFileSystemStorage
from matters.models import Matter
from matters.selectors import may_compile_supervision_file, may_see_walls
from supervision.supervision_file import archive, collect, report
from supervision.supervision_file.models import (
    ACTIVE_STATUSES,
    FileStatus,
    SupervisionFile,
)

logger = logging.getLogger(__name__)
FOLDER = "supervision-files"


class GenerationAbandoned(Exception):
    """The job was failed (as stale) or finished by someone else while this worker ran."""


def _refuse_unless_allowed(actor: User, matter: Matter) -> None:
    if not may_compile_supervision_file(actor, matter):
        raise NotEligible(
            "The supervision file is for the matter's responsible and "
            "supervising attorneys and the firm's risk team.",
            code="not_allowed",
        )


def _fail(job: SupervisionFile, *, reason: str, expected: tuple[str, ...]) -> bool:
    """Mark the job failed (if it is still in an `expected` status) and audit it."""
    with transaction.atomic():
        failed = SupervisionFile.objects.filter(pk=job.pk, status__in=expected).update(
            status=FileStatus.FAILED, error=reason[:2000], finished_at=timezone.now()
        )
        if failed:
            audit_record(
                actor=None,
                action="supervision_file.failed",
                obj=job,
                matter_id=job.matter_id,
                after={"job": job.pk, "reason": reason[:500]},
            )
    return bool(failed)


def supervision_file_request(*, actor: User, matter: Matter) -> SupervisionFile:
    """Queue a new file for the matter, or return the one being generated.

    1. Refuse anyone but the matter's attorneys and risk (screened people included).
    2. A queued or running job whose worker stopped reporting is failed first.
    3. Create the job (one active job per matter: a unique index) and audit the request;
       the worker is asked after commit (a lost message leaves the job queued, and it goes
       stale and can be retried like a crash).
    """
    _refuse_unless_allowed(actor, matter)
    now = timezone.now()
    for stale in SupervisionFile.objects.filter(matter=matter, status__in=ACTIVE_STATUSES):
        if stale.is_stale(now):
            _fail(
                stale,
                reason="The worker stopped reporting (crashed or restarted).",
                expected=ACTIVE_STATUSES,
            )
    try:
        with transaction.atomic():
            job = SupervisionFile.objects.create(
                matter=matter, requested_by=actor, shows_walls=may_see_walls(actor, matter)
            )
            audit_record(
                actor=actor,
                action="supervision_file.requested",
                obj=job,
                matter_id=matter.pk,
                after={"job": job.pk, "shows_walls": job.shows_walls},
            )
            transaction.on_commit(lambda: _enqueue(job.pk), robust=True)
    except IntegrityError:
        return SupervisionFile.objects.get(matter=matter, status__in=ACTIVE_STATUSES)
    return job


def _enqueue(job_id: int) -> None:
    from supervision.supervision_file.tasks import supervision_file_generate_task

    supervision_file_generate_task.delay(job_id)


# --- Generation ---------------------------------------------------------------------------


@dataclass
class Snapshot:
    """What the file covers: the matter's events up to one id, its tasks up to one id."""

    last_event_id: int
    head_hash: str
    event_count: int
    chain_ok: bool
    chain_checked: int
    chain_broken_id: int | None
    chain_reason: str
    firm_head_id: int
    firm_head_hash: str
    max_task_id: int
    task_count: int


def _snapshot(matter: Matter) -> Snapshot:
    last = (events_for_matter(matter.pk).order_by("-id").values("id", "matter_hash").first()) or {
        "id": 0,
        "matter_hash": "",
    }
    verified = audit_verify_matter(matter.pk)  # issue 12's per-matter check, reused
    firm = AuditEvent.objects.order_by("-id").values("id", "hash").first() or {"id": 0, "hash": ""}
    tasks = collect.matter_tasks(matter)
    max_task_id = max(tasks.values_list("pk", flat=True).order_by("-pk")[:1], default=0)
    return Snapshot(
        last_event_id=last["id"],
        head_hash=last["matter_hash"],
        event_count=events_for_matter(matter.pk).filter(id__lte=last["id"]).count(),
        chain_ok=verified.ok,
        chain_checked=verified.checked,
        chain_broken_id=verified.first_broken_id,
        chain_reason=verified.reason,
        firm_head_id=firm["id"],
        firm_head_hash=firm["hash"],
        max_task_id=max_task_id,
        task_count=tasks.filter(pk__lte=max_task_id).count(),
    )


Progress = Callable[[str, int], None]


def _report_context(job: SupervisionFile, snap: Snapshot, volumes: int) -> dict[str, Any]:
    matter = job.matter
    now = timezone.now()
    return {
        "matter": matter,
        "responsible": collect.person(matter.responsible_attorney),
        "supervisors": [{"name": collect.person(m.user)} for m in collect.supervisors(matter)],
        "period_start": matter.opened_on,
        "period_end": matter.closed_on,
        "generated_by": collect.person(job.requested_by),
        "generated_at_utc": now.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S"),
        "generated_at_local": now,
        "volumes": volumes,
        **snap.__dict__,
    }


def build_archive(job: SupervisionFile, path: Path, progress: Progress) -> Snapshot:
    """Write the whole ZIP to `path`.

    1. Snapshot the matter's chain head (and verify the chain) and its last task.
    2. Consent and diligence evidence, then the audit events (JSON Lines and CSV).
    3. Tasks in batches: each batch's signed versions go in, its pages are added to the
       current PDF volume; a full volume is rendered into the ZIP and dropped.
    4. The metadata, chain.py and verify.py; the manifest last.
    """
    matter = job.matter
    storage = cast(ScannedFileSystemStorage, default_storage)
    snap = _snapshot(matter)
    volumes = max(1, math.ceil(snap.task_count / report.TASKS_PER_VOLUME))
    context = _report_context(job, snap, volumes)
    zipped = archive.ArchiveWriter(path)
    try:
        progress("Evidence of the engagements", 0)
        engagements = collect.engagement_sections(matter)
        for section in engagements:
            if section.consent_evidence is not None:
                archive.add_evidence(zipped, storage, section.consent_evidence)
        for evidence in collect.diligence_evidence(engagements):
            archive.add_evidence(zipped, storage, evidence)
        progress("Audit events", 0)
        archive.write_events(
            zipped,
            events_for_matter(matter.pk).filter(id__lte=snap.last_event_id),
            withhold=lambda event: not job.shows_walls and event.action.startswith("wall."),
        )
        context.update(
            engagements=engagements,
            engagement_count=len(engagements),
            audit_files=[
                (name, zipped.hashes[name]) for name in (archive.EVENTS_JSONL, archive.EVENTS_CSV)
            ],
        )
        _write_volumes(zipped, storage, job, snap, context, progress)
        archive.add_metadata(zipped, _metadata(job, snap, volumes))
        archive.add_verifier(zipped)
    finally:
        zipped.close()
    return snap


def _write_volumes(
    zipped: archive.ArchiveWriter,
    storage: ScannedFileSystemStorage,
    job: SupervisionFile,
    snap: Snapshot,
    context: dict[str, Any],
    progress: Progress,
) -> None:
    pages: list[str] = []
    volume, in_volume, first, done = 1, 0, 1, 0

    def render() -> None:
        name = "report.pdf" if volume == 1 else f"report-volume-{volume:02d}.pdf"
        html = report.volume_html(
            {
                **context,
                "volume": volume,
                "first_task": first,
                "last_task": done,
                "tasks_html": SafeString("".join(pages)),
            }
        )
        with zipped.member(name) as target:
            report.write_pdf(
                html,
                cast(IO[bytes], target),
                footer=f"Supervision file · {job.matter.number} · volume {volume} "
                f"of {context['volumes']}",
            )

    batches = collect.task_batches(
        job.matter,
        max_task_id=snap.max_task_id,
        batch_size=report.TASKS_PER_VOLUME // report.BATCHES_PER_VOLUME,
    )
    for batch in batches:
        for section in batch:
            for signoff in section.task.signoffs.all():
                evidence = collect.signed_version(signoff)
                archive.add_evidence(zipped, storage, evidence)
                signoff.zip_path = evidence.path  # type: ignore[attr-defined]
                signoff.zip_intact = evidence.intact  # type: ignore[attr-defined]
        pages.append(report.tasks_html(batch, context))
        in_volume += len(batch)
        done += len(batch)
        progress(f"Tasks {done} of {snap.task_count}", len(batch))
        if in_volume >= report.TASKS_PER_VOLUME and done < snap.task_count:
            render()
            volume, pages, in_volume, first = volume + 1, [], 0, done + 1
    progress("The report's last volume", 0)
    render()


def _metadata(job: SupervisionFile, snap: Snapshot, volumes: int) -> dict[str, Any]:
    return {
        "format": "lpo-tracker-supervision-file/1",
        "job": job.pk,
        "matter_id": job.matter_id,
        "matter_number": job.matter.number,
        "generated_by": job.requested_by.get_username(),
        "generated_at": timezone.now().astimezone(dt.UTC).isoformat(),
        "head_hash": snap.head_hash,
        "last_event_id": snap.last_event_id,
        "event_count": snap.event_count,
        "task_count": snap.task_count,
        "chain_verified_at_generation": snap.chain_ok,
        "firm_head": {"id": snap.firm_head_id, "hash": snap.firm_head_hash},
        "report_volumes": volumes,
        "wall_events_withheld": not job.shows_walls,
    }


def _sha256_and_size(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(archive.CHUNK):
            digest.update(chunk)
    return digest.hexdigest(), path.stat().st_size


def supervision_file_generate(*, job_id: int) -> None:
    """The worker's side: claim the job, write the ZIP, publish it or fail it.

    1. Claim: queued → running in one conditional UPDATE (a second delivery does nothing).
    2. Write to `<token>.zip.part`, reporting progress (and a heartbeat) per batch; a
       progress report that finds the job no longer running abandons the work.
    3. fsync, rename to `<token>.zip`, mark done (conditionally), audit "generated".
    4. Any failure: remove the partial file, mark failed with the reason, audit it.
    """
    now = timezone.now()
    if not SupervisionFile.objects.filter(pk=job_id, status=FileStatus.QUEUED).update(
        status=FileStatus.RUNNING, started_at=now, heartbeat_at=now
    ):
        return
    job = SupervisionFile.objects.select_related("matter", "requested_by").get(pk=job_id)
    folder = Path(default_storage.path(f"{FOLDER}/{job.matter_id}"))
    folder.mkdir(parents=True, exist_ok=True)
    part, final = folder / f"{job.token}.zip.part", folder / f"{job.token}.zip"
    total = 0

    def progress(stage: str, advanced: int) -> None:
        nonlocal total
        total += advanced
        if not SupervisionFile.objects.filter(pk=job.pk, status=FileStatus.RUNNING).update(
            stage=stage[:120], progress_done=total, heartbeat_at=timezone.now()
        ):
            raise GenerationAbandoned(f"job {job.pk} is no longer running")

    try:
        SupervisionFile.objects.filter(pk=job.pk).update(
            progress_total=collect.matter_tasks(job.matter).count()
        )
        snap = build_archive(job, part, progress)
        with part.open("rb") as written:
            os.fsync(written.fileno())
        os.replace(part, final)
        _publish(job, final, snap)
    except BaseException as error:  # the time limit and a worker shutdown included
        part.unlink(missing_ok=True)
        if not isinstance(error, GenerationAbandoned):
            logger.exception("supervision file %s failed", job.pk)
            _fail(job, reason=f"{type(error).__name__}: {error}", expected=(FileStatus.RUNNING,))
        if not isinstance(error, Exception):
            raise


def _publish(job: SupervisionFile, final: Path, snap: Snapshot) -> None:
    sha256, size = _sha256_and_size(final)
    name = f"{FOLDER}/{job.matter_id}/{final.name}"
    with transaction.atomic():
        published = SupervisionFile.objects.filter(pk=job.pk, status=FileStatus.RUNNING).update(
            status=FileStatus.DONE,
            file_name=name,
            sha256=sha256,
            size=size,
            head_hash=snap.head_hash,
            event_count=snap.event_count,
            task_count=snap.task_count,
            progress_done=snap.task_count,
            stage="Ready",
            finished_at=timezone.now(),
        )
        if not published:
            final.unlink(missing_ok=True)
            raise GenerationAbandoned(f"job {job.pk} is no longer running")
        audit_record(
            actor=job.requested_by,
            action="supervision_file.generated",
            obj=job,
            matter_id=job.matter_id,
            after={
                "job": job.pk,
                "sha256": sha256,
                "size": size,
                "head_hash": snap.head_hash,
                "last_event_id": snap.last_event_id,
                "events": snap.event_count,
                "tasks": snap.task_count,
            },
        )


# --- Download -----------------------------------------------------------------------------


@transaction.atomic
def supervision_file_open(*, actor: User, job: SupervisionFile) -> IO[bytes]:
    """Open a finished file for one of the matter's attorneys or risk; audited."""
    _refuse_unless_allowed(actor, job.matter)
    if job.status != FileStatus.DONE:
        raise NotEligible("This supervision file is not ready.", code="not_ready")
    if job.shows_walls and not may_see_walls(actor, job.matter):
        raise NotEligible("This file shows who is screened from the matter.", code="walls")
    handle = default_storage.open(job.file_name, "rb")
    audit_record(
        actor=actor,
        action="supervision_file.downloaded",
        obj=job,
        matter_id=job.matter_id,
        after={"job": job.pk, "sha256": job.sha256, "size": job.size},
    )
    return cast(IO[bytes], handle)
