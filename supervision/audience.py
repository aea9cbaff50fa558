"""Who may still be told about what: the one audience filter of every reminder, digest,
e-mail and in-app notification (Model Rules 1.6, 1.7, 1.10: a wall beats every grant).

Planners choose recipients from grants and memberships when a reminder is planned. A wall,
or a reassignment to another vendor, can come between planning and sending, and a
notification made before a wall must not stay readable after it. So the rule is applied
twice, both times from here:

1. When a reminder is recorded (`without_screened_recipients`): nobody screened from the
   reminder's matter becomes a recipient, whatever audience the planner chose (the vendor
   contacts of the SLA sweep included).
2. When a notification is e-mailed, put in a digest or listed (`notification_visible`): its
   user must still see what it is about: not screened from its matter and, for a vendor
   user, the task is still with their vendor. An e-mail that fails this at send time is
   withheld (`Notification.withheld_at`), never sent.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from matters.models import Engagement, EthicalWall, Matter, Task
from supervision.models import EmailState, Notification
from vendors.models import VendorUser

if TYPE_CHECKING:
    from supervision.reminders import PlannedReminder

TASK_OBJECT = Task._meta.label_lower
ENGAGEMENT_OBJECT = Engagement._meta.label_lower
MATTER_OBJECT = Matter._meta.label_lower


def _about_walled_matter(user: Any) -> Q:
    """The notification's reminder concerns a task or engagement of a matter that `user`
    (an id, or OuterRef("user_id") for the notification's own user) is screened from."""
    task_wall = EthicalWall.objects.filter(user_id=user,
                                           matter__tasks=OuterRef("reminder__object_id"))
    engagement_wall = EthicalWall.objects.filter(
        user_id=user, matter__engagements=OuterRef("reminder__object_id"))
    matter_wall = EthicalWall.objects.filter(user_id=user,
                                             matter_id=OuterRef("reminder__object_id"))
    return (
        (Q(reminder__object_type=TASK_OBJECT) & Q(Exists(task_wall)))
        | (Q(reminder__object_type=ENGAGEMENT_OBJECT) & Q(Exists(engagement_wall)))
        # Matter notices (access changes), except the notice of the wall itself.
        | (Q(reminder__object_type=MATTER_OBJECT) & Q(Exists(matter_wall))
           & ~Q(reminder__threshold__startswith="wall_added:"))
    )


def _about_another_vendors_task() -> Q:
    """The notification's user works for a vendor and its task is not with that vendor
    (any more: reassigned)."""
    with_their_vendor = Task.objects.filter(pk=OuterRef(OuterRef("reminder__object_id")),
                                            engagement__vendor_id=OuterRef("vendor_id"))
    elsewhere = VendorUser.objects.filter(user_id=OuterRef("user_id")).exclude(
        Exists(with_their_vendor))
    return Q(reminder__object_type=TASK_OBJECT) & Q(Exists(elsewhere))


def notification_visible() -> Q:
    """On `Notification`: its user may still see what it is about. The one definition used
    by the notification list, the unread count, e-mail delivery and the digest."""
    return ~_about_walled_matter(OuterRef("user_id")) & ~_about_another_vendors_task()


def notifications_about_walled_matters(user: Any) -> Q:
    """On `Notification`: rows about a matter `user` is screened from, whoever they were
    for (the admin hides these from a screened administrator)."""
    return _about_walled_matter(getattr(user, "pk", None) or 0)


def withhold_invisible(notifications: QuerySet[Notification]) -> int:
    """Mark the not-yet-sent notifications whose user may no longer see their subject as
    withheld: they are never e-mailed, and their reminders can complete."""
    return (notifications.filter(emailed_at__isnull=True, withheld_at__isnull=True)
            .exclude(notification_visible())
            .update(withheld_at=timezone.now(), email_state=EmailState.WITHHELD,
                    email_next_attempt_at=None))


def _matters_of(planned: Sequence[PlannedReminder]) -> dict[tuple[str, int], int]:
    """The matter of each task or engagement the reminders are about (one query per kind)."""
    ids: dict[str, set[int]] = defaultdict(set)
    for item in planned:
        ids[item.object_type].add(item.object_id)
    matters: dict[tuple[str, int], int] = {}
    for object_type, model in ((TASK_OBJECT, Task), (ENGAGEMENT_OBJECT, Engagement)):
        if ids[object_type]:
            rows = model.objects.filter(pk__in=ids[object_type]).values_list("pk", "matter_id")
            matters.update({(object_type, pk): matter_id for pk, matter_id in rows})
    return matters


def without_screened_recipients(planned: Sequence[PlannedReminder]) -> list[PlannedReminder]:
    """The same reminders, minus every recipient screened from the reminder's matter. Two
    queries for the matters, one for the walls, whatever the number of reminders."""
    matters = _matters_of(planned)
    users = {user_id for item in planned for user_id in item.recipient_ids}
    walls = set(EthicalWall.objects.filter(
        matter_id__in=set(matters.values()), user_id__in=users
    ).values_list("matter_id", "user_id")) if matters and users else set()
    if not walls:
        return list(planned)
    kept = []
    for item in planned:
        matter_id = matters.get((item.object_type, item.object_id))
        recipients = tuple(user_id for user_id in item.recipient_ids
                           if (matter_id, user_id) not in walls)
        kept.append(item if recipients == item.recipient_ids
                    else dataclasses.replace(item, recipient_ids=recipients))
    return kept
