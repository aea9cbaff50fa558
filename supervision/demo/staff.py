"""The demo's vendor staff credentials, matter acknowledgements and an engagement rating.

Called by `supervision.demo.builder.DemoBuilder`: `credentials` before the tasks (whoever
submits must be trained, and Kaveri's patent work needs a verified patent practitioner),
`acknowledgements` and `rating` after them. Every vendor user has current training except
Lagan's, whose data-protection training expires within two weeks (the vendor page shows it
as expiring, and the reminder sweep tells Ciaran Doyle and the vendor manager); Lagan's
paralegal qualification is still unverified. Each vendor user has acknowledged the matters
they work on, except Maria Santos on the GDPR matter (the portal asks her first). The first
engagement whose work is all finished is ended and rated by the matter's responsible
attorney.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import TYPE_CHECKING

from django.core.files.base import ContentFile
from django.utils.text import slugify

from lpo_tracker.audit.services import audit_record
from matters.closing import engagement_end
from matters.models import OPEN_STATES, Engagement, Task, TaskStatus
from supervision.acknowledgements import acknowledgement_text, matter_acknowledge, text_sha256
from supervision.demo.data import MATTERS, RISK_ADMIN
from supervision.demo.files import pdf_bytes
from supervision.ratings import engagement_rate
from vendors.models import (
    QualificationKind,
    StaffQualification,
    StaffTraining,
    TrainingTopic,
    VendorUser,
)

if TYPE_CHECKING:
    from supervision.demo.builder import DemoBuilder

# vendor key → (kind, jurisdiction, registration number, description, verified)
QUALIFICATIONS: dict[str, tuple[tuple[str, str, str, str, bool], ...]] = {
    "kaveri": (
        (QualificationKind.LAWYER, "Tamil Nadu and Puducherry", "TN/1841/2012", "", True),
        (QualificationKind.PATENT_PRACTITIONER, "USPTO", "71942", "", True),
    ),
    "bayanihan": ((QualificationKind.LAWYER, "Philippines", "IBP Roll No. 61234", "", True),),
    "lagan": ((QualificationKind.PARALEGAL, "", "", "CILEx Level 3 Certificate in Law", False),),
}
# Days until the training expires (completed a year before it expires).
TRAINING_EXPIRES_IN = {"kaveri": 290, "bayanihan": 200, "lagan": 12}
EXPIRING_SOON = ("lagan", TrainingTopic.DATA_PROTECTION)
NOT_ACKNOWLEDGED = ("gdpr", "bayanihan")  # (matter key, vendor key)


def _created(builder: DemoBuilder, obj: StaffQualification | StaffTraining) -> None:
    audit_record(actor=builder.users[RISK_ADMIN], action="demo.created", obj=obj,
                 after={"member": obj.member_id, "row": str(obj)})


def credentials(builder: DemoBuilder) -> None:
    """Qualifications (verified by the vendor manager) and training with its certificate."""
    risk = builder.users[RISK_ADMIN]
    for key, vendor in builder.vendors.items():
        member = VendorUser.objects.select_related("user").get(vendor=vendor)
        for kind, jurisdiction, number, description, verified in QUALIFICATIONS.get(key, ()):
            qualification = StaffQualification.objects.create(
                member=member, kind=kind, jurisdiction=jurisdiction,
                registration_number=number, description=description, recorded_by=risk,
                recorded_at=builder.now, verified_by=risk if verified else None,
                verified_at=builder.now if verified else None)
            _created(builder, qualification)
        for topic in (TrainingTopic.CONFIDENTIALITY, TrainingTopic.DATA_PROTECTION):
            days = TRAINING_EXPIRES_IN[key] if (key, topic) == EXPIRING_SOON else 300
            expires_on = builder.today + dt.timedelta(days=days)
            _training(builder, member, topic, expires_on)


def _training(builder: DemoBuilder, member: VendorUser, topic: str, expires_on: dt.date
              ) -> None:
    completed_on = expires_on - dt.timedelta(days=365)
    label = TrainingTopic(topic).label
    person = member.user.get_full_name()
    evidence = pdf_bytes([f"Certificate of completion: {label} for legal support staff",
                          f"Awarded to {person}, {member.vendor.name}",
                          f"Completed {completed_on:%d %B %Y}; renew by {expires_on:%d %B %Y}",
                          "Demo evidence: a placeholder for the real certificate."])
    record = StaffTraining(member=member, topic=topic, course=f"{label} essentials (annual)",
                           completed_on=completed_on, expires_on=expires_on,
                           evidence_name=f"{slugify(label)}-{slugify(person)}.pdf",
                           evidence_sha256=hashlib.sha256(evidence).hexdigest(),
                           recorded_by=builder.users[RISK_ADMIN], recorded_at=builder.now)
    record.evidence.save(record.evidence_name, ContentFile(evidence), save=False)
    builder.stored_files.append(record.evidence.name)
    record.save()
    _created(builder, record)


def acknowledgements(builder: DemoBuilder) -> None:
    """Each vendor user acknowledges the matters they have work on (through the service,
    audited), but one, which the portal asks about first."""
    for (matter_key, vendor_key), engagement in builder.engagements.items():
        if (matter_key, vendor_key) == NOT_ACKNOWLEDGED:
            continue
        task = Task.objects.filter(engagement=engagement).exclude(
            status=TaskStatus.DRAFT).order_by("pk").first()
        if task is None:
            continue
        member = VendorUser.objects.select_related("user").get(vendor=engagement.vendor)
        digest = text_sha256(acknowledgement_text(engagement.matter, member.vendor_id))
        matter_acknowledge(actor=member.user, task=task, text_sha256_seen=digest)


def rating(builder: DemoBuilder) -> Engagement:
    """End the first engagement whose work is all delivered, and have the matter's
    responsible attorney rate the vendor."""
    for (matter_key, _vendor_key), engagement in builder.engagements.items():
        tasks = Task.objects.filter(engagement=engagement)
        finished = tasks.filter(status=TaskStatus.DELIVERED).exists() and not tasks.filter(
            status__in=(*OPEN_STATES, TaskStatus.APPROVED)).exists()
        if not finished:
            continue
        team = next(spec.team[0] for spec in MATTERS if spec.key == matter_key)
        ended = engagement_end(actor=builder.users[team], engagement=engagement,
                               reason="Workstream complete; all work delivered to the client.")
        engagement_rate(actor=ended.matter.responsible_attorney, engagement=ended, quality=4,
                        timeliness=5, communication=4, value=4,
                        comments="Accurate work, every deadline met; two rounds of "
                        "citation fixes on the first deliverable.")
        return ended
    raise AssertionError("The demo has no engagement whose work is all delivered.")
