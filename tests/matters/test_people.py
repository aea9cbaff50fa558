"""People on a matter: team, supervising attorneys and walls through the people page (with
its confirmation step) and the services; the affected person is told; a wall takes effect at
once (pages, exports, notifications, e-mails already queued); a supervising attorney who
cannot sign off today is flagged with the sign-off rule's own reason.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from lpo_tracker.audit.models import AuditEvent
from lpo_tracker.clock import firm_today
from matters.models import EthicalWall, MatterMembership, MatterRole, TaskStatus
from matters.services import matter_member_add, wall_add
from supervision.models import Notification, ReminderKind
from supervision.reminders import reminders_deliver, reminders_sweep
from supervision.services import attorney_standing
from tests import factories as f
from tests.conftest import Cast

pytestmark = pytest.mark.django_db


def login(client: Client, user: object) -> Client:
    client.force_login(user)  # type: ignore[arg-type]
    return client


def change_url(cast: Cast, action: str) -> str:
    return reverse("matters:people_change", args=[cast.matter.pk, action])


def notices_of(user: Any) -> list[str]:
    return list(Notification.objects.filter(user=user, kind=ReminderKind.ACCESS_CHANGED)
                .values_list("subject", flat=True))


def test_adding_a_team_member_asks_for_confirmation_first(client: Client, cast: Cast) -> None:
    newcomer = f.UserFactory.create(username="newcomer")
    login(client, cast.staff_on)
    data = {"user": newcomer.pk, "role": MatterRole.TEAM}

    confirm = client.post(change_url(cast, "member_add"), data)

    assert confirm.status_code == 200
    assert "Confirm" in confirm.content.decode()
    assert not MatterMembership.objects.filter(user=newcomer).exists()

    done = client.post(change_url(cast, "member_add"), {**data, "confirmed": "yes"})

    assert done.status_code == 302
    assert MatterMembership.objects.filter(matter=cast.matter, user=newcomer,
                                           role=MatterRole.TEAM).exists()
    assert AuditEvent.objects.filter(action="membership.added", matter_id=cast.matter.pk,
                                     after__user=newcomer.pk).exists()
    assert notices_of(newcomer) == [f"You were added to the team of matter {cast.matter.number}"]


def test_removing_a_supervising_attorney_revokes_supervise_and_tells_them(
    client: Client, cast: Cast
) -> None:
    login(client, cast.staff_on)
    client.post(change_url(cast, "member_remove"),
                {"user": cast.attorney2.pk, "role": MatterRole.SUPERVISING_ATTORNEY,
                 "confirmed": "yes"})

    assert not MatterMembership.objects.filter(matter=cast.matter, user=cast.attorney2).exists()
    assert attorney_standing(user=cast.reload(cast.attorney2), matter=cast.matter,
                             day=firm_today()).blockers == [
        f"You are not a supervising attorney on matter {cast.matter.number}."]
    assert notices_of(cast.attorney2) == [
        f"You no longer supervise matter {cast.matter.number}"]


def test_a_wall_needs_a_reason_and_a_firm_administrator(client: Client, cast: Cast) -> None:
    login(client, cast.staff_on)  # on the team, but not a firm administrator
    assert client.post(change_url(cast, "wall_add"),
                       {"user": cast.staff_off.pk, "reason": "Conflict"}).status_code == 403
    matter_member_add(actor=cast.admin, matter=cast.matter, user=cast.admin,
                      role=MatterRole.TEAM)
    login(client, cast.admin)
    no_reason = client.post(change_url(cast, "wall_add"), {"user": cast.staff_on.pk,
                                                           "reason": "", "confirmed": "yes"})
    assert no_reason.status_code == 400
    assert not EthicalWall.objects.filter(user=cast.staff_on).exists()


def test_a_wall_takes_effect_at_once_everywhere(client: Client, cast: Cast) -> None:
    """Put up by someone who manages the matter (a firm admin on its team)."""
    matter_member_add(actor=cast.admin, matter=cast.matter, user=cast.admin,
                      role=MatterRole.TEAM)
    task = cast.advance(cast.task, TaskStatus.SUBMITTED)
    # A review-waiting e-mail to attorney2 is recorded but not yet sent.
    reminders_sweep(now=timezone.now())
    mail.outbox.clear()
    Notification.objects.filter(user=cast.attorney2).update(emailed_at=None)
    login(client, cast.admin)

    response = client.post(change_url(cast, "wall_add"), {
        "user": cast.attorney2.pk, "reason": "Joined from counsel to the adverse party",
        "confirmed": "yes"})

    assert response.status_code == 302
    wall = EthicalWall.objects.get(matter=cast.matter, user=cast.attorney2)
    assert wall.reason == "Joined from counsel to the adverse party"
    screened = login(Client(), cast.attorney2)
    assert screened.get(reverse("matters:detail", args=[cast.matter.pk])).status_code == 404
    assert screened.get(reverse("supervision:task_detail", args=[task.pk])).status_code == 404
    assert screened.get(reverse("matters:audit_export",
                                args=[cast.matter.pk])).status_code == 404
    # The queued e-mail is not sent, and the in-app list shows only the wall's own notice,
    # which names no matter.
    reminders_deliver()
    assert [m.subject for m in mail.outbox if cast.attorney2.email in m.to] == [
        "An ethical wall now screens you from a matter"]
    listed = screened.get(reverse("supervision:notifications")).content.decode()
    assert cast.matter.number not in listed and task.title not in listed
    assert "An ethical wall now screens you from a matter" in listed


def test_a_screened_supervisor_cannot_sign_off_and_the_page_says_why(
    client: Client, cast: Cast
) -> None:
    login(client, cast.staff_on)
    page = client.get(reverse("matters:detail", args=[cast.matter.pk])).content.decode()

    # The lapsed attorney is flagged with the sign-off rule's own reason.
    reason = attorney_standing(user=cast.lapsed_attorney, matter=cast.matter,
                               day=firm_today()).blockers[0]
    name = cast.lapsed_attorney.get_full_name()
    assert reason.startswith("You have no bar admission active on")
    assert reason.replace("You have", f"{name} has") in page
    assert page.count("Cannot sign off today") == 1  # attorney and attorney2 can


def test_people_page_lists_supervisors_team_and_walls(client: Client, cast: Cast) -> None:
    login(client, cast.staff_on)
    page = client.get(reverse("matters:people", args=[cast.matter.pk]))

    assert page.status_code == 200
    flagged = {m.user.username: bool(blockers) for m, blockers in page.context["supervisors"]}
    assert flagged == {"attorney": False, "attorney2": False, "lapsed": True}
    assert [w.user.username for w in page.context["walls"]] == ["screened"]
    assert page.context["wall_form"] is None  # the team sees walls, risk staff change them


def test_the_wall_is_refused_for_the_responsible_attorney_with_a_message(
    client: Client, cast: Cast
) -> None:
    matter_member_add(actor=cast.admin, matter=cast.matter, user=cast.admin,
                      role=MatterRole.TEAM)
    login(client, cast.admin)

    response = client.post(change_url(cast, "wall_add"), {
        "user": cast.attorney.pk, "reason": "Conflict", "confirmed": "yes"})

    assert response.status_code == 400
    assert "responsible attorney cannot be screened" in response.content.decode()
    assert not EthicalWall.objects.filter(user=cast.attorney).exists()


def test_taking_a_wall_down_needs_a_reason_and_tells_the_person(cast: Cast,
                                                                client: Client) -> None:
    matter_member_add(actor=cast.admin, matter=cast.matter, user=cast.admin,
                      role=MatterRole.TEAM)
    login(client, cast.admin)
    assert client.post(change_url(cast, "wall_remove"), {
        "user": cast.screened.pk, "reason": "", "confirmed": "yes"}).status_code == 400

    client.post(change_url(cast, "wall_remove"), {
        "user": cast.screened.pk, "reason": "Conflict waived by the client", "confirmed": "yes"})

    assert not EthicalWall.objects.filter(user=cast.screened).exists()
    assert notices_of(cast.screened) == [
        f"Your screen from matter {cast.matter.number} was lifted"]


def test_a_wall_on_someone_already_notified_hides_the_earlier_notice(cast: Cast) -> None:
    matter_member_add(actor=cast.admin, matter=cast.matter, user=cast.staff_off,
                      role=MatterRole.TEAM)
    wall_add(actor=cast.admin, matter=cast.matter, user=cast.staff_off, reason="Conflict")

    from supervision.notifications import notifications_for, unread_count

    assert [n.subject for n in notifications_for(cast.staff_off)] == [
        "An ethical wall now screens you from a matter"]
    assert unread_count(cast.staff_off) == 1


def test_every_kind_of_access_change_has_its_notice() -> None:
    from matters.services import ACCESS_CHANGES
    from supervision.access_notices import SUBJECTS

    assert set(SUBJECTS) == set(ACCESS_CHANGES)
