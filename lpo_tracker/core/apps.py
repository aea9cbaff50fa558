from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "lpo_tracker.core"
    label = "core"
    verbose_name = "LPO Tracker"

    def ready(self) -> None:
        from celery.signals import beat_init, before_task_publish

        from lpo_tracker.core import (
            checks,  # noqa: F401  (registers the deploy checks)
            heartbeats,
        )

        beat_init.connect(heartbeats.on_beat_init, weak=False, dispatch_uid="lpo-beat-init")
        before_task_publish.connect(
            heartbeats.on_before_task_publish, weak=False, dispatch_uid="lpo-beat-publish"
        )
