"""Every periodic schedule names a registered Celery task, and the sweep tasks run."""

from __future__ import annotations

import pytest

from lpo_tracker.celery import app
from lpo_tracker.schedules import BEAT_SCHEDULE


def test_every_beat_entry_names_a_registered_task() -> None:
    app.loader.import_default_modules()
    names = {entry["task"] for entry in BEAT_SCHEDULE.values()}
    assert names <= set(app.tasks), names - set(app.tasks)
    assert {"supervision.sweep_reminders", "supervision.sweep_budgets"} <= names


def test_every_beat_entry_expires_before_its_next_run() -> None:
    for name, entry in BEAT_SCHEDULE.items():
        schedule = entry["schedule"]
        seconds = schedule if isinstance(schedule, float) else 3600.0
        assert entry["options"]["expires"] < seconds, name


@pytest.mark.django_db
def test_budget_sweep_task_body_runs_on_an_empty_firm() -> None:
    from django.core import mail

    from supervision.models import Notification, ReminderRecord
    from supervision.tasks import sweep_budgets

    sweep_budgets.run()  # the body, called directly: nothing due, nothing raised
    assert not ReminderRecord.objects.exists()
    assert not Notification.objects.exists()
    assert mail.outbox == []
