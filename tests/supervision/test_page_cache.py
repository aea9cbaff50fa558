"""The review queue's page cache never serves what the user may no longer see, nor hides what
was just submitted (supervision/page_cache.py).

These tests commit (transaction=True): the page version moves at commit, and a page rendered
inside an open transaction is never cached, so inside the usual rolled-back test transaction
the cache would not be exercised at all. Each test first proves the page is served from the
cache (a hit costs fewer queries), then changes something through a service or straight in
the database and checks the very next request.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth.models import Group
from django.core.cache import caches
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from guardian.shortcuts import assign_perm
from pytest_django import DjangoAssertNumQueries

from matters.models import EthicalWall, MatterRole, Task, TaskStatus
from matters.selectors import SUPERVISE
from matters.services import matter_member_add, matter_member_remove, wall_add
from supervision.models import ReviewQueueVersion
from supervision.page_cache import CACHE_ALIAS
from supervision.selectors import review_queue_version
from tests.conftest import Cast, build_cast
from tests.query_counts import fresh_last_seen

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

URL = reverse("supervision:review_queue")
# A signed-in page (session, user, vendor membership, model permissions, whether they may
# engage a vendor), the unread badge, and the page version: what a cache hit costs. A miss
# adds the vendors offered as a filter and the page of tasks.
HIT = 5 + 1 + 1
MISS = HIT + 2


@pytest.fixture
def cast() -> Iterator[Cast]:
    """Built and committed (no test transaction), with an empty page cache."""
    caches[CACHE_ALIAS].clear()
    yield build_cast()
    caches[CACHE_ALIAS].clear()


def signed_in(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def main(content: bytes) -> bytes:
    """The page's <main> element: its content, without the layout around it."""
    return content.split(b'<main id="main"', 1)[1].split(b"</main>", 1)[0]


def queue_html(client: Client) -> tuple[str, int]:
    """The queue page's HTML and how many queries it took."""
    fresh_last_seen(client)  # the session's once-a-minute stamp is not the page's cost
    with CaptureQueriesContext(connection) as queries:
        response = client.get(URL)
    assert response.status_code == 200
    return response.content.decode(), len(queries)


def assert_cached(client: Client, title: str) -> None:
    """The page is rendered once, then served from the cache, listing `title` both times."""
    first, _ = queue_html(client)
    again, queries = queue_html(client)
    assert title in first and title in again
    assert queries == HIT, "the second request should be a cache hit"


def test_a_repeat_view_is_served_from_the_cache_at_a_fixed_cost(
    cast: Cast, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    client = signed_in(cast.attorney)
    cast.advance(cast.new_task(title="Custodian batch 0"), TaskStatus.SUBMITTED)
    with django_assert_num_queries(MISS):
        client.get(URL)
    with django_assert_num_queries(HIT):
        one = client.get(URL)
    assert b"Custodian batch 0" in one.content
    for n in range(1, 50):
        cast.advance(cast.new_task(title=f"Custodian batch {n}"), TaskStatus.SUBMITTED)
    with django_assert_num_queries(MISS):
        fifty = client.get(URL)
    with django_assert_num_queries(HIT):
        again = client.get(URL)
    assert main(again.content) == main(fifty.content)  # the layout's CSRF token differs
    assert fifty.content.count(b"data-review-url=") == 50


def test_a_task_submitted_after_the_page_was_cached_appears_at_once(cast: Cast) -> None:
    client = signed_in(cast.attorney)
    cast.advance(cast.new_task(title="Board minutes"), TaskStatus.SUBMITTED)
    assert_cached(client, "Board minutes")

    cast.advance(cast.task, TaskStatus.SUBMITTED)

    page, queries = queue_html(client)
    assert cast.task.title in page and "Board minutes" in page
    assert queries == MISS


def test_a_revoked_grant_hides_the_queue_at_once(cast: Cast) -> None:
    """attorney2 supervises through membership; removing it revokes supervise."""
    client = signed_in(cast.attorney2)
    task = cast.advance(cast.task, TaskStatus.SUBMITTED)
    assert_cached(client, task.title)

    matter_member_remove(actor=cast.admin, matter=cast.matter, user=cast.attorney2,
                         role=MatterRole.SUPERVISING_ATTORNEY)

    page, _ = queue_html(client)
    assert task.title not in page
    assert "Nothing is waiting for your review." in page


def test_an_ethical_wall_hides_the_queue_at_once(cast: Cast) -> None:
    client = signed_in(cast.attorney2)
    task = cast.advance(cast.task, TaskStatus.SUBMITTED)
    assert_cached(client, task.title)

    wall_add(actor=cast.admin, matter=cast.matter, user=cast.attorney2,
             reason="Joined from the adverse party's firm")

    assert task.title not in queue_html(client)[0]


def test_leaving_the_group_that_granted_supervise_hides_the_queue_at_once(cast: Cast) -> None:
    reviewers = Group.objects.create(name="Matter reviewers")
    assign_perm(SUPERVISE, reviewers, cast.matter)
    assign_perm("view_matter", reviewers, cast.matter)
    cast.staff_off.groups.add(reviewers)  # staff_off supervises only through the group
    client = signed_in(cast.staff_off)
    task = cast.advance(cast.task, TaskStatus.SUBMITTED)
    assert_cached(client, task.title)

    cast.staff_off.groups.remove(reviewers)

    assert task.title not in queue_html(client)[0]


def test_changes_made_straight_in_the_database_invalidate_too(cast: Cast) -> None:
    """The version is bumped by triggers, so bulk updates and raw SQL count as well."""
    client = signed_in(cast.attorney)
    task = cast.advance(cast.task, TaskStatus.SUBMITTED)
    assert_cached(client, task.title)

    Task.objects.filter(pk=task.pk).update(title="Renamed in bulk")
    assert "Renamed in bulk" in queue_html(client)[0]

    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO matters_ethicalwall (matter_id, user_id, reason, created_at)"
                       " VALUES (%s, %s, 'raw SQL', now())", [cast.matter.pk, cast.attorney2.pk])
    assert EthicalWall.objects.filter(user=cast.attorney2).exists()
    assert "Renamed in bulk" in queue_html(client)[0]  # attorney's own page: re-rendered, same
    assert "Renamed in bulk" not in queue_html(signed_in(cast.attorney2))[0]


def test_the_version_moves_once_per_committed_transaction_and_not_on_rollback(
    cast: Cast,
) -> None:
    before = review_queue_version()
    with transaction.atomic():
        for n in range(3):
            cast.new_task(title=f"Draft {n}")
        assert review_queue_version() == before  # deferred: moves at commit
    assert review_queue_version() == before + 1
    with transaction.atomic():
        cast.new_task(title="Rolled back")
        transaction.set_rollback(True)
    assert review_queue_version() == before + 1


def test_a_page_rendered_inside_a_transaction_is_not_cached(cast: Cast) -> None:
    """It could hold the transaction's own uncommitted writes."""
    client = signed_in(cast.attorney)
    task = cast.advance(cast.task, TaskStatus.SUBMITTED)
    with transaction.atomic():
        Task.objects.filter(pk=task.pk).update(title="Uncommitted title")
        assert "Uncommitted title" in queue_html(client)[0]
        transaction.set_rollback(True)
    page, queries = queue_html(client)
    assert "Uncommitted title" not in page and task.title in page
    assert queries == MISS


def test_the_cache_can_be_switched_off(cast: Cast, settings: pytest.FixtureRequest) -> None:
    settings.REVIEW_QUEUE_CACHE_SECONDS = 0  # type: ignore[attr-defined]
    client = signed_in(cast.attorney)
    cast.advance(cast.task, TaskStatus.SUBMITTED)
    queue_html(client)
    assert queue_html(client)[1] == MISS - 1  # no version read either
    assert ReviewQueueVersion.objects.filter(pk=1).exists()


def test_each_user_gets_their_own_page(cast: Cast) -> None:
    task = cast.advance(cast.task, TaskStatus.SUBMITTED)
    assert_cached(signed_in(cast.attorney), task.title)
    matter_member_add(actor=cast.admin, matter=cast.other_matter, user=cast.staff_off,
                      role=MatterRole.TEAM)  # unrelated change; staff_off sees no queue
    assert task.title not in queue_html(signed_in(cast.staff_off))[0]
    assert task.title not in queue_html(signed_in(cast.screened))[0]
