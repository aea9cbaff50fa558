"""Z1.4's switching rules on a hand-built sequence of lots (True: accepted)."""

from __future__ import annotations

from supervision.qc.rules import switch_after

A, R = True, False


def test_normal_goes_tightened_after_two_of_five_consecutive_lots_rejected() -> None:
    assert switch_after("normal", [A, R, A, A], allow_reduced=False) is None
    switched = switch_after("normal", [A, R, A, A, R], allow_reduced=False)
    assert switched is not None and switched[0] == "tightened"
    assert "2 of the last 5" in switched[1]


def test_two_rejections_more_than_five_lots_apart_do_not_tighten() -> None:
    assert switch_after("normal", [R, A, A, A, A, R], allow_reduced=False) is None


def test_tightened_goes_normal_after_five_consecutive_accepted() -> None:
    assert switch_after("tightened", [R, A, A, A, A], allow_reduced=False) is None
    switched = switch_after("tightened", [R, A, A, A, A, A], allow_reduced=False)
    assert switched is not None and switched[0] == "normal"


def test_reduced_only_when_allowed_after_ten_accepted_and_back_on_a_rejection() -> None:
    ten = [A] * 10
    assert switch_after("normal", ten, allow_reduced=False) is None
    assert switch_after("normal", ten[:9], allow_reduced=True) is None
    switched = switch_after("normal", ten, allow_reduced=True)
    assert switched is not None and switched[0] == "reduced"
    assert switch_after("reduced", [A, A, A], allow_reduced=True) is None
    back = switch_after("reduced", [A, A, R], allow_reduced=True)
    assert back is not None and back[0] == "normal"


def test_a_whole_history_walks_normal_tightened_normal() -> None:
    """Replay a vendor's lots through the rules, as the service does after each result."""
    lots = [A, A, R, A, R,  # 2 of 5 rejected → tightened
            A, R, A, A, A, A, A,  # on tightened: a rejection restarts the run; 5 accepted
            A, A]
    severity, run, seen = "normal", [], []
    for accepted in lots:
        run.append(accepted)
        switched = switch_after(severity, run, allow_reduced=False)
        if switched:
            severity, run = switched[0], []
            seen.append(severity)
    assert seen == ["tightened", "normal"]
    assert severity == "normal"
