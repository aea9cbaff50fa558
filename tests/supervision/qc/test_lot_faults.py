"""Faults on the lot's way in: an infected manifest is refused and audited, clamd down
refuses the upload (fail closed), and a failure after the files were written leaves neither
the version nor the manifest behind."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile

from lpo_tracker.audit.models import AuditEvent
from lpo_tracker.errors import UploadRejected
from supervision import services as supervision_services
from supervision.models import Submission
from supervision.qc.models import Lot
from supervision.services import submission_create
from tests import factories as f
from tests.conftest import Cast
from tests.plugins.clamd import EICAR, EICAR_SIGNATURE, Clamd
from tests.supervision.qc.helpers import bulk_task, manifest

pytestmark = pytest.mark.django_db


def stored_files() -> set[Path]:
    root = Path(storages["default"].location)  # type: ignore[attr-defined]
    return {path for path in root.rglob("*") if path.is_file()}


def test_an_infected_manifest_is_refused_audited_and_not_stored(cast: Cast, clamd: Clamd
                                                                 ) -> None:
    task = bulk_task(cast)
    before = stored_files()
    infected = SimpleUploadedFile("manifest.csv", EICAR, content_type="text/csv")
    with pytest.raises(UploadRejected, match=EICAR_SIGNATURE):
        submission_create(actor=cast.vendor_a_user, task=task, upload=f.pdf_upload(),
                          item_count=1, manifest=infected)
    assert not Submission.objects.filter(task=task).exists() and not Lot.objects.exists()
    assert stored_files() == before
    event = AuditEvent.objects.get(action="upload.refused_infected")
    after: dict[str, Any] = event.after or {}
    assert after["name"] == "manifest.csv" and event.object_id == str(task.pk)


def test_with_the_scanner_down_the_lot_is_refused(cast: Cast, clamd: Clamd) -> None:
    task = bulk_task(cast)
    clamd.stop()
    with pytest.raises(UploadRejected):
        submission_create(actor=cast.vendor_a_user, task=task, upload=f.pdf_upload(),
                          item_count=20, manifest=manifest(20))
    assert not Submission.objects.filter(task=task).exists() and not Lot.objects.exists()


def test_a_crash_after_the_files_are_written_leaves_nothing(
    cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = bulk_task(cast)
    before = stored_files()
    real = supervision_services.task_audit

    def crash(actor: Any, task: Any, action: str, *args: Any, **kwargs: Any) -> None:
        if action == "submission.created":  # after the version and its manifest are written
            raise RuntimeError("the database went away")
        real(actor, task, action, *args, **kwargs)

    monkeypatch.setattr(supervision_services, "task_audit", crash)
    with pytest.raises(RuntimeError, match="went away"):
        submission_create(actor=cast.vendor_a_user, task=task, upload=f.pdf_upload(),
                          item_count=20, manifest=manifest(20))
    assert not Submission.objects.filter(task=task).exists() and not Lot.objects.exists()
    assert stored_files() == before
