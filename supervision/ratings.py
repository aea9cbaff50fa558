"""The responsible attorney's rating of a vendor at an engagement's end: quality,
timeliness, communication and value, 1 to 5, with comments; one per engagement, never
edited (docs/rules.md, "Vendor staff credentials", rating). Shown on the vendor scorecard
(`supervision.reports.ratings`).
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.http import Http404

from lpo_tracker.audit.services import audit_record
from lpo_tracker.errors import InvalidTransition, NotEligible, RuleViolation, validated
from matters.models import Engagement, EngagementStatus
from matters.selectors import VIEW, is_screened, matters_with_perm
from supervision.models import EngagementRating
from supervision.staff_models import RATING_CRITERIA
from vendors.selectors import AnyUser, is_vendor_user


def rating_refusal(user: AnyUser, engagement: Engagement) -> RuleViolation | None:
    """Why `user` may not rate `engagement` now; None when they may. The rating page's form
    and the engagement page's button ask this, and `engagement_rate` enforces it.

    1. The matter's responsible attorney, a firm user not screened from the matter.
    2. The engagement has ended.
    3. It has not been rated yet.
    """
    if (
        not user.is_authenticated
        or is_vendor_user(user)
        or engagement.matter.responsible_attorney_id != user.pk
        or is_screened(user, engagement.matter)
    ):
        return NotEligible(
            "Only the matter's responsible attorney rates its vendors.", code="forbidden"
        )
    if engagement.status != EngagementStatus.CLOSED:
        return InvalidTransition(
            "Rate the vendor once the engagement has ended.", code="engagement_active"
        )
    if EngagementRating.objects.filter(engagement=engagement).exists():
        return InvalidTransition(
            "This engagement is already rated; a rating is never changed.", code="already_rated"
        )
    return None


def get_engagement_for_rating(user: AnyUser, pk: int) -> Engagement:
    """The engagement if the user may see its matter; 404 otherwise (vendor users too)."""
    if is_vendor_user(user):
        raise Http404("No such engagement.")
    engagement = (
        Engagement.objects.filter(matter__in=matters_with_perm(user, VIEW).values("pk"))
        .select_related("matter", "vendor")
        .filter(pk=pk)
        .first()
    )
    if engagement is None:
        raise Http404("No such engagement.")
    return engagement


def engagement_rate(
    *,
    actor: User,
    engagement: Engagement,
    quality: int,
    timeliness: int,
    communication: int,
    value: int,
    comments: str = "",
) -> EngagementRating:
    """Record the rating, audited on the matter. The engagement row is locked so two
    attempts at once cannot both pass the checks; the one-to-one key is the wall."""
    try:
        with transaction.atomic():
            locked = (
                Engagement.objects.select_for_update(of=("self",))
                .select_related("matter")
                .get(pk=engagement.pk)
            )
            refusal = rating_refusal(actor, locked)
            if refusal is not None:
                raise refusal
            rating = EngagementRating(
                engagement=locked,
                rated_by=actor,
                quality=quality,
                timeliness=timeliness,
                communication=communication,
                value=value,
                comments=comments.strip(),
            )
            validated(rating)
            rating.save(force_insert=True)
            audit_record(
                actor=actor,
                action="engagement.rated",
                obj=rating,
                matter_id=locked.matter_id,
                after={
                    "engagement": locked.pk,
                    "vendor": locked.vendor_id,
                    **{name: getattr(rating, name) for name in RATING_CRITERIA},
                    "comments": rating.comments,
                },
            )
    except IntegrityError as exc:
        raise InvalidTransition("This engagement is already rated.", code="already_rated") from exc
    return rating
