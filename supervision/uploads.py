"""Validation of uploaded work product: the shared rules of `lpo_tracker.uploads` (name, size,
type, content matching the extension, malware scan) with the types a provider's work product
may take.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.core.files.uploadedfile import UploadedFile
from django.db import models

from lpo_tracker import uploads
from lpo_tracker.uploads import CheckedUpload, UploadRejected, clean_file_name

CONTENT_TYPES: dict[str, str] = {
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".txt": "text/plain",
    ".csv": "text/csv",
    ".rtf": "application/rtf",
}

__all__ = ["CONTENT_TYPES", "CheckedUpload", "UploadRejected", "check_upload", "clean_file_name",
           "upload_accept"]


def check_upload(upload: UploadedFile) -> CheckedUpload:
    """Validate and hash a work-product upload; raises UploadRejected with a clear reason."""
    return uploads.check_upload(upload, content_types=CONTENT_TYPES)


def upload_accept(*, actor: AbstractBaseUser, upload: UploadedFile, about: models.Model,
                  matter_id: int | None) -> CheckedUpload:
    """Validate, scan for malware and hash work product before it is stored (see
    `lpo_tracker.uploads.upload_accept`)."""
    return uploads.upload_accept(actor=actor, upload=upload, about=about, matter_id=matter_id,
                                 content_types=CONTENT_TYPES)
