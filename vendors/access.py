"""Who reaches which pages: the one place that answers "what may a vendor user open?".

Two kinds of page, two decorators, one rule each (docs/rules.md, section 3):

- `staff_view`: the firm's own pages (matters, engagements, vendor records, the review
  queue and the review pages, reports). Anonymous users go to the login page; a vendor user,
  active or not, gets 404: the page does not exist for them, so they learn nothing from it.
- `portal_view`: the vendor portal. Anonymous users go to the login page; anyone without an
  active vendor membership gets 404.

Pages both kinds of user share (a task's page, a version's download, notifications) use
`login_required` and the scoped selectors, which answer 404 for what a user may not see.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, cast

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase

from vendors.models import VendorUser
from vendors.selectors import is_vendor_user, vendor_of

View = Callable[..., HttpResponseBase]


def signed_in_user(request: HttpRequest) -> User:
    """The signed-in user of a view behind `login_required` (or one of the decorators here)."""
    return cast(User, request.user)


def refuse_vendor_users(request: HttpRequest) -> None:
    """404 for a vendor user: a staff page does not exist for them."""
    if is_vendor_user(request.user):
        raise Http404("No such page.")


def portal_membership(request: HttpRequest) -> VendorUser:
    """The active vendor membership of the signed-in user; 404 for anyone else."""
    membership = vendor_of(request.user)
    if membership is None:
        raise Http404("No such page.")
    return membership


def staff_view(view: View) -> View:
    """Signed-in firm staff only: anonymous users go to the login page, vendor users get 404."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        refuse_vendor_users(request)
        return view(request, *args, **kwargs)

    return login_required(wrapped)


def portal_view(view: View) -> View:
    """Signed in (else the login page) with an active vendor membership (else 404)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        portal_membership(request)
        return view(request, *args, **kwargs)

    return login_required(wrapped)
