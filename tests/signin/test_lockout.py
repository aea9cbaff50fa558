"""django-axes: N failed sign-ins lock the username and, separately, the address; the page
says so and whom to ask; an administrator unlocks in the admin, audited. The staff sign-in,
the vendor portal and the admin all go through the one sign-in page."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from lpo_tracker.audit.models import AuditEvent
from tests import factories as f
from tests.conftest import Cast
from tests.signin.flows import post_password, sign_in_with_totp, signed_in_user_id

pytestmark = pytest.mark.django_db

LIMIT = 5  # the default of LOGIN_FAILURE_LIMIT
# The administrator's own address: the failures below lock 127.0.0.1 out as well.
ADMIN_DESK = "192.0.2.10"


def fail(client: Client, username: str, times: int, **kwargs: str) -> None:
    """`times` wrong passwords; each answered with the form again, except the one that
    reaches the limit, which is answered with the lockout page."""
    for attempt in range(1, times + 1):
        response = post_password(client, username, "wrong-password", **kwargs)
        assert response.status_code == (429 if attempt == LIMIT else 200), attempt


def assert_locked(response: object) -> None:
    body = response.content.decode()  # type: ignore[attr-defined]
    assert response.status_code == 429, body  # type: ignore[attr-defined]
    assert "Sign-in temporarily locked" in body
    assert "locked for 15 minutes" in body and "IT help desk" in body


def test_staff_sign_in_locks_after_five_failures_even_for_the_right_password(
    client: Client,
) -> None:
    f.UserFactory.create(username="associate")
    fail(client, "associate", LIMIT - 1)
    response = post_password(client, "associate", "wrong-password")
    assert_locked(response)
    assert_locked(post_password(client, "associate"))  # right password, still locked
    assert signed_in_user_id(client) is None
    events = AuditEvent.objects.filter(action="signin.locked_out").order_by("id")
    assert events.count() == 2  # the attempt that locked, and the one refused while locked
    assert events[0].after == {"username": "associate", "ip_address": "127.0.0.1"}


def test_four_failures_do_not_lock(client: Client) -> None:
    user = f.UserFactory.create(username="associate")
    fail(client, "associate", LIMIT - 1)
    response = post_password(client, "associate")
    assert response.status_code == 302
    assert signed_in_user_id(client) == str(user.pk)


def test_failures_older_than_the_window_stop_counting(client: Client) -> None:
    user = f.UserFactory.create(username="associate")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        fail(client, "associate", LIMIT - 1)
    with time_machine.travel(start + dt.timedelta(minutes=16), tick=False):
        fail(client, "associate", 1)
        response = post_password(client, "associate")
    assert response.status_code == 302 and signed_in_user_id(client) == str(user.pk)


def test_the_lock_ends_after_the_lockout_period(client: Client) -> None:
    user = f.UserFactory.create(username="associate")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        fail(client, "associate", LIMIT)
        assert_locked(post_password(client, "associate"))
    with time_machine.travel(start + dt.timedelta(minutes=16), tick=False):
        response = post_password(client, "associate")
    assert response.status_code == 302 and signed_in_user_id(client) == str(user.pk)


def test_one_address_trying_many_usernames_is_locked_out(client: Client) -> None:
    f.UserFactory.create(username="associate")
    for number in range(LIMIT):
        post_password(client, f"guess{number}", "wrong-password", remote_addr="203.0.113.9")
    assert_locked(post_password(client, "associate", remote_addr="203.0.113.9"))
    # Another address is not affected by that lock.
    assert post_password(Client(), "associate", remote_addr="198.51.100.7").status_code == 302


def test_vendor_portal_sign_in_locks_out(cast: Cast) -> None:
    client = Client()
    portal = reverse("portal:tasks")
    assert client.get(portal)["Location"].startswith(reverse("login"))
    fail(client, "vendor_a", LIMIT, next_url=portal)
    assert_locked(post_password(client, "vendor_a", next_url=portal))
    assert client.get(portal).status_code == 302  # still signed out


def test_admin_sign_in_is_the_same_sign_in_and_locks_out() -> None:
    f.UserFactory.create(username="itadmin", is_staff=True, is_superuser=True)
    client = Client()
    # The admin's own login form is gone: it sends to the app's sign-in (lockout, MFA).
    response = client.get(reverse("admin:login"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert client.post(reverse("admin:login"), {"username": "itadmin",
                                                "password": f.PASSWORD}).status_code == 302
    assert signed_in_user_id(client) is None
    fail(client, "itadmin", LIMIT, next_url=reverse("admin:index"))
    assert_locked(post_password(client, "itadmin", next_url=reverse("admin:index")))
    assert client.get(reverse("admin:index"))["Location"].startswith(reverse("admin:login"))


def test_admin_unlocks_a_locked_account_and_the_unlock_is_audited(client: Client) -> None:
    f.UserFactory.create(username="associate")
    fail(client, "associate", LIMIT)
    assert_locked(post_password(client, "associate"))

    admin_user = f.UserFactory.create(username="itadmin", is_staff=True, is_superuser=True)
    f.enrol_mfa(admin_user)
    admin = Client()
    sign_in_with_totp(admin, "itadmin", remote_addr=ADMIN_DESK)
    changelist = reverse("admin:axes_accessattempt_changelist")
    page = admin.get(changelist)
    assert page.status_code == 200 and "associate" in page.content.decode()
    attempt = AccessAttempt.objects.get(username="associate")
    response = admin.post(changelist, {"action": "unlock", "_selected_action": [attempt.pk]},
                          follow=True)
    assert "Unlocked 1 sign-in" in response.content.decode()

    assert not AccessAttempt.objects.filter(username="associate").exists()
    event = AuditEvent.objects.get(action="signin.unlocked")
    assert event.actor_id == admin_user.pk
    assert event.before == {"username": "associate", "ip_address": "127.0.0.1",
                            "failures": LIMIT + 1}  # and the refused attempt while locked
    assert post_password(client, "associate").status_code == 302  # can sign in again


def test_lockout_attempts_cannot_be_edited_or_deleted_without_the_audit(
    client: Client,
) -> None:
    f.UserFactory.create(username="associate")
    fail(client, "associate", LIMIT)
    admin_user = f.UserFactory.create(username="itadmin", is_staff=True, is_superuser=True)
    f.enrol_mfa(admin_user)
    admin = Client()
    sign_in_with_totp(admin, "itadmin", remote_addr=ADMIN_DESK)
    attempt = AccessAttempt.objects.get(username="associate")
    delete_url = reverse("admin:axes_accessattempt_delete", args=[attempt.pk])
    admin.post(delete_url, {"post": "yes"})
    assert not AccessAttempt.objects.filter(pk=attempt.pk).exists()
    assert AuditEvent.objects.filter(action="signin.unlocked", actor_id=admin_user.pk).count() == 1
    assert admin.get(reverse("admin:axes_accessattempt_add")).status_code == 403
