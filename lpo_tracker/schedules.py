"""Every periodic Celery schedule, in one place. Run exactly one beat process.

A second beat would only cost work, not correctness (every reminder is recorded under a
unique key before it is sent), but one is the design. `expires` drops a run that waited in
the queue past the next one, so a backlog after an outage collapses into a single sweep.
"""

from __future__ import annotations

from typing import Any

from celery.schedules import crontab

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    # Every 30 s: the worker's heartbeat for /readyz (lpo_tracker.core.heartbeats); beat's own
    # heartbeat is stamped whenever it publishes, so this keeps both fresh.
    "heartbeat": {
        "task": "core.heartbeat",
        "schedule": 30.0,
        "options": {"expires": 25},
    },
    # Every 5 minutes: reviews waiting, review windows and vendor deadlines due soon, due or
    # overdue, the escalation ladder, expiring due diligence; then every e-mail still unsent
    # (the safety net for a "review waiting" message lost while Redis was down).
    "sweep-reminders": {
        "task": "supervision.sweep_reminders",
        "schedule": 300.0,
        "options": {"expires": 290},
    },
    # Every 15 minutes: engagements whose accrued cost reached 80% or 100% of the budget cap.
    "sweep-budgets": {
        "task": "supervision.sweep_budgets",
        "schedule": 900.0,
        "options": {"expires": 890},
    },
    # Hourly, on the hour: the daily digest of each user whose digest hour (in their own
    # zone) has come; half-hour zones are served at the next full hour.
    "send-digests": {
        "task": "supervision.send_digests",
        "schedule": crontab(minute=0),
        "options": {"expires": 3300},
    },
    # Hourly, at half past: the audit chain's head (count and hash) to the log, the anchor
    # file and the compliance mailbox, so a later cut or rewrite of the chain is detected.
    "anchor-audit-head": {
        "task": "audit.anchor_head",
        "schedule": crontab(minute=30),
        "options": {"expires": 3300},
    },
}
