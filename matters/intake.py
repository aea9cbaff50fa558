"""Intake: clients, their related and adverse parties, and opening a matter with its people.

Services in the sense of CONVENTIONS (keyword-only, atomic, audited); a module of its own so
`matters/services.py` keeps the matter's life after it opened. Who may: `may_manage_clients`
(clients and parties) and `may_open_matters` (the "New matter" page), both in
`matters.selectors`; the matter's team may also keep the parties of its own matter.

Before a matter is saved, `intake_conflicts` runs the one conflict search
(`matters.conflicts`) of its client and parties against every approved or engaged vendor, so
the person opening it sees the hits first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from lpo_tracker.audit.services import audit_record
from lpo_tracker.errors import NotEligible, RuleViolation, validated
from lpo_tracker.holiday_regions import subdivision_problem
from matters.conflicts import ConflictHit, MatterParty, intake_conflict_search, party_names
from matters.models import Client, Matter, MatterRole, Party, PartyRole
from matters.selectors import CHANGE, may_manage_clients, may_open_matters, user_has_matter_perm
from matters.services import AnyUser, matter_create, matter_member_add
from vendors.models import Vendor

CLIENT_FIELDS = ("name", "code", "industry", "country", "contact_name", "contact_email",
                 "is_active")


def _require_client_manager(actor: AnyUser, doing: str) -> None:
    if not may_manage_clients(actor):
        raise NotEligible(f"Only the firm's intake staff may {doing}.", code="forbidden")


def _clean_aliases(aliases: Sequence[str], name: str) -> list[str]:
    """Each alias once, trimmed, without the party's own name."""
    seen: dict[str, None] = {}
    for alias in aliases:
        alias = alias.strip()
        if alias and alias.casefold() != name.strip().casefold():
            seen.setdefault(alias, None)
    return list(seen)


# --- Clients ------------------------------------------------------------------------------


@transaction.atomic
def client_create(*, actor: User, name: str, code: str, **fields: Any) -> Client:
    _require_client_manager(actor, "add clients")
    unknown = set(fields) - set(CLIENT_FIELDS)
    if unknown:
        raise RuleViolation(f"Unknown client fields: {', '.join(sorted(unknown))}.",
                            code="invalid")
    client = Client(name=name.strip(), code=code.strip(), **fields)
    validated(client)
    client.save()
    audit_record(actor=actor, action="client.created", obj=client,
                 after={name: getattr(client, name) for name in CLIENT_FIELDS})
    return client


@transaction.atomic
def client_update(*, actor: User, client: Client, **fields: Any) -> Client:
    """Change a client's details; only the fields that changed are written and audited."""
    _require_client_manager(actor, "edit clients")
    locked = Client.objects.select_for_update().get(pk=client.pk)
    changed = {name: value for name, value in fields.items()
               if name in CLIENT_FIELDS and getattr(locked, name) != value}
    if set(fields) - set(CLIENT_FIELDS):
        raise RuleViolation("Unknown client fields.", code="invalid")
    if not changed:
        return locked
    before = {name: getattr(locked, name) for name in changed}
    for name, value in changed.items():
        setattr(locked, name, value)
    validated(locked)
    locked.save(update_fields=list(changed))
    audit_record(actor=actor, action="client.updated", obj=locked, before=before, after=changed)
    return locked


# --- Parties ------------------------------------------------------------------------------


def may_edit_parties(user: AnyUser, client: Client, matter: Matter | None) -> bool:
    """Intake staff keep every party; a matter's team keeps the parties of its matter."""
    if may_manage_clients(user):
        return True
    return matter is not None and user_has_matter_perm(user, matter, CHANGE)


def _require_party_editor(actor: AnyUser, client: Client, matter: Matter | None) -> None:
    if not may_edit_parties(actor, client, matter):
        where = f"matter {matter.number}" if matter is not None else f"client {client}"
        raise NotEligible(f"You may not change the parties of {where}.", code="forbidden")


def _party_snapshot(party: Party) -> dict[str, Any]:
    return {"name": party.name, "role": party.role, "aliases": list(party.aliases),
            "notes": party.notes, "client": party.client_id, "matter": party.matter_id}


@transaction.atomic
def party_add(*, actor: User, client: Client, name: str, role: str,
              aliases: Sequence[str] = (), notes: str = "", matter: Matter | None = None
              ) -> Party:
    """A related or adverse party of the client on every matter (no `matter`) or on one."""
    _require_party_editor(actor, client, matter)
    if matter is not None and matter.client_id != client.pk:
        raise RuleViolation("That matter belongs to another client.", code="invalid")
    party = Party(client=client, matter=matter, name=name.strip(), role=role,
                  aliases=_clean_aliases(aliases, name), notes=notes.strip())
    validated(party)
    party.save()
    audit_record(actor=actor, action="party.added", obj=party,
                 matter_id=matter.pk if matter else None, after=_party_snapshot(party))
    return party


@transaction.atomic
def party_update(*, actor: User, party: Party, name: str, role: str,
                 aliases: Sequence[str] = (), notes: str = "") -> Party:
    locked = (Party.objects.select_for_update(of=("self",))
              .select_related("client", "matter").get(pk=party.pk))
    _require_party_editor(actor, locked.client, locked.matter)
    before = _party_snapshot(locked)
    locked.name, locked.role, locked.notes = name.strip(), role, notes.strip()
    locked.aliases = _clean_aliases(aliases, name)
    validated(locked)
    locked.save(update_fields=["name", "role", "aliases", "notes"])
    audit_record(actor=actor, action="party.updated", obj=locked,
                 matter_id=locked.matter_id, before=before, after=_party_snapshot(locked))
    return locked


@transaction.atomic
def party_remove(*, actor: User, party: Party) -> None:
    locked = (Party.objects.select_for_update(of=("self",))
              .select_related("client", "matter").get(pk=party.pk))
    _require_party_editor(actor, locked.client, locked.matter)
    audit_record(actor=actor, action="party.removed", obj=locked, matter_id=locked.matter_id,
                 before=_party_snapshot(locked))
    locked.delete()


# --- Opening a matter ---------------------------------------------------------------------


@dataclass(frozen=True)
class PartyInput:
    name: str
    role: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class NewClient:
    """A client created inline on the intake page."""

    name: str
    code: str
    country: str = ""
    contact_name: str = ""
    contact_email: str = ""


@dataclass
class MatterDraft:
    """Everything the "New matter" page collects, before anything is saved."""

    title: str
    practice_area: str
    responsible_attorney: User
    client: Client | None = None
    new_client: NewClient | None = None
    supervising_attorneys: Sequence[User] = ()
    team: Sequence[User] = ()
    time_zone: str = ""
    holiday_country: str = ""
    holiday_subdivision: str = ""
    budget: Decimal = Decimal("0")
    currency: str = "USD"
    client_consent_required: bool = True
    consent_waiver_reason: str = ""
    description: str = ""
    parties: Sequence[PartyInput] = field(default_factory=tuple)


def draft_parties(draft: MatterDraft) -> list[MatterParty]:
    """The client and the parties the new matter would have, as the conflict search reads
    them: the client's existing parties on every matter, and the ones typed at intake."""
    parties: list[MatterParty] = []
    if draft.client is not None:
        parties.append(MatterParty(draft.client.name, "Client"))
        for row in Party.objects.filter(client=draft.client, matter__isnull=True).order_by(
                "name", "pk"):
            parties.extend(party_names(row.name, row.get_role_display(), row.aliases or []))
    elif draft.new_client is not None:
        parties.append(MatterParty(draft.new_client.name, "Client"))
    for typed in draft.parties:
        parties.extend(party_names(typed.name, PartyRole(typed.role).label, typed.aliases))
    return parties


def intake_conflicts(draft: MatterDraft) -> dict[Vendor, list[ConflictHit]]:
    """The conflict search of the matter as drafted, run before it is saved."""
    return intake_conflict_search(draft_parties(draft))


def check_draft(draft: MatterDraft) -> None:
    """The draft's own rules, before anything is saved (the intake page runs them with the
    conflict search; `matter_intake` again when saving)."""
    if (draft.client is None) == (draft.new_client is None):
        raise RuleViolation("Choose the client, or enter a new one (not both).",
                            code="client_required")
    problem = subdivision_problem(draft.holiday_country, draft.holiday_subdivision)
    if problem:
        raise RuleViolation(problem, code="holiday_region")
    if not draft.client_consent_required and not draft.consent_waiver_reason.strip():
        raise RuleViolation("Say why this matter needs no client consent to outsourcing.",
                            code="reason_required")
    attorneys = [draft.responsible_attorney, *draft.supervising_attorneys]
    missing = [user for user in attorneys if not hasattr(user, "attorney_profile")]
    if missing:
        raise RuleViolation(
            f"{', '.join(u.get_full_name() or u.get_username() for u in missing)} cannot "
            "supervise: no attorney profile.", code="not_attorney")


@transaction.atomic
def matter_intake(*, actor: User, draft: MatterDraft) -> Matter:
    """Open a matter with everything intake collects, in one transaction.

    1. Check who is asking and the draft (client, holiday region, consent waiver, attorneys).
    2. Create the client if it is new (needs the client permission too).
    3. Open the matter through `matter_create` (next YYYY-NNNN, retried on a collision; the
       responsible attorney supervises it).
    4. Record the consent waiver with its reason, add the parties, the supervising
       attorneys and the team (each grant audited, each person notified).
    """
    if not may_open_matters(actor):
        raise NotEligible("Only firm staff allowed to open matters may do so.",
                          code="forbidden")
    check_draft(draft)
    client = draft.client
    if client is None:
        assert draft.new_client is not None
        new = draft.new_client
        client = client_create(actor=actor, name=new.name, code=new.code, country=new.country,
                               contact_name=new.contact_name, contact_email=new.contact_email)
    matter = matter_create(
        actor=actor, client=client, title=draft.title.strip(),
        practice_area=draft.practice_area, responsible_attorney=draft.responsible_attorney,
        description=draft.description.strip(), time_zone=draft.time_zone,
        holiday_country=draft.holiday_country.upper(),
        holiday_subdivision=draft.holiday_subdivision, budget=draft.budget,
        currency=draft.currency.upper(),
        client_consent_required=draft.client_consent_required,
        client_consent_waiver_reason=("" if draft.client_consent_required
                                      else draft.consent_waiver_reason.strip()),
    )
    if not draft.client_consent_required:
        audit_record(actor=actor, action="matter.consent_waived", obj=matter,
                     matter_id=matter.pk,
                     after={"client_consent_required": False,
                            "reason": matter.client_consent_waiver_reason})
    for typed in draft.parties:
        _party_at_intake(actor, client, matter, typed)
    people = [(user, MatterRole.SUPERVISING_ATTORNEY) for user in draft.supervising_attorneys]
    people += [(user, MatterRole.TEAM) for user in draft.team]
    for user, role in people:
        matter_member_add(actor=actor, matter=matter, user=user, role=role,
                          _skip_admin_check=True)
    return matter


def _party_at_intake(actor: User, client: Client, matter: Matter, typed: PartyInput) -> None:
    """Intake staff add the new matter's parties without being on its team yet."""
    party = Party(client=client, matter=matter, name=typed.name.strip(), role=typed.role,
                  aliases=_clean_aliases(typed.aliases, typed.name))
    validated(party)
    party.save()
    audit_record(actor=actor, action="party.added", obj=party, matter_id=matter.pk,
                 after=_party_snapshot(party))
