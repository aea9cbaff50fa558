"""Who performed a version's work: the vendor user a submission names, vetted by
`vendors.staff.performer_refusal` (docs/rules.md, "Vendor staff credentials")."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import User

from matters.models import Task
from vendors.models import PerformerRequirement, VendorUser
from vendors.selectors import vendor_of
from vendors.staff import performer_refusal


def submission_performer(
    *, actor: User, task: Task, performed_by: VendorUser | None, day: dt.date
) -> VendorUser | None:
    """The performer to record on a new version of `task` (locked, with its engagement), or
    None; raises `NotEligible` when the person may not be named.

    1. Named explicitly, or else the uploader when the uploader is a vendor user.
    2. Nobody named (a firm user uploads): allowed only when the task type needs no
       qualified performer.
    3. Whoever is named passes `performer_refusal` on `day`: a member of the task's vendor,
       active, trained, and qualified where the task type says so.
    """
    member = performed_by if performed_by is not None else vendor_of(actor)
    if (
        member is None
        and not PerformerRequirement.objects.filter(task_type=task.task_type)
        .exclude(qualifications=[])
        .exists()
    ):
        return None
    assert task.engagement is not None  # a task that takes versions has its engagement
    refusal = performer_refusal(
        member, vendor_id=task.engagement.vendor_id, task_type=task.task_type, day=day
    )
    if refusal is not None:
        raise refusal
    return member
