"""The calendar feed's pages: the owner's settings page (make, replace, revoke, copy the
URL) at /calendar/, and the feed itself at /calendar/feed/<token>.ics.

The feed has no session: a calendar program cannot sign in. The token is the credential, so
an unknown or revoked token, or a deactivated owner, is a 404, like a page that does not
exist. What the feed holds is read for its owner at every fetch (`deadlines_for`), so walls
and lost grants apply at the next poll.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST, require_safe

from lpo_tracker.clock import firm_today
from supervision.calendar.deadlines import Deadline, deadlines_for
from supervision.calendar.ics import render_calendar
from supervision.calendar.services import (
    calendar_feed_issue,
    calendar_feed_note_fetch,
    calendar_feed_revoke,
    feed_for_token,
    live_feed_of,
)
from vendors.access import signed_in_user

# The new URL waits in the session for the page the form redirects to, then is dropped.
NEW_URL_KEY = "calendar_feed_new_url"
ICS_TYPE = "text/calendar; charset=utf-8"


def _feed_url(request: HttpRequest, token: str) -> str:
    return request.build_absolute_uri(reverse("calendar:feed", args=[token]))


@login_required
@require_GET
def calendar_settings(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    feed = live_feed_of(user)
    new_url = request.session.pop(NEW_URL_KEY, None)
    return render(
        request,
        "supervision/calendar/settings.html",
        {
            "feed": feed,
            "new_url": new_url if feed is not None else None,
            "deadline_count": len(deadlines_for(user, today=firm_today())),
        },
    )


@login_required
@require_POST
def calendar_issue(request: HttpRequest) -> HttpResponse:
    _feed, token = calendar_feed_issue(actor=signed_in_user(request))
    request.session[NEW_URL_KEY] = _feed_url(request, token)
    messages.success(
        request, "Your calendar feed is ready. Copy its address now: it is shown only once."
    )
    return redirect("calendar:settings")


@login_required
@require_POST
def calendar_revoke(request: HttpRequest) -> HttpResponse:
    if calendar_feed_revoke(actor=signed_in_user(request)) is not None:
        messages.success(request, "Your calendar feed is revoked: its address no longer works.")
    return redirect("calendar:settings")


@require_safe  # GET, and HEAD, which some calendar programs send first
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    feed = feed_for_token(token)
    if feed is None:
        raise Http404("No such calendar.")
    owner = feed.user
    today = firm_today()

    def url_for(deadline: Deadline) -> str:
        return request.build_absolute_uri(reverse(deadline.route, args=[deadline.object_id]))

    body = render_calendar(
        deadlines_for(owner, today=today),
        name=f"LPO Tracker deadlines ({owner.get_username()})",
        uid=f"calendar-feed-{feed.pk}@lpo-tracker",
        url_for=url_for,
        today=today,
    )
    calendar_feed_note_fetch(feed)
    response = HttpResponse(body, content_type=ICS_TYPE)
    response["Content-Disposition"] = 'inline; filename="lpo-deadlines.ics"'
    return response
