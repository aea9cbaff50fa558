"""The supervision file through the real path: the button on the page, the after-commit
message, a real Celery worker, the polled panel, the download."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from supervision.supervision_file.models import FileStatus, SupervisionFile
from tests.conftest import Cast
from tests.waits import wait_for

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def test_the_button_queues_a_job_a_real_worker_generates_it_and_the_panel_offers_it(
    client: Client, cast: Cast, live_worker: Any
) -> None:
    client.force_login(cast.attorney)
    panel_url = reverse("supervision:supervision_file_panel", args=[cast.matter.pk])
    response = client.post(
        reverse("supervision:supervision_file_generate", args=[cast.matter.pk]),
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert 'hx-trigger="every 2s"' in response.content.decode()  # polling starts at once

    job = SupervisionFile.objects.get(matter=cast.matter)
    wait_for(
        lambda: SupervisionFile.objects.filter(
            pk=job.pk, status__in=[FileStatus.DONE, FileStatus.FAILED]
        ).exists(),
        "the worker to generate the file",
        timeout=180,
    )
    job.refresh_from_db()
    assert job.status == FileStatus.DONE, job.error
    panel = client.get(panel_url, headers={"HX-Request": "true"}).content.decode()
    assert "hx-trigger" not in panel and "Download ZIP" in panel
    download = client.get(reverse("supervision:supervision_file_download", args=[job.pk]))
    assert download.status_code == 200
    assert b"".join(download.streaming_content)[:2] == b"PK"  # type: ignore[attr-defined]
