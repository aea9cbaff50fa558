"""Who may generate and download a matter's supervision file (the whole cast), walls, the
htmx panel, the audit events of generation and download, and a crash mid-generation."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from lpo_tracker.audit.models import AuditEvent
from lpo_tracker.errors import NotEligible
from matters.services import wall_add
from supervision.supervision_file import report
from supervision.supervision_file.models import FileStatus, SupervisionFile
from supervision.supervision_file.services import (
    supervision_file_generate,
    supervision_file_request,
)
from tests import factories as f
from tests.conftest import Cast
from tests.supervision.supervision_file_helpers import generate

# who → what they get on the page, the panel, generating and downloading. The responsible
# attorney (attorney), the supervising attorneys (attorney2, and lapsed: the grant stands,
# only signing needs the bar) and the risk role (admin: riskadmin, no grant on the matter)
# are in; a team member without the supervise grant sees the matter but is refused (403);
# everyone else gets 404, the screened team member included.
CAST_OUTCOMES = {
    "attorney": 200,
    "attorney2": 200,
    "lapsed_attorney": 200,
    "admin": 200,
    "staff_on": 403,
    "staff_off": 404,
    "screened": 404,
    "vendor_a_user": 404,
    "vendor_b_user": 404,
}


def _urls(cast: Cast, job: SupervisionFile) -> dict[str, tuple[str, str]]:
    pk = cast.matter.pk
    return {
        "page": ("get", reverse("supervision:supervision_file", args=[pk])),
        "panel": ("get", reverse("supervision:supervision_file_panel", args=[pk])),
        "generate": ("post", reverse("supervision:supervision_file_generate", args=[pk])),
        "download": ("get", reverse("supervision:supervision_file_download", args=[job.pk])),
    }


@pytest.fixture
def ready(cast: Cast) -> tuple[Cast, SupervisionFile]:
    job = generate(cast.attorney, cast.matter)
    assert job.status == FileStatus.DONE, job.error
    return cast, job


@pytest.mark.parametrize(("who", "expected"), sorted(CAST_OUTCOMES.items()))
def test_each_cast_member_gets_what_the_rule_allows(
    client: Client, ready: tuple[Cast, SupervisionFile], who: str, expected: int
) -> None:
    cast, job = ready
    client.force_login(getattr(cast, who))
    for name, (method, url) in _urls(cast, job).items():
        response = getattr(client, method)(url)
        got = response.status_code
        if name == "generate" and expected == 200:
            assert got == 302, (who, name, got)  # back to the page, a new job queued
        else:
            assert got == expected, (who, name, got)
    queued = SupervisionFile.objects.filter(matter=cast.matter, status=FileStatus.QUEUED)
    assert queued.exists() == (expected == 200)


def test_anonymous_is_sent_to_sign_in(client: Client, ready: tuple[Cast, SupervisionFile]) -> None:
    cast, job = ready
    for method, url in _urls(cast, job).values():
        response = getattr(client, method)(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_screened_risk_admin_gets_nothing(
    client: Client, ready: tuple[Cast, SupervisionFile]
) -> None:
    cast, job = ready
    walled_risk = f.firm_admin("walledrisk")
    wall_add(actor=cast.admin, matter=cast.matter, user=walled_risk, reason="Conflict")
    client.force_login(walled_risk)
    for method, url in _urls(cast, job).values():
        assert getattr(client, method)(url).status_code == 404
    with pytest.raises(NotEligible):
        supervision_file_request(actor=User.objects.get(pk=walled_risk.pk), matter=cast.matter)


def test_an_attorney_screened_after_generation_can_no_longer_download(
    client: Client, ready: tuple[Cast, SupervisionFile]
) -> None:
    cast, job = ready
    wall_add(actor=cast.admin, matter=cast.matter, user=cast.attorney2, reason="Conflict")
    client.force_login(cast.attorney2)
    url = reverse("supervision:supervision_file_download", args=[job.pk])
    assert client.get(url).status_code == 404


def test_generation_and_every_download_are_audited(
    client: Client, ready: tuple[Cast, SupervisionFile]
) -> None:
    cast, job = ready
    actions = list(
        AuditEvent.objects.filter(
            matter_id=cast.matter.pk, object_type="supervision.supervisionfile"
        ).values_list("action", flat=True)
    )
    assert actions == ["supervision_file.requested", "supervision_file.generated"]
    generated = AuditEvent.objects.get(action="supervision_file.generated")
    assert generated.after is not None
    assert generated.after["sha256"] == job.sha256
    assert generated.after["head_hash"] == job.head_hash
    url = reverse("supervision:supervision_file_download", args=[job.pk])
    for user in (cast.attorney, cast.admin):
        client.force_login(user)
        response = client.get(url)
        body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
        assert response["Content-Type"] == "application/zip"
        assert "no-store" in response["Cache-Control"]
        assert len(body) == job.size
    downloads = AuditEvent.objects.filter(
        action="supervision_file.downloaded", matter_id=cast.matter.pk
    )
    assert [event.actor_id for event in downloads] == [cast.attorney.pk, cast.admin.pk]
    assert all((event.after or {}).get("sha256") == job.sha256 for event in downloads)


def test_a_file_showing_walls_goes_only_to_those_who_may_see_walls(
    client: Client, cast: Cast
) -> None:
    job = generate(cast.admin, cast.matter)  # the risk role sees who is screened
    assert job.shows_walls and job.status == FileStatus.DONE
    url = reverse("supervision:supervision_file_download", args=[job.pk])
    client.force_login(cast.attorney2)  # supervises, may not see walls
    assert client.get(url).status_code == 404
    assert (
        job.download_name
        not in client.get(
            reverse("supervision:supervision_file_panel", args=[cast.matter.pk])
        ).content.decode()
    )
    client.force_login(cast.admin)
    assert client.get(url).status_code == 200


def test_a_crash_mid_generation_leaves_no_file_and_the_job_failed_with_a_retry(
    client: Client, cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(html: str, target: object, *, footer: str) -> None:
        target.write(b"%PDF-1.7 half a report")  # type: ignore[attr-defined]
        raise OSError("disk full")

    monkeypatch.setattr(report, "write_pdf", crash)
    job = supervision_file_request(actor=cast.attorney, matter=cast.matter)
    supervision_file_generate(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == FileStatus.FAILED and "disk full" in job.error
    assert job.file_name == "" and job.sha256 == ""
    folder = Path(default_storage.path(f"supervision-files/{cast.matter.pk}"))
    assert list(folder.iterdir()) == []  # neither the .part nor a .zip
    assert (
        AuditEvent.objects.filter(
            action="supervision_file.failed", matter_id=cast.matter.pk
        ).count()
        == 1
    )
    client.force_login(cast.attorney)
    url = reverse("supervision:supervision_file_download", args=[job.pk])
    assert client.get(url).status_code == 404
    panel = client.get(reverse("supervision:supervision_file_panel", args=[cast.matter.pk]))
    assert "Failed" in panel.content.decode() and ">Retry<" in panel.content.decode()
    monkeypatch.undo()
    retried = generate(cast.attorney, cast.matter)
    assert retried.pk != job.pk and retried.status == FileStatus.DONE


def test_a_worker_that_stopped_reporting_shows_failed_and_can_be_retried(
    client: Client, cast: Cast
) -> None:
    job = supervision_file_request(actor=cast.attorney, matter=cast.matter)
    long_ago = timezone.now() - dt.timedelta(minutes=11)
    SupervisionFile.objects.filter(pk=job.pk).update(
        status=FileStatus.RUNNING, heartbeat_at=long_ago
    )
    client.force_login(cast.attorney)
    panel = client.get(reverse("supervision:supervision_file_panel", args=[cast.matter.pk]))
    content = panel.content.decode()
    assert "Failed" in content and "stopped reporting" in content and "hx-trigger" not in content
    retried = supervision_file_request(actor=cast.attorney, matter=cast.matter)
    job.refresh_from_db()
    assert job.status == FileStatus.FAILED and retried.pk != job.pk
    # The crashed worker, if it ever resumes, finds its job failed and publishes nothing.
    supervision_file_generate(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == FileStatus.FAILED


def test_one_generation_at_a_time_per_matter(cast: Cast) -> None:
    first = supervision_file_request(actor=cast.attorney, matter=cast.matter)
    again = supervision_file_request(actor=cast.attorney2, matter=cast.matter)
    assert again.pk == first.pk


def test_the_panel_polls_while_generating_and_stops_when_done(client: Client, cast: Cast) -> None:
    client.force_login(cast.attorney)
    url = reverse("supervision:supervision_file_panel", args=[cast.matter.pk])
    job = supervision_file_request(actor=cast.attorney, matter=cast.matter)
    SupervisionFile.objects.filter(pk=job.pk).update(
        status=FileStatus.RUNNING,
        heartbeat_at=timezone.now(),
        progress_total=4,
        progress_done=2,
        stage="Tasks 2 of 4",
    )
    polling = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert 'hx-trigger="every 2s"' in polling and 'value="50"' in polling
    assert "Tasks 2 of 4" in polling
    SupervisionFile.objects.filter(pk=job.pk).update(status=FileStatus.QUEUED)
    supervision_file_generate(job_id=job.pk)
    done = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "hx-trigger" not in done and "Download ZIP" in done


def test_the_matter_page_embeds_the_panel_for_those_allowed_only(
    client: Client, cast: Cast
) -> None:
    url = reverse("matters:detail", args=[cast.matter.pk])
    panel = reverse("supervision:supervision_file_panel", args=[cast.matter.pk])
    client.force_login(cast.attorney)
    assert panel in client.get(url).content.decode()
    client.force_login(cast.staff_on)
    page = client.get(url)
    assert page.status_code == 200 and panel not in page.content.decode()


def test_the_report_fetches_nothing_remote() -> None:
    for url in (
        "http://127.0.0.1:8131/x.png",
        "https://example.com/font.ttf",
        "data:text/plain,hi",
        "file:///etc/passwd",
        "ftp://example.com/a",
    ):
        with pytest.raises(report.RemoteFetchRefused):
            report.check_local(url)
    assert report.check_local((report.font_dir() / "DejaVuSans.ttf").as_uri()).is_file()
