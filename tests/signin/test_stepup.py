"""Step-up at sign-off: approving asks for a fresh second factor (a password only where the
attorney has none) unless one was given in the last SIGNOFF_CONFIRMATION_SECONDS; the
sign-off records how and when. The rule is the sign-off service's; the view only collects."""

from __future__ import annotations

import datetime as dt

import pytest
from allauth.mfa.models import Authenticator
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from lpo_tracker.audit.models import AuditEvent
from lpo_tracker.errors import ConfirmationRequired
from lpo_tracker.fields import ConfirmationMethod
from lpo_tracker.signin.stepup import Confirmation
from matters.models import Task, TaskStatus
from supervision.models import SignOff
from supervision.services import latest_submission, signoff_eligibility, signoff_record
from tests import factories as f
from tests.conftest import Cast
from tests.signin.flows import post_password, sign_in_with_totp, step_up

pytestmark = pytest.mark.django_db


@pytest.fixture
def in_review(cast: Cast) -> Task:
    task = cast.advance(cast.task, TaskStatus.IN_REVIEW)
    # Proof of review: the signing attorney has opened the version under review.
    f.opened(latest_submission(task), cast.attorney)  # type: ignore[arg-type]
    return task


def sign(cast: Cast, task: Task, confirmation: Confirmation | None) -> SignOff:
    return signoff_record(actor=cast.attorney, task=task,
                          submission=latest_submission(task),  # type: ignore[arg-type]
                          attestation_accepted=True, confirmation=confirmation)


def ago(seconds: int, method: str = "totp") -> Confirmation:
    return Confirmation(method=ConfirmationMethod(method),
                        confirmed_at=timezone.now() - dt.timedelta(seconds=seconds))


# --- The rule, in the service ----------------------------------------------------------


@pytest.mark.parametrize(("age_and_method", "message"), [
    (None, "Confirm it is you"),
    ((301, "totp"), "from the last 5 minutes"),
    ((10, "password"), "a password alone does not do"),
], ids=["none", "stale", "password-for-an-mfa-user"])
def test_signoff_without_a_fresh_second_factor_is_refused(
    cast: Cast, in_review: Task, age_and_method: tuple[int, str] | None, message: str,
) -> None:
    confirmation = ago(*age_and_method) if age_and_method else None  # made at test time
    with pytest.raises(ConfirmationRequired, match=message):
        sign(cast, in_review, confirmation)
    assert not SignOff.objects.exists()
    assert Task.objects.get(pk=in_review.pk).status == TaskStatus.IN_REVIEW


@pytest.mark.parametrize("method", ["totp", "recovery_codes", "webauthn"])
def test_signoff_with_a_fresh_second_factor_is_recorded(
    cast: Cast, in_review: Task, method: str
) -> None:
    confirmation = ago(299, method)
    signoff = sign(cast, in_review, confirmation)
    assert signoff.confirmation_method == method
    assert signoff.confirmed_at == confirmation.confirmed_at
    event = AuditEvent.objects.get(action="signoff.recorded")
    assert event.after is not None and event.after["confirmation_method"] == method


def test_an_attorney_without_mfa_confirms_with_the_password(
    cast: Cast, in_review: Task, settings: object
) -> None:
    settings.MFA_REQUIRED_FOR = frozenset({"vendors", "admins"})  # type: ignore[attr-defined]
    Authenticator.objects.filter(user=cast.attorney).delete()
    signoff = sign(cast, in_review, ago(5, "password"))
    assert signoff.confirmation_method == ConfirmationMethod.PASSWORD


def test_the_window_is_a_setting(cast: Cast, in_review: Task, settings: object) -> None:
    settings.SIGNOFF_CONFIRMATION_SECONDS = 60  # type: ignore[attr-defined]
    with pytest.raises(ConfirmationRequired, match="from the last 1 minutes"):
        sign(cast, in_review, ago(61))


def test_eligibility_reports_the_missing_confirmation_separately(cast: Cast,
                                                                in_review: Task) -> None:
    submission = latest_submission(in_review)
    stale = signoff_eligibility(user=cast.attorney, task=in_review, submission=submission)
    assert stale.eligible and stale.confirmation_problem is not None
    fresh = signoff_eligibility(user=cast.attorney, task=in_review, submission=submission,
                                confirmation=ago(1))
    assert fresh.eligible and fresh.confirmation_problem is None
    # An ineligible user is told why they cannot sign, not asked to confirm.
    lapsed = signoff_eligibility(user=cast.lapsed_attorney, task=in_review,
                                 submission=submission)
    assert not lapsed.eligible and lapsed.confirmation_problem is None


# --- Through the pages -------------------------------------------------------------------


def approve_data(task: Task) -> dict[str, str]:
    submission = latest_submission(task)
    assert submission is not None
    return {"approve-submission": str(submission.pk), "approve-attestation_accepted": "on",
            "approve-comments": "Reviewed in full."}


def test_approving_asks_for_the_second_factor_then_signs_off(cast: Cast,
                                                            in_review: Task) -> None:
    client = Client()
    client.force_login(cast.attorney)  # a session whose sign-in is not on record as fresh
    review_page = client.get(reverse("supervision:review", args=[in_review.pk]))
    assert 'id="stepup-note"' in review_page.content.decode()

    response = client.post(reverse("supervision:approve", args=[in_review.pk]),
                           approve_data(in_review))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa_reauthenticate"))
    assert not SignOff.objects.exists()

    session_before = client.session.session_key
    wrong = client.post(response["Location"], {"code": "000000"})
    assert wrong.status_code == 200 and not SignOff.objects.exists()
    # The right code: allauth replays the approval it kept, and the service accepts it.
    done = client.post(response["Location"], {"code": f.totp_code()})
    assert done.status_code == 302
    assert done["Location"] == reverse("supervision:task_detail", args=[in_review.pk])
    signoff = SignOff.objects.get(task=in_review)
    assert signoff.confirmation_method == ConfirmationMethod.TOTP
    assert signoff.confirmed_at is not None
    assert abs((timezone.now() - signoff.confirmed_at).total_seconds()) < 60
    assert client.session.session_key != session_before  # a new session id at step-up


def test_a_recent_sign_in_with_the_second_factor_is_confirmation_enough(
    cast: Cast, in_review: Task
) -> None:
    client = Client()
    sign_in_with_totp(client, "attorney")
    response = client.post(reverse("supervision:approve", args=[in_review.pk]),
                           approve_data(in_review))
    assert response["Location"] == reverse("supervision:task_detail", args=[in_review.pk])
    assert SignOff.objects.get(task=in_review).confirmation_method == ConfirmationMethod.TOTP


def test_a_sign_in_older_than_the_window_asks_again(cast: Cast, in_review: Task,
                                                   settings: object) -> None:
    settings.SIGNOFF_CONFIRMATION_SECONDS = 30  # type: ignore[attr-defined]
    client = Client()
    sign_in_with_totp(client, "attorney")
    session = client.session
    records = session["account_authentication_methods"]
    records[-1]["at"] -= 31  # the sign-in happened 31 s ago
    session["account_authentication_methods"] = records
    session.save()
    response = client.post(reverse("supervision:approve", args=[in_review.pk]),
                           approve_data(in_review))
    assert response["Location"].startswith(reverse("mfa_reauthenticate"))
    step_up(client, cast.attorney, response["Location"])
    signoff = SignOff.objects.get(task=in_review)
    assert signoff.confirmation_method == ConfirmationMethod.RECOVERY_CODE


def test_an_attorney_without_mfa_is_asked_for_the_password(cast: Cast, in_review: Task,
                                                          settings: object) -> None:
    settings.MFA_REQUIRED_FOR = frozenset({"vendors", "admins"})  # type: ignore[attr-defined]
    Authenticator.objects.filter(user=cast.attorney).delete()
    client = Client()
    client.force_login(cast.attorney)
    response = client.post(reverse("supervision:approve", args=[in_review.pk]),
                           approve_data(in_review))
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    done = client.post(response["Location"], {"password": f.PASSWORD})
    assert done["Location"] == reverse("supervision:task_detail", args=[in_review.pk])
    assert SignOff.objects.get(task=in_review).confirmation_method == "password"


def test_password_sign_in_for_a_user_without_mfa_is_recorded_as_password(
    cast: Cast, in_review: Task, settings: object
) -> None:
    settings.MFA_REQUIRED_FOR = frozenset({"vendors", "admins"})  # type: ignore[attr-defined]
    Authenticator.objects.filter(user=cast.attorney).delete()
    client = Client()
    post_password(client, "attorney")
    client.post(reverse("supervision:approve", args=[in_review.pk]), approve_data(in_review))
    assert SignOff.objects.get(task=in_review).confirmation_method == "password"
