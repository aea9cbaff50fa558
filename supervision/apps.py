from django.apps import AppConfig


class SupervisionConfig(AppConfig):
    name = "supervision"

    def ready(self) -> None:
        # Services stay free of Celery: the "review waiting" notice is queued by a hook that
        # submission_create runs after its transaction commits.
        from lpo_tracker.core.health import readiness_check_register
        from supervision import services
        from supervision.selectors import email_readiness
        from supervision.tasks import enqueue_review_waiting

        if enqueue_review_waiting not in services.AFTER_SUBMIT_HOOKS:
            services.AFTER_SUBMIT_HOOKS.append(enqueue_review_waiting)
        readiness_check_register("email", email_readiness)
