"""Uploads of work product: validated before anything is stored, stored as immutable versions,
and a failed upload leaves neither a file nor a row behind."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from pytest_django.fixtures import Settings

from lpo_tracker.audit.models import AuditEvent
from lpo_tracker.errors import InvalidTransition, NotEligible
from matters.models import Task, TaskStatus
from supervision.models import Review, ReviewDecision, Submission
from supervision.services import review_start, submission_create
from supervision.uploads import UploadRejected, check_upload, clean_file_name
from tests import factories as f
from tests.conftest import Cast

pytestmark = pytest.mark.django_db


def stored_files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file())


@pytest.fixture
def media_root() -> Path:
    return Path(default_storage.path(""))


@pytest.fixture
def working(cast: Cast) -> Task:
    """cast.task, with vendor A, in progress."""
    return cast.advance(cast.task, TaskStatus.IN_PROGRESS)


def _zip(members: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return buffer.getvalue()


# name → (the upload, the refusal's code, a fragment of its message)
REJECTED: dict[str, tuple[Callable[[], SimpleUploadedFile], str, str]] = {
    "bad extension": (lambda: SimpleUploadedFile("payload.exe", b"MZ\x90\x00"), "bad_type",
                      "are not accepted"),
    "no extension": (lambda: SimpleUploadedFile("README", b"text"), "bad_type", "“none”"),
    "empty file": (lambda: SimpleUploadedFile("empty.pdf", b""), "empty",
                   "The file is empty."),
    "docx that is a plain zip": (
        lambda: SimpleUploadedFile("memo.docx", _zip({"a.txt": "hi"})),
        "bad_content", "not an Office document"),
    "docx that is not a zip": (lambda: SimpleUploadedFile("memo.docx", b"PK-not-really"),
                               "bad_content", "not an Office document"),
    "xlsx holding word parts": (
        lambda: SimpleUploadedFile("sheet.xlsx", _zip({"[Content_Types].xml": "<Types/>",
                                                       "word/document.xml": "<w/>"})),
        "bad_content", "not an Office document"),
    "pdf that is not a pdf": (lambda: SimpleUploadedFile("brief.pdf", b"<html>phish</html>"),
                              "bad_content", "is not a PDF"),
    "text with binary data": (lambda: SimpleUploadedFile("notes.txt", b"abc\x00def"),
                              "bad_content", "binary data"),
    "text not utf-8": (
        lambda: SimpleUploadedFile("notes.csv", "caf\xe9,1\n".encode("latin-1") + b"x" * 10),
        "bad_content", "not UTF-8"),
    "control character in name": (lambda: SimpleUploadedFile("evil\x07.pdf", b"%PDF-1.4"),
                                  "bad_name", "control characters"),
}


def test_invalid_upload_is_rejected_and_nothing_is_stored(
    working: Task, cast: Cast, media_root: Path, subtests: pytest.Subtests
) -> None:
    files_before = stored_files(media_root)
    for case, (make_upload, code, message) in REJECTED.items():
        with subtests.test(case):
            with pytest.raises(UploadRejected, match=message) as refusal:
                submission_create(actor=cast.vendor_a_user, task=working,
                                  upload=make_upload())
            assert refusal.value.code == code

    assert not Submission.objects.exists()
    assert Task.objects.get(pk=working.pk).status == TaskStatus.IN_PROGRESS
    assert stored_files(media_root) == files_before


def test_upload_over_the_size_limit_is_rejected(
    working: Task, cast: Cast, settings: Settings
) -> None:
    settings.MAX_UPLOAD_BYTES = 64
    upload = f.pdf_upload("x" * 100)

    with pytest.raises(UploadRejected, match="the limit is 64") as refusal:
        submission_create(actor=cast.vendor_a_user, task=working, upload=upload)

    assert refusal.value.code == "too_large"
    assert not Submission.objects.exists()


def test_upload_exactly_at_the_size_limit_is_accepted(
    working: Task, cast: Cast, settings: Settings
) -> None:
    upload = f.pdf_upload()
    settings.MAX_UPLOAD_BYTES = upload.size

    submission = submission_create(actor=cast.vendor_a_user, task=working, upload=upload)

    assert submission.size == settings.MAX_UPLOAD_BYTES


def test_path_traversal_name_is_stored_as_plain_name_under_a_random_path(
    working: Task, cast: Cast
) -> None:
    upload = f.pdf_upload()
    # UploadedFile's name setter already strips directories; put the raw name behind it, as a
    # file object from elsewhere could carry it.
    upload._name = "../../etc/passwd.pdf"  # type: ignore[attr-defined]

    submission = submission_create(actor=cast.vendor_a_user, task=working, upload=upload)

    assert submission.original_name == "passwd.pdf"
    assert submission.file.name.startswith(f"work-product/{working.pk}/")
    assert "passwd" not in submission.file.name
    assert ".." not in submission.file.name
    assert Path(default_storage.path(submission.file.name)).is_relative_to(
        Path(default_storage.path(""))
    )


@pytest.mark.parametrize(
    ("raw", "clean"),
    [("../../etc/passwd.pdf", "passwd.pdf"), ("..\\..\\windows\\win.ini.txt", "win.ini.txt"),
     ("/abs/path/report.docx", "report.docx"), ("  spaced.pdf ", "spaced.pdf")],
)
def test_clean_file_name_keeps_only_the_last_component(raw: str, clean: str) -> None:
    assert clean_file_name(raw) == clean


@pytest.mark.parametrize("raw", ["", "..", "dir/..", "/"])
def test_clean_file_name_refuses_names_with_nothing_left(raw: str) -> None:
    with pytest.raises(UploadRejected, match="no name"):
        clean_file_name(raw)


def test_accepted_upload_records_sha256_size_and_the_exact_bytes(
    working: Task, cast: Cast
) -> None:
    upload = f.docx_upload("Memo on Privilege.docx")
    body = upload.read()
    upload.seek(0)

    submission = submission_create(actor=cast.vendor_a_user, task=working, upload=upload,
                                   note=" first cut ")

    assert submission.sha256 == hashlib.sha256(body).hexdigest()
    assert submission.size == len(body)
    assert submission.original_name == "Memo on Privilege.docx"
    assert submission.content_type.endswith("wordprocessingml.document")
    assert submission.note == "first cut"
    assert submission.submitted_by == cast.vendor_a_user
    with default_storage.open(submission.file.name, "rb") as stored:
        assert stored.read() == body
    task = Task.objects.get(pk=working.pk)
    assert task.status == TaskStatus.SUBMITTED
    assert task.submitted_at == submission.submitted_at
    assert task.review_due_at is not None and task.review_due_at > submission.submitted_at


def test_check_upload_hashes_what_it_validated() -> None:
    upload = f.pdf_upload("hash me")
    body = upload.read()

    checked = check_upload(upload)

    assert checked.sha256 == hashlib.sha256(body).hexdigest()
    assert checked.size == len(body)
    assert checked.content_type == "application/pdf"
    assert upload.tell() == 0  # left ready for storing


def test_versions_increment_and_a_new_version_supersedes_the_pending_review(
    working: Task, cast: Cast
) -> None:
    first = submission_create(actor=cast.vendor_a_user, task=working,
                              upload=f.pdf_upload("one"))
    review = review_start(actor=cast.attorney, task=working)
    second = submission_create(actor=cast.vendor_a_user, task=working,
                               upload=f.pdf_upload("two"))
    third = submission_create(actor=cast.vendor_a_user, task=working,
                              upload=f.pdf_upload("three"))

    assert [first.version, second.version, third.version] == [1, 2, 3]
    assert len({first.file.name, second.file.name, third.file.name}) == 3
    review.refresh_from_db()
    assert review.decision == ReviewDecision.SUPERSEDED
    assert Task.objects.get(pk=working.pk).status == TaskStatus.SUBMITTED


def test_upload_to_a_draft_task_is_refused(cast: Cast, media_root: Path) -> None:
    files_before = stored_files(media_root)

    with pytest.raises(InvalidTransition, match="cannot take a new version"):
        submission_create(actor=cast.staff_on, task=cast.task, upload=f.pdf_upload())

    assert not Submission.objects.exists()
    assert stored_files(media_root) == files_before


def test_vendor_b_cannot_upload_to_vendor_a_task(
    working: Task, cast: Cast, media_root: Path
) -> None:
    files_before = stored_files(media_root)

    with pytest.raises(NotEligible, match="not with your organisation"):
        submission_create(actor=cast.vendor_b_user, task=working, upload=f.pdf_upload())

    assert not Submission.objects.exists()
    assert stored_files(media_root) == files_before


def test_staff_off_the_matter_cannot_upload(working: Task, cast: Cast) -> None:
    with pytest.raises(NotEligible):
        submission_create(actor=cast.staff_off, task=working, upload=f.pdf_upload())
    assert not Submission.objects.exists()


def test_upload_to_a_delivered_task_is_refused(cast: Cast, media_root: Path) -> None:
    task = cast.advance(cast.task, TaskStatus.DELIVERED)
    files_before = stored_files(media_root)

    with pytest.raises(InvalidTransition):
        submission_create(actor=cast.vendor_a_user, task=task, upload=f.pdf_upload())

    assert Submission.objects.count() == 1
    assert stored_files(media_root) == files_before


def test_failure_after_the_bytes_are_stored_removes_them_and_every_row(
    working: Task, cast: Cast, media_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last step (the audit event) fails: the file written a moment earlier goes too."""
    files_before = stored_files(media_root)
    events_before = AuditEvent.objects.count()

    def broken_audit(*args: object, **kwargs: object) -> None:
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr("supervision.services.task_audit", broken_audit)
    with pytest.raises(RuntimeError, match="audit store unavailable"):
        submission_create(actor=cast.vendor_a_user, task=working, upload=f.pdf_upload())

    assert stored_files(media_root) == files_before
    assert not Submission.objects.exists()
    assert AuditEvent.objects.count() == events_before
    assert Task.objects.get(pk=working.pk).status == TaskStatus.IN_PROGRESS
    assert not Review.objects.exists()


def test_submission_rows_refuse_update_and_delete(working: Task, cast: Cast) -> None:
    submission = submission_create(actor=cast.vendor_a_user, task=working,
                                   upload=f.pdf_upload())

    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        Submission.objects.filter(pk=submission.pk).update(sha256="f" * 64)
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        Submission.objects.filter(pk=submission.pk).delete()

    assert Submission.objects.get().sha256 == submission.sha256
