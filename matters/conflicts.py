"""The conflict search behind an engagement's conflict check (Model Rule 1.7, ABA Formal
Opinion 08-451): the matter's client and parties against the vendor itself and the conflicts
its staff declared.

Names are compared after normalisation (case, accents, punctuation, "&", and legal-form
words such as Inc., Ltd. or GmbH ignored), so "Globex Corporation" and "GLOBEX, Inc." match.
A name whose words all appear in the other ("Globex" in "Globex Pharma Holdings") is a hit
too. The search over-reports on purpose: it finds candidates, and the person recording the
check decides (cleared or flagged, with notes).
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q

from matters.models import EngagementStatus, Matter, Party
from vendors.models import ConflictDeclaration, Vendor, VendorStatus

# Legal forms and filler words that do not tell two organisations apart.
IGNORED_WORDS = frozenset({
    "the", "and", "of",
    "inc", "incorporated", "corp", "corporation", "co", "company", "companies",
    "llc", "llp", "lp", "ltd", "limited", "plc", "pllc", "pc",
    "gmbh", "ag", "kg", "sa", "sas", "sarl", "srl", "spa", "nv", "bv", "oy", "ab", "as",
    "pvt", "private", "pte", "pty", "kk",
})
# A single word shorter than this is too weak to report as a partial match.
MIN_PARTIAL_WORD = 3


def name_words(name: str) -> tuple[str, ...]:
    """The distinguishing words of a name, in order, lower-case and without accents."""
    decomposed = unicodedata.normalize("NFKD", name.replace("&", " and "))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    # "L.L.C." and "S.A." are one word each once their dots go.
    plain = re.sub(r"\b(?:[a-z]\.){2,}", lambda m: m.group(0).replace(".", ""), plain)
    words = re.split(r"[^0-9a-z]+", plain)
    return tuple(word for word in words if word and word not in IGNORED_WORDS)


def normalise_name(name: str) -> str:
    return " ".join(name_words(name))


def compare_names(first: str, second: str) -> str | None:
    """Why the two names may be the same party ("same name", "similar name"), or None."""
    a, b = name_words(first), name_words(second)
    if not a or not b:
        return None
    if a == b:
        return "same name"
    shorter, longer = (set(a), set(b)) if len(a) <= len(b) else (set(b), set(a))
    if shorter <= longer and any(len(word) >= MIN_PARTIAL_WORD for word in shorter):
        return "similar name"
    return None


@dataclass(frozen=True)
class MatterParty:
    name: str
    role: str  # for people: "Client", "Adverse party", …


@dataclass(frozen=True)
class ConflictHit:
    party: MatterParty
    matched_name: str
    source: str  # "vendor" or "declaration"
    likeness: str  # "same name" or "similar name"
    reason: str

    @property
    def exact(self) -> bool:
        return self.likeness == "same name"


def party_names(name: str, role: str, aliases: Iterable[str]) -> list[MatterParty]:
    """A party under its name and under each alias ("formerly", trading names), so a match
    on any of them is found."""
    names = [MatterParty(name, role)]
    names.extend(MatterParty(alias, f"{role}, alias of “{name}”,")
                 for alias in dict.fromkeys(a.strip() for a in aliases) if alias)
    return names


def matter_parties(matter: Matter) -> list[MatterParty]:
    """The client, and every party of the client on every matter or on this one, under each
    of its names (one query; the client comes with the matter)."""
    parties = [MatterParty(matter.client.name, "Client")]
    rows = Party.objects.filter(client_id=matter.client_id).filter(
        Q(matter__isnull=True) | Q(matter=matter)
    ).order_by("name", "pk")
    for row in rows:
        parties.extend(party_names(row.name, row.get_role_display(), row.aliases or []))
    return parties


def conflict_search(matter: Matter, vendor: Vendor) -> list[ConflictHit]:
    """Every (party, vendor name or declaration) pair whose names may be the same, exact
    matches first. Three queries: the client (if not loaded), the parties, the declarations.
    """
    declarations = list(
        ConflictDeclaration.objects.filter(vendor=vendor).select_related("declared_by__user")
    )
    return search_parties(matter_parties(matter), vendor, declarations)


def intake_conflict_search(parties: list[MatterParty]) -> dict[Vendor, list[ConflictHit]]:
    """The conflict search of a matter not yet saved (intake): its parties against every
    vendor that is approved or engaged on some matter, and their staff's declarations. Two
    queries whatever the number of vendors. Vendors without a hit are left out."""
    vendors = list(
        Vendor.objects.filter(
            Q(status=VendorStatus.APPROVED)
            | Q(engagements__status=EngagementStatus.ACTIVE)
        ).exclude(status=VendorStatus.OFFBOARDED).distinct().order_by("name")
    )
    declarations: dict[int, list[ConflictDeclaration]] = {vendor.pk: [] for vendor in vendors}
    for declaration in ConflictDeclaration.objects.filter(
        vendor__in=vendors
    ).select_related("declared_by__user").order_by("party_name", "pk"):
        declarations[declaration.vendor_id].append(declaration)
    found = {vendor: search_parties(parties, vendor, declarations[vendor.pk])
             for vendor in vendors}
    return {vendor: hits for vendor, hits in found.items() if hits}


def search_parties(parties: list[MatterParty], vendor: Vendor,
                   declarations: list[ConflictDeclaration]) -> list[ConflictHit]:
    """The one comparison behind both searches.

    1. The vendor itself: its trading and legal names against each party (a provider that
       is, or belongs to, a party to the matter).
    2. Each conflict its staff declared: the declared party against each matter party.
    """
    vendor_names = list(dict.fromkeys(name for name in (vendor.name, vendor.legal_name) if name))
    hits: list[ConflictHit] = []
    for party in parties:
        for vendor_name in vendor_names:
            likeness = compare_names(party.name, vendor_name)
            if likeness:
                hits.append(ConflictHit(
                    party, vendor_name, "vendor", likeness,
                    f"{party.role} “{party.name}” has the {likeness} as the vendor "
                    f"“{vendor_name}”.",
                ))
        for declaration in declarations:
            likeness = compare_names(party.name, declaration.party_name)
            if likeness:
                who = (declaration.declared_by.user.get_full_name()
                       or declaration.declared_by.user.get_username()
                       if declaration.declared_by else vendor.name)
                hits.append(ConflictHit(
                    party, declaration.party_name, "declaration", likeness,
                    f"{party.role} “{party.name}” has the {likeness} as “"
                    f"{declaration.party_name}”, declared by {who} "
                    f"({declaration.relationship}, {declaration.declared_on:%d %b %Y}).",
                ))
    return sorted(hits, key=lambda hit: (not hit.exact, hit.party.name, hit.matched_name))


def hits_record(hits: list[ConflictHit]) -> list[dict[str, str]]:
    """The hits as a conflict check stores them with its decision (plain JSON)."""
    return [{"party": hit.party.name, "role": hit.party.role, "matched_name": hit.matched_name,
             "source": hit.source, "likeness": hit.likeness, "reason": hit.reason}
            for hit in hits]


def hits_fingerprint(record: list[dict[str, str]]) -> str:
    """SHA-256 of the stored hits in canonical JSON: the same hits, the same fingerprint."""
    canonical = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()
