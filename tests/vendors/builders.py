"""Small builders the vendor-management tests share (tests/vendors, matters, supervision)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, cast

from django.contrib.auth.models import Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile

from lpo_tracker.fields import TaskType
from tests import factories as f
from vendors.models import RateCard, RateCardLine, RateUnit, Vendor

VENDOR_PERMISSIONS = ("view_vendor", "add_vendor", "change_vendor")


def plain_user(username: str, **fields: Any) -> User:
    return cast(User, f.UserFactory.create(username=username, **fields))


def new_vendor(**fields: Any) -> Vendor:
    return cast(Vendor, f.VendorFactory.create(**fields))


def vendor_manager(username: str = "vendor_manager", *, perms: tuple[str, ...] = VENDOR_PERMISSIONS
                   ) -> User:
    """A firm user with the Django model permissions on vendors (fresh instance: Django caches
    a user's permissions)."""
    user = plain_user(username)
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="vendors", codename__in=perms)
    )
    return User.objects.get(pk=user.pk)


def evidence_pdf(text: str = "Mutual NDA, signed", name: str = "nda.pdf") -> SimpleUploadedFile:
    return f.pdf_upload(text, name=name)


def rate_card(vendor: Vendor, *lines: tuple[str, str, str, str], name: str = "Standard",
              currency: str = "USD") -> RateCard:
    """A rate card with (task type, unit, rate, in-house rate) lines."""
    card = RateCard.objects.create(vendor=vendor, name=name, currency=currency,
                                   effective_from=dt.date(2020, 1, 1))
    for task_type, unit, rate, in_house in lines:
        RateCardLine.objects.create(rate_card=card, task_type=task_type, unit=unit,
                                    rate=Decimal(rate), in_house_rate=Decimal(in_house))
    return card


STANDARD_LINES = (
    (TaskType.DOCUMENT_REVIEW, RateUnit.HOUR, "40.00", "250.00"),
    (TaskType.LEGAL_CODING, RateUnit.DOCUMENT, "1.50", "6.00"),
    (TaskType.CONTRACT_ABSTRACTION, RateUnit.FIXED, "300.00", "1200.00"),
)
