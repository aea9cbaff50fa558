"""`manage.py seed_demo`: a believable firm, built through the services, loaded exactly once."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from allauth.mfa.utils import is_mfa_enabled
from django.apps import apps
from django.contrib.auth import authenticate
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.test import Client as HttpClient
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from lpo_tracker.audit.models import AuditEvent
from lpo_tracker.audit.services import audit_verify_chain
from lpo_tracker.clock import firm_today
from lpo_tracker.fields import ConfirmationMethod, TaskType
from lpo_tracker.signin.policy import mfa_required_for
from matters.models import (
    WITH_VENDOR_STATES,
    Client,
    ConflictCheckStatus,
    Engagement,
    EthicalWall,
    Matter,
    Task,
    TaskStatus,
)
from matters.selectors import matters_visible_to
from supervision import demo
from supervision.demo import builder
from supervision.management.commands.seed_demo import demo_logins
from supervision.models import BarAdmission, SignOff, SlaPolicy, Submission
from supervision.services import latest_submission, signoff_eligibility
from tests import factories as f
from vendors.models import DiligenceKind, DueDiligenceRecord, Vendor, VendorUser
from vendors.services import vendor_assignment_blockers

pytestmark = pytest.mark.django_db


def row_counts() -> dict[str, int]:
    """Rows of every model of every app (the audit trail included)."""
    return {model._meta.label: model._default_manager.count() for model in apps.get_models()}


def seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def stored_files(root: Path) -> set[Path]:
    return {path for path in root.rglob("*") if path.is_file()}


@pytest.fixture(scope="class")
def seeded(django_db_setup: None, django_db_blocker: Any) -> Iterator[str]:
    """Seed once per class, in a transaction rolled back after it: seeding takes seconds and
    the checks only read (the second run writes nothing). Each test's own transaction nests
    inside this one."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield seed()
        transaction.set_rollback(True)


class TestSeededDemo:
    """The demo as loaded once by `manage.py seed_demo`."""

    def test_demo_has_the_firm_the_brief_describes(self, seeded: str) -> None:
        assert Client.objects.count() == 3
        assert Matter.objects.count() == 8
        assert Vendor.objects.count() == 3
        assert 38 <= Task.objects.count() <= 46
        assert len({matter.time_zone for matter in Matter.objects.all()}) >= 3
        assert all(vendor.members.count() == 1 for vendor in Vendor.objects.all())
        assert "Demo data loaded" in seeded


    def test_demo_shows_qc_tightened_vendor_sampled_and_full_reviews(self, seeded: str
                                                                      ) -> None:
        from supervision.qc.models import InspectionState, InspectionSwitch

        state = InspectionState.objects.get(vendor__name__startswith="Kaveri",
                                            task_type=TaskType.LEGAL_CODING)
        assert state.severity == "tightened"
        assert InspectionSwitch.objects.filter(vendor=state.vendor, to_severity="tightened",
                                               reason__contains="2 of the last 5").exists()
        sampled = SignOff.objects.filter(qc_result__isnull=False,
                                         qc_result__sample__severity="tightened").first()
        assert sampled is not None
        assert "Quality control: lot of 500 items" in sampled.attestation_text
        assert "tightened inspection" in sampled.attestation_text
        full = SignOff.objects.filter(qc_summary__review_level="full_attorney_review")
        assert full.exists()
        assert all("it was not sampled" in signoff.attestation_text for signoff in full)

    def test_every_task_state_and_type_is_present(self, seeded: str) -> None:
        assert set(Task.objects.values_list("status", flat=True)) == set(TaskStatus.values)
        assert set(Task.objects.values_list("task_type", flat=True)) == set(TaskType.values)


    def test_signed_tasks_carry_a_signoff_of_their_latest_version(self, seeded: str) -> None:
        signed = Task.objects.filter(status__in=(TaskStatus.APPROVED, TaskStatus.DELIVERED))
        assert signed.exists()
        for task in signed:
            signoff = task.approved_signoff
            assert signoff is not None
            assert signoff.submission == latest_submission(task)
            assert signoff.sha256 == signoff.submission.sha256
        # Some tasks went through a round of changes and carry two versions.
        assert Submission.objects.filter(version=2).exists()


    def test_sla_due_dates_are_spread_around_now(self, seeded: str) -> None:
        now = timezone.now()
        with_vendor = Task.objects.filter(status__in=WITH_VENDOR_STATES)
        assert Task.objects.sla_overdue(now=now).count() >= 3
        assert with_vendor.filter(sla_due_at__gt=now,
                                  sla_due_at__lte=now + dt.timedelta(days=4)).count() >= 3
        assert with_vendor.filter(sla_due_at__gt=now + dt.timedelta(days=4)).count() >= 2
        assert Task.objects.review_overdue(now=now).exists()


    def test_sla_policies_escalate_to_a_named_partner(self, seeded: str) -> None:
        policies = SlaPolicy.objects.filter(is_active=True)
        assert policies.filter(task_type="", priority="").exists()
        assert policies.exclude(task_type="").exists()
        assert policies.exclude(priority="").exists()
        assert {policy.escalation_partner.username for policy in policies
                if policy.escalation_partner} == {"eleanor.hale"}
        assert not policies.filter(escalation_partner__isnull=True).exists()
        assert all(policy.reminder_offsets_hours for policy in policies)

    def test_one_vendor_is_blocked_because_its_soc2_report_expired(self, seeded: str) -> None:
        today = firm_today()
        blocked = {vendor: vendor_assignment_blockers(vendor, day=today)
                   for vendor in Vendor.objects.all()}
        blocked = {vendor: reasons for vendor, reasons in blocked.items() if reasons}
        assert len(blocked) == 1
        [(vendor, reasons)] = blocked.items()
        assert reasons == [f"{vendor} has no SOC 2 Type II report or ISO/IEC 27001 certificate "
                           f"valid on {today:%d %b %Y}."]
        soc2 = DueDiligenceRecord.objects.get(vendor=vendor, kind=DiligenceKind.SOC2_TYPE2)
        assert soc2.status_on(today) == "expired"
        assert not DueDiligenceRecord.objects.filter(vendor=vendor,
                                                     kind=DiligenceKind.ISO27001).exists()
        # It is engaged, but none of its work ever left draft.
        assert vendor.engagements.exists()
        assert not Task.objects.filter(engagement__vendor=vendor).exists()


    def test_a_conflict_check_is_flagged_and_one_is_pending(self, seeded: str) -> None:
        statuses = set(Engagement.objects.values_list("conflict_check_status", flat=True))
        assert statuses == set(ConflictCheckStatus.values)


    def test_lapsed_attorney_cannot_sign_off_but_a_licensed_one_can(self, seeded: str) -> None:
        lapsed = User.objects.get(username=demo.LAPSED_ATTORNEY)
        licensed = User.objects.get(username="eleanor.hale")
        assert not BarAdmission.objects.filter(attorney__user=lapsed).active_on(
            firm_today()).exists()
        task = Task.objects.filter(status=TaskStatus.IN_REVIEW, matter__memberships__user=lapsed,
                                   matter__responsible_attorney=licensed).first()
        assert task is not None
        submission = latest_submission(task)
        assert submission is not None
        for attorney in (lapsed, licensed):  # both read it; the bar admission decides
            f.opened(submission, attorney)

        refused = signoff_eligibility(user=lapsed, task=task, submission=submission)
        allowed = signoff_eligibility(user=licensed, task=task, submission=submission)

        assert not refused.eligible
        assert refused.blockers == [
            f"You have no bar admission active on {firm_today():%d %b %Y}; sign-off needs "
            "a licensed attorney."
        ]
        assert allowed.eligible


    def test_screened_user_does_not_see_the_walled_matter(self, seeded: str) -> None:
        screened = User.objects.get(username=demo.SCREENED_USER)
        wall = EthicalWall.objects.get(user=screened)
        visible = matters_visible_to(screened)
        assert visible.exists()
        assert wall.matter not in visible


    def test_logins_work_and_cover_every_role(self, seeded: str) -> None:
        logins = demo_logins()
        usernames = [username for username, _password, _role in logins]
        assert set(usernames) == set(User.objects.values_list("username", flat=True))
        assert User.objects.get(username=demo.ADMIN).is_superuser
        risk = User.objects.get(username=demo.RISK_ADMIN)
        assert risk.has_perm("matters.add_matter") and risk.has_perm("matters.change_matter")
        assert set(VendorUser.objects.values_list("user__username", flat=True)) <= set(usernames)
        for username, password, _role in logins[:1] + logins[-1:]:
            # django-axes (lockout) needs the request it counts failures against.
            request = RequestFactory().post("/accounts/login/")
            assert authenticate(request, username=username, password=password) is not None
            assert username in seeded

    def test_demo_users_pass_the_second_factor_with_the_printed_code(self, seeded: str
                                                                     ) -> None:
        """Everyone whose role requires MFA is enrolled with the demo secret, and the code
        `manage.py demo_totp` prints completes the real sign-in."""
        assert "manage.py demo_totp" in seeded
        required = [user for user in User.objects.all() if mfa_required_for(user)]
        assert required and all(is_mfa_enabled(user) for user in required)
        out = io.StringIO()
        call_command("demo_totp", stdout=out)
        code = out.getvalue().split()[0]
        client = HttpClient()
        response = client.post(reverse("login"), {"login": demo.LAPSED_ATTORNEY,
                                                  "password": demo.DEMO_PASSWORD})
        assert response["Location"] == reverse("mfa_authenticate")
        assert client.post(reverse("mfa_authenticate"), {"code": code}).status_code == 302
        assert client.session["_auth_user_id"] == str(
            User.objects.get(username=demo.LAPSED_ATTORNEY).pk)

    def test_seeded_signoffs_say_they_were_not_confirmed_by_a_person(self, seeded: str
                                                                   ) -> None:
        methods = set(SignOff.objects.values_list("confirmation_method", flat=True))
        assert methods == {ConfirmationMethod.DEMO}


    def test_audit_chain_verifies_after_seeding(self, seeded: str) -> None:
        signoffs = AuditEvent.objects.filter(action="signoff.recorded")
        assert signoffs.count() == SignOff.objects.count() > 0
        assert audit_verify_chain().ok


    def test_second_run_changes_nothing(self, seeded: str) -> None:
        before = row_counts()

        output = seed()

        assert row_counts() == before
        assert before["audit.AuditEvent"] > 0
        assert "already loaded" in output
        assert "admin" in output


def test_failure_midway_leaves_no_rows_and_no_files(
    monkeypatch: pytest.MonkeyPatch, _private_media: Path
) -> None:
    before, files_before = row_counts(), stored_files(_private_media)

    def fail(**_kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(builder, "task_deliver", fail)
    with pytest.raises(RuntimeError, match="disk full"):
        seed()

    assert row_counts() == before
    assert stored_files(_private_media) == files_before


def test_refuses_to_load_over_a_colliding_user() -> None:
    User.objects.create_user(username=demo.ADMIN, password="x" * 12)
    before = row_counts()

    with pytest.raises(CommandError, match="already has users named admin"):
        seed()

    assert row_counts() == before
