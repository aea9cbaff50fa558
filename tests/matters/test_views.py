"""The matter pages over HTTP: who may open each one, and what each one does.

Every view is in the permission table (allowed user, each other member of the standard cast,
anonymous). Functional tests drive the forms the way a browser would and check the result
through the models and the audit trail.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zoneinfo
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from lpo_tracker.audit.models import AuditEvent
from lpo_tracker.clock import firm_today
from matters.models import (
    ConflictCheckStatus,
    Engagement,
    Matter,
    MatterRole,
    MatterStatus,
    Task,
    TaskStatus,
)
from matters.selectors import VIEW
from matters.services import engagement_create, matter_member_add, permission_grant
from tests import factories as f
from tests.conftest import Cast

pytestmark = pytest.mark.django_db


# --- Helpers --------------------------------------------------------------------------------


def login(client: Client, user: object) -> Client:
    client.force_login(user)  # type: ignore[arg-type]
    return client


def message_texts(response: Any) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def local_input(moment: dt.datetime, zone: str) -> str:
    """What a person types into a datetime-local field for `moment` in `zone`."""
    return moment.astimezone(zoneinfo.ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M")


def blocked_engagement(cast: Cast) -> Engagement:
    """Vendor B engaged on the cast's matter but not conflict-checked and without consent."""
    return engagement_create(
        actor=cast.staff_on, matter=cast.matter, vendor=cast.engagement_b.vendor,
        scope="Second-level review", budget_cap=Decimal("1000"),
    )


def second_cleared_engagement(cast: Cast) -> Engagement:
    vendor = f.vetted_vendor(name="Cebu Legal Support")
    return f.cleared_engagement(actor=cast.staff_on, matter=cast.matter, vendor=vendor)


# --- Who may open what -----------------------------------------------------------------------

UrlBuilder = Callable[[Cast], str]

URLS: dict[str, UrlBuilder] = {
    "list": lambda c: reverse("matters:list"),
    "detail": lambda c: reverse("matters:detail", args=[c.matter.pk]),
    "audit_export": lambda c: reverse("matters:audit_export", args=[c.matter.pk]),
    "task_create": lambda c: reverse("matters:task_create", args=[c.matter.pk]),
    "task_assign": lambda c: reverse("matters:task_assign", args=[c.task.pk]),
    "task_reassign": lambda c: reverse("matters:task_reassign", args=[c.task.pk]),
    "task_cancel": lambda c: reverse("matters:task_cancel", args=[c.task.pk]),
    "bulk_assign": lambda c: reverse("matters:bulk_assign", args=[c.matter.pk]),
}
POST_ONLY = {"bulk_assign"}
# Pages that change something on the matter: the team (change_matter) only.
CHANGE_PAGES = ["task_create", "task_assign", "task_reassign", "task_cancel", "bulk_assign"]
OUTSIDERS = ["staff_off", "screened", "vendor_a_user", "vendor_b_user"]

ACCESS_TABLE: list[tuple[str, str, int]] = [
    # The list answers everyone on the firm's side (with only their matters, tested below).
    ("list", "staff_on", 200), ("list", "attorney", 200), ("list", "staff_off", 200),
    ("list", "screened", 200), ("list", "vendor_a_user", 404), ("list", "vendor_b_user", 404),
    # Reading the matter: anyone granted view and not screened, attorneys included.
    ("detail", "staff_on", 200), ("detail", "attorney", 200), ("detail", "lapsed_attorney", 200),
    *[("detail", user, 404) for user in OUTSIDERS],
    # The audit export: change_matter (team) or supervise_matter (attorneys).
    ("audit_export", "staff_on", 200), ("audit_export", "attorney", 200),
    ("audit_export", "lapsed_attorney", 200),
    *[("audit_export", user, 404) for user in OUTSIDERS],
    # Task and engagement moves: the team; attorneys see the matter but may not (403).
    *[(page, "staff_on", 302 if page in POST_ONLY else 200) for page in CHANGE_PAGES],
    *[(page, "attorney", 403) for page in CHANGE_PAGES],
    *[(page, "lapsed_attorney", 403) for page in CHANGE_PAGES],
    *[(page, user, 404) for page in CHANGE_PAGES for user in OUTSIDERS],
]


@pytest.mark.parametrize(("page", "user_attr", "expected"), ACCESS_TABLE)
def test_access(client: Client, cast: Cast, page: str, user_attr: str, expected: int) -> None:
    login(client, getattr(cast, user_attr))
    url = URLS[page](cast)
    response = client.post(url) if page in POST_ONLY else client.get(url)
    assert response.status_code == expected


@pytest.mark.parametrize("page", sorted(URLS))
def test_anonymous_is_sent_to_login(client: Client, cast: Cast, page: str) -> None:
    url = URLS[page](cast)
    response = client.post(url) if page in POST_ONLY else client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")


@pytest.mark.parametrize("page", ["task_create", "task_assign", "task_reassign", "task_cancel"])
def test_posting_a_change_page_also_needs_change_matter(
    client: Client, cast: Cast, page: str
) -> None:
    login(client, cast.attorney)
    assert client.post(URLS[page](cast), {"reason": "x"}).status_code == 403
    login(client, cast.staff_off)
    assert client.post(URLS[page](cast), {"reason": "x"}).status_code == 404


@pytest.mark.parametrize("page", sorted(POST_ONLY))
def test_write_only_pages_refuse_get(client: Client, cast: Cast, page: str) -> None:
    login(client, cast.staff_on)
    assert client.get(URLS[page](cast)).status_code == 405


def test_vendor_of_an_assigned_task_gets_404_on_its_matter_pages(
    client: Client, cast: Cast
) -> None:
    task = cast.advance(cast.task, TaskStatus.ASSIGNED)
    login(client, cast.vendor_a_user)
    for name in ("matters:task_reassign", "matters:task_cancel", "matters:task_assign"):
        assert client.get(reverse(name, args=[task.pk])).status_code == 404


def test_export_without_change_or_supervise_is_403(client: Client, cast: Cast) -> None:
    viewer = f.UserFactory.create(username="viewer")
    permission_grant(actor=cast.admin, matter=cast.matter, user=viewer, codename=VIEW)
    login(client, viewer)
    assert client.get(URLS["detail"](cast)).status_code == 200
    assert client.get(URLS["audit_export"](cast)).status_code == 403


# --- Matter list -----------------------------------------------------------------------------


def test_list_shows_only_the_users_matters(client: Client, cast: Cast) -> None:
    login(client, cast.staff_on)
    body = client.get(reverse("matters:list")).content.decode()
    assert cast.matter.number in body
    assert cast.other_matter.number not in body

    login(client, cast.staff_off)
    body = client.get(reverse("matters:list")).content.decode()
    assert cast.other_matter.number in body
    assert cast.matter.number not in body

    login(client, cast.screened)
    body = client.get(reverse("matters:list")).content.decode()
    assert cast.matter.number not in body
    assert "You are not on any matter yet" in body


def _staff_on_matter(cast: Cast, **fields: Any) -> Matter:
    matter = f.matter(actor=cast.admin, responsible=cast.attorney, **fields)
    matter_member_add(actor=cast.admin, matter=matter, user=cast.staff_on, role=MatterRole.TEAM)
    return matter


def test_list_filters_search_and_empty_state(client: Client, cast: Cast) -> None:
    corporate = _staff_on_matter(cast, title="Project Falcon merger", practice_area="corporate")
    login(client, cast.staff_on)
    url = reverse("matters:list")

    body = client.get(url, {"q": "falcon"}).content.decode()
    assert corporate.number in body and cast.matter.number not in body
    body = client.get(url, {"q": cast.matter.client.name[:9]}).content.decode()
    assert cast.matter.number in body
    body = client.get(url, {"practice_area": "corporate"}).content.decode()
    assert corporate.number in body and cast.matter.number not in body
    body = client.get(url, {"client": cast.matter.client_id}).content.decode()
    assert cast.matter.number in body and corporate.number not in body
    body = client.get(url, {"status": "closed"}).content.decode()
    assert "No matters match these filters." in body


def test_list_has_overdue_filter_and_counts(client: Client, cast: Cast) -> None:
    quiet = _staff_on_matter(cast, title="Quiet matter")
    task = cast.advance(cast.task, TaskStatus.ASSIGNED)
    Task.objects.filter(pk=task.pk).update(sla_due_at=timezone.now() - dt.timedelta(days=2))
    login(client, cast.staff_on)

    response = client.get(reverse("matters:list"), {"overdue": "on"})
    body = response.content.decode()
    assert cast.matter.number in body and quiet.number not in body
    assert "1 overdue" in body
    assert [m.overdue_task_count for m in response.context["matters"]] == [1]
    assert [m.open_task_count for m in response.context["matters"]] == [1]


def test_list_answers_htmx_with_the_results_fragment(client: Client, cast: Cast) -> None:
    login(client, cast.staff_on)
    response = client.get(reverse("matters:list"), {"q": "acme"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body and 'id="matter-results"' in body
    assert "HX-Request" in response["Vary"]
    full = client.get(reverse("matters:list"), {"q": "acme"}).content.decode()
    assert "<html" in full and 'id="matter-results"' in full


def test_list_paginates_25_a_page(client: Client, cast: Cast) -> None:
    for number in range(26):
        _staff_on_matter(cast, title=f"Matter {number}")
    login(client, cast.staff_on)
    first = client.get(reverse("matters:list"))
    assert len(first.context["matters"]) == 25
    second = client.get(reverse("matters:list"), {"page": 2})
    assert len(second.context["matters"]) == 2
    assert "Page 2 of 2" in second.content.decode()


# --- Matter detail ---------------------------------------------------------------------------


def test_detail_shows_people_engagements_tasks_and_timeline(client: Client, cast: Cast) -> None:
    login(client, cast.staff_on)
    response = client.get(URLS["detail"](cast))
    body = response.content.decode()
    assert cast.attorney.get_full_name() in body  # supervising attorney
    assert "Responsible" in body
    assert "Ashoka Legal Process" in body  # engagement
    assert "Ready for work" in body
    assert cast.task.title in body
    assert reverse("supervision:task_detail", args=[cast.task.pk]) in body
    assert "created the draft task" in body  # timeline from the audit trail
    assert "America/New_York" in body


def test_deadlines_read_in_the_matters_zone_with_a_relative_clock(
    client: Client, cast: Cast
) -> None:
    late = cast.advance(cast.task, TaskStatus.ASSIGNED)
    due = timezone.now() - dt.timedelta(days=2, hours=3)
    Task.objects.filter(pk=late.pk).update(sla_due_at=due)
    soon = cast.new_task(title="Due soon", sla_due_at=timezone.now() + dt.timedelta(hours=5,
                                                                                   minutes=30))
    login(client, cast.staff_on)
    body = client.get(URLS["detail"](cast)).content.decode()
    local = due.astimezone(zoneinfo.ZoneInfo("America/New_York"))
    assert f"{local.day} {local:%b %Y, %H:%M} {local.tzname()}" in body
    assert 'title="America/New_York"' in body
    assert "overdue by 2 days" in body
    assert "due in 5 hours" in body and soon.title in body


def test_walls_are_shown_only_to_those_who_may_change_the_matter(
    client: Client, cast: Cast
) -> None:
    screened_name = cast.screened.get_full_name()
    login(client, cast.staff_on)
    body = client.get(URLS["detail"](cast)).content.decode()
    assert "Ethical walls" in body
    assert "Former counsel to the adverse party" in body
    assert screened_name in body

    login(client, cast.attorney)
    body = client.get(URLS["detail"](cast)).content.decode()
    assert "Ethical walls" not in body
    assert "Former counsel to the adverse party" not in body
    assert screened_name not in body
    assert ">screened<" not in body and " screened " not in body.split("<main", 1)[1]


def test_detail_shows_why_an_engagement_is_blocked(client: Client, cast: Cast) -> None:
    blocked_engagement(cast)
    login(client, cast.staff_on)
    body = client.get(URLS["detail"](cast)).content.decode()
    assert "Cannot take work" in body
    assert "is not done yet" in body  # the pending conflict check
    assert "has not consented to outsourcing" in body


# --- Creating tasks --------------------------------------------------------------------------


def test_create_task_through_the_form(client: Client, cast: Cast) -> None:
    login(client, cast.staff_on)
    due_local = "2031-03-14T17:00"  # New York: EDT (UTC-4) on that day
    response = client.post(URLS["task_create"](cast), {
        "title": "Summarise the Smith deposition",
        "task_type": "deposition_summary",
        "requires_legal_judgment": "on",
        "instructions": "Page-line summary.",
        "priority": "high",
        "estimated_hours": "6.5",
        "document_count": "1",
        "sla_due_at": due_local,
    })
    assert response.status_code == 302
    assert response["Location"] == reverse("matters:detail", args=[cast.matter.pk]) + "#tasks"
    task = Task.objects.get(title="Summarise the Smith deposition")
    assert task.status == TaskStatus.DRAFT
    assert task.matter == cast.matter
    assert task.priority == "high" and task.estimated_hours == Decimal("6.5")
    assert task.requires_legal_judgment is True
    assert task.sla_due_at == dt.datetime(2031, 3, 14, 21, 0, tzinfo=dt.UTC)
    assert AuditEvent.objects.filter(action="task.created", object_id=str(task.pk)).exists()


def test_save_and_assign_goes_on_to_the_assignment_form(client: Client, cast: Cast) -> None:
    login(client, cast.staff_on)
    response = client.post(URLS["task_create"](cast), {
        "title": "Code custodian set 2", "task_type": "legal_coding", "priority": "normal",
        "estimated_hours": "0", "document_count": "0", "then": "assign",
    })
    task = Task.objects.get(title="Code custodian set 2")
    assert response["Location"] == reverse("matters:task_assign", args=[task.pk])


def test_task_template_prefills_the_form(client: Client, cast: Cast) -> None:
    login(client, cast.staff_on)
    response = client.get(URLS["task_create"](cast), {"template": "privilege_review"})
    form = response.context["form"]
    assert form.initial["title"] == "First-level privilege review"
    assert form.initial["task_type"] == "document_review"
    zone = zoneinfo.ZoneInfo(cast.matter.time_zone)
    due = form.initial["sla_due_at"].astimezone(zone)
    assert due.time() == dt.time(17, 0)
    assert due.date() == timezone.localtime(timezone.now(), zone).date() + dt.timedelta(days=10)
    body = response.content.decode()
    assert 'value="First-level privilege review"' in body
    assert due.strftime("%Y-%m-%dT17:00") in body  # shown in the matter's zone


def test_task_template_picker_answers_htmx_with_the_form_only(client: Client, cast: Cast) -> None:
    login(client, cast.staff_on)
    response = client.get(URLS["task_create"](cast), {"template": "deposition_summary"},
                          HTTP_HX_REQUEST="true", HTTP_HX_TARGET="task-form")
    body = response.content.decode()
    assert "<html" not in body and 'id="task-form"' in body
    assert 'value="Deposition summary"' in body


def test_create_task_refuses_a_past_due_date(client: Client, cast: Cast) -> None:
    login(client, cast.staff_on)
    past = local_input(timezone.now() - dt.timedelta(days=1), cast.matter.time_zone)
    response = client.post(URLS["task_create"](cast), {
        "title": "Late", "task_type": "legal_research", "priority": "normal",
        "estimated_hours": "1", "document_count": "0", "sla_due_at": past,
    })
    assert response.status_code == 200
    assert "already passed" in response.content.decode()
    assert not Task.objects.filter(title="Late").exists()


def test_a_rule_violation_on_create_becomes_a_form_error(client: Client, cast: Cast) -> None:
    """task_create refuses a matter that is not open; the page shows why and stores nothing."""
    Matter.objects.filter(pk=cast.matter.pk).update(status=MatterStatus.CLOSED,
                                                    closed_on=cast.matter.opened_on)
    login(client, cast.staff_on)
    response = client.post(URLS["task_create"](cast), {
        "title": "Anything", "task_type": "legal_research", "priority": "normal",
        "estimated_hours": "1", "document_count": "0",
    })
    assert response.status_code == 200
    assert f"Matter {cast.matter.number} is closed; it cannot" in response.content.decode()
    assert not Task.objects.filter(title="Anything").exists()


# --- Assigning -------------------------------------------------------------------------------


def test_assign_through_the_form(client: Client, cast: Cast) -> None:
    login(client, cast.staff_on)
    response = client.post(URLS["task_assign"](cast), {"engagement": cast.engagement_a.pk})
    assert response.status_code == 302
    assert response["Location"] == reverse("supervision:task_detail", args=[cast.task.pk])
    task = Task.objects.get(pk=cast.task.pk)
    assert task.status == TaskStatus.ASSIGNED and task.engagement == cast.engagement_a


def test_assign_form_shows_a_blocked_engagement_and_why(client: Client, cast: Cast) -> None:
    blocked = blocked_engagement(cast)
    login(client, cast.staff_on)
    body = client.get(URLS["task_assign"](cast)).content.decode()
    assert "Bayanihan Review Partners" in body
    assert "Blocked" in body
    assert "is not done yet" in body

    response = client.post(URLS["task_assign"](cast), {"engagement": blocked.pk})
    assert response.status_code == 200
    assert "is not done yet" in " ".join(response.context["form"].non_field_errors())
    assert Task.objects.get(pk=cast.task.pk).status == TaskStatus.DRAFT


def test_assign_asks_for_a_due_date_when_the_task_has_none(client: Client, cast: Cast) -> None:
    task = cast.new_task(title="Undated", sla_due_at=None)
    login(client, cast.staff_on)
    url = reverse("matters:task_assign", args=[task.pk])
    response = client.post(url, {"engagement": cast.engagement_a.pk})
    assert response.status_code == 200 and "sla_due_at" in response.context["form"].errors
    due = local_input(timezone.now() + dt.timedelta(days=3), cast.matter.time_zone)
    response = client.post(url, {"engagement": cast.engagement_a.pk, "sla_due_at": due})
    assert response.status_code == 302
    assert Task.objects.get(pk=task.pk).status == TaskStatus.ASSIGNED


def test_assigning_a_task_that_is_not_a_draft_is_a_form_error(client: Client, cast: Cast) -> None:
    cast.advance(cast.task, TaskStatus.ASSIGNED)
    login(client, cast.staff_on)
    response = client.post(URLS["task_assign"](cast), {"engagement": cast.engagement_a.pk})
    assert response.status_code == 200
    assert "cannot be assigned now" in response.content.decode()


def test_reassign_with_a_reason(client: Client, cast: Cast) -> None:
    cast.advance(cast.task, TaskStatus.IN_PROGRESS)
    other = second_cleared_engagement(cast)
    login(client, cast.staff_on)
    response = client.post(URLS["task_reassign"](cast), {"engagement": other.pk})
    assert response.status_code == 200 and "reason" in response.context["form"].errors

    response = client.post(URLS["task_reassign"](cast),
                           {"engagement": other.pk, "reason": "Vendor A lacks capacity"})
    assert response.status_code == 302
    task = Task.objects.get(pk=cast.task.pk)
    assert task.engagement == other and task.status == TaskStatus.ASSIGNED
    event = AuditEvent.objects.get(action="task.reassigned", object_id=str(task.pk))
    assert (event.after or {}).get("reason") == "Vendor A lacks capacity"


def test_cancel_with_a_reason(client: Client, cast: Cast) -> None:
    login(client, cast.staff_on)
    response = client.post(URLS["task_cancel"](cast), {"reason": ""})
    assert response.status_code == 200 and "reason" in response.context["form"].errors
    response = client.post(URLS["task_cancel"](cast), {"reason": "Client withdrew the request"})
    assert response.status_code == 302
    task = Task.objects.get(pk=cast.task.pk)
    assert task.status == TaskStatus.CANCELLED
    assert task.cancel_reason == "Client withdrew the request"


def test_bulk_assign_reports_each_success_and_failure(client: Client, cast: Cast) -> None:
    undated = cast.new_task(title="Undated batch", sla_due_at=None)
    login(client, cast.staff_on)
    response = client.post(URLS["bulk_assign"](cast), {
        "tasks": [cast.task.pk, undated.pk], "engagement": cast.engagement_a.pk,
    })
    assert response.status_code == 302
    texts = message_texts(response)
    assert "Bulk assignment to Ashoka Legal Process: 1 moved, 1 refused." in texts
    assert f"“{cast.task.title}” assigned to Ashoka Legal Process." in texts
    assert any(text.startswith("“Undated batch” was not moved: Set the vendor's due date")
               for text in texts)
    assert Task.objects.get(pk=cast.task.pk).status == TaskStatus.ASSIGNED
    assert Task.objects.get(pk=undated.pk).status == TaskStatus.DRAFT


def test_bulk_reassign_needs_a_reason_per_task(client: Client, cast: Cast) -> None:
    cast.advance(cast.task, TaskStatus.ASSIGNED)
    other = second_cleared_engagement(cast)
    draft = cast.new_task(title="Fresh draft")
    login(client, cast.staff_on)
    response = client.post(URLS["bulk_assign"](cast), {
        "tasks": [cast.task.pk, draft.pk], "engagement": other.pk,
    })
    texts = message_texts(response)
    assert "Bulk assignment to Cebu Legal Support: 1 moved, 1 refused." in texts
    assert any("Say why the task is reassigned." in text for text in texts)
    response = client.post(URLS["bulk_assign"](cast), {
        "tasks": [cast.task.pk], "engagement": other.pk, "reason": "Rebalancing",
    })
    assert Task.objects.get(pk=cast.task.pk).engagement == other


def test_bulk_assign_ignores_tasks_of_other_matters(client: Client, cast: Cast) -> None:
    foreign = f.draft_task(actor=cast.staff_off, matter=cast.other_matter)
    login(client, cast.staff_on)
    response = client.post(URLS["bulk_assign"](cast), {
        "tasks": [foreign.pk], "engagement": cast.engagement_a.pk,
    })
    assert any(text.startswith("Nothing was assigned") for text in message_texts(response))
    assert Task.objects.get(pk=foreign.pk).status == TaskStatus.DRAFT


# --- Engagement records ----------------------------------------------------------------------


def test_the_matter_page_sends_conflict_check_and_consent_to_the_engagement_page(
    client: Client, cast: Cast
) -> None:
    """One place records them: the engagement page, which shows the conflict-search hits
    before the result is recorded and takes the consent evidence."""
    engagement = blocked_engagement(cast)
    login(client, cast.staff_on)
    detail = client.get(URLS["detail"](cast)).content.decode()
    engagement_url = reverse("engagements:detail", args=[engagement.pk])
    assert engagement_url in detail
    assert "Record conflict check" not in detail

    response = client.post(reverse("engagements:conflict_check", args=[engagement.pk]),
                           {"result": "cleared", "notes": ""})

    assert response.status_code in (200, 302)
    engagement.refresh_from_db()
    assert engagement.conflict_check_status == ConflictCheckStatus.CLEARED


# --- Audit export ----------------------------------------------------------------------------


def test_audit_export_contains_the_events_and_is_itself_audited(
    client: Client, cast: Cast
) -> None:
    login(client, cast.attorney)
    today = firm_today().isoformat()
    yesterday = (firm_today() - dt.timedelta(days=1)).isoformat()
    response = client.get(URLS["audit_export"](cast), {"start": yesterday, "end": today})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment;" in response["Content-Disposition"]
    assert response.content.startswith("\ufeff".encode())  # UTF-8 BOM, for Excel
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    actions = [row["action"] for row in rows]
    assert "matter.created" in actions and "task.created" in actions
    assert all(row["hash"] for row in rows)
    exported = AuditEvent.objects.get(action="audit.exported", matter_id=cast.matter.pk)
    assert exported.actor_id == cast.attorney.pk
    assert exported.after == {"start": yesterday, "end": today,
                              "time_zone": cast.matter.time_zone, "events": len(rows) - 1}
    # Nothing of another matter leaks into the file.
    other_ids = set(AuditEvent.objects.filter(matter_id=cast.other_matter.pk)
                    .values_list("pk", flat=True))
    assert not other_ids & {int(row["id"]) for row in rows}


def test_audit_export_of_a_range_without_events_is_only_the_header(
    client: Client, cast: Cast
) -> None:
    login(client, cast.staff_on)
    response = client.get(URLS["audit_export"](cast), {"start": "2001-01-01", "end": "2001-01-31"})
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == 1 and rows[0][0] == "id"


def test_audit_export_with_a_bad_range_is_a_form_error(client: Client, cast: Cast) -> None:
    login(client, cast.staff_on)
    response = client.get(URLS["audit_export"](cast), {"start": "2026-05-02", "end": "2026-05-01"})
    assert response.status_code == 200
    assert "The end date is before the start date." in response.content.decode()
    response = client.get(URLS["audit_export"](cast), {"start": "yesterday", "end": ""})
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"start", "end"}
    assert not AuditEvent.objects.filter(action="audit.exported").exists()


def test_audit_export_without_a_range_shows_the_form(client: Client, cast: Cast) -> None:
    login(client, cast.staff_on)
    response = client.get(URLS["audit_export"](cast))
    assert response.status_code == 200
    assert "Download CSV" in response.content.decode()
    assert not AuditEvent.objects.filter(action="audit.exported").exists()
