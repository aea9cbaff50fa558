#!/usr/bin/env python3
"""Redraw a QC sample from a lot's manifest and the seed in the audit trail (stdlib only).

Anyone holding the manifest and the seed gets the same items the application drew:

    python redraw.py manifest.csv --seed 8412093371 --size 50
    python redraw.py --items 500 --seed 8412093371 --size 50   # a lot without a manifest

The seed, the sample size and the drawn item ids are in the audit event `qc.sample_drawn`
of the task (and on the QC page). The output is one item id per line, in the order drawn.

The rules, which the application imports from this file so there is one definition:

1. The manifest is a CSV file; each row's first cell is an item id (e.g. a control number),
   surrounding blanks removed. Empty rows are skipped; a first row whose first cell is
   `item_id` (any case) is a header. Ids must be unique.
2. A lot without a manifest numbers its items "1" … "N".
3. The population is the ids in manifest order; `random.Random(seed).sample(population,
   size)` draws the sample (Python's Mersenne Twister, the same on every platform and
   version since Python 3.2 for integer seeds).
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import sys
from collections.abc import Iterable, Sequence

HEADER = "item_id"
MAX_ITEM_ID = 200


class ManifestError(ValueError):
    """The manifest cannot be read as a list of unique item ids."""


def parse_manifest(text: str) -> list[str]:
    """The item ids of a manifest's text, in order (rule 1)."""
    ids: list[str] = []
    seen: set[str] = set()
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        cell = row[0].strip() if row else ""
        if not cell or (number == 1 and cell.lower() == HEADER):
            continue
        if len(cell) > MAX_ITEM_ID:
            raise ManifestError(f"Row {number}: an item id is at most {MAX_ITEM_ID} characters.")
        if cell in seen:
            raise ManifestError(f"Row {number}: item id {cell!r} appears twice.")
        seen.add(cell)
        ids.append(cell)
    if not ids:
        raise ManifestError("The manifest lists no item ids.")
    return ids


def numbered_items(count: int) -> list[str]:
    """The ids of a lot without a manifest (rule 2)."""
    return [str(number) for number in range(1, count + 1)]


def draw(population: Sequence[str], *, seed: int, size: int) -> list[str]:
    """The sample (rule 3). A size at or above the lot's is the whole lot, in order."""
    if size >= len(population):
        return list(population)
    return random.Random(seed).sample(list(population), size)


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Redraw a QC sample (LPO Tracker).")
    parser.add_argument("manifest", nargs="?", help="the lot's manifest CSV")
    parser.add_argument("--items", type=int, help="lot size, for a lot without a manifest")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--size", type=int, required=True, help="sample size")
    args = parser.parse_args(list(argv) if argv is not None else None)
    if (args.manifest is None) == (args.items is None):
        parser.error("give either a manifest or --items")
    if args.manifest is not None:
        with open(args.manifest, encoding="utf-8-sig", newline="") as handle:
            try:
                population = parse_manifest(handle.read())
            except ManifestError as exc:
                parser.error(str(exc))
    else:
        population = numbered_items(args.items)
    for item in draw(population, seed=args.seed, size=args.size):
        sys.stdout.write(item + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
