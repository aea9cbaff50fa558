"""The supervision file's ZIP, written straight to storage member by member.

Nothing is built in memory: every member is streamed into the ZIP (evidence files in 1 MiB
chunks, audit events row by row, each PDF volume rendered into its member), hashed as it is
written, and the manifest lists every member's SHA-256 at the end (`sha256sum -c` reads it,
and so does `verify.py`).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, cast

from lpo_tracker.audit import chain
from lpo_tracker.audit.models import AuditEvent
from lpo_tracker.audit.selectors import event_row, write_events_csv
from lpo_tracker.storage import ScannedFileSystemStorage
from supervision.supervision_file.collect import Evidence

CHUNK = 1024 * 1024
MANIFEST = "MANIFEST.sha256"
METADATA = "supervision-file.json"
EVENTS_JSONL = "audit/audit-events.jsonl"
EVENTS_CSV = "audit/audit-events.csv"
VERIFY_SOURCE = Path(__file__).with_name("verify_script.py")
_SAFE_SUFFIX = re.compile(r"^\.[A-Za-z0-9]{1,8}$")


class _HashingWriter(io.RawIOBase):
    """A ZIP member open for writing that hashes what passes through it."""

    def __init__(self, target: IO[bytes]) -> None:
        self._target = target
        self.digest = hashlib.sha256()
        self.written = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        self._target.write(view)
        self.digest.update(view)
        self.written += len(view)
        return len(view)

    def tell(self) -> int:
        return self.written


class ArchiveWriter:
    """A ZIP on disk, its manifest kept as members are added."""

    def __init__(self, path: Path) -> None:
        self._zip = zipfile.ZipFile(
            path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6, allowZip64=True
        )
        self.hashes: dict[str, str] = {}

    @contextmanager
    def member(self, name: str) -> Iterator[_HashingWriter]:
        if name in self.hashes:
            raise ValueError(f"{name} is already in the file")
        with self._zip.open(name, "w", force_zip64=True) as target:
            writer = _HashingWriter(target)
            yield writer
        self.hashes[name] = writer.digest.hexdigest()

    @contextmanager
    def text_member(self, name: str) -> Iterator[IO[str]]:
        with self.member(name) as raw:
            text = io.TextIOWrapper(
                cast(Any, raw), encoding="utf-8", newline="", write_through=True
            )
            try:
                yield text
            finally:
                text.flush()
                text.detach()

    def copy(self, name: str, source: IO[bytes]) -> str:
        with self.member(name) as writer:
            while chunk := source.read(CHUNK):
                writer.write(chunk)
        return self.hashes[name]

    def write_bytes(self, name: str, data: bytes) -> str:
        with self.member(name) as writer:
            writer.write(data)
        return self.hashes[name]

    def close(self) -> None:
        """The manifest last: one `<sha256>  <name>` line per member, as sha256sum writes."""
        lines = "".join(f"{digest}  {name}\n" for name, digest in sorted(self.hashes.items()))
        self._zip.writestr(MANIFEST, lines)
        self._zip.close()


def evidence_path(evidence: Evidence) -> str:
    """Where a file goes in the ZIP: under its recorded hash, with its original suffix."""
    suffix = Path(evidence.original_name).suffix.lower()
    suffix = suffix if _SAFE_SUFFIX.match(suffix) else ""
    folder = {"consent": "consent", "diligence": "diligence", "version": "signed-versions"}
    return f"evidence/{folder[evidence.kind]}/{evidence.recorded_sha256}{suffix}"


def add_evidence(
    archive: ArchiveWriter, storage: ScannedFileSystemStorage, evidence: Evidence
) -> None:
    """Copy one evidence file in (once per path), noting the hash of the bytes it holds now:
    the report flags a file whose bytes no longer match the hash recorded when it was
    stored."""
    evidence.path = evidence_path(evidence)
    if evidence.path in archive.hashes:
        evidence.actual_sha256 = archive.hashes[evidence.path]
        return
    with storage.open(evidence.storage_name, "rb") as source:
        evidence.actual_sha256 = archive.copy(evidence.path, source)


def write_events(
    archive: ArchiveWriter, events: Any, withhold: Callable[[AuditEvent], bool]
) -> int:
    """The matter's events as JSON Lines (before/after as JSON) and as the audit export's CSV;
    both carry every seal, so either verifies with `chain.py`."""
    count = 0
    with archive.text_member(EVENTS_JSONL) as stream:
        for event in events.iterator(chunk_size=2000):
            line: dict[str, Any] = dict(
                zip(chain.CSV_COLUMNS, event_row(event, withheld=withhold(event)), strict=True)
            )
            for name in ("before", "after"):
                line[name] = json.loads(line[name]) if line[name] else None
            stream.write(json.dumps(line, sort_keys=True, ensure_ascii=False) + "\n")
            count += 1
    with archive.text_member(EVENTS_CSV) as stream:
        write_events_csv(events, stream, withhold=withhold)
    return count


def add_verifier(archive: ArchiveWriter) -> None:
    """`chain.py` (the application's own module, copied byte for byte: one definition of
    the format) and `verify.py`, which imports it from beside itself."""
    archive.write_bytes("chain.py", Path(chain.__file__).read_bytes())
    archive.write_bytes("verify.py", VERIFY_SOURCE.read_bytes())


def add_metadata(archive: ArchiveWriter, metadata: dict[str, Any]) -> None:
    archive.write_bytes(METADATA, (json.dumps(metadata, indent=2, sort_keys=True) + "\n").encode())
