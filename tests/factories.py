"""factory_boy factories and small builders for a believable firm.

Rows that carry rules (grants, walls, assignments, submissions, sign-offs) are built through
the services, so tests exercise the same paths as the product.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import io
from decimal import Decimal
from typing import Any

import factory
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from lpo_tracker.clock import firm_today
from matters.models import (
    Client,
    ConflictCheckStatus,
    Engagement,
    Matter,
    PracticeArea,
    Task,
    TaskStatus,
)
from supervision.models import AttorneyProfile, BarAdmission, BarStatus, Submission
from vendors.models import DiligenceKind, DueDiligenceRecord, Vendor, VendorStatus, VendorUser

PASSWORD = "correct-horse-battery-staple"


@functools.cache
def _hashed_password() -> str:
    """Hashed once, on first use (under the tests' fast hasher, see conftest.py)."""
    return make_password(PASSWORD)
# The authenticator-app secret of every test user enrolled in MFA (base32).
TOTP_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"


def totp_code(secret: str = TOTP_SECRET, *, at: float | None = None) -> str:
    """The code an authenticator app shows for `secret` now (or at `at`)."""
    import time

    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    return format_hotp_value(hotp_value(secret, int((at or time.time()) // 30)))


def enrol_mfa(user: User) -> list[str]:
    """Enrol `user` in MFA (authenticator app + recovery codes); the recovery codes."""
    from lpo_tracker.signin.services import mfa_enrol

    return mfa_enrol(user=user, totp_secret=TOTP_SECRET)


def fresh_confirmation(method: str = "totp") -> Any:
    """A step-up confirmation made just now, as the review page collects it."""
    from lpo_tracker.fields import ConfirmationMethod
    from lpo_tracker.signin.stepup import Confirmation

    return Confirmation(method=ConfirmationMethod(method), confirmed_at=timezone.now())


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.LazyFunction(_hashed_password)


class ClientFactory(factory.django.DjangoModelFactory[Client]):
    class Meta:
        model = Client

    name = factory.Sequence(lambda n: f"Client {n} Holdings Inc.")
    code = factory.Sequence(lambda n: f"CL{n:04d}")


class VendorFactory(factory.django.DjangoModelFactory[Vendor]):
    class Meta:
        model = Vendor

    name = factory.Sequence(lambda n: f"Vendor {n} Legal Services")
    status = VendorStatus.APPROVED
    headquarters_country = "IN"
    countries = ["IN"]
    time_zone = "Asia/Kolkata"


class DiligenceFactory(factory.django.DjangoModelFactory[DueDiligenceRecord]):
    class Meta:
        model = DueDiligenceRecord

    vendor = factory.SubFactory(VendorFactory)
    kind = DiligenceKind.NDA
    # A record counts only with its evidence (DiligenceQuerySet.valid_on).
    evidence = factory.django.FileField(filename="evidence.pdf", data=b"%PDF-1.4\n%%EOF\n")
    evidence_name = "evidence.pdf"
    evidence_sha256 = factory.Sequence(
        lambda n: hashlib.sha256(f"diligence evidence {n}".encode()).hexdigest())
    valid_from = factory.LazyFunction(lambda: firm_today() - dt.timedelta(days=200))
    expires_on = factory.LazyFunction(lambda: firm_today() + dt.timedelta(days=200))


def vetted_vendor(**kwargs: Any) -> Vendor:
    """An approved vendor with a valid NDA and SOC 2 Type II report."""
    vendor = VendorFactory.create(**kwargs)
    DiligenceFactory.create(vendor=vendor, kind=DiligenceKind.NDA)
    DiligenceFactory.create(vendor=vendor, kind=DiligenceKind.SOC2_TYPE2)
    return vendor


def vendor_user(vendor: Vendor, username: str) -> User:
    """A user of `vendor`, enrolled in MFA as the firm's policy requires of vendor staff."""
    user = UserFactory.create(username=username)
    VendorUser.objects.create(user=user, vendor=vendor)
    enrol_mfa(user)
    return user


def attorney(username: str, *, lapsed: bool = False, jurisdiction: str = "New York"
             ) -> User:
    user = UserFactory.create(username=username)
    profile = AttorneyProfile.objects.create(user=user, title="Partner")
    today = firm_today()
    BarAdmission.objects.create(
        attorney=profile,
        jurisdiction=jurisdiction,
        number=f"{abs(hash(username)) % 10**7:07d}",
        status=BarStatus.ACTIVE,
        admitted_on=today - dt.timedelta(days=3650),
        expires_on=today - dt.timedelta(days=1) if lapsed else today + dt.timedelta(days=365),
    )
    enrol_mfa(user)  # attorneys must use a second factor (MFA_REQUIRED_FOR)
    return user


# The demo's risk administrator holds the same (supervision/demo/data.py).
FIRM_ADMIN_PERMISSIONS = ["add_matter", "change_matter", "add_client", "change_client",
                          "view_client"]


def firm_admin(username: str = "riskadmin") -> User:
    """A user with the model-level permissions to run intake (open matters, keep clients and
    their parties) and manage grants and walls."""
    from django.contrib.auth.models import Permission

    user = UserFactory.create(username=username)
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="matters", codename__in=FIRM_ADMIN_PERMISSIONS
        )
    )
    return User.objects.get(pk=user.pk)  # drop the permission cache


def superuser(username: str) -> User:
    """A superuser enrolled in MFA, as the firm requires of everyone in the admin."""
    user = User.objects.create_superuser(username, f"{username}@example.com", PASSWORD)
    enrol_mfa(user)
    return user


def matter(*, actor: User, responsible: User, client: Client | None = None,
           **fields: Any) -> Matter:
    from matters.services import matter_create

    fields.setdefault("client_consent_required", True)
    return matter_create(
        actor=actor,
        client=client or ClientFactory.create(),
        title=fields.pop("title", "Acme v. Globex – document review"),
        practice_area=fields.pop("practice_area", PracticeArea.LITIGATION),
        responsible_attorney=responsible,
        **fields,
    )


def cleared_engagement(*, actor: User, matter: Matter, vendor: Vendor
                       ) -> Engagement:
    from matters.services import (
        engagement_create,
        engagement_record_conflict_check,
        engagement_record_consent,
    )

    engagement = engagement_create(actor=actor, matter=matter, vendor=vendor,
                                   scope="First-level review", budget_cap=Decimal("50000"))
    engagement = engagement_record_conflict_check(
        actor=actor, engagement=engagement, result=ConflictCheckStatus.CLEARED
    )
    return engagement_record_consent(
        actor=actor, engagement=engagement, given_by="General Counsel",
        given_on=firm_today(), scope="Document review by the named provider",
        evidence=pdf_upload("The client consents to outsourcing.", name="consent.pdf"),
    )


def draft_task(*, actor: User, matter: Matter, **fields: Any) -> Task:
    from matters.services import task_create

    fields.setdefault("sla_due_at", timezone.now() + dt.timedelta(days=5))
    return task_create(
        actor=actor,
        matter=matter,
        title=fields.pop("title", "Review custodian e-mails"),
        task_type=fields.pop("task_type", "document_review"),
        **fields,
    )


def pdf_upload(text: str = "privileged work product", name: str = "review.pdf"
               ) -> SimpleUploadedFile:
    body = (f"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% {text}\n%%EOF\n").encode()
    return SimpleUploadedFile(name, body, content_type="application/pdf")


def docx_upload(name: str = "memo.docx") -> SimpleUploadedFile:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return SimpleUploadedFile(name, buffer.getvalue())


def _latest(task: Task) -> Submission:
    from supervision.services import latest_submission

    submission = latest_submission(task)
    assert submission is not None, f"{task} has no submission yet"
    return submission


def opened(submission: Submission, user: User) -> Submission:
    """The version, once `user` has opened it (a sign-off needs the signer's opening)."""
    from supervision.services import submission_open

    submission_open(actor=user, submission=submission).close()
    return submission


def advance(task: Task, to: str, *, staff: User, engagement: Engagement,
            vendor_actor: User, attorney_actor: User) -> Task:
    """Walk a task through the services up to state `to`."""
    from matters.services import task_assign, task_start
    from supervision.services import (
        review_request_changes,
        review_start,
        signoff_record,
        submission_create,
        task_deliver,
    )

    order = [TaskStatus.DRAFT, TaskStatus.ASSIGNED, TaskStatus.IN_PROGRESS,
             TaskStatus.SUBMITTED, TaskStatus.IN_REVIEW, TaskStatus.APPROVED,
             TaskStatus.DELIVERED]
    if to == TaskStatus.CHANGES_REQUESTED:
        task = advance(task, TaskStatus.IN_REVIEW, staff=staff, engagement=engagement,
                       vendor_actor=vendor_actor, attorney_actor=attorney_actor)
        review_request_changes(actor=attorney_actor, task=task,
                               submission=_latest(task),
                               comments="Tag privilege on items 4-9.")
        return Task.objects.get(pk=task.pk)
    target = order.index(TaskStatus(to))
    steps = {
        TaskStatus.ASSIGNED: lambda t: task_assign(actor=staff, task=t, engagement=engagement),
        TaskStatus.IN_PROGRESS: lambda t: task_start(actor=vendor_actor, task=t),
        TaskStatus.SUBMITTED: lambda t: submission_create(actor=vendor_actor, task=t,
                                                          upload=pdf_upload()),
        TaskStatus.IN_REVIEW: lambda t: review_start(actor=attorney_actor, task=t),
        TaskStatus.APPROVED: lambda t: signoff_record(
            actor=attorney_actor, task=t, submission=opened(_latest(t), attorney_actor),
            attestation_accepted=True, confirmation=fresh_confirmation()),
        TaskStatus.DELIVERED: lambda t: task_deliver(actor=staff, task=t),
    }
    for state in order[order.index(TaskStatus(task.status)) + 1: target + 1]:
        steps[state](Task.objects.get(pk=task.pk))
    return Task.objects.get(pk=task.pk)


def permissions(*codenames: str) -> list[Any]:
    """The matters app's model permissions of these codenames."""
    from django.contrib.auth.models import Permission

    return list(Permission.objects.filter(content_type__app_label="matters",
                                          codename__in=codenames))


def redate_diligence(records: Any, *, valid_from: dt.date | None = None,
                     expires_on: dt.date | None = None) -> None:
    """Test set-up: put each record's validity on other dates. A real record's dates are
    fixed once recorded (a renewal is a new record), so each is replaced by a new one."""
    for record in list(records):
        DueDiligenceRecord.objects.filter(pk=record.pk).delete()
        DiligenceFactory.create(vendor=record.vendor, kind=record.kind,
                                valid_from=valid_from or record.valid_from,
                                expires_on=expires_on or record.expires_on)
