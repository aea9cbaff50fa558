"""The matter pages cost a fixed number of queries, whatever the number of rows.

Each page is measured against a baseline: the same signed-in user opening a page that only
renders the layout (password change done). The baseline holds what every page pays (session,
user, the navigation's vendor check, the unread-notification badge), so these tests name
exactly the queries the matter pages add and do not break when the layout changes.
"""

from __future__ import annotations

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from matters.models import MatterRole, TaskStatus
from matters.services import matter_member_add
from tests import factories as f
from tests.conftest import Cast
from tests.query_counts import fresh_last_seen

pytestmark = pytest.mark.django_db


def count_queries(client: Client, url: str) -> int:
    fresh_last_seen(client)  # the session's once-a-minute stamp is not the page's cost
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured.captured_queries)


def layout_baseline(client: Client) -> int:
    return count_queries(client, reverse("password_change_done"))


# The matter list adds:
#   1. the client choices of the filter form (clients with a visible matter),
#   2. the paginator's COUNT of the filtered, visible matters,
#   3. one page of matters with client and responsible attorney joined and the open, draft
#      and overdue task counts annotated in the same query.
MATTER_LIST_QUERIES = 3


def test_matter_list_costs_the_same_for_1_and_50_matters(client: Client, cast: Cast) -> None:
    client.force_login(cast.staff_on)
    baseline = layout_baseline(client)
    url = reverse("matters:list")

    one_row = count_queries(client, url)
    for number in range(49):
        matter = f.matter(actor=cast.admin, responsible=cast.attorney, title=f"Matter {number}")
        matter_member_add(actor=cast.admin, matter=matter, user=cast.staff_on,
                          role=MatterRole.TEAM)
        f.draft_task(actor=cast.staff_on, matter=matter)
    fifty_rows = count_queries(client, url)

    assert one_row == fifty_rows == baseline + MATTER_LIST_QUERIES
    filtered = f"{url}?q=matter&status=open&practice_area=litigation&page=2"
    assert count_queries(client, filtered) == baseline + MATTER_LIST_QUERIES


# The matter detail adds, with one engaged vendor:
#   1. the matter (get_matter_for: visible, not screened, client and attorney joined),
#   2-3. may the user change it / supervise it (two permission checks),
#   4. the ethical walls with their users,
#   5. the memberships with their users,
#   6. the engagements with their vendors,
#   7. the engagement's valid due-diligence kinds (one per engagement, not per task),
#   8. the tasks with their vendors (one query for the whole table),
#   9. the last 50 audit events with their actors,
#   10. the engagement choices of the bulk-assign form,
#   11. the matter's parties,
#   12-16. why a supervising attorney cannot sign off today (the sign-off rule, set-based):
#       their vendor memberships, attorney profiles, active bar admissions, walls, and who
#       holds supervise on the matter,
#   17. for someone without the supervise grant, whether they hold the risk role (their
#       model permissions): may they compile the supervision file.
# (Whether the user is a vendor user is asked once per request, by the staff-page check,
# and counted in the baseline.)
MATTER_DETAIL_QUERIES = 17


def test_matter_detail_costs_the_same_for_1_and_30_tasks(client: Client, cast: Cast) -> None:
    client.force_login(cast.staff_on)
    baseline = layout_baseline(client)
    url = reverse("matters:detail", args=[cast.matter.pk])

    one_task = count_queries(client, url)
    for number in range(29):
        task = cast.new_task(title=f"Batch {number}")
        if number % 2:
            cast.advance(task, TaskStatus.ASSIGNED)
    thirty_tasks = count_queries(client, url)

    assert one_task == thirty_tasks == baseline + MATTER_DETAIL_QUERIES


def test_a_count_does_not_depend_on_the_time_between_two_measurements(
    client: Client, cast: Cast
) -> None:
    """On a loaded machine minutes pass between two counts of one test; the session's
    once-a-minute last-seen stamp must not show up as a cost of the page (tests/query_counts)."""
    client.force_login(cast.staff_on)
    url = reverse("matters:list")
    with time_machine.travel(timezone.now(), tick=True) as clock:
        first = count_queries(client, url)
        clock.shift(120)
        second = count_queries(client, url)
    assert first == second
