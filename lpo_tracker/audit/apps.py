from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "lpo_tracker.audit"
    label = "audit"
    verbose_name = "Audit trail"
