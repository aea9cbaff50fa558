from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "lpo_tracker.core"
    label = "core"
    verbose_name = "LPO Tracker"
