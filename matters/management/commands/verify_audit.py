"""Check the audit chain; exit non-zero naming the first broken event or broken anchor."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from lpo_tracker.audit.anchors import audit_check_anchors, read_anchors
from lpo_tracker.audit.services import ChainReport, audit_verify_chain, audit_verify_matter
from matters.models import Matter


class Command(BaseCommand):
    help = (
        "Recompute every audit event's seal and links in order and report the first broken "
        "event; with --since-anchor, also check that every anchored head is still there."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--since-anchor", action="append", default=[], metavar="FILE",
            help="an anchor file (or a saved anchor e-mail); may be given more than once",
        )
        parser.add_argument("--matter", metavar="NUMBER",
                            help="verify only this matter's own chain (e.g. 2026-0042)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["matter"]:
            matter = Matter.objects.filter(number=options["matter"]).first()
            if matter is None:
                raise CommandError(f"No matter {options['matter']}.")
            self._report(audit_verify_matter(matter.pk), f"matter {matter.number}'s ")
        else:
            self._report(audit_verify_chain(), "")
        anchors = [anchor for path in options["since_anchor"] for anchor in read_anchors(path)]
        if options["since_anchor"] and not anchors:
            raise CommandError("No anchor found in " + ", ".join(options["since_anchor"]) + ".")
        problems = audit_check_anchors(anchors)
        if problems:
            raise CommandError("Audit chain does not match its anchors: " + "; ".join(problems))
        if anchors:
            self.stdout.write(self.style.SUCCESS(f"OK: {len(anchors)} anchors hold."))

    def _report(self, report: ChainReport, which: str) -> None:
        if not report.ok:
            raise CommandError(
                f"Audit {which}chain broken at event #{report.first_broken_id}: "
                f"{report.reason}. {report.checked} events before it verified."
            )
        legacy = f" ({report.legacy} legacy, unkeyed)" if report.legacy else ""
        head = f"; head {report.head}" if report.head else ""
        self.stdout.write(self.style.SUCCESS(
            f"OK: {report.checked} audit events verified{legacy} in "
            f"{which or 'the whole '}chain{head}."
        ))
