"""Print a matter's verification key, to hand to an auditor with the matter's CSV export."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from lpo_tracker.audit.chain import matter_key
from lpo_tracker.audit.services import chain_keys
from matters.models import Matter


class Command(BaseCommand):
    help = (
        "Print the matter key (per chain key id) that verifies one matter's exported audit "
        "trail with the standalone script; it verifies that matter only and cannot seal events "
        "of the whole chain."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("matter", metavar="NUMBER", help="e.g. 2026-0042")

    def handle(self, *args: Any, **options: Any) -> None:
        matter = Matter.objects.filter(number=options["matter"]).first()
        if matter is None:
            raise CommandError(f"No matter {options['matter']}.")
        for key_id, key in sorted(chain_keys().items()):
            self.stdout.write(f"--matter-key {key_id}={matter_key(key, matter.pk).hex()}")
