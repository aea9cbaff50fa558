"""The supervision file's page, the htmx panel the matter page embeds, and the download."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from lpo_tracker.errors import RuleViolation
from matters.models import Matter
from matters.selectors import get_matter_for_supervision_file
from supervision.supervision_file.models import FileStatus
from supervision.supervision_file.selectors import PANEL_LENGTH, files_for, get_file_for
from supervision.supervision_file.services import (
    supervision_file_open,
    supervision_file_request,
)
from vendors.access import signed_in_user, staff_view

POLL_SECONDS = 2


def _panel_context(request: HttpRequest, matter: Matter) -> dict[str, Any]:
    now = timezone.now()
    files = list(files_for(signed_in_user(request), matter)[:PANEL_LENGTH])
    for job in files:
        # A job whose worker stopped reporting is shown as what it is: failed.
        job.shown_status = FileStatus.FAILED if job.is_stale(now) else job.status  # type: ignore[attr-defined]
    active = next((job for job in files if job.shown_status in ("queued", "running")), None)  # type: ignore[attr-defined]
    return {
        "matter": matter,
        "files": files,
        "active": active,
        "latest": files[0] if files else None,
        "poll_seconds": POLL_SECONDS,
    }


@staff_view
@require_GET
def supervision_file_page(request: HttpRequest, pk: int) -> HttpResponse:
    matter = get_matter_for_supervision_file(request.user, pk)
    return render(request, "supervision/file/page.html", _panel_context(request, matter))


@staff_view
@require_GET
def supervision_file_panel(request: HttpRequest, pk: int) -> HttpResponse:
    """The panel alone (htmx): polled every few seconds while a file is being generated."""
    matter = get_matter_for_supervision_file(request.user, pk)
    return render(request, "supervision/file/_panel.html", _panel_context(request, matter))


@staff_view
@require_POST
def supervision_file_generate(request: HttpRequest, pk: int) -> HttpResponse:
    matter = get_matter_for_supervision_file(request.user, pk)
    try:
        supervision_file_request(actor=signed_in_user(request), matter=matter)
    except RuleViolation as refusal:
        messages.error(request, refusal.message)
    if getattr(request, "htmx", False):
        return render(request, "supervision/file/_panel.html", _panel_context(request, matter))
    return redirect("supervision:supervision_file", pk=matter.pk)


@staff_view
@require_GET
def supervision_file_download(request: HttpRequest, pk: int) -> FileResponse:
    job = get_file_for(signed_in_user(request), pk)
    if job.status != FileStatus.DONE:
        raise Http404("This file is not ready.")
    handle = supervision_file_open(actor=signed_in_user(request), job=job)
    response = FileResponse(
        handle, as_attachment=True, filename=job.download_name, content_type="application/zip"
    )
    response["Cache-Control"] = "no-store"
    return response
