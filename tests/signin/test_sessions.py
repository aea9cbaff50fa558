"""Sessions: an idle limit besides the absolute one, sign-out everywhere on a password
change, and `Cache-Control: no-store` on the pages (client data is on nearly all)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from matters.models import TaskStatus
from tests import factories as f
from tests.conftest import Cast
from tests.signin.flows import post_password, sign_in_with_totp, signed_in_user_id

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "quiet-harbour-lantern-42"


def test_an_idle_session_ends_after_the_idle_limit(cast: Cast) -> None:
    start = timezone.now()
    client = Client()
    with time_machine.travel(start, tick=False):
        post_password(client, "staff_on")
    with time_machine.travel(start + dt.timedelta(minutes=29), tick=False):
        assert client.get(reverse("supervision:dashboard")).status_code == 200
    # Idle counts from the last request, not from sign-in.
    with time_machine.travel(start + dt.timedelta(minutes=58), tick=False):
        assert client.get(reverse("supervision:dashboard")).status_code == 200
    with time_machine.travel(start + dt.timedelta(minutes=89), tick=False):
        response = client.get(reverse("matters:list"))
    assert response["Location"] == f"{reverse('login')}?next={reverse('matters:list')}"
    assert signed_in_user_id(client) is None


def test_the_idle_limit_is_a_setting(cast: Cast, settings: object) -> None:
    settings.SESSION_IDLE_TIMEOUT = 5 * 60  # type: ignore[attr-defined]
    start = timezone.now()
    client = Client()
    with time_machine.travel(start, tick=False):
        post_password(client, "staff_on")
    with time_machine.travel(start + dt.timedelta(minutes=6), tick=False):
        assert client.get(reverse("supervision:dashboard")).status_code == 302


def test_an_active_session_still_ends_at_the_absolute_limit(cast: Cast) -> None:
    start = timezone.now()
    client = Client()
    with time_machine.travel(start, tick=False):
        post_password(client, "staff_on")
    for minutes in range(20, 8 * 60, 20):  # busy all day, never idle
        with time_machine.travel(start + dt.timedelta(minutes=minutes), tick=False):
            assert client.get(reverse("supervision:dashboard")).status_code == 200, minutes
    with time_machine.travel(start + dt.timedelta(hours=8, minutes=1), tick=False):
        assert client.get(reverse("supervision:dashboard")).status_code == 302
    assert signed_in_user_id(client) is None


def test_a_password_change_signs_out_every_other_session(cast: Cast) -> None:
    laptop, phone = Client(), Client()
    post_password(laptop, "staff_on")
    post_password(phone, "staff_on")
    laptop_key = laptop.session.session_key
    response = laptop.post(reverse("password_change"), {
        "old_password": f.PASSWORD, "new_password1": NEW_PASSWORD,
        "new_password2": NEW_PASSWORD})
    assert response.status_code == 302
    assert laptop.get(reverse("supervision:dashboard")).status_code == 200  # this one stays
    assert laptop.session.session_key != laptop_key  # with a new session id
    assert phone.get(reverse("supervision:dashboard"))["Location"].startswith(reverse("login"))


def test_a_password_reset_signs_out_every_session(cast: Cast) -> None:
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    signed_in = Client()
    post_password(signed_in, "staff_on")
    user = type(cast.staff_on).objects.get(pk=cast.staff_on.pk)  # last_login moved on
    url = reverse("password_reset_confirm", kwargs={
        "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
        "token": default_token_generator.make_token(user)})
    resetter = Client()
    form = resetter.get(url, follow=True).redirect_chain[-1][0]
    done = resetter.post(form, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done["Location"] == reverse("password_reset_complete")
    assert signed_in.get(reverse("supervision:dashboard"))["Location"].startswith(
        reverse("login"))


def test_pages_with_client_data_are_never_stored(cast: Cast) -> None:
    task = cast.advance(cast.task, TaskStatus.SUBMITTED)
    staff = Client()
    post_password(staff, "staff_on")
    vendor = Client()
    sign_in_with_totp(vendor, "vendor_a")
    pages = [
        (staff, reverse("supervision:dashboard")),
        (staff, reverse("matters:list")),
        (staff, reverse("matters:detail", args=[cast.matter.pk])),
        (staff, reverse("supervision:task_detail", args=[task.pk])),
        (vendor, reverse("portal:tasks")),
        (vendor, reverse("portal:task", args=[task.pk])),
        (Client(), reverse("login")),
    ]
    for client, url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert "no-store" in response["Cache-Control"], url
        assert "private" in response["Cache-Control"], url
