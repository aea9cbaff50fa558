"""The standard cast of CONVENTIONS.md, and the plumbing every test shares.

`cast` builds one matter with: staff on it, staff off it, a screened user, a supervising
attorney, a second supervising attorney, an attorney whose bar admission has lapsed (granted
supervise, so the lapse is the only thing stopping them), a user of vendor A (engaged and
vetted), a user of vendor B (vetted, engaged on another matter), and a firm administrator.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import override_settings

from matters.models import Engagement, Matter, MatterRole, Task
from tests import factories as f

pytest_plugins = [
    "tests.plugins.services",
    "tests.plugins.celery_worker",
    "tests.plugins.evidence_flush",
    "tests.plugins.clamd",
]


@pytest.fixture(autouse=True, scope="session")
def _private_media(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Uploaded work product goes to a throwaway directory, never the developer's var/."""
    root = tmp_path_factory.mktemp("private-media")
    storages = {
        "default": {
            "BACKEND": "lpo_tracker.storage.ScannedFileSystemStorage",
            "OPTIONS": {"location": str(root)},
        },
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(STORAGES=storages):
        yield root


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hasher() -> Iterator[None]:
    """Django's PBKDF2 is slow on purpose (about a second here per check); the sign-in and
    lockout tests check many passwords. Production settings keep the default hashers."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(autouse=True)
def _email_backend(settings: pytest.FixtureRequest) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def _own_cache_keys(settings: pytest.FixtureRequest) -> None:
    """Each test gets its own key prefix in the shared cache (Redis in CI): used TOTP codes
    and rate-limit counters of one test never reach another, or a later run."""
    settings.CACHES = {  # type: ignore[attr-defined]
        alias: {**config, "KEY_PREFIX": f"{config.get('KEY_PREFIX', '')}-{uuid.uuid4().hex}"}
        for alias, config in settings.CACHES.items()  # type: ignore[attr-defined]
    }


@pytest.fixture
def admin_user(db: None, django_user_model: type[User]) -> User:
    """pytest-django's superuser (behind `admin_client`), enrolled in MFA as the firm's
    policy requires of anyone with admin access."""
    user = django_user_model.objects.create_superuser(
        username="admin", email="admin@example.com", password=f.PASSWORD
    )
    f.enrol_mfa(user)
    return user


@dataclass
class Cast:
    admin: User
    staff_on: User
    staff_off: User
    screened: User
    attorney: User
    attorney2: User
    lapsed_attorney: User
    vendor_a_user: User
    vendor_b_user: User
    matter: Matter
    other_matter: Matter
    engagement_a: Engagement
    engagement_b: Engagement
    task: Task

    def advance(self, task: Task, to: str) -> Task:
        return f.advance(task, to, staff=self.staff_on, engagement=self.engagement_a,
                         vendor_actor=self.vendor_a_user, attorney_actor=self.attorney)

    def new_task(self, **fields: object) -> Task:
        return f.draft_task(actor=self.staff_on, matter=self.matter, **fields)

    def reload(self, user: User) -> User:
        """A fresh instance: guardian and Django cache permissions per user instance."""
        return type(user).objects.get(pk=user.pk)


def _forget_access_notices() -> None:
    """Building the cast tells each person of their access (added to a team, screened…);
    the reminder tests count their own records and e-mails, so the cast starts with an empty
    inbox. tests/matters/test_people.py checks the notices themselves."""
    from supervision.models import Notification, ReminderKind, ReminderRecord

    Notification.objects.filter(kind=ReminderKind.ACCESS_CHANGED).delete()
    ReminderRecord.objects.filter(kind=ReminderKind.ACCESS_CHANGED).delete()


def build_cast() -> Cast:
    from matters.services import matter_member_add, wall_add

    admin = f.firm_admin()
    attorney = f.attorney("attorney")
    attorney2 = f.attorney("attorney2", jurisdiction="New Jersey")
    lapsed = f.attorney("lapsed", lapsed=True)
    staff_on, staff_off, screened = (f.UserFactory.create(username=name)
                                     for name in ("staff_on", "staff_off", "screened"))
    matter = f.matter(actor=admin, responsible=attorney)
    other_matter = f.matter(actor=admin, responsible=attorney2, title="Initech 10-K review")
    for user, role in ((staff_on, MatterRole.TEAM), (screened, MatterRole.TEAM),
                       (attorney2, MatterRole.SUPERVISING_ATTORNEY),
                       (lapsed, MatterRole.SUPERVISING_ATTORNEY)):
        matter_member_add(actor=admin, matter=matter, user=user, role=role)
    matter_member_add(actor=admin, matter=other_matter, user=staff_off, role=MatterRole.TEAM)
    wall_add(actor=admin, matter=matter, user=screened,
             reason="Former counsel to the adverse party")
    vendor_a = f.vetted_vendor(name="Ashoka Legal Process")
    vendor_b = f.vetted_vendor(name="Bayanihan Review Partners", time_zone="Asia/Manila")
    # Staff before the engagements: a new staff member reopens a cleared conflict check.
    vendor_a_user = f.vendor_user(vendor_a, "vendor_a")
    vendor_b_user = f.vendor_user(vendor_b, "vendor_b")
    engagement_a = f.cleared_engagement(actor=staff_on, matter=matter, vendor=vendor_a)
    engagement_b = f.cleared_engagement(actor=staff_off, matter=other_matter, vendor=vendor_b)
    task = f.draft_task(actor=staff_on, matter=matter)
    # Each vendor user has acknowledged their own matter's terms (tests/supervision/
    # test_acknowledgements.py starts from a user who has not).
    f.acknowledge(vendor_a_user, matter)
    f.acknowledge(vendor_b_user, other_matter)
    _forget_access_notices()
    return Cast(
        admin=admin, staff_on=staff_on, staff_off=staff_off, screened=screened,
        attorney=attorney, attorney2=attorney2, lapsed_attorney=lapsed,
        vendor_a_user=vendor_a_user, vendor_b_user=vendor_b_user,
        matter=matter, other_matter=other_matter,
        engagement_a=engagement_a, engagement_b=engagement_b, task=task,
    )


@pytest.fixture
def cast(db: None) -> Cast:
    return build_cast()
