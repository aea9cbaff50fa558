"""In-app notifications for the signed-in user: the list, the unread count, marking read.

Every function is scoped to the user it is given: nobody reads or marks anyone else's rows.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet
from django.utils import timezone

from supervision.models import Notification

AnyUser = User | AnonymousUser


def notifications_for(user: AnyUser) -> QuerySet[Notification]:
    """The user's notifications, newest first (one query; slice it for a page)."""
    if not user.is_authenticated:
        return Notification.objects.none()
    return Notification.objects.filter(user_id=user.pk).order_by("-created_at", "-id")


def unread_count(user: AnyUser) -> int:
    """Unread notifications (one COUNT on the (user, read_at) index)."""
    if not user.is_authenticated:
        return 0
    return Notification.objects.filter(user_id=user.pk, read_at__isnull=True).count()


def notification_mark_read(*, user: AnyUser, ids: list[int] | None) -> int:
    """Mark the user's notifications read: those in `ids`, or all of them when `ids` is None.
    Ids of other users' notifications are ignored. Returns how many changed."""
    if not user.is_authenticated:
        return 0
    unread = Notification.objects.filter(user_id=user.pk, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=timezone.now())
