"""Validation of uploaded files that any app stores as evidence: name, size, type and content,
checked before anything is written, then a malware scan (`upload_accept`). The browser's
declared content type is never trusted; the extension is allow-listed and the bytes must
match it (an Office file must really be an Office zip, not any zip).

Shared by the apps that may not import each other: vendors (due-diligence evidence) and
matters (the client's consent to outsourcing). `supervision.uploads` applies the same rules to
work product.
"""

from __future__ import annotations

import hashlib
import unicodedata
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePath

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.uploadedfile import UploadedFile
from django.db import models, transaction
from django.template.defaultfilters import filesizeformat

from lpo_tracker import malware
from lpo_tracker.audit.services import audit_record
from lpo_tracker.errors import UploadRejected

# Signed agreements, certificates, audit reports, insurance certificates, and scans of them.
EVIDENCE_TYPES: dict[str, str] = {
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".txt": "text/plain",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
}
_OFFICE_PART = {".docx": "word/", ".xlsx": "xl/", ".pptx": "ppt/"}
_MAGIC = {
    ".pdf": (b"%PDF-", "a PDF"),
    ".rtf": (b"{\\rtf", "RTF"),
    ".png": (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    ".jpg": (b"\xff\xd8\xff", "a JPEG image"),
    ".jpeg": (b"\xff\xd8\xff", "a JPEG image"),
}
_MAX_NAME = 200


@dataclass(frozen=True)
class CheckedUpload:
    name: str
    content_type: str
    size: int
    sha256: str


__all__ = ["EVIDENCE_TYPES", "CheckedUpload", "UploadRejected", "check_upload",
           "clean_file_name", "content_type_for", "upload_accept"]


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


def _check_text(head: bytes) -> None:
    if b"\x00" in head:
        raise UploadRejected("The text file contains binary data.", code="bad_content")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the 8 KiB boundary is fine; anything else is not.
        if exc.start < len(head) - 4:
            raise UploadRejected("The text file is not UTF-8 encoded.",
                                 code="bad_content") from None


def _check_office(extension: str, upload: UploadedFile) -> None:
    not_office = UploadRejected(
        f"The file is named {extension} but is not an Office document.", code="bad_content"
    )
    try:
        with zipfile.ZipFile(upload) as archive:
            names = archive.namelist()
    except zipfile.BadZipFile:
        raise not_office from None
    finally:
        upload.seek(0)
    part = _OFFICE_PART[extension]
    if "[Content_Types].xml" not in names or not any(n.startswith(part) for n in names):
        raise not_office


def _check_content(extension: str, upload: UploadedFile) -> None:
    upload.seek(0)
    head = upload.read(8192)
    upload.seek(0)
    if extension in _MAGIC:
        magic, what = _MAGIC[extension]
        if not head.startswith(magic):
            raise UploadRejected(f"The file is named {extension} but is not {what}.",
                                 code="bad_content")
    if extension in (".txt", ".csv"):
        _check_text(head)
    if extension in _OFFICE_PART:
        _check_office(extension, upload)


def check_upload(upload: UploadedFile, *, content_types: Mapping[str, str] = EVIDENCE_TYPES
                 ) -> CheckedUpload:
    """Validate an upload and hash it. Raises UploadRejected with a message a user can act on.

    1. Name: a plain file name with an extension in `content_types`.
    2. Size: not empty, not over MAX_UPLOAD_BYTES.
    3. Content: the bytes match the extension.
    4. SHA-256 and size of exactly what will be stored.
    """
    name = clean_file_name(upload.name or "")
    extension = PurePath(name).suffix.lower()
    if extension not in content_types:
        allowed = ", ".join(sorted(content_types))
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
        name=name, content_type=content_types[extension], size=size, sha256=digest.hexdigest()
    )


def upload_accept(
    *,
    actor: AbstractBaseUser,
    upload: UploadedFile,
    about: models.Model,
    matter_id: int | None = None,
    content_types: Mapping[str, str] = EVIDENCE_TYPES,
) -> CheckedUpload:
    """Everything a file passes before it is stored; every storing service calls this.

    1. `check_upload`: name, size, type and content.
    2. The malware scan (clamd). Infected: the attempt is audited against `about` (the task,
       vendor or engagement the file was for) and refused. Scanner unreachable: refused.
    3. A clean upload is marked as scanned, so the storage does not scan it a second time.

    Call it before opening the transaction that stores the file: the audit event of an
    infected file is committed in its own transaction, which an enclosing one would undo.
    """
    checked = check_upload(upload, content_types=content_types)
    try:
        malware.scan(upload, name=checked.name)
    except malware.UploadInfected as exc:
        with transaction.atomic():
            audit_record(
                actor=actor, action="upload.refused_infected", obj=about, matter_id=matter_id,
                after={"name": checked.name, "size": checked.size, "sha256": checked.sha256,
                       "signature": exc.signature},
            )
        raise
    return checked


def content_type_for(name: str, content_types: Mapping[str, str] = EVIDENCE_TYPES) -> str:
    """The content type a stored evidence file is served with, from its checked name."""
    return content_types.get(PurePath(name).suffix.lower(), "application/octet-stream")
