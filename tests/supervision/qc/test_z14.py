"""The Z1.4 tables against the printed standard: every code-letter boundary of Table I at
levels I, II and III, and the resolved plans (sample size, Ac, Re) of Tables II-A (normal)
and II-B (tightened) for five AQLs and every code letter, typed in from the tables (arrows
followed by hand), not computed from the module. Reduced inspection: Table II-C's sample
sizes and plans."""

from __future__ import annotations

import pytest

from supervision.qc import z14

# Table I, as printed: (lowest lot size, highest lot size, letter at I, II, III).
TABLE_I = [
    (2, 8, "A", "A", "B"), (9, 15, "A", "B", "C"), (16, 25, "B", "C", "D"),
    (26, 50, "C", "D", "E"), (51, 90, "C", "E", "F"), (91, 150, "D", "F", "G"),
    (151, 280, "E", "G", "H"), (281, 500, "F", "H", "J"), (501, 1200, "G", "J", "K"),
    (1201, 3200, "H", "K", "L"), (3201, 10000, "J", "L", "M"), (10001, 35000, "K", "M", "N"),
    (35001, 150000, "L", "N", "P"), (150001, 500000, "M", "P", "Q"),
    (500001, 5_000_000, "N", "Q", "R"),
]


@pytest.mark.parametrize(("low", "high", "level_i", "level_ii", "level_iii"), TABLE_I)
def test_code_letters_at_every_lot_size_boundary(low: int, high: int, level_i: str,
                                                  level_ii: str, level_iii: str) -> None:
    for lot_size in (low, high):
        assert z14.code_letter(lot_size, "I") == level_i
        assert z14.code_letter(lot_size, "II") == level_ii
        assert z14.code_letter(lot_size, "III") == level_iii


def test_sample_sizes_of_tables_ii_a_and_ii_c() -> None:
    assert [z14.SAMPLE_SIZES[letter] for letter in "ABCDEFGHJKLMNPQR"] == [
        2, 3, 5, 8, 13, 20, 32, 50, 80, 125, 200, 315, 500, 800, 1250, 2000]
    assert [z14.REDUCED_SAMPLE_SIZES[letter] for letter in "ABCDEFGHJKLMNPQR"] == [
        2, 2, 2, 3, 5, 8, 13, 20, 32, 50, 80, 125, 200, 315, 500, 800]


# The lot size at the top of each code letter's range at level II (A … Q) and level III (R).
LOT_OF = {letter: high for (_, high, _, letter, _) in TABLE_I}
LOT_OF["R"] = 600_000  # level III

# Resolved plans (n, Ac, Re) per code letter A … R, Table II-A, normal inspection.
NORMAL = {
    "0.65": [(20, 0, 1)] * 7 + [(80, 1, 2), (80, 1, 2), (125, 2, 3), (200, 3, 4), (315, 5, 6),
                                 (500, 7, 8), (800, 10, 11), (1250, 14, 15), (2000, 21, 22)],
    "1.0": [(13, 0, 1)] * 6 + [(50, 1, 2), (50, 1, 2), (80, 2, 3), (125, 3, 4), (200, 5, 6),
                                (315, 7, 8), (500, 10, 11), (800, 14, 15), (1250, 21, 22),
                                (1250, 21, 22)],
    "2.5": [(5, 0, 1)] * 4 + [(20, 1, 2), (20, 1, 2), (32, 2, 3), (50, 3, 4), (80, 5, 6),
                              (125, 7, 8), (200, 10, 11), (315, 14, 15)] + [(500, 21, 22)] * 4,
    "4.0": [(3, 0, 1)] * 3 + [(13, 1, 2), (13, 1, 2), (20, 2, 3), (32, 3, 4), (50, 5, 6),
                              (80, 7, 8), (125, 10, 11), (200, 14, 15)] + [(315, 21, 22)] * 5,
    "6.5": [(2, 0, 1)] * 2 + [(8, 1, 2), (8, 1, 2), (13, 2, 3), (20, 3, 4), (32, 5, 6),
                              (50, 7, 8), (80, 10, 11), (125, 14, 15)] + [(200, 21, 22)] * 6,
}
# Table II-B, tightened inspection.
TIGHTENED = {
    "0.65": [(32, 0, 1)] * 7 + [(125, 1, 2)] * 3 + [(200, 2, 3), (315, 3, 4), (500, 5, 6),
                                                    (800, 8, 9), (1250, 12, 13),
                                                    (2000, 18, 19)],
    "1.0": [(20, 0, 1)] * 6 + [(80, 1, 2)] * 3 + [(125, 2, 3), (200, 3, 4), (315, 5, 6),
                                                  (500, 8, 9), (800, 12, 13), (1250, 18, 19),
                                                  (1250, 18, 19)],
    "2.5": [(8, 0, 1)] * 4 + [(32, 1, 2)] * 3 + [(50, 2, 3), (80, 3, 4), (125, 5, 6),
                                                 (200, 8, 9), (315, 12, 13)]
    + [(500, 18, 19)] * 4,
    "4.0": [(5, 0, 1)] * 3 + [(20, 1, 2)] * 3 + [(32, 2, 3), (50, 3, 4), (80, 5, 6),
                                                 (125, 8, 9), (200, 12, 13)]
    + [(315, 18, 19)] * 5,
    "6.5": [(3, 0, 1)] * 2 + [(13, 1, 2)] * 3 + [(20, 2, 3), (32, 3, 4), (50, 5, 6),
                                                 (80, 8, 9), (125, 12, 13)]
    + [(200, 18, 19)] * 6,
}


def _plans(aql: str, severity: str) -> list[tuple[int, int, int]]:
    plans = []
    for letter in "ABCDEFGHJKLMNPQR":
        level = "III" if letter == "R" else "II"
        plan = z14.plan_for(lot_size=10**7 if letter == "R" else LOT_OF[letter], level=level,
                            aql=aql, severity=severity)
        assert plan.code_letter == letter
        # Report the table's n even where the lot is smaller (100 % inspection).
        size = z14.SAMPLE_SIZES[plan.plan_letter] if plan.full_inspection else plan.sample_size
        plans.append((size, plan.accept, plan.reject))
    return plans


@pytest.mark.parametrize("aql", sorted(NORMAL))
def test_normal_inspection_plans_are_table_ii_a(aql: str) -> None:
    assert _plans(aql, "normal") == NORMAL[aql]


@pytest.mark.parametrize("aql", sorted(TIGHTENED))
def test_tightened_inspection_plans_are_table_ii_b(aql: str) -> None:
    assert _plans(aql, "tightened") == TIGHTENED[aql]


@pytest.mark.parametrize(("lot_size", "aql", "expected"), [
    (500, "1.0", (13, 0, 1)),  # H: n 20 → the 0/1 plan above it
    (3200, "1.0", (50, 1, 2)),  # K
    (1200, "2.5", (32, 2, 3)),  # J
    (10000, "2.5", (80, 5, 6)),  # L
    (500, "4.0", (20, 2, 3)),  # H
    (280, "6.5", (13, 2, 3)),  # G
])
def test_reduced_inspection_plans_are_table_ii_c(lot_size: int, aql: str,
                                                  expected: tuple[int, int, int]) -> None:
    plan = z14.plan_for(lot_size=lot_size, level="II", aql=aql, severity="reduced")
    assert (plan.sample_size, plan.accept, plan.reject) == expected


def test_the_sample_of_a_small_lot_is_the_whole_lot() -> None:
    plan = z14.plan_for(lot_size=10, level="II", aql="0.65", severity="normal")
    assert plan.full_inspection and plan.sample_size == 10 and plan.accept == 0


def test_a_500_item_lot_at_level_ii_aql_2_5() -> None:
    normal = z14.plan_for(lot_size=500, level="II", aql="2.5", severity="normal")
    tightened = z14.plan_for(lot_size=500, level="II", aql="2.5", severity="tightened")
    assert (normal.code_letter, normal.sample_size, normal.accept, normal.reject) == (
        "H", 50, 3, 4)
    assert (tightened.sample_size, tightened.accept, tightened.reject) == (50, 2, 3)


@pytest.mark.parametrize("aql", ["10", "0.010", "7"])
def test_aqls_outside_the_offered_columns_are_refused(aql: str) -> None:
    with pytest.raises(ValueError, match="not offered"):
        z14.plan_for(lot_size=500, level="II", aql=aql, severity="normal")
