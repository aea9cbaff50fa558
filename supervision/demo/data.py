"""Who and what the demo firm is made of: people, clients, vendors, matters, engagements,
about forty tasks and the SLA policies. Plain data; `builder` turns it into rows."""

from __future__ import annotations

from dataclasses import dataclass

from lpo_tracker.fields import Priority, TaskType
from matters.models import ConflictCheckStatus, PartyRole, PracticeArea, TaskStatus
from vendors.models import DiligenceKind, RateUnit

# One password for every demo login, printed by the command. Demo only: never in production.
DEMO_PASSWORD = "supervise-every-step"  # noqa: S105
# The authenticator-app secret every demo user who needs MFA shares (base32, for an app or
# `manage.py demo_totp`). Demo only: real users scan their own QR code at first sign-in.
DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXPLPOTRACKERDEMO22"  # noqa: S105
# The demo is present when this client exists; a second run then only prints the logins.
MARKER_CLIENT_CODE = "HALC"
FIRM_DOMAIN = "halewhitmore.example"
# The risk administrator runs intake: opens matters (add_matter), keeps clients and their
# parties (change_client, the intake permission), manages grants and walls firm-wide
# (change_matter) and keeps the firm's task templates (manage_task_templates).
RISK_MATTER_PERMISSIONS = ["add_matter", "change_matter", "add_client", "change_client",
                           "view_client", "manage_task_templates"]
# The risk administrator is also the vendor manager: vets vendors and keeps their records.
RISK_VENDOR_PERMISSIONS = [
    f"{verb}_{model}"
    for verb in ("add", "change", "view")
    for model in ("vendor", "vendoruser", "deliverycentre", "duediligencerecord", "ratecard",
                  "ratecardline", "conflictdeclaration")
]

T = TaskType
P = Priority
S = TaskStatus


# --- People -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    username: str
    first_name: str
    last_name: str
    role: str
    email: str = ""


@dataclass(frozen=True)
class Admission:
    jurisdiction: str
    number: str
    admitted_years_ago: int
    # Days from today to the registration renewal date; negative = lapsed; None = no renewal.
    expires_in_days: int | None


@dataclass(frozen=True)
class AttorneySpec:
    username: str
    title: str
    is_partner: bool
    office: str
    phone: str
    admissions: tuple[Admission, ...]


ADMIN = "admin"
RISK_ADMIN = "riskadmin"
LAPSED_ATTORNEY = "robert.brennan"
SCREENED_USER = "kate.foster"
ESCALATION_PARTNER = "eleanor.hale"

PEOPLE: tuple[Person, ...] = (
    Person(ADMIN, "Alex", "Morgan", "Firm administrator (superuser, Django admin)"),
    Person(RISK_ADMIN, "Priya", "Raman",
           "Risk & IT administrator, vendor manager (opens matters, walls, grants)"),
    Person("eleanor.hale", "Eleanor", "Hale",
           "Partner, New York: supervising attorney, escalation partner"),
    Person("daniel.chen", "Daniel", "Chen", "Counsel, New York: supervising attorney"),
    Person("maya.okafor", "Maya", "Okafor", "Partner, Chicago: supervising attorney"),
    Person("james.whitmore", "James", "Whitmore", "Partner, London: supervising attorney"),
    Person(LAPSED_ATTORNEY, "Robert", "Brennan",
           "Senior associate, Chicago: Illinois registration LAPSED, cannot sign off"),
    Person("sam.parker", "Sam", "Parker", "Paralegal, New York (matter team)"),
    Person("linh.nguyen", "Linh", "Nguyen", "Associate, Chicago (matter team)"),
    Person("tom.greene", "Tom", "Greene", "Trainee solicitor, London (matter team)"),
    Person(SCREENED_USER, "Kate", "Foster",
           "Associate, Chicago: screened from Halcyon v. Meridian (ethical wall)"),
    Person("anand.krishnan", "Anand", "Krishnan", "Vendor: Kaveri Legal Process, Chennai",
           "anand.krishnan@kaveri-legal.example"),
    Person("maria.santos", "Maria", "Santos", "Vendor: Bayanihan Legal Support, Manila",
           "maria.santos@bayanihan-legal.example"),
    Person("ciaran.doyle", "Ciarán", "Doyle",
           "Vendor: Lagan Legal, Belfast (SOC 2 expired: no new work)",
           "ciaran.doyle@lagan-legal.example"),
)

ATTORNEYS: tuple[AttorneySpec, ...] = (
    AttorneySpec("eleanor.hale", "Partner", True, "New York", "+1 212 555 0141",
                 (Admission("New York", "2456781", 22, 540),)),
    AttorneySpec("daniel.chen", "Counsel", False, "New York", "+1 212 555 0177",
                 (Admission("New York", "4789012", 11, 410),
                  Admission("New Jersey", "012342011", 10, 300))),
    AttorneySpec("maya.okafor", "Partner", True, "Chicago", "+1 312 555 0119",
                 (Admission("Illinois", "6298714", 16, 250),)),
    AttorneySpec("james.whitmore", "Partner", True, "London", "+44 20 7946 0321",
                 (Admission("England & Wales", "412873", 19, 200),)),
    # Still "active" on the roll, but the annual registration ran out 40 days ago.
    AttorneySpec(LAPSED_ATTORNEY, "Senior Associate", False, "Chicago", "+1 312 555 0188",
                 (Admission("Illinois", "6319552", 7, -40),)),
)


def demo_second_factor() -> str:
    """How a demo user gets past the second factor, printed under the logins."""
    return ("Attorneys, vendor staff and admins are then asked for an authenticator code: "
            "run `.venv/bin/python manage.py demo_totp` for the current one (or add the "
            f"secret {DEMO_TOTP_SECRET} to an authenticator app).")


def demo_logins() -> list[tuple[str, str, str]]:
    """(username, password, role) of every demo user, in the order the command prints them."""
    return [(person.username, DEMO_PASSWORD, person.role) for person in PEOPLE]


# --- Clients, vendors, matters, engagements -----------------------------------------------


@dataclass(frozen=True)
class ClientSpec:
    code: str
    name: str
    industry: str
    country: str
    contact_name: str
    contact_email: str
    parties: tuple[tuple[str, str, str], ...]  # (name, role, notes), on every matter


CLIENTS: tuple[ClientSpec, ...] = (
    ClientSpec(MARKER_CLIENT_CODE, "Halcyon Therapeutics, Inc.", "Biotechnology", "US",
               "Rebecca Lin, General Counsel", "rlin@halcyon-tx.example",
               (("Halcyon Bio Europe GmbH", PartyRole.CLIENT_AFFILIATE, "EU subsidiary"),)),
    ClientSpec("NBCP", "Northbridge Capital Partners LP", "Private equity", "US",
               "Marcus Feld, Chief Legal Officer", "mfeld@northbridgecap.example",
               (("Northbridge Capital Fund IV, L.P.", PartyRole.CLIENT_AFFILIATE, "Flagship fund"),
                ("Northbridge Advisors LLC", PartyRole.CLIENT_AFFILIATE, "Investment adviser"))),
    ClientSpec("ALBN", "Albion Retail Group plc", "Retail", "GB",
               "Harriet Cole, Company Secretary", "harriet.cole@albionretail.example",
               (("Albion Online Ltd", PartyRole.CLIENT_AFFILIATE, "E-commerce subsidiary"),)),
)


@dataclass(frozen=True)
class VendorSpec:
    key: str
    name: str
    legal_name: str
    country: str
    time_zone: str
    website: str
    username: str
    contact_title: str
    service_lines: tuple[str, ...]
    centres: tuple[tuple[str, str, str, int], ...]  # (city, country, time zone, headcount)
    # (kind, reference, issuer, valid_from days ago, expires in days, coverage, notes)
    diligence: tuple[tuple[str, str, str, int, int, str, str], ...]
    rate_card: str
    currency: str
    rates: tuple[tuple[str, str, str, str], ...]  # (task type, unit, rate, in-house rate)
    declarations: tuple[tuple[str, str], ...]  # (party, relationship)
    notes: str


VENDORS: tuple[VendorSpec, ...] = (
    VendorSpec(
        "kaveri", "Kaveri Legal Process", "Kaveri Legal Process Services Private Limited", "IN",
        "Asia/Kolkata", "https://kaveri-legal.example", "anand.krishnan", "Delivery manager",
        (T.DOCUMENT_REVIEW, T.LEGAL_CODING, T.CONTRACT_ABSTRACTION, T.DUE_DILIGENCE,
         T.PATENT_SUPPORT, T.LEGAL_RESEARCH, T.CONTRACT_DRAFTING),
        (("Chennai", "IN", "Asia/Kolkata", 420), ("Coimbatore", "IN", "Asia/Kolkata", 140)),
        (
            (DiligenceKind.NDA, "HW-NDA-2024-017", "Hale & Whitmore LLP", 420, 310, "",
             "Mutual NDA; covers all delivery centres."),
            (DiligenceKind.SOC2_TYPE2, "SOC2-T2-2025", "Ramanathan & Iyer LLP (CPA)", 120, 245,
             "", "Period 1 Apr 2024 to 31 Mar 2025; no exceptions noted."),
            (DiligenceKind.ISO27001, "IS 745112", "BSI Group", 500, 595, "",
             "Scope: legal process outsourcing operations, Chennai and Coimbatore."),
            (DiligenceKind.INSURANCE, "PI-IND-88231", "New India Assurance", 100, 265,
             "5000000.00", "Professional indemnity, USD 5m any one claim."),
            (DiligenceKind.DPA, "HW-DPA-2024-017", "Hale & Whitmore LLP", 420, 680, "",
             "Includes EU SCCs and the UK Addendum."),
        ),
        "Standard rates 2025-26", "USD",
        (
            (T.DOCUMENT_REVIEW, RateUnit.HOUR, "28.00", "185.00"),
            (T.LEGAL_CODING, RateUnit.DOCUMENT, "0.45", "1.60"),
            (T.CONTRACT_ABSTRACTION, RateUnit.DOCUMENT, "65.00", "310.00"),
            (T.DUE_DILIGENCE, RateUnit.HOUR, "35.00", "325.00"),
            (T.PATENT_SUPPORT, RateUnit.HOUR, "40.00", "390.00"),
            (T.LEGAL_RESEARCH, RateUnit.HOUR, "45.00", "450.00"),
            (T.CONTRACT_DRAFTING, RateUnit.HOUR, "45.00", "450.00"),
        ),
        (("Sterling Pharma Services Ltd", "Former client (2022), no ongoing work"),),
        "Vetted 2024. Strongest on review, coding and diligence; 24/5 cover from Chennai.",
    ),
    VendorSpec(
        "bayanihan", "Bayanihan Legal Support", "Bayanihan Legal Support, Inc.", "PH",
        "Asia/Manila", "https://bayanihan-legal.example", "maria.santos", "Account director",
        (T.DEPOSITION_SUMMARY, T.LEGAL_TRANSCRIPTION, T.DOCUMENT_REVIEW, T.COMPLIANCE_REVIEW,
         T.CONTRACT_DRAFTING, T.LEGAL_CODING, T.LEGAL_RESEARCH),
        (("Makati City", "PH", "Asia/Manila", 260), ("Cebu City", "PH", "Asia/Manila", 90)),
        (
            # Renewal under negotiation: expires within the reminder horizon on purpose.
            (DiligenceKind.NDA, "HW-NDA-2023-044", "Hale & Whitmore LLP", 700, 21, "",
             "Renewal draft with Bayanihan's counsel."),
            (DiligenceKind.ISO27001, "TUV-27001-PH-3391", "TÜV SÜD PSB Philippines", 300, 795,
             "", "Scope: Makati and Cebu delivery centres."),
            (DiligenceKind.INSURANCE, "PI-PH-55102", "Malayan Insurance Co.", 60, 305,
             "3000000.00", "Professional indemnity, USD 3m aggregate."),
            (DiligenceKind.DPA, "HW-DPA-2023-044", "Hale & Whitmore LLP", 700, 395, "",
             "Philippine Data Privacy Act 2012 and GDPR terms."),
        ),
        "Rate card 2026", "USD",
        (
            (T.DEPOSITION_SUMMARY, RateUnit.FIXED, "450.00", "1800.00"),
            (T.LEGAL_TRANSCRIPTION, RateUnit.HOUR, "22.00", "95.00"),
            (T.DOCUMENT_REVIEW, RateUnit.HOUR, "26.00", "185.00"),
            (T.COMPLIANCE_REVIEW, RateUnit.HOUR, "38.00", "350.00"),
            (T.CONTRACT_DRAFTING, RateUnit.HOUR, "42.00", "450.00"),
            (T.LEGAL_CODING, RateUnit.DOCUMENT, "0.40", "1.60"),
            (T.LEGAL_RESEARCH, RateUnit.HOUR, "40.00", "450.00"),
        ),
        (("Corvid Logistics Holdings Inc.",
          "Provided outsourced contract management to it, 2023 to 2025"),),
        "Transcription and deposition work with US-hours overlap from Manila.",
    ),
    VendorSpec(
        "lagan", "Lagan Legal", "Lagan Legal Solutions Ltd", "GB", "Europe/London",
        "https://lagan-legal.example", "ciaran.doyle", "Operations lead",
        (T.CONTRACT_ABSTRACTION, T.DOCUMENT_REVIEW, T.COMPLIANCE_REVIEW),
        (("Belfast", "GB", "Europe/London", 75),),
        (
            (DiligenceKind.NDA, "HW-NDA-2024-031", "Hale & Whitmore LLP", 380, 350, "",
             "Mutual NDA."),
            # Expired and no ISO/IEC 27001: Lagan cannot be given new work until it renews.
            (DiligenceKind.SOC2_TYPE2, "SOC2-T2-2024", "McCabe Harkin Assurance", 400, -18,
             "", "2025 report overdue; bridge letter requested, not yet received."),
            (DiligenceKind.INSURANCE, "PI-UK-20931", "Hiscox", 150, 215, "2000000.00",
             "Professional indemnity, GBP 2m."),
            (DiligenceKind.DPA, "HW-DPA-2024-031", "Hale & Whitmore LLP", 380, 715, "",
             "UK GDPR Article 28 terms."),
        ),
        "UK rates 2025", "GBP",
        (
            (T.CONTRACT_ABSTRACTION, RateUnit.DOCUMENT, "85.00", "320.00"),
            (T.DOCUMENT_REVIEW, RateUnit.HOUR, "45.00", "200.00"),
            (T.COMPLIANCE_REVIEW, RateUnit.HOUR, "60.00", "300.00"),
        ),
        (("Kestrel Property Trust", "Landlord of Lagan's Belfast office"),),
        "Onshore UK option for Northern Ireland work.",
    ),
)


@dataclass(frozen=True)
class MatterSpec:
    key: str
    client: str
    title: str
    practice_area: str
    description: str
    responsible: str
    supervisors: tuple[str, ...]
    team: tuple[str, ...]
    time_zone: str
    holiday_country: str
    holiday_subdivision: str
    budget: str
    currency: str
    opened_days_ago: int
    parties: tuple[tuple[str, str, str], ...] = ()
    consent_required: bool = True
    consent_waiver_reason: str = ""
    walls: tuple[tuple[str, str], ...] = ()


MATTERS: tuple[MatterSpec, ...] = (
    MatterSpec(
        "meridian", MARKER_CLIENT_CODE, "Halcyon v. Meridian Generics: ANDA patent litigation",
        PracticeArea.IP,
        "Hatch-Waxman litigation over Meridian's ANDA for a generic Lumetra (D. Del.).",
        "eleanor.hale", ("daniel.chen", LAPSED_ATTORNEY), ("sam.parker",),
        "America/New_York", "US", "NY", "850000.00", "USD", 160,
        (("Meridian Generics Ltd.", PartyRole.ADVERSE, "ANDA filer"),
         ("Pryor & Lowe LLP", PartyRole.ADVERSE_COUNSEL, "Counsel to Meridian")),
        walls=((SCREENED_USER,
                "Joined from Pryor & Lowe LLP, counsel to Meridian Generics, in 2025; screened "
                "under Model Rule 1.10."),),
    ),
    MatterSpec(
        "promo", MARKER_CLIENT_CODE, "Halcyon: FDA promotional materials compliance review",
        PracticeArea.REGULATORY, "Pre-clearance of promotional and HCP materials for Lumetra.",
        "daniel.chen", (), ("sam.parker",),
        "America/New_York", "US", "NY", "120000.00", "USD", 90,
    ),
    MatterSpec(
        "patents", MARKER_CLIENT_CODE, "Halcyon: formulation patent portfolio support",
        PracticeArea.IP, "Prosecution support for the sustained-release formulation family.",
        "maya.okafor", (), ("linh.nguyen", SCREENED_USER),
        "America/Chicago", "US", "IL", "200000.00", "USD", 120,
    ),
    MatterSpec(
        "corvid", "NBCP", "Northbridge / Corvid Logistics acquisition: due diligence",
        PracticeArea.CORPORATE, "Buy-side diligence on Corvid Logistics Holdings (43 depots).",
        "maya.okafor", ("eleanor.hale", LAPSED_ATTORNEY), ("linh.nguyen",),
        "America/Chicago", "US", "IL", "600000.00", "USD", 45,
        (("Corvid Logistics Holdings Inc.", PartyRole.RELATED, "Target"),
         ("Vasquez Family Trusts", PartyRole.CO_PARTY, "Selling shareholders")),
    ),
    MatterSpec(
        "facility", "NBCP", "Northbridge Fund IV: subscription credit facility",
        PracticeArea.FINANCE, "USD 400m subscription line; side-letter and consent workstream.",
        "eleanor.hale", (), ("sam.parker", "linh.nguyen"),
        "America/New_York", "US", "NY", "180000.00", "USD", 30,
        (("First Lakeshore Bank, N.A.", PartyRole.ADVERSE, "Lender and agent"),),
        consent_required=False,
        consent_waiver_reason="The fund documents already carry the LPs' consent to "
        "outsourced review (Model Rule 1.6).",
    ),
    MatterSpec(
        "reyes", "ALBN", "Reyes and others v. Albion Online Ltd (Employment Tribunal)",
        PracticeArea.EMPLOYMENT, "Holiday-pay and unlawful-deduction claims by 38 claimants.",
        "james.whitmore", (), ("tom.greene", SCREENED_USER),
        "Europe/London", "GB", "ENG", "240000.00", "GBP", 75,
        (("Daniela Reyes and 37 other claimants", PartyRole.ADVERSE, ""),
         ("Harcourt Employment Solicitors", PartyRole.ADVERSE_COUNSEL, "")),
    ),
    MatterSpec(
        "leases", "ALBN", "Albion Retail: store lease portfolio abstraction",
        PracticeArea.REAL_ESTATE, "Abstraction of 112 store leases ahead of a portfolio review.",
        "james.whitmore", (), ("tom.greene",),
        "Europe/London", "GB", "ENG", "150000.00", "GBP", 60,
        (("Kestrel Property Trust", PartyRole.RELATED, "Landlord of 41 stores"),),
    ),
    MatterSpec(
        "gdpr", "ALBN", "Albion Retail: UK GDPR supplier contract remediation",
        PracticeArea.REGULATORY, "Bringing 300 supplier contracts into line with UK GDPR Art. 28.",
        "james.whitmore", ("daniel.chen",), ("tom.greene",),
        "Europe/London", "GB", "ENG", "95000.00", "GBP", 20,
    ),
)


@dataclass(frozen=True)
class EngagementSpec:
    matter: str
    vendor: str
    scope: str
    budget_cap: str
    conflict: str  # cleared, flagged or pending
    conflict_notes: str = ""
    consent_by: str = ""  # empty: no consent recorded
    consent_scope: str = ""
    consent_days_ago: int = 10


ENGAGEMENTS: tuple[EngagementSpec, ...] = (
    EngagementSpec("meridian", "kaveri", "First- and second-level review, privilege log, coding.",
                   "180000.00", ConflictCheckStatus.CLEARED, "No hits against declared parties.",
                   "Rebecca Lin, General Counsel",
                   "Review of Halcyon and Meridian productions by Kaveri's Chennai centre."),
    EngagementSpec("meridian", "bayanihan", "Deposition summaries and hearing transcription.",
                   "40000.00", ConflictCheckStatus.CLEARED, "No hits.",
                   "Rebecca Lin, General Counsel", "Deposition and hearing transcripts only."),
    EngagementSpec("promo", "bayanihan", "First-pass compliance review of promotional pieces.",
                   "30000.00", ConflictCheckStatus.CLEARED, "No hits.",
                   "Rebecca Lin, General Counsel", "Promotional materials, no patient data."),
    EngagementSpec("patents", "kaveri", "Prior-art searching, claim charts, IDS support.",
                   "60000.00", ConflictCheckStatus.CLEARED,
                   "Sterling Pharma declaration reviewed: not a party, no overlap.",
                   "Rebecca Lin, General Counsel", "Patent prosecution support."),
    EngagementSpec("corvid", "kaveri", "Contract and real-estate diligence on the target.",
                   "120000.00", ConflictCheckStatus.CLEARED, "No hits.",
                   "Marcus Feld, Chief Legal Officer", "Data-room review for the Corvid deal."),
    EngagementSpec("corvid", "bayanihan", "Data-room indexing.", "15000.00",
                   ConflictCheckStatus.FLAGGED,
                   "Bayanihan declared it provided contract management to Corvid Logistics "
                   "(2023 to 2025). Do not use on this deal."),
    EngagementSpec("facility", "kaveri", "Side-letter abstraction, research, first drafts.",
                   "50000.00", ConflictCheckStatus.CLEARED, "No hits."),
    EngagementSpec("reyes", "bayanihan", "Disclosure review, transcription, payroll coding.",
                   "45000.00", ConflictCheckStatus.CLEARED, "No hits.",
                   "Harriet Cole, Company Secretary", "Disclosure exercise for the ET claims."),
    EngagementSpec("leases", "kaveri", "Lease abstraction, England and Wales stores.",
                   "40000.00", ConflictCheckStatus.CLEARED, "No hits.",
                   "Harriet Cole, Company Secretary", "Store leases, no personal data."),
    EngagementSpec("leases", "lagan", "Lease abstraction, Northern Ireland stores.",
                   "12000.00", ConflictCheckStatus.CLEARED,
                   "Lagan declared Kestrel Property Trust as its own office landlord: an arm's-"
                   "length tenancy, no confidential relationship. Cleared by risk.",
                   "Harriet Cole, Company Secretary", "Northern Ireland store leases."),
    EngagementSpec("gdpr", "bayanihan", "Supplier DPA review and remediation letters.",
                   "35000.00", ConflictCheckStatus.CLEARED, "No hits.",
                   "Harriet Cole, Company Secretary", "Supplier contracts, no customer data."),
    # A short workstream, finished: ended and rated by the responsible attorney (demo/staff.py).
    EngagementSpec("gdpr", "kaveri", "Research note on the ICO's supplier due-diligence "
                   "guidance.", "6000.00", ConflictCheckStatus.CLEARED, "No hits.",
                   "Harriet Cole, Company Secretary", "Published guidance only; no personal data."),
    EngagementSpec("gdpr", "lagan", "Northern Ireland supplier contracts.", "8000.00",
                   ConflictCheckStatus.PENDING),
)


# --- Tasks --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskSpec:
    matter: str
    vendor: str | None
    title: str
    task_type: str
    priority: str
    state: str
    # Vendor due date: positive = business hours from now in the matter's zone; negative =
    # wall-clock hours ago (overdue).
    due_in_hours: float
    estimated_hours: str
    instructions: str
    documents: int = 0
    revised: bool = False  # one round of changes requested before the final state
    feedback: str = ""
    cancel_from: str = ""
    cancel_reason: str = ""
    actual_hours: str = "0"
    review_due: tuple[float, str] | None = None  # (hours from now, reason) for review_due_at


TASKS: tuple[TaskSpec, ...] = (
    # Halcyon v. Meridian (New York)
    TaskSpec("meridian", "kaveri", "First-level review: Meridian ANDA production, volume 3",
             T.DOCUMENT_REVIEW, P.HIGH, S.IN_PROGRESS, 6, "120",
             "Review MGL-0041200 to MGL-0087950 for responsiveness to RFPs 1-38 and tag hot "
             "documents on bioequivalence and dissolution testing. Use the coding panel v3.",
             documents=4200),
    TaskSpec("meridian", "kaveri", "Privilege log: Halcyon R&D custodians",
             T.DOCUMENT_REVIEW, P.HIGH, S.IN_REVIEW, -30, "60",
             "Prepare a document-by-document privilege log for the 1,150 withheld items from "
             "the five R&D custodians, in the format the Delaware scheduling order requires.",
             documents=1150, actual_hours="58"),
    TaskSpec("meridian", "kaveri", "Objective coding: Meridian production, volume 2",
             T.LEGAL_CODING, P.NORMAL, S.DELIVERED, -240, "40",
             "Code date, author, recipients, document type and Bates range for every document.",
             documents=9800, actual_hours="37"),
    TaskSpec("meridian", "bayanihan", "Deposition summary: Dr. Anil Kapoor (Meridian 30(b)(6))",
             T.DEPOSITION_SUMMARY, P.URGENT, S.CHANGES_REQUESTED, -5, "12",
             "Page-line summary of both days (412 pages), with a topical index keyed to the "
             "30(b)(6) notice topics 1-14.",
             feedback="Topics 9-11 are missing from the index, and the summary of day 2 "
                      "after page 180 is too thin. Please expand with page-line cites."),
    TaskSpec("meridian", "bayanihan", "Deposition summary: Sarah Whitlock (Halcyon formulation)",
             T.DEPOSITION_SUMMARY, P.HIGH, S.APPROVED, -48, "10",
             "Narrative and page-line summary; flag every statement on the 2014 lab notebooks.",
             actual_hours="9.5"),
    TaskSpec("meridian", "bayanihan", "Transcription: Markman hearing audio, 14 March",
             T.LEGAL_TRANSCRIPTION, P.NORMAL, S.DELIVERED, -200, "8",
             "Verbatim transcript of the court's audio; speaker IDs per the attached list.",
             actual_hours="7.5"),
    TaskSpec("meridian", "kaveri", "Research memo: obviousness-type double patenting",
             T.LEGAL_RESEARCH, P.NORMAL, S.SUBMITTED, 10, "16",
             "Survey Federal Circuit ODP decisions since In re Cellect (2023), with a table of "
             "outcomes where patent term adjustment was at issue.",
             review_due=(3, "Expert report deadline moved up; review needed today.")),
    TaskSpec("meridian", "kaveri", "Second-level review: hot documents for expert reports",
             T.DOCUMENT_REVIEW, P.URGENT, S.ASSIGNED, -20, "30",
             "Second-level review of the 640 documents tagged hot in volumes 1-3; summarise "
             "each in two sentences for the experts' reliance lists.", documents=640),
    # Halcyon promotional compliance (New York)
    TaskSpec("promo", "bayanihan", "Compliance review: Q3 HCP detail aids (OPDP guidance)",
             T.COMPLIANCE_REVIEW, P.HIGH, S.IN_REVIEW, -10, "14",
             "Check each claim in the four detail aids against the label and OPDP guidance on "
             "fair balance; mark claims needing substantiation.",
             documents=4, actual_hours="12",
             review_due=(-4, "MLR committee meets this morning; review was due at 9 a.m.")),
    TaskSpec("promo", "bayanihan", "Compliance review: Lumetra patient website claims",
             T.COMPLIANCE_REVIEW, P.NORMAL, S.IN_PROGRESS, 30, "18",
             "Review 62 web pages for unsubstantiated efficacy claims and missing ISI.",
             documents=62),
    TaskSpec("promo", None, "Fair-balance checklist for social media posts",
             T.COMPLIANCE_REVIEW, P.LOW, S.DRAFT, 120, "6",
             "Draft a one-page checklist the marketing team can apply before posting."),
    TaskSpec("promo", "bayanihan", "Transcription: advisory board recording, 2 June",
             T.LEGAL_TRANSCRIPTION, P.LOW, S.CANCELLED, 40, "5",
             "Verbatim transcript of the advisory board session.",
             cancel_from=S.ASSIGNED,
             cancel_reason="Client decided the recording will not be used; no transcript needed."),
    # Halcyon patent portfolio (Chicago)
    TaskSpec("patents", "kaveri", "Prior-art search: sustained-release formulation family",
             T.PATENT_SUPPORT, P.HIGH, S.IN_PROGRESS, 60, "40",
             "Search patent and non-patent literature before 2013 for hydrophilic matrix "
             "sustained-release formulations of the compound class; rank the top 25."),
    TaskSpec("patents", "kaveri", "Claim charts: '482 patent family against the ANDA product",
             T.PATENT_SUPPORT, P.URGENT, S.CHANGES_REQUESTED, 8, "24",
             "Element-by-element charts of claims 1-12 against the ANDA product description.",
             feedback="Claim 7's 'release profile' limitation is charted against the wrong "
                      "dissolution data; use Table 4 of the ANDA, not Table 2."),
    TaskSpec("patents", "kaveri", "IDS reference list: continuation application",
             T.PATENT_SUPPORT, P.NORMAL, S.DELIVERED, -300, "8",
             "Compile every reference cited in the family and the EP oppositions, de-duplicated, "
             "in SB/08 format.", actual_hours="6"),
    TaskSpec("patents", "kaveri", "Docketing audit: EP and JP counterparts",
             T.PATENT_SUPPORT, P.LOW, S.ASSIGNED, 80, "10",
             "Reconcile our docket with the EPO and JPO registers; list discrepancies."),
    TaskSpec("patents", "kaveri", "Freedom-to-operate landscape: next-generation inhaler",
             T.LEGAL_RESEARCH, P.NORMAL, S.CANCELLED, 50, "30",
             "Landscape of granted patents and pending applications in US, EP and JP.",
             cancel_from=S.IN_PROGRESS, cancel_reason="Client shelved the inhaler programme."),
    # Northbridge / Corvid acquisition (Chicago)
    TaskSpec("corvid", "kaveri", "Due diligence: Corvid customer contracts (change of control)",
             T.DUE_DILIGENCE, P.URGENT, S.IN_REVIEW, -8, "45",
             "Review the 180 customer contracts in data-room folder 4.2 for change-of-control, "
             "assignment, exclusivity and MFN terms; red-flag report by customer revenue.",
             documents=180, revised=True, actual_hours="47",
             feedback="Revenue ranking is missing for the 12 contracts in folder 4.2.7; add them "
                      "and split the red flags into consent-required and notice-only."),
    TaskSpec("corvid", "kaveri", "Due diligence: Corvid depot leases (43 sites)",
             T.DUE_DILIGENCE, P.HIGH, S.SUBMITTED, 4, "36",
             "Summarise term, rent, assignment and landlord-consent requirements for each depot.",
             documents=43, actual_hours="33"),
    TaskSpec("corvid", "kaveri", "Contract abstraction: Corvid top-50 supplier agreements",
             T.CONTRACT_ABSTRACTION, P.HIGH, S.IN_PROGRESS, 4, "30",
             "Abstract term, renewal, termination for convenience, change of control and "
             "liability caps into the deal abstraction template.", documents=50),
    TaskSpec("corvid", "kaveri", "Due diligence: litigation and FMCSA regulatory search",
             T.DUE_DILIGENCE, P.NORMAL, S.APPROVED, -72, "12",
             "Search PACER, state dockets and FMCSA records for Corvid and its subsidiaries.",
             actual_hours="11"),
    TaskSpec("corvid", None, "Data-room index reconciliation",
             T.DUE_DILIGENCE, P.LOW, S.DRAFT, 90, "8",
             "Reconcile the data-room index with the disclosure schedules. On hold: the vendor "
             "first proposed is conflicted (see the flagged engagement)."),
    TaskSpec("corvid", "kaveri", "Due diligence: key-employee retention and non-competes",
             T.DUE_DILIGENCE, P.NORMAL, S.ASSIGNED, 20, "14",
             "Summarise retention, non-compete and change-of-control bonus terms for the "
             "22 key employees on schedule 3.11.", documents=22),
    # Northbridge Fund IV facility (New York)
    TaskSpec("facility", "kaveri", "Contract abstraction: investor side letters (42 LPs)",
             T.CONTRACT_ABSTRACTION, P.NORMAL, S.DELIVERED, -120, "25",
             "Abstract MFN, excuse, transfer and confidentiality provisions relevant to the "
             "lender's eligibility criteria.", documents=42, revised=True, actual_hours="27",
             feedback="Excuse rights for the two sovereign LPs are summarised from the LPA, "
                      "not their side letters; redo those two rows."),
    TaskSpec("facility", "kaveri", "Research: subscription-line market terms 2025",
             T.LEGAL_RESEARCH, P.NORMAL, S.APPROVED, -24, "10",
             "Survey recent subscription-facility terms: advance rates, exclusion events, "
             "investor-financial-reporting covenants.", actual_hours="9"),
    TaskSpec("facility", "kaveri", "Contract drafting: investor consent letters (first draft)",
             T.CONTRACT_DRAFTING, P.HIGH, S.IN_PROGRESS, -30, "12",
             "First drafts of the investor consent and acknowledgment letters from our form, "
             "tailored to each LP's side letter."),
    TaskSpec("facility", "kaveri", "Conditions-precedent checklist from the term sheet",
             T.CONTRACT_DRAFTING, P.NORMAL, S.CANCELLED, 24, "4",
             "Turn the lender's term sheet into a CP checklist.",
             cancel_from=S.DRAFT, cancel_reason="Lender's counsel will prepare the CP checklist."),
    # Reyes v. Albion Online (London)
    TaskSpec("reyes", "bayanihan", "Disclosure review: HR e-mail custodians, batch 1",
             T.DOCUMENT_REVIEW, P.HIGH, S.DELIVERED, -150, "50",
             "Review for relevance to the list of issues and for privilege; apply the agreed "
             "search terms first.", documents=3100, actual_hours="52"),
    TaskSpec("reyes", "bayanihan", "Disclosure review: HR e-mail custodians, batch 2",
             T.DOCUMENT_REVIEW, P.HIGH, S.IN_PROGRESS, 10, "55",
             "As batch 1; the store-manager custodians.", documents=3600, revised=True,
             feedback="Several rota e-mails were marked not relevant; they go to the holiday-pay "
                      "calculation and must be disclosed. Re-check the 'rota' search hits."),
    TaskSpec("reyes", "bayanihan", "Transcription: preliminary hearing recording",
             T.LEGAL_TRANSCRIPTION, P.NORMAL, S.SUBMITTED, 16, "6",
             "Transcript of the preliminary hearing (case management) recording.",
             actual_hours="5.5"),
    TaskSpec("reyes", "bayanihan", "Witness statement summaries: six store managers",
             T.DEPOSITION_SUMMARY, P.NORMAL, S.ASSIGNED, 45, "12",
             "One-page summary of each draft witness statement, cross-referenced to the "
             "list of issues."),
    TaskSpec("reyes", "bayanihan", "Legal coding: payroll records for the schedule of loss",
             T.LEGAL_CODING, P.NORMAL, S.CHANGES_REQUESTED, -60, "16",
             "Code pay period, basic pay, overtime, commission and holiday pay for each "
             "claimant's payslips 2019-2024.", documents=2900,
             feedback="Commission is coded as overtime for the Leeds claimants; please fix "
                      "and add the pay-reference period column."),
    TaskSpec("reyes", "bayanihan", "Research note: holiday pay after Harpur Trust v Brazel",
             T.LEGAL_RESEARCH, P.LOW, S.CANCELLED, 30, "6",
             "Two-page note on the calculation of holiday pay for part-year workers.",
             cancel_from=S.SUBMITTED,
             cancel_reason="Superseded by counsel's opinion received on the same point."),
    # Albion lease portfolio (London)
    TaskSpec("leases", "kaveri", "Lease abstraction: northern stores, batch A (20 leases)",
             T.CONTRACT_ABSTRACTION, P.NORMAL, S.DELIVERED, -180, "20",
             "Abstract term, rent, rent review, break, repair and alienation into the "
             "portfolio template.", documents=20, actual_hours="19"),
    TaskSpec("leases", "kaveri", "Lease abstraction: southern stores, batch B (21 leases)",
             T.CONTRACT_ABSTRACTION, P.NORMAL, S.IN_REVIEW, -12, "21",
             "As batch A.", documents=21, actual_hours="22"),
    TaskSpec("leases", "kaveri", "Break-clause and rent-review calendar",
             T.CONTRACT_ABSTRACTION, P.HIGH, S.ASSIGNED, 12, "8",
             "From batches A and B, build the calendar of break dates and rent reviews to 2030."),
    TaskSpec("leases", None, "Lease abstraction: Northern Ireland stores (for Lagan)",
             T.CONTRACT_ABSTRACTION, P.NORMAL, S.DRAFT, 60, "12",
             "Intended for Lagan Legal; cannot be assigned until Lagan's SOC 2 Type II report "
             "is renewed.", documents=11),
    TaskSpec("leases", None, "Dilapidations schedule review: Belfast flagship",
             T.DOCUMENT_REVIEW, P.LOW, S.DRAFT, 100, "6",
             "Check the landlord's schedule of dilapidations against the lease covenants."),
    # Albion UK GDPR remediation (London)
    TaskSpec("gdpr", "bayanihan", "Contract drafting: Article 28 processing addendum template",
             T.CONTRACT_DRAFTING, P.HIGH, S.APPROVED, -96, "10",
             "Draft a UK GDPR Article 28 addendum for suppliers, with the IDTA as a schedule.",
             actual_hours="11"),
    TaskSpec("gdpr", "bayanihan", "Compliance review: supplier DPAs against the IDTA, batch 1",
             T.COMPLIANCE_REVIEW, P.NORMAL, S.SUBMITTED, 20, "24",
             "Review 60 supplier DPAs for Article 28(3) terms and restricted transfers.",
             documents=60, actual_hours="23"),
    TaskSpec("gdpr", "bayanihan", "Contract drafting: supplier remediation letters, batch 1",
             T.CONTRACT_DRAFTING, P.NORMAL, S.CHANGES_REQUESTED, 14, "12",
             "Letters proposing the addendum to the 25 suppliers with the largest gaps.",
             feedback="Tone is too adversarial for strategic suppliers; use the softer variant "
                      "for the top 10 and add the reply-by date."),
    TaskSpec("gdpr", "kaveri", "Legal research: ICO guidance on supplier due diligence",
             T.LEGAL_RESEARCH, P.NORMAL, S.DELIVERED, -260, "10",
             "Summarise what the ICO expects of a controller vetting its processors, with "
             "citations, in a two-page note.", actual_hours="9"),
    TaskSpec("gdpr", None, "Supplier DPA gap analysis: Northern Ireland suppliers",
             T.COMPLIANCE_REVIEW, P.NORMAL, S.DRAFT, 70, "10",
             "Intended for Lagan Legal once its conflict check is done and its SOC 2 renewed."),
)


# --- SLA policies -------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicySpec:
    name: str
    task_type: str
    priority: str
    turnaround: int
    review_window: int
    offsets: tuple[int, ...]
    escalate_responsible: int
    escalate_partner: int


POLICIES: tuple[PolicySpec, ...] = (
    PolicySpec("Firm default", "", "", 40, 16, (-24, 0, 24), 8, 24),
    PolicySpec("Urgent work", "", P.URGENT, 16, 4, (-4, 0, 4), 2, 8),
    PolicySpec("High priority", "", P.HIGH, 24, 8, (-8, 0, 8), 4, 16),
    PolicySpec("Document review", T.DOCUMENT_REVIEW, "", 80, 16, (-24, -8, 0, 24), 8, 24),
    PolicySpec("Deposition summaries", T.DEPOSITION_SUMMARY, "", 24, 8, (-8, 0, 8), 4, 16),
    PolicySpec("Due diligence, urgent", T.DUE_DILIGENCE, P.URGENT, 16, 6, (-6, -2, 0, 4), 2, 8),
    PolicySpec("Legal research", T.LEGAL_RESEARCH, "", 40, 24, (-24, 0, 24), 8, 24),
)


