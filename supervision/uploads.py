"""Validation of uploaded work product: name, size, type and content, before anything is
stored. The browser's declared content type is never trusted; the extension is allow-listed
and the bytes must match it (an Office file must really be an Office zip, not any zip).
"""

from __future__ import annotations

import hashlib
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import PurePath

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat

from lpo_tracker.errors import RuleViolation

CONTENT_TYPES = {
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".txt": "text/plain",
    ".csv": "text/csv",
    ".rtf": "application/rtf",
}
_OFFICE_PART = {".docx": "word/", ".xlsx": "xl/", ".pptx": "ppt/"}
_MAX_NAME = 200


@dataclass(frozen=True)
class CheckedUpload:
    name: str
    content_type: str
    size: int
    sha256: str


class UploadRejected(RuleViolation):
    pass


def clean_file_name(raw: str) -> str:
    """The last path component, normalised, with control characters refused."""
    name = unicodedata.normalize("NFC", PurePath(raw.replace("\\", "/")).name).strip()
    if not name or name in {".", ".."}:
        raise UploadRejected("The file has no name.", code="bad_name")
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        raise UploadRejected("The file name contains control characters.", code="bad_name")
    if len(name) > _MAX_NAME:
        raise UploadRejected(
            f"The file name is longer than {_MAX_NAME} characters.", code="bad_name"
        )
    return name


def _check_content(extension: str, upload: UploadedFile) -> None:
    upload.seek(0)
    head = upload.read(8192)
    upload.seek(0)
    if extension == ".pdf" and not head.startswith(b"%PDF-"):
        raise UploadRejected("The file is named .pdf but is not a PDF.", code="bad_content")
    if extension == ".rtf" and not head.startswith(b"{\\rtf"):
        raise UploadRejected("The file is named .rtf but is not RTF.", code="bad_content")
    if extension in (".txt", ".csv"):
        if b"\x00" in head:
            raise UploadRejected("The text file contains binary data.", code="bad_content")
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            # A multi-byte character cut at the 8 KiB boundary is fine; anything else is not.
            if exc.start < len(head) - 4:
                raise UploadRejected(
                    "The text file is not UTF-8 encoded.", code="bad_content"
                ) from None
    if extension in _OFFICE_PART:
        try:
            with zipfile.ZipFile(upload) as archive:
                names = archive.namelist()
        except zipfile.BadZipFile:
            raise UploadRejected(
                f"The file is named {extension} but is not an Office document.",
                code="bad_content",
            ) from None
        finally:
            upload.seek(0)
        part = _OFFICE_PART[extension]
        if "[Content_Types].xml" not in names or not any(n.startswith(part) for n in names):
            raise UploadRejected(
                f"The file is named {extension} but is not an Office document.",
                code="bad_content",
            )


def check_upload(upload: UploadedFile) -> CheckedUpload:
    """Validate an upload and hash it. Raises UploadRejected with a message a user can act on.

    1. Name: a plain file name with an allowed extension.
    2. Size: not empty, not over MAX_UPLOAD_MB.
    3. Content: the bytes match the extension.
    4. SHA-256 and size of exactly what will be stored.
    """
    name = clean_file_name(upload.name or "")
    extension = PurePath(name).suffix.lower()
    if extension not in CONTENT_TYPES:
        allowed = ", ".join(sorted(CONTENT_TYPES))
        raise UploadRejected(
            f"Files of type “{extension or 'none'}” are not accepted; use one of {allowed}.",
            code="bad_type",
        )
    size = upload.size or 0
    if size == 0:
        raise UploadRejected("The file is empty.", code="empty")
    if size > settings.MAX_UPLOAD_BYTES:
        raise UploadRejected(
            f"The file is {filesizeformat(size)}; the limit is "
            f"{filesizeformat(settings.MAX_UPLOAD_BYTES)}.",
            code="too_large",
        )
    _check_content(extension, upload)
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return CheckedUpload(
        name=name, content_type=CONTENT_TYPES[extension], size=size, sha256=digest.hexdigest()
    )
