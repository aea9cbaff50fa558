"""Check an LPO Tracker supervision file offline (Python 3.11+, standard library only).

Unpack the ZIP and run, in its folder:

    python3 verify.py                      # every file's hash, the audit events' chain
    python3 verify.py --head <hash>        # ... and that the chain ends at the cover's hash
    python3 verify.py --matter-key k1=<hex key from the firm>   # ... and every event's seal

1. Every file listed in MANIFEST.sha256 must exist and have that SHA-256; a file the
   manifest does not list is reported too.
2. The audit events (audit/audit-events.jsonl) must link, each to the matter's previous
   event, and end at the head hash recorded in supervision-file.json and printed on the
   report's cover; their number must be the recorded count.
3. The CSV copy (audit/audit-events.csv) must hold exactly the same events.
4. With the matter key, every event's seal (HMAC) is recomputed by chain.py, the
   application's own definition of the format, shipped beside this script.

Without the key, step 2 proves the events are the ones the hashes name only as far as the
manifest and the cover are trusted; the seals (step 4) need the key. Exit code 0: all good.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.dont_write_bytecode = True  # leave the checked folder as it was

import chain  # noqa: E402  (chain.py beside this file)

MANIFEST = "MANIFEST.sha256"
METADATA = "supervision-file.json"
EVENTS_JSONL = "audit/audit-events.jsonl"
EVENTS_CSV = "audit/audit-events.csv"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def check_manifest(root: Path, problems: list[str]) -> int:
    listed: set[str] = set()
    for number, line in enumerate((root / MANIFEST).read_text("utf-8").splitlines(), 1):
        digest, separator, name = line.partition("  ")
        if not separator or len(digest) != 64:
            problems.append(f"{MANIFEST} line {number} is not '<sha256>  <file>'")
            continue
        listed.add(name)
        path = root / name
        if not path.resolve().is_relative_to(root.resolve()):
            problems.append(f"{name}: outside the file's folder")
        elif not path.is_file():
            problems.append(f"{name}: listed in the manifest but missing")
        elif sha256_of(path) != digest:
            problems.append(f"{name}: its SHA-256 does not match the manifest (changed)")
    for path in sorted(root.rglob("*")):
        name = path.relative_to(root).as_posix()
        if path.is_file() and name != MANIFEST and name not in listed and "__pycache__" not in name:
            problems.append(f"{name}: not listed in the manifest (added)")
    return len(listed)


def as_cells(event: dict[str, object]) -> dict[str, str]:
    """A JSON Lines event in the CSV's form: before/after as canonical JSON text."""
    cells = {}
    for name in chain.CSV_COLUMNS:
        value = event.get(name)
        if name in ("before", "after"):
            cells[name] = chain.canonical_json(value)
        else:
            cells[name] = "" if value is None else str(value)
    return cells


def check_events(
    root: Path, metadata: dict[str, object], head: str | None, problems: list[str]
) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    previous: str | None = None
    with (root / EVENTS_JSONL).open(encoding="utf-8") as stream:
        for number, line in enumerate(stream, 1):
            where = f"{EVENTS_JSONL} line {number}"
            try:
                cells = as_cells(json.loads(line))
            except (ValueError, AttributeError):
                problems.append(f"{where}: not a JSON event")
                continue
            rows.append(cells)
            if cells["matter_id"] != str(metadata["matter_id"]):
                problems.append(f"{where}: an event of another matter")
            if cells["key_id"] == chain.LEGACY_KEY_ID:
                continue  # unkeyed legacy events carry no matter link
            expected = chain.GENESIS_HASH if previous is None else previous
            if previous is not None and cells["matter_prev_hash"] != expected:
                problems.append(
                    f"{where} (event {cells['id']}): its link to the previous "
                    "event is broken (an event was removed, added or reordered)"
                )
            previous = cells["matter_hash"]
    recorded_head = str(metadata["head_hash"])
    if len(rows) != metadata["event_count"]:
        problems.append(
            f"{EVENTS_JSONL}: {len(rows)} events, the file records {metadata['event_count']}"
        )
    if (previous or "") != recorded_head:
        problems.append(
            f"{EVENTS_JSONL}: the chain ends at {previous or 'nothing'}, not at "
            f"the recorded head {recorded_head}"
        )
    if head is not None and head.strip().lower() != recorded_head:
        problems.append(
            f"the head hash given ({head}) is not the one this file records ({recorded_head})"
        )
    return rows


def check_csv(root: Path, rows: list[dict[str, str]], problems: list[str]) -> None:
    csv_rows = [
        {name: chain.unescape_cell(row[name]) for name in chain.CSV_COLUMNS}
        for row in chain.read_csv(str(root / EVENTS_CSV))
    ]
    if len(csv_rows) != len(rows):
        problems.append(
            f"{EVENTS_CSV}: {len(csv_rows)} events, the JSON Lines file has {len(rows)}"
        )
    for number, (from_csv, from_jsonl) in enumerate(zip(csv_rows, rows, strict=False), 2):
        if from_csv != from_jsonl:
            changed = [name for name in chain.CSV_COLUMNS if from_csv[name] != from_jsonl[name]]
            problems.append(
                f"{EVENTS_CSV} line {number}: differs from the JSON Lines event "
                f"({', '.join(changed)})"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify an LPO Tracker supervision file.")
    parser.add_argument(
        "folder",
        nargs="?",
        default=str(HERE),
        help="the unpacked file (default: this script's folder)",
    )
    parser.add_argument("--head", help="the head hash printed on the report's cover")
    parser.add_argument(
        "--matter-key",
        action="append",
        default=[],
        metavar="KEY_ID=HEX",
        help="the matter key (`manage.py audit_matter_key`): checks every seal",
    )
    args = parser.parse_args(argv)
    root = Path(args.folder)
    problems: list[str] = []
    files = check_manifest(root, problems)
    metadata = json.loads((root / METADATA).read_text("utf-8"))
    rows = check_events(root, metadata, args.head, problems)
    check_csv(root, rows, problems)
    sealed = ""
    if args.matter_key:
        keys = {}
        for value in args.matter_key:
            key_id, _, secret = value.partition("=")
            keys[key_id] = bytes.fromhex(secret)
        with (root / EVENTS_CSV).open(encoding="utf-8-sig", newline="") as stream:
            report = chain.verify_csv_rows(csv.DictReader(stream), matter_keys=keys)
        problems.extend(f"seal: {problem}" for problem in report.problems)
        sealed = f"; {report.verified} seals verified, {report.withheld} withheld"
    for problem in problems:
        print(f"BROKEN {problem}")
    if problems:
        return 1
    print(
        f"OK: {files} files match the manifest; {len(rows)} audit events link up to the "
        f"head {metadata['head_hash']}{sealed}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
