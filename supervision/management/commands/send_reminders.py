"""`manage.py send_reminders [--dry-run]`: run the reminder sweep now, in this process.

With --dry-run nothing is recorded or sent: it prints what would go out now and to whom.
Beat runs the same sweep every few minutes; this command is for operators (and for a
machine without a worker).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from supervision.reminders import pending_delivery_count, reminders_plan, reminders_sweep


class Command(BaseCommand):
    help = "Record and send the reminders due now (--dry-run: only print them)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true",
                            help="Print what would go out now and to whom; change nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        if options["dry_run"]:
            self._dry_run(now)
            return
        result = reminders_sweep(now=now)
        self.stdout.write(
            f"{result.recorded} reminder(s) recorded, {result.delivery.sent} e-mail(s) sent, "
            f"{result.delivery.failed} failed."
        )
        for error in result.delivery.errors:
            self.stderr.write(f"  {error}")

    def _dry_run(self, now: Any) -> None:
        planned = reminders_plan(now=now)
        user_ids = {user_id for item in planned for user_id in item.recipient_ids}
        users = User.objects.in_bulk(user_ids)
        self.stdout.write(f"Dry run at {now.isoformat()}: nothing is recorded or sent.")
        for item in planned:
            names = ", ".join(
                f"{users[user_id].get_username()} <{users[user_id].email or 'no e-mail'}>"
                for user_id in item.recipient_ids if user_id in users
            ) or "(no recipient)"
            self.stdout.write(f"{item.kind:<20} {item.label}  [{item.threshold}]  → {names}")
        self.stdout.write(
            f"{len(planned)} reminder(s) would be recorded; "
            f"{pending_delivery_count()} recorded earlier still wait for e-mail delivery."
        )
