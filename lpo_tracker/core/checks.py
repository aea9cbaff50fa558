"""Deployment checks of this project's own controls (run by `manage.py check --deploy`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register


@register(Tags.security, deploy=True)
def check_malware_scanning(
    *, app_configs: Sequence[AppConfig] | None, databases: Sequence[str] | None, **kwargs: Any
) -> Iterable[CheckMessage]:
    if settings.CLAMAV_ADDRESS:
        return []
    return [
        Warning(
            "Uploads are stored without a malware scan: CLAMAV_ADDRESS is not set and no clamd "
            "socket was found.",
            hint="Point CLAMAV_ADDRESS at clamd (docker-compose.yml runs one); to accept "
            "unscanned uploads, add 'lpo.W001' to SILENCED_SYSTEM_CHECKS.",
            id="lpo.W001",
        )
    ]
