"""Which supervision files of a matter a user may see and download."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import Http404

from matters.models import Matter
from matters.selectors import get_matter_for_supervision_file, may_see_walls
from supervision.supervision_file.models import SupervisionFile

PANEL_LENGTH = 5


def files_for(user: User, matter: Matter) -> QuerySet[SupervisionFile]:
    """The matter's files, newest first, for one of its attorneys or risk (the caller has
    checked `get_matter_for_supervision_file`). A file that shows who is screened goes only
    to those who may see walls."""
    files = SupervisionFile.objects.filter(matter=matter).select_related("requested_by", "matter")
    if not may_see_walls(user, matter):
        files = files.filter(shows_walls=False)
    return files.order_by("-requested_at", "-id")


def get_file_for(user: User, pk: int) -> SupervisionFile:
    """A file the user may download: 404 for a missing one, one of a matter they may not
    see (or are screened from) and one they may not have (it shows walls); 403 for someone
    who sees the matter but may not compile its file."""
    matter_id = SupervisionFile.objects.filter(pk=pk).values_list("matter_id", flat=True).first()
    if matter_id is None:
        raise Http404("No such file.")
    matter = get_matter_for_supervision_file(user, matter_id)
    found = files_for(user, matter).filter(pk=pk).first()
    if found is None:
        raise Http404("No such file.")
    return found
