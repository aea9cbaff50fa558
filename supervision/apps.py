from django.apps import AppConfig


class SupervisionConfig(AppConfig):
    name = "supervision"

    def ready(self) -> None:
        # Services stay free of Celery: the "review waiting" notice is queued by a hook that
        # submission_create runs after its transaction commits.
        from django.db.models.signals import post_save

        from lpo_tracker.core.health import readiness_check_register
        from matters import deadlines as matter_deadlines
        from matters import selectors as matter_selectors
        from matters import services as matter_services
        from matters.models import Task
        from supervision import resolution, services
        from supervision.access_notices import access_change_record
        from supervision.conflict_notices import conflict_reopened_notify
        from supervision.models import Review, Submission
        from supervision.selectors import email_readiness
        from supervision.sla import policy_deadline
        from supervision.tasks import enqueue_due_date_change, enqueue_review_waiting

        # A notice whose reason is gone is resolved in the same transaction as the change
        # (supervision.resolution), whichever code saved the task, the version or the review.
        post_save.connect(resolution.task_saved, sender=Task, dispatch_uid="lpo-notices-task")
        post_save.connect(resolution.submission_saved, sender=Submission,
                          dispatch_uid="lpo-notices-submission")
        post_save.connect(resolution.review_saved, sender=Review,
                          dispatch_uid="lpo-notices-review")
        if enqueue_review_waiting not in services.AFTER_SUBMIT_HOOKS:
            services.AFTER_SUBMIT_HOOKS.append(enqueue_review_waiting)
        readiness_check_register("email", email_readiness)
        # Who is told when their access to a matter changes, and why a supervising attorney
        # cannot sign off today: both are supervision's, asked for by the matters app.
        if access_change_record not in matter_services.ACCESS_CHANGE_HOOKS:
            matter_services.ACCESS_CHANGE_HOOKS.append(access_change_record)
        if services.supervisors_standing not in matter_selectors.SIGNOFF_STANDING:
            matter_selectors.SIGNOFF_STANDING.append(services.supervisors_standing)
        # A reopened conflict check is announced to the people responsible after it commits.
        if conflict_reopened_notify not in matter_services.AFTER_CONFLICT_REOPEN_HOOKS:
            matter_services.AFTER_CONFLICT_REOPEN_HOOKS.append(conflict_reopened_notify)
        # A new task's vendor deadline comes from supervision's policies and calendars; a
        # moved due date is announced and re-planned by its reminders after it commits.
        if policy_deadline not in matter_deadlines.DEADLINE_RULES:
            matter_deadlines.DEADLINE_RULES.append(policy_deadline)
        if enqueue_due_date_change not in matter_deadlines.AFTER_DUE_DATE_CHANGE_HOOKS:
            matter_deadlines.AFTER_DUE_DATE_CHANGE_HOOKS.append(enqueue_due_date_change)
