"""`manage.py demo_totp`: the current authenticator code of the demo users (development).

The demo users who need a second factor share one authenticator secret
(`supervision.demo.data.DEMO_TOTP_SECRET`); this prints its code of the moment, as a phone
app would. Refused in production, where nobody has that secret.
"""

from __future__ import annotations

import time
from typing import Any

from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from supervision.demo.data import DEMO_TOTP_SECRET


class Command(BaseCommand):
    help = "Print the current authenticator code of the demo users (not in production)."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("demo_totp is for the demo only; LPO_ENV is production.")
        period = settings.MFA_TOTP_PERIOD
        now = time.time()
        code = format_hotp_value(hotp_value(DEMO_TOTP_SECRET, int(now // period)))
        left = int(period - now % period)
        self.stdout.write(f"{code}  (valid for {left} more seconds; each code works once)")
