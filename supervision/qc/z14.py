"""ANSI/ASQ Z1.4 (ISO 2859-1, MIL-STD-105E) single sampling plans, as data.

Three tables, written out as the standard prints them:

- Table I: lot size ranges → sample size code letter, for general inspection levels I, II, III.
- Table II-A/B/C: code letter → sample size, for normal, tightened and reduced inspection.
- The master tables' Ac/Re cells. Each master table is diagonal: along a column (one AQL),
  going down one code letter moves one step along a fixed sequence of cells, starting from
  the AQL's "zero row" (the letter whose plan is Ac 0 / Re 1). `NORMAL_STEPS` and
  `TIGHTENED_STEPS` are those sequences, arrows included; the cell of letter i and AQL
  column j is step `i + j - 14` (the zero row of AQL 6.5 is A, of 0.010 is Q).
  Reduced inspection (ISO 2859-1:1999 and Z1.4-2008, where Ac and Re are consecutive) uses
  the normal plan of the code letter two rows up, with that letter's sample size.

Arrows are resolved here, once: "↓" means the first plan below the arrow (a larger sample),
"↑" the first plan above it; the plan found gives both the sample size and Ac/Re. When the
sample size reaches the lot size, every item is inspected (100 %).

The tests compare every code-letter boundary and rows of the printed tables
(tests/supervision/qc/test_z14.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

STANDARD = "ANSI/ASQ Z1.4 (ISO 2859-1) single sampling"
CODE_LETTERS = "ABCDEFGHJKLMNPQRS"  # S exists only in the tightened table

# Table I: inclusive upper bound of each lot size range (the last range is open-ended).
LOT_UPPER_BOUNDS = (8, 15, 25, 50, 90, 150, 280, 500, 1200, 3200, 10_000, 35_000, 150_000,
                    500_000)
# Code letter per lot size range, one character per range, for each general level.
LEVEL_LETTERS = {
    "I": "AABCCDEFGHJKLMN",
    "II": "ABCDEFGHJKLMNPQ",
    "III": "BCDEFGHJKLMNPQR",
}

# Tables II-A/II-B: sample size per code letter (S: tightened only).
SAMPLE_SIZES = {
    "A": 2, "B": 3, "C": 5, "D": 8, "E": 13, "F": 20, "G": 32, "H": 50, "J": 80, "K": 125,
    "L": 200, "M": 315, "N": 500, "P": 800, "Q": 1250, "R": 2000, "S": 3150,
}
# Table II-C: reduced inspection sample size per code letter.
REDUCED_SAMPLE_SIZES = {
    "A": 2, "B": 2, "C": 2, "D": 3, "E": 5, "F": 8, "G": 13, "H": 20, "J": 32, "K": 50,
    "L": 80, "M": 125, "N": 200, "P": 315, "Q": 500, "R": 800,
}

# The AQL columns (percent nonconforming) this module serves, in the tables' column order.
# 10 and above are left out: in Table II-A row A's cell under 10 is an up-arrow with no plan
# above it, and legal work is never accepted at 10 % defective.
AQL_COLUMNS = ("0.010", "0.015", "0.025", "0.040", "0.065", "0.10", "0.15", "0.25", "0.40",
               "0.65", "1.0", "1.5", "2.5", "4.0", "6.5")
SUPPORTED_AQLS = AQL_COLUMNS[4:]  # 0.065 … 6.5 (the tightened table is regular there)

UP, DOWN = "up", "down"
Cell = tuple[int, int] | str

# Step k along a column from the zero row (k < 0: above it, a down-arrow to the zero row).
NORMAL_STEPS: tuple[Cell, ...] = ((0, 1), UP, DOWN, (1, 2), (2, 3), (3, 4), (5, 6), (7, 8),
                                  (10, 11), (14, 15), (21, 22))
# Table II-B: its zero row is one letter lower, and 8/9, 12/13, 18/19 replace 7/8, 10/11 …
TIGHTENED_STEPS: tuple[Cell, ...] = (DOWN, (0, 1), DOWN, DOWN, (1, 2), (2, 3), (3, 4), (5, 6),
                                     (8, 9), (12, 13), (18, 19))


class Severity:
    NORMAL = "normal"
    TIGHTENED = "tightened"
    REDUCED = "reduced"
    ALL = (NORMAL, TIGHTENED, REDUCED)


@dataclass(frozen=True)
class Plan:
    """A resolved single sampling plan for one lot."""

    code_letter: str  # the lot's letter from Table I
    plan_letter: str  # the row the arrows led to
    sample_size: int
    accept: int  # Ac: accept the lot with this many defectives or fewer
    reject: int  # Re: reject it with this many or more
    full_inspection: bool  # the sample is the whole lot

    def accepts(self, defectives: int) -> bool:
        return defectives <= self.accept


def code_letter(lot_size: int, level: str) -> str:
    """Table I."""
    if lot_size < 2:
        raise ValueError("A lot has at least 2 items for Z1.4 sampling.")
    if level not in LEVEL_LETTERS:
        raise ValueError(f"Unknown inspection level {level!r}; use I, II or III.")
    for index, bound in enumerate(LOT_UPPER_BOUNDS):
        if lot_size <= bound:
            return LEVEL_LETTERS[level][index]
    return LEVEL_LETTERS[level][-1]


def _column(aql: str | Decimal) -> int:
    wanted = Decimal(str(aql))
    for index, column in enumerate(AQL_COLUMNS):
        if Decimal(column) == wanted and column in SUPPORTED_AQLS:
            return index
    raise ValueError(f"AQL {aql} is not offered; choose one of {', '.join(SUPPORTED_AQLS)}.")


def master_cell(letter: str, aql: str | Decimal, severity: str) -> Cell:
    """The printed cell of a master table (an Ac/Re pair or an arrow)."""
    steps = TIGHTENED_STEPS if severity == Severity.TIGHTENED else NORMAL_STEPS
    rows = CODE_LETTERS if severity == Severity.TIGHTENED else CODE_LETTERS[:-1]
    if letter not in rows:
        raise ValueError(f"No row {letter} in the {severity} table.")
    step = rows.index(letter) + _column(aql) - 14
    if step < 0:
        return DOWN
    if step >= len(steps):
        return UP
    return steps[step]


def _resolve(letter: str, aql: str | Decimal, severity: str) -> tuple[str, int, int]:
    """Follow the arrows of the normal or tightened table from `letter` to a plan."""
    rows = CODE_LETTERS if severity == Severity.TIGHTENED else CODE_LETTERS[:-1]
    index = rows.index(letter)
    direction = 0
    while True:
        cell = master_cell(rows[index], aql, severity)
        if isinstance(cell, tuple):
            return rows[index], cell[0], cell[1]
        step = 1 if cell == DOWN else -1
        if direction and step != direction:
            raise ValueError("The master table's arrows point at each other.")  # never
        direction = step
        index += step


def plan_for(*, lot_size: int, level: str, aql: str | Decimal, severity: str) -> Plan:
    """The standard's plan for a lot: Table I, then the master table of `severity`."""
    letter = code_letter(lot_size, level)
    if severity == Severity.REDUCED:
        # Two rows up in Table II-A (A, B and C all read row A), with Table II-C's size.
        normal_row = CODE_LETTERS[max(CODE_LETTERS.index(letter) - 2, 0)]
        plan_row, accept, reject = _resolve(normal_row, aql, Severity.NORMAL)
        shift = CODE_LETTERS.index(plan_row) - CODE_LETTERS.index(normal_row)
        plan_letter = (letter if shift == 0
                       else CODE_LETTERS[max(CODE_LETTERS.index(letter), 2) + shift])
        size = REDUCED_SAMPLE_SIZES[plan_letter]
    elif severity in (Severity.NORMAL, Severity.TIGHTENED):
        plan_letter, accept, reject = _resolve(letter, aql, severity)
        size = SAMPLE_SIZES[plan_letter]
    else:
        raise ValueError(f"Unknown severity {severity!r}.")
    full = size >= lot_size
    return Plan(code_letter=letter, plan_letter=plan_letter,
                sample_size=min(size, lot_size), accept=accept, reject=reject,
                full_inspection=full)
