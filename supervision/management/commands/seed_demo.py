"""`manage.py seed_demo`: load the demo firm (`supervision.demo`) and print the demo logins.

Safe to run again: when the demo is already there it changes nothing and only prints the
logins. Everything is made in one transaction, so a failure leaves nothing half-made.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from lpo_tracker.errors import RuleViolation
from matters.models import TaskStatus
from supervision.demo import (
    DemoSummary,
    demo_logins,
    demo_present,
    demo_second_factor,
    seed_demo,
)

# `demo_logins` and `demo_second_factor` are part of this module's interface: `runstack`
# imports them to print the logins.
__all__ = ["Command", "demo_logins", "demo_second_factor"]


def logins_table(rows: list[tuple[str, str, str]]) -> str:
    header = ("Username", "Password", "Role")
    widths = [max(len(row[column]) for row in (header, *rows)) for column in range(3)]
    rule = "  ".join("-" * width for width in widths)
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
             .rstrip() for row in (header, *rows)]
    return "\n".join([lines[0], rule, *lines[1:]])


class Command(BaseCommand):
    help = (
        "Load a believable demo firm (clients, matters, vendors, users and about 40 tasks in "
        "every state) through the services. Does nothing but print the logins if the demo "
        "is already loaded."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        if demo_present():
            self.stdout.write("Demo data is already loaded; nothing changed.")
        else:
            try:
                summary = seed_demo()
            except RuleViolation as exc:
                raise CommandError(f"Demo data not loaded: {exc}") from exc
            self.stdout.write(self.style.SUCCESS(self._describe(summary, started)))
        if options["verbosity"] >= 1:
            self.stdout.write("\nDemo logins (every user has the same password):\n")
            self.stdout.write(logins_table(demo_logins()))
            self.stdout.write("\n" + demo_second_factor())

    @staticmethod
    def _describe(summary: DemoSummary, started: float) -> str:
        counts = ", ".join(f"{number} {name}" for name, number in summary.counts.items())
        states = ", ".join(
            f"{summary.task_states.get(state, 0)} {state}" for state in TaskStatus.values
        )
        return (f"Demo data loaded in {time.monotonic() - started:.1f} s: {counts}.\n"
                f"Tasks by state: {states}.")
