"""A new party, vendor staff declaration or vendor staff member after a conflict check was
cleared reopens the check (`conflict_checks_reopen_for_*`).

Receivers, not calls in each writer, because these rows are written from many places (the
admin and its inlines, the vendor pages, the party pages, imports): whatever saves the row,
the check reopens in the same transaction. The reopen functions are public and idempotent,
so a page that calls them itself does no harm.
"""

from __future__ import annotations

from typing import Any

from matters.models import Party
from matters.services import (
    conflict_checks_reopen_for_client,
    conflict_checks_reopen_for_matter,
    conflict_checks_reopen_for_vendor,
)
from vendors.models import ConflictDeclaration, VendorUser


def party_added(sender: type[Party], instance: Party, created: bool, **kwargs: Any) -> None:
    if not created:
        return
    reason = f"new party “{instance.name}” ({instance.get_role_display()})"
    if instance.matter is not None:
        conflict_checks_reopen_for_matter(matter=instance.matter, reason=reason)
    else:
        conflict_checks_reopen_for_client(client=instance.client, reason=reason)


def declaration_added(sender: type[ConflictDeclaration], instance: ConflictDeclaration,
                      created: bool, **kwargs: Any) -> None:
    if created:
        conflict_checks_reopen_for_vendor(
            vendor=instance.vendor,
            reason=f"new declaration of a link to “{instance.party_name}” "
                   f"({instance.relationship})")


def vendor_staff_added(sender: type[VendorUser], instance: VendorUser, created: bool,
                       **kwargs: Any) -> None:
    if created:
        conflict_checks_reopen_for_vendor(
            vendor=instance.vendor,
            reason=f"new staff member {instance.user.get_username()} at {instance.vendor}")
