"""Template context every page needs: the firm's name."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def navigation(request: HttpRequest) -> dict[str, Any]:
    return {"FIRM_NAME": settings.FIRM_NAME}
