"""Work product, review, sign-off and delivery: the task's moves from its first submission on.

The sign-off rule lives here, in `signoff_eligibility`, and nowhere else. `signoff_record` is
the only code that approves a task; the model and a database trigger refuse any other way.
Every move locks the task row first, so an approval and a new upload (or two approvals)
arriving together are serialised: exactly one wins, the other gets a clear error.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial, update_wrapper
from typing import IO

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from lpo_tracker.audit.services import audit_record
from lpo_tracker.clock import firm_today
from lpo_tracker.errors import ConfirmationRequired, InvalidTransition, NotEligible, RuleViolation
from lpo_tracker.refusals import refusal_record, refusals_recorded
from lpo_tracker.signin.stepup import Confirmation, confirmation_problem
from matters.models import (
    DECIDE_FROM,
    DELIVER_FROM,
    START_REVIEW_FROM,
    SUBMIT_FROM,
    EthicalWall,
    Matter,
    Task,
    TaskStatus,
)
from matters.selectors import (
    SUPERVISE,
    is_screened,
    task_work_refusal,
    user_has_matter_perm,
    users_with_matter_perm,
)
from matters.services import require_matter_open, task_audit, task_lock
from supervision.models import (
    AttorneyProfile,
    BarAdmission,
    Lot,
    OpenedVia,
    Review,
    ReviewDecision,
    SignOff,
    Submission,
    SubmissionOpening,
)
from supervision.performers import submission_performer
from supervision.qc.attest import qc_attestation, qc_blocker, qc_summary
from supervision.qc.rules import calls_for_legal_judgment
from supervision.qc.services import lot_check, lot_record
from supervision.selectors import delivery_refusal, review_refusal
from supervision.sla import compute_deadline, policy_for
from supervision.uploads import upload_accept
from vendors.models import VendorUser
from vendors.selectors import is_vendor_user

logger = logging.getLogger(__name__)
AnyUser = User | AnonymousUser

ATTESTATION_TEMPLATE = (
    "I, {attorney}, admitted to practise in {jurisdiction} (no. {bar_number}), have "
    "personally reviewed version {version} of the work product for “{task}” on matter "
    "{matter} (SHA-256 {sha256}). I supervised its preparation as required by ABA Model "
    "Rules 5.1 and 5.3, I am satisfied that it is competent and fit for the client's use, "
    "and I approve it for delivery."
)

# Hooks run after a commit (review waiting notice etc.); registered by supervision.reminders
# so this module stays free of Celery.
AFTER_SUBMIT_HOOKS: list[Callable[[int], None]] = []


def latest_submission(task: Task) -> Submission | None:
    return Submission.objects.filter(task=task).order_by("-version").first()


# --- Submissions --------------------------------------------------------------------------

def review_due_for(task: Task, submitted_at: dt.datetime) -> dt.datetime:
    policy = policy_for(task_type=task.task_type, priority=task.priority)
    return compute_deadline(
        start=submitted_at,
        hours=policy.review_window_business_hours,
        time_zone=task.matter.time_zone,
        holiday_country=task.matter.holiday_country,
        holiday_subdivision=task.matter.holiday_subdivision,
        policy=policy,
    )


def submission_create(
    *, actor: User, task: Task, upload: UploadedFile, note: str = "",
    performed_by: VendorUser | None = None,
    item_count: int | None = None, manifest: UploadedFile | None = None,
) -> Submission:
    """Store a new immutable version of the work product and put the task up for review.

    1. Validate the file (name, size, type, content) and scan it for malware before touching
       the database (an infected file is refused and the attempt audited).
    2. Lock the task; only an assigned vendor (or the matter team) uploads, in a state that
       takes work product; the person who performed the work (`performed_by`, by default
       the uploading vendor user) is vetted (`supervision.performers`).
    3. Store the file under a random path with its SHA-256 and size, as the next version.
    4. Supersede any review in progress and any approval: a new version is reviewed afresh.
    5. Start the review window; after commit, tell the supervising attorneys.

    Bulk work declares its lot (item count, optional manifest of item ids), checked and
    scanned with the file in step 1 and stored with the version (`supervision.qc`).
    """
    checked = upload_accept(actor=actor, upload=upload, about=task, matter_id=task.matter_id)
    lot = lot_check(actor=actor, task=task, item_count=item_count, manifest=manifest)
    stored: Submission | None = None
    stored_lot: Lot | None = None
    try:
        with transaction.atomic():
            locked = task_lock(task, allowed_from=SUBMIT_FROM,
                                doing="take a new version")
            refusal = task_work_refusal(actor, locked, "upload work product")
            if refusal is not None:
                raise refusal
            require_matter_open(locked.matter, "take uploads")
            performer = submission_performer(actor=actor, task=locked,
                                             performed_by=performed_by, day=firm_today())
            previous = latest_submission(locked)
            now = timezone.now()
            stored = Submission(
                task=locked,
                version=(previous.version + 1) if previous else 1,
                original_name=checked.name,
                content_type=checked.content_type,
                size=checked.size,
                sha256=checked.sha256,
                note=note.strip(),
                submitted_by=actor,
                submitted_at=now,
                performed_by=performer,
            )
            stored.file.save(checked.name, upload, save=False)
            stored.save(force_insert=True)
            if lot is not None:
                stored_lot = lot_record(submission=stored, lot=lot)
            superseded = Review.objects.filter(
                submission__task=locked, decision=ReviewDecision.PENDING
            ).update(decision=ReviewDecision.SUPERSEDED, decided_at=now)
            before = {"status": locked.status, "approved_signoff": locked.approved_signoff_id}
            locked.status = TaskStatus.SUBMITTED
            locked.approved_signoff = None
            locked.approved_at = None
            locked.submitted_at = now
            locked.review_due_at = review_due_for(locked, now)
            locked.save(update_fields=["status", "approved_signoff", "approved_at",
                                       "submitted_at", "review_due_at", "updated_at"])
            task_audit(actor, locked, "submission.created", before, status=locked.status,
                   submission=stored.pk, version=stored.version, sha256=stored.sha256,
                   size=stored.size, name=stored.original_name,
                   performed_by=performer.pk if performer else None,
                   superseded_reviews=superseded,
                   approval_withdrawn=before["approved_signoff"] is not None,
                   lot_items=lot.item_count if lot else None,
                   manifest_sha256=stored_lot.manifest_sha256 if stored_lot else "")
            submission_id = stored.pk
            for hook in AFTER_SUBMIT_HOOKS:
                # update_wrapper: Django logs a failing robust hook by its __qualname__.
                callback = update_wrapper(partial(hook, submission_id), hook)
                transaction.on_commit(callback, robust=True)
    except BaseException:
        # Nothing lost, nothing left behind: a failed step removes the stored bytes.
        if stored is not None and stored.file.name:
            stored.file.storage.delete(stored.file.name)
        if stored_lot is not None and stored_lot.manifest.name:
            stored_lot.manifest.storage.delete(stored_lot.manifest.name)
        raise
    return stored


# --- Review -------------------------------------------------------------------------------


def _require_reviewer(actor: AnyUser, task: Task) -> None:
    refusal = review_refusal(actor, task)
    if refusal is not None:
        raise refusal


@transaction.atomic
def review_start(*, actor: User, task: Task) -> Review:
    """An attorney takes the latest version into review."""
    locked = task_lock(task, allowed_from=START_REVIEW_FROM, doing="go into review")
    _require_reviewer(actor, locked)
    submission = latest_submission(locked)
    assert submission is not None  # a submitted task always has a version
    review = Review.objects.create(submission=submission, reviewer=actor)
    before = {"status": locked.status}
    locked.status = TaskStatus.IN_REVIEW
    locked.save(update_fields=["status", "updated_at"])
    task_audit(actor, locked, "review.started", before, status=locked.status, review=review.pk,
           version=submission.version)
    return review


def _open_review(task: Task, submission: Submission, actor: User) -> Review:
    """The pending review of this version, started now if the attorney skipped the step.

    A task decided straight from `submitted` is first moved into review: TASK_TRANSITIONS
    leads to a decision only from `in_review`, and the trail then shows the review start.
    """
    review = Review.objects.filter(
        submission=submission, decision=ReviewDecision.PENDING
    ).order_by("-started_at").first()
    review = review or Review.objects.create(submission=submission, reviewer=actor)
    if task.status == TaskStatus.SUBMITTED:
        task.status = TaskStatus.IN_REVIEW
        task.save(update_fields=["status", "updated_at"])
        task_audit(actor, task, "review.started", {"status": TaskStatus.SUBMITTED},
               status=task.status, review=review.pk, version=submission.version)
    return review


def _require_current(submission: Submission, latest: Submission | None) -> None:
    if latest is None or latest.pk != submission.pk:
        raise InvalidTransition(
            f"Version {submission.version} is no longer the latest: version "
            f"{latest.version if latest else '?'} was uploaded since. Review that one.",
            code="stale_version",
        )


@transaction.atomic
def review_request_changes(
    *,
    actor: User,
    task: Task,
    submission: Submission,
    comments: str,
    internal_notes: str = "",
) -> Review:
    """Send the work back to the vendor with comments they will see."""
    if not comments.strip():
        raise RuleViolation("Say what must change: the vendor sees these comments.",
                            code="comments_required")
    locked = task_lock(task, allowed_from=DECIDE_FROM,
                        doing="have changes requested")
    _require_reviewer(actor, locked)
    _require_current(submission, latest_submission(locked))
    review = _open_review(locked, submission, actor)
    review.reviewer = actor
    review.decision = ReviewDecision.CHANGES_REQUESTED
    review.comments = comments.strip()
    review.internal_notes = internal_notes.strip()
    review.decided_at = timezone.now()
    review.save(update_fields=["reviewer", "decision", "comments", "internal_notes",
                               "decided_at"])
    before = {"status": locked.status}
    locked.status = TaskStatus.CHANGES_REQUESTED
    locked.save(update_fields=["status", "updated_at"])
    task_audit(actor, locked, "review.changes_requested", before, status=locked.status,
           review=review.pk, version=submission.version, comments=review.comments)
    return review


# --- Sign-off -----------------------------------------------------------------------------


@dataclass
class Eligibility:
    blockers: list[str] = field(default_factory=list)
    bar_admission: BarAdmission | None = None
    # Not a blocker: an eligible attorney is asked to confirm it is them (step-up) first.
    confirmation_problem: str | None = None
    firm_user: bool = False  # an active user who is not a vendor user
    opened_at: dt.datetime | None = None
    unopened: bool = False  # the one blocker a page that shows the version lifts

    @property
    def eligible(self) -> bool:
        return not self.blockers

    @property
    def eligible_once_opened(self) -> bool:
        """Nothing but the opening is missing (a page framing the version records it)."""
        return self.unopened and len(self.blockers) == 1


def last_opened_at(*, user: AnyUser, submission: Submission) -> dt.datetime | None:
    """When `user` last opened this exact version (download, inline view or preview)."""
    if not user.is_authenticated:
        return None
    return (SubmissionOpening.objects.filter(submission=submission, user_id=user.pk)
            .order_by("-opened_at").values_list("opened_at", flat=True).first())


@dataclass(frozen=True)
class StandingFacts:
    """What the sign-off rule needs to know about one user on one matter on one day."""

    active: bool
    vendor: bool
    has_profile: bool
    admission: BarAdmission | None
    screened: bool
    supervises: bool


def _standing_blockers(user: AnyUser, facts: StandingFacts, matter: Matter, day: dt.date,
                       *, about_self: bool) -> list[str]:
    """The rule itself, from the facts (steps 1-4 of `signoff_eligibility`)."""
    if not facts.active:
        return ["Sign in as an active user." if about_self else "The account is deactivated."]
    if facts.vendor:
        return ["Vendor users cannot sign off work product."]
    name = user.get_full_name() or user.get_username()  # type: ignore[union-attr]
    you, you_lower, have, are = (("You", "you", "have", "are") if about_self
                                 else (name, name, "has", "is"))
    blockers = []
    if not facts.has_profile:
        blockers.append(f"Only an attorney can sign off; {you_lower} {have} no attorney "
                        "profile.")
    elif facts.admission is None:
        blockers.append(f"{you} {have} no bar admission active on {day:%d %b %Y}; sign-off "
                        "needs a licensed attorney.")
    if facts.screened:
        blockers.append(f"{you} {are} screened from matter {matter.number}.")
    elif not facts.supervises:
        blockers.append(f"{you} {are} not a supervising attorney on matter {matter.number}.")
    return blockers


def attorney_standing(*, user: AnyUser, matter: Matter, day: dt.date) -> Eligibility:
    """Every reason `user` may not sign off work on `matter` on `day`, whatever the version.

    1. A firm user, not a vendor user.
    2. An attorney profile with a bar admission active on the day.
    3. The `supervise_matter` permission on the matter.
    4. Not screened from the matter (a wall beats any grant).
    """
    active = bool(user.is_authenticated and user.is_active)
    vendor = active and is_vendor_user(user)
    profile = getattr(user, "attorney_profile", None) if active and not vendor else None
    admission = (BarAdmission.objects.filter(attorney=profile).active_on(day)
                 .order_by("admitted_on").first() if profile is not None else None)
    screened = active and not vendor and is_screened(user, matter)
    facts = StandingFacts(
        active=active, vendor=vendor, has_profile=profile is not None, admission=admission,
        screened=screened,
        supervises=active and not vendor and not screened
        and user_has_matter_perm(user, matter, SUPERVISE),
    )
    blockers = _standing_blockers(user, facts, matter, day, about_self=True)
    return Eligibility(blockers=blockers, bar_admission=admission,
                       firm_user=active and not vendor)


def supervisors_standing(matter: Matter, users: list[User], day: dt.date
                         ) -> dict[int, list[str]]:
    """`attorney_standing` for several people at once, worded about them (the matter page's
    flag on a supervising attorney who cannot sign off today). Registered with
    `matters.selectors.SIGNOFF_STANDING`. Four queries whatever the number of people: vendor
    memberships, attorney profiles, active admissions, walls; plus who holds supervise."""
    ids = [user.pk for user in users]
    vendors = set(VendorUser.objects.filter(user_id__in=ids).values_list("user_id", flat=True))
    profiles = dict(AttorneyProfile.objects.filter(user_id__in=ids)
                    .values_list("user_id", "pk"))
    admissions: dict[int, BarAdmission] = {}
    for admission in (BarAdmission.objects.filter(attorney_id__in=profiles.values())
                      .active_on(day).order_by("-admitted_on")):
        admissions[admission.attorney_id] = admission  # the earliest admitted wins, as above
    screened = set(EthicalWall.objects.filter(matter=matter, user_id__in=ids)
                   .values_list("user_id", flat=True))
    supervising = set(users_with_matter_perm(matter, SUPERVISE).filter(pk__in=ids)
                      .values_list("pk", flat=True))
    standing = {}
    for user in users:
        profile_id = profiles.get(user.pk)
        facts = StandingFacts(
            active=user.is_active, vendor=user.pk in vendors, has_profile=profile_id is not None,
            admission=admissions.get(profile_id) if profile_id is not None else None,
            screened=user.pk in screened, supervises=user.pk in supervising,
        )
        standing[user.pk] = _standing_blockers(user, facts, matter, day, about_self=False)
    return standing


def signoff_eligibility(
    *, user: AnyUser, task: Task, submission: Submission | None, day: dt.date | None = None,
    confirmation: Confirmation | None = None,
) -> Eligibility:
    """Every reason `user` may not sign off `submission` of `task` (ABA Model Rules 5.1, 5.3).

    1-4. `attorney_standing` on the task's matter that day (firm user, active bar
         admission, supervise permission, no wall).
    2b. Where the matter names a jurisdiction (and SIGNOFF_REQUIRES_JURISDICTION is on),
        the admission relied on is in it.
    5. Not the person who submitted this version.
    6. They opened this exact version (downloaded it or viewed it on the review page).
    7. A sampled lot has an accepted QC result (`supervision.qc.attest.qc_blocker`).
    Separately, `confirmation_problem`: the step-up (a fresh second factor, or password for
    a user without one) is missing or stale (`lpo_tracker.signin.stepup`).
    """
    day = day or firm_today()
    result = attorney_standing(user=user, matter=task.matter, day=day)
    jurisdiction = task.matter.jurisdiction.strip()
    # Work that calls for legal judgment always needs an admission where the matter's law is
    # practised (Model Rule 5.5), whatever the setting says for other work.
    if (result.bar_admission is not None and jurisdiction
            and (settings.SIGNOFF_REQUIRES_JURISDICTION or calls_for_legal_judgment(task))):
        # 2b. The matter names where its work is practised: an admission there.
        result.bar_admission = (
            BarAdmission.objects.filter(attorney_id=result.bar_admission.attorney_id,
                                        jurisdiction__iexact=jurisdiction)
            .active_on(day).order_by("admitted_on").first())
        if result.bar_admission is None:
            result.blockers.append(
                f"You have no bar admission in {jurisdiction} active on {day:%d %b %Y}; this "
                "matter's work is signed off by an attorney admitted there.")
    if result.firm_user and submission is not None and submission.submitted_by_id == user.pk:
        result.blockers.append("You submitted this version; another attorney must sign it off.")
    if result.firm_user and submission is not None:
        # 6. They opened this exact version (downloaded it or viewed it on the review page).
        result.opened_at = last_opened_at(user=user, submission=submission)
        if result.opened_at is None:
            result.unopened = True
            result.blockers.append(
                f"You have not opened version {submission.version} yet: download it or view "
                "it on the review page before signing it off.")
    if submission is not None and (blocker := qc_blocker(submission)) is not None:
        result.blockers.append(blocker)
    if not result.blockers:
        result.confirmation_problem = confirmation_problem(user=user, confirmation=confirmation)
    return result


def attestation_text(*, task: Task, submission: Submission, user: User,
                     bar_admission: BarAdmission) -> str:
    """The attestation, naming the QC of a sampled lot or the full review of work that
    calls for legal judgment (`supervision.qc.attest.qc_attestation`)."""
    return ATTESTATION_TEMPLATE.format(
        attorney=user.get_full_name() or user.get_username(),  # type: ignore[attr-defined]
        jurisdiction=bar_admission.jurisdiction,
        bar_number=bar_admission.number,
        version=submission.version,
        task=task.title,
        matter=task.matter.number,
        sha256=submission.sha256,
    ) + qc_attestation(task=task, submission=submission, bar_admission=bar_admission)


def signoff_record(
    *,
    actor: User,
    task: Task,
    submission: Submission,
    attestation_accepted: bool,
    confirmation: Confirmation | None,
    comments: str = "",
) -> SignOff:
    """Approve exactly one version of a task's work product. The only way to approve.

    1. Lock the task; it must be awaiting review and `submission` must still be its latest
       version (an upload that raced in wins, and this approval is refused).
    2. Check eligibility; the attorney must have accepted the attestation and confirmed it
       is them recently (`confirmation`: the step-up, recorded on the sign-off).
    3. Close the review as approved, record the immutable sign-off with the attestation
       text, the version's SHA-256 and when the attorney opened the version, and move the
       task to approved with a conditional update.

    A refusal is recorded in the audit trail (who, which version, why) in its own
    transaction, after this one has rolled back.
    """
    with refusals_recorded(actor=actor, action="signoff.refused", obj=task,
                           matter_id=task.matter_id,
                           attempt={"submission": submission.pk, "version": submission.version,
                                    "sha256": submission.sha256}):
        return _signoff_record(actor=actor, task=task, submission=submission,
                               attestation_accepted=attestation_accepted,
                               confirmation=confirmation, comments=comments)


@transaction.atomic
def _signoff_record(
    *, actor: User, task: Task, submission: Submission, attestation_accepted: bool,
    confirmation: Confirmation | None, comments: str,
) -> SignOff:
    locked = task_lock(task, allowed_from=DECIDE_FROM, doing="be approved")
    if submission.task_id != locked.pk:
        raise RuleViolation("That version belongs to another task.", code="invalid")
    _require_current(submission, latest_submission(locked))
    eligibility = signoff_eligibility(user=actor, task=locked, submission=submission,
                                      confirmation=confirmation)
    if not eligibility.eligible:
        raise NotEligible(" ".join(eligibility.blockers), code="not_eligible")
    if not attestation_accepted:
        raise RuleViolation("Read and accept the attestation to sign off.",
                            code="attestation_required")
    if eligibility.confirmation_problem is not None:
        raise ConfirmationRequired(eligibility.confirmation_problem,
                                   code="confirmation_required")
    assert eligibility.bar_admission is not None and confirmation is not None
    now = timezone.now()
    review = _open_review(locked, submission, actor)
    review.reviewer = actor
    review.decision = ReviewDecision.APPROVED
    review.comments = comments.strip()
    review.decided_at = now
    review.save(update_fields=["reviewer", "decision", "comments", "decided_at"])
    qc_result, summary = qc_summary(task=locked, submission=submission)
    signoff = SignOff.objects.create(
        qc_result=qc_result,
        qc_summary=summary,
        task=locked,
        submission=submission,
        review=review,
        attorney=actor,
        bar_admission=eligibility.bar_admission,
        attestation_text=attestation_text(task=locked, submission=submission, user=actor,
                                          bar_admission=eligibility.bar_admission),
        sha256=submission.sha256,
        opened_at=eligibility.opened_at,
        signed_at=now,
        confirmation_method=confirmation.method,
        confirmed_at=confirmation.confirmed_at,
    )
    moved = Task.objects.filter(pk=locked.pk, status=locked.status).update(
        status=TaskStatus.APPROVED, approved_signoff=signoff, approved_at=now, updated_at=now
    )
    if moved != 1:
        raise InvalidTransition("The task changed while you were signing off; reload it.",
                                code="race")
    # Names next to ids, as they were at signing: the trail reads on its own (CSV export).
    task_audit(actor, locked, "signoff.recorded", {"status": locked.status},
           status=TaskStatus.APPROVED, signoff=signoff.pk, version=submission.version,
           sha256=submission.sha256, attorney=actor.pk,
           attorney_name=actor.get_full_name() or actor.get_username(),
           bar_admission=eligibility.bar_admission.pk,
           bar_jurisdiction=eligibility.bar_admission.jurisdiction,
           bar_number=eligibility.bar_admission.number,
           vendor=locked.engagement.vendor_id if locked.engagement else None,
           vendor_name=locked.engagement.vendor.name if locked.engagement else "",
           attestation_text=signoff.attestation_text,
           confirmation_method=confirmation.method, confirmed_at=confirmation.confirmed_at,
           opened_at=eligibility.opened_at, qc=summary)
    return signoff


# --- Delivery -----------------------------------------------------------------------------


@transaction.atomic
def task_deliver(*, actor: User, task: Task, note: str = "") -> Task:
    """Release approved work product to the client. Only the signed version can go."""
    locked = task_lock(task, allowed_from=DELIVER_FROM, doing="be delivered")
    refusal = delivery_refusal(actor, locked)
    if refusal is not None:
        raise refusal
    assert locked.approved_signoff_id is not None  # guaranteed by the check constraint
    signoff = SignOff.objects.select_related("submission").get(pk=locked.approved_signoff_id)
    latest = latest_submission(locked)
    if latest is None or latest.pk != signoff.submission_id:
        raise InvalidTransition(
            "A newer version was uploaded after the sign-off; it must be reviewed first.",
            code="stale_signoff",
        )
    now = timezone.now()
    before = {"status": locked.status}
    locked.status = TaskStatus.DELIVERED
    locked.delivered_at = now
    locked.save(update_fields=["status", "delivered_at", "updated_at"])
    task_audit(actor, locked, "task.delivered", before, status=locked.status,
           signoff=signoff.pk, sha256=signoff.sha256, note=note.strip())
    return locked


# --- Downloads ----------------------------------------------------------------------------


@transaction.atomic
def submission_open(*, actor: User, submission: Submission, via: str = OpenedVia.DOWNLOAD
                    ) -> IO[bytes]:
    """Open a version's bytes for someone already allowed to see its task; audited.

    The caller (a view) has resolved the task through `tasks_visible_to`, so visibility is
    settled; this records who took a copy of the work product and when: an audit event and
    a queryable `SubmissionOpening` (what a sign-off checks).
    """
    handle = submission.file.open("rb")
    opening = SubmissionOpening.objects.create(submission=submission, user=actor, via=via)
    audit_record(
        actor=actor,
        action="submission.downloaded",
        obj=submission,
        matter_id=submission.task.matter_id,
        after={"task": submission.task_id, "version": submission.version,
               "sha256": submission.sha256, "via": via, "opening": opening.pk},
    )
    return handle


def submission_download_refused(*, actor: AnyUser, submission_id: int, reason: str) -> None:
    """Record a refused download (the version does not exist or is not the user's to see)
    in its own transaction. The matter is named when the version exists, so the matter's
    trail shows who tried; the user is told nothing more than "not found"."""
    matter_id = (Submission.objects.filter(pk=submission_id)
                 .values_list("task__matter_id", flat=True).first())
    refusal_record(actor=actor, action="submission.download_refused", reason=reason,
                   code="not_found", object_type=Submission._meta.label_lower,
                   object_id=str(submission_id), matter_id=matter_id)
