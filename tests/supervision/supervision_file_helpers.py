"""Building a demo-like matter and its supervision file for the tests."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import subprocess
import zipfile
from pathlib import Path

from django.contrib.auth.models import User
from django.core.files.storage import default_storage
from django.utils import timezone

from matters.models import Matter, TaskStatus
from matters.services import task_change_due_date
from supervision.models import ReminderKind, ReminderRecord
from supervision.services import review_start, submission_create
from supervision.supervision_file.models import SupervisionFile
from supervision.supervision_file.services import (
    supervision_file_generate,
    supervision_file_request,
)
from tests import factories as f
from tests.conftest import Cast

# Plain Python: verify.py must run without the project or its packages (-I: no site dirs,
# no user site, no PYTHON* variables).
PLAIN_PYTHON = shutil.which("python3") or "/usr/bin/python3"


def fill_matter(cast: Cast) -> Matter:
    """The cast's matter as the demo has it: a delivered task (versions, a review, the
    sign-off, delivery, a moved due date, a reminder sent), one sent back for changes and
    one still in draft."""
    delivered = cast.advance(cast.task, TaskStatus.IN_REVIEW)
    task_change_due_date(
        actor=cast.staff_on,
        task=delivered,
        kind="sla",
        new_value=timezone.now() + dt.timedelta(days=9),
        reason="The client sent a second custodian",
    )
    ReminderRecord.objects.create(
        kind=ReminderKind.TASK_DUE_SOON,
        object_type="matters.task",
        object_id=delivered.pk,
        threshold="-24h",
        recipients=[cast.vendor_a_user.pk],
        sent_at=timezone.now(),
    )
    cast.advance(delivered, TaskStatus.DELIVERED)
    reworked = cast.advance(cast.new_task(title="Privilege log"), TaskStatus.CHANGES_REQUESTED)
    submission_create(
        actor=cast.vendor_a_user,
        task=reworked,
        upload=f.pdf_upload("second pass", name="privilege-log-v2.pdf"),
    )
    review_start(actor=cast.attorney, task=reworked)
    cast.new_task(title="Deposition summary")
    return cast.matter


def generate(user: User, matter: Matter) -> SupervisionFile:
    """Request a file as `user` and run the worker's side in this process."""
    job = supervision_file_request(actor=user, matter=matter)
    supervision_file_generate(job_id=job.pk)
    return SupervisionFile.objects.get(pk=job.pk)


def unpack(job: SupervisionFile, folder: Path) -> Path:
    with zipfile.ZipFile(default_storage.path(job.file_name)) as archive:
        archive.extractall(folder)
    return folder


def run_verify(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 (a fixed interpreter and our own script)
        [PLAIN_PYTHON, "-I", "verify.py", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def flip_one_byte(path: Path, offset: int = 0) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))
