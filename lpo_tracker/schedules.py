"""Every periodic Celery schedule, in one place. Run exactly one beat process."""

from __future__ import annotations

from typing import Any

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {}
