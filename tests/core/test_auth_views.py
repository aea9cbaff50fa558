"""Sign in (allauth's view: the form's fields are `login` and `password`), sign out, password
change and password reset (django.contrib.auth's views), all with the project's templates.
The associate here holds no role that requires MFA; tests/signin covers the second factor."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.urls import reverse

from tests import factories as f

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "quiet-harbour-lantern-42"


@pytest.fixture
def associate() -> object:
    return f.UserFactory.create(username="associate", email="associate@example.com",
                         first_name="Ada", last_name="Byrne")


def test_login_page_renders_with_labelled_fields(client: Client) -> None:
    response = client.get(reverse("login"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Sign in</h1>" in body
    assert 'for="id_login"' in body and 'for="id_password"' in body
    assert "csrfmiddlewaretoken" in body
    assert reverse("password_reset") in body


def test_login_works_and_lands_on_the_dashboard(client: Client, associate: object) -> None:
    response = client.post(reverse("login"),
                           {"login": "associate", "password": f.PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("supervision:dashboard")
    assert client.session.get("_auth_user_id") == str(associate.pk)  # type: ignore[attr-defined]


def test_login_returns_to_the_page_asked_for(client: Client, associate: object) -> None:
    matters = reverse("matters:list")
    response = client.get(matters)
    assert response["Location"] == f"{reverse('login')}?next={matters}"
    response = client.post(f"{reverse('login')}?next={matters}",
                           {"login": "associate", "password": f.PASSWORD, "next": matters})
    assert response["Location"] == matters


def test_wrong_password_is_an_error_on_the_page(client: Client, associate: object) -> None:
    response = client.post(reverse("login"), {"login": "associate", "password": "nope"})
    assert response.status_code == 200
    assert "username and/or password you specified are not correct" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_sign_out_shows_the_signed_out_page(client: Client, associate: object) -> None:
    client.force_login(associate)  # type: ignore[arg-type]
    response = client.post(reverse("logout"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("login")
    assert "_auth_user_id" not in client.session


def test_logged_out_template_renders(client: Client) -> None:
    from django.template.loader import render_to_string

    assert "You are signed out" in render_to_string("registration/logged_out.html")


def test_password_change(client: Client, associate: object) -> None:
    url = reverse("password_change")
    assert client.get(url)["Location"].startswith(reverse("login"))
    client.force_login(associate)  # type: ignore[arg-type]
    assert "Change your password" in client.get(url).content.decode()
    response = client.post(url, {"old_password": f.PASSWORD, "new_password1": NEW_PASSWORD,
                                 "new_password2": NEW_PASSWORD}, follow=True)
    assert "Password changed" in response.content.decode()
    user = get_user_model().objects.get(pk=associate.pk)  # type: ignore[attr-defined]
    assert user.check_password(NEW_PASSWORD)


def test_password_change_shows_field_errors(client: Client, associate: object) -> None:
    client.force_login(associate)  # type: ignore[arg-type]
    response = client.post(reverse("password_change"), {
        "old_password": "wrong", "new_password1": "a", "new_password2": "b",
    })
    body = response.content.decode()
    assert response.status_code == 200
    assert "Please correct" in body
    assert 'aria-invalid="true"' in body


def test_password_reset_sends_an_email_whose_link_sets_a_new_password(
    client: Client, associate: object
) -> None:
    assert "Reset your password" in client.get(reverse("password_reset")).content.decode()
    response = client.post(reverse("password_reset"), {"email": "associate@example.com"},
                           follow=True)
    assert "Check your e-mail" in response.content.decode()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["associate@example.com"]
    assert "Reset your LPO Tracker password" in message.subject
    assert "\n" not in message.subject
    assert "Ada Byrne" in message.body and "associate" in message.body
    match = re.search(r"https?://[^/\s]+(/accounts/reset/\S+/)", str(message.body))
    assert match is not None

    response = client.get(match.group(1), follow=True)
    assert "Choose a new password" in response.content.decode()
    response = client.post(response.redirect_chain[-1][0], {
        "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD,
    }, follow=True)
    assert "Your new password is set" in response.content.decode()
    user = get_user_model().objects.get(pk=associate.pk)  # type: ignore[attr-defined]
    assert user.check_password(NEW_PASSWORD)


def test_password_reset_for_an_unknown_address_sends_nothing(client: Client) -> None:
    response = client.post(reverse("password_reset"), {"email": "nobody@example.com"},
                           follow=True)
    assert "Check your e-mail" in response.content.decode()  # same answer: no account probing
    assert mail.outbox == []


def test_a_used_reset_link_says_so(client: Client) -> None:
    response = client.get(reverse("password_reset_confirm",
                                  kwargs={"uidb64": "MQ", "token": "bad-token"}))
    assert "This link no longer works" in response.content.decode()


def test_sign_in_is_the_allauth_page_and_the_old_template_is_gone(client: Client) -> None:
    """allauth's login view answers /accounts/login/ (lpo_tracker/urls.py); Django's
    LoginView, whose registration/login.html was a second copy of the page, is unreachable."""
    from django.template import TemplateDoesNotExist
    from django.template.loader import get_template

    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert "account/login.html" in [template.name for template in response.templates]
    with pytest.raises(TemplateDoesNotExist):
        get_template("registration/login.html")
