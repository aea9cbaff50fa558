from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "lpo_tracker.core"
    label = "core"
    verbose_name = "LPO Tracker"

    def ready(self) -> None:
        from lpo_tracker.core import checks  # noqa: F401  (registers the deploy checks)
