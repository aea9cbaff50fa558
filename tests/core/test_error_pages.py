"""The 403, 404 and 500 pages (supervision/error_pages.py) with DEBUG off, as the tests run:
the site's layout, what happened, and where this user can go (staff: the dashboard; a vendor
user: the portal; signed out: the sign-in page). The 500 page renders with the database down.
"""

from __future__ import annotations

import logging
from unittest import mock

import pytest
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.db import OperationalError
from django.db.backends.utils import CursorWrapper
from django.test import Client, RequestFactory
from django.urls import reverse
from pytest_django import Settings

from matters.models import TaskStatus
from supervision.error_pages import forbidden
from tests.conftest import Cast

pytestmark = pytest.mark.django_db

LAYOUT = ('class="topbar"', "Skip to content", 'class="footer container"')
MISSING = "/no-such-page/"


def client_for(
    user: User | None, *, enforce_csrf_checks: bool = False, raise_request_exception: bool = True
) -> Client:
    client = Client(
        enforce_csrf_checks=enforce_csrf_checks, raise_request_exception=raise_request_exception
    )
    if user is not None:
        client.force_login(user)
    return client


def home_button(page: str) -> str:
    """The href of the page's first destination (its home for this user)."""
    return page.split('class="error-page__links"')[1].split('href="')[1].split('"')[0]


def assert_layout(page: str) -> None:
    for marker in LAYOUT:
        assert marker in page, marker


def test_404_for_anonymous_offers_the_sign_in_page(client: Client) -> None:
    response = client.get(MISSING)
    assert response.status_code == 404
    page = response.content.decode()
    assert_layout(page)
    assert "There is no such page" in page
    assert MISSING in page
    assert "Most pages need you to be signed in" in page
    assert home_button(page) == reverse("login")
    assert 'class="mainnav"' not in page


def test_404_for_staff_offers_the_dashboard_and_the_navigation(cast: Cast) -> None:
    response = client_for(cast.staff_on).get(MISSING)
    assert response.status_code == 404
    page = response.content.decode()
    assert_layout(page)
    assert 'class="mainnav"' in page  # the signed-in layout, navigation included
    assert home_button(page) == reverse("supervision:dashboard")
    assert reverse("matters:list") in page
    assert "a matter you are not on (or are screened from)" in page
    assert "vendor portal" not in page


def test_404_for_a_vendor_user_sends_them_back_to_the_portal(cast: Cast) -> None:
    # A staff page: it does not exist for a vendor user (vendors/access.py).
    response = client_for(cast.vendor_a_user).get(reverse("matters:list"))
    assert response.status_code == 404
    page = response.content.decode()
    assert_layout(page)
    assert home_button(page) == reverse("portal:tasks")
    assert "not part of the vendor portal" in page
    assert reverse("supervision:dashboard") + '"' not in page.split("error-page")[1]


def test_404_for_a_task_behind_a_wall_says_nothing_of_the_task(cast: Cast) -> None:
    response = client_for(cast.screened).get(
        reverse("supervision:task_detail", args=[cast.task.pk])
    )
    assert response.status_code == 404
    page = response.content.decode()
    assert cast.task.title not in page
    assert cast.matter.number not in page


def test_403_says_why_and_offers_the_dashboard_to_staff(cast: Cast) -> None:
    # staff_on sees the task but does not supervise the matter.
    submitted = cast.advance(cast.task, TaskStatus.SUBMITTED)
    response = client_for(cast.staff_on).post(
        reverse("supervision:start_review", args=[submitted.pk])
    )
    assert response.status_code == 403
    page = response.content.decode()
    assert_layout(page)
    assert "You cannot do this" in page
    assert 'id="refusal-reason"' in page
    assert "needs a role you do not hold on this matter" in page
    assert home_button(page) == reverse("supervision:dashboard")


def test_403_for_a_vendor_user_offers_the_portal(cast: Cast) -> None:
    request = RequestFactory().post("/portal/conflicts/")
    request.user = cast.vendor_a_user
    response = forbidden(request, PermissionDenied("Only your firm's manager may declare."))
    assert response.status_code == 403
    page = response.content.decode()
    assert_layout(page)
    assert "Only your firm&#x27;s manager may declare." in page
    assert "all in the vendor portal" in page
    assert home_button(page) == reverse("portal:tasks")


def test_403_for_anonymous_offers_the_sign_in_page() -> None:
    request = RequestFactory().get("/x/")
    request.user = AnonymousUser()
    page = forbidden(request, PermissionDenied()).content.decode()
    assert home_button(page) == reverse("login")
    assert "Sign in with an account that may do this" in page


def test_403_without_a_reason_still_explains(cast: Cast) -> None:
    request = RequestFactory().get("/somewhere/")
    request.user = cast.staff_on
    response = forbidden(request, PermissionDenied())
    page = response.content.decode()
    assert response.status_code == 403
    assert 'id="refusal-reason"' not in page
    assert "needs a role you do not hold" in page


def test_csrf_refusal_is_a_page_that_says_to_reload(cast: Cast) -> None:
    client = client_for(cast.attorney, enforce_csrf_checks=True)
    response = client.post(reverse("supervision:notifications_read_all"))
    assert response.status_code == 403
    page = response.content.decode()
    assert_layout(page)
    assert "This form has expired" in page
    assert "reload the page" in page


def test_500_uses_the_layout_and_gives_a_reference(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    settings.ROOT_URLCONF = "tests.core.error_urls"
    client = Client(raise_request_exception=False)
    with caplog.at_level(logging.ERROR):
        response = client.get("/test-crash/")
    assert response.status_code == 500
    page = response.content.decode()
    assert_layout(page)
    assert "Something went wrong on our side" in page
    assert response["X-Request-ID"] in page  # the reference to quote
    assert 'href="/test-crash/"' in page  # try again
    # A 5xx keeps its traceback in the log (lpo_tracker.logs): only refusals are one line.
    assert any(record.exc_info for record in caplog.records if "test-crash" in record.getMessage())


def test_500_page_renders_with_the_database_down(cast: Cast, settings: Settings) -> None:
    """Signed in, the database refuses every query: the session cannot even be read. The
    page still comes, in the layout, without the navigation (it would need the database)."""
    settings.ROOT_URLCONF = "tests.core.error_urls"
    client = client_for(cast.attorney, raise_request_exception=False)
    refused = OperationalError("connection refused")
    with (
        mock.patch.object(CursorWrapper, "execute", side_effect=refused),
        mock.patch.object(CursorWrapper, "executemany", side_effect=refused),
    ):
        response = client.get("/test-read/")
    assert response.status_code == 500
    page = response.content.decode()
    assert_layout(page)
    assert "Something went wrong on our side" in page
    assert 'class="mainnav"' not in page


def test_500_page_reads_nothing_from_the_database(django_assert_num_queries: object) -> None:
    from supervision.error_pages import server_error

    request = RequestFactory().get("/x/")
    with django_assert_num_queries(0):  # type: ignore[operator]
        response = server_error(request)
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()


def test_500_falls_back_to_plain_html_when_the_template_fails(settings: Settings) -> None:
    from supervision import error_pages

    with mock.patch.object(
        error_pages.loader, "render_to_string", side_effect=RuntimeError("broken template")
    ):
        response = error_pages.server_error(RequestFactory().get("/x/"))
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()


def test_403_page_without_the_database_falls_back_to_the_static_page(cast: Cast) -> None:
    from supervision import error_pages

    request = RequestFactory().get("/x/")
    request.user = cast.staff_on
    with mock.patch(
        "supervision.context_processors.unread_count", side_effect=OperationalError("gone")
    ):
        response = error_pages.forbidden(request, PermissionDenied("No."))
    assert response.status_code == 403
    assert "Something went wrong on our side" in response.content.decode()


def test_refusals_stay_one_log_line(cast: Cast, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="django.request"):
        client_for(cast.staff_on).get(MISSING)
    records = [record for record in caplog.records if record.name == "django.request"]
    assert len(records) == 1
    assert getattr(records[0], "status_code", None) == 404
