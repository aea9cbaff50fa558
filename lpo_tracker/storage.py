"""The private file storage: FileSystemStorage that writes nothing a malware scan has not
passed. Services scan (and audit) before their transaction through `uploads.upload_accept`;
this is the wall behind them, for any FileField written by another path."""

from __future__ import annotations

from typing import IO, Any

from django.core.files.storage import FileSystemStorage

from lpo_tracker import malware


class ScannedFileSystemStorage(FileSystemStorage):
    def save(self, name: str | None, content: IO[Any], max_length: int | None = None) -> str:
        if malware.scanning_enabled() and not getattr(content, malware.SCANNED_CLEAN, False):
            malware.scan(content, name=getattr(content, "name", None) or name or "file")
        return super().save(name, content, max_length=max_length)
