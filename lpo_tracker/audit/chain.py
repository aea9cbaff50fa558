"""The audit chain's hash format, and a standalone verifier for exported audit CSV files.

This module is the one definition of how an event is hashed. It uses only the Python
standard library, so it doubles as the script a third party runs on an exported matter trail
without installing LPO Tracker (docs/audit.md):

    python3 chain.py audit-2026-0042.csv --matter-key k1=<hex key>

How an event is sealed (every field of the event, its key id and both links go into one
canonical JSON payload):

- `hash` = HMAC-SHA256(chain key, payload). `prev_hash` is the hash of the event before it
  in the whole trail. Without the chain key nobody can write an event, or re-hash a rewritten
  one, that verifies.
- `matter_hash` = HMAC-SHA256(matter key, payload), for events of a matter. `matter_prev_hash`
  is the `matter_hash` of the matter's previous event, so a matter's events form their own
  chain. The matter key is derived from the chain key for that one matter: handing it to an
  auditor lets them check that matter's trail, and nothing else.
- Events written before keys existed carry an empty key id and a plain SHA-256 (`legacy`);
  they are accepted only as the start of the trail, never after a keyed event.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import hmac
import json
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

GENESIS_HASH = "0" * 64
LEGACY_KEY_ID = ""

# The CSV export's columns, in order; `before`/`after` are JSON text.
CSV_COLUMNS = [
    "id", "occurred_at", "actor_id", "actor_label", "action", "object_type", "object_id",
    "object_repr", "matter_id", "before", "after", "request_id", "ip_address", "source",
    "key_id", "prev_hash", "matter_prev_hash", "hash", "matter_hash",
]
# The action of a row whose content the export withholds (its hashes keep the links).
WITHHELD = "withheld"
# Spreadsheet-formula starters; a cell starting with one of them, or with the escape
# character itself, gets one leading apostrophe, which `unescape_cell` removes again.
_FORMULA_STARTERS = ("=", "+", "-", "@", "\t", "\r", "'")


@dataclass(frozen=True)
class EventFields:
    """Everything that is hashed, in the exact form that is hashed."""

    occurred_at: str  # ISO 8601 in UTC
    actor_id: int | None
    actor_label: str
    action: str
    object_type: str
    object_id: str
    object_repr: str
    matter_id: int | None
    before: Any
    after: Any
    request_id: str
    ip_address: str | None
    source: str
    key_id: str
    prev_hash: str
    matter_prev_hash: str


def _payload(event: EventFields) -> bytes:
    body: dict[str, Any] = {
        "prev": event.prev_hash,
        "at": event.occurred_at,
        "actor": event.actor_id,
        "actor_label": event.actor_label,
        "action": event.action,
        "object": [event.object_type, event.object_id, event.object_repr],
        "matter": event.matter_id,
        "before": event.before,
        "after": event.after,
        "request": [event.request_id, event.ip_address, event.source],
    }
    if event.key_id != LEGACY_KEY_ID:
        body["key"] = event.key_id
        body["matter_prev"] = event.matter_prev_hash
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def matter_key(chain_key: bytes, matter_id: int) -> bytes:
    """The key of one matter's chain, derived from the chain key."""
    return hmac.new(chain_key, f"lpo-audit-matter:{matter_id}".encode(), hashlib.sha256).digest()


def event_hash(event: EventFields, chain_key: bytes | None) -> str:
    """The event's `hash`: an HMAC under the chain key (a plain SHA-256 for legacy events)."""
    if event.key_id == LEGACY_KEY_ID:
        return hashlib.sha256(_payload(event)).hexdigest()
    if chain_key is None:
        raise KeyError(event.key_id)
    return hmac.new(chain_key, _payload(event), hashlib.sha256).hexdigest()


def event_matter_hash(event: EventFields, key_of_matter: bytes) -> str:
    return hmac.new(key_of_matter, _payload(event), hashlib.sha256).hexdigest()


def canonical_json(value: Any) -> str:
    """How before/after appear in the CSV: readable, and parsed back to the hashed value."""
    return "" if value is None else json.dumps(value, sort_keys=True, ensure_ascii=False)


def escape_cell(value: object) -> str:
    """Neutralise formula injection reversibly: Excel opens the cell as text."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTERS) else text


def unescape_cell(text: str) -> str:
    return text[1:] if text.startswith("'") else text


# --- Verifying an exported CSV ------------------------------------------------------------


@dataclass
class CsvReport:
    rows: int = 0
    verified: int = 0
    withheld: int = 0
    legacy: int = 0
    starts_at_genesis: bool = False
    head: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and self.rows > 0


def _row_fields(row: Mapping[str, str]) -> EventFields:
    cell = {name: unescape_cell(row[name]) for name in CSV_COLUMNS}
    return EventFields(
        occurred_at=cell["occurred_at"],
        actor_id=int(cell["actor_id"]) if cell["actor_id"] else None,
        actor_label=cell["actor_label"],
        action=cell["action"],
        object_type=cell["object_type"],
        object_id=cell["object_id"],
        object_repr=cell["object_repr"],
        matter_id=int(cell["matter_id"]) if cell["matter_id"] else None,
        before=json.loads(cell["before"]) if cell["before"] else None,
        after=json.loads(cell["after"]) if cell["after"] else None,
        request_id=cell["request_id"],
        ip_address=cell["ip_address"] or None,
        source=cell["source"],
        key_id=cell["key_id"],
        prev_hash=cell["prev_hash"],
        matter_prev_hash=cell["matter_prev_hash"],
    )


def verify_csv_rows(
    rows: Iterable[Mapping[str, str]],
    *,
    matter_keys: Mapping[str, bytes] | None = None,
    chain_keys: Mapping[str, bytes] | None = None,
) -> CsvReport:
    """Check an exported matter trail row by row.

    1. Every keyed row's `matter_hash` is recomputed with the matter key of its key id
       (given directly, or derived from the chain key); with chain keys, `hash` too.
    2. Each row's `matter_prev_hash` must be the previous row's `matter_hash`: nothing was
       removed or reordered between the first and the last row. A withheld row keeps its
       hashes, so the links run through it.
    3. Legacy rows (before keys existed) are checked by their plain SHA-256 only.
    """
    report = CsvReport()
    previous: str | None = None
    for number, row in enumerate(rows, start=2):  # line 1 is the header
        report.rows += 1
        where = f"line {number} (event {row.get('id', '?')})"
        key_id = unescape_cell(row["key_id"])
        if key_id == LEGACY_KEY_ID:
            report.legacy += 1
            event = _row_fields(row)
            if event_hash(event, None) != row["hash"]:
                report.problems.append(f"{where}: its content does not match its hash")
            else:
                report.verified += 1
            continue
        if previous is None:
            report.starts_at_genesis = row["matter_prev_hash"] == GENESIS_HASH
        elif row["matter_prev_hash"] != previous:
            report.problems.append(
                f"{where}: its link to the previous row is broken (an event was removed, "
                "added or reordered)"
            )
        previous = row["matter_hash"]
        if unescape_cell(row["action"]) == WITHHELD:
            report.withheld += 1
            continue
        event = _row_fields(row)
        if event.matter_id is None:
            report.problems.append(f"{where}: not an event of a matter")
            continue
        chain_key = (chain_keys or {}).get(key_id)
        key_of_matter = (matter_keys or {}).get(key_id)
        if key_of_matter is None and chain_key is not None:
            key_of_matter = matter_key(chain_key, event.matter_id)
        if key_of_matter is None:
            report.problems.append(f"{where}: no key given for key id {key_id!r}")
            continue
        if event_matter_hash(event, key_of_matter) != row["matter_hash"]:
            report.problems.append(f"{where}: its content does not match its matter hash")
            continue
        if chain_key is not None and event_hash(event, chain_key) != row["hash"]:
            report.problems.append(f"{where}: its content does not match its hash")
            continue
        report.verified += 1
    report.head = previous or ""
    return report


def read_csv(path: str) -> Iterator[dict[str, str]]:
    # utf-8-sig: the export starts with a byte-order mark so Excel reads it as UTF-8.
    with open(path, encoding="utf-8-sig", newline="") as stream:
        reader = csv.DictReader(stream)
        missing = [name for name in CSV_COLUMNS if name not in (reader.fieldnames or [])]
        if missing:
            raise SystemExit(f"{path}: not an LPO Tracker audit export (missing {missing})")
        yield from reader


def _keys(values: Sequence[str], *, hexadecimal: bool) -> dict[str, bytes]:
    keys: dict[str, bytes] = {}
    for value in values:
        key_id, separator, secret = value.partition("=")
        if not separator or not secret:
            raise SystemExit(f"Give keys as KEY_ID=KEY, not {value!r}")
        keys[key_id] = bytes.fromhex(secret) if hexadecimal else secret.encode()
    return keys


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify an LPO Tracker audit CSV export.")
    parser.add_argument("csv_file")
    parser.add_argument("--matter-key", action="append", default=[], metavar="KEY_ID=HEX",
                        help="the matter key for a key id (from `manage.py audit_matter_key`)")
    parser.add_argument("--chain-key", action="append", default=[], metavar="KEY_ID=SECRET",
                        help="the chain key itself (the firm's own check)")
    args = parser.parse_args(argv)
    report = verify_csv_rows(
        read_csv(args.csv_file),
        matter_keys=_keys(args.matter_key, hexadecimal=True),
        chain_keys=_keys(args.chain_key, hexadecimal=False),
    )
    for problem in report.problems:
        print(f"BROKEN {problem}")
    if not report.rows:
        print("BROKEN the file holds no events")
    if report.ok:
        start = ("from the matter's first event" if report.starts_at_genesis
                 else "from a later event (an earlier part of the trail is not in the file)")
        print(f"OK: {report.verified} events verified, {report.withheld} withheld, "
              f"{report.legacy} legacy, {start}; head {report.head}")
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
