"""The dashboard and the review queue cost a fixed number of queries, however many rows.

Each test loads the page with one row of each kind, then with fifty, and expects the same
count. Extra rows go through the services (tests.factories.advance) like real ones.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pytest_django import DjangoAssertNumQueries

from matters.models import TaskStatus
from supervision.models import Notification, ReminderKind
from tests.conftest import Cast

pytestmark = pytest.mark.django_db

# Every signed-in page: the session, the user, whether the user belongs to a vendor (asked
# once; the navigation reuses the cached answer), the user's model permissions, direct and
# through groups in one UNION (the navigation hides sections the user may not open), and
# whether they may engage a vendor on some open matter (the navigation's "Engage a vendor").
SIGNED_IN = 5
# The header's unread badge: one COUNT.
BADGE = 1
# The dashboard (supervision.reports.dashboard.dashboard_for): open matters list + their count;
# at-risk tasks list + their count (per matter, on PostgreSQL); the first reviews waiting;
# reviews waiting by age; SLA compliance by week; vendors whose due diligence lapsed (and
# their open tasks only if there are any). Then the latest five notifications.
# (tasks_visible_to's vendor check reuses the request's cached answer.) And one for the ops
# panel of e-mails that gave up (whether the user holds the outbox permission).
DASHBOARD = SIGNED_IN + 8 + 1 + BADGE + 1
# The review queue: the vendors offered as a filter (the matter filter is a search field);
# one page of tasks, one row more than shown instead of a COUNT, with their latest version
# (subqueries) and matter, client and vendor (joins). Outside a test's transaction the page
# cache adds one read of the page version, and a cache hit skips these two
# (tests/supervision/test_page_cache.py counts both).
REVIEW_QUEUE = SIGNED_IN + 1 + 1 + BADGE


def add_rows(cast: Cast, count: int, *, at_risk: bool = True) -> None:
    """`count` reviews waiting (and tasks at risk) and unread notifications for the attorney."""
    soon = timezone.now() + dt.timedelta(hours=2)
    for n in range(count):
        cast.advance(cast.new_task(title=f"Custodian batch {n}"), TaskStatus.SUBMITTED)
        if at_risk:
            cast.advance(cast.new_task(title=f"Rush memo {n}", sla_due_at=soon),
                         TaskStatus.ASSIGNED)
    Notification.objects.bulk_create(
        Notification(user=cast.attorney, kind=ReminderKind.REVIEW_WAITING, subject=f"Waiting {n}")
        for n in range(count)
    )


def signed_in(cast: Cast) -> Client:
    client = Client()
    client.force_login(cast.attorney)
    return client


def test_dashboard_costs_the_same_with_one_or_fifty_rows(
    cast: Cast, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    url = reverse("supervision:dashboard")
    client = signed_in(cast)
    add_rows(cast, 1)
    with django_assert_num_queries(DASHBOARD):
        one = client.get(url)
    assert one.context["board"].reviews_waiting_total == 1
    add_rows(cast, 49)
    with django_assert_num_queries(DASHBOARD):
        fifty = client.get(url)
    board = fifty.context["board"]
    assert (board.reviews_waiting_total, board.at_risk_total) == (50, 50)
    assert fifty.context["UNREAD_COUNT"] == 50


def test_review_queue_costs_the_same_with_one_or_fifty_rows(
    cast: Cast, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    url = reverse("supervision:review_queue")
    client = signed_in(cast)
    add_rows(cast, 1, at_risk=False)
    with django_assert_num_queries(REVIEW_QUEUE):
        one = client.get(url)
    assert len(one.context["rows"]) == 1
    add_rows(cast, 49, at_risk=False)
    with django_assert_num_queries(REVIEW_QUEUE):
        fifty = client.get(url)
    assert len(fifty.context["rows"]) == 50
    assert b"Custodian batch 48" in fifty.content


def test_the_per_matter_at_risk_query_lists_what_the_plain_query_lists(cast: Cast) -> None:
    """The dashboard's LATERAL form (PostgreSQL) against the plain filter it replaces: same
    tasks, same order, same total, for users with and without grants and a walled one."""
    from matters.models import WITH_VENDOR_STATES
    from matters.selectors import tasks_visible_to
    from supervision.reports.dashboard import AT_RISK_WINDOW, _at_risk

    now = timezone.now()
    add_rows(cast, 12)
    cast.advance(cast.new_task(title="Far off", sla_due_at=now + dt.timedelta(days=9)),
                 TaskStatus.ASSIGNED)
    cast.advance(cast.new_task(title="Overdue", sla_due_at=now - dt.timedelta(hours=3)),
                 TaskStatus.IN_PROGRESS)
    for user in (cast.attorney, cast.staff_on, cast.staff_off, cast.screened):
        visible = tasks_visible_to(user)
        plain = visible.filter(status__in=WITH_VENDOR_STATES,
                               sla_due_at__lte=now + AT_RISK_WINDOW).order_by("sla_due_at", "pk")
        tasks, total = _at_risk(user, visible, until=now + AT_RISK_WINDOW, limit=10)
        assert [t.pk for t in tasks] == [t.pk for t in plain[:10]], user
        assert total == plain.count(), user
    assert _at_risk(cast.attorney, tasks_visible_to(cast.attorney), until=now + AT_RISK_WINDOW,
                    limit=10)[1] == 13
