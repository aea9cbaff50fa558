"""MFA (allauth): required for attorneys, vendor users and anyone with admin access; first
sign-in enrols with a QR code drawn by the app; afterwards the password alone signs nobody
in; a recovery code works once; the admin is behind the same sign-in."""

from __future__ import annotations

import re
from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from django.test import Client
from django.urls import reverse

from lpo_tracker.audit.models import AuditEvent
from tests import factories as f
from tests.conftest import Cast
from tests.signin.flows import (
    post_code,
    post_password,
    sign_in_with_totp,
    signed_in_user_id,
)

pytestmark = pytest.mark.django_db


def enrolment_redirect(response: object) -> bool:
    return response["Location"] == reverse("mfa_activate_totp")  # type: ignore[index]


def test_attorney_without_a_second_factor_enrols_at_first_sign_in(
    django_capture_on_commit_callbacks: Any,
) -> None:
    user = f.UserFactory.create(username="newpartner")
    from supervision.models import AttorneyProfile

    AttorneyProfile.objects.create(user=user, title="Partner")
    client = Client()
    response = post_password(client, "newpartner")
    assert signed_in_user_id(client) == str(user.pk)
    # Every page, the dashboard and the admin included, sends to enrolment first.
    for url in (reverse("supervision:dashboard"), reverse("matters:list")):
        assert enrolment_redirect(client.get(url)), url
    assert enrolment_redirect(client.get(response["Location"]))
    page = client.get(reverse("mfa_activate_totp"))
    body = page.content.decode()
    assert page.status_code == 200
    assert "<svg" in body and "data:image" not in body  # the QR code, drawn by this server
    secret = re.search(r'id="authenticator_secret" type="text" value="([A-Z2-7]+)"', body)
    assert secret is not None

    wrong = client.post(reverse("mfa_activate_totp"), {"code": "000000"})
    assert wrong.status_code == 200 and not Authenticator.objects.filter(user=user).exists()
    with django_capture_on_commit_callbacks(execute=True):  # allauth signals after commit
        activated = client.post(reverse("mfa_activate_totp"),
                                {"code": f.totp_code(secret.group(1))})
    assert activated.status_code == 302
    assert set(Authenticator.objects.filter(user=user).values_list("type", flat=True)) == {
        Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES}
    assert client.get(reverse("supervision:dashboard")).status_code == 200
    assert AuditEvent.objects.filter(action="signin.mfa_added", object_id=str(user.pk)).exists()


def test_sign_in_with_an_authenticator_code(cast: Cast) -> None:
    client = Client()
    client.get(reverse("login"))
    key_before = client.session.session_key
    response = post_password(client, "attorney")
    assert response["Location"] == reverse("mfa_authenticate")
    assert signed_in_user_id(client) is None  # the password alone signs nobody in
    assert client.get(reverse("supervision:dashboard"))["Location"].startswith(reverse("login"))

    response = post_code(client, f.totp_code())
    assert response.status_code == 302
    assert signed_in_user_id(client) == str(cast.attorney.pk)
    assert client.session.session_key != key_before  # a new session id at sign-in
    assert client.get(reverse("supervision:dashboard")).status_code == 200


def test_a_wrong_or_reused_code_is_refused(cast: Cast) -> None:
    client = Client()
    post_password(client, "attorney")
    response = post_code(client, "123456" if f.totp_code() != "123456" else "654321")
    assert response.status_code == 200 and signed_in_user_id(client) is None
    code = f.totp_code()
    assert post_code(client, code).status_code == 302
    again = Client()
    post_password(again, "attorney")
    assert post_code(again, code).status_code == 200  # a code signs in once
    assert signed_in_user_id(again) is None


def test_a_recovery_code_signs_in_once(cast: Cast) -> None:
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes

    authenticator = Authenticator.objects.get(user=cast.vendor_a_user,
                                              type=Authenticator.Type.RECOVERY_CODES)
    code = RecoveryCodes(authenticator).get_unused_codes()[0]
    client = Client()
    post_password(client, "vendor_a", next_url=reverse("portal:tasks"))
    assert post_code(client, code).status_code == 302
    assert signed_in_user_id(client) == str(cast.vendor_a_user.pk)
    assert client.get(reverse("portal:tasks")).status_code == 200

    again = Client()
    post_password(again, "vendor_a")
    assert post_code(again, code).status_code == 200
    assert signed_in_user_id(again) is None


def test_vendor_user_without_a_second_factor_cannot_reach_the_portal(cast: Cast) -> None:
    Authenticator.objects.filter(user=cast.vendor_b_user).delete()
    client = Client()
    post_password(client, "vendor_b")
    assert enrolment_redirect(client.get(reverse("portal:tasks")))


def test_staff_without_a_protected_role_sign_in_with_a_password(cast: Cast) -> None:
    client = Client()
    response = post_password(client, "staff_on")
    assert response["Location"] == reverse("supervision:dashboard")
    assert client.get(reverse("supervision:dashboard")).status_code == 200


def test_the_policy_is_a_setting(cast: Cast, settings: object) -> None:
    settings.MFA_REQUIRED_FOR = frozenset({"vendors"})  # type: ignore[attr-defined]
    lawyer = f.UserFactory.create(username="newpartner")
    from supervision.models import AttorneyProfile

    AttorneyProfile.objects.create(user=lawyer, title="Partner")
    client = Client()
    post_password(client, "newpartner")
    assert client.get(reverse("supervision:dashboard")).status_code == 200


def test_admin_is_unreachable_without_the_second_factor() -> None:
    staff = f.UserFactory.create(username="itadmin", is_staff=True, is_superuser=True)
    anonymous = Client()
    assert anonymous.get(reverse("admin:index"))["Location"].startswith(reverse("admin:login"))
    assert anonymous.get(reverse("admin:login"))["Location"].startswith(reverse("login"))

    not_enrolled = Client()
    post_password(not_enrolled, "itadmin")
    assert enrolment_redirect(not_enrolled.get(reverse("admin:index")))
    assert enrolment_redirect(not_enrolled.get(reverse("admin:matters_task_changelist")))

    f.enrol_mfa(staff)
    password_only = Client()
    post_password(password_only, "itadmin", next_url=reverse("admin:index"))
    assert password_only.get(reverse("admin:index"))["Location"].startswith(
        reverse("admin:login"))

    with_code = Client()
    sign_in_with_totp(with_code, "itadmin")
    assert with_code.get(reverse("admin:index")).status_code == 200


def test_an_administrator_resets_a_lost_second_factor_audited(cast: Cast,
                                                             admin_client: Client,
                                                             admin_user: object) -> None:
    changelist = reverse("admin:mfa_authenticator_changelist")
    ids = list(Authenticator.objects.filter(user=cast.vendor_a_user).values_list("pk", flat=True))
    response = admin_client.post(changelist, {"action": "reset", "_selected_action": ids},
                                 follow=True)
    assert "Reset 2 second factor(s)" in response.content.decode()
    assert not Authenticator.objects.filter(user=cast.vendor_a_user).exists()
    events = AuditEvent.objects.filter(action="signin.mfa_reset")
    assert {(e.actor_id, e.object_id) for e in events} == {
        (admin_user.pk, str(cast.vendor_a_user.pk))}  # type: ignore[attr-defined]
    assert events.count() == 2
    client = Client()
    post_password(client, "vendor_a")  # signs in with the password, then must enrol again
    assert enrolment_redirect(client.get(reverse("portal:tasks")))
