"""Reads about vendors for the firm's vendor managers, and the due-diligence status that
gates new work.

Vendor pages are for firm users holding the Django model permission `vendors.view_vendor`
(read) or `vendors.change_vendor` (write); superusers hold every permission. Anyone else who
is signed in gets 403, and vendor users get 404: the firm's view of its providers does not
exist for them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404

from lpo_tracker.audit.models import AuditEvent
from vendors.models import (
    SECURITY_CERTIFICATIONS,
    VENDOR_TRANSITIONS,
    ConflictDeclaration,
    DiligenceKind,
    DueDiligenceRecord,
    RateCard,
    Vendor,
    VendorStatus,
    VendorUser,
)

AnyUser = User | AnonymousUser
VIEW_VENDORS = "vendors.view_vendor"
ADD_VENDORS = "vendors.add_vendor"
CHANGE_VENDORS = "vendors.change_vendor"


# --- Who is a vendor user -------------------------------------------------------------------
# The one answer to "is this a vendor user, of which vendor", for every view, service,
# selector, context processor and e-mail. Both read the reverse one-to-one
# `user.vendor_membership`, which Django caches on the user instance, a miss included; a
# request's `request.user` lives for that request, so a request asks the database once at
# most however often the navigation, the views and the services ask.


def _membership(user: AnyUser) -> VendorUser | None:
    if not user.is_authenticated:
        return None
    try:
        membership: VendorUser = user.vendor_membership  # type: ignore[union-attr]
    except ObjectDoesNotExist:
        return None
    return membership


def is_vendor_user(user: AnyUser) -> bool:
    """True for anyone with a vendor membership, active or not: such an account never sees
    the firm's staff pages (404) and never acts as firm staff."""
    return _membership(user) is not None


def vendor_of(user: AnyUser) -> VendorUser | None:
    """The active vendor membership of an active user: what a vendor user may act through.
    None for firm staff, and for a deactivated account or membership, which reach nothing."""
    membership = _membership(user)
    if membership is None or not membership.is_active or not user.is_active:
        return None
    return membership


# --- Who manages vendors --------------------------------------------------------------------


def may_manage_vendors(user: AnyUser, perm: str = CHANGE_VENDORS) -> bool:
    """Firm users holding the Django model permission (superusers hold them all)."""
    return (
        user.is_authenticated
        and user.is_active
        and user.has_perm(perm)
        and not is_vendor_user(user)
    )

# A valid record expiring within this many days is "expiring": the same horizon as the first
# reminder the vendor manager gets (supervision.reminders, 30/7/1 days).
EXPIRING_WITHIN_DAYS = 30


class DiligenceStatus:
    """The computed status of one record on a day (not stored: it changes with the date)."""

    VALID = "valid"
    EXPIRING = "expiring"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    REVOKED = "revoked"
    NO_EVIDENCE = "no_evidence"  # counts for nothing: `DiligenceQuerySet.valid_on`

    LABELS = {
        VALID: "Valid",
        EXPIRING: "Expiring",
        EXPIRED: "Expired",
        NOT_YET_VALID: "Not yet valid",
        REVOKED: "Revoked",
        NO_EVIDENCE: "No evidence (does not count)",
    }
    PILLS = {VALID: "ok", EXPIRING: "warn", EXPIRED: "bad", NOT_YET_VALID: "warn",
             REVOKED: "bad", NO_EVIDENCE: "bad"}


def diligence_status(record: DueDiligenceRecord, day: dt.date) -> str:
    status = record.status_on(day)
    if status == DiligenceStatus.VALID and (
        record.expires_on - day
    ).days <= EXPIRING_WITHIN_DAYS:
        return DiligenceStatus.EXPIRING
    return status


class VendorDiligence:
    """A vendor's diligence as a whole, for the list and its filter."""

    CURRENT = "current"  # NDA and security certification valid, nothing required expiring
    EXPIRING = "expiring"  # still current, but a required record expires soon
    LAPSED = "lapsed"  # no valid NDA or no valid security certification: blocks new work

    CHOICES = [
        (CURRENT, "Current"),
        (EXPIRING, f"Expiring within {EXPIRING_WITHIN_DAYS} days"),
        (LAPSED, "Lapsed (blocks new work)"),
    ]
    PILLS = {CURRENT: "ok", EXPIRING: "warn", LAPSED: "bad"}


def _valid_exists(day: dt.date, kinds: tuple[str, ...]) -> Exists:
    """The vendor has a record of one of `kinds` valid on `day`."""
    return Exists(
        DueDiligenceRecord.objects.filter(vendor_id=OuterRef("pk"), kind__in=kinds).valid_on(day)
    )


def required_records_valid(day: dt.date) -> dict[str, Exists]:
    """The records new work requires, valid on `day`, as subqueries on a vendor: `nda_valid`
    (an NDA) and `certification_valid` (a SOC 2 Type II report or an ISO/IEC 27001
    certificate). With the approved status this is "vetted on this day": the assignment gate
    (`vendor_assignment_blockers`), the lapse flags and the vendor list all read it."""
    return {
        "nda_valid": _valid_exists(day, (DiligenceKind.NDA,)),
        "certification_valid": _valid_exists(day, tuple(SECURITY_CERTIFICATIONS)),
    }


def with_diligence_flags(vendors: QuerySet[Vendor], *, day: dt.date) -> QuerySet[Vendor]:
    """Annotate what gates new work, as subqueries of the same query:

    - `nda_valid`, `certification_valid`: `required_records_valid(day)`;
    - `nda_lasts`, `certification_lasts`: one of them is still valid after the expiring
      window (a renewal already recorded counts), so nothing required is about to lapse.
    """
    # Covered beyond the expiring window: still valid on the day after it.
    horizon = day + dt.timedelta(days=EXPIRING_WITHIN_DAYS + 1)
    lasting = required_records_valid(horizon)
    return vendors.annotate(
        **required_records_valid(day),
        nda_lasts=lasting["nda_valid"],
        certification_lasts=lasting["certification_valid"],
    )


def vendor_diligence_state(vendor: Vendor) -> str:
    """CURRENT, EXPIRING or LAPSED for a vendor annotated by `with_diligence_flags`."""
    if not (vendor.nda_valid and vendor.certification_valid):  # type: ignore[attr-defined]
        return VendorDiligence.LAPSED
    if not (vendor.nda_lasts and vendor.certification_lasts):  # type: ignore[attr-defined]
        return VendorDiligence.EXPIRING
    return VendorDiligence.CURRENT


def vendors_lapsed_on(day: dt.date) -> QuerySet[Vendor]:
    """Vendors whose required due diligence (an NDA, and a SOC 2 Type II report or ISO/IEC
    27001 certificate) is not valid on `day`: they cannot receive new work, and their open
    tasks deserve a flag. Usable as a subquery: `tasks.filter(engagement__vendor__in=…)`."""
    valid = required_records_valid(day)
    return Vendor.objects.exclude(Q(valid["nda_valid"]) & Q(valid["certification_valid"]))


def filter_by_diligence(vendors: QuerySet[Vendor], state: str, *, day: dt.date
                        ) -> QuerySet[Vendor]:
    """Narrow a queryset annotated by `with_diligence_flags` to one VendorDiligence state."""
    if state == VendorDiligence.LAPSED:
        return vendors.filter(Q(nda_valid=False) | Q(certification_valid=False))
    current = vendors.filter(Q(nda_valid=True) & Q(certification_valid=True))
    lasting = Q(nda_lasts=True, certification_lasts=True)
    if state == VendorDiligence.EXPIRING:
        return current.exclude(lasting)
    if state == VendorDiligence.CURRENT:
        return current.filter(lasting)
    return vendors


# --- Access ---------------------------------------------------------------------------------


def renewed_later() -> Exists:
    """On `DueDiligenceRecord`: a newer, unrevoked record of the same vendor and kind runs
    past this one, so its expiry needs no one's attention."""
    return Exists(DueDiligenceRecord.objects.filter(
        vendor_id=OuterRef("vendor_id"), kind=OuterRef("kind"),
        expires_on__gt=OuterRef("expires_on"), revoked_at__isnull=True,
    ))


def diligence_expiries_for(user: AnyUser, *, start: dt.date) -> QuerySet[DueDiligenceRecord]:
    """The expiry dates a vendor manager looks after (the audience of the expiry reminders:
    the vendor's manager, active), from `start` on, unless renewed; only while they may
    still see vendor records."""
    if not may_manage_vendors(user, VIEW_VENDORS) or user.pk is None:
        return DueDiligenceRecord.objects.none()
    return (
        DueDiligenceRecord.objects.expiring_between(start, dt.date.max)
        .filter(vendor__manager_id=user.pk)
        .exclude(renewed_later())
        .select_related("vendor")
        .order_by("expires_on", "pk")
    )


def require_vendor_manager(user: AnyUser, *, write: bool = False) -> None:
    """404 for vendor users, 403 for firm users without the model permission."""
    if is_vendor_user(user):
        raise Http404("No such page.")
    if not may_manage_vendors(user, CHANGE_VENDORS if write else VIEW_VENDORS):
        raise PermissionDenied(
            "Vendor records are for the firm's vendor managers."
            if not write else "You may see vendors but not change them."
        )


def get_vendor_for(user: AnyUser, pk: int, *, write: bool = False) -> Vendor:
    require_vendor_manager(user, write=write)
    vendor = Vendor.objects.select_related("manager").filter(pk=pk).first()
    if vendor is None:
        raise Http404("No such vendor.")
    return vendor


def get_diligence_for(user: AnyUser, pk: int, *, write: bool = False) -> DueDiligenceRecord:
    require_vendor_manager(user, write=write)
    record = DueDiligenceRecord.objects.select_related("vendor").filter(pk=pk).first()
    if record is None:
        raise Http404("No such record.")
    return record


def get_rate_card_for(user: AnyUser, pk: int, *, write: bool = False) -> RateCard:
    require_vendor_manager(user, write=write)
    card = RateCard.objects.select_related("vendor").filter(pk=pk).first()
    if card is None:
        raise Http404("No such rate card.")
    return card


# --- The list -------------------------------------------------------------------------------


@dataclass(frozen=True)
class VendorFilters:
    q: str = ""
    status: str = ""
    country: str = ""
    service_line: str = ""
    diligence: str = ""


def vendors_matching(filters: VendorFilters, *, day: dt.date) -> QuerySet[Vendor]:
    """Vendors matching the filters, each annotated with its diligence flags and its manager
    (one query for a page, whatever its length).

    Countries and service lines are JSON lists; they are matched on their JSON text with the
    quotes included (`"IN"`), which works on SQLite and PostgreSQL alike and never matches a
    code inside a longer one.
    """
    vendors = with_diligence_flags(Vendor.objects.select_related("manager"), day=day)
    if filters.q:
        vendors = vendors.filter(
            Q(name__icontains=filters.q) | Q(legal_name__icontains=filters.q)
            | Q(primary_contact_name__icontains=filters.q)
        )
    if filters.status:
        vendors = vendors.filter(status=filters.status)
    if filters.country:
        code = filters.country.upper()
        vendors = vendors.filter(
            Q(headquarters_country=code) | Q(countries__icontains=f'"{code}"')
        )
    if filters.service_line:
        vendors = vendors.filter(service_lines__icontains=f'"{filters.service_line}"')
    if filters.diligence:
        vendors = filter_by_diligence(vendors, filters.diligence, day=day)
    return vendors.order_by("name")


def vendor_countries() -> list[str]:
    """Every country a vendor is based in or handles data in, for the filter (one query)."""
    codes: set[str] = set()
    for headquarters, countries in Vendor.objects.values_list("headquarters_country",
                                                              "countries"):
        codes.add(headquarters)
        codes.update(code for code in countries or [] if isinstance(code, str))
    return sorted(code.upper() for code in codes if code)


# --- One vendor -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DiligenceRow:
    record: DueDiligenceRecord
    status: str

    @property
    def label(self) -> str:
        return DiligenceStatus.LABELS[self.status]

    @property
    def pill(self) -> str:
        return DiligenceStatus.PILLS[self.status]


@dataclass(frozen=True)
class VendorPage:
    vendor: Vendor
    diligence: list[DiligenceRow]
    members: list[VendorUser]
    declarations: list[ConflictDeclaration]
    rate_cards: list[RateCard]
    history: list[AuditEvent]
    # The vendor's diligence as a whole (VendorDiligence: the list's own rule) and, when it
    # lapsed, what is missing: shown in the page's header, not only in the list.
    diligence_state: str = VendorDiligence.CURRENT
    diligence_gaps: tuple[str, ...] = ()


# What a lapsed vendor lacks, by the flag of `required_records_valid`.
DILIGENCE_GAPS = (
    ("nda_valid", "no valid non-disclosure agreement"),
    ("certification_valid", "no valid SOC 2 Type II report or ISO/IEC 27001 certificate"),
)


def vendor_page(vendor: Vendor, *, day: dt.date) -> VendorPage:
    """Everything the vendor's page shows, in a fixed number of queries: its diligence flags,
    records, members, declarations, rate cards with their lines, and the status history from
    the audit trail."""
    members = VendorUser.objects.filter(vendor=vendor).select_related("user")
    records = DueDiligenceRecord.objects.filter(vendor=vendor).select_related("recorded_by")
    declarations = ConflictDeclaration.objects.filter(vendor=vendor).select_related(
        "declared_by__user"
    )
    cards = RateCard.objects.filter(vendor=vendor).prefetch_related("lines")
    history = AuditEvent.objects.filter(
        object_type=Vendor._meta.label_lower, object_id=str(vendor.pk)
    ).select_related("actor").order_by("-id")
    flagged = with_diligence_flags(Vendor.objects.filter(pk=vendor.pk), day=day).get()
    gaps = tuple(label for flag, label in DILIGENCE_GAPS if not getattr(flagged, flag))
    return VendorPage(
        vendor=vendor,
        diligence_state=vendor_diligence_state(flagged),
        diligence_gaps=gaps,
        diligence=[DiligenceRow(record, diligence_status(record, day))
                   for record in records.order_by("kind", "-expires_on", "-pk")],
        members=list(members.order_by("user__last_name", "user__username")),
        declarations=list(declarations.order_by("party_name")),
        rate_cards=list(cards.order_by("-effective_from", "name")),
        history=list(history[:50]),
    )


def next_statuses(vendor: Vendor) -> list[tuple[str, str]]:
    """The lifecycle moves open to the vendor now, in lifecycle order."""
    return [(value, str(label)) for value, label in VendorStatus.choices
            if (vendor.status, value) in VENDOR_TRANSITIONS]
