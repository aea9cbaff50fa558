"""The unread-notification badge in the header (base.html reads UNREAD_COUNT)."""

from __future__ import annotations

from django.http import HttpRequest

from supervision.notifications import unread_count


def unread(request: HttpRequest) -> dict[str, int]:
    """One COUNT query for a signed-in user; none for anyone else."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"UNREAD_COUNT": 0}
    return {"UNREAD_COUNT": unread_count(user)}
