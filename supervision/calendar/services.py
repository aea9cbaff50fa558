"""A person's calendar feed: made, replaced and revoked by its owner, each audited.

The token is 32 random bytes (URL-safe base64); only its SHA-256 is stored. The URL is
shown once, right after it is made; losing it means making a new one, which revokes the old.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from lpo_tracker.audit.services import audit_record
from supervision.models import CalendarFeed

TOKEN_BYTES = 32
# Writing the last fetch on every poll would be a write per calendar per hour for nothing:
# once an hour is enough to tell the owner the feed is in use.
FETCH_NOTE_EVERY = dt.timedelta(hours=1)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def live_feed_of(user: User) -> CalendarFeed | None:
    return CalendarFeed.objects.filter(user=user, revoked_at__isnull=True).first()


def feed_for_token(token: str) -> CalendarFeed | None:
    """The live feed of an active user with this token; None for anything else (unknown,
    revoked, a deactivated owner): the feed view answers all of them 404 alike."""
    return (
        CalendarFeed.objects.filter(
            token_hash=token_hash(token), revoked_at__isnull=True, user__is_active=True
        )
        .select_related("user")
        .first()
    )


def calendar_feed_issue(*, actor: User) -> tuple[CalendarFeed, str]:
    """A new feed for `actor`, revoking the live one if any (a rotation); returns the feed
    and its token, which is not kept anywhere."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    with transaction.atomic():
        # Lock the owner's row: two clicks at once make one live feed, not a constraint error.
        User.objects.select_for_update().filter(pk=actor.pk).first()
        previous = live_feed_of(actor)
        now = timezone.now()
        if previous is not None:
            previous.revoked_at = now
            previous.save(update_fields=["revoked_at"])
        feed = CalendarFeed.objects.create(user=actor, token_hash=token_hash(token), created_at=now)
        audit_record(
            actor=actor,
            action="calendar_feed.rotated" if previous else "calendar_feed.created",
            obj=feed,
            before={"feed": previous.pk} if previous else None,
            after={"feed": feed.pk, "user": actor.pk},
        )
    return feed, token


def calendar_feed_revoke(*, actor: User, owner: User | None = None) -> CalendarFeed | None:
    """Revoke the live feed of `owner` (default: `actor` themselves; an administrator
    revoking a leaked feed names its owner): its URL answers 404 from now on. None if there
    was no live feed."""
    owner = owner or actor
    with transaction.atomic():
        feed = (CalendarFeed.objects.select_for_update()
                .filter(user=owner, revoked_at__isnull=True).first())
        if feed is None:
            return None
        feed.revoked_at = timezone.now()
        feed.save(update_fields=["revoked_at"])
        audit_record(actor=actor, action="calendar_feed.revoked", obj=feed,
                     before={"feed": feed.pk, "user": owner.pk})
    return feed


def calendar_feed_note_fetch(feed: CalendarFeed) -> None:
    """Remember that the feed was fetched (at most once an hour, a conditional UPDATE)."""
    now = timezone.now()
    if feed.last_fetched_at is None or now - feed.last_fetched_at >= FETCH_NOTE_EVERY:
        CalendarFeed.objects.filter(pk=feed.pk).update(last_fetched_at=now)
