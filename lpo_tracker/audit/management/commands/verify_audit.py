"""Check the whole audit chain; exit non-zero naming the first broken event."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from lpo_tracker.audit.services import audit_verify_chain


class Command(BaseCommand):
    help = "Recompute every audit event's hash in order and report the first broken event."

    def handle(self, *args: Any, **options: Any) -> None:
        report = audit_verify_chain()
        if not report.ok:
            raise CommandError(
                f"Audit chain broken at event #{report.first_broken_id}: {report.reason}. "
                f"{report.checked} events before it verified."
            )
        self.stdout.write(self.style.SUCCESS(f"OK: {report.checked} audit events verified."))
