"""The Celery task that generates a supervision file (it loads the job by id and calls the
service; the service claims the job, so a second delivery does nothing)."""

from __future__ import annotations

from celery import shared_task

from supervision.supervision_file.services import supervision_file_generate

# Acknowledged on receipt, unlike the sweeps: a file for thousands of tasks can outlast the
# broker's visibility timeout (600 s), and a redelivered message would only find the job
# claimed. A worker lost mid-way leaves the job running; its heartbeat goes stale
# (`models.STALE_AFTER`) and the page offers a retry.
GENERATION_TIME_LIMIT = 3600


@shared_task(
    name="supervision.supervision_file_generate",
    acks_late=False,
    ignore_result=True,
    soft_time_limit=GENERATION_TIME_LIMIT,
    time_limit=GENERATION_TIME_LIMIT + 60,
)
def supervision_file_generate_task(job_id: int) -> None:
    supervision_file_generate(job_id=job_id)
