"""Celery's filesystem broker, made safe for several processes: the embedded default's broker.

Why: kombu's filesystem transport (kombu 5.7) creates each message file under its final
name and only then writes the JSON into it. The consumer does not take the writer's lock: it
lists the folder, moves the first file away and reads it. A worker that polls between the
producer's `open()` and `write()` reads an empty file, `json.loads("")` raises
`JSONDecodeError('Expecting value: line 1 column 1 (char 0)')`, and the worker exits with
"Unrecoverable error". The exchange tables in the control folder have the same gap (created
empty, then written; rewritten in place). With web, worker and beat each producing, the gap
was eventually hit: `make run` died after 33 minutes.

What changes (same folders, same file names, so the stock transport can still read them):

- A message is written and fsync'ed under a temporary name in `<data_folder_out>/.incoming/`
  (same file system) and then renamed into the queue folder. A rename is atomic on POSIX: the
  consumer sees no file or the whole file, never a part.
- The consumer claims a message by renaming it into `processed_folder` (same file system),
  not by `shutil.move` to the system temp folder (a copy across file systems, which two
  consumers can both win). Only one consumer's rename succeeds.
- Exchange tables are rewritten to a temporary file and renamed over the old one, under an
  exclusive lock on a separate lock file, so a reader never sees a half-written table.
- Defence in depth: a message that still cannot be decoded (e.g. a file left by an older
  version or a torn disk) is moved to `<processed_folder>/unreadable/` and logged as an error;
  the worker carries on with the next one instead of dying.

Chosen over the SQLAlchemy transport (SQLite) because it needs no new dependency, keeps the
broker out of the application database's write lock (web, worker and beat already share that
one SQLite file) and keeps the folders an operator may already have.
"""

from __future__ import annotations

import fcntl
import logging
import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from queue import Empty
from time import monotonic
from typing import Any, ClassVar

from kombu.exceptions import ChannelError
from kombu.transport import filesystem, virtual
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

logger = logging.getLogger(__name__)

# Where a message is written before it is renamed into the queue folder. A dot-folder inside
# the queue folder: on the same file system (rename is atomic) and never matched as a
# message (message names are `<ms>_<uuid>.<queue>.msg`).
INCOMING_FOLDER = ".incoming"
UNREADABLE_FOLDER = "unreadable"
# Zero-padded so that names sort by time as strings (kombu sorts the listing).
_STAMP_DIGITS = 15


def write_atomically(path: Path, data: bytes, *, temp_dir: Path, fsync: bool = True) -> None:
    """Write `data` to `path` so that no reader ever sees a partial file."""
    temp_dir.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=temp_dir, prefix=".", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
            stream.flush()
            if fsync:
                os.fsync(stream.fileno())
        os.rename(temp_name, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise


class Channel(filesystem.Channel):
    """Atomic writes, exclusive claims, unreadable messages set aside instead of fatal."""

    @property
    def incoming_folder(self) -> Path:
        return Path(self.data_folder_out) / INCOMING_FOLDER

    @property
    def fsync(self) -> bool:
        return bool(self.transport_options.get("fsync", True))

    # --- messages -----------------------------------------------------------------------

    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]
        stamp = round(monotonic() * 1000)
        name = f"{stamp:0{_STAMP_DIGITS}d}_{uuid.uuid4()}.{queue}.msg"
        path = Path(self.data_folder_out) / name
        try:
            write_atomically(
                path, str_to_bytes(dumps(payload)), temp_dir=self.incoming_folder, fsync=self.fsync
            )
        except OSError as exc:
            raise ChannelError(f"Cannot add file {str(path)!r} to directory") from exc

    def _get(self, queue: str, timeout: float | None = None) -> Any:
        suffix = f"{queue}.msg"
        folder = Path(self.data_folder_in)
        claimed_dir = Path(self.processed_folder)
        claimed_dir.mkdir(parents=True, exist_ok=True)
        for name in sorted(os.listdir(folder)):
            if name.partition(".")[2] != suffix:
                continue
            claimed = claimed_dir / name
            try:
                # The claim: of several consumers, exactly one rename succeeds.
                os.rename(folder / name, claimed)
            except FileNotFoundError:
                continue  # another consumer took it
            except OSError as exc:  # e.g. EXDEV: never skip a message silently
                raise ChannelError(
                    f"Cannot claim {name!r} into {str(claimed_dir)!r}: the processed folder "
                    "must be on the same file system as the queue folder."
                ) from exc
            try:
                payload = claimed.read_bytes()
            except OSError as exc:
                raise ChannelError(f"Cannot read file {str(claimed)!r} from queue.") from exc
            try:
                message = loads(bytes_to_str(payload))
            except (ValueError, UnicodeDecodeError) as exc:
                self._set_aside(claimed, exc)
                continue
            if not self.store_processed:
                with suppress(FileNotFoundError):
                    claimed.unlink()
            return message
        raise Empty()

    def _set_aside(self, claimed: Path, error: Exception) -> None:
        target = claimed.parent / UNREADABLE_FOLDER
        target.mkdir(parents=True, exist_ok=True)
        os.replace(claimed, target / claimed.name)
        logger.error(
            "Unreadable broker message %s moved to %s (%s: %s); the worker carries on.",
            claimed.name,
            target,
            type(error).__name__,
            error,
        )

    # --- exchange tables (control folder) -----------------------------------------------

    def _table_file(self, exchange: str) -> Path:
        # kombu's own name check (no path separators, no device names); absent from the stubs.
        return Path(filesystem.Channel._exchange_file(self, exchange))  # type: ignore[attr-defined]

    @contextmanager
    def _table_lock(self, exchange: str) -> Iterator[Path]:
        table = self._table_file(exchange)
        self.control_folder.mkdir(parents=True, exist_ok=True)
        # A separate lock file: the table itself is replaced by rename, which a lock on the
        # table's inode would not survive. POSIX only, like the rest of the embedded default.
        with open(table.with_suffix(".lock"), "ab") as lock_file:
            fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX)
            try:
                yield table
            finally:
                fcntl.flock(lock_file.fileno(), fcntl.LOCK_UN)

    def _read_table(self, table: Path) -> list[filesystem.exchange_queue_t]:
        try:
            rows = loads(bytes_to_str(table.read_bytes()))
        except FileNotFoundError:
            return []
        except (ValueError, UnicodeDecodeError):
            # A table torn by the stock transport: start it again; workers re-bind on start.
            logger.error("Unreadable exchange table %s; starting it empty.", table)
            return []
        return [filesystem.exchange_queue_t(*row) for row in rows]

    def _write_table(self, table: Path, rows: list[filesystem.exchange_queue_t]) -> None:
        write_atomically(
            table,
            str_to_bytes(dumps(rows)),
            temp_dir=self.control_folder / INCOMING_FOLDER,
            fsync=self.fsync,
        )

    def get_table(self, exchange: str) -> list[filesystem.exchange_queue_t]:  # type: ignore[override]
        table = self._table_file(exchange)
        try:
            return self._read_table(table)
        except OSError as exc:
            raise ChannelError(f"Cannot open {table}") from exc

    def _queue_bind(
        self, exchange: str, routing_key: str | None, pattern: str | None, queue: str | None
    ) -> None:
        row = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        try:
            with self._table_lock(exchange) as table:
                rows = self._read_table(table)
                if row not in rows:
                    self._write_table(table, [row, *rows])
        except OSError as exc:
            raise ChannelError(f"Cannot open {self._table_file(exchange)}") from exc

    def _delete(
        self, queue: str, exchange: str, routing_key: str, pattern: str, *args: Any, **kwargs: Any
    ) -> None:
        # The virtual channel's own bookkeeping, skipping the stock in-place table rewrite.
        super(filesystem.Channel, self)._delete(
            queue, exchange, routing_key, pattern, *args, **kwargs
        )
        row = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        with self._table_lock(exchange) as table:
            rows = self._read_table(table)
            if row in rows:
                self._write_table(table, [other for other in rows if other != row])


class Transport(filesystem.Transport):
    """`CELERY_BROKER_TRANSPORT = "lpo_tracker.filesystem_broker:Transport"`."""

    Channel = Channel
    # The stock transport shares one in-process binding cache across all its connections,
    # even ones on other folders: a queue bound once is never bound again in a new control
    # folder, and its messages are silently dropped there. Keep one cache per control folder.
    _states: ClassVar[dict[str, virtual.BrokerState]] = {}

    def __init__(self, client: Any, **kwargs: Any) -> None:
        super().__init__(client, **kwargs)
        folder = str(Path(client.transport_options.get("control_folder", "control")).resolve())
        self.state = self._states.setdefault(folder, virtual.BrokerState())


def unreadable_messages(processed_folder: str | Path) -> list[Path]:
    """Messages set aside as unreadable (for health checks and tests)."""
    folder = Path(processed_folder) / UNREADABLE_FOLDER
    if not folder.is_dir():
        return []
    return sorted(path for path in folder.iterdir() if path.is_file())


__all__ = ["Channel", "Transport", "unreadable_messages", "write_atomically"]
