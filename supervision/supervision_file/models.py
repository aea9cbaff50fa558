"""A matter's supervision file: one generation job and, once done, its ZIP on private storage.

The row is the job's whole state: the worker writes its progress here, the matter page polls
it, and the ZIP is downloadable only once `status` is `done` (the file is written under a
temporary name and renamed into place before that, so a crash never leaves a half file that
a download could reach).
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class FileStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Being generated"
    DONE = "done", "Ready"
    FAILED = "failed", "Failed"


# A running job whose worker has not reported for this long is taken as crashed: a worker
# reports after every batch of tasks, which takes seconds, never minutes.
STALE_AFTER = dt.timedelta(minutes=10)
ACTIVE_STATUSES = (FileStatus.QUEUED, FileStatus.RUNNING)


class SupervisionFile(models.Model):
    matter = models.ForeignKey(
        "matters.Matter", on_delete=models.PROTECT, related_name="supervision_files"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # Wall events are written in full only when the requester may see who is screened; a
    # file without them (withheld rows) may go to any of the matter's attorneys.
    shows_walls = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=FileStatus.choices, default=FileStatus.QUEUED)
    token = models.UUIDField(default=uuid.uuid4, editable=False, unique=True)
    stage = models.CharField(max_length=120, blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    requested_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    # Set only when done: the ZIP's storage name, size and SHA-256, and the matter chain's
    # head hash printed on the cover.
    file_name = models.CharField(max_length=200, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    head_hash = models.CharField(max_length=64, blank=True)
    event_count = models.PositiveIntegerField(null=True, blank=True)
    task_count = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = "supervision file"
        constraints = [
            # One generation at a time per matter (a stale one is failed before a new one).
            models.UniqueConstraint(
                fields=["matter"],
                condition=Q(status__in=["queued", "running"]),
                name="supervision_file_one_active_per_matter",
            ),
            models.CheckConstraint(
                condition=~Q(status="done") | (~Q(file_name="") & ~Q(sha256="")),
                name="supervision_file_done_has_file",
            ),
        ]
        indexes = [
            models.Index(fields=["matter", "-requested_at"], name="supervision_file_matter_idx")
        ]

    def __str__(self) -> str:
        return f"Supervision file #{self.pk} of matter {self.matter_id} ({self.status})"

    @property
    def download_name(self) -> str:
        return f"supervision-file-{self.matter.number}-{self.requested_at:%Y%m%d-%H%M%S}.zip"

    def is_stale(self, now: dt.datetime) -> bool:
        """A job the worker has stopped reporting on (crashed, killed, lost message)."""
        if self.status not in ACTIVE_STATUSES:
            return False
        last = self.heartbeat_at or self.requested_at
        return now - last > STALE_AFTER

    @property
    def percent(self) -> int:
        if self.status == FileStatus.DONE:
            return 100
        if not self.progress_total:
            return 0
        return min(99, int(100 * self.progress_done / self.progress_total))
