"""Signing in through the real pages: password (allauth's form), then the second factor."""

from __future__ import annotations

from django.http import HttpResponse
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD, totp_code


def post_password(client: Client, username: str, password: str = PASSWORD, *,
                  next_url: str = "", remote_addr: str = "127.0.0.1") -> HttpResponse:
    data = {"login": username, "password": password}
    if next_url:
        data["next"] = next_url
    return client.post(reverse("login"), data, REMOTE_ADDR=remote_addr)  # type: ignore[return-value]


def post_code(client: Client, code: str) -> HttpResponse:
    return client.post(reverse("mfa_authenticate"), {"code": code})  # type: ignore[return-value]


def sign_in_with_totp(client: Client, username: str, *,
                      remote_addr: str = "127.0.0.1") -> HttpResponse:
    response = post_password(client, username, remote_addr=remote_addr)
    assert response["Location"] == reverse("mfa_authenticate"), response
    return post_code(client, totp_code())


def signed_in_user_id(client: Client) -> str | None:
    return client.session.get("_auth_user_id")


def step_up(client: Client, user: object, url: str = "") -> HttpResponse:
    """Confirm it is `user` again (the sign-off step-up) at `url` (where the refused act
    sent them; it replays the act), with their next unused recovery code: unlike an
    authenticator code, it cannot collide with one used seconds before."""
    from allauth.mfa.models import Authenticator
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes

    authenticator = Authenticator.objects.get(user=user, type=Authenticator.Type.RECOVERY_CODES)
    code = RecoveryCodes(authenticator).get_unused_codes()[0]
    response = client.post(url or reverse("mfa_reauthenticate"), {"code": code})
    assert response.status_code == 302, response
    return response  # type: ignore[return-value]
