"""Telling a person that their access to a matter changed: added to or removed from its team
or its supervising attorneys, screened from it by an ethical wall, or the wall taken down.

Registered with `matters.services.ACCESS_CHANGE_HOOKS`, so it runs inside the transaction of
the change: the in-app notification is recorded with the change or not at all, through the
reminder engine (one `ReminderRecord` under a unique key: matter, kind `access_changed`, the
change and its audit event). The e-mail goes after commit (a Celery task); if the broker is
down, the next reminder sweep sends it, because every sweep delivers what is still unsent.
"""

from __future__ import annotations

import logging
from functools import partial

from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from matters.services import AccessChange
from supervision.models import ReminderKind
from supervision.reminders import PlannedReminder, one_line, reminders_record

logger = logging.getLogger(__name__)

MATTER_OBJECT = "matters.matter"
SUBJECTS = {
    "team_added": "You were added to the team of matter {number}",
    "team_removed": "You were removed from the team of matter {number}",
    "supervising_attorney_added": "You now supervise matter {number}",
    "supervising_attorney_removed": "You no longer supervise matter {number}",
    # A screened person learns nothing of the matter, not even its number: the risk team
    # tells them what they need to know.
    "wall_added": "An ethical wall now screens you from a matter",
    "wall_removed": "Your screen from matter {number} was lifted",
}
# What the person may open afterwards: the matter page, unless they no longer reach it.
LINKS_TO_MATTER = {"team_added", "supervising_attorney_added", "wall_removed"}


def access_notice(change: AccessChange) -> PlannedReminder:
    matter = change.matter
    actor_name = (change.actor.get_full_name() or change.actor.get_username()
                  if change.actor is not None and change.actor.is_authenticated
                  else "the system")
    walled = change.change == "wall_added"
    context = {"change": change.change, "number": "" if walled else matter.number,
               "title": "" if walled else matter.title, "actor": actor_name}
    return PlannedReminder(
        kind=ReminderKind.ACCESS_CHANGED,
        object_type=MATTER_OBJECT,
        object_id=matter.pk,
        threshold=f"{change.change}:{change.user.pk}:{change.event_id}",
        recipient_ids=(change.user.pk,),
        subject=one_line(SUBJECTS[change.change].format(number=matter.number)),
        body=render_to_string("supervision/email/access_changed.txt", context).strip(),
        url=(reverse("matters:detail", args=[matter.pk])
             if change.change in LINKS_TO_MATTER else ""),
        label=f"{change.change} {change.user.get_username()} on {matter.number}",
    )


def access_change_record(change: AccessChange) -> None:
    """Record the notice in the change's transaction; send its e-mail once it commits."""
    recorded = reminders_record(planned=[access_notice(change)], now=timezone.now())
    from supervision.tasks import enqueue_access_notice  # the tasks module imports Celery

    for reminder_id in recorded.reminder_ids:
        transaction.on_commit(partial(enqueue_access_notice, reminder_id), robust=True)
