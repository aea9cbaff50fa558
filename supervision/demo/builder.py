"""Turns the demo data into rows, through the services wherever a rule applies."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, Permission, User
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify

from lpo_tracker.audit.services import audit_record
from lpo_tracker.clock import firm_today
from lpo_tracker.core.context import RequestContext, request_context
from lpo_tracker.errors import RuleViolation
from lpo_tracker.fields import ConfirmationMethod
from lpo_tracker.signin.policy import mfa_required_for
from lpo_tracker.signin.services import mfa_enrol
from lpo_tracker.signin.stepup import Confirmation
from matters.conflicts import conflict_search
from matters.deadlines import task_change_due_date
from matters.models import (
    Client,
    ConflictCheckStatus,
    DueDateKind,
    Engagement,
    Matter,
    MatterRole,
    Party,
    Task,
)
from matters.services import (
    engagement_create,
    engagement_record_conflict_check,
    engagement_record_consent,
    matter_create,
    matter_member_add,
    task_assign,
    task_cancel,
    task_create,
    task_start,
    wall_add,
)
from supervision.demo import qc as demo_qc
from supervision.demo import staff as demo_staff
from supervision.demo.data import (
    ADMIN,
    ATTORNEYS,
    CLIENTS,
    DEMO_PASSWORD,
    DEMO_TOTP_SECRET,
    ENGAGEMENTS,
    ESCALATION_PARTNER,
    FIRM_DOMAIN,
    LAPSED_ATTORNEY,
    MARKER_CLIENT_CODE,
    MATTERS,
    PEOPLE,
    POLICIES,
    RISK_ADMIN,
    RISK_MATTER_PERMISSIONS,
    RISK_VENDOR_PERMISSIONS,
    TASKS,
    VENDORS,
    MatterSpec,
    S,
    T,
    TaskSpec,
    VendorSpec,
)
from supervision.demo.files import pdf_bytes, work_product
from supervision.models import (
    AttorneyProfile,
    BarAdmission,
    BarStatus,
    DeliveryPreference,
    FirmHoliday,
    NotificationSettings,
    OpenedVia,
    SlaPolicy,
    Submission,
)
from supervision.qc.rules import defaults_ensure as qc_defaults_ensure
from supervision.services import (
    latest_submission,
    review_request_changes,
    review_start,
    signoff_record,
    submission_create,
    submission_open,
    task_deliver,
)
from supervision.sla import compute_deadline, policy_for
from vendors.models import (
    ConflictDeclaration,
    DeliveryCentre,
    DiligenceKind,
    DueDiligenceRecord,
    RateCard,
    RateCardLine,
    Vendor,
    VendorStatus,
    VendorUser,
    VendorUserRole,
)
from vendors.services import vendor_set_status

# The group whose members hold `matters.clear_conflicts` (docs/rules.md, section 2).
CONFLICTS_COMMITTEE = "Conflicts committee"


class DemoConflict(RuleViolation):
    """The database holds rows the demo would collide with (e.g. a user named `admin`)."""


@dataclass
class DemoSummary:
    counts: dict[str, int] = field(default_factory=dict)
    task_states: Counter[str] = field(default_factory=Counter)


def demo_present() -> bool:
    return Client.objects.filter(code=MARKER_CLIENT_CODE).exists()


def _snapshot(obj: models.Model) -> dict[str, Any]:
    """What the audit trail keeps of a seeded row: its plain fields, files by name."""
    values: dict[str, Any] = {}
    for model_field in obj._meta.concrete_fields:
        if model_field.name in ("password", "id"):
            continue
        value = model_field.value_from_object(obj)
        values[model_field.attname] = getattr(value, "name", value) if isinstance(
            model_field, models.FileField) else value
    return values


class DemoBuilder:
    """Builds the demo firm step by step; `build()` runs it all in one transaction."""

    def __init__(self) -> None:
        self.now = timezone.now()
        self.today = firm_today()  # the firm's day, as every rule reads it
        self.users: dict[str, User] = {}
        self.vendors: dict[str, Vendor] = {}
        self.rate_cards: dict[str, RateCard] = {}
        self.matters: dict[str, Matter] = {}
        self.matter_specs: dict[str, MatterSpec] = {spec.key: spec for spec in MATTERS}
        self.engagements: dict[tuple[str, str], Engagement] = {}
        self.clients: dict[str, Client] = {}
        self.stored_files: list[str] = []
        self._reviewer_turn: Counter[str] = Counter()

    # 1. Entry point ---------------------------------------------------------------------

    def build(self) -> DemoSummary:
        """1. Refuse to run over colliding rows. 2. Build everything in one transaction, with
        the audit trail marking the source as this command. 3. On failure, remove the files
        already written (the rows roll back on their own)."""
        taken = sorted(
            User.objects.filter(username__in=[p.username for p in PEOPLE])
            .values_list("username", flat=True)
        )
        if taken:
            raise DemoConflict(
                "The database already has users named " + ", ".join(taken) + "; seed_demo "
                "loads only into a database without them (use a fresh database)."
            )
        context = RequestContext(request_id=f"seed-demo-{self.now:%Y%m%dT%H%M%S}",
                                 source="seed_demo")
        try:
            with request_context(context), transaction.atomic():
                qc_defaults_ensure()  # the QC settings the demo's lots use (a flushed database)
                self._people()
                self._policies()
                self._clients()
                self._vendors()
                demo_staff.credentials(self)
                self._matters()
                self._engagements()
                for spec in TASKS:
                    self._task(spec)
                demo_staff.acknowledgements(self)
                demo_staff.rating(self)
                self._qc_history()
                self._second_factors()
        except BaseException:
            for name in self.stored_files:
                default_storage.delete(name)
            raise
        return self._summary()

    def _summary(self) -> DemoSummary:
        summary = DemoSummary()
        summary.counts = {
            "users": len(self.users), "clients": len(self.clients),
            "vendors": len(self.vendors), "matters": len(self.matters),
            "engagements": len(self.engagements), "tasks": len(TASKS),
        }
        summary.task_states = Counter(
            Task.objects.filter(matter__in=self.matters.values())
            .values_list("status", flat=True)
        )
        return summary

    def _second_factors(self) -> None:
        """Everyone whose role requires MFA gets the demo's shared authenticator secret
        (DEMO_TOTP_SECRET; `manage.py demo_totp` prints its current code)."""
        for user in self.users.values():
            if mfa_required_for(user):
                mfa_enrol(user=user, totp_secret=DEMO_TOTP_SECRET)

    def _created(self, actor: User, obj: models.Model, matter_id: int | None = None) -> None:
        audit_record(actor=actor, action="demo.created", obj=obj, matter_id=matter_id,
                     after=_snapshot(obj))

    # 2. People --------------------------------------------------------------------------

    def _people(self) -> None:
        """Users (one password hash for all: hashing is slow on purpose), the firm
        administrators' permissions, attorney profiles and bar admissions."""
        password = make_password(DEMO_PASSWORD)
        for person in PEOPLE:
            user = User(
                username=person.username, first_name=person.first_name,
                last_name=person.last_name, password=password,
                email=person.email or f"{person.username}@{FIRM_DOMAIN}",
                is_staff=person.username in (ADMIN, RISK_ADMIN),
                is_superuser=person.username == ADMIN,
            )
            user.save()
            self.users[person.username] = user
        risk = self.users[RISK_ADMIN]
        risk.user_permissions.add(*Permission.objects.filter(
            Q(content_type__app_label="matters", codename__in=RISK_MATTER_PERMISSIONS)
            | Q(content_type__app_label="vendors", codename__in=RISK_VENDOR_PERMISSIONS)
        ))
        # A fresh instance: Django caches a user's permissions on the instance.
        self.users[RISK_ADMIN] = risk = User.objects.get(pk=risk.pk)
        for user in self.users.values():
            audit_record(actor=self.users[ADMIN], action="demo.created", obj=user,
                         after={"username": user.username, "is_staff": user.is_staff,
                                "is_superuser": user.is_superuser})
        for spec in ATTORNEYS:
            profile = AttorneyProfile.objects.create(
                user=self.users[spec.username], title=spec.title, is_partner=spec.is_partner,
                office=spec.office, phone=spec.phone,
            )
            self._created(risk, profile)
            for admission in spec.admissions:
                expires = (None if admission.expires_in_days is None
                           else self.today + dt.timedelta(days=admission.expires_in_days))
                bar = BarAdmission.objects.create(
                    attorney=profile, jurisdiction=admission.jurisdiction,
                    number=admission.number, status=BarStatus.ACTIVE,
                    admitted_on=self.today - dt.timedelta(days=365 * admission.admitted_years_ago),
                    expires_on=expires, verified_by=risk, verified_at=self.now,
                )
                self._created(risk, bar)
        for username, zone in (("eleanor.hale", "America/New_York"),
                               ("james.whitmore", "Europe/London")):
            NotificationSettings.objects.update_or_create(
                user=self.users[username],
                defaults={"email_delivery": DeliveryPreference.DAILY_DIGEST, "digest_hour": 7,
                          "time_zone": zone},
            )

    def _policies(self) -> None:
        """SLA policies, with the firm's escalation partner at the top of every ladder.

        1. Active policies without a partner (the shipped defaults) get one, as the firm's
           administrator would set it in the admin.
        2. The demo's own policies are added for scopes nobody has configured yet.
        """
        risk = self.users[RISK_ADMIN]
        partner = self.users[ESCALATION_PARTNER]
        for policy in SlaPolicy.objects.filter(is_active=True, escalation_partner__isnull=True):
            policy.escalation_partner = partner
            policy.save(update_fields=["escalation_partner"])
            audit_record(actor=risk, action="demo.changed", obj=policy,
                         before={"escalation_partner_id": None},
                         after={"escalation_partner_id": partner.pk})
        for spec in POLICIES:
            if SlaPolicy.objects.filter(
                Q(name=spec.name)
                | Q(is_active=True, task_type=spec.task_type, priority=spec.priority)
            ).exists():
                continue
            policy = SlaPolicy.objects.create(
                name=spec.name, task_type=spec.task_type, priority=spec.priority,
                turnaround_business_hours=spec.turnaround,
                review_window_business_hours=spec.review_window,
                reminder_offsets_hours=list(spec.offsets),
                escalate_to_responsible_after_hours=spec.escalate_responsible,
                escalate_to_partner_after_hours=spec.escalate_partner,
                escalation_partner=partner,
            )
            self._created(risk, policy)
        closure = dt.date(self.today.year, 12, 24)
        if not FirmHoliday.objects.filter(country="", day=closure).exists():
            holiday = FirmHoliday.objects.create(country="", day=closure,
                                                 name="Firm closure: Christmas Eve")
            self._created(risk, holiday)

    # 3. Clients and vendors -------------------------------------------------------------

    def _clients(self) -> None:
        risk = self.users[RISK_ADMIN]
        for spec in CLIENTS:
            client = Client.objects.create(
                code=spec.code, name=spec.name, industry=spec.industry, country=spec.country,
                contact_name=spec.contact_name, contact_email=spec.contact_email,
            )
            self.clients[spec.code] = client
            self._created(risk, client)
            for name, role, notes in spec.parties:
                self._created(risk, Party.objects.create(client=client, name=name, role=role,
                                                         notes=notes))

    def _vendors(self) -> None:
        """Each vendor with its people, centres, due diligence and rates, then approved
        through its lifecycle service (prospective, under review, approved)."""
        risk = self.users[RISK_ADMIN]
        for spec in VENDORS:
            vendor = Vendor.objects.create(
                name=spec.name, legal_name=spec.legal_name, headquarters_country=spec.country,
                countries=[spec.country], service_lines=list(spec.service_lines),
                time_zone=spec.time_zone, website=spec.website,
                primary_contact_name=self.users[spec.username].get_full_name(),
                primary_contact_email=self.users[spec.username].email, notes=spec.notes,
                manager=risk,
            )
            self.vendors[spec.key] = vendor
            self._created(risk, vendor)
            member = VendorUser.objects.create(user=self.users[spec.username], vendor=vendor,
                                               role=VendorUserRole.ADMIN,
                                               title=spec.contact_title)
            self._created(risk, member)
            for city, country, zone, headcount in spec.centres:
                self._created(risk, DeliveryCentre.objects.create(
                    vendor=vendor, city=city, country=country, time_zone=zone,
                    headcount=headcount))
            for kind, reference, issuer, from_days, expires_in, coverage, notes in spec.diligence:
                self._diligence(vendor, kind, reference, issuer, from_days, expires_in,
                                coverage, notes)
            card = RateCard.objects.create(vendor=vendor, name=spec.rate_card,
                                           currency=spec.currency,
                                           effective_from=self.today - dt.timedelta(days=200))
            self.rate_cards[spec.key] = card
            self._created(risk, card)
            for task_type, unit, rate, in_house in spec.rates:
                self._created(risk, RateCardLine.objects.create(
                    rate_card=card, task_type=task_type, unit=unit, rate=Decimal(rate),
                    in_house_rate=Decimal(in_house)))
            for party, relationship in spec.declarations:
                self._created(risk, ConflictDeclaration.objects.create(
                    vendor=vendor, declared_by=member, party_name=party,
                    relationship=relationship,
                    declared_on=self.today - dt.timedelta(days=90)))
            for status, reason in (
                (VendorStatus.UNDER_REVIEW, "Due-diligence questionnaire received."),
                (VendorStatus.APPROVED, "NDA, security certification, insurance and DPA "
                                        "verified; references checked."),
            ):
                vendor = vendor_set_status(actor=risk, vendor=vendor, status=status,
                                           reason=reason)
            self.vendors[spec.key] = vendor

    def _diligence(self, vendor: Vendor, kind: str, reference: str, issuer: str,
                   from_days: int, expires_in: int, coverage: str, notes: str) -> None:
        valid_from = self.today - dt.timedelta(days=from_days)
        expires_on = self.today + dt.timedelta(days=expires_in)
        record = DueDiligenceRecord(
            vendor=vendor, kind=kind, reference=reference, issuer=issuer,
            valid_from=valid_from, expires_on=expires_on,
            coverage_amount=Decimal(coverage) if coverage else None, notes=notes,
            recorded_by=self.users[RISK_ADMIN],
        )
        label = DiligenceKind(kind).label
        evidence = pdf_bytes([
            f"{label}: {vendor.legal_name}", f"Reference {reference}, issued by {issuer}",
            f"Valid {valid_from:%d %B %Y} to {expires_on:%d %B %Y}", notes,
            "Demo evidence: a placeholder for the signed original.",
        ])
        record.evidence_name = f"{slugify(label)}-{slugify(vendor.name)}.pdf"
        record.evidence_sha256 = hashlib.sha256(evidence).hexdigest()
        record.evidence.save(record.evidence_name, ContentFile(evidence), save=False)
        self.stored_files.append(record.evidence.name)
        record.save()
        self._created(self.users[RISK_ADMIN], record)

    # 4. Matters and engagements ---------------------------------------------------------

    def _matters(self) -> None:
        """Open each matter through `matter_create`, add its people, put up the walls."""
        risk = self.users[RISK_ADMIN]
        year_start = dt.date(self.today.year, 1, 1)
        for spec in MATTERS:
            matter = matter_create(
                actor=risk, client=self.clients[spec.client], title=spec.title,
                practice_area=spec.practice_area,
                responsible_attorney=self.users[spec.responsible],
                description=spec.description, time_zone=spec.time_zone,
                holiday_country=spec.holiday_country,
                holiday_subdivision=spec.holiday_subdivision, budget=Decimal(spec.budget),
                currency=spec.currency, client_consent_required=spec.consent_required,
                client_consent_waiver_reason=spec.consent_waiver_reason,
                # Numbers restart each year, so an opening date stays within the year.
                opened_on=max(year_start, self.today - dt.timedelta(days=spec.opened_days_ago)),
            )
            self.matters[spec.key] = matter
            for username in spec.supervisors:
                matter_member_add(actor=risk, matter=matter, user=self.users[username],
                                  role=MatterRole.SUPERVISING_ATTORNEY)
            for username in spec.team:
                matter_member_add(actor=risk, matter=matter, user=self.users[username],
                                  role=MatterRole.TEAM)
            for username, reason in spec.walls:
                wall_add(actor=risk, matter=matter, user=self.users[username], reason=reason)
            for name, role, notes in spec.parties:
                self._created(risk, Party.objects.create(
                    client=matter.client, matter=matter, name=name, role=role, notes=notes),
                    matter_id=matter.pk)

    def _card_for(self, vendor_key: str, currency: str) -> RateCard:
        """The vendor's price list in the matter's currency (an engagement takes only a card
        in its matter's currency): a vendor quoting in USD also quotes a GBP list for the
        London matters, with the same figures, made once."""
        card = self.rate_cards[vendor_key]
        if card.currency == currency:
            return card
        key = f"{vendor_key}:{currency}"
        if key not in self.rate_cards:
            risk = self.users[RISK_ADMIN]
            local = RateCard.objects.create(vendor=card.vendor, name=f"{card.name} ({currency})",
                                            currency=currency,
                                            effective_from=card.effective_from)
            self._created(risk, local)
            for line in RateCardLine.objects.filter(rate_card=card).order_by("pk"):
                self._created(risk, RateCardLine.objects.create(
                    rate_card=local, task_type=line.task_type, unit=line.unit, rate=line.rate,
                    in_house_rate=line.in_house_rate))
            self.rate_cards[key] = local
        return self.rate_cards[key]

    def _engagements(self) -> None:
        """Engage vendors through the services: conflict check, then the client's consent."""
        for spec in ENGAGEMENTS:
            matter = self.matters[spec.matter]
            staff = self._staff(spec.matter)
            engagement = engagement_create(
                actor=staff, matter=matter, vendor=self.vendors[spec.vendor], scope=spec.scope,
                budget_cap=Decimal(spec.budget_cap),
                rate_card=self._card_for(spec.vendor, matter.currency),
            )
            if spec.conflict != ConflictCheckStatus.PENDING:
                decider = staff
                if spec.conflict == ConflictCheckStatus.CLEARED and conflict_search(
                        matter, engagement.vendor):
                    # Clearing despite search hits is for the firm's conflicts committee.
                    decider = self._conflicts_committee_member(staff)
                engagement = engagement_record_conflict_check(
                    actor=decider, engagement=engagement, result=spec.conflict,
                    notes=spec.conflict_notes,
                )
            if spec.consent_by:
                engagement = engagement_record_consent(
                    actor=staff, engagement=engagement, given_by=spec.consent_by,
                    given_on=max(matter.opened_on,
                                 self.today - dt.timedelta(days=spec.consent_days_ago)),
                    scope=spec.consent_scope,
                    evidence=self._consent_letter(matter, spec.consent_by, spec.consent_scope),
                )
                self.stored_files.append(engagement.consent_evidence.name)
            self.engagements[(spec.matter, spec.vendor)] = engagement

    @staticmethod
    def _conflicts_committee_member(user: User) -> User:
        """`user`, made a member of the conflicts committee (the group holding
        `matters.clear_conflicts`); a fresh instance, as Django caches permissions."""
        committee, _ = Group.objects.get_or_create(name=CONFLICTS_COMMITTEE)
        committee.permissions.add(Permission.objects.get(
            content_type__app_label="matters", codename="clear_conflicts"))
        user.groups.add(committee)
        return User.objects.get(pk=user.pk)

    def _consent_letter(self, matter: Matter, given_by: str, scope: str) -> SimpleUploadedFile:
        """The client's signed consent, as a (demo) PDF: consent counts only with its
        evidence."""
        letter = pdf_bytes([
            f"{matter.client.name}: consent to outsourcing on matter {matter.number}",
            f"Given by {given_by}", f"Scope: {scope}",
            "Demo evidence: a placeholder for the signed original.",
        ])
        return SimpleUploadedFile(f"consent-{matter.number}.pdf", letter,
                                  content_type="application/pdf")

    def _staff(self, matter_key: str) -> User:
        return self.users[self.matter_specs[matter_key].team[0]]

    def _reviewer(self, matter_key: str) -> User:
        """The matter's licensed supervising attorneys take turns (never the lapsed one)."""
        spec = self.matter_specs[matter_key]
        licensed = [name for name in (spec.responsible, *spec.supervisors)
                    if name != LAPSED_ATTORNEY]
        turn = self._reviewer_turn[matter_key]
        self._reviewer_turn[matter_key] += 1
        return self.users[licensed[turn % len(licensed)]]

    # 5. Tasks ---------------------------------------------------------------------------

    def _due(self, spec: TaskSpec, matter: Matter) -> dt.datetime:
        if spec.due_in_hours <= 0:
            return self.now + dt.timedelta(hours=spec.due_in_hours)
        policy = policy_for(task_type=spec.task_type, priority=spec.priority)
        return compute_deadline(
            start=self.now, hours=spec.due_in_hours, time_zone=matter.time_zone,
            holiday_country=matter.holiday_country,
            holiday_subdivision=matter.holiday_subdivision, policy=policy,
        )

    def _steps(self, spec: TaskSpec) -> list[str]:
        """The service calls that take a new draft to the spec's state (before any cancel)."""
        target = spec.cancel_from or spec.state
        submit = ["assign", "start", "submit"]
        if spec.revised:
            submit += ["review", "changes", "start", "submit"]
        steps: dict[str, list[str]] = {
            S.DRAFT: [],
            S.ASSIGNED: ["assign"],
            S.IN_PROGRESS: submit[:-1],
            S.SUBMITTED: submit,
            S.IN_REVIEW: [*submit, "review"],
            S.CHANGES_REQUESTED: ["assign", "start", "submit", "review", "changes"],
            S.APPROVED: [*submit, "review", "signoff"],
            S.DELIVERED: [*submit, "review", "signoff", "deliver"],
        }
        return steps[target]

    def _task(self, spec: TaskSpec) -> None:
        """Create the task as a draft and walk it through the services to its state."""
        matter = self.matters[spec.matter]
        staff = self._staff(spec.matter)
        task = task_create(
            actor=staff, matter=matter, title=spec.title, task_type=spec.task_type,
            priority=spec.priority, instructions=spec.instructions,
            estimated_hours=Decimal(spec.estimated_hours),
            actual_hours=Decimal(spec.actual_hours), document_count=spec.documents,
            requires_legal_judgment=spec.task_type not in (T.LEGAL_TRANSCRIPTION,
                                                           T.LEGAL_CODING),
            sla_due_at=self._due(spec, matter),
        )
        reviewer = self._reviewer(spec.matter)
        version = 0
        for step in self._steps(spec):
            assert spec.vendor is not None, f"{spec.title}: a vendor is needed past draft"
            vendor_user = self.users[self._vendor_spec(spec.vendor).username]
            if step == "assign":
                task_assign(actor=staff, task=task,
                            engagement=self.engagements[(spec.matter, spec.vendor)])
            elif step == "start":
                task_start(actor=vendor_user, task=task)
            elif step == "submit":
                version += 1
                submission = submission_create(
                    actor=vendor_user, task=task,
                    upload=work_product(spec, matter, self.vendors[spec.vendor], version,
                                        self.today),
                    note="First complete version." if version == 1
                    else "Revised per the reviewer's comments.",
                    item_count=demo_qc.lot_items(task),
                )
                self.stored_files.append(submission.file.name)
            elif step == "review":
                review_start(actor=reviewer, task=task)
            elif step == "changes":
                review_request_changes(
                    actor=reviewer, task=task, submission=self._latest(task),
                    comments=spec.feedback or "Please tighten the summary and add cites.",
                    internal_notes="Vendor quality otherwise good; keep on this workstream.",
                )
            elif step == "signoff":
                if demo_qc.lot_items(task) is not None:  # a sampled lot passes QC first
                    demo_qc.accept_lot(reviewer=reviewer, task=task, defects=1)
                # The attorney reads the version on the review page before signing it.
                submission_open(actor=reviewer, submission=self._latest(task),
                                via=OpenedVia.INLINE).close()
                signoff_record(actor=reviewer, task=task, submission=self._latest(task),
                               attestation_accepted=True,
                               confirmation=Confirmation(method=ConfirmationMethod.DEMO,
                                                         confirmed_at=self.now),
                               comments="Reviewed in full; approved for client use.")
            elif step == "deliver":
                task_deliver(actor=staff, task=task,
                             note="Sent to the client through the secure portal.")
        if spec.cancel_from:
            task_cancel(actor=staff, task=task, reason=spec.cancel_reason)
        if spec.review_due is not None:
            hours, reason = spec.review_due
            task_change_due_date(actor=staff, task=task, kind=DueDateKind.REVIEW,
                                 new_value=self.now + dt.timedelta(hours=hours), reason=reason)

    def _qc_history(self) -> None:
        """A vendor on tightened inspection, with its lots (supervision/demo/qc.py)."""
        vendor_user = self.users[self._vendor_spec("kaveri").username]
        demo_qc.tightened_history(
            matter=self.matters["meridian"], engagement=self.engagements[("meridian", "kaveri")],
            staff=self._staff("meridian"), reviewer=self._reviewer("meridian"),
            vendor_user=vendor_user, now_confirmation=demo_qc.demo_confirmation(self.now),
            stored=self.stored_files)

    def _latest(self, task: Task) -> Submission:
        submission = latest_submission(task)
        assert submission is not None
        return submission

    @staticmethod
    def _vendor_spec(key: str) -> VendorSpec:
        return next(spec for spec in VENDORS if spec.key == key)


def seed_demo() -> DemoSummary:
    """Load the demo firm into a database that does not have it yet."""
    return DemoBuilder().build()

