"""The staff task list (/tasks/): who may open it, what each person sees (grants and walls,
through `tasks_visible_to`), its filters, sorting, pages, and its CSV/XLSX export of the
same selection."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from matters.models import MatterRole, TaskStatus
from matters.services import matter_member_add, wall_add
from tests import factories as f
from tests.conftest import Cast
from tests.exports import csv_rows, xlsx_rows

pytestmark = pytest.mark.django_db

URL = "/tasks/"
EXPORTS = ("", "?format=csv", "?format=xlsx")


def client_for(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def listed(user: object, query: str = "") -> list[str]:
    """The titles on the page, in order."""
    response = client_for(user).get(URL + query)
    assert response.status_code == 200
    return [task.title for task in response.context["tasks"]]


def exported(user: object, query: str = "") -> list[str]:
    rows = csv_rows(client_for(user).get(URL + "?format=csv" + query))
    title = rows[0].index("Title")
    return [row[title] for row in rows[1:]]


def test_the_url_and_the_navigation_link() -> None:
    assert reverse("tasks:list") == URL


# --- Who may open it ---------------------------------------------------------------------------

# Everyone on the firm's side opens the list (with only their tasks: below); vendor users
# get 404 (they have the portal), anonymous users the sign-in page. The exports likewise.
ACCESS = [
    ("staff_on", 200),
    ("staff_off", 200),
    ("screened", 200),
    ("attorney", 200),
    ("attorney2", 200),
    ("lapsed_attorney", 200),
    ("admin", 200),
    ("vendor_a_user", 404),
    ("vendor_b_user", 404),
]


@pytest.mark.parametrize("suffix", EXPORTS)
def test_who_may_open_the_task_list_and_its_exports(cast: Cast, suffix: str) -> None:
    for user_attr, expected in ACCESS:
        response = client_for(getattr(cast, user_attr)).get(URL + suffix)
        assert response.status_code == expected, (user_attr, suffix)
    anonymous = Client().get(URL + suffix)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("login") + "?next=")


def test_each_person_sees_the_tasks_of_their_matters_and_nothing_behind_a_wall(
    cast: Cast,
) -> None:
    f.draft_task(actor=cast.staff_off, matter=cast.other_matter, title="Initech task")
    mine = cast.task.title

    assert listed(cast.staff_on) == [mine] == exported(cast.staff_on)
    assert listed(cast.attorney) == [mine]
    assert listed(cast.staff_off) == ["Initech task"] == exported(cast.staff_off)
    # The screened team member is on the matter's team and still sees nothing of it.
    assert listed(cast.screened) == [] == exported(cast.screened)


def test_a_wall_put_up_takes_the_tasks_off_the_list_and_the_export_at_once(cast: Cast) -> None:
    assert exported(cast.staff_on) == [cast.task.title]
    wall_add(actor=cast.admin, matter=cast.matter, user=cast.staff_on, reason="Conflict")

    assert listed(cast.staff_on) == []
    assert exported(cast.staff_on) == []
    rows = xlsx_rows(client_for(cast.staff_on).get(URL + "?format=xlsx"))
    assert rows == [rows[0]]  # the heading alone


def test_the_vendor_filter_offers_only_vendors_of_visible_tasks(cast: Cast) -> None:
    cast.advance(cast.task, TaskStatus.ASSIGNED)
    task_b = f.draft_task(actor=cast.staff_off, matter=cast.other_matter, title="B task")
    f.advance(
        task_b,
        TaskStatus.ASSIGNED,
        staff=cast.staff_off,
        engagement=cast.engagement_b,
        vendor_actor=cast.vendor_b_user,
        attorney_actor=cast.attorney2,
    )
    response = client_for(cast.staff_on).get(URL)
    names = [str(vendor) for vendor in response.context["filterset"].form.fields["vendor"].queryset]
    assert names == ["Ashoka Legal Process"]
    # Asking for the other vendor by id is a form error, not a peek at its tasks.
    response = client_for(cast.staff_on).get(URL, {"vendor": cast.engagement_b.vendor_id})
    assert "vendor" in response.context["filterset"].errors
    assert "B task" not in response.content.decode()
    refused = client_for(cast.staff_on).get(
        URL, {"vendor": str(cast.engagement_b.vendor_id), "format": "csv"}
    )
    assert refused.status_code == 400  # the page with the form error, never a file
    assert not refused.streaming and "B task" not in refused.content.decode()


# --- Filters, sorting, pages -----------------------------------------------------------------


@pytest.fixture
def spread(cast: Cast) -> Cast:
    """Tasks in different states, types and deadlines on the cast's matter."""
    now = timezone.now()
    cast.task.title = "Draft review"
    cast.task.save(update_fields=["title"])
    assigned = cast.new_task(
        title="Assigned coding", task_type="legal_coding", sla_due_at=now + dt.timedelta(hours=12)
    )
    cast.advance(assigned, TaskStatus.ASSIGNED)
    submitted = cast.new_task(
        title="Submitted research",
        task_type="legal_research",
        sla_due_at=now + dt.timedelta(days=20),
    )
    cast.advance(submitted, TaskStatus.SUBMITTED)
    return cast


def test_filters_by_state_type_vendor_and_my_matters(spread: Cast) -> None:
    user = spread.staff_on
    assert listed(user, "?state=assigned") == ["Assigned coding"]
    assert sorted(listed(user, "?state=open")) == ["Assigned coding", "Submitted research"]
    assert listed(user, "?task_type=legal_research") == ["Submitted research"]
    vendor = spread.engagement_a.vendor_id
    assert sorted(listed(user, f"?vendor={vendor}")) == ["Assigned coding", "Submitted research"]
    assert sorted(exported(user, f"&vendor={vendor}&state=open")) == [
        "Assigned coding",
        "Submitted research",
    ]
    # "My matters": staff_on is on the team; a viewer granted access but on no team is not.
    assert len(listed(user, "?mine=true")) == 3
    assert len(listed(spread.attorney, "?mine=true")) == 3  # the responsible attorney
    viewer = f.UserFactory.create(username="viewer")
    from matters.selectors import VIEW
    from matters.services import permission_grant

    permission_grant(actor=spread.admin, matter=spread.matter, user=viewer, codename=VIEW)
    assert len(listed(viewer)) == 3
    assert listed(viewer, "?mine=true") == []
    matter_member_add(actor=spread.admin, matter=spread.matter, user=viewer, role=MatterRole.TEAM)
    assert len(listed(viewer, "?mine=true")) == 3


def test_the_due_window_reads_the_deadline_the_task_waits_on(spread: Cast) -> None:
    user = spread.staff_on
    # The draft's SLA is in 5 days, the assigned task's in 12 hours; the submitted task
    # waits on its review window (set by the policy), not on its old SLA in 20 days.
    assert listed(user, "?due=24h") == ["Assigned coding"]
    assert sorted(listed(user, "?due=7d")) == sorted(
        title
        for title in ("Draft review", "Assigned coding", "Submitted research")
        if title != "Submitted research" or _review_within(spread, dt.timedelta(days=7))
    )
    assert listed(user, "?due=overdue") == []
    with time_machine.travel(timezone.now() + dt.timedelta(days=40)):
        assert sorted(listed(user, "?due=overdue")) == ["Assigned coding", "Submitted research"]
        # A draft past its date is not "overdue" (overdue_q: with the vendor or in review).
        assert "Draft review" not in listed(user, "?due=overdue")


def _review_within(cast: Cast, window: dt.timedelta) -> bool:
    task = cast.matter.tasks.get(title="Submitted research")
    return task.review_due_at is not None and task.review_due_at < timezone.now() + window


def test_sortable_columns_and_their_aria_sort(spread: Cast) -> None:
    user = spread.staff_on
    assert listed(user, "?sort=title") == ["Assigned coding", "Draft review", "Submitted research"]
    assert listed(user, "?sort=-title") == ["Submitted research", "Draft review", "Assigned coding"]
    assert listed(user)[0] == "Assigned coding"  # default: the nearest deadline first
    page = client_for(user).get(URL + "?sort=-title").content.decode()
    assert 'aria-sort="descending"' in page and 'href="?sort=title"' in page
    # An unknown column is ignored, never passed to order_by.
    assert listed(user, "?sort=password") == listed(user)


def test_pages_of_fifty(cast: Cast) -> None:
    for number in range(50):
        cast.new_task(title=f"Task {number:02d}")
    first = client_for(cast.staff_on).get(URL, {"sort": "title"})
    assert len(first.context["tasks"]) == 50
    second = client_for(cast.staff_on).get(URL, {"sort": "title", "page": "2"})
    # "Review custodian e-mails" sorts before "Task 00": the 51st is "Task 49".
    assert [task.title for task in second.context["tasks"]] == ["Task 49"]
    assert len(exported(cast.staff_on)) == 51  # the export holds every page


def test_htmx_gets_the_results_fragment(cast: Cast) -> None:
    response = client_for(cast.staff_on).get(URL, HTTP_HX_REQUEST="true")
    page = response.content.decode()
    assert page.lstrip().startswith('<section id="task-results"')
    assert "<html" not in page
    assert "HX-Request" in response["Vary"]


def test_exports_escape_formulas_and_keep_numbers_and_times(cast: Cast) -> None:
    cast.new_task(title='=HYPERLINK("http://evil.example")', document_count=1200)
    rows = csv_rows(client_for(cast.staff_on).get(URL + "?format=csv&sort=title"))
    heading = rows[0]
    first = dict(zip(heading, rows[1], strict=True))
    assert first["Title"] == '\'=HYPERLINK("http://evil.example")'
    assert first["Documents"] == "1200"
    assert first["Vendor SLA due (UTC)"].endswith("+00:00")

    sheet_rows = xlsx_rows(client_for(cast.staff_on).get(URL + "?format=xlsx&sort=title"))
    first_xlsx = dict(zip(sheet_rows[0], sheet_rows[1], strict=True))
    assert first_xlsx["Title"] == '\'=HYPERLINK("http://evil.example")'
    assert first_xlsx["Documents"] == 1200
    assert isinstance(first_xlsx["Vendor SLA due (UTC)"], dt.datetime)


def test_export_headers(cast: Cast) -> None:
    response = client_for(cast.staff_on).get(URL + "?format=xlsx")
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert response["Content-Disposition"].startswith('attachment; filename="tasks-')
    assert "no-store" in response["Cache-Control"]
    csv_response = client_for(cast.staff_on).get(URL + "?format=csv")
    assert csv_response.streaming
    assert csv_response["Content-Type"] == "text/csv; charset=utf-8"


# --- Queries ----------------------------------------------------------------------------------

# The task list adds to the layout:
#   1. the vendor choices of the filter form (vendors with a visible task),
#   2. the paginator's COUNT of the filtered, visible tasks,
#   3. one page of tasks with matter, client and vendor joined.
TASK_LIST_QUERIES = 3


def count_queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured.captured_queries)


def test_the_task_list_costs_the_same_for_1_and_50_tasks(cast: Cast) -> None:
    client = client_for(cast.staff_on)
    baseline = count_queries(client, reverse("password_change_done"))
    cast.advance(cast.task, TaskStatus.ASSIGNED)

    one_row = count_queries(client, URL)
    for number in range(49):
        task = cast.new_task(title=f"Task {number}")
        if number % 3 == 0:
            cast.advance(task, TaskStatus.ASSIGNED)
    fifty_rows = count_queries(client, URL)

    assert one_row == fifty_rows == baseline + TASK_LIST_QUERIES
    filtered = (
        f"{URL}?state=open&vendor={cast.engagement_a.vendor_id}"
        "&task_type=document_review&due=7d&mine=on&sort=-vendor&page=1"
    )
    # A chosen vendor costs one more: the form checks the id is one of its choices.
    assert count_queries(client, filtered) == baseline + TASK_LIST_QUERIES + 1
    assert (
        count_queries(client, filtered.replace(f"&vendor={cast.engagement_a.vendor_id}", ""))
        == baseline + TASK_LIST_QUERIES
    )
