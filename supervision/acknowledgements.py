"""Before a vendor user first reaches a matter's pages, they acknowledge its instructions and
the firm's confidentiality terms (Model Rules 1.6 and 5.3; ABA Formal Opinion 08-451).

What is acknowledged is a text: the matter's number, the engagement's scope (the vendor's
instructions on the matter) and the confidentiality terms of `TERMS_VERSION`. Its SHA-256 is
kept with the acknowledgement, so a changed scope or a new version of the terms asks for a
new acknowledgement, and anyone can tell exactly what was accepted.

The gate (`acknowledgement_gate`) is asked by every page of a matter a vendor user can
reach: the portal's task pages and the task pages vendors share with the firm, the version
downloads, and the upload check before the body is read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import urlencode

from lpo_tracker.audit.services import audit_record
from lpo_tracker.errors import NotEligible
from matters.models import Engagement, Matter, Task
from matters.selectors import tasks_visible_to
from supervision.models import MatterAcknowledgement
from vendors.models import VendorUser
from vendors.selectors import AnyUser, vendor_of

TERMS_VERSION = "2026-1"
CONFIDENTIALITY_TERMS = """\
1. Everything you receive or produce on this matter is the firm's client's confidential
   information. Use it only to perform the tasks the firm assigns to you on this matter.
2. Keep it on the systems your organisation declared to the firm; do not copy it to personal
   devices, personal e-mail or any tool that sends it to a third party (including public
   AI services).
3. Do not disclose it to anyone, inside or outside your organisation, who is not assigned to
   this matter; do not work on it if you have a relationship with a party you have not
   declared.
4. Follow the instructions below and the firm's instructions on each task; the firm's
   supervising attorneys review your work before anyone relies on it.
5. Tell the firm at once of any loss, disclosure or suspected breach."""


def acknowledgement_text(matter: Matter, vendor_id: int) -> str:
    """The exact text a member of vendor `vendor_id` acknowledges for `matter` (one query)."""
    scope = (
        Engagement.objects.filter(matter=matter, vendor_id=vendor_id)
        .values_list("scope", flat=True)
        .first()
        or ""
    )
    return _text(matter.number, scope)


def _text(matter_number: str, scope: str) -> str:
    return (
        f"Matter no. {matter_number}\n\nInstructions (scope of the engagement):\n"
        f"{scope.strip() or '(none given)'}\n\n"
        f"Confidentiality terms, version {TERMS_VERSION}:\n{CONFIDENTIALITY_TERMS}\n"
    )


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def has_acknowledged(member: VendorUser, matter: Matter) -> bool:
    """The member acknowledged the matter's current text (two queries)."""
    digest = text_sha256(acknowledgement_text(matter, member.vendor_id))
    return MatterAcknowledgement.objects.filter(
        member=member, matter=matter, text_sha256=digest
    ).exists()


def matters_awaiting_acknowledgement(member: VendorUser, matters: Iterable[Matter]) -> set[int]:
    """The ids of `matters` whose current text `member` has not acknowledged, for a list of
    tasks: two queries whatever the number of matters (their scopes, the acknowledgements)."""
    by_id = {matter.pk: matter for matter in matters}
    scopes = dict(Engagement.objects.filter(matter_id__in=by_id, vendor_id=member.vendor_id)
                  .values_list("matter_id", "scope"))
    wanted = {
        matter_id: text_sha256(_text(matter.number, scopes.get(matter_id, "")))
        for matter_id, matter in by_id.items()
    }
    done = set(MatterAcknowledgement.objects.filter(
        member=member, matter_id__in=by_id, text_sha256__in=set(wanted.values())
    ).values_list("matter_id", "text_sha256"))
    return {matter_id for matter_id, digest in wanted.items() if (matter_id, digest) not in done}


def acknowledgement_required(user: AnyUser, matter: Matter) -> bool:
    """A vendor user who has not acknowledged the matter's current text. Firm users never."""
    member = vendor_of(user)
    return member is not None and not has_acknowledged(member, matter)


def acknowledge_url(task: Task) -> str:
    return reverse("portal:acknowledge", args=[task.pk])


def acknowledgement_gate(request: HttpRequest, task: Task) -> HttpResponse | None:
    """None when the user may see the task's matter pages. Otherwise, for a GET, the way to
    the acknowledgement page (coming back here afterwards); for anything else, 403."""
    if not acknowledgement_required(request.user, task.matter):
        return None
    if request.method in ("GET", "HEAD"):
        return HttpResponseRedirect(
            f"{acknowledge_url(task)}?{urlencode({'next': request.get_full_path()})}"
        )
    raise PermissionDenied("Acknowledge the matter's instructions and confidentiality terms first.")


def matter_acknowledge(*, actor: User, task: Task, text_sha256_seen: str) -> MatterAcknowledgement:
    """Record that `actor` acknowledged the text of `task`'s matter they were shown.

    1. A vendor user who can see the task (`tasks_visible_to`).
    2. The text they saw is still the current one (`text_sha256_seen`): a scope changed in
       between is shown again rather than acknowledged unseen.
    3. Recorded once per text, audited on the matter; a repeat returns the first record.
    """
    member = vendor_of(actor)
    if member is None or not tasks_visible_to(actor).filter(pk=task.pk).exists():
        raise NotEligible(
            "Only the vendor's people on this matter acknowledge its terms.", code="forbidden"
        )
    matter = task.matter
    digest = text_sha256(acknowledgement_text(matter, member.vendor_id))
    if digest != text_sha256_seen:
        raise NotEligible(
            "The instructions changed while you were reading them; read them again.",
            code="terms_changed",
        )
    existing = MatterAcknowledgement.objects.filter(
        member=member, matter=matter, text_sha256=digest
    ).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            acknowledgement = MatterAcknowledgement.objects.create(
                member=member, matter=matter, terms_version=TERMS_VERSION, text_sha256=digest
            )
            audit_record(
                actor=actor,
                action="matter.acknowledged",
                obj=acknowledgement,
                matter_id=matter.pk,
                after={
                    "member": member.pk,
                    "matter": matter.number,
                    "terms_version": TERMS_VERSION,
                    "text_sha256": digest,
                },
            )
    except IntegrityError:  # the same person, twice at once: the first one counts
        return MatterAcknowledgement.objects.get(member=member, matter=matter, text_sha256=digest)
    return acknowledgement
